"""Where an interrupted or staged run continues from: the checkpoints earlier sweeps left
in the storage folder, and the states runs stopped early (``RunSpec.stop_at``) leave for a
later stop of their schedule. Shared by every executor."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from benchmark.spec import RunSpec

def earlier_checkpoints(storage: Path, run_ids: set[str]) -> dict[str, list[str]]:
    """Run id -> checkpoint files that earlier sweeps left under ``storage``, furthest first.

    Trial folders are named by run id (``<storage>/<experiment>/<run_id>/checkpoint_*``),
    so a run interrupted with its driver is found again by the next sweep. Each
    checkpoint folder holds a ``step`` file beside ``state.pt``; checkpoints are ordered
    by that step (then by age), so a later sweep that restarted a run from step 0 does not
    hide an older, further checkpoint.
    """

    def step_of(path: Path) -> int:
        try:
            return int((path.parent / "step").read_text())
        except (OSError, ValueError):
            return -1

    found: dict[str, list[Path]] = {}
    for path in storage.glob("*/*/checkpoint_*/state.pt"):
        if path.parent.parent.name in run_ids:
            found.setdefault(path.parent.parent.name, []).append(path)
    return {
        run_id: [str(p) for p in sorted(paths, key=lambda p: (step_of(p), p.stat().st_mtime), reverse=True)]
        for run_id, paths in found.items()
    }


#: Folder (under a suite's records) of the training states that runs stopped early
#: (``RunSpec.stop_at``) leave for a later stop of their schedule to resume from.
STATES_FOLDER = "states"


def saved_states(out: Path, specs: list[RunSpec], data_versions: dict[str, str]) -> dict[str, list[str]]:
    """Schedule id -> the states of that schedule under ``<out>/states`` that a spec of
    ``specs`` can resume from (at most its last step), furthest first."""
    found: dict[str, list[str]] = {}
    for spec in specs:
        schedule_id = spec.schedule_id(data_versions[spec.dataset])
        steps = []
        for path in (out / STATES_FOLDER).glob(f"{schedule_id}-*.pt"):
            try:
                steps.append((int(path.stem.rsplit("-", 1)[1]), str(path)))
            except ValueError:
                continue
        usable = sorted((s for s in steps if s[0] <= spec.last_step), reverse=True)
        if usable:
            found[schedule_id] = [path for _, path in usable]
    return found


def load_earlier(paths: list[str], run_id: str) -> dict | None:
    """The first of ``paths`` that loads and belongs to ``run_id`` (a schedule id); None when
    none does (a driver killed mid-copy can leave a truncated file; a node may not see the folder)."""
    for path in paths:
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:  # unreadable or missing on this node: try the next one
            print(f"warning: checkpoint {path} not usable ({type(err).__name__})")
            continue
        if isinstance(state, dict) and state.get("run_id") == run_id:
            return state
        print(f"warning: checkpoint {path} is not one of run {run_id}")
    return None


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path`` through a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def keep_final_state(out: Path, schedule_id: str, step: int, state_file: Path) -> Path:
    """Copy the state a run stopped early ends with to ``<out>/states/<schedule id>-<step>.pt``."""
    target = out / STATES_FOLDER / f"{schedule_id}-{step}.pt"
    write_atomically(target, state_file.read_bytes())
    return target


def check_arithmetic(candidates: list[tuple[RunSpec, list[str]]], device_type: str) -> None:
    """``arithmetic.ResumeMismatch`` (one line, saying how to continue) for the first training
    state among ``candidates`` (a spec and the states it could resume from) made under another
    device type or precision than its run would have on a ``device_type`` device: checked in the
    driver, before any run trains. States are read memory-mapped (their tensors are not read)."""
    from benchmark.arithmetic import check_resume

    for spec, paths in candidates:
        for path in paths:
            try:
                state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
            except Exception:  # unreadable here: load_earlier reports it and passes it over
                continue
            if isinstance(state, dict):
                check_resume(state, torch.device(device_type), spec.settings.precision, where=path)
