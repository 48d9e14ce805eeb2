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
from benchmark.report.render import Section, frame_csv, latex, markdown
from benchmark.report.stats import cell_stats, seed_cells
from benchmark.report.tidy import BASELINE, CONTEXT, default_context, overrides_tokens, place_title, reported, text_tokens
from benchmark.spec import row_label
from benchmark.suites import MULTIVERSE_AXES, MULTIVERSE_ROWS, SUITES, Row, multiverse_grid, multiverse_protocols, protocol_row

__all__ = ["AXES", "multiverse_table", "multiverse_sections", "multiverse_markdown", "multiverse_latex", "curve_points",
           "dot_matrix", "multiverse_figure", "multiverse_only_rows", "write_multiverse"]  # fmt: skip

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
    row) without records is a row with n = 0 and verdict "missing". Empty without any record
    of the multiverse's rows."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    only = multiverse_only_rows()
    out = []
    for place, contexts in _places(seed_cells(tidy, warnings)).items():
        rows = _place_rows(place, contexts, only)
        if any(r["n"] or r["n_failed"] for r in rows):
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


def multiverse_markdown(t: pd.DataFrame) -> str:
    """Markdown of ``multiverse_table(...)``: per place, one row per protocol (the default first)
    and a column per method, then the share per verdict of each method."""
    sections = multiverse_sections(t, multiverse_claims(t)) if not t.empty else []
    return markdown("Multiverse: every combination of the protocol choices the paper leaves open", sections,
                    empty="No record of the multiverse's runs.")  # fmt: skip


def multiverse_latex(t: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``multiverse_table(...)``: one table environment per place."""
    return latex(multiverse_sections(t), empty="no record of the multiverse's runs")


def write_multiverse(inputs: PartInput, out: PartOutput) -> None:
    """``multiverse.{md,csv,tex}`` and ``multiverse.png``, the specification curve."""
    t = multiverse_table(inputs.reported, out.warnings)
    out.table("multiverse", multiverse_markdown(t), frame_csv(t), multiverse_latex(t))
    fig = multiverse_figure(inputs.reported)
    if fig is not None:
        out.figure("multiverse", fig)


# --------------------------------------------------------------------------- specification curve


def curve_points(t: pd.DataFrame) -> pd.DataFrame:
    """The specification curve's points: per place and non-PPCE method, one point per distinct
    run with a paired difference, ranked by its estimate (ascending; ties by protocol).

    Columns: the place, ``base_overrides``, ``column``, ``method``, ``rank`` (0-based, the x
    position), ``protocol``, ``default``, ``diff_mean``, ``diff_ci_low``, ``diff_ci_high``
    (points; NaN bounds for a single pair), ``diff_n``, ``verdict``, and one column per axis
    holding the protocol's value, None where the choice does not apply to the method."""
    columns = [*PLACE, "base_overrides", "column", "method", "rank", "protocol", "default", "diff_mean", "diff_ci_low",
               "diff_ci_high", "diff_n", "verdict", *AXES]  # fmt: skip
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


def _draw_curve(ax, g: pd.DataFrame, highlight: str) -> None:
    """Each point's estimate with its 95% interval (none for a single pair), the default in ``highlight``."""
    for is_default, colour in ((False, "0.25"), (True, highlight)):
        d = g[g["default"] == is_default]
        if d.empty:
            continue
        yerr = np.vstack([d["diff_mean"] - d["diff_ci_low"], d["diff_ci_high"] - d["diff_mean"]])
        ax.errorbar(d["rank"], d["diff_mean"], yerr=np.nan_to_num(yerr), fmt="o", color=colour, ms=6 if is_default else 4,
                    capsize=2, lw=1, label="default protocol" if is_default else "other protocols")  # fmt: skip
    ax.axhline(0, color="0.5", lw=0.8, ls="--")


def _draw_matrix(ax, m: pd.DataFrame, n_points: int, default_ranks: list[int], highlight: str) -> None:
    """The dot matrix ``m`` (``dot_matrix``'s rows of one method): a row per choice value, top down."""
    labels = list(dict.fromkeys(zip(m["axis"], m["value"])))
    y = {lab: -i for i, lab in enumerate(labels)}
    ys = [y[(a, v)] for a, v in zip(m["axis"], m["value"])]
    filled = m["filled"].to_numpy(bool)
    ax.scatter(m["rank"][~filled], [v for v, f in zip(ys, filled) if not f], s=14, facecolors="none", edgecolors="0.8", lw=0.6)
    colours = [highlight if r in default_ranks else "0.15" for r in m["rank"][filled]]
    ax.scatter(m["rank"][filled], [v for v, f in zip(ys, filled) if f], s=18, c=colours)
    ax.set_yticks(list(y.values()), [f"{a}: {v}" for a, v in labels], fontsize=7)
    axes = [a for a, _ in labels]
    for i in range(1, len(axes)):
        if axes[i] != axes[i - 1]:
            ax.axhline(-i + 0.5, color="0.7", lw=0.6)
    ax.set_ylim(-len(labels) + 0.5, 0.5)
    ax.set_xlim(-0.6, n_points - 0.4)
    ax.set_xticks(range(n_points))
    ax.set_xlabel("protocols, ranked by the estimate", fontsize=8)
    ax.grid(False)


def multiverse_figure(tidy: pd.DataFrame):
    """The specification curve per method (a panel column per non-PPCE method; a pair of panel
    rows per place): top, every protocol's paired mIoU difference to PPCE (points) with its
    95% interval, sorted by the estimate, a dashed line at 0, the default protocol highlighted;
    below, a dot matrix with a row per choice value (grouped by axis; choices that do not
    apply to the method left out) and a filled dot where that protocol takes that value
    (Simonsohn, Simmons and Nelson 2020, Figure 2). ``None`` when no protocol has data."""
    import seaborn as sns
    from matplotlib.figure import Figure

    points = curve_points(multiverse_table(tidy))
    if points.empty:
        return None
    matrix = dot_matrix(points)
    group = [*PLACE, "base_overrides"]
    places = list(dict.fromkeys(points[group].itertuples(index=False, name=None)))
    columns = list(dict.fromkeys(points["column"]))
    fig = Figure(figsize=(3.8 * len(columns) + 1.5, 6.2 * len(places)), layout="constrained")
    subfigs = fig.subfigures(len(places), 1, squeeze=False)[:, 0]
    with sns.axes_style("whitegrid"):
        for sub, place in zip(subfigs, places):
            sub.suptitle(place_title(place[:4], place[4]), fontsize=9)
            at = pd.Series(place, index=group)
            _draw_place(sub, points[(points[group] == at).all(axis=1)], matrix[(matrix[group] == at).all(axis=1)], columns)
    return fig


def _draw_place(sub, points: pd.DataFrame, matrix: pd.DataFrame, columns: list[str], highlight: str = "tab:red") -> None:
    """One place's panels in ``sub``: per method column, its curve above its dot matrix."""
    axes = sub.subplots(2, len(columns), squeeze=False, height_ratios=[3, 2], sharex="col")
    first = None
    for j, column in enumerate(columns):
        g = points[points["column"] == column]
        top, bottom = axes[0, j], axes[1, j]
        top.set_title(column, fontsize=9)
        if g.empty:
            top.text(0.5, 0.5, "no protocol with a paired difference", ha="center", va="center", fontsize=8,
                     transform=top.transAxes)  # fmt: skip
            top.set_axis_off()
            bottom.set_axis_off()
            continue
        _draw_curve(top, g, highlight)
        _draw_matrix(bottom, matrix[matrix["column"] == column], len(g), list(g.loc[g["default"], "rank"]), highlight)
        if first is None:
            first = top
            top.set_ylabel("Δ mIoU vs PPCE (points)", fontsize=8)
            top.legend(fontsize=7, loc="best")
