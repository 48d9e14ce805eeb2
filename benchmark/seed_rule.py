"""Seeds added where a verdict hinges: Table 1's rule, fixed before any of its extra runs.

Three seeds decide little where a row is close to its verdict's bound (a t-interval of 2
degrees of freedom). The rule, applied per context (dataset, initialisation, network, scale,
settings) from the records present:

- every row starts at ``SEED_STEPS[0]`` (3) seeds; the rule reads each row's paired mIoU
  difference to PPCE over seeds 0..n-1 and its 95% t-interval (the interval of Table 1's
  "Δ PPCE" column and of the claims, unadjusted);
- a row whose interval contains its verdict's bound goes on to the next step of
  ``SEED_STEPS`` (3, then 5, then 10) and the rule is read again there; it stops at the first
  step whose interval excludes the bound, or at 10;
- the bound: 0 for a row whose claim is "above"/"below" (SEMEDA, C1), and +-1 point
  (``EQUAL_MARGIN``) for a row whose claim is "about equal" (Ubernet-style, C3; PPCE on
  edges, C4): the interval contains +1 or -1. Rows of no claim (PPCE) have no bound;
- PPCE, every row's baseline, gets as many seeds as the row with the most;
- a step's runs that have no record yet, or whose record failed, stop the row at that step
  (its missing runs are what is left to do; a failed one stays failed).

So the rows, and their seeds, follow from the records alone: running the suite until its dry
run has nothing to do runs the whole rule, and a reader can recompute it from the records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmark.spec import RunSpec

__all__ = ["SEED_STEPS", "BOUND_OF_METHOD", "RULE_TEXT", "bounds_of", "expected_seeds", "hinges", "row_seeds", "widen",
           "recorded_miou"]  # fmt: skip

#: The seeds a row has after each step of the rule: 3, then 5, then 10 (the cap).
SEED_STEPS: tuple[int, ...] = (3, 5, 10)
#: The baseline every row's interval is paired with.
BASELINE_METHOD = "ppce"
#: Which verdict each method's Table 1 row takes (``benchmark.report.claims``): "sign" (C1:
#: above, below or not shown, bound 0) or "equal" (C3, C4: about equal within +-EQUAL_MARGIN).
BOUND_OF_METHOD: dict[str, str] = {"semeda": "sign", "ubernet": "equal", "ppce_edges": "equal"}
#: The rule in one sentence, as the tables' notes print it.
RULE_TEXT = (
    "Seeds: 3 per row; a row whose paired 95% interval contains its verdict's bound (0 for SEMEDA's above/below, "
    "+-1 point for the about-equal rows, Ubernet-style and PPCE on edges) gets seeds 3-4, then, if its interval "
    "at 5 seeds still contains the bound, seeds 5-9, PPCE with it (a rule fixed before those runs; docs/protocol.md)"
)


def bounds_of(method: str) -> tuple[float, ...]:
    """The bounds of ``method``'s verdict, in points of mIoU: (0,) for a sign verdict,
    (-1, +1) for an "about equal" one, () for a row with no verdict (PPCE)."""
    from benchmark.report.claims import EQUAL_MARGIN

    kind = BOUND_OF_METHOD.get(method)
    if kind == "sign":
        return (0.0,)
    if kind == "equal":
        return (-EQUAL_MARGIN, EQUAL_MARGIN)
    return ()


def hinges(diffs: Sequence[float], bounds: Sequence[float]) -> bool:
    """Whether the 95% t-interval of the paired differences ``diffs`` (points) contains one of
    ``bounds`` (closed interval). E.g. diffs (1, 2, 3): mean 2, half-width 4.30 * 1 / sqrt(3)
    = 2.48, interval [-0.48, 4.48]: contains 0 and +1."""
    from benchmark.report.stats import t_interval

    mean, half = t_interval(diffs)
    if half != half:
        return False  # no interval (fewer than 2 seeds): nothing for the rule to read
    return any(mean - half <= b <= mean + half for b in bounds)


def row_seeds(miou: Callable[[int], float | None], baseline: Callable[[int], float | None], bounds: Sequence[float],
              steps: Sequence[int] = SEED_STEPS) -> int:
    """The seeds a row gets by the rule: ``miou(seed)`` and ``baseline(seed)`` give the row's and
    PPCE's % mIoU on a seed, None where no record (or a failed one) holds it."""  # fmt: skip
    n = steps[0]
    if not bounds:
        return n
    for following in steps[1:]:
        pairs = [(miou(s), baseline(s)) for s in range(n)]
        if any(a is None or b is None for a, b in pairs):
            return n  # this step's runs are still to do
        if not hinges([a - b for a, b in pairs], bounds):
            return n
        n = following
    return n


def _context(spec: RunSpec) -> tuple:
    return (spec.dataset, spec.init, spec.backbone, spec.scale, spec.weights, spec.settings, spec.split, spec.stop_at)


def widen(specs: list[RunSpec], miou: Callable[[RunSpec], float | None], steps: Sequence[int] = SEED_STEPS) -> list[RunSpec]:
    """``specs`` (a suite expanded at ``steps[0]`` seeds) with the seeds the rule adds, read
    through ``miou(spec)`` (% mIoU of the spec's record, None without an ok one). A context
    whose specs hold no PPCE row is left as it is (the rule pairs every row with PPCE)."""
    out = list(specs)
    contexts: dict[tuple, dict[tuple, RunSpec]] = {}
    for spec in specs:
        if spec.seed == 0:
            contexts.setdefault(_context(spec), {})[(spec.method, spec.params)] = spec
    for rows in contexts.values():
        base = rows.get((BASELINE_METHOD, ()))
        if base is None:
            continue
        seeds = {key: row_seeds(lambda s, r=spec: miou(replace(r, seed=s)), lambda s: miou(replace(base, seed=s)),
                                bounds_of(spec.method), steps)
                 for key, spec in rows.items() if key != (BASELINE_METHOD, ())}  # fmt: skip
        seeds[(BASELINE_METHOD, ())] = max(seeds.values(), default=steps[0])
        for key, spec in rows.items():
            out += [replace(spec, seed=s) for s in range(steps[0], seeds[key])]
    return list(dict.fromkeys(out))


def recorded_miou(out: str | Path, versions: dict[str, str]) -> Callable[[RunSpec], float | None]:
    """``miou(spec)``: the % mIoU of ``spec``'s record in ``out`` (``versions``: the data
    version per dataset, which the run id holds), None without a record or for a failed one."""
    from benchmark.records import read_record, record_path

    def miou(spec: RunSpec) -> float | None:
        path = record_path(out, spec.run_id(versions[spec.dataset]))
        if not path.exists():
            return None
        record = read_record(path)
        if record.get("status") != "ok":
            return None
        return 100 * record["metrics"]["miou"]

    return miou


def expected_seeds(values: dict, rule_rows: set, baseline, seeds: set[int], steps: Sequence[int] = SEED_STEPS) -> dict:
    """Per row key of one context, the seeds of ``seeds`` (every seed run in the context) it is
    expected to have: the seeds the rule adds (``steps[0]`` up to PPCE's count) are expected
    only of the rows the rule gives them to. ``values``: {row key: {seed: % mIoU}} of the ok
    runs; ``rule_rows``: the keys the rule applies to (Table 1's rows); ``baseline``: PPCE's
    key (method name first). A row outside the rule is expected to have the other seeds."""
    base = values.get(baseline, {})
    counts = {key: row_seeds(values[key].get, base.get, bounds_of(key[0]), steps)
              for key in values if key in rule_rows and key != baseline}  # fmt: skip
    top = max(counts.values(), default=steps[0])
    added = {s for s in seeds if steps[0] <= s < top}
    out = {}
    for key in values:
        count = top if key == baseline else counts.get(key, steps[0])
        out[key] = (seeds - added) | {s for s in added if s < count}
    return out
