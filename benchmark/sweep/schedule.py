"""Which runs a sweep has to do and in what order: the records already there, the
preparations the runs share, and a cost model that starts the longest runs first."""

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
            walls.setdefault(cost_key(record["label"], record["spec"]), []).append(float(wall))
    # A run stopped early (a cut trial of a weight search) costs its share of the schedule.
    share = [s.last_step / s.settings.steps for s in specs]
    units = [f * (EDGE_NET_COST if methods.method_class(s.method).needs_edge_net else PLAIN_COST) for s, f in zip(specs, share)]
    measured = [walls.get(cost_key(s.label(), s.to_dict())) for s in specs]
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
