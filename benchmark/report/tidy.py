"""Run records -> the tidy table: one row per run, spec columns, metrics, status.

Also the vocabulary of its columns that every part shares: a run's context (``CONTEXT``), the
paper's order of its values, how a table names it, its settings as text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import pandas as pd

import methods
from benchmark.data import dataset_info
from benchmark.divergence import record_diverged
from benchmark.evaluators import EVALUATORS, record_definitions, summarize_record
from benchmark.overrides import overrides_text, same_value, settings_text
from benchmark.records import load_records
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import frame_csv
from benchmark.spec import RowKey, row_key, row_label
from benchmark.tuning import multiplier_of


CONTEXT = ["dataset", "backbone", "scale", "init", "overrides"]
#: The columns that make two records the same run (of different harness versions, say).
SAME_RUN = CONTEXT + ["method", "params", "seed", "split", "step"]
ORDER = {
    "dataset": ("cityscapes", "voc", "streets", "shapes"),
    "scale": ("paper", "small", "smoke"),
    "init": ("imagenet", "imagenet+coco", "scratch", "synthetic-pretrained"),
}
INIT_TEXT = {
    "scratch": "trained from scratch",
    "synthetic-pretrained": "pre-trained on a larger, separate synthetic set",
    "imagenet": "pre-trained on ImageNet",
    "imagenet+coco": "pre-trained on ImageNet and MS COCO",
}
#: Table 2: which paper row group an initialisation stands for.
TABLE2_INIT = {
    "imagenet": "ImageNet", "scratch": "ImageNet",
    "imagenet+coco": "ImageNet+MsCoco", "synthetic-pretrained": "ImageNet+MsCoco",
}  # fmt: skip
BASELINE = row_key("ppce")
SEMEDA_BEST = row_key("semeda", {"lambdas": (0, 1, 0)})


def dataset_text(dataset: str) -> str:
    """How the report names ``dataset`` (its ``DatasetInfo.title``; the name if unknown)."""
    try:
        return dataset_info(dataset).title or dataset
    except ValueError:
        return dataset


def stands_for(dataset: str) -> str | None:
    """The paper dataset (Table 2 column) that ``dataset`` stands for, or None."""
    try:
        return dataset_info(dataset).stands_for
    except ValueError:
        return None


def is_synthetic(dataset: str) -> bool:
    try:
        return dataset_info(dataset).synthetic
    except ValueError:
        return False


def table1_rows() -> list[RowKey]:
    from benchmark.suites import TABLE1_ROWS

    return [r.key() for r in TABLE1_ROWS]


def table2_rows() -> list[RowKey]:
    from benchmark.suites import TABLE2_ROWS

    return [r.key() for r in TABLE2_ROWS]


def lambdas_text(lambdas) -> str:
    return ",".join(f"{float(v):g}" for v in (lambdas or ()))


def key_of(row) -> RowKey:
    """The row key of a tidy row (or of any mapping with ``method`` and ``params``)."""
    return (row["method"], row["params"])


def keys_of(df: pd.DataFrame) -> list[RowKey]:
    return list(zip(df["method"], df["params"]))


def text_tokens(text: str) -> frozenset[str]:
    """An overrides text (``"grad_clip=None lr=0.0005"``) as its set of ``k=v`` tokens."""
    return frozenset(text.split())


def overrides_tokens(overrides, dataset: str, scale: str) -> frozenset[str]:
    """The (name, value) pairs ``overrides`` as a record's overrides text shows them: only what
    differs from the scale's defaults (at a scale that does not clip, "clipping off" is the
    default itself), as tokens."""
    from benchmark.spec import scale_settings

    try:
        default = asdict(scale_settings(scale, dataset))
    except ValueError:
        default = {}
    diffs = {k: v for k, v in overrides if not (k in default and same_value(v, default[k]))}
    return text_tokens(settings_text(diffs))


def default_context(holding, every_choice: frozenset[str]) -> frozenset[str]:
    """The default protocol's context among the contexts ``holding`` (token sets) of a study:
    the settings they share once every choice's own overrides (``every_choice``) are taken
    out; a user's ``--set`` stays in it. The shortest such set, then the first in order."""
    return min((t - every_choice for t in holding), key=lambda t: (len(t), sorted(t)))


def describe_context(dataset: str, scale: str, backbone: str, init: str | None, overrides: str) -> str:
    """How a table's title names a context: ``streets (synthetic, Cityscapes-like), small scale,
    deeplabv2_small, trained from scratch, settings lr=0.001`` (without the initialisation when
    ``init`` is None)."""
    parts = [dataset_text(dataset), f"{scale} scale", backbone]
    if init is not None:
        parts.append(INIT_TEXT.get(init, init))
    if overrides:
        parts.append(f"settings {overrides}")
    return ", ".join(parts)


def place_title(place: tuple, base: str) -> str:
    """How a protocol study's section names its place (a context without its overrides, which
    the study varies): ``streets, small scale, deeplabv2_small, scratch`` (plus the settings
    ``base`` every protocol shares)."""
    dataset, backbone, scale, init = place
    return f"{dataset}, {scale} scale, {backbone}, {init}" + (f", settings {base}" if base else "")


def display_rank(column: str, value) -> tuple:
    """Sort key of a value of a context column of ``ORDER``: the paper's order, then the alphabet."""
    order = ORDER[column]
    return (order.index(value) if value in order else len(order), value)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def registered(method: str) -> bool:
    """Whether ``method`` is registered in this process (else the report reads what its
    records hold of it: label, parameters, default lambdas)."""
    try:
        methods.method_class(method)
    except ValueError:
        return False
    return True


def missing_methods(records: Iterable[dict]) -> list[str]:
    """One line per method of ``records`` that is not registered here, saying which import
    would bring it (the module and file its records name)."""
    found: dict[str, list[dict]] = {}
    for record in records:
        spec = record.get("spec") or {}
        if spec.get("method") and not registered(spec["method"]):
            found.setdefault(spec["method"], []).append(spec.get("origin") or {})
    lines = []
    for method, origins in sorted(found.items()):
        origin = next((o for o in origins if o), {})
        where = origin.get("file") or origin.get("module")
        source = f" (module {origin.get('module')}, file {origin.get('file')})" if origin else ""
        fix = f"pass --import {where}" if where else "pass --import with the file that defines it"
        lines.append(f"method {method!r} of {len(origins)} records is not registered here{source}: its rows show the label and "
                     f"parameters its records hold; {fix} to describe them from its code")  # fmt: skip
    return lines


def _tidy_row(record: dict) -> dict:
    spec = record.get("spec") or {}
    params = spec.get("params") or {}
    metrics = record.get("metrics") or {}
    timing = record.get("timing") or {}
    norms = record.get("grad_norm") or {}
    key = row_key(spec.get("method", ""), params)
    origin = spec.get("origin") or {}
    known = registered(key[0])
    row = {
        "run_id": record["run_id"],
        "method": key[0],
        "params": key[1],
        "lambdas": lambdas_text(params.get("lambdas")),
        "dataset": spec.get("dataset", ""),
        "backbone": spec.get("backbone", ""),
        "scale": spec.get("scale", ""),
        "init": spec.get("init", ""),
        "seed": int(spec.get("seed", -1)),
        # The split scored on and the step reached: a weight search's trials are scored on
        # the tuning split, and those it cut stop early (tables of the reported split leave them out).
        "split": spec.get("split", "val"),
        "step": int(record.get("step") or spec.get("stop_at") or (spec.get("settings") or {}).get("steps") or -1),
        "schedule_steps": int((spec.get("settings") or {}).get("steps") or -1),
        "multiplier": _number(multiplier_of(key[0], params, origin.get("default_lambdas"))),
        "overrides": overrides_text(spec) if spec.get("scale") else "",
        "label": row_label(key) if known or not record.get("label") else record["label"],
        "status": record.get("status", ""),
        "diverged": _diverged(record, spec.get("dataset", "")),
        "reason": record.get("reason"),
        "failed_step": record.get("failed_step"),
        "miou": _number(metrics.get("miou")),
        "wall_s": _number(timing.get("wall_s")),
        "train_s": _number(timing.get("train_s")),
        "eval_s": _number(timing.get("eval_s")),
        "device": record.get("device"),
        "threads": record.get("threads"),
        "edge_f1": _number((record.get("edge_net") or {}).get("f1")),
        "grad_norm_median": _number(norms.get("median")),
        "grad_norm_max": _number(norms.get("max")),
        "clipped_share": _number(norms.get("clipped_share")),
        "version": (record.get("versions") or {}).get("benchmark"),
        "data_version": record.get("data_version"),
        # The content hash of a method from outside the package ("" for the package's own):
        # records of one run made with other code are superseded by those of the code registered here.
        "code": origin.get("sha256") or "",
    }
    # The flat metrics of every evaluator, from the record's raw counts (records of earlier
    # versions through their old layout); where a record holds no counts at all, the
    # metrics it stores (a hand-made or trimmed record).
    for key, value in metrics.items():
        if key != "miou" and isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = _number(value)
    trimap = metrics.get("trimap") or {}
    for region, name in (("boundary", "boundary_miou"), ("interior", "interior_miou")):
        for w, v in zip(trimap.get("widths") or (), trimap.get(name) or ()):
            row[f"{region}_miou_w{float(w):g}"] = _number(v)
    if record.get("status") == "ok":
        for key, value in summarize_record(record).items():
            if value == value or key not in row:
                row[key] = _number(value)
        made = record_definitions(record)
        for cls in EVALUATORS:
            if cls.definition > 1:  # the version of a metric's definition its counts were made under
                row[definition_column(cls.name)] = _number(made[cls.name])
    return row


def definition_column(evaluator: str) -> str:
    """The tidy column holding the definition version of ``evaluator``'s counts."""
    return f"{evaluator}_definition"


def _diverged(record: dict, dataset: str):
    try:
        num_classes = dataset_info(dataset).num_classes
    except ValueError:
        num_classes = len(record.get("class_names") or ()) or None
    if num_classes is None:
        return None
    return record_diverged(record, num_classes)


def width_of(column: str) -> float:
    """The width or tolerance a metric column is for: ``boundary_miou_w2`` -> 2, ``bf_t1`` -> 1."""
    return float(re.search(r"_[a-z]([0-9.]+)$", column).group(1))


def version_order(version) -> tuple[int, ...]:
    """``"0.3.0"`` -> ``(0, 3, 0)``; a record without a version sorts first."""
    return tuple(int(part) for part in re.findall(r"\d+", str(version))) if isinstance(version, str) else ()


def _sort_key(column: str):
    """Sort key of a context column that follows the paper's order, then the alphabet;
    of the harness version, by its numbers."""
    if column == "version":
        return lambda s: s.map(version_order)
    order = ORDER.get(column)
    if order is None:
        return None
    return lambda s: s.map(lambda v: (order.index(v) if v in order else len(order), v))


def sorted_rows(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    def key(s: pd.Series):
        k = _sort_key(s.name)
        return k(s) if k else s

    return df.sort_values(by, key=key, kind="mergesort").reset_index(drop=True)


def tidy_records(records: Iterable[dict]) -> pd.DataFrame:
    """One row per run record (see the module docstring for the columns), sorted."""
    rows = [_tidy_row(r) for r in records]
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    prefixes = ("boundary_miou_w", "interior_miou_w", "biou_d", "bf_t")
    trimap_cols = [c for c in df.columns if c.startswith(prefixes)]
    trimap_cols.sort(key=lambda c: (next(i for i, p in enumerate(prefixes) if c.startswith(p)), width_of(c)))
    back = ["wall_s", "train_s", "eval_s", "device", "threads", "edge_f1", "grad_norm_median", "grad_norm_max",
            "clipped_share", "version", "data_version", "code"] + [c for c in df.columns if c.endswith("_definition")]  # fmt: skip
    front = [c for c in df.columns if c not in trimap_cols and c not in back]
    df = df[front + trimap_cols + back]
    df["failed_step"] = df["failed_step"].astype("Int64")
    df["diverged"] = df["diverged"].astype("boolean")
    df = sorted_rows(df, SAME_RUN + ["version", "run_id"])
    df["superseded"] = _superseded(df)
    return df


def _superseded(df: pd.DataFrame) -> pd.Series:
    """Whether the same run was made again by a later harness version, or by the same
    version under a later definition of a metric (a run re-made with new pre-trained weights
    whose content, and so run id, differs), or, for a method from outside the package, with
    the code registered here where the record's is other code (an edited loss): the tables
    read the newest record, and the earlier one stays in the tidy table. Where the method is
    not registered here its records cannot be told apart by code, and none supersedes another."""
    names = df["version"].fillna("")
    rank = names.map({v: i for i, v in enumerate(sorted(set(names), key=version_order))}).astype(float)
    definitions = df[[c for c in df.columns if c.endswith("_definition")]]
    if definitions.shape[1]:
        rank = rank * 1000 + definitions.max(axis=1).fillna(0)
    if "code" in df.columns:
        current = {m: (methods.method_origin(m) or {}).get("sha256") or "" for m in set(df["method"]) if registered(m)}
        stale = [m in current and code != current[m] for m, code in zip(df["method"], df["code"].fillna(""))]
        rank = rank * 2 + pd.Series([0 if s else 1 for s in stale], index=df.index)
    newest = rank.groupby([df[c] for c in SAME_RUN], sort=False, dropna=False).transform("max")
    return rank < newest


def is_reported(spec: dict) -> bool:
    """Whether a record's spec is a whole run on the reported split."""
    return spec.get("split", "val") == "val" and spec.get("stop_at") is None


def reported(tidy: pd.DataFrame) -> pd.DataFrame:
    """The runs of the reported split that ran their whole schedule, each by its newest
    harness version's record (what every table but the leaderboard's search reads)."""
    if tidy.empty or "split" not in tidy.columns:
        return tidy
    keep = (tidy["split"] == "val") & (tidy["step"] == tidy["schedule_steps"]) & ~tidy["superseded"]
    return tidy[keep].reset_index(drop=True)


def write_tidy(inputs: PartInput, out: PartOutput) -> None:
    """``tidy.parquet`` and ``tidy.csv``: every record as a row (full float precision)."""
    out.parquet("tidy.parquet", inputs.tidy)
    out.text("tidy.csv", frame_csv(inputs.tidy, decimals=None))


def load_tidy(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[str]]:
    """The tidy table of the records in ``folder`` and one warning line per corrupt record.

    Raises ``FileNotFoundError`` for a missing folder and ``ValueError`` when it holds no
    readable record.
    """
    records, warnings = load_folder(folder)
    return tidy_records(records), warnings


def check_records_folder(folder) -> Path:
    """``folder`` as a ``Path``; ``FileNotFoundError`` saying how to make one when it is not a folder."""
    if not str(folder).strip():
        raise FileNotFoundError("--records is empty; give the folder of the run records (e.g. --records runs)")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"records folder {folder} does not exist; run a suite first "
            f"(python -m benchmark.run --suite table1 --out {folder}) or pass --records DIR"
        )
    return folder


def load_folder(folder) -> tuple[list[dict], list[str]]:
    """The records in ``folder`` and one warning line per method not registered here and per
    record that cannot be used (unreadable, incomplete, a metric that is not a number), which
    is left out, named by its file. Raises as ``load_tidy`` does."""
    folder = check_records_folder(folder)
    records, problems = load_records(folder)
    problems = [f"{line}; left out" for line in problems] + missing_methods(records)
    if not records:
        extra = f" ({len(problems)} corrupt)" if problems else ""
        raise ValueError(
            f"no readable run record (*.json) in {folder}{extra}; run a suite with --out {folder} or pass --records DIR"
        )
    return records, problems
