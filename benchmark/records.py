"""Run records: one self-contained JSON file per run, written atomically.

A record alone rebuilds every table row and plot point of its run: spec, metrics, the raw
counts of every evaluator, sampled loss curves, a few stored predictions, timings and
versions. A run may also keep every validation prediction in a sidecar beside it
(``<run_id>.pred.npz``), from which a metric added later is computed without a run.
Only the process that owns the output folder (the driver) writes records, so no shared
disk is assumed between the workers of a sweep.
"""

from __future__ import annotations

import base64
import io
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "PREDICTIONS_KEY",
    "write_record",
    "read_record",
    "predictions_path",
    "predictions_bytes",
    "write_predictions",
    "write_predictions_bytes",
    "read_predictions",
    "load_records",
    "record_path",
    "encode_mask",
    "decode_mask",
    "environment",
    "CorruptRecord",
    "metrics_problem",
]


class CorruptRecord(ValueError):
    """A record file that is unreadable, truncated or lacks required fields."""


_REQUIRED = ("run_id", "status", "spec")


def record_path(folder: str | os.PathLike, run_id: str) -> Path:
    return Path(folder) / f"{run_id}.json"


def write_record(folder: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` to ``folder/<run_id>.json`` atomically (temp file, fsync, rename).

    A reader, or a crash at any moment, sees either no file or the complete record.
    """
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=True)
    return _atomic_write(record_path(folder, record["run_id"]), text.encode(), f".{record['run_id']}.", ".tmp")


def _atomic_write(path: Path, blob: bytes, prefix: str, suffix: str) -> Path:
    """Write ``blob`` to ``path`` through a temporary sibling, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: Key under which ``train.evaluate(..., keep_predictions=True)`` returns every validation
#: prediction (uint8 [N, H, W]); whoever writes the record pops it and writes the sidecar.
PREDICTIONS_KEY = "_predictions"


def predictions_path(folder: str | os.PathLike, run_id: str) -> Path:
    """The sidecar of a run's kept validation predictions, beside its record."""
    return Path(folder) / f"{run_id}.pred.npz"


def predictions_bytes(predictions: np.ndarray | list[np.ndarray]) -> bytes:
    """Every validation prediction of a run, uint8 [N, H, W] (or a list of N uint8 [H_i, W_i]
    for a split of several image sizes), as compressed npz bytes (what the sidecar file
    holds; a trial on another node sends them to the driver so). Mixed sizes are stored as
    one flat array and the [N, 2] sizes."""
    buffer = io.BytesIO()
    if isinstance(predictions, list):
        if any(p.ndim != 2 or p.dtype != np.uint8 for p in predictions):
            raise ValueError("predictions must be uint8 [H, W] maps")
        sizes = np.array([p.shape for p in predictions], dtype=np.int64).reshape(-1, 2)
        flat = np.concatenate([p.ravel() for p in predictions]) if predictions else np.zeros(0, np.uint8)
        np.savez_compressed(buffer, flat=flat, sizes=sizes)
        return buffer.getvalue()
    predictions = np.asarray(predictions)
    if predictions.ndim != 3 or predictions.dtype != np.uint8:
        raise ValueError(f"predictions must be uint8 [N, H, W], got {predictions.dtype} {predictions.shape}")
    np.savez_compressed(buffer, predictions=predictions)
    return buffer.getvalue()


def write_predictions(folder: str | os.PathLike, run_id: str, predictions: np.ndarray | list[np.ndarray]) -> Path:
    """Write every validation prediction of a run (see ``predictions_bytes``) in split order, to the
    compressed sidecar ``folder/<run_id>.pred.npz``, atomically as ``write_record``.

    Not part of the record (it would outgrow it); it lets a metric added later be computed
    for the run without training it again (``evaluators.evaluate_sidecar``).
    """
    return write_predictions_bytes(folder, run_id, predictions_bytes(predictions))


def write_predictions_bytes(folder: str | os.PathLike, run_id: str, blob: bytes) -> Path:
    """Write the sidecar of ``run_id`` from ``predictions_bytes`` output, atomically."""
    return _atomic_write(predictions_path(folder, run_id), blob, f".{run_id}.", ".pred.tmp")


def read_predictions(path: str | os.PathLike) -> np.ndarray | list[np.ndarray]:
    """The predictions of a sidecar written by ``write_predictions``: uint8 [N, H, W], or a
    list of N uint8 [H_i, W_i] for a split of several image sizes."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "predictions" in data:
                return data["predictions"]
            flat, sizes = data["flat"], data["sizes"]
            ends = np.cumsum(sizes.prod(1))
            return [flat[end - h * w : end].reshape(h, w) for (h, w), end in zip(sizes.tolist(), ends.tolist())]
    except (OSError, ValueError, KeyError) as err:
        raise CorruptRecord(f"{path}: unreadable predictions sidecar ({err})") from None


def read_record(path: str | os.PathLike) -> dict:
    """Read one record; ``CorruptRecord`` if it is not a complete record."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptRecord(f"{path}: unreadable record ({err})") from None
    if not isinstance(record, dict) or any(k not in record for k in _REQUIRED):
        raise CorruptRecord(f"{path}: incomplete record (needs {', '.join(_REQUIRED)})")
    problem = metrics_problem(record.get("metrics"))
    if problem is not None:
        raise CorruptRecord(f"{path}: {problem}")
    return record


def metrics_problem(metrics, name: str = "") -> str | None:
    """Why a record's ``metrics`` cannot be read as numbers, or None: every value, however
    nested in tables (``trimap``) and lists (``per_class_iou``), is a number or null (a
    metric a run could not score). A record edited by hand or by another tool can hold text;
    the tables would stop on it, so it is read as corrupt, naming the metric."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        for key, value in metrics.items():
            problem = metrics_problem(value, f"{name}.{key}" if name else str(key))
            if problem is not None:
                return problem
        return None
    if name and isinstance(metrics, list):
        for value in metrics:
            problem = metrics_problem(value, name)
            if problem is not None:
                return problem
        return None
    if name and isinstance(metrics, (int, float)) and not isinstance(metrics, bool):
        return None
    return f"metric {name!r} is {metrics!r}, not a number" if name else f"metrics is {metrics!r}, not a table of metrics"


def load_records(folder: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """All records of ``folder`` (sorted by run id) and the messages of the corrupt ones."""
    records, problems = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            records.append(read_record(path))
        except CorruptRecord as err:
            problems.append(str(err))
    return records, problems


def encode_mask(mask: np.ndarray) -> str:
    """A uint8 label map [H, W] (or an RGB image [H, W, 3]) as base64 PNG text (lossless, compact in JSON)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_mask(text: str) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(base64.b64decode(text))))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment() -> dict:
    """Library versions, machine and git commit: what a record needs to be re-run."""
    import segmentation_models_pytorch
    import torch
    import torchvision

    from benchmark.spec import VERSION

    return {
        "benchmark": VERSION,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "smp": segmentation_models_pytorch.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        # The vector instruction set torch's CPU kernels dispatch to (AVX2, AVX512, ...):
        # float results are bit-identical across machines only where it is the same.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "git_commit": _git_commit(),
    }
