"""The inline executor: a sweep's runs one at a time in this process, Ray never imported.

For stepping through a run in a debugger, for the smallest machines and for a GPU box
without Ray. It keeps the sweep's contract: the same records as through Ray (each run
trains with the same number of torch threads), each written atomically as its run ends;
``retries`` attempts before a run is recorded as failed, each continuing from the run's
last checkpoint; the states of runs stopped early kept for the next stop of their
schedule; and a run interrupted with this process continues, when the same command runs
again, from its last checkpoint in the storage folder (found as Ray's are, see
``resume.earlier_checkpoints``).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import torch

from benchmark.prepare import Prepared, preparation_key
from benchmark.records import PREDICTIONS_KEY, write_predictions, write_record
from benchmark.spec import RunSpec
from benchmark.sweep.console import SuiteConsole, SweepSummary, tally
from benchmark.sweep.options import SweepOptions
from benchmark.sweep.resume import STATES_FOLDER, load_earlier, write_atomically

#: Experiment folder of the inline executor's checkpoints under the storage folder.
INLINE_FOLDER = "inline"


def state_bytes(state: dict) -> bytes:
    """A training state as ``torch.save`` writes it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


class InlineExecutor:
    """Runs a sweep's specs in this process, in order, one at a time."""

    def __init__(self, options: SweepOptions):
        self.options = options

    def __enter__(self) -> "InlineExecutor":
        """Nothing to start: the runs happen in this process."""
        return self

    def __exit__(self, *exc) -> None:
        """Nothing to stop (a Ray executor shuts down the Ray it started here)."""

    def workers(self, todo: list[RunSpec]) -> int:
        """One run at a time."""
        return 1

    def device(self) -> torch.device:
        """Where the runs train: ``options.device`` (``auto``: CUDA where this process sees a GPU,
        unless ``--gpus-per-trial 0`` gives the runs none)."""
        from benchmark.arithmetic import pick_device

        if self.options.device == "auto" and self.options.gpus_per_trial == 0:
            return torch.device("cpu")
        return pick_device(self.options.device)

    def device_type(self) -> str:
        """``cpu`` or ``cuda``: the arithmetic's device type (the driver's checks compare records and
        checkpoints with it)."""
        return self.device().type

    #: The runs train in this process, on the trial's torch threads: edge nets are fitted
    #: before them, on this process's own (``benchmark.sweep.edge_nets``).
    fits_beside_runs = False

    def run(self, todo: list[RunSpec], *, prepared: dict[str, Prepared], versions: dict[str, str], earlier: dict[str, list[str]],
            states: dict[str, list[str]], summary: SweepSummary, console: SuiteConsole, name: str, storage: str | Path,
            fits=None, costs=None) -> None:  # fmt: skip
        """Train every spec of ``todo`` in order, writing each record as its run ends (``fits``:
        the edge nets, fitted before this call; ``costs``: unused, one worker has nothing to even out)."""
        if "://" in str(storage):
            raise ValueError(f"the inline executor keeps its checkpoints in a local folder, not {storage}; give a local --storage-path")
        threads_before = torch.get_num_threads()
        torch.set_num_threads(self.options.threads())
        device = self.device()
        try:
            for spec in todo:
                self.run_one(spec, prepared[preparation_key(spec)], versions, earlier, states, summary, console, Path(storage), device)
        finally:
            torch.set_num_threads(threads_before)
            console.close()

    def run_one(self, spec: RunSpec, prepared: Prepared, versions: dict[str, str], earlier: dict[str, list[str]],
                states: dict[str, list[str]], summary: SweepSummary, console: SuiteConsole, storage: Path,
                device: torch.device | None = None) -> None:  # fmt: skip
        """One run on ``device`` (default: ``self.device()``): up to ``1 + retries`` attempts, then its record (ok or failed)."""
        from benchmark.train import train

        out = Path(self.options.out).resolve()
        run_id, schedule_id = spec.run_id(prepared.data_version), spec.schedule_id(prepared.data_version)
        folder = storage / INLINE_FOLDER / run_id / "checkpoint_latest"
        every = self.options.checkpoint_every if self.options.checkpoint_every is not None else max(100, spec.settings.steps // 10)

        def save(state: dict) -> None:
            data = state_bytes(state)
            if state.get("final"):
                write_atomically(out / STATES_FOLDER / f"{state['run_id']}-{state['step']}.pt", data)
            write_atomically(folder / "state.pt", data)
            (folder / "step").write_text(str(state["step"]))
            console.tick()

        console.started_run(run_id)
        if self.options.force:  # from step 0: what an earlier command left of this run is not continued
            shutil.rmtree(folder.parent, ignore_errors=True)
        record = None
        for attempt in range(self.options.retries + 1):
            own = [str(folder / "state.pt")] if (folder / "state.pt").exists() else []
            resume = load_earlier(own + earlier.get(run_id, []) + states.get(schedule_id, []), schedule_id)
            try:
                record = train(spec, prepared=prepared, progress=False, resume=resume, checkpoint=save, checkpoint_every=every,
                               keep_predictions=self.options.keep_predictions, device=device or self.device(),
                               loader_workers=self.options.threads())  # fmt: skip
                break
            except KeyboardInterrupt:
                raise
            except Exception as err:  # retried from the last checkpoint, then recorded as failed, as a Ray trial is
                if attempt == self.options.retries:
                    record = {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": "failed",
                              "reason": f"{type(err).__name__}: {err}"}  # fmt: skip
        kept = record.pop(PREDICTIONS_KEY, None)
        if kept is not None:
            write_predictions(out, record["run_id"], kept)
        summary.records.append(str(write_record(out, record)))
        shutil.rmtree(folder.parent, ignore_errors=True)
        tally(summary, console, record)
