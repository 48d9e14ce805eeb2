"""The sensitivity table: each protocol choice the paper leaves open, varied alone.

Rows are (choice, value), as ``benchmark.suites.SENSITIVITY_CHOICES`` lists them; a column
per method the choice is measured on (``benchmark.suites.choice_rows``) holds its mIoU (mean +- std over seeds), its paired
difference to PPCE *under the same choice* with a 95% t-interval, and the divergence mark.
A choice that cannot change PPCE (the SEMEDA channel reading, distance and third layer, the
edge net's fitting input: PPCE reads none of them) pairs with PPCE under the default protocol, which is the same run.
"""

from __future__ import annotations

import pandas as pd

from benchmark.divergence import RULE_TEXT
from benchmark.report.cells import diverged_text, interval_text, mean_std_text
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import Document, Section, frame_csv, latex
from benchmark.report.scope import plumbing_banner
from benchmark.report.stats import cell_stats, seed_cells
from benchmark.report.tidy import BASELINE, CONTEXT, default_context, overrides_tokens, place_title, reported, text_tokens
from benchmark.spec import row_key, row_label

__all__ = ["SENSITIVITY_NOTE", "cell_text", "sensitivity_document", "sensitivity_latex", "sensitivity_markdown", "sensitivity_sections", "sensitivity_table",
           "write_sensitivity"]  # fmt: skip


def _choice_tokens(choice, dataset: str, scale: str) -> frozenset[str]:
    """The overrides text of ``choice`` as a record shows it (``overrides_tokens``)."""
    return overrides_tokens(choice.overrides, dataset, scale)


def sensitivity_table(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Long form: one row per (dataset, backbone, scale, init, choice, value, method) with
    the statistics of ``cell_stats`` (values in %). Empty without a record of the study."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    from benchmark.suites import SENSITIVITY_CHOICES, choice_rows

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    cells = seed_cells(tidy, warnings)
    study_keys = {r.key() for c in SENSITIVITY_CHOICES for r in choice_rows(c)}
    out = []
    by_place: dict[tuple, dict[frozenset, dict]] = {}
    for ctx, by_row in cells.items():
        by_place.setdefault(ctx[:4], {})[text_tokens(ctx[4])] = by_row
    for place, contexts in by_place.items():
        holding = [t for t, by_row in contexts.items() if set(by_row) & study_keys]
        if not holding:
            continue
        # The default protocol's context: the settings the study's contexts share once every
        # choice's own overrides are taken out (a user's --set stays in it).
        choice_tokens = [_choice_tokens(c, place[0], place[2]) for c in SENSITIVITY_CHOICES]
        every_choice = frozenset().union(*choice_tokens)
        base = default_context(holding, every_choice)
        default_cells = contexts.get(base, {})
        rows = []
        for choice, own in zip(SENSITIVITY_CHOICES, choice_tokens):
            by_row = contexts.get(base | own, {})
            baseline = by_row.get(BASELINE) or default_cells.get(BASELINE)
            for row in choice_rows(choice):
                key = row_key(row.method, {**row.params_dict(), **dict(choice.params)})
                st = cell_stats(by_row.get(key), baseline, key == BASELINE and by_row.get(key) is baseline)
                rows.append(dict(zip(CONTEXT[:4], place), base_overrides=" ".join(sorted(base)), choice=choice.choice,
                                 value=choice.value, column=row_label(row.key()), label=row_label(key), **st))  # fmt: skip
        if any(r["n"] for r in rows):
            out += rows
    return pd.DataFrame(out)


def cell_text(r) -> str:
    """A method's cell under one choice: mIoU mean ± std, the paired difference to PPCE under
    the same choice (``; Δ +x.x [lo, hi]``, or without an interval for a single pair) and the
    divergence mark; "missing" or "failed (k)" without a result."""
    if r["n"] == 0:
        return f"failed ({r['n_failed']})" if r["n_failed"] else "missing"
    text = mean_std_text(r["ours_mean"], r["ours_std"], r["n"])
    if r["diff_note"] != "baseline" and r["diff_n"] >= 2:
        text += "; Δ " + interval_text(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"])
    elif r["diff_note"] != "baseline" and r["diff_n"] == 1:
        text += f"; Δ {r['diff_mean']:+.1f}"
    return text + diverged_text(r)


SENSITIVITY_NOTE = (
    "% mIoU, mean ± sample std over seeds. Δ: paired difference to PPCE under the same choice (seed by seed), "
    "mean with a 95% t-interval; choices PPCE cannot see (the SEMEDA channel reading, the edge net's fitting input) "
    "pair with PPCE under the default protocol. "
    f"'diverged k/n': k of n runs diverged by the suite's rule ({RULE_TEXT}); their values stay in the mean. "
    "'-': the choice does not apply to the method, or is not measured on it."
)


def sensitivity_sections(t: pd.DataFrame) -> list[Section]:
    """The sections of ``sensitivity_table(...)``: per place, a row per (choice, value) and a
    column per method."""
    sections = []
    if t.empty:
        return sections
    for place, g in t.groupby(CONTEXT[:4] + ["base_overrides"], sort=False):
        columns = list(dict.fromkeys(g["column"]))
        header = ["Choice", "Value"] + columns
        rows, last = [], None
        for (choice, value), cg in g.groupby(["choice", "value"], sort=False):
            by_col = {r["column"]: cell_text(r) for _, r in cg.iterrows()}
            rows.append([choice if choice != last else "", value] + [by_col.get(c, "-") for c in columns])
            last = choice
        title = place_title(place[:4], place[4])
        sections.append(Section(title, header, rows, notes=(SENSITIVITY_NOTE,), caption=f"{title}. {SENSITIVITY_NOTE}"))
    return sections


def _banner(t: pd.DataFrame) -> str:
    return plumbing_banner(t["scale"]) if "scale" in t.columns else ""


def sensitivity_document(t: pd.DataFrame) -> Document:
    """The document of ``sensitivity_table(...)``."""
    return Document("Sensitivity: the protocol choices the paper leaves open, varied alone", sensitivity_sections(t),
                    empty="No record of the sensitivity study's runs.", banner=_banner(t))  # fmt: skip


def sensitivity_markdown(t: pd.DataFrame) -> str:
    """Markdown of ``sensitivity_table(...)``."""
    return sensitivity_document(t).markdown()


def sensitivity_latex(t: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``sensitivity_table(...)``: one table environment per place."""
    return latex(sensitivity_sections(t), empty="no record of the sensitivity study's runs", banner=_banner(t))


def write_sensitivity(inputs: PartInput, out: PartOutput) -> None:
    """``sensitivity.{md,csv,tex}``."""
    t = sensitivity_table(inputs.reported, out.warnings)
    out.table("sensitivity", sensitivity_document(t), frame_csv(t), sensitivity_latex(t))
