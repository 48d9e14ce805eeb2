"""The rounding environment of a run: what decides the last bits of its floats without being a
protocol choice, recorded with every run and compared when a command would reuse a record.

A run id names the experiment (``benchmark.spec``): the same id on another machine is the
same protocol. Its floats also depend on the arithmetic that ran it: the device type and
model, torch's version (and CUDA's and cuDNN's on a GPU), the CPU's vector instruction set
(torch's kernels dispatch on it), the thread count that splits a CPU's sums, and on CUDA the
TF32 and determinism flags. A 2,000-step run can end points apart on two of these
(``docs/reliability.md``), so the record keeps them and a command that reuses a record made
under others says so, in one line.

Where each fact lives in a record (each in one place): the device in ``device`` (``cpu``,
``cuda:0``), the thread count in ``threads``, torch's version and the CPU capability in
``versions``, the rest in ``rounding`` (``environment_facts``). Records written before a field
existed lack it; a missing field is never a difference.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from benchmark.arithmetic import deterministic_on

__all__ = ["FIELDS", "environment_facts", "recorded_environment", "expected_environment", "differences", "difference_text",
           "reuse_note", "suite_reuse_note", "reference_record"]  # fmt: skip

#: The compared fields, in the order a note names them.
FIELDS = ("device", "device_name", "precision", "torch", "cuda", "cudnn", "cpu_capability", "threads", "tf32", "deterministic")
#: Fields that mean something on CUDA only, and on a CPU only.
_CUDA_ONLY = ("device_name", "cuda", "cudnn")
_CPU_ONLY = ("threads",)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor() or platform.machine()


def environment_facts(device: torch.device, precision: str, skipped_steps: int | None = None) -> dict:
    """The record's ``rounding`` block for a run on ``device`` in ``precision``, read while the
    run's flags are in force (``arithmetic.precision_flags``): ``device_name`` (the GPU's, or
    the CPU's model), ``cuda`` and ``cudnn`` (versions; None on a CPU), ``tf32`` (TF32 on for
    matrix products or cuDNN convolutions), ``deterministic`` (``arithmetic.deterministic_on``),
    and under fp16 ``skipped_steps``, the optimiser steps the loss scaler skipped."""
    cuda = device.type == "cuda"
    facts = {
        "device_name": torch.cuda.get_device_name(device) if cuda else _cpu_name(),
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32 or (cuda and torch.backends.cudnn.allow_tf32)),
        "deterministic": deterministic_on(device),
    }
    if skipped_steps is not None:
        facts["skipped_steps"] = int(skipped_steps)
    return facts


def recorded_environment(record: dict) -> dict:
    """The compared fields of a record (None where the record lacks one). A CUDA record without
    a ``rounding`` block was made before ``precision`` was honoured there: its training step ran
    in fp16 autocast whatever the spec says."""
    rounding = record.get("rounding")
    versions = record.get("versions") or {}
    device = str(record.get("device") or "").split(":")[0] or None
    precision = ((record.get("spec") or {}).get("settings") or {}).get("precision")
    if rounding is None and device == "cuda":
        precision = "fp16"
    rounding = rounding or {}
    return {
        "device": device, "device_name": rounding.get("device_name"), "precision": precision, "torch": versions.get("torch"),
        "cuda": rounding.get("cuda"), "cudnn": rounding.get("cudnn"), "cpu_capability": versions.get("cpu_capability"),
        "threads": record.get("threads"), "tf32": rounding.get("tf32"), "deterministic": rounding.get("deterministic"),
    }  # fmt: skip


def expected_environment(device_type: str, threads: int, precision: str, device: torch.device | None = None) -> dict:
    """The compared fields of a run this command would make on a ``device_type`` device with
    ``threads`` torch threads, in ``precision``; the GPU's model and CUDA's versions where
    ``device`` is a CUDA device of this process (a Ray cluster's GPUs are not known here: None)."""
    here = device is not None and device.type == "cuda"
    return {
        "device": device_type, "device_name": torch.cuda.get_device_name(device) if here else None, "precision": precision,
        "torch": torch.__version__, "cuda": torch.version.cuda if here else None,
        "cudnn": torch.backends.cudnn.version() if here else None, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": threads, "tf32": device_type == "cuda" and precision == "tf32",
        "deterministic": deterministic_on(torch.device(device_type)),
    }  # fmt: skip


def differences(recorded: dict, expected: dict) -> list[tuple[str, object, object]]:
    """(field, recorded value, value here) of every field both know and that differs; fields of
    CUDA alone are compared between CUDA runs, the thread count between CPU runs."""
    cuda = recorded.get("device") == expected.get("device") == "cuda"
    cpu = recorded.get("device") == expected.get("device") == "cpu"
    out = []
    for name in FIELDS:
        if (name in _CUDA_ONLY and not cuda) or (name in _CPU_ONLY and not cpu):
            continue
        old, new = recorded.get(name), expected.get(name)
        if old is not None and new is not None and old != new:
            out.append((name, old, new))
    return out


def difference_text(found: list[tuple[str, object, object]]) -> str:
    """``threads 2, here 1; cpu_capability AVX2, here AVX512``."""
    return "; ".join(f"{name} {old}, here {new}" for name, old, new in found)


def reuse_note(record: dict, expected: dict) -> str | None:
    """One line when ``record`` was made under another rounding environment than ``expected``;
    None when nothing known differs."""
    found = differences(recorded_environment(record), expected)
    if not found:
        return None
    return (f"note: this record was made under another rounding environment ({difference_text(found)}): "
            "a run here can differ from it in the last bits, and a long run by more; --force re-runs it")  # fmt: skip


def suite_reuse_note(records: list[dict], expected_of) -> str | None:
    """One line for the recorded runs a suite reuses that were made under another rounding
    environment: how many, and what differs (the most frequent differences first, at most
    three). ``expected_of(record)``: the expected environment of that record's run."""
    counts: dict[tuple, int] = {}
    differing = 0
    for record in records:
        found = differences(recorded_environment(record), expected_of(record))
        differing += bool(found)
        for item in found:
            counts[item] = counts.get(item, 0) + 1
    if not differing:
        return None
    shown = sorted(counts, key=lambda item: -counts[item])[:3]
    return (f"note: {differing} of the {len(records)} recorded runs reused were made under another rounding environment "
            f"({difference_text(shown)}{', ...' if len(counts) > 3 else ''}): a run here can differ from them in the last bits; "
            "--force re-runs them")  # fmt: skip


def reference_record(run_id: str) -> Path | None:
    """The committed record of ``run_id`` in the source checkout this package runs from
    (``results/runs``), if there is one: the record the documented examples reproduce."""
    path = Path(__file__).resolve().parents[1] / "results" / "runs" / f"{run_id}.json"
    return path if path.is_file() else None
