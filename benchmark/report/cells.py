"""Table cells as text: how every table of the report writes a statistic of ``stats.cell_stats``.

A cell's statistics (``ours_mean``, ``ours_std``, ``n``, ``n_failed``, ``missing_seeds``,
``n_diverged``, ``diff_*``, ``holm``, and per boundary metric the same prefixed by its name)
come as a mapping, a table frame's row; the functions here turn them into the text the
tables print: fixed decimals, so that a table is byte-for-byte reproducible.
"""

from __future__ import annotations

import pandas as pd

from benchmark.divergence import RULE_TEXT
from benchmark.report.stats import BOUNDARY_COLUMNS

__all__ = ["COMMON_NOTE", "DIVERGED_APART", "all_diverged", "diff_seeds_text", "diff_text", "diverged_text", "holm_text", "interval_text", "mean_std_text",
           "metric_headers", "metric_text", "ours_text", "paper_text"]  # fmt: skip

#: The note under every table of mIoU cells with paired differences (Tables 1 and 2, the leaderboard).
COMMON_NOTE = (
    "% mIoU. Ours: mean ± sample std over seeds (no std for n=1), n = seeds with a result. "
    "Δ PPCE: mIoU minus PPCE's on the same seed and context, in points; per seed, then mean with a 95% t-interval. "
    "Holm: whether the mIoU difference survives a Holm correction at 5% over the rows compared with PPCE in the section "
    "(paired t-tests; the paper's rows form one family, any further method another). Band: trimap boundary-band mIoU; BIoU: mean Boundary IoU at width d; BF: mean boundary F-score "
    "at tolerance t (px), each with its paired Δ PPCE and 95% interval; n/a: records without that metric; "
    "'(def. k)': made under the metric's earlier definition k (see its docstring), compared only with PPCE under the same one. "
    f"'diverged k/n': k of the cell's n runs diverged by the suite's rule ({RULE_TEXT}); their values stay in the mean."
)


#: The label above a table's rows whose every seed diverged, set apart below a rule line.
DIVERGED_APART = "Every seed diverged: the mean says how the loss fails, not how well it segments"


def all_diverged(r) -> bool:
    """Whether every run of a cell (ok and failed; at least one) diverged by the suite's rule."""
    runs = r["n"] + r["n_failed"]
    return bool(runs) and r.get("n_diverged", 0) == runs


def mean_std_text(mean: float, std: float, n: int) -> str:
    """``62.8 ± 1.2`` (one decimal; no std for a single seed)."""
    return f"{mean:.1f}" + (f" ± {std:.1f}" if n > 1 else "")


def interval_text(mean: float, low: float, high: float) -> str:
    """``+1.5 [-4.9, +7.9]``: a signed difference with its interval, in points."""
    return f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"


def diverged_text(r) -> str:
    """``; diverged k/n`` when k of the cell's n runs (ok and failed) diverged, else ""."""
    return f"; diverged {r['n_diverged']}/{r['n'] + r['n_failed']}" if r.get("n_diverged") else ""


def ours_text(r) -> str:
    """A cell's own value: mean ± std over seeds, or missing / failed, with missing seeds and
    the divergence mark ("diverged k/n")."""
    if r["n"] == 0:
        text = f"failed ({r['n_failed']})" if r["n_failed"] else "missing"
    else:
        text = mean_std_text(r["ours_mean"], r["ours_std"], r["n"])
        if r["n_failed"]:
            text += f"; failed ({r['n_failed']})"
    if r["missing_seeds"] and (r["n"] or r["n_failed"]):
        seeds = r["missing_seeds"].split()
        text += f"; seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} missing"
    return text + diverged_text(r)


def holm_text(r) -> str:
    """Whether the mIoU difference survives the Holm correction: yes / no, "-" without a
    verdict (the baseline, fewer than two pairs)."""
    value = r.get("holm")
    if value is None or value != value or r["diff_n"] < 2:
        return "-"
    return "yes" if value else "no"


def metric_text(r, name: str) -> tuple[str, str]:
    """(mean ± std, Δ PPCE [95% CI]) of boundary metric ``name``; "n/a" for runs without it."""
    n = r.get(f"{name}_n")
    if n is None or n != n or n == 0:
        return "n/a", "n/a"
    ours = mean_std_text(r[f"{name}_ours_mean"], r[f"{name}_ours_std"], n)
    if r.get(f"{name}_outdated") in (True,):  # a bool, or NaN where the metric has one definition
        ours += f" (def. {int(r[f'{name}_definition'])})"
    dn = r[f"{name}_diff_n"]
    if r["diff_note"] == "baseline":
        return ours, "baseline"
    if not dn:
        return ours, "-"
    if dn == 1:
        return ours, f"{r[f'{name}_diff_mean']:+.1f}"
    return ours, interval_text(r[f"{name}_diff_mean"], r[f"{name}_diff_ci_low"], r[f"{name}_diff_ci_high"])


def metric_headers(g: pd.DataFrame) -> list[tuple[str, str]]:
    """(name, header) of the boundary metrics a section's rows carry, in the table's order."""
    out = []
    for name, _, _, _ in BOUNDARY_COLUMNS:
        col = f"{name}_header"
        if col in g.columns and g[col].notna().any():
            out.append((name, str(g[col].dropna().iloc[0])))
    return out


def diff_seeds_text(r) -> str:
    """Each seed's paired difference to PPCE, ``s0 +2.0, s1 +1.0`` ("-" without one)."""
    if not r["diff_seeds"]:
        return "-"
    return ", ".join(f"{s} {float(d):+.1f}" for s, d in (item.split(":") for item in r["diff_seeds"].split()))


def diff_text(r) -> str:
    """The paired difference to PPCE: ``+x.x [lo, hi]`` (95% t-interval), ``+x.x (n=1, no interval)``,
    or why there is none."""
    if r["diff_note"] and r["diff_n"] == 0:
        return r["diff_note"]
    if r["diff_n"] == 0:
        return "-"
    if r["diff_n"] == 1:
        return f"{r['diff_mean']:+.1f} (n=1, no interval)"
    return interval_text(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"])


def paper_text(value: float) -> str:
    """The paper's number, one decimal; "-" where it prints none (NaN)."""
    return "-" if value != value else f"{value:.1f}"
