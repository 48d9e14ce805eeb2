"""Statistics over seeds: a table cell's seeds, means, Student-t intervals, paired differences
to PPCE and the Holm correction; which boundary metrics a table shows beside mIoU."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.evaluators import definition_of
from benchmark.report.tidy import BASELINE, CONTEXT, definition_column, table1_rows, width_of
from benchmark.spec import row_label


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


def holm(p_values: dict, alpha: float = 0.05) -> dict:
    """Holm's step-down correction: {name: True when its difference survives at ``alpha``}.

    Sorted p-values p_(1) <= ... <= p_(m) are compared with alpha / (m - i + 1) in turn;
    the first that fails, and every larger one, does not survive. NaN p-values are left out
    (and do not survive).
    """
    finite = sorted(((p, k) for k, p in p_values.items() if p == p), key=lambda x: x[0])
    out = {k: False for k in p_values}
    m = len(finite)
    for i, (p, k) in enumerate(finite):
        if p > alpha / (m - i):
            break
        out[k] = True
    return out


def paired_p_value(diffs: Iterable[float]) -> float:
    """Two-sided p-value of the paired t-test of mean difference 0 (NaN for fewer than 2 pairs
    or no spread with a zero mean)."""
    x = np.asarray(list(diffs), dtype=float)
    if x.size < 2:
        return float("nan")
    sd = x.std(ddof=1)
    if sd == 0:
        return 0.0 if x.mean() != 0 else float("nan")
    t = x.mean() / (sd / math.sqrt(x.size))
    return float(2 * stats.t.sf(abs(t), x.size - 1))


def _is_true(value) -> bool:
    return value is not None and value is not pd.NA and value == value and bool(value)


@dataclass
class SeedCell:
    """The runs of one table row in one context: a metric in % by seed, failed, missing and
    diverged seeds."""

    values: dict[int, float] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    diverged: list[int] = field(default_factory=list)
    #: The version of the metric's definition its values were made under (None: a metric
    #: whose definition never changed), and whether a later one exists.
    definition: int | None = None
    outdated: bool = False


def _expected_seeds(group: pd.DataFrame) -> dict[tuple, set[int]]:
    """Per row key of one context's runs, the seeds it is expected to have: every seed run in
    the context, but the seeds Table 1's rule adds (``benchmark.seed_rule``) only for the
    rows it adds them to, read from the runs' mIoU."""
    from benchmark.seed_rule import expected_seeds

    ok = group[(group["status"] == "ok") & group["miou"].notna()] if "miou" in group.columns else group.iloc[:0]
    values = {tuple(key): {} for key, _ in group.groupby(["method", "params"], sort=False)}
    for (method, params, seed), value in ok.groupby(["method", "params", "seed"], sort=False)["miou"].last().items():
        values[(method, params)][int(seed)] = 100.0 * float(value)
    return expected_seeds(values, set(table1_rows()), BASELINE, {int(s) for s in group["seed"]})


def seed_cells(df: pd.DataFrame, warnings: list[str], metric: str = "miou") -> dict[tuple, dict[tuple, SeedCell]]:
    """{context: {row key: cell}} of ``metric`` (a tidy column, a fraction, shown in %); a
    context's expected seeds are every seed run in it. A run without the metric (a record
    of an earlier version) counts as missing for it, not as failed.

    A metric whose definition was amended (``evaluators.definition_of``) never mixes
    definitions in a cell: the cell takes the seeds made under the newest definition among
    its runs, the others count as missing, and the cell says which definition it holds."""
    out: dict[tuple, dict[tuple, SeedCell]] = {}
    if metric not in df.columns:
        df = df.assign(**{metric: float("nan")})
    amended = definition_of(metric)
    def_col = definition_column(amended[0]) if amended else None
    if def_col is not None and def_col not in df.columns:
        df = df.assign(**{def_col: float("nan")})
    for ctx, group in df.groupby(CONTEXT, sort=False):
        expected = _expected_seeds(group)
        cells: dict[tuple, SeedCell] = {}
        for key, runs in group.groupby(["method", "params"], sort=False):
            cell = cells.setdefault(tuple(key), SeedCell())
            if def_col is not None:  # (a hand-made record with metrics but no counts: definition unknown, NaN)
                made = runs.loc[(runs["status"] == "ok") & runs[metric].notna(), def_col].dropna()
                if len(made):
                    cell.definition = int(made.max())
                    cell.outdated = cell.definition < amended[1]
                    older = runs[def_col] < cell.definition
                    runs = runs.assign(**{metric: runs[metric].mask(older)})
            for seed, by_seed in runs.groupby("seed", sort=True):
                ok_runs = by_seed[by_seed["status"] == "ok"]
                ok = ok_runs[ok_runs[metric].notna()]
                if len(by_seed) > 1 and metric == "miou":
                    kept = (ok if len(ok) else by_seed).iloc[-1]["run_id"]
                    warnings.append(
                        f"{len(by_seed)} records for {row_label(tuple(key))} seed {seed} "
                        f"({', '.join(map(str, ctx[:4]))}): using {kept}"
                    )
                chosen = ok.iloc[-1] if len(ok) else (by_seed.iloc[-1] if len(by_seed) else None)
                if chosen is not None and _is_true(chosen.get("diverged")):
                    cell.diverged.append(int(seed))
                if len(ok):
                    cell.values[int(seed)] = 100.0 * float(ok.iloc[-1][metric])
                elif not len(ok_runs):
                    cell.failed.append(int(seed))
            cell.missing = sorted(expected[tuple(key)] - set(cell.values) - set(cell.failed))
        out[tuple(ctx)] = cells
    return out


def cell_stats(cell: SeedCell | None, baseline: SeedCell | None, is_baseline: bool) -> dict:
    """A cell's statistics in %: ``ours_mean``, ``ours_std`` (ddof 1), ``n``, failed, missing
    and diverged seeds, and, unless ``is_baseline``, the paired difference to ``baseline``
    (PPCE's cell in the same context): per seed (``diff_seeds``), ``diff_mean`` with its 95%
    t-interval, ``diff_p``, or ``diff_note`` saying why there is none."""
    cell = cell or SeedCell()
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
        "diff_p": float("nan"),
        "n_diverged": len(cell.diverged),
        "diverged_seeds": " ".join(map(str, cell.diverged)),
        "definition": cell.definition,
        "outdated": cell.outdated,
    }
    if is_baseline:
        row["diff_note"] = "baseline"
        return row
    if not n:
        return row
    if baseline is None or not baseline.values:
        row["diff_note"] = "PPCE missing"
        return row
    if None not in (cell.definition, baseline.definition) and cell.definition != baseline.definition:
        row["diff_note"] = "PPCE under another definition"
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
        diff_p=paired_p_value(diffs.values()),
    )
    if len(diffs) == 1:
        row["diff_note"] = "n=1, no interval"
    return row


#: The boundary metrics every table shows beside mIoU: (short name, tidy column prefix,
#: which entry of the run's list is shown, header text). The trimap band is shown at its
#: narrowest width, Boundary IoU and boundary F at the last entry of their lists.
BOUNDARY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("band", "boundary_miou_w", "first", "Band w={}"),
    ("biou", "biou_d", "last", "BIoU d={}"),
    ("bf", "bf_t", "last", "BF t={}"),
)
#: Per boundary metric, the statistics kept in the table frames (prefixed by its name).
_EXTRA_STATS = ("ours_mean", "ours_std", "n", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_n", "definition", "outdated")


def boundary_columns(tidy: pd.DataFrame, ctx: tuple | None = None) -> dict[str, tuple[str, str]]:
    """{short name: (tidy column, header)} of the boundary metrics present (with a value) in
    ``tidy`` (restricted to the context ``ctx`` when given)."""
    frame = tidy
    if ctx is not None:
        frame = tidy[(tidy[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
    out = {}
    for name, prefix, which, header in BOUNDARY_COLUMNS:
        cols = sorted((c for c in frame.columns if c.startswith(prefix) and frame[c].notna().any()), key=width_of)
        if cols:
            col = cols[0] if which == "first" else cols[-1]
            out[name] = (col, header.format(f"{width_of(col):g}"))
    return out


class SeedMetrics:
    """The seed cells of mIoU and of every boundary metric, per context and row key."""

    def __init__(self, tidy: pd.DataFrame, warnings: list[str]):
        self.tidy = tidy
        self.miou = seed_cells(tidy, warnings)
        self.columns = {name: col for name, (col, _) in boundary_columns(tidy).items()}
        self.extra = {name: seed_cells(tidy, [], col) for name, col in self._all_columns().items()}

    def _all_columns(self) -> dict[str, str]:
        cols = {}
        for ctx in self.miou:
            for name, (col, _) in boundary_columns(self.tidy, ctx).items():
                cols[(name, col)] = col
        return {f"{name}|{col}": col for (name, col) in cols}

    def stats(self, ctx: tuple, key: tuple, baseline: tuple = BASELINE) -> dict:
        """The row of ``key`` in ``ctx``: mIoU's ``cell_stats``, and per boundary metric of the
        context its statistics prefixed by the metric's short name, with its ``_header``; the
        paired differences are to ``baseline``'s row (PPCE's by default)."""
        cells = self.miou.get(ctx, {})
        row = cell_stats(cells.get(key), cells.get(baseline), key == baseline)
        for name, (col, header) in boundary_columns(self.tidy, ctx).items():
            extra = self.extra.get(f"{name}|{col}", {}).get(ctx, {})
            st = cell_stats(extra.get(key), extra.get(baseline), key == baseline)
            row.update({f"{name}_{k}": st[k] for k in _EXTRA_STATS})
            row[f"{name}_header"] = header
        return row


def add_holm(rows: list[dict], group_cols: list[str], family=None) -> None:
    """Mark, per group of rows (one context), which mIoU differences to PPCE survive a Holm
    correction at 5% over the group's compared rows. ``family(row)`` splits a group further:
    the paper's rows are corrected among themselves, whatever other methods a records
    folder holds in the same context (the leaderboard's tuned losses, a new loss)."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r.get(c) for c in group_cols) + ((family(r),) if family else ()), []).append(i)
    for members in groups.values():
        survived = holm({i: rows[i]["diff_p"] for i in members if rows[i]["diff_note"] != "baseline"})
        for i in members:
            rows[i]["holm"] = survived.get(i, False) if rows[i]["diff_note"] != "baseline" else None
