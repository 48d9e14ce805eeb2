"""The multiverse table and its specification curve: every protocol the paper leaves open.

A protocol is one value per axis of ``benchmark.suites.MULTIVERSE_AXES`` (gradient clipping,
the edge net's fitting input, SEMEDA's channel reading of Eq. (6)); 3 x 3 x 2 = 18 of them.
A method runs under the values that apply to it (``benchmark.suites.protocol_row``), and so
does its baseline: PPCE under a protocol is PPCE with the protocol's clipping alone.

Per (protocol, method row): mIoU mean +- std over seeds (%), the paired difference to PPCE
under the same protocol with a 95% t-interval, the divergence mark, and the verdict of the
claim the row tests, by the rule ``benchmark.report.claims`` writes down: C1 (SEMEDA above
PPCE) for the SEMEDA rows, C4 (PPCE on edges about equal to PPCE, within
+-``claims.EQUAL_MARGIN`` points) for PPCE on edges.

The default protocol (protocol 1) is the written rule's, fixed before any run; the others
say how far each verdict depends on the open choices (a multiverse analysis, Steegen et al.
2016; a specification curve, Simonsohn, Simmons and Nelson 2020), never which protocol to
report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.divergence import RULE_TEXT
from benchmark.report.cells import diff_text, diverged_text, ours_text
from benchmark.report.claims import CLAIMS, EQUAL_MARGIN, VERDICT_WORDS, equal_verdict, multiverse_claims, sign_verdict
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import Document, Section, frame_csv, latex
from benchmark.report.scope import is_plumbing, plumbing_banner
from benchmark.report.style import DIVERGED, PAGE_HEIGHT_IN, PAGE_IN, fit_title, paper_style, slug
from benchmark.report.stats import cell_stats, seed_cells
from benchmark.report.tidy import BASELINE, CONTEXT, default_context, overrides_tokens, place_title, reported, text_tokens
from benchmark.spec import row_label
from benchmark.suites import MULTIVERSE_AXES, MULTIVERSE_ROWS, SUITES, Row, multiverse_grid, multiverse_protocols, protocol_row

__all__ = ["AXES", "multiverse_table", "multiverse_sections", "multiverse_document", "multiverse_markdown", "multiverse_latex", "curve_points",
           "dot_matrix", "multiverse_figure", "multiverse_figures", "multiverse_only_rows", "write_multiverse"]  # fmt: skip

#: The axes' names, in ``MULTIVERSE_AXES``'s order: the table's columns of protocol values.
AXES: tuple[str, ...] = tuple(axis for axis, _ in MULTIVERSE_AXES)
#: The place of a study: the context without its overrides (which the protocols vary).
PLACE = CONTEXT[:4]


def multiverse_only_rows() -> frozenset[Row]:
    """The rows (method, parameters, own settings) that only the multiverse suite runs: those of
    the protocols that no other suite (Table 1, the sensitivity study, ...) makes."""
    others = {row for name, suite in SUITES.items() if name != "multiverse" for row in suite.rows}
    return frozenset(set(multiverse_grid()) - others)


def axis_applies(axis: str, method: str) -> bool:
    """Whether the choice ``axis`` means something for ``method`` (its values all apply alike)."""
    values = dict(MULTIVERSE_AXES)[axis]
    return values[0].applies_to(method)


def _claim_of(method: str) -> str:
    """The claim a row of ``method`` tests in the multiverse ("" for PPCE, the baseline)."""
    return {"semeda": CLAIMS["C1"], "ppce_edges": CLAIMS["C4"]}.get(method, "")


def row_verdict(method: str, stats: dict) -> str:
    """The verdict of a (protocol, row) cell by its claim's written rule; "missing" without a
    run, "no interval" where runs exist but no paired interval (failed runs, PPCE absent, a
    single seed); "" for PPCE."""
    claim = _claim_of(method)
    if not claim:
        return ""
    if stats["n"] == 0 and stats["n_failed"] == 0:
        return "missing"
    if stats["diff_n"] < 2:
        return "no interval"
    low, high = stats["diff_ci_low"], stats["diff_ci_high"]
    if claim == CLAIMS["C1"]:
        return sign_verdict(low, high, "above", "below")
    return equal_verdict(low, high)


def _places(cells: dict) -> dict[tuple, dict[frozenset, dict]]:
    """{place: {overrides tokens: {row key: cell}}} of ``seed_cells``'s contexts."""
    by_place: dict[tuple, dict[frozenset, dict]] = {}
    for ctx, by_row in cells.items():
        by_place.setdefault(ctx[:4], {})[text_tokens(ctx[4])] = by_row
    return by_place


def _place_rows(place: tuple, contexts: dict[frozenset, dict], only: frozenset[Row]) -> list[dict]:
    """The table's rows of one place: every (protocol, method row), default protocol first."""
    dataset, _, scale, _ = place
    protocols = multiverse_protocols()
    every_choice = frozenset().union(
        *(overrides_tokens(c.overrides, dataset, scale) for _, values in MULTIVERSE_AXES for c in values)
    )
    keys = {protocol_row(row, p).key() for p in protocols for row in MULTIVERSE_ROWS}
    holding = [t for t, by_row in contexts.items() if set(by_row) & keys]
    if not holding:
        return []
    base = default_context(holding, every_choice)

    def cell_of(run: Row):
        tokens = base | overrides_tokens(run.overrides, dataset, scale)
        return contexts.get(tokens, {}).get(run.key()), " ".join(sorted(tokens))

    rows, seen = [], set()
    for number, protocol in enumerate(protocols, start=1):
        baseline, _ = cell_of(protocol_row(Row.of("ppce"), protocol))
        for row in MULTIVERSE_ROWS:
            run = protocol_row(row, protocol)
            cell, overrides = cell_of(run)
            st = cell_stats(cell, baseline, run.key() == BASELINE)
            # one run, whatever the protocol: its row key and its settings as a record shows them
            # (at a scale that does not clip, "clipping off" is the default protocol's run)
            identity = (run.key(), overrides)
            rows.append(dict(
                zip(PLACE, place), base_overrides=" ".join(sorted(base)), protocol=number, default=protocol.is_default,
                **protocol.values(), column=row_label(row.key()), method=row.method, params=run.key()[1],
                label=row_label(run.key()), overrides=overrides, distinct=identity not in seen, only_multiverse=run in only,
                **st, claim=_claim_of(row.method), verdict=row_verdict(row.method, st),
            ))  # fmt: skip
            seen.add(identity)
    return rows


def multiverse_table(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Long form: one row per (dataset, backbone, scale, init, protocol, method row).

    Columns: the place, ``base_overrides`` (settings shared by every protocol: a user's
    ``--set``), ``protocol`` (1..18, 1 the default) and ``default``, one column per axis of
    ``AXES`` with the protocol's value, ``column`` (the method row's label), ``method``,
    ``params`` and ``label`` of the run under the protocol, its ``overrides`` text,
    ``distinct`` (False where an earlier protocol already gives the same run: the choices that
    differ do not apply to the method), ``only_multiverse`` (a run no other suite makes), the
    statistics of ``stats.cell_stats`` (values in %), ``claim`` and ``verdict``. A (protocol,
    row) without records is a row with n = 0 and verdict "missing". Only the places where the
    multiverse ran: those holding a run only it makes (a place holding other suites' runs alone,
    two or three protocols of eighteen, is their tables' to show). Empty without such a place."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    only = multiverse_only_rows()
    out = []
    for place, contexts in _places(seed_cells(tidy, warnings)).items():
        rows = _place_rows(place, contexts, only)
        if any((r["n"] or r["n_failed"]) and r["only_multiverse"] for r in rows):
            out += rows
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- markdown, LaTeX


def cell_text(r) -> str:
    """A method's cell under one protocol: PPCE's mIoU (mean ± std), or for another method
    ``Δ +x.x [lo, hi]``, the paired difference to PPCE, with ``; diverged k/n`` where any."""
    if r["diff_note"] == "baseline" or r["n"] == 0:
        return ours_text(r)
    return "Δ " + diff_text(r) + diverged_text(r)


SHARE_HEADER = ["Method", "Claim", "Holds", "Not shown", "Contradicted", "Measured", "Missing"]

MULTIVERSE_NOTE = (
    "% mIoU. ppce: mean ± sample std over seeds under the protocol's clipping (the only choice PPCE reads). "
    "Other columns: Δ, the paired difference to PPCE under the same protocol (seed by seed), in points, mean with a "
    "95% t-interval; a value that does not apply to a method (the channel reading for PPCE on edges) leaves its run "
    "unchanged, so its cell repeats. "
    f"'diverged k/n': k of n runs diverged by the suite's rule ({RULE_TEXT}); their values stay in the mean. "
    "'missing': no record of that run."
)
DEFAULT_NOTE = (
    "Protocol 1 (default) is the one the written rule fixed before any run (clipping at 30, PPCE's largest gradient "
    "norm over its first 100 steps rounded up; the edge net fitted at a fixed peak of 0.9; the sum over channels in "
    "Eq. (6)). It is not re-opened by what the multiverse shows: the other protocols say how far each verdict "
    "depends on the choices the paper leaves open, not which protocol to report."
)
SHARE_NOTE = (
    "Share per verdict: over the distinct runs of each method's protocols (PPCE on edges: the 9 of clipping x the "
    "edge net's fitting input, those of a value without runs missing), how many say the claim holds, is not shown, or is contradicted, by the rules of "
    f"claims.md (C1: the paired 95% interval above / below 0; C4: inside ±{EQUAL_MARGIN:g} point / excluding 0). "
    "Measured: protocols with a paired interval; missing: the others (no run, failed runs, or fewer than 2 seeds "
    "shared with PPCE)."
)


def unrunnable_note() -> str:
    """Which values of the grid have no runs, and why (``Choice.unrunnable``)."""
    parts = [f"{axis} = {c.value}: {c.unrunnable}" for axis, values in MULTIVERSE_AXES for c in values if c.unrunnable]
    return ("Values without runs (their protocols read 'missing' for the methods they apply to): " + "; ".join(parts) + ".") if parts else ""


def _share_rows(shares: pd.DataFrame, place: tuple) -> list[list[str]]:
    """The share per verdict of each method at ``place`` (``claims.multiverse_claims``'s rows),
    as rows of text; the claims the multiverse cannot judge are left to claims.md."""
    mine = shares[(shares[PLACE + ["base_overrides"]] == pd.Series(place, index=PLACE + ["base_overrides"])).all(axis=1)]
    out = []
    for _, s in mine[mine["protocols"] > 0].iterrows():
        holds, _, contradicted = VERDICT_WORDS[s["claim"]]
        out.append([s["row"], s["claim"], f"{s['holds']} {holds}", f"{s['not_shown']} not shown",
                    f"{s['contradicted']} {contradicted}", f"{s['measured']} of {s['protocols']}", str(s["missing"])])  # fmt: skip
    return out


def multiverse_sections(t: pd.DataFrame, shares: pd.DataFrame | None = None) -> list[Section]:
    """The sections of ``multiverse_table(...)``: per place, one row per protocol (the default
    first) and a column per method; with ``shares`` (``claims.multiverse_claims(t)``), each
    place's share per verdict follows as a subsection (Markdown only)."""
    if t.empty:
        return []
    unrunnable = unrunnable_note()
    notes = (MULTIVERSE_NOTE, DEFAULT_NOTE) + ((unrunnable,) if unrunnable else ())
    sections = []
    for place, g in t.groupby(PLACE + ["base_overrides"], sort=False):
        columns = list(dict.fromkeys(g["column"]))
        header = ["Protocol", *AXES, *columns]
        rows = []
        for number, pg in g.groupby("protocol", sort=True):
            first = pg.iloc[0]
            by_col = {r["column"]: cell_text(r) for _, r in pg.iterrows()}
            name = f"{number} (default)" if first["default"] else str(number)
            rows.append([name, *(str(first[a]) for a in AXES), *(by_col.get(c, "-") for c in columns)])
        title = place_title(place[:4], place[4])
        caption = f"{title}. {MULTIVERSE_NOTE} {DEFAULT_NOTE} {unrunnable}".rstrip()
        sections.append(Section(title, header, rows, notes=notes, caption=caption))
        share_rows = _share_rows(shares, place) if shares is not None else []
        if share_rows:
            sections.append(Section("Share per verdict", SHARE_HEADER, share_rows, notes=(SHARE_NOTE,), level=3))
    return sections


def _banner(t: pd.DataFrame) -> str:
    return plumbing_banner(t["scale"]) if "scale" in t.columns else ""


def multiverse_document(t: pd.DataFrame) -> Document:
    """The document of ``multiverse_table(...)``: per place, one row per protocol (the default
    first) and a column per method, then the share per verdict of each method (none at the
    scale of a plumbing check: no verdict is drawn from it)."""
    shares = multiverse_claims(t[~t["scale"].map(is_plumbing)]) if not t.empty else None
    sections = multiverse_sections(t, shares) if not t.empty else []
    return Document("Multiverse: every combination of the protocol choices the paper leaves open", sections,
                    empty="No record of the multiverse's own runs.", banner=_banner(t))  # fmt: skip


def multiverse_markdown(t: pd.DataFrame) -> str:
    """Markdown of ``multiverse_table(...)`` (``multiverse_document``)."""
    return multiverse_document(t).markdown()


def multiverse_latex(t: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``multiverse_table(...)``: one table environment per place."""
    return latex(multiverse_sections(t), empty="no record of the multiverse's own runs", banner=_banner(t))


def write_multiverse(inputs: PartInput, out: PartOutput) -> None:
    """``multiverse.{md,csv,tex}`` and ``multiverse.{png,svg}``, the specification curve (one
    figure per place the multiverse ran at)."""
    t = multiverse_table(inputs.reported, out.warnings)
    out.table("multiverse", multiverse_document(t), frame_csv(t), multiverse_latex(t))
    for stem, fig in multiverse_figures(inputs.reported).items():
        out.figure(stem, fig, caption=MULTIVERSE_CAPTION)


MULTIVERSE_CAPTION = (
    "The specification curve: per method, every protocol's paired mIoU difference to PPCE under the same protocol, "
    "ranked, the default protocol in red; below, which value of each choice the protocol takes (grey: the choice does "
    "not apply to the method)."
)


# --------------------------------------------------------------------------- specification curve


def curve_points(t: pd.DataFrame) -> pd.DataFrame:
    """The specification curve's points: per place and non-PPCE method, one point per distinct
    run with a paired difference, ranked by its estimate (ascending; ties by protocol).

    Columns: the place, ``base_overrides``, ``column``, ``method``, ``rank`` (0-based, the x
    position), ``protocol``, ``default``, ``diff_mean``, ``diff_ci_low``, ``diff_ci_high``
    (points; NaN bounds for a single pair), ``diff_n``, ``n_diverged``, ``verdict``, and one column per axis
    holding the protocol's value, None where the choice does not apply to the method."""
    columns = [*PLACE, "base_overrides", "column", "method", "rank", "protocol", "default", "diff_mean", "diff_ci_low",
               "diff_ci_high", "diff_n", "n_diverged", "verdict", *AXES]  # fmt: skip
    if t.empty:
        return pd.DataFrame(columns=columns)
    points = t[(t["method"] != BASELINE[0]) & t["distinct"] & (t["diff_n"] >= 1)].copy()
    for axis in AXES:
        points[axis] = [v if axis_applies(axis, m) else None for v, m in zip(points[axis], points["method"])]
    group = [*PLACE, "base_overrides", "column"]
    first_seen = {k: i for i, k in enumerate(dict.fromkeys(t[group].itertuples(index=False, name=None)))}
    points["_group"] = [first_seen[k] for k in points[group].itertuples(index=False, name=None)]
    points = points.sort_values(["_group", "diff_mean", "protocol"], kind="mergesort")
    points["rank"] = points.groupby("_group").cumcount()
    return points[columns].reset_index(drop=True)


def dot_matrix(points: pd.DataFrame) -> pd.DataFrame:
    """The dot matrix under each curve, long form: per place, method ``column``, choice value
    (grouped by axis, in ``MULTIVERSE_AXES``'s order; only the axes that apply to the method)
    and point ``rank``: ``filled`` when that point's protocol takes that value."""
    out = []
    for key, g in points.groupby([*PLACE, "base_overrides", "column"], sort=False):
        method = g["method"].iloc[0]
        for axis, values in MULTIVERSE_AXES:
            if not axis_applies(axis, method):
                continue
            for choice in values:
                for _, p in g.iterrows():
                    out.append(dict(zip([*PLACE, "base_overrides", "column"], key), axis=axis, value=choice.value,
                                    rank=p["rank"], protocol=p["protocol"], filled=p[axis] == choice.value))  # fmt: skip
    return pd.DataFrame(out, columns=[*PLACE, "base_overrides", "column", "axis", "value", "rank", "protocol", "filled"])


#: How the figure names each axis of the dot matrix (short enough for a page's width).
AXIS_SHORT = {"gradient clipping": "clipping", "edge-net fitting input": "edge-net input", "SEMEDA |.| of Eq. (6)": "Eq. (6) |.|"}


def _draw_curve(ax, g: pd.DataFrame, highlight: str) -> None:
    """Each point's estimate with its 95% interval (none for a single pair), the default in
    ``highlight``, a cross on a protocol some of whose seeds diverged."""
    for is_default, colour in ((False, "0.25"), (True, highlight)):
        d = g[g["default"] == is_default]
        if d.empty:
            continue
        yerr = np.vstack([d["diff_mean"] - d["diff_ci_low"], d["diff_ci_high"] - d["diff_mean"]])
        ax.errorbar(d["rank"], d["diff_mean"], yerr=np.nan_to_num(yerr), fmt="o", color=colour, ms=4.5 if is_default else 3,
                    capsize=1.5, lw=0.9, label="default protocol" if is_default else "other protocols")  # fmt: skip
    bad = g[g["n_diverged"] > 0]
    if len(bad):
        ax.scatter(bad["rank"], bad["diff_mean"], **DIVERGED)
    ax.axhline(0, color="0.5", lw=0.8, ls="--")


def _matrix_rows() -> list[tuple[str, str]]:
    """Every (axis, value) of the grid, top down, in ``MULTIVERSE_AXES``'s order."""
    return [(axis, c.value) for axis, values in MULTIVERSE_AXES for c in values]


def _draw_matrix(ax, m: pd.DataFrame, n_points: int, default_ranks: list[int], highlight: str, method: str) -> None:
    """The dot matrix ``m`` (``dot_matrix``'s rows of one method): a row per choice value of the
    grid, top down; a value that does not apply to the method is a grey band."""
    labels = _matrix_rows()
    y = {lab: -i for i, lab in enumerate(labels)}
    ys = [y[(a, v)] for a, v in zip(m["axis"], m["value"])]
    filled = m["filled"].to_numpy(bool)
    ax.scatter(m["rank"][~filled], [v for v, f in zip(ys, filled) if not f], s=9, facecolors="none", edgecolors="0.75", lw=0.5)
    colours = [highlight if r in default_ranks else "0.15" for r in m["rank"][filled]]
    ax.scatter(m["rank"][filled], [v for v, f in zip(ys, filled) if f], s=11, c=colours)
    for lab in labels:
        if not axis_applies(lab[0], method):
            ax.axhspan(y[lab] - 0.5, y[lab] + 0.5, color="0.93", lw=0)
    ax.set_yticks(list(y.values()), [f"{AXIS_SHORT.get(a, a)}: {v}" for a, v in labels])
    axes = [a for a, _ in labels]
    for i in range(1, len(axes)):
        if axes[i] != axes[i - 1]:
            ax.axhline(-i + 0.5, color="0.7", lw=0.6)
    ax.set_ylim(-len(labels) + 0.5, 0.5)
    ax.set_xlim(-0.6, n_points - 0.4)
    ax.set_xticks(range(n_points), [str(i + 1) for i in range(n_points)], fontsize=6)
    ax.set_xlabel("protocols, ranked by the estimate")
    ax.grid(False)


def multiverse_figures(tidy: pd.DataFrame) -> dict[str, object]:
    """The specification curve per method, one figure per place the multiverse ran at
    (``multiverse`` for the first, ``multiverse_<place>`` for others): per method (a 2-column
    grid), every protocol's paired mIoU difference to PPCE (points) with its 95% interval, sorted
    by the estimate, a dashed line at 0, the default protocol highlighted, a cross where a seed
    diverged; below it, a dot matrix with a row per choice value (grouped by axis; grey where the
    choice does not apply to the method) and a filled dot where that protocol takes that value
    (Simonsohn, Simmons and Nelson 2020, Figure 2). Empty when no protocol has data."""
    points = curve_points(multiverse_table(tidy))
    if points.empty:
        return {}
    matrix = dot_matrix(points)
    group = [*PLACE, "base_overrides"]
    places = list(dict.fromkeys(points[group].itertuples(index=False, name=None)))
    figures = {}
    for n, place in enumerate(places):
        at = pd.Series(place, index=group)
        stem = "multiverse" if n == 0 else "multiverse_" + slug(" ".join(str(v) for v in place if v))
        figures[stem] = _place_figure(place, points[(points[group] == at).all(axis=1)], matrix[(matrix[group] == at).all(axis=1)])
    return figures


def multiverse_figure(tidy: pd.DataFrame):
    """The first figure of ``multiverse_figures`` (the first place), ``None`` when no protocol
    has data."""
    return next(iter(multiverse_figures(tidy).values()), None)


def _place_figure(place: tuple, points: pd.DataFrame, matrix: pd.DataFrame, highlight: str = "tab:red"):
    """One place's figure: per method, its curve above its dot matrix, two methods a row."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    columns = list(dict.fromkeys(points["column"]))
    cols = min(2, len(columns))
    rows = -(-len(columns) // cols)
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, min(PAGE_HEIGHT_IN, 3.3 * rows + 0.8)), layout="constrained")
        axes = fig.subplots(2 * rows, cols, squeeze=False, height_ratios=[3, 2.4] * rows)
        for k in range(rows * cols):
            i, j = divmod(k, cols)
            top, bottom = axes[2 * i, j], axes[2 * i + 1, j]
            if k >= len(columns):
                top.set_visible(False)
                bottom.set_visible(False)
                continue
            column = columns[k]
            g = points[points["column"] == column]
            top.sharex(bottom)
            top.tick_params(labelbottom=False)
            top.set_title(column)
            _draw_curve(top, g, highlight)
            _draw_matrix(bottom, matrix[matrix["column"] == column], len(g), list(g.loc[g["default"], "rank"]), highlight,
                         g["method"].iloc[0])  # fmt: skip
            if j == 0:
                top.set_ylabel("Δ mIoU vs PPCE (points)")
            else:
                bottom.set_yticklabels([])
        handles = [Line2D([], [], color="0.25", marker="o", ms=3, label="a protocol: mean paired difference, 95% t-interval"),
                   Line2D([], [], color=highlight, marker="o", ms=4.5, label="the default protocol"),
                   Line2D([], [], color="0.5", ls="--", label="PPCE under the same protocol (0)")]  # fmt: skip
        if (points["n_diverged"] > 0).any():
            handles.append(Line2D([], [], ls="", marker="x", color="black", label="some seeds diverged"))
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
        fig.suptitle(fit_title("Multiverse: " + place_title(place[:4], place[4]), PAGE_IN - 0.3, 9))
    return fig
