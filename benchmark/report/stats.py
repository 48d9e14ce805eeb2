"""Statistics over seeds: means, Student-t intervals, paired differences to PPCE."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.report.tidy import CONTEXT, row_label, row_of


def t_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its Student-t interval at ``level``.

    Half-width = t_{(1+level)/2, n-1} * s / sqrt(n), s the sample std (ddof 1); NaN for
    fewer than two values, where no interval exists.
    """
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan")
    half = stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def paired_differences(values: dict[int, float], baseline: dict[int, float]) -> dict[int, float]:
    """Per seed, ``values[seed] - baseline[seed]`` for the seeds both have."""
    return {s: values[s] - baseline[s] for s in sorted(set(values) & set(baseline))}


@dataclass
class _Cell:
    """The runs of one table row in one context: mIoU in % by seed, failed and missing seeds."""

    values: dict[int, float] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


def seed_cells(df: pd.DataFrame, warnings: list[str]) -> dict[tuple, dict[tuple, _Cell]]:
    """{context: {row key: cell}}; a context's expected seeds are every seed run in it."""
    out: dict[tuple, dict[tuple, _Cell]] = {}
    for ctx, group in df.groupby(CONTEXT, sort=False):
        expected = set(group["seed"])
        cells: dict[tuple, _Cell] = {}
        for (method, lambdas, relu), runs in group.groupby(["method", "lambdas", "relu"], sort=False):
            cell = cells.setdefault(row_of(method, lambdas, relu), _Cell())
            for seed, by_seed in runs.groupby("seed", sort=True):
                ok = by_seed[(by_seed["status"] == "ok") & by_seed["miou"].notna()]
                if len(by_seed) > 1:
                    kept = (ok if len(ok) else by_seed).iloc[-1]["run_id"]
                    warnings.append(
                        f"{len(by_seed)} records for {row_label(row_of(method, lambdas, relu))} seed {seed} "
                        f"({', '.join(map(str, ctx[:4]))}): using {kept}"
                    )
                if len(ok):
                    cell.values[int(seed)] = 100.0 * float(ok.iloc[-1]["miou"])
                else:
                    cell.failed.append(int(seed))
            cell.missing = sorted(expected - set(cell.values) - set(cell.failed))
        out[tuple(ctx)] = cells
    return out


def cell_stats(cell: _Cell | None, baseline: _Cell | None, is_baseline: bool) -> dict:
    cell = cell or _Cell()
    vals = [cell.values[s] for s in sorted(cell.values)]
    n = len(vals)
    row = {
        "ours_mean": float(np.mean(vals)) if n else float("nan"),
        "ours_std": float(np.std(vals, ddof=1)) if n > 1 else float("nan"),
        "n": n,
        "n_failed": len(cell.failed),
        "failed_seeds": " ".join(map(str, cell.failed)),
        "missing_seeds": " ".join(map(str, cell.missing)),
        "seeds": " ".join(map(str, sorted(cell.values))),
        "diff_seeds": "",
        "diff_n": 0,
        "diff_mean": float("nan"),
        "diff_ci_low": float("nan"),
        "diff_ci_high": float("nan"),
        "diff_note": "",
    }
    if is_baseline:
        row["diff_note"] = "baseline"
        return row
    if not n:
        return row
    if baseline is None or not baseline.values:
        row["diff_note"] = "PPCE missing"
        return row
    diffs = paired_differences(cell.values, baseline.values)
    if not diffs:
        row["diff_note"] = "no seed shared with PPCE"
        return row
    mean, half = t_interval(diffs.values())
    row.update(
        diff_seeds=" ".join(f"s{s}:{d:+.3f}" for s, d in diffs.items()),
        diff_n=len(diffs),
        diff_mean=mean,
        diff_ci_low=mean - half,
        diff_ci_high=mean + half,
    )
    if len(diffs) == 1:
        row["diff_note"] = "n=1, no interval"
    return row
