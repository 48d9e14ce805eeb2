"""Whether the fast step settings give the default protocol's numbers, from run records
(`--records`, default results/runs; nothing is trained or timed): every run whose settings differ
from the default only in the speed levers (`compile`, `memory_format`, `precision`; the `agreement`
suite's fast rows) is paired with the record of the same spec at the levers' defaults, which has
the same seed, so the same initialisation and batches. Per row, dataset and fast settings: the
mIoU difference fast - default in points, seed by seed, its mean and 95% Student-t interval. They
agree when |mean| <= 0.5 point and the interval lies within +-1.5 points: both targets met. A
failed run on either side, a partner not in the records, or a pair whose runs read different edge
nets (the preparation fitted anew elsewhere) is counted as unpaired (target 0), never averaged
away; seeds the divergence rule marks are named in the label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from benchmark.data import dataset_info
from benchmark.divergence import record_diverged
from benchmark.perf.figure import Figure
from benchmark.perf.section import Context
from benchmark.records import load_records
from benchmark.spec import RunSpec, Settings

__all__ = ["SIZES", "LEVERS", "MEAN_BOUND", "INTERVAL_BOUND", "Agreement", "agreement", "default_partner", "PairedRow", "paired_runs", "measure"]

#: Nothing to size: the section reads the records it finds.
SIZES = {"full": "all records", "quick": "all records"}
#: The settings that make a step faster without changing what it computes, up to rounding.
LEVERS = ("compile", "memory_format", "precision")
#: The rule, in mIoU points: |mean difference| at most this ...
MEAN_BOUND = 0.5
#: ... and both ends of its 95% t-interval within this distance of 0.
INTERVAL_BOUND = 1.5


@dataclass(frozen=True)
class Agreement:
    """The paired check of one row: fast - default mIoU in points, per seed, and the verdict."""

    differences: tuple[float, ...]
    mean: float
    low: float  #: ends of the 95% Student-t interval of the mean (NaN for fewer than 2 pairs)
    high: float

    @property
    def agree(self) -> bool:
        """|mean| <= ``MEAN_BOUND`` and the interval within +-``INTERVAL_BOUND`` (False without one)."""
        return abs(self.mean) <= MEAN_BOUND and -INTERVAL_BOUND <= self.low and self.high <= INTERVAL_BOUND

    @property
    def extent(self) -> float:
        """The interval's farthest end from 0 (NaN without an interval)."""
        return max(abs(self.low), abs(self.high))


def agreement(differences: Iterable[float], level: float = 0.95) -> Agreement:
    """The check of paired differences (fast - default, mIoU points, one per seed): their mean and
    its Student-t interval at ``level``, mean +- t_{(1+level)/2, n-1} s / sqrt(n) with s the
    sample standard deviation (the report's ``t_interval``); NaN ends for fewer than 2 pairs."""
    from benchmark.report.stats import t_interval

    values = tuple(float(d) for d in differences)
    mean, half = t_interval(values, level)
    return Agreement(values, mean, mean - half, mean + half)


def default_partner(spec: RunSpec) -> RunSpec | None:
    """``spec`` with every lever (``LEVERS``) at its default; None when they all are already."""
    defaults = {f.name: f.default for f in fields(Settings) if f.name in LEVERS}
    if all(getattr(spec.settings, name) == value for name, value in defaults.items()):
        return None
    return replace(spec, settings=replace(spec.settings, **defaults))


@dataclass
class PairedRow:
    """The pairs of one row, dataset and fast settings."""

    label: str
    key: str
    pairs: dict = field(default_factory=dict)  #: seed -> (fast record, default record or None)


def paired_runs(records: list[dict]) -> dict[tuple, PairedRow]:
    """The fast runs of ``records`` with their default partners (None where not in ``records``),
    grouped by row, dataset, backbone, scale, initialisation and fast settings. Only whole runs
    on the reported split whose record this version's run id names (a record of an earlier
    version has its partner at that version)."""
    by_id = {r["run_id"]: r for r in records}
    rows: dict[tuple, PairedRow] = {}
    for record in records:
        try:
            spec = RunSpec.from_dict(record["spec"])
            if spec.run_id(record["data_version"]) != record["run_id"]:
                continue
        except (ValueError, TypeError, KeyError, FileNotFoundError):  # a method, setting or weights file this checkout lacks
            continue
        partner = default_partner(spec)
        if partner is None or spec.split != "val" or spec.stop_at is not None:
            continue
        fast = ",".join(f"{name}={str(getattr(spec.settings, name)).lower()}" for name in LEVERS
                        if getattr(spec.settings, name) != getattr(partner.settings, name))  # fmt: skip
        key = (spec.row_key(), spec.dataset, spec.backbone, spec.scale, spec.init, fast)
        context = f"{spec.dataset} {spec.backbone} {spec.scale} {spec.init}"
        row = rows.setdefault(key, PairedRow(f"{spec.label()}, {context}, {fast.replace(',', ', ')}",
                                        ".".join(part.replace(" ", "_") for part in (context, spec.label(), fast))))
        row.pairs[spec.seed] = (record, by_id.get(partner.run_id(record["data_version"])))
    return rows


def _miou(record: dict) -> float | None:
    if record is None or record.get("status") != "ok":
        return None
    return 100 * record["metrics"]["miou"]


def measure(ctx: Context) -> list[Figure]:
    """Per row, dataset and fast settings with runs in the folders ``ctx.records`` (read together,
    so the fast runs may sit apart from their default partners): |mean| of fast - default mIoU
    (target <= 0.5 point), the farthest end of its 95% t-interval (<= 1.5 points) and the seeds
    without a pair of finished runs (0)."""
    records = []
    for folder in ctx.records:
        found, problems = load_records(Path(folder))
        records += found
        for problem in problems:
            print(f"agreement: {problem}")
    folders = ", ".join(str(folder) for folder in ctx.records)
    figures = []
    for row in sorted(paired_runs(records).values(), key=lambda row: row.key):
        differences, unpaired, diverged = {}, [], []
        for seed, (fast, default) in sorted(row.pairs.items()):
            a, b = _miou(fast), _miou(default)
            if a is None or b is None:
                unpaired.append(f"s{seed} " + ("no default run" if default is None else "failed"))
                continue
            if fast.get("edge_net") != default.get("edge_net"):  # a difference of edge nets, not of the levers
                f1 = [(r.get("edge_net") or {}).get("f1") for r in (fast, default)]
                unpaired.append(f"s{seed} another edge net (F1 {f1[0]} against {f1[1]})")
                continue
            differences[seed] = a - b
            classes = dataset_info(fast["spec"]["dataset"]).num_classes
            diverged += [f"{side} s{seed}" for side, r in (("fast", fast), ("default", default)) if record_diverged(r, classes)]
        check = agreement(differences.values())
        seeds = ", ".join(f"s{s} {d:+.2f}" for s, d in differences.items())
        marks = f"; diverged: {', '.join(diverged)}" if diverged else ""
        extra = {"differences": differences, "mean": check.mean, "low": check.low, "high": check.high,
                 "agree": check.agree and not unpaired, "unpaired": unpaired, "diverged": diverged, "records": folders}  # fmt: skip
        name = row.key
        figures += [
            Figure("agreement", f"{name}.mean", f"{row.label}: |mean fast - default mIoU| ({check.mean:+.2f}; {seeds}{marks})", "points",
                   [abs(check.mean)], ("<=", MEAN_BOUND), extra),
            Figure("agreement", f"{name}.interval", f"{row.label}: farthest end of the 95% t-interval from 0 "
                   f"([{check.low:+.2f}, {check.high:+.2f}])", "points", [check.extent], ("<=", INTERVAL_BOUND)),
            Figure("agreement", f"{name}.unpaired", f"{row.label}: seeds without a pair of finished runs"
                   + (f" ({', '.join(unpaired)})" if unpaired else ""), "seeds", [float(len(unpaired))], ("<=", 0)),
        ]  # fmt: skip
    if not figures:
        print(f"agreement: no run on fast settings in {folders} (python -m benchmark.run --suite agreement makes them)")
    return figures

