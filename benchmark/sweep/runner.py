"""``run_specs``: a list of RunSpecs to records, whatever executes them.

The stages every executor shares: the per-dataset preparation (synthetic data, validation
distance maps, and the edge net where a run to do needs it, fitted beside the first runs
when they train in other processes: ``edge_nets``) once in the driver; the runs without a
record in the output folder, longest first (re-running the same command after an
interruption runs only the missing ones), with a cost model that learns from the runs as
they end, for an executor whose workers it evens out (``balance``); what earlier sweeps
left to resume from; the console. The executor (Ray Tune, or this process) only runs the list.
"""

from __future__ import annotations

import sys
import time
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

from benchmark.arithmetic import check_precision
from benchmark.cli import Interrupted
from benchmark.prepare import prepare
from benchmark.records import CorruptRecord, read_record, record_path
from benchmark.rounding import expected_environment, suite_reuse_note
from benchmark.spec import RunSpec
from benchmark.sweep.console import SuiteConsole, SweepSummary, prepared_line, ready_line, run_name, settings_text
from benchmark.sweep.edge_nets import EdgeNetFits
from benchmark.sweep.options import SweepOptions
from benchmark.sweep.resume import check_arithmetic, earlier_checkpoints, saved_states
from benchmark.sweep.schedule import RunCosts, one_per_preparation, order_longest_first, pending, reads_edge_net


def executor_class(name: str) -> type:
    """The class of executor ``name`` (Ray is imported only when one runs)."""
    if name == "inline":
        from benchmark.sweep.inline import InlineExecutor

        return InlineExecutor
    from benchmark.sweep.ray_executor import RayExecutor

    return RayExecutor


def executor_for(options: SweepOptions):
    """The executor ``options.executor`` names (a context manager; Ray is imported only for ``ray``)."""
    return executor_class(options.executor)(options)


def fits_beside_runs(options: SweepOptions, executor=None) -> bool:
    """Whether the sweep's executor (``executor``, one already open, else the one ``options``
    names) trains in other processes, so that edge nets are fitted here while runs go."""
    kind = type(executor) if executor is not None else executor_class(options.executor)
    return getattr(kind, "fits_beside_runs", False)


@contextmanager
def executor_session(options: SweepOptions):
    """One executor for several ``run_specs`` calls (a staged suite's passes): Ray starts once."""
    with executor_for(options) as executor:
        yield executor


def run_specs(specs: list[RunSpec], options: SweepOptions | None = None, *, name: str = "sweep", executor=None,
              **changes) -> SweepSummary:  # fmt: skip
    """Run every spec without a record in ``options.out``; returns the summary.

    ``changes``: fields of ``SweepOptions`` to set on ``options`` (or on the defaults), e.g.
    ``run_specs(specs, out="runs", max_concurrent=2)``. ``executor``: one opened by
    ``executor_session`` and kept across calls; else one is opened for this call when
    there is anything to run.
    """
    options = replace(options or SweepOptions(), **changes)
    started = time.time()
    say = (lambda text: print(text, flush=True)) if options.console else (lambda text: None)
    out = Path(options.out).resolve()
    # What cannot run is a one-line error before any preparation (the executor checks the
    # device again once it knows the cluster's resources).
    for spec in specs:
        spec.check_trainable()
        check_precision(spec.settings.precision, options.expected_device_type())
    out.mkdir(parents=True, exist_ok=True)
    summary = SweepSummary(out=str(out))
    # Preparation: once per (dataset, preparation settings), in the driver: data and distance
    # maps here; the edge net once the runs to do are known, where one of them needs it.
    prepared = {}
    for key, spec in one_per_preparation(specs).items():
        began = time.time()
        prepared[key] = prepare(spec, data_root=options.data_root, edge_net=False, progress=options.progress and sys.stderr.isatty())
        say(prepared_line(spec.dataset, "", time.time() - began))
    versions = {p.dataset: p.data_version for p in prepared.values()}
    summary.run_ids = {s.run_id(versions[s.dataset]) for s in specs}
    todo, existing = pending(specs, out, versions, options.retry_failed, options.redo_outdated, options.force)
    summary.skipped = len(existing)
    note = reuse_note(existing, out, versions, options)
    if note:
        say(note)
    if not todo:
        summary.wall_s = time.time() - started
        return summary
    learned = RunCosts(todo, out)
    costs = dict(zip(map(id, todo), learned.estimates()))
    todo = order_longest_first(todo, out, [costs[id(s)] for s in todo])
    learned = learned.of(todo)  # learns from the runs as they end, for an executor that plans with it
    reading = [s for s in todo if reads_edge_net(s.method)]
    fits = EdgeNetFits({key: (spec, prepared[key]) for key, spec in one_per_preparation(reading).items()
                        if not prepared[key].edge_net_path.exists()}, say=say, progress=options.progress and sys.stderr.isatty())  # fmt: skip
    beside = bool(fits) and fits_beside_runs(options, executor)
    if not beside:
        fits.run()
    # A bucket URI goes to Ray as it is; only a local (or mounted) folder is searched for
    # what earlier sweeps left. Runs with a record (a failed one, re-run with
    # --retry-failed, or a corrupt one) start again from step 0.
    is_uri = bool(options.storage_path) and "://" in options.storage_path
    storage = options.storage_path if is_uri else Path(options.storage_path).resolve() if options.storage_path else out / ".ray"
    unrecorded = {run_id for run_id in (s.run_id(versions[s.dataset]) for s in todo) if not record_path(out, run_id).exists()}
    # --force: every run from step 0, whatever earlier sweeps left
    earlier = {} if is_uri or options.force else earlier_checkpoints(storage, unrecorded)
    states = {} if options.force else saved_states(out, todo, versions)
    began = time.time()
    # closing(fits): a sweep that ends early stops a fit still going, once the executor has stopped
    with closing(fits), (executor_session(options) if executor is None else _already_open(executor)) as runner:
        if executor is None:
            say(ready_line(options.executor, time.time() - began))
        for spec in todo:
            check_precision(spec.settings.precision, runner.device_type())
        check_arithmetic([(s, earlier.get(s.run_id(versions[s.dataset]), []) + states.get(s.schedule_id(versions[s.dataset]), []))
                          for s in todo], runner.device_type())  # fmt: skip
        if beside:  # once nothing is left to check: the runs that need no edge net start meanwhile
            fits.start()
        workers = runner.workers(todo)
        several = {attr: len({getattr(s, attr) for s in specs}) > 1 for attr in ("dataset", "init", "backbone")}
        settings = settings_text(specs) if len({s.settings for s in specs}) > 1 else {}
        shown = {s.run_id(versions[s.dataset]): (" ".join([run_name(s)] + [getattr(s, a) for a, many in several.items() if many]
                                                          + [settings.get(id(s), "")]).strip(), costs[id(s)])
                 for s in todo}  # fmt: skip
        console = SuiteConsole(shown, workers, started=started, live=options.progress and sys.stdout.isatty(), enabled=options.console,
                               overlap=fits.span.overlap)  # fmt: skip
        fits.tell(console.note)
        evened = ", evened out at the end" if workers > 1 and getattr(runner, "evens_out_workers", False) else ""
        then = ", those that need an edge net once it is fitted" if beside else ""
        say(f"{len(todo)} runs to do ({len(existing)} recorded already), {workers} at a time, longest first{evened}{then}")
        try:
            runner.run(todo, prepared=prepared, versions=versions, earlier=earlier, states=states,
                       summary=summary, console=console, name=name, storage=storage, fits=fits, costs=learned)  # fmt: skip
        except KeyboardInterrupt:
            raise Interrupted(interrupted_line(summary, len(todo), len(existing))) from None
        fits.raise_failure()  # the runs that needed a net whose fit failed never started: the sweep says why
        if summary.done + summary.failed < len(todo):  # Ray Tune ends its experiment on Ctrl-C instead of raising
            raise Interrupted(interrupted_line(summary, len(todo), len(existing)))
    summary.wall_s = time.time() - started
    return summary


def reuse_note(existing: list[RunSpec], out: Path, versions: dict[str, str], options: SweepOptions) -> str | None:
    """One line when records the sweep reuses were made under another rounding environment
    than its runs would have (``rounding.suite_reuse_note``); None when none was."""
    records = []
    for spec in existing:
        try:
            records.append(read_record(record_path(out, spec.run_id(versions[spec.dataset]))))
        except CorruptRecord:
            continue
    device_type, threads = options.expected_device_type(), options.threads()

    def expected_of(record: dict) -> dict:
        precision = ((record.get("spec") or {}).get("settings") or {}).get("precision", "fp32")
        return expected_environment(device_type, threads, precision)

    return suite_reuse_note(records, expected_of) if records else None


def interrupted_line(summary: SweepSummary, todo: int, before: int) -> str:
    """What an interrupted sweep says it left: how many of its ``todo`` runs it recorded
    (``before``: recorded by earlier sweeps) and how to continue."""
    recorded = summary.done + summary.failed
    return (f"interrupted: {recorded} of the {todo} runs to do recorded ({before} recorded before) in {summary.out}; "
            f"run the same command again to run the other {todo - recorded}, those in flight from their last checkpoint")  # fmt: skip


@contextmanager
def _already_open(executor):
    """An executor the caller opened and closes itself."""
    yield executor
