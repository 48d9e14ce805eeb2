"""What ``python -m benchmark.run`` checks before any work: preparation, Ray and training
start only once every check holds.

Each check raises ``UserError`` with one line naming the flag or file, what is wrong and
the fix (the CLI prints it and exits 2; nothing is prepared, trained or recorded):

- ``check_flags``: the numbers of the command line (``--seed``, ``--threads``; a suite's
  ``--retries``, ``--cpus-per-trial``, ... are ``SweepOptions``' own checks), and flags that
  apply to single runs only;
- ``check_outputs``: ``--out``, ``--save-weights`` and ``--storage-path`` can be written
  (a probe file created and removed);
- ``check_resources``: a trial's CPUs and GPUs against what the Ray cluster has, so that a
  trial that can never be placed is an error rather than a wait;
- ``check_specs``: what a run reads that the settings alone do not show: a synthetic set
  with images to train and score on, a loss of one's own that keeps the method contract
  (``methods.testing.check_method`` on one tiny batch), and weights files that fit the
  model (readable, the architecture's keys and shapes).

A dataset's files are checked by its preparation (``benchmark.data.check_dataset``), first,
before any heavy work.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import torch

import methods
from benchmark.cli import UserError, writable_file, writable_folder
from benchmark.data import dataset_info
from benchmark.spec import MAX_SEED, RunSpec

__all__ = ["check_flags", "check_outputs", "check_resources", "check_specs", "check_trial_resources", "local_resources"]


def check_flags(args) -> None:
    """The numbers of ``python -m benchmark.run``'s command line, and flags that belong to
    single runs or to suites only."""
    if not 0 <= args.seed <= MAX_SEED:
        raise UserError(f"--seed must be an integer from 0 to {MAX_SEED}, got {args.seed}")
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be an integer >= 1, got {args.threads}")
    if args.suite and args.save_weights:
        raise UserError("--save-weights applies to single runs; a suite's runs keep their records (and --keep-predictions)")


def check_outputs(args) -> Path | None:
    """``--out`` (not for a dry run), ``--save-weights`` and ``--storage-path`` (a local
    folder; a bucket URI goes to Ray as it is, which the inline executor cannot use) checked
    writable; returns ``--out`` resolved (None for a dry run)."""
    out = None if getattr(args, "dry_run", False) and args.suite else writable_folder(args.out, "--out")
    if args.save_weights is not None:
        writable_file(args.save_weights, "--save-weights")
    if args.suite and args.storage_path is not None:
        if "://" in args.storage_path:
            if args.executor == "inline":
                raise UserError(f"--storage-path {args.storage_path}: the inline executor keeps its checkpoints in a local folder; "
                                "give a local --storage-path, or --executor ray")  # fmt: skip
        elif not args.dry_run:
            writable_folder(args.storage_path, "--storage-path")
    return out


def local_resources() -> dict[str, float]:
    """What a local Ray started by a suite has: this machine's CPUs (``init_ray`` starts it
    with ``os.cpu_count()``) and the GPUs torch sees (those of ``CUDA_VISIBLE_DEVICES``)."""
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}


def check_trial_resources(cpus: float, gpus: float, have: dict, where: str) -> None:
    """A trial of ``cpus`` CPUs and ``gpus`` GPUs fits in ``have`` (Ray's resources: ``CPU``,
    ``GPU``); else a ``UserError`` naming the flag: Ray would wait for them forever,
    printing "insufficient resources" every minute."""
    for flag, need, key in (("--cpus-per-trial", cpus, "CPU"), ("--gpus-per-trial", gpus, "GPU")):
        available = float(have.get(key, 0))
        if need > available:
            fix = f"give at most {available:g}" if available else f"give {flag} 0" + (" (or leave it out)" if key == "GPU" else "")
            raise UserError(f"{flag} {need:g}: {where} has {available:g} {key}{'s' if available != 1 else ''}, so no trial could "
                            f"ever start; {fix}")  # fmt: skip


def check_resources(options) -> None:
    """A suite's trial resources (``SweepOptions``) against a local Ray's, before any work.
    A cluster (``--address``) is checked when Ray has joined it (``RayExecutor``)."""
    if options.executor != "ray" or options.address:
        return
    gpus = options.gpus_per_trial if options.gpus_per_trial is not None else 0
    check_trial_resources(options.cpus_per_trial, gpus, local_resources(), "this machine")


def check_specs(specs: list[RunSpec], weights_flags: dict[str, str] | None = None, say=None) -> None:
    """What ``specs`` will read, checked once per distinct thing: each synthetic set has
    images to train and score on, each loss of one's own keeps the method contract, each
    weights file fits its model. ``weights_flags``: the flag that named each weights file
    (for the messages); ``say``: where a note goes (stderr)."""
    say = say or (lambda line: print(line, file=sys.stderr))
    weights_flags = weights_flags or {}
    for spec in {(s.dataset, s.scale, s.settings.n_train, s.settings.n_val): s for s in specs}.values():
        _check_synthetic_sizes(spec)
    for method, params in dict.fromkeys((s.method, s.params) for s in specs):
        _check_contract(method, dict(params))
    checked = set()
    for spec in specs:
        if not spec.weights:
            continue
        width = spec.settings.width if spec.backbone == "deeplabv2_small" else None
        key = (spec.weights, spec.backbone, dataset_info(spec.dataset).num_classes, width)
        if key not in checked:
            checked.add(key)
            for note in _check_weights(spec.weights, weights_flags.get(spec.weights, "--weights"), *key[1:]):
                say(f"note: {note}")


def _check_synthetic_sizes(spec: RunSpec) -> None:
    if not dataset_info(spec.dataset).synthetic:
        return
    s = spec.settings
    if spec.scale == "paper" and min(s.n_train, s.n_val) < 1:
        raise UserError(f"the paper scale trains on a real dataset, and {spec.dataset} is synthetic: give --dataset cityscapes or "
                        "--dataset voc (a suite: --datasets) with --data-root DIR, or --scale small for the synthetic sets")  # fmt: skip
    for name in ("n_train", "n_val"):
        if getattr(s, name) < 1:
            raise UserError(f"setting {name} must be an integer >= 1 for the synthetic set {spec.dataset}, got {getattr(s, name)}")


def _check_contract(method: str, params: dict) -> None:
    """A method from outside the package keeps the contract on one tiny batch (the package's
    own are checked by its tests)."""
    origin = methods.method_origin(method)
    if origin is None:
        return
    from methods.testing import check_method

    where = origin.get("file") or origin.get("module")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_method(methods.method_class(method), params=params)
    except AssertionError as err:
        raise UserError(f"{err} (in {where}); fix the loss: methods.testing.check_method checks the contract") from None
    except Exception as err:  # the user's code raised on a tiny batch
        text = " ".join(str(err).split())
        raise UserError(f"method {method!r} (in {where}) fails on a tiny batch: {type(err).__name__}: {text}; "
                        "methods.testing.check_method runs the same batch") from None  # fmt: skip


def _check_weights(path: str, flag: str, backbone: str, num_classes: int, width: int | None) -> tuple[str, ...]:
    """Load ``path`` into a model of ``backbone`` built on the meta device (no memory, no
    compute: only the keys and shapes are compared); returns the loader's notes."""
    from benchmark.models import build_model, load_weights

    if not Path(path).is_file():
        raise UserError(f"{flag} {path}: no such file; give the path of a weights file")
    if not os.access(path, os.R_OK):
        raise UserError(f"{flag} {path}: cannot be read (permission denied); give a file you can read")
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # copying into meta tensors is a no-op, and says so
        with torch.device("meta"):
            model = build_model(backbone, num_classes, width=width)
        report = load_weights(model, path)
    return report.notes

