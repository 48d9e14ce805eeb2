"""The sensitivity table: each protocol choice the paper leaves open, varied alone.

Rows are (choice, value), as ``benchmark.suites.SENSITIVITY_CHOICES`` lists them; a column
per method of ``SENSITIVITY_ROWS`` holds its mIoU (mean +- std over seeds), its paired
difference to PPCE *under the same choice* with a 95% t-interval, and the divergence mark.
A choice that cannot change PPCE (the SEMEDA channel reading, the edge net's fitting input:
PPCE reads neither) pairs with PPCE under the default protocol, which is the same run.
"""

from __future__ import annotations

import pandas as pd

from benchmark.divergence import RULE_TEXT
from benchmark.report.stats import cell_stats, seed_cells
from dataclasses import asdict

from benchmark.report.tidy import BASELINE, CONTEXT, same_value, settings_text, reported
from benchmark.spec import row_key, row_label, scale_settings

__all__ = ["sensitivity_table", "sensitivity_markdown", "sensitivity_latex", "default_context", "overrides_tokens", "text_tokens"]


def text_tokens(text: str) -> frozenset[str]:
    """An overrides text (``"grad_clip=None lr=0.0005"``) as its set of ``k=v`` tokens."""
    return frozenset(text.split())


_tokens = text_tokens


def overrides_tokens(overrides, dataset: str, scale: str) -> frozenset[str]:
    """The (name, value) pairs ``overrides`` as a record's overrides text shows them: only what
    differs from the scale's defaults (at a scale that does not clip, "clipping off" is the
    default itself), as tokens."""
    try:
        default = asdict(scale_settings(scale, dataset))
    except ValueError:
        default = {}
    diffs = {k: v for k, v in overrides if not (k in default and same_value(v, default[k]))}
    return text_tokens(settings_text(diffs))


def _choice_tokens(choice, dataset: str, scale: str) -> frozenset[str]:
    """The overrides text of ``choice`` as a record shows it (``overrides_tokens``)."""
    return overrides_tokens(choice.overrides, dataset, scale)


def default_context(holding, every_choice: frozenset[str]) -> frozenset[str]:
    """The default protocol's context among the contexts ``holding`` (token sets) of a study:
    the settings they share once every choice's own overrides (``every_choice``) are taken
    out; a user's ``--set`` stays in it. The shortest such set, then the first in order."""
    return min((t - every_choice for t in holding), key=lambda t: (len(t), sorted(t)))


def sensitivity_table(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Long form: one row per (dataset, backbone, scale, init, choice, value, method) with
    the statistics of ``cell_stats`` (values in %). Empty without a record of the study."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    from benchmark.suites import SENSITIVITY_CHOICES, SENSITIVITY_ROWS

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    cells = seed_cells(tidy, warnings)
    study_keys = {r.key() for r in SENSITIVITY_ROWS}
    out = []
    by_place: dict[tuple, dict[frozenset, dict]] = {}
    for ctx, by_row in cells.items():
        by_place.setdefault(ctx[:4], {})[_tokens(ctx[4])] = by_row
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
            for row in SENSITIVITY_ROWS:
                if not choice.applies_to(row.method):
                    continue
                key = row_key(row.method, {**row.params_dict(), **dict(choice.params)})
                st = cell_stats(by_row.get(key), baseline, key == BASELINE and by_row.get(key) is baseline)
                rows.append(dict(zip(CONTEXT[:4], place), base_overrides=" ".join(sorted(base)), choice=choice.choice,
                                 value=choice.value, column=row_label(row.key()), label=row_label(key), **st))  # fmt: skip
        if any(r["n"] for r in rows):
            out += rows
    return pd.DataFrame(out)


def _cell_text(r) -> str:
    if r["n"] == 0:
        return f"failed ({r['n_failed']})" if r["n_failed"] else "missing"
    text = f"{r['ours_mean']:.1f}" + (f" ± {r['ours_std']:.1f}" if r["n"] > 1 else "")
    if r["diff_note"] != "baseline" and r["diff_n"] >= 2:
        text += f"; Δ {r['diff_mean']:+.1f} [{r['diff_ci_low']:+.1f}, {r['diff_ci_high']:+.1f}]"
    elif r["diff_note"] != "baseline" and r["diff_n"] == 1:
        text += f"; Δ {r['diff_mean']:+.1f}"
    if r["n_diverged"]:
        text += f"; diverged {r['n_diverged']}/{r['n'] + r['n_failed']}"
    return text


SENSITIVITY_NOTE = (
    "% mIoU, mean ± sample std over seeds. Δ: paired difference to PPCE under the same choice (seed by seed), "
    "mean with a 95% t-interval; choices PPCE cannot see (the SEMEDA channel reading, the edge net's fitting input) "
    "pair with PPCE under the default protocol. "
    f"'diverged k/n': k of n runs diverged by the suite's rule ({RULE_TEXT}); their values stay in the mean. "
    "'-': the choice does not apply to the method."
)


def _sections(t: pd.DataFrame):
    for place, g in t.groupby(CONTEXT[:4] + ["base_overrides"], sort=False):
        columns = list(dict.fromkeys(g["column"]))
        header = ["Choice", "Value"] + columns
        rows, last = [], None
        for (choice, value), cg in g.groupby(["choice", "value"], sort=False):
            by_col = {r["column"]: _cell_text(r) for _, r in cg.iterrows()}
            rows.append([choice if choice != last else "", value] + [by_col.get(c, "-") for c in columns])
            last = choice
        dataset, backbone, scale, init, base = place
        title = f"{dataset}, {scale} scale, {backbone}, {init}" + (f", settings {base}" if base else "")
        yield title, header, rows


def sensitivity_markdown(t: pd.DataFrame) -> str:
    lines = ["# Sensitivity: the protocol choices the paper leaves open, varied alone", ""]
    if t.empty:
        return "\n".join(lines + ["No record of the sensitivity study's runs.", ""])
    for title, header, rows in _sections(t):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines += ["", SENSITIVITY_NOTE, ""]
    return "\n".join(lines)


def sensitivity_latex(t: pd.DataFrame) -> str:
    from benchmark.report.tables import latex_text

    out = []
    if t.empty:
        return "% no record of the sensitivity study's runs\n"
    for title, header, rows in _sections(t):
        out += [f"% {title}", r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{'l' * len(header)}}}",
                r"\toprule", " & ".join(latex_text(h) for h in header) + r" \\", r"\midrule"]  # fmt: skip
        out += [" & ".join(latex_text(c) for c in row) + r" \\" for row in rows]
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_text(title)}. {latex_text(SENSITIVITY_NOTE)}}}", r"\end{table}", ""]
    return "\n".join(out)
