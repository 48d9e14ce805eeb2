"""Evaluators: every metric of an evaluation pass, one file each (see ``base.Evaluator``).

A new metric is one file with an ``Evaluator`` subclass and one line in ``EVALUATORS``
(or, outside the package, ``register_evaluator`` from a file given to ``--import`` or an
installed ``semeda_bench.evaluators`` entry point); the trainer's evaluation pass, the run
record (``record["counts"][name]``), the flat metrics of ``summarize_record`` and the tidy
table then carry it. ``evaluate_sidecar``
computes a newly added evaluator's counts for an existing run from the validation
predictions kept beside its record (``--keep-predictions``), without training again.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace

import torch

from benchmark.evaluators.base import Evaluator
from benchmark.evaluators.boundary_f import BoundaryF
from benchmark.evaluators.boundary_f_image import BoundaryFPerImage
from benchmark.evaluators.boundary_iou import BoundaryIoU
from benchmark.evaluators.confusion import ConfusionMatrix
from benchmark.evaluators.trimap import Trimap

__all__ = [
    "EVALUATORS",
    "Evaluator",
    "BoundaryF",
    "BoundaryFPerImage",
    "BoundaryIoU",
    "ConfusionMatrix",
    "Trimap",
    "build_evaluators",
    "evaluate_sidecar",
    "pass_batches",
    "take",
    "definition_of",
    "outdated_evaluators",
    "record_definitions",
    "record_settings",
    "register_evaluator",
    "summarize_record",
]

#: Every evaluator of an evaluation pass, in the order of the record's metrics.
EVALUATORS: list[type[Evaluator]] = [
    ConfusionMatrix,
    Trimap,
    BoundaryIoU,
    BoundaryF,
    BoundaryFPerImage,
]


def register_evaluator(cls: type[Evaluator]) -> type[Evaluator]:
    """Class decorator: add ``cls`` to ``EVALUATORS`` (one of the same name warns and is replaced)."""
    import warnings

    for i, known in enumerate(EVALUATORS):
        if known.name == cls.name:
            if known is not cls:
                warnings.warn(f"evaluator {cls.name!r} registered twice; the later definition wins", stacklevel=2)
            EVALUATORS[i] = cls
            return cls
    EVALUATORS.append(cls)
    return cls


def _load_plugins() -> None:
    """The evaluators of installed ``semeda_bench.evaluators`` entry points, once per process;
    every function below that reads ``EVALUATORS`` calls it first."""
    from methods import ENTRY_POINT_GROUPS, load_entry_points

    load_entry_points(ENTRY_POINT_GROUPS["evaluators"], _accept)


def _accept(value) -> None:
    if isinstance(value, type) and issubclass(value, Evaluator) and value not in EVALUATORS:
        register_evaluator(value)


def pass_batches(sizes: list[tuple[int, int]], batch_size: int) -> list[list[int]]:
    """The batches of an evaluation pass over images of ``sizes`` (H, W), in split order:
    consecutive images of one size, at most ``batch_size`` each. Every image is scored at
    its own size (VOC's validation images have many), and a split of one size gets the
    plain consecutive batches, whatever its length."""
    batches: list[list[int]] = []
    for i, size in enumerate(sizes):
        if batches and len(batches[-1]) < batch_size and sizes[batches[-1][0]] == size:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def take(maps, indices: list[int]) -> torch.Tensor:
    """Maps ``indices`` of ``maps`` (a tensor [N, H, W] or a list of [H, W] of mixed sizes,
    as the distance cache and kept predictions hold them), stacked: [len(indices), H, W]."""
    if isinstance(maps, torch.Tensor):
        return maps[indices[0] : indices[-1] + 1] if indices == list(range(indices[0], indices[-1] + 1)) else maps[indices]
    return torch.stack([torch.as_tensor(maps[i]) for i in indices])


def build_evaluators(settings, num_classes: int, ignore_index: int) -> list[Evaluator]:
    """One fresh instance of every evaluator of ``EVALUATORS``."""
    _load_plugins()
    return [cls(settings, num_classes, ignore_index) for cls in EVALUATORS]


def record_settings(record: dict):
    """The settings a record's run used: its scale's defaults (for the dataset), overridden by
    every setting the record stores, so a record of an earlier version, which lacks the
    newer settings, gets the defaults of its scale for them."""
    from benchmark.spec import SCALES, scale_settings

    spec = record.get("spec") or {}
    try:
        base = scale_settings(spec.get("scale", "small"), spec.get("dataset"))
    except ValueError:  # a scale or dataset this version no longer knows
        base = SCALES["small"]
    known = {f.name for f in fields(base)}
    stored = {k: _tuples(v) for k, v in (spec.get("settings") or {}).items() if k in known}
    return replace(base, **stored)


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def summarize_record(record: dict) -> dict[str, float]:
    """The flat metrics of every evaluator of ``EVALUATORS`` from a record's stored counts.

    Counts come from ``record["counts"][name]``; a record written before that section
    gives the confusion matrix and trimap through each evaluator's ``legacy_counts``
    (``record["confusion"]``, ``record["trimap_confusion"]`` with the widths of
    ``record["metrics"]["trimap"]``); a metric without counts (a failed run, an evaluator
    newer than the record) is NaN.
    """
    _load_plugins()
    settings = record_settings(record)
    stored = record.get("counts") or {}
    out: dict[str, float] = {}
    for cls in EVALUATORS:
        counts = stored.get(cls.name)
        if counts is None:
            counts = cls.legacy_counts(record)
        out.update(cls.summarize(counts, settings))
    return out


def record_definitions(record: dict) -> dict[str, int | None]:
    """{evaluator name: the definition version of the record's counts} for every evaluator
    of ``EVALUATORS``; None where the record has no counts of it."""
    _load_plugins()
    stored = record.get("counts") or {}
    return {cls.name: cls.stored_definition(stored.get(cls.name) or cls.legacy_counts(record)) for cls in EVALUATORS}


def definition_of(metric: str) -> tuple[str, int] | None:
    """(evaluator name, today's definition version) of the evaluator whose flat metric
    ``metric`` is (``biou_d3`` -> ``("boundary_iou", 2)``), for an evaluator whose definition
    has changed; None for any other metric."""
    _load_plugins()
    for cls in EVALUATORS:
        if cls.definition > 1 and cls.prefix and metric.startswith(cls.prefix):
            return cls.name, cls.definition
    return None


def outdated_evaluators(record: dict) -> list[str]:
    """The evaluators whose counts in ``record`` were made under an earlier definition than
    today's (a record of an ok run made before a metric was amended)."""
    _load_plugins()
    made = record_definitions(record)
    return [cls.name for cls in EVALUATORS if made[cls.name] is not None and made[cls.name] < cls.definition]


def evaluate_sidecar(
    record: dict,
    sidecar_path: str | os.PathLike,
    evaluator_cls: type[Evaluator],
    data_root: str | os.PathLike | None = None,
    *,
    device: torch.device | str = "cpu",
) -> dict:
    """``evaluator_cls``'s counts for the run of ``record``, from its kept validation predictions.

    ``sidecar_path`` is the run's ``<run_id>.pred.npz`` (``records.write_predictions``);
    the validation targets and their cached distance maps come from the dataset prepared
    as for the run (``data_root`` for a real dataset). Returns the evaluator's
    ``counts()``; store them as ``record["counts"][evaluator_cls.name]`` and
    ``summarize_record`` gives the new metric.
    """
    from benchmark.data import dataset_info, load_split
    from benchmark.prepare import prepare
    from benchmark.records import read_predictions
    from benchmark.spec import RunSpec

    spec = RunSpec.from_dict(record["spec"])
    prepared = prepare(spec, data_root=data_root, edge_net=False)
    # "real": a record made before real sets had a fingerprint, which never said which files it read
    if record.get("data_version") not in (None, "real", prepared.data_version):
        raise ValueError(
            f"run {record.get('run_id')} was evaluated on data version {record['data_version']}, "
            f"the prepared data is {prepared.data_version}"
        )
    info = dataset_info(spec.dataset)
    settings = record_settings(record)  # settings newer than the record: its scale's defaults, as summarize_record
    predictions = read_predictions(sidecar_path)
    predictions = torch.from_numpy(predictions) if not isinstance(predictions, list) else [torch.from_numpy(p) for p in predictions]
    val = load_split(prepared.dataset, *prepared.eval_source, resize=settings.resize)
    if len(val) != len(predictions):
        raise ValueError(f"{sidecar_path} holds {len(predictions)} predictions, the {prepared.eval_split} split {len(val)} images")
    distances = prepared.distances()
    evaluator = evaluator_cls(settings, info.num_classes, info.ignore_index)
    for batch in pass_batches([tuple(d.shape) for d in distances], settings.eval_batch_size):
        target = torch.stack([val[i][1] for i in batch]).to(device)
        if any(tuple(predictions[i].shape) != tuple(target.shape[1:]) for i in batch):
            shape = next(tuple(predictions[i].shape) for i in batch if tuple(predictions[i].shape) != tuple(target.shape[1:]))
            raise ValueError(f"{sidecar_path}: predictions of {shape} differ from the masks of {tuple(target.shape[1:])}")
        pred = take(predictions, batch).to(device, torch.int64)
        evaluator.process(pred, target, distance=take(distances, batch).to(device))
    return evaluator.counts()
