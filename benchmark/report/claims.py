"""The paper's claims, each turned into a verdict with its interval, from the Table 1 records.

The rules are written here, before any run, and applied to every context Table 1 shows:

- C1, SEMEDA above PPCE: per SEMEDA row, the paired mIoU difference to PPCE; "above" when its
  95% interval lies above 0, "below" when below, else "not shown"; with whether it survives a
  Holm correction over the 13 rows compared with PPCE (5%).
- C2, before ReLU above after ReLU: the rows with the same lambdas in both variants, paired
  seed by seed (before minus after).
- C3, Ubernet-style about equal to PPCE, and C4, PPCE on edges about equal to PPCE: "about
  equal" when the paired 95% interval lies inside +-1 point (``EQUAL_MARGIN``); "different"
  when it excludes 0; else "not shown".
- C5, the gain is largest on boundaries: per SEMEDA row, the paired gain over PPCE in the
  boundary band (w = 1 and 2) minus the gain in the widest band, and minus the gain in the
  non-boundary region (w = 1); "larger" when the interval of that difference of gains lies
  above 0.
"""

from __future__ import annotations

import json

import pandas as pd

from benchmark.report.stats import holm, paired_p_value, seed_cells, t_interval
from benchmark.report.tidy import BASELINE, CONTEXT, table1_rows, width_of, reported
from benchmark.spec import row_label

__all__ = ["EQUAL_MARGIN", "claims_table", "claims_markdown"]

#: "About equal": the paired 95% interval inside +-EQUAL_MARGIN points of mIoU.
EQUAL_MARGIN = 1.0


def _interval(diffs: dict[int, float]) -> tuple[float, float, float, int]:
    mean, half = t_interval(diffs.values())
    return mean, mean - half, mean + half, len(diffs)


def _sign_verdict(low: float, high: float, above: str, below: str) -> str:
    if low != low:
        return "no interval"
    if low > 0:
        return above
    if high < 0:
        return below
    return "not shown"


def _paired(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    return {s: a[s] - b[s] for s in sorted(set(a) & set(b))}


def _params(key) -> dict:
    return json.loads(key[1])


def claims_table(tidy: pd.DataFrame, contexts: list[tuple] | None = None) -> pd.DataFrame:
    """One row per (context, claim, row compared): the difference's mean, 95% interval, n and
    verdict (values in points of %). ``contexts``: those to judge (default: every context with
    PPCE and a SEMEDA row of Table 1)."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    if tidy.empty:
        return pd.DataFrame()
    warnings: list[str] = []
    miou = seed_cells(tidy, warnings)
    all_bands = sorted((c for c in tidy.columns if c.startswith("boundary_miou_w") and tidy[c].notna().any()), key=width_of)
    bands = {c: seed_cells(tidy, [], c) for c in all_bands}
    interior = seed_cells(tidy, [], "interior_miou_w1") if "interior_miou_w1" in tidy.columns else {}
    rows1 = table1_rows()
    out = []
    for ctx, cells in miou.items():
        if contexts is not None and ctx not in contexts:
            continue
        semeda = [k for k in rows1 if k[0] == "semeda" and k in cells]
        if BASELINE not in cells or not semeda:
            continue
        base = cells[BASELINE].values

        def add(claim, key, diffs, verdict_of, extra=""):
            mean, low, high, n = _interval(diffs)
            out.append(dict(zip(CONTEXT, ctx), claim=claim, row=row_label(key) + extra, mean=mean, ci_low=low,
                            ci_high=high, n=n, p=paired_p_value(diffs.values()), verdict=verdict_of(low, high)))  # fmt: skip

        compared = [k for k in rows1 if k != BASELINE and k in cells]
        # the family of Table 1's Holm column: every row of the context compared with PPCE
        survived = holm({k: paired_p_value(_paired(cells[k].values, base).values()) for k in cells if k != BASELINE})
        # the band widths of this context's runs (a folder may hold several scales)
        band_cols = [c for c in all_bands if any(cells_of.values for cells_of in bands[c].get(ctx, {}).values())]
        for key in semeda:
            add("C1 SEMEDA above PPCE", key, _paired(cells[key].values, base), lambda lo, hi: _sign_verdict(lo, hi, "above", "below"),
                " (Holm: " + ("survives" if survived.get(key) else "does not survive") + ")")
        for key in semeda:
            params = _params(key)
            if params.get("relu"):
                continue
            twin = next((k for k in semeda if _params(k).get("relu") and _params(k)["lambdas"] == params["lambdas"]), None)
            if twin is not None:
                add("C2 before ReLU above after ReLU", key, _paired(cells[key].values, cells[twin].values),
                    lambda lo, hi: _sign_verdict(lo, hi, "above", "below"), " minus after ReLU")
        for method, claim in (("ubernet", "C3 Ubernet-style about equal to PPCE"), ("ppce_edges", "C4 PPCE on edges about equal to PPCE")):
            for key in (k for k in compared if k[0] == method):
                add(claim, key, _paired(cells[key].values, base), _equal_verdict)
        if len(band_cols) >= 2:
            narrow = [c for c in band_cols[:-1] if width_of(c) in (1.0, 2.0)]
            widest = band_cols[-1]
            for key in semeda:
                gains = {c: _paired(bands[c][ctx][key].values, bands[c][ctx][BASELINE].values)
                         for c in band_cols if key in bands[c].get(ctx, {}) and BASELINE in bands[c].get(ctx, {})}  # fmt: skip
                inner = interior.get(ctx, {})
                inner_gain = _paired(inner[key].values, inner[BASELINE].values) if key in inner and BASELINE in inner else {}
                for c in narrow:
                    if c not in gains or widest not in gains:
                        continue
                    w, wide = f"{width_of(c):g}", f"{width_of(widest):g}"
                    add("C5 boundary gain larger", key, _paired(gains[c], gains[widest]),
                        lambda lo, hi: _sign_verdict(lo, hi, "larger", "smaller"), f": gain at w={w} minus gain at w={wide}")
                    if inner_gain:
                        add("C5 boundary gain larger", key, _paired(gains[c], inner_gain),
                            lambda lo, hi: _sign_verdict(lo, hi, "larger", "smaller"), f": gain at w={w} minus non-boundary gain")
    return pd.DataFrame(out)


def _equal_verdict(low: float, high: float) -> str:
    if low != low:
        return "no interval"
    if -EQUAL_MARGIN < low and high < EQUAL_MARGIN:
        return "about equal"
    if low > 0 or high < 0:
        return "different"
    return "not shown"


def claims_markdown(t: pd.DataFrame) -> str:
    lines = ["# The paper's claims against our records", ""]
    if t.empty:
        return "\n".join(lines + ["No record of Table 1's runs.", ""])
    lines += [(__doc__ or "").split("\n\n", 1)[1].strip(), ""]
    for ctx, g in t.groupby(CONTEXT, sort=False):
        title = ", ".join(str(v) for v in ctx if v)
        lines += [f"## {title}", "", "| Claim | Row | Difference (points) | 95% CI | n | Verdict |", "|---|---|---|---|---|---|"]
        last = None
        for _, r in g.iterrows():
            claim = r["claim"] if r["claim"] != last else ""
            last = r["claim"]
            ci = "-" if r["ci_low"] != r["ci_low"] else f"[{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"
            lines.append(f"| {claim} | {r['row']} | {r['mean']:+.1f} | {ci} | {r['n']} | {r['verdict']} |")
        lines.append("")
    return "\n".join(lines)
