"""What a researcher sees of a sweep: one line per finished run, a progress line with an
ETA, and the summary at the end. Shared by every executor."""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field

from benchmark.data import dataset_info
from benchmark.divergence import record_diverged
from benchmark.overrides import overrides_text
from benchmark.spec import RunSpec

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
                f"in {clock_text(self.wall_s)}; records in {self.out}")  # fmt: skip


#: A fixed-cost line of the console (a dataset's preparation, an edge net fitted before the
#: runs, the executor's start), as ``fixed_costs`` reads it back from a suite's output; an
#: edge net fitted beside the runs ends in ``, beside the runs`` (``edge_nets.fitted_line``).
FIXED_COST_LINE = re.compile(r"^(?:prepared (?P<dataset>\S+)|fitted the edge net of (?P<fitted>\S+)|(?P<executor>\S+) executor ready)"
                             r"\b.* in (?P<seconds>[0-9.]+) s(?P<beside>, beside the runs)?$")  # fmt: skip


def prepared_line(dataset: str, detail: str, seconds: float) -> str:
    """``prepared streets in 16.4 s``: data and distance maps of one preparation (``detail``
    between the name and the time)."""
    return f"prepared {dataset}{detail} in {seconds:.1f} s"


def ready_line(executor: str, seconds: float) -> str:
    """``ray executor ready in 6.3 s``: the executor's start (a local Ray's, say) before the first run."""
    return f"{executor} executor ready in {seconds:.1f} s"


def fixed_costs(lines) -> dict[str, float]:
    """Seconds of preparation before the runs (every ``prepared_line``, and every edge net
    fitted before them), of the executor's start (every ``ready_line``), and of the edge nets
    fitted beside the runs (not a fixed cost: the runs went meanwhile) in a suite's console
    output, e.g. ``{"preparation": 83.0, "executor": 6.3, "beside": 0.0}``."""
    costs = {"preparation": 0.0, "executor": 0.0, "beside": 0.0}
    for line in lines:
        match = FIXED_COST_LINE.match(line.strip())
        if match:
            part = "beside" if match["beside"] else "executor" if match["executor"] else "preparation"
            costs[part] += float(match["seconds"])
    return costs


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


def clock_text(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


class SuiteConsole:
    """What a researcher sees of a suite in flight, as plain ``print`` lines.

    One line per run as it finishes: its name, mIoU and the boundary band of width 1 in %,
    its wall time, and ``ok``, ``failed: <reason>`` or ``diverged``. A progress line (done,
    running, failed, to do, elapsed, ETA) at the start and every ``every_s`` seconds, or,
    with ``live`` (a terminal), kept up to date in place on the last line. The ETA spreads
    the remaining estimated cost over the ``workers``, in seconds per unit of cost as the
    finished runs measured it: each run's wall time in the suite, from the moment a worker
    was free for it (the console's start, or the end of the run that worker ran before) to
    its record, and at least the record's own wall time. So a worker process's start, Ray
    Tune's bookkeeping and the gaps between runs count, as they do in the suite's wall time,
    not the training alone (a run that trains for one second may take several in a suite).
    A run's seconds beside work of the driver (an edge net fitted beside the runs: ``overlap``,
    seconds of a span, ``FitSpan.overlap``) are left out of its time, as the sweep's searcher
    leaves them out of what its cost model learns (``ReadyFirst.on_trial_complete``): the runs
    in flight during the fit took longer than the others will.
    """

    def __init__(self, runs: dict[str, tuple[str, float]], workers: int, *, started: float | None = None, live: bool = False,
                 every_s: float = 60.0, enabled: bool = True, clock=time.time, overlap=None):  # fmt: skip
        #: run id -> (name, estimated cost)
        self.runs = runs
        self.workers = max(1, workers)
        self.clock = clock
        self.started = clock() if started is None else started
        self.live, self.every_s, self.enabled = live, every_s, enabled
        self.running: dict[str, float] = {}
        #: When each of the ``workers`` became free for its next run (earliest first): the
        #: console's start, then the end of each run.
        self._free: list[float] = [self.clock()] * self.workers
        self.ended: set[str] = set()
        self.measured: list[tuple[float, float]] = []  # (seconds, cost) of the finished runs
        self.overlap = overlap or (lambda start, end: 0.0)
        self.done = self.failed = 0
        self._last_progress = self.clock()  # the first progress line after ``every_s`` (live: at once)
        if live:
            self._last_progress = -math.inf
        self._live_shown = False
        self._width = max((len(name) for name, _ in runs.values()), default=0)
        self._notes: list[str] = []

    def _print(self, text: str) -> None:
        if not self.enabled:
            return
        if self._live_shown:
            sys.stdout.write("\r\033[K")
            self._live_shown = False
        print(text, flush=True)

    def note(self, text: str) -> None:
        """A line said by another thread (an edge net fitted beside the runs): printed by this
        console's thread at its next ``tick``, so that it never cuts into the live line."""
        self._notes.append(text)

    def _print_notes(self) -> None:
        while self._notes:
            self._print(self._notes.pop(0))

    def started_run(self, run_id: str) -> None:
        """``run_id`` took a worker: its time counts from when that worker was free."""
        if run_id not in self.running:
            self.running[run_id] = self._take_worker()

    def _take_worker(self) -> float:
        """When the worker free the longest became free (now, when all are busy)."""
        return self._free.pop(0) if self._free else self.clock()

    def _free_worker(self) -> None:
        self._free = sorted(self._free + [self.clock()])[-self.workers :]

    def finished_run(self, record: dict) -> str:
        """Print the run's line; returns its status (see ``run_status``)."""
        run_id = record.get("run_id", "")
        status = run_status(record)
        began = self.running.pop(run_id, None)
        if began is None:  # a run whose start was not seen: it had the worker free the longest
            began = self._take_worker()
        self._free_worker()
        wall = (record.get("timing") or {}).get("wall_s")
        if status != "failed":
            self.done += 1
            now = self.clock()
            took = max(now - began, wall or 0.0) - self.overlap(began, now)
            if took > 0:
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
        eta = f", ETA {clock_text(eta)}" if eta is not None else ""
        return (f"progress: {self.done} done, {len(self.running)} running, {self.failed} failed, {todo} to do; "
                f"{clock_text(self.clock() - self.started)} elapsed{eta}")  # fmt: skip

    def tick(self) -> None:
        """Called often (every step of Tune's loop): refreshes the live line or prints the progress line when due."""
        if not self.enabled:
            return
        self._print_notes()
        now = self.clock()
        if self.live and now - self._last_progress >= 1.0:
            sys.stdout.write("\r\033[K" + self.progress_line())
            sys.stdout.flush()
            self._live_shown, self._last_progress = True, now
        elif not self.live and now - self._last_progress >= self.every_s:
            self._print(self.progress_line())
            self._last_progress = now

    def close(self) -> None:
        if self.enabled:
            self._print_notes()
        if self._live_shown:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()
            self._live_shown = False


def tally(summary: SweepSummary, console: SuiteConsole, record: dict) -> None:
    """Count a finished run's record in ``summary`` and print its line on ``console``."""
    status = console.finished_run(record)
    if status == "failed":
        summary.failed += 1
        spec = record.get("spec") or {}
        name = run_name(RunSpec.from_dict(spec)) if spec else record.get("label", "?")
        summary.failures.append(f"{name} [{record['run_id']}]: {record.get('reason')}")
    else:
        summary.done += 1
        summary.diverged += status == "diverged"
