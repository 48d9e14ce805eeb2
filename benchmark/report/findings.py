"""The claims' findings as sentences: templates filled in from the claims' table.

``findings.md`` says, per context of Table 1, what ``claims.md`` judges, one sentence per
claim, its numbers the table's (``results/README.md`` quotes its sections between markers,
so the page's verdicts follow the records). The words follow the written rules: "above"
only for a SEMEDA row whose interval lies above 0 *and* that survives the Holm correction
over the rows compared with PPCE; "nominally above" (or "below") where only the unadjusted
interval excludes 0; C2, C3, C4 and C5 have no Holm family, their verdict is their interval's.
"""

from __future__ import annotations

import re

import pandas as pd

from benchmark.report.claims import CLAIMS
from benchmark.report.tidy import CONTEXT, describe_context

__all__ = ["findings_markdown", "findings_sections"]


def _interval(r) -> str:
    return f"{r['mean']:+.1f} [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"


def _row_name(row: str) -> str:
    """The row as the sentences name it: its label without the claims' suffixes."""
    return re.sub(r" \(Holm: [^)]*\)| minus after ReLU", "", row)


def _listing(rows: pd.DataFrame, with_p: bool = False) -> str:
    parts = []
    for _, r in rows.iterrows():
        p = f", p = {r['p']:.3f}" if with_p and r["p"] == r["p"] else ""
        parts.append(f"{_row_name(r['row'])} {_interval(r)}{p}")
    return "; ".join(parts)


def _c1(g: pd.DataFrame) -> str:
    survives = g["row"].str.contains("Holm: survives")
    above, below = g["verdict"] == "above", g["verdict"] == "below"
    bits = []
    if (above & survives).any():
        bits.append(f"above, surviving Holm, for {_listing(g[above & survives], True)}")
    if (above & ~survives).any():
        bits.append(f"nominally above (the unadjusted interval alone) for {_listing(g[above & ~survives], True)}")
    if (g["verdict"] == "not shown").any():
        bits.append(f"not shown for {_listing(g[g['verdict'] == 'not shown'])}")
    if (below & survives).any():
        bits.append(f"below, surviving Holm, for {_listing(g[below & survives], True)}")
    if (below & ~survives).any():
        bits.append(f"nominally below for {_listing(g[below & ~survives], True)}")
    held = int((above & survives).sum())
    head = f"**{CLAIMS['C1']}**: {held} of {len(g)} SEMEDA rows above PPCE by the rule (interval above 0 and Holm)"
    return head + ("; " + "; ".join(bits) if bits else "") + "."


def _per_row(claim: str, g: pd.DataFrame) -> str:
    verdicts = "; ".join(f"{_row_name(r['row'])}: {r['verdict']}, {_interval(r)}" for _, r in g.iterrows())
    return f"**{claim}**: {verdicts}."


def _c5(g: pd.DataFrame) -> str:
    counts = g["verdict"].value_counts()
    parts = [f"{int(counts.get(v, 0))} {v}" for v in ("larger", "not shown", "smaller")]
    return (f"**C5 boundary gain larger**: of {len(g)} comparisons of a SEMEDA row's gain in a narrow band with its gain in "
            f"the widest band or the non-boundary region, {', '.join(parts)}.")  # fmt: skip


def findings_sections(claims: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """``[(title, sentences)]``: per context of ``claims`` (``claims.claims_table(...)``), one
    sentence per claim it judges, in the claims' order."""
    out = []
    if claims.empty:
        return out
    for ctx, g in claims.groupby(CONTEXT, sort=False):
        ctx = dict(zip(CONTEXT, ctx))
        lines = []
        for claim in (*CLAIMS.values(), "C5 boundary gain larger"):
            rows = g[g["claim"] == claim]
            if rows.empty:
                continue
            if claim == CLAIMS["C1"]:
                lines.append(_c1(rows))
            elif claim.startswith("C5"):
                lines.append(_c5(rows))
            else:
                lines.append(_per_row(claim, rows))
        title = "Findings: " + describe_context(ctx["dataset"], ctx["scale"], ctx["backbone"], ctx["init"], ctx["overrides"])
        out.append((title, lines))
    return out


def findings_markdown(claims: pd.DataFrame) -> str:
    """``findings.md``: a section per context of Table 1, a bullet per claim (one line each)."""
    lines = ["# The claims' findings, in words", "",
             "Written from claims.csv by templates (benchmark/report/findings.py): every number is the claims' table's.", ""]  # fmt: skip
    sections = findings_sections(claims)
    if not sections:
        lines += ["No record of Table 1's runs.", ""]
    for title, sentences in sections:
        lines += [f"## {title}", "", *(f"- {s}" for s in sentences), ""]
    return "\n".join(lines)
