"""Ray Tune scheduling of a list of RunSpecs: local by default, an existing cluster on request.

- One trial per spec whose record does not exist yet in the output folder; re-running
  the same command after an interruption runs only the missing ones.
- Trials report their record through Ray (``tune.report``); a driver-side callback
  writes each record atomically as soon as its trial reports, so no shared disk is
  assumed and a killed driver loses at most the runs in flight.
- The per-dataset preparation (synthetic data, edge net, validation distance maps) runs
  once in the driver. Its artefacts reach the trials through Ray's object store
  (``tune.with_parameters``): they are small (an edge net is ~25 kB, distance maps are
  uint8) and no node needs to see the driver's disk. Weights files named by the specs
  travel the same way. Synthetic sets are regenerated on a node that lacks them
  (deterministic, seconds); real datasets must be at the same ``--data-root`` path on
  every node.
- Long runs checkpoint every ``checkpoint_every`` steps through Ray, so a trial retried
  after a lost worker continues from its last checkpoint; failures are retried
  ``retries`` times and then recorded as failed. A run that was in flight when the
  driver itself died continues, in the next sweep, from the furthest checkpoint an
  earlier sweep left in the storage folder (``<out>/.ray`` by default), when its node
  can read that folder (one machine, or a storage path every node sees); else it
  starts again from step 0.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

import methods
from benchmark.data import dataset_info
from benchmark.divergence import record_diverged
from benchmark.evaluators import outdated_evaluators
from benchmark.prepare import Prepared, prepare, preparation_key
from benchmark.records import (
    PREDICTIONS_KEY,
    CorruptRecord,
    load_records,
    predictions_bytes,
    read_record,
    record_path,
    write_predictions_bytes,
    write_record,
)
from benchmark.spec import RunSpec

__all__ = ["STATES_FOLDER", "plugin_runtime_env", "trial_imports", "saved_states", "earlier_checkpoints", "estimate_costs", "load_earlier", "one_per_dataset", "one_per_preparation", "order_longest_first",
           "init_ray", "pending", "settings_text", "run_name", "run_specs", "run_status", "SuiteConsole", "SweepSummary"]  # fmt: skip


@dataclass
class SweepSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    #: Of the ``done`` runs, those the divergence rule marks diverged.
    diverged: int = 0
    wall_s: float = 0.0
    out: str = ""
    records: list[str] = field(default_factory=list)
    #: Run ids of all the sweep's specs (run, skipped or failed).
    run_ids: set[str] = field(default_factory=set)
    #: One ``<run name> [<run id>]: <reason>`` per failed run, to repeat under the summary line.
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        done = f"{self.done} done" + (f" ({self.diverged} diverged)" if self.diverged else "")
        return (f"{done}, {self.skipped} skipped (record exists), {self.failed} failed "
                f"in {_clock(self.wall_s)}; records in {self.out}")  # fmt: skip


def run_name(spec: RunSpec) -> str:
    """A run's name on the console and in Ray Tune: its label and seed, e.g. ``semeda(0,1,0) before ReLU s0``;
    a weight search's trial adds its split and the step it stops at (``dice(3) s0 tune@500``)."""
    name = f"{spec.label()} s{spec.seed}"
    if spec.split != "val":
        name += f" {spec.split}@{spec.last_step}"
    return name


def settings_text(specs: list[RunSpec]) -> dict[int, str]:
    """{id(spec): the settings in which it differs from the scale's defaults, e.g.
    ``grad_clip=10``}, to tell apart runs of one method under several protocols."""
    from benchmark.report.tidy import overrides_text

    return {id(s): overrides_text(s.to_dict()) for s in specs}


def run_status(record: dict) -> str:
    """``ok``, ``failed`` or ``diverged`` (a finished run that the divergence rule marks)."""
    if record.get("status") != "ok":
        return "failed"
    try:
        num_classes = dataset_info(record["spec"]["dataset"]).num_classes
    except (KeyError, ValueError):
        return "ok"
    return "diverged" if record_diverged(record, num_classes) else "ok"


def _clock(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


#: Relative cost of a run without measurements: the methods that evaluate the frozen edge
#: net on every batch take about twice PPCE's time.
_EDGE_NET_COST, _PLAIN_COST = 2.0, 1.0


def _cost_key(label: str, spec: dict) -> tuple:
    return (label, spec.get("scale"), spec.get("dataset"), spec.get("backbone"), (spec.get("settings") or {}).get("steps"))


def estimate_costs(specs: list[RunSpec], out: str | os.PathLike) -> list[float]:
    """The estimated cost of each spec, in seconds where records allow.

    The mean wall time of the whole-schedule ``ok`` records in ``out`` with the same label
    (at the same scale, dataset, backbone and steps), times the share of the schedule the
    spec runs (``stop_at``), when there are some; else 2.0 for a method whose
    class ``needs_edge_net`` and 1.0 otherwise, in seconds per unit as measured on the
    labels that have records (unitless when none has).
    """
    walls: dict[tuple, list[float]] = {}
    for record in load_records(out)[0] if Path(out).is_dir() else []:
        wall = (record.get("timing") or {}).get("wall_s")
        whole = (record.get("spec") or {}).get("stop_at") is None
        if record.get("status") == "ok" and wall and whole and record.get("label") and record.get("spec"):
            walls.setdefault(_cost_key(record["label"], record["spec"]), []).append(float(wall))
    # A run stopped early (a cut trial of a weight search) costs its share of the schedule.
    share = [s.last_step / s.settings.steps for s in specs]
    units = [f * (_EDGE_NET_COST if methods.method_class(s.method).needs_edge_net else _PLAIN_COST) for s, f in zip(specs, share)]
    measured = [walls.get(_cost_key(s.label(), s.to_dict())) for s in specs]
    measured = [f * sum(w) / len(w) if w else None for w, f in zip(measured, share)]
    known = [(m, u) for m, u in zip(measured, units) if m is not None]
    per_unit = sum(m for m, _ in known) / sum(u for _, u in known) if known else 1.0
    return [m if m is not None else u * per_unit for m, u in zip(measured, units)]


def order_longest_first(specs: list[RunSpec], out: str | os.PathLike, costs: list[float] | None = None) -> list[RunSpec]:
    """``specs`` by estimated cost (``estimate_costs`` unless given), longest first, ties in
    their order, so that the last runs to start are short and the workers finish together.
    Ray Tune's grid search starts trials in the order of its list (FIFO over pending trials,
    with or without ``max_concurrent_trials``), so this is the order trials start in."""
    costs = estimate_costs(specs, out) if costs is None else costs
    return [specs[i] for i in sorted(range(len(specs)), key=lambda i: -costs[i])]


class SuiteConsole:
    """What a researcher sees of a suite in flight, as plain ``print`` lines.

    One line per run as it finishes: its name, mIoU and the boundary band of width 1 in %,
    its wall time, and ``ok``, ``failed: <reason>`` or ``diverged``. A progress line (done,
    running, failed, to do, elapsed, ETA) at the start and every ``every_s`` seconds, or,
    with ``live`` (a terminal), kept up to date in place on the last line. The ETA spreads
    the remaining estimated cost over the ``workers``, in seconds per unit of cost as the
    finished runs measured it (trial start to record, at least the record's wall time).
    """

    def __init__(self, runs: dict[str, tuple[str, float]], workers: int, *, started: float | None = None, live: bool = False,
                 every_s: float = 60.0, enabled: bool = True, clock=time.time):  # fmt: skip
        #: run id -> (name, estimated cost)
        self.runs = runs
        self.workers = max(1, workers)
        self.clock = clock
        self.started = clock() if started is None else started
        self.live, self.every_s, self.enabled = live, every_s, enabled
        self.running: dict[str, float] = {}
        self.ended: set[str] = set()
        self.measured: list[tuple[float, float]] = []  # (seconds, cost) of the finished runs
        self.done = self.failed = 0
        self._last_progress = self.clock()  # the first progress line after ``every_s`` (live: at once)
        if live:
            self._last_progress = -math.inf
        self._live_shown = False
        self._width = max((len(name) for name, _ in runs.values()), default=0)

    def _print(self, text: str) -> None:
        if not self.enabled:
            return
        if self._live_shown:
            sys.stdout.write("\r\033[K")
            self._live_shown = False
        print(text, flush=True)

    def started_run(self, run_id: str) -> None:
        self.running.setdefault(run_id, self.clock())

    def finished_run(self, record: dict) -> str:
        """Print the run's line; returns its status (see ``run_status``)."""
        run_id = record.get("run_id", "")
        status = run_status(record)
        began = self.running.pop(run_id, None)
        wall = (record.get("timing") or {}).get("wall_s")
        if status != "failed":
            self.done += 1
            # Tune may see a short trial start late, so the record's own wall time bounds it from below.
            took = max(self.clock() - began if began is not None else 0.0, wall or 0.0)
            if took:
                self.measured.append((took, self.runs.get(run_id, ("", 1.0))[1]))
        else:
            self.failed += 1
        self.ended.add(run_id)
        self._print(self.run_line(record, status))
        self.tick()
        return status

    def run_line(self, record: dict, status: str) -> str:
        name = self.runs.get(record.get("run_id", ""), (record.get("label", "?"), 0))[0]
        metrics = record.get("metrics") or {}
        miou = f"{100 * metrics['miou']:5.1f}" if metrics.get("miou") is not None else "    -"
        trimap, band = metrics.get("trimap") or {}, "    -"
        widths = list(trimap.get("widths") or [])
        width = 1 if 1 in widths else min(widths, default=1)
        if widths and trimap.get("boundary_miou"):
            value = trimap["boundary_miou"][widths.index(width)]
            band = f"{100 * value:5.1f}" if value is not None and value == value else "  nan"
        wall = (record.get("timing") or {}).get("wall_s")
        wall = f"{wall:6.1f} s" if wall is not None else "     - s"
        if status == "failed":
            reason = str(record.get("reason") or "no reason recorded").strip().splitlines()
            status = f"failed: {reason[-1][:200] if reason else 'no reason recorded'}"
        count = f"[{self.done + self.failed}/{len(self.runs)}]"
        return f"{count:>{2 * len(str(len(self.runs))) + 3}} {name:<{self._width}}  mIoU {miou}  boundary w{width:g} {band}  {wall}  {status}"

    def eta_s(self) -> float | None:
        """Seconds until the last run ends, estimated; None before any run has finished."""
        if not self.measured:
            return None
        per_cost = sum(s for s, _ in self.measured) / max(sum(c for _, c in self.measured), 1e-9)
        now = self.clock()
        left = [cost * per_cost for run_id, (_, cost) in self.runs.items() if run_id not in self.ended and run_id not in self.running]
        left += [max(self.runs.get(r, ("", 1.0))[1] * per_cost - (now - t), 0.0) for r, t in self.running.items()]
        return max(sum(left) / self.workers, max(left, default=0.0))

    def progress_line(self) -> str:
        todo = len(self.runs) - self.done - self.failed - len(self.running)
        eta = self.eta_s()
        eta = f", ETA {_clock(eta)}" if eta is not None else ""
        return (f"progress: {self.done} done, {len(self.running)} running, {self.failed} failed, {todo} to do; "
                f"{_clock(self.clock() - self.started)} elapsed{eta}")  # fmt: skip

    def tick(self) -> None:
        """Called often (every step of Tune's loop): refreshes the live line or prints the progress line when due."""
        if not self.enabled:
            return
        now = self.clock()
        if self.live and now - self._last_progress >= 1.0:
            sys.stdout.write("\r\033[K" + self.progress_line())
            sys.stdout.flush()
            self._live_shown, self._last_progress = True, now
        elif not self.live and now - self._last_progress >= self.every_s:
            self._print(self.progress_line())
            self._last_progress = now

    def close(self) -> None:
        if self._live_shown:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()
            self._live_shown = False


def one_per_dataset(specs: list[RunSpec]) -> dict[str, RunSpec]:
    """Dataset -> its first spec: the one whose preparation stands for the dataset's."""
    first: dict[str, RunSpec] = {}
    for spec in specs:
        first.setdefault(spec.dataset, spec)
    return first


def one_per_preparation(specs: list[RunSpec]) -> dict[str, RunSpec]:
    """Preparation key -> its first spec: specs on one dataset with different preparation
    settings (an edge net fitted on another input, say) never share a preparation."""
    first: dict[str, RunSpec] = {}
    for spec in specs:
        first.setdefault(preparation_key(spec), spec)
    return first


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _payload(prepared: Prepared) -> dict:
    """What a trial on another node needs to rebuild ``prepared`` locally."""
    return {"prepared": prepared, "edge_net": _bytes(prepared.edge_net_path), "distances": _bytes(prepared.distance_path)}


def _materialise(payload: dict, spec: RunSpec) -> Prepared:
    """The driver's preparation on this node: reuse its files when visible, else write them."""
    prepared: Prepared = payload["prepared"]
    needed = [(prepared.distance_path, payload["distances"]), (prepared.edge_net_path, payload["edge_net"])]
    roots = (prepared.root, prepared.eval_source[0])
    if all(blob is None or path.exists() for path, blob in needed) and all(root.exists() for root in roots):
        return prepared
    local = replace(prepared, cache=Path(tempfile.gettempdir()) / "semeda-prepared" / prepared.cache.name)
    local.cache.mkdir(parents=True, exist_ok=True)
    for path, blob in ((local.distance_path, payload["distances"]), (local.edge_net_path, payload["edge_net"])):
        if blob is not None and not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
    if not all(root.exists() for root in roots):
        if prepared.data_version == "real":
            raise FileNotFoundError(f"dataset root {prepared.root} is not on this node; mount it at the same path on every node")
        prepare(spec, edge_net=False, check=False)  # regenerates the synthetic set at the same path
    return local


def _ensure_weights(spec: RunSpec, weights: dict[str, bytes]) -> None:
    """Write the spec's weights file at its path on this node when only the driver has it."""
    if spec.weights and not Path(spec.weights).exists() and spec.weights in weights:
        path = Path(spec.weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(weights[spec.weights])
        os.replace(tmp, path)


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


def _trial(config: dict, payloads: dict, weights: dict, earlier: dict, threads: int, checkpoint_every: int,
           keep_predictions: bool = False, states: dict | None = None, imports: tuple[str, ...] = ()) -> None:
    """One Ray Tune trial: train one spec, report its record (and checkpoints) through Ray.
    Kept predictions travel with the result as compressed npz bytes (base64), so the driver
    writes them beside the record without a shared disk. Each checkpoint's report carries
    the loss terms of the last logged window (``loss/<term>``), which Tune's TensorBoard
    logger writes under the storage folder. A run stopped early (``stop_at``) resumes from
    the furthest state its schedule left (``states``: schedule id -> paths), or starts
    again from step 0 where this node cannot read one (the same numbers, more time).
    ``imports``: the modules of the driver's ``--import`` (which Ray's ``runtime_env``
    ships), imported first, so that the spec's method is registered here too."""
    from ray import tune

    from benchmark.train import train

    methods.import_modules(imports)
    torch.set_num_threads(threads)
    spec = RunSpec.from_dict(config["spec"])
    spec.check_code()
    prepared = _materialise(payloads[preparation_key(spec)], spec)
    _ensure_weights(spec, weights)
    resume = None
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d:
            resume = torch.load(Path(d) / "state.pt", weights_only=False)
    else:
        run_id, schedule_id = spec.run_id(prepared.data_version), spec.schedule_id(prepared.data_version)
        resume = load_earlier(earlier.get(run_id, []) + (states or {}).get(schedule_id, []), schedule_id)

    def save(state: dict) -> None:
        losses = {f"loss/{term}": values[-1] for term, values in state["curve"]["values"].items() if values}
        with tempfile.TemporaryDirectory() as d:
            torch.save(state, Path(d) / "state.pt")
            (Path(d) / "step").write_text(str(state["step"]))
            if state.get("final"):
                (Path(d) / "final").write_text(state["run_id"])
            tune.report({"step": state["step"], **losses}, checkpoint=tune.Checkpoint.from_directory(d))

    record = train(spec, prepared=prepared, progress=False, resume=resume, checkpoint=save, checkpoint_every=checkpoint_every,
                   keep_predictions=keep_predictions)  # fmt: skip
    result = {"step": spec.last_step, "miou": record.get("metrics", {}).get("miou")}
    kept = record.pop(PREDICTIONS_KEY, None)
    if kept is not None:
        result["predictions"] = base64.b64encode(predictions_bytes(kept)).decode()
    tune.report({**result, "record": json.dumps(record)})


def pending(specs: list[RunSpec], out: Path, data_versions: dict[str, str], retry_failed: bool = False,
            redo_outdated: bool = False):
    """Split ``specs`` into (to run, already recorded). Corrupt records are reported and redone;
    with ``retry_failed`` failed runs too, with ``redo_outdated`` runs on the reported split
    whose counts were made under an earlier definition of a metric (a weight-search trial is
    chosen by mIoU alone and is kept)."""
    todo, existing = [], []
    for spec in specs:
        path = record_path(out, spec.run_id(data_versions[spec.dataset]))
        if not path.exists():
            todo.append(spec)
            continue
        try:
            record = read_record(path)
        except CorruptRecord as err:
            print(f"warning: {err}; running it again")
            todo.append(spec)
            continue
        if retry_failed and record["status"] != "ok":
            todo.append(spec)
        elif redo_outdated and spec.split == "val" and outdated_evaluators(record):
            todo.append(spec)
        else:
            existing.append(spec)
    return todo, existing


def _make_callback(out: Path, summary: SweepSummary, data_versions: dict[str, str], console: SuiteConsole | None = None):
    from ray import tune

    console = console or SuiteConsole({}, 1, enabled=False)

    def keep_final_state(checkpoint) -> None:
        """The state a run stopped early ends with, copied to ``<out>/states/<schedule id>-<step>.pt``."""
        with checkpoint.as_directory() as d:
            marker = Path(d) / "final"
            if marker.exists():
                folder = out / STATES_FOLDER
                folder.mkdir(exist_ok=True)
                target = folder / f"{marker.read_text().strip()}-{int((Path(d) / 'step').read_text())}.pt"
                tmp = target.with_name(f".{target.name}.tmp")
                tmp.write_bytes((Path(d) / "state.pt").read_bytes())
                os.replace(tmp, target)

    def run_id_of(trial) -> str:
        spec = trial.config["spec"]
        return RunSpec.from_dict(spec).run_id(data_versions[spec["dataset"]])

    def count(record: dict) -> None:
        status = console.finished_run(record)
        if status == "failed":
            summary.failed += 1
            spec = record.get("spec") or {}
            name = run_name(RunSpec.from_dict(spec)) if spec else record.get("label", "?")
            summary.failures.append(f"{name} [{record['run_id']}]: {record.get('reason')}")
        else:
            summary.done += 1
            summary.diverged += status == "diverged"

    class WriteRecords(tune.Callback):
        """Runs in the driver: writes each record when its trial reports it, and tells the console."""

        def __init__(self):
            #: Checkpoints that a newer one of their trial supersedes, removed once Tune has
            #: registered the newer one (see ``on_step_end``).
            self._superseded: list[tuple[object, object]] = []
            self._latest: dict[str, object] = {}

        def on_trial_start(self, iteration, trials, trial, **info):
            console.started_run(run_id_of(trial))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if "record" in result:
                record = json.loads(result["record"])
                if result.get("predictions"):
                    write_predictions_bytes(out, record["run_id"], base64.b64decode(result["predictions"]))
                path = write_record(out, record)
                summary.records.append(str(path))
                count(record)

        def on_trial_error(self, iteration, trials, trial, **info):
            spec = RunSpec.from_dict(trial.config["spec"])
            run_id = spec.run_id(data_versions[spec.dataset])
            reason = "trial failed after its retries"
            if trial.error_file and os.path.exists(trial.error_file):
                reason = Path(trial.error_file).read_text().strip().splitlines()[-1][:500]
            record = {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": "failed", "reason": reason}
            write_record(out, record)
            count(record)

        def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
            keep_final_state(checkpoint)
            # Tune keeps every checkpoint (CheckpointConfig(num_to_keep=None), see run_specs);
            # a trial's older one is removed here instead, once the newer one is its latest.
            previous = self._latest.get(trial.trial_id)
            if previous is not None:
                self._superseded.append((trial, previous))
            self._latest[trial.trial_id] = checkpoint

        def _remove_superseded(self, final: bool = False) -> None:
            keep = []
            for trial, old in self._superseded:
                latest = trial.checkpoint
                if not final and (latest is None or latest.path == old.path):
                    keep.append((trial, old))  # the newer one is not registered yet
                    continue
                try:
                    old.filesystem.delete_dir(old.path)
                except Exception:  # already gone, or storage that refuses: the next sweep copes with either
                    pass
            self._superseded = keep

        def on_step_end(self, iteration, trials, **info):
            self._remove_superseded()
            console.tick()

        def on_experiment_end(self, trials, **info):
            self._remove_superseded(final=True)
            console.close()

    return WriteRecords()


class _SaidBetterHere(logging.Filter):
    """Drops Ray Tune's closing messages that the suite's own lines say better: the list of
    trials that did not complete (the failed runs are repeated under the summary line with
    their reasons), the hint to resume with ``Tuner.restore`` (a suite resumes by running
    the same command again), and, after an interruption, the list of trials that never
    started and so have no metrics to fetch (the suite says how many runs are left)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Trials did not complete", "Experiment has been interrupted", "Failed to fetch metrics"))


@contextmanager
def _quiet_tune(quiet: bool):
    """Ray Tune's own console reporting off while a sweep runs (``quiet``), restored after."""
    if not quiet:
        yield
        return
    loggers, said = [logging.getLogger(name) for name in ("ray.tune.tune", "ray.tune.analysis.experiment_analysis")], _SaidBetterHere()
    settings = {
        # Tune's newer output engine prints its experiment header and paths even at
        # verbose=0; the classic one, at verbose=0, prints nothing.
        "RAY_AIR_NEW_OUTPUT": "0",
        # A failed trial's traceback stays in its error file, and its last line in its record
        # and on the console; Tune would print the whole traceback of every attempt.
        "TUNE_PRINT_ALL_TRIAL_ERRORS": "0",
    }
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    for logger in loggers:
        logger.addFilter(said)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(said)
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def init_ray(address: str | None, num_cpus: int | None, timeout_s: float = 60.0, quiet: bool = True) -> bool:
    """Connect to ``address`` or start a local Ray confined to 127.0.0.1. True when started here.
    Either way the code of ``--import`` goes with it (``plugin_runtime_env``).

    ``quiet``: Ray's driver logs at WARNING and above only (its INFO lines say where it
    started and where Tune wrote its state).
    """
    if "ray" not in sys.modules and "RAY_AUTH_MODE" not in os.environ:
        # With RAY_AUTH_MODE unset, a Ray that starts its own cluster turns token
        # authentication on, and one that joins a cluster turns it on when it finds a token;
        # both warn that they did. The same choice is made here explicitly, which Ray takes
        # without a warning (a local start creates ~/.ray/auth_token when missing, as Ray's
        # default does). Ray reads the mode once, when it is imported, hence before that; a
        # process that imported Ray earlier keeps Ray's own choice, and its warning.
        token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
        if not address or os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
            os.environ["RAY_AUTH_MODE"] = "token"
    import ray

    if ray.is_initialized():
        return False
    level = logging.WARNING if quiet else logging.INFO
    runtime_env = plugin_runtime_env()
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=level, runtime_env=runtime_env)
        return False
    # A local Ray otherwise binds this machine's other interfaces too.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # address="local": always a new instance, never the last cluster `ray start` left behind.
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=256 * 1024**2, log_to_driver=False, logging_level=level, runtime_env=runtime_env)  # fmt: skip
    return True


def trial_imports(specs: list[RunSpec]) -> tuple[str, ...]:
    """The modules a trial imports at its start: the driver's ``--import`` modules, then the
    module of every method of ``specs`` from outside the package that is not among them (one
    a script imported itself), so that a trial that cannot find it says which module is missing."""
    names = [p.module for p in methods.imported_plugins()]
    for spec in specs:
        module = dict(spec.origin or ()).get("module")
        if module and module != "__main__":
            names.append(module)
    return tuple(dict.fromkeys(names))


def plugin_runtime_env() -> dict | None:
    """Ray's ``runtime_env`` for the code of ``--import``: each file or package folder in
    ``py_modules``, so that every worker, on any node, imports it without the driver's disk."""
    ship = [p.ship for p in methods.imported_plugins() if p.ship]
    return {"py_modules": list(dict.fromkeys(ship))} if ship else None


def _workers(todo: int, cpus_per_trial: float, gpus: float, max_concurrent: int | None) -> int:
    """How many trials run at once: as the cluster's resources, ``max_concurrent`` and the runs allow."""
    import ray

    resources = ray.cluster_resources()
    n = int(resources.get("CPU", 1) // cpus_per_trial) if cpus_per_trial else todo
    if gpus:
        n = min(n, int(resources.get("GPU", 0) // gpus))
    if max_concurrent:
        n = min(n, max_concurrent)
    return max(1, min(n, todo))


def run_specs(
    specs: list[RunSpec],
    *,
    out: str | os.PathLike = "runs",
    data_root: str | None = None,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float | None = None,
    max_concurrent: int | None = None,
    retries: int = 2,
    storage_path: str | None = None,
    checkpoint_every: int | None = None,
    retry_failed: bool = False,
    redo_outdated: bool = False,
    name: str = "sweep",
    verbose: int | None = 0,
    progress: bool = False,
    console: bool = True,
    keep_predictions: bool = False,
) -> SweepSummary:
    """Run every spec without a record in ``out`` as a Ray Tune trial; returns the summary.

    ``verbose``: Ray Tune's own console reporting (``RunConfig(verbose=...)``; 0: off, None:
    Ray's default). ``console``: the sweep's own lines (see ``SuiteConsole``), with a live
    progress line and preparation progress bars on a terminal when ``progress``.
    """
    started = time.time()
    say = (lambda text: print(text, flush=True)) if console else (lambda text: None)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    summary = SweepSummary(out=str(out))
    # Preparation: once per (dataset, preparation settings), in the driver (the edge net
    # fitted when any run of that preparation needs it).
    prepared = {}
    for key, spec in one_per_preparation(specs).items():
        needs = any(preparation_key(s) == key and methods.method_class(s.method).needs_edge_net for s in specs)
        began = time.time()
        prepared[key] = prepare(spec, data_root=data_root, edge_net=needs, progress=progress and sys.stderr.isatty())
        edge_net = f" (edge net F1 {prepared[key].edge_net().info.f1:.3f})" if needs else ""
        say(f"prepared {spec.dataset}{edge_net} in {time.time() - began:.1f} s")
    versions = {p.dataset: p.data_version for p in prepared.values()}
    summary.run_ids = {s.run_id(versions[s.dataset]) for s in specs}
    todo, existing = pending(specs, out, versions, retry_failed, redo_outdated)
    summary.skipped = len(existing)
    if not todo:
        summary.wall_s = time.time() - started
        return summary
    costs = dict(zip(map(id, todo), estimate_costs(todo, out)))
    todo = order_longest_first(todo, out, [costs[id(s)] for s in todo])
    started_here = init_ray(address, None, quiet=verbose == 0)
    import ray
    from ray import tune

    try:
        gpus = gpus_per_trial if gpus_per_trial is not None else (1 if torch.cuda.is_available() else 0)
        workers = _workers(len(todo), cpus_per_trial, gpus, max_concurrent)
        several = {attr: len({getattr(s, attr) for s in specs}) > 1 for attr in ("dataset", "init", "backbone")}
        settings = settings_text(specs) if len({s.settings for s in specs}) > 1 else {}
        shown = {s.run_id(versions[s.dataset]): (" ".join([run_name(s)] + [getattr(s, a) for a, many in several.items() if many]
                                                          + [settings.get(id(s), "")]).strip(), costs[id(s)])
                 for s in todo}  # fmt: skip
        screen = SuiteConsole(shown, workers, started=started, live=progress and sys.stdout.isatty(), enabled=console)
        say(f"{len(todo)} runs to do ({len(existing)} recorded already), {workers} at a time, longest first")
        threads = max(1, int(cpus_per_trial))
        every = checkpoint_every if checkpoint_every is not None else max(100, todo[0].settings.steps // 10)
        # A bucket URI goes to Ray as it is; only a local (or mounted) folder is searched
        # for what earlier sweeps left. Runs with a record (a failed one, re-run with
        # --retry-failed, or a corrupt one) start again from step 0.
        is_uri = bool(storage_path) and "://" in storage_path
        storage = storage_path if is_uri else Path(storage_path).resolve() if storage_path else out / ".ray"
        todo_ids = (s.run_id(versions[s.dataset]) for s in todo)
        unrecorded = {run_id for run_id in todo_ids if not record_path(out, run_id).exists()}
        earlier = {} if is_uri else earlier_checkpoints(storage, unrecorded)
        trainable = tune.with_resources(
            tune.with_parameters(
                _trial, payloads={k: _payload(p) for k, p in prepared.items()},
                weights={w: Path(w).read_bytes() for w in {s.weights for s in todo if s.weights}},
                earlier=earlier, threads=threads, checkpoint_every=every, keep_predictions=keep_predictions,
                states=saved_states(out, todo, versions), imports=trial_imports(todo),
            ),  # fmt: skip
            {"cpu": cpus_per_trial, "gpu": gpus},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"spec": tune.grid_search([s.to_dict() for s in todo])},
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, reuse_actors=False,
                                        trial_name_creator=lambda t: run_name(RunSpec.from_dict(t.config["spec"])),
                                        trial_dirname_creator=lambda t: RunSpec.from_dict(t.config["spec"]).run_id(versions[t.config["spec"]["dataset"]])),
            run_config=tune.RunConfig(
                name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=str(storage), verbose=verbose,
                failure_config=tune.FailureConfig(max_failures=retries),
                # num_to_keep=None: with num_to_keep=k Tune forces a snapshot of the whole
                # experiment state after every k-th checkpoint of each trial (so that
                # Tuner.restore never names a deleted checkpoint), which concurrent trials
                # checkpointing together trigger seconds apart ("Experiment state
                # snapshotting has been triggered multiple times ..."). A suite resumes from
                # its records and its trials' last checkpoints, not through Tuner.restore,
                # so the experiment state is left to Tune's periodic snapshot
                # (TUNE_GLOBAL_CHECKPOINT_S, "auto": at least every 10 s) and each trial's
                # superseded checkpoint is removed by the callback (WriteRecords.on_checkpoint).
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
                callbacks=[_make_callback(out, summary, versions, screen)],
            ),
        )  # fmt: skip
        with _quiet_tune(verbose == 0):
            tuner.fit()
    finally:
        if started_here:
            ray.shutdown()
    summary.wall_s = time.time() - started
    return summary
