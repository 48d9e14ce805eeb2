"""Which runs a sweep has to do and in what order: the records already there, the
preparations the runs share, and a cost model (``RunCosts``) that starts the longest runs
first and, learning from the runs that end, shares the others out (``balance``)."""

from __future__ import annotations

import os
from pathlib import Path

import methods
from benchmark.evaluators import outdated_evaluators
from benchmark.prepare import preparation_key
from benchmark.records import CorruptRecord, load_records, read_record, record_path
from benchmark.spec import RunSpec

#: Relative cost of a run without measurements: the methods that evaluate the frozen edge
#: net on every batch take about twice PPCE's time.
EDGE_NET_COST, PLAIN_COST = 2.0, 1.0


def cost_key(label: str, spec: dict) -> tuple:
    """What runs of the same cost share: label, scale, dataset, backbone and steps."""
    return (label, *group_key(spec))


def group_key(spec: dict) -> tuple:
    """What runs of comparable cost share whatever their method: scale, dataset, backbone and steps."""
    return (spec.get("scale"), spec.get("dataset"), spec.get("backbone"), (spec.get("settings") or {}).get("steps"))


def reads_edge_net(method: str) -> bool:
    """Whether the registered ``method`` evaluates the frozen edge net (its class
    ``needs_edge_net``); ValueError for a method not registered here."""
    return methods.method_class(method).needs_edge_net


def cost_units(method: str) -> float:
    """A run's cost without measurements: 2.0 for a method that ``reads_edge_net``, else 1.0."""
    return EDGE_NET_COST if reads_edge_net(method) else PLAIN_COST


def whole_run_seconds(record: dict) -> float | None:
    """The wall time of a record that ran its whole schedule well in one go, the only kind
    that tells what a run costs; None for a failed run (it stops at its first non-finite
    loss), one stopped early (``stop_at``) or one resumed from a checkpoint (it timed the
    steps after it only)."""
    wall = (record.get("timing") or {}).get("wall_s")
    whole = (record.get("spec") or {}).get("stop_at") is None and record.get("resumed_from_step") is None
    return float(wall) if record.get("status") == "ok" and wall and whole else None


class RunCosts:
    """The estimated seconds of each of ``specs``, from the wall times of whole-schedule
    ``ok`` records in ``out`` and of the runs this sweep sees end (``observe``).

    A spec's estimate is the mean measured time of its label (at the same scale, dataset,
    backbone and steps); else of its kind of method (reading an edge net or not) in that
    group; else that group's measured seconds per cost unit times its units; else the
    seconds per unit of every measurement; else its units (unitless). Each is times the
    share of the schedule the spec runs (``stop_at``). The narrower the match, the closer
    the cost: Table 1's edge-net methods take 85-125 s and PPCE 67 s at the small scale,
    where units alone would say 134 s and 67 s.
    """

    def __init__(self, specs: list[RunSpec], out: str | os.PathLike | None = None):
        self.specs = list(specs)
        self._keys = [cost_key(s.label(), s.to_dict()) for s in self.specs]
        #: (cost key, reads an edge net, units, seconds) of each measurement
        self.measured: list[tuple[tuple, bool, float, float]] = []
        for record in load_records(out)[0] if out is not None and Path(out).is_dir() else []:
            wall = whole_run_seconds(record)
            if wall and record.get("label") and record.get("spec"):
                method = record["spec"].get("method")
                try:
                    edge, units = reads_edge_net(method), cost_units(method)
                except ValueError:  # a record of a method not registered here
                    continue
                self.measured.append((cost_key(record["label"], record["spec"]), edge, units, wall))

    def of(self, specs: list[RunSpec]) -> "RunCosts":
        """The same measurements, for ``specs`` (the sweep's runs in the order it starts them)."""
        costs = RunCosts(specs)
        costs.measured = list(self.measured)
        return costs

    def observe(self, index: int, seconds: float) -> None:
        """``specs[index]`` ran its whole schedule in ``seconds`` (a run stopped early teaches nothing)."""
        spec = self.specs[index]
        if spec.stop_at is None:
            self.measured.append((self._keys[index], reads_edge_net(spec.method), cost_units(spec.method), float(seconds)))

    def estimates(self) -> list[float]:
        """The estimated seconds of each spec, in the order of ``specs``."""
        by_key: dict[tuple, list[float]] = {}
        by_kind: dict[tuple, list[float]] = {}
        by_group: dict[tuple, list[tuple[float, float]]] = {}
        for key, edge, units, seconds in self.measured:
            by_key.setdefault(key, []).append(seconds)
            by_kind.setdefault((key[1:], edge), []).append(seconds)
            by_group.setdefault(key[1:], []).append((seconds, units))
        every = [m for group in by_group.values() for m in group]
        costs = []
        for spec, key in zip(self.specs, self._keys):
            units, share = cost_units(spec.method), spec.last_step / spec.settings.steps
            same = by_key.get(key) or by_kind.get((key[1:], reads_edge_net(spec.method)))
            if same:
                costs.append(share * sum(same) / len(same))
                continue
            pool = by_group.get(key[1:]) or every
            per_unit = sum(s for s, _ in pool) / sum(u for _, u in pool) if pool else 1.0
            costs.append(share * units * per_unit)
        return costs


def estimate_costs(specs: list[RunSpec], out: str | os.PathLike) -> list[float]:
    """The estimated cost of each spec, in seconds where records in ``out`` allow (``RunCosts``)."""
    return RunCosts(specs, out).estimates()


def order_longest_first(specs: list[RunSpec], out: str | os.PathLike, costs: list[float] | None = None) -> list[RunSpec]:
    """``specs`` by estimated cost (``estimate_costs`` unless given), longest first, ties in
    their order, so that the last runs to start are short and the workers finish together.
    The inline executor runs them in this order; through Ray it is the list the sweep's
    searcher (``ReadyFirst``) plans from, which may start another run first to even out the
    workers' ends (``balance.next_run``)."""
    costs = estimate_costs(specs, out) if costs is None else costs
    return [specs[i] for i in sorted(range(len(specs)), key=lambda i: -costs[i])]


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


def pending(specs: list[RunSpec], out: Path, data_versions: dict[str, str], retry_failed: bool = False,
            redo_outdated: bool = False, force: bool = False):
    """Split ``specs`` into (to run, already recorded). Corrupt records are reported and redone;
    with ``retry_failed`` failed runs too, with ``redo_outdated`` runs on the reported split
    whose counts were made under an earlier definition of a metric (a weight-search trial is
    chosen by mIoU alone and is kept); with ``force`` every run."""
    todo, existing = [], []
    for spec in specs:
        path = record_path(out, spec.run_id(data_versions[spec.dataset]))
        if force or not path.exists():
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
