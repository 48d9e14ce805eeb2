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
from collections.abc import Sequence

import pandas as pd

from benchmark.report.render import Document, Section
from benchmark.report.scope import plumbing_banner
from benchmark.report.stats import holm, paired_p_value, seed_cells, t_interval
from benchmark.report.tidy import BASELINE, CONTEXT, table1_rows, width_of, reported
from benchmark.spec import row_label

__all__ = ["CLAIMS", "EQUAL_MARGIN", "VERDICT_WORDS", "claims_document", "claims_table", "claims_markdown", "equal_verdict", "multiverse_claims",
           "sign_verdict"]  # fmt: skip

#: "About equal": the paired 95% interval inside +-EQUAL_MARGIN points of mIoU.
EQUAL_MARGIN = 1.0
#: The claims' names, as the tables print them.
CLAIMS = {
    "C1": "C1 SEMEDA above PPCE",
    "C2": "C2 before ReLU above after ReLU",
    "C3": "C3 Ubernet-style about equal to PPCE",
    "C4": "C4 PPCE on edges about equal to PPCE",
}
#: Per claim, its rule's verdicts for (holds, not shown, contradicted).
VERDICT_WORDS = {
    CLAIMS["C1"]: ("above", "not shown", "below"),
    CLAIMS["C2"]: ("above", "not shown", "below"),
    CLAIMS["C3"]: ("about equal", "not shown", "different"),
    CLAIMS["C4"]: ("about equal", "not shown", "different"),
}


def _interval(diffs: dict[int, float]) -> tuple[float, float, float, int]:
    mean, half = t_interval(diffs.values())
    return mean, mean - half, mean + half, len(diffs)


def sign_verdict(low: float, high: float, above: str, below: str) -> str:
    """C1, C2 and C5's rule: ``above`` when the 95% interval [low, high] lies above 0, ``below``
    when it lies below, else "not shown" ("no interval" without one)."""
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
            add(CLAIMS["C1"], key, _paired(cells[key].values, base), lambda lo, hi: sign_verdict(lo, hi, "above", "below"),
                " (Holm: " + ("survives" if survived.get(key) else "does not survive") + ")")
        for key in semeda:
            params = _params(key)
            if params.get("relu"):
                continue
            twin = next((k for k in semeda if _params(k).get("relu") and _params(k)["lambdas"] == params["lambdas"]), None)
            if twin is not None:
                add(CLAIMS["C2"], key, _paired(cells[key].values, cells[twin].values),
                    lambda lo, hi: sign_verdict(lo, hi, "above", "below"), " minus after ReLU")
        for method, claim in (("ubernet", CLAIMS["C3"]), ("ppce_edges", CLAIMS["C4"])):
            for key in (k for k in compared if k[0] == method):
                add(claim, key, _paired(cells[key].values, base), equal_verdict)
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
                        lambda lo, hi: sign_verdict(lo, hi, "larger", "smaller"), f": gain at w={w} minus gain at w={wide}")
                    if inner_gain:
                        add("C5 boundary gain larger", key, _paired(gains[c], inner_gain),
                            lambda lo, hi: sign_verdict(lo, hi, "larger", "smaller"), f": gain at w={w} minus non-boundary gain")
    return pd.DataFrame(out)


def equal_verdict(low: float, high: float) -> str:
    """C3 and C4's rule: "about equal" when the 95% interval [low, high] lies inside
    +-``EQUAL_MARGIN`` points, "different" when it excludes 0, else "not shown" ("no interval"
    without one)."""
    if low != low:
        return "no interval"
    if -EQUAL_MARGIN < low and high < EQUAL_MARGIN:
        return "about equal"
    if low > 0 or high < 0:
        return "different"
    return "not shown"


#: Where the multiverse has no row to judge a claim by: (claim, why).
NOT_IN_MULTIVERSE = (
    (CLAIMS["C2"], "not in the multiverse: it has no after-ReLU row"),
    (CLAIMS["C3"], "not in the multiverse: it has no Ubernet-style row"),
)
#: The place of a multiverse study: its context but the overrides its protocols vary, and the
#: settings all its protocols share.
_PLACE = CONTEXT[:4] + ["base_overrides"]


def multiverse_claims(multiverse: pd.DataFrame) -> pd.DataFrame:
    """The share of the multiverse's protocols in which each claim holds, is not shown, or is
    contradicted, by the same written rules as the default protocol's verdicts.

    ``multiverse``: ``benchmark.report.multiverse.multiverse_table(...)``, whose ``verdict``
    column applies the rules per (protocol, row). One row per (place, claim, row): C1 per
    SEMEDA row, C4 for PPCE on edges, counted over each row's distinct runs (PPCE on edges does
    not read the channel reading: 9 protocols, not 18). Columns: the place, ``claim``, ``row``,
    ``holds``, ``not_shown``, ``contradicted``, ``measured`` (their sum), ``missing`` (the
    protocols without a paired interval: no run, failed runs, fewer than 2 seeds shared with
    PPCE), ``protocols``, ``default_verdict`` (the default protocol's), ``own_runs`` (measured
    protocols whose run only the multiverse makes), ``note``. C2 and C3 get a row each, with
    ``protocols`` 0 and a note: the multiverse has no row to judge them by."""
    columns = [*_PLACE, "claim", "row", "holds", "not_shown", "contradicted", "measured", "missing", "protocols",
               "default_verdict", "own_runs", "note"]  # fmt: skip
    if multiverse.empty:
        return pd.DataFrame(columns=columns)
    judged = multiverse[(multiverse["claim"] != "") & multiverse["distinct"]]
    order = {claim: i for i, claim in enumerate(CLAIMS.values())}
    out = []
    for place, g in judged.groupby(_PLACE, sort=False):
        rows = [_share(rg, claim, row) for (claim, row), rg in g.groupby(["claim", "column"], sort=False)]
        rows += [dict(claim=claim, row="-", holds=0, not_shown=0, contradicted=0, measured=0, missing=0, protocols=0,
                      default_verdict="", own_runs=0, note=why) for claim, why in NOT_IN_MULTIVERSE]  # fmt: skip
        out += [dict(zip(_PLACE, place), **r) for r in sorted(rows, key=lambda r: order[r["claim"]])]
    return pd.DataFrame(out, columns=columns)


def _share(rg: pd.DataFrame, claim: str, row: str) -> dict:
    """The counts per verdict of one row's distinct runs ``rg`` (rows of the multiverse table)."""
    holds, not_shown, contradicted = (int((rg["verdict"] == w).sum()) for w in VERDICT_WORDS[claim])
    measured = holds + not_shown + contradicted
    default = rg.loc[rg["default"], "verdict"]
    own = int((rg["only_multiverse"] & rg["verdict"].isin(VERDICT_WORDS[claim])).sum())
    return dict(claim=claim, row=row, holds=holds, not_shown=not_shown, contradicted=contradicted, measured=measured,
                missing=len(rg) - measured, protocols=len(rg), default_verdict=default.iloc[0] if len(default) else "",
                own_runs=own, note="")  # fmt: skip


MULTIVERSE_CLAIMS_NOTE = (
    "The share of the multiverse's protocols (every combination of gradient clipping, the edge net's fitting input "
    "and Eq. (6)'s channel reading; see multiverse.md) in which each claim holds, is not shown, or is contradicted, by "
    "the rules above, counted over each row's distinct runs. Measured: protocols with a paired interval; missing: the "
    "others. The verdicts above are the default protocol's, which the written rule fixed before any run; what the "
    "multiverse shows does not re-open it."
)


#: The header of claims.md's tables: per context of Table 1, and across the multiverse.
CLAIMS_HEADER = ["Claim", "Row", "Difference (points)", "95% CI", "n", "Verdict"]
MULTIVERSE_HEADER = ["Claim", "Row", "Holds", "Not shown", "Contradicted", "Measured", "Missing", "Default protocol"]


def _multiverse_sections(shares: pd.DataFrame) -> list[Section]:
    """claims.md's sections on the multiverse, one per place holding a run only the multiverse
    makes (a place where only other suites ran reads no share: its two or three protocols are
    those suites' own, which their tables already give)."""
    sections = []
    for place, g in shares.groupby(_PLACE, sort=False):
        if not g["own_runs"].sum():
            continue
        rows, last = [], None
        for _, r in g.iterrows():
            claim = r["claim"] if r["claim"] != last else ""
            last = r["claim"]
            if r["note"]:
                rows.append([claim, r["row"], r["note"], "-", "-", "-", "-", "-"])
                continue
            holds, _, contradicted = VERDICT_WORDS[r["claim"]]
            rows.append([claim, r["row"], f"{r['holds']} {holds}", f"{r['not_shown']} not shown", f"{r['contradicted']} {contradicted}",
                         f"{r['measured']} of {r['protocols']}", str(r["missing"]), r["default_verdict"] or "-"])  # fmt: skip
        title = "Across the multiverse: " + ", ".join(str(v) for v in place if v)
        sections.append(Section(title, MULTIVERSE_HEADER, rows, intro=(MULTIVERSE_CLAIMS_NOTE,)))
    return sections


def _claims_sections(t: pd.DataFrame) -> list[Section]:
    """claims.md's sections of the default protocol: per context of Table 1, each claim's verdict."""
    sections = []
    for ctx, g in t.groupby(CONTEXT, sort=False):
        rows, last = [], None
        for _, r in g.iterrows():
            claim = r["claim"] if r["claim"] != last else ""
            last = r["claim"]
            ci = "-" if r["ci_low"] != r["ci_low"] else f"[{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"
            rows.append([claim, r["row"], f"{r['mean']:+.1f}", ci, str(r["n"]), r["verdict"]])
        sections.append(Section(", ".join(str(v) for v in ctx if v), CLAIMS_HEADER, rows))
    return sections


def claims_document(t: pd.DataFrame, multiverse: pd.DataFrame | None = None, plumbing: Sequence[str] = ()) -> Document:
    """claims.md: per context of Table 1, each claim's verdict with its interval; then, once the
    records hold a run only the multiverse makes, the share of its protocols per verdict
    (``multiverse``: ``multiverse_claims(...)``). Before that, every protocol measured is one
    Table 1 or the sensitivity study already shows, and the file reads as it did. ``plumbing``:
    the scales of a plumbing check among Table 1's contexts, left out of ``t`` (no verdict is
    drawn from them): the file's first line says so."""
    shares = multiverse if multiverse is not None and not multiverse.empty and multiverse["own_runs"].sum() else None
    sections = _multiverse_sections(shares) if shares is not None else []
    banner = plumbing_banner(plumbing)
    if t.empty:
        intro = ["No verdict: Table 1's runs are a plumbing check." if plumbing else "No record of Table 1's runs."]
    else:
        intro = [(__doc__ or "").split("\n\n", 1)[1].strip()]
        sections = _claims_sections(t) + sections
    return Document("The paper's claims against our records", sections, intro=intro, banner=banner)


def claims_markdown(t: pd.DataFrame, multiverse: pd.DataFrame | None = None, plumbing: Sequence[str] = ()) -> str:
    """claims.md as text (``claims_document``)."""
    return claims_document(t, multiverse, plumbing).markdown()
