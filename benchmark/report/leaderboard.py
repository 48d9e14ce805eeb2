"""The leaderboard: every loss at the weight its search selected, against PPCE on paired seeds.

Everything is re-derived from the records: the search's trials (scored on the tuning split,
``split == "tune"``) replay the rung rule of ``benchmark.tuning`` to the selected multiplier,
and the seed runs at that weight (reported split) give the row. One section per context
(dataset, backbone, scale, initialisation, settings) that holds search trials.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from benchmark.report.tables import (
    COMMON_NOTE,
    SeedMetrics,
    add_holm,
    diff_text,
    holm_text,
    latex_text,
    metric_headers,
    metric_text,
    ours_text,
    describe_context,
)
from benchmark.report.tidy import BASELINE, CONTEXT, lambdas_text, registered, reported, sorted_rows
from benchmark.spec import RowKey, row_key, row_label
from benchmark.tuning import grid_text, rung_steps, scaled_params, search_state

__all__ = ["budget_figure", "leaderboard_latex", "leaderboard_markdown", "leaderboard_table", "search_trials", "weight_figure"]


def _context_text(ctx: tuple) -> str:
    c = dict(zip(CONTEXT, ctx))
    return describe_context(c["dataset"], c["scale"], c["backbone"], c["init"], c["overrides"])


def search_trials(tidy: pd.DataFrame) -> pd.DataFrame:
    """The weight search's trials: tuning-split runs with a multiplier, one per (context,
    method, multiplier, step), in context order."""
    if tidy.empty or "split" not in tidy.columns:
        return pd.DataFrame()
    t = tidy[(tidy["split"] == "tune") & tidy["multiplier"].notna()]
    return sorted_rows(t, CONTEXT + ["method", "multiplier", "step"]) if len(t) else pd.DataFrame()


def _searches(trials: pd.DataFrame):
    """Per (context, method): the search state the rung rule reaches on its trials, the grid
    and the rungs. One leaderboard command searches every method of a context over one grid,
    so the grid is every multiplier any method of the context ran at the first rung (a search
    interrupted in its first rung then shows as such)."""
    if trials.empty:
        return
    grids = {}
    for keys, g in trials.groupby(CONTEXT, sort=False):
        first = rung_steps(int(g["schedule_steps"].iloc[0]))[0]
        grids[tuple(keys)] = tuple(sorted({float(m) for m in g.loc[g["step"] == first, "multiplier"]}, key=float))
    for keys, g in trials.groupby(CONTEXT + ["method"], sort=False):
        ctx, method = tuple(keys[:-1]), keys[-1]
        rungs = rung_steps(int(g["schedule_steps"].iloc[0]))
        scores = {(float(r.multiplier), int(r.step)): (float(r.miou) if r.status == "ok" and r.miou == r.miou else None)
                  for r in g.itertuples()}  # fmt: skip
        grid = _distinct(grids[ctx])
        yield ctx, method, search_state(scores, grid, rungs), grid, rungs


def _selected(trials: pd.DataFrame, ctx: tuple, method: str, multiplier: float) -> tuple[RowKey, dict, str]:
    """The row key, parameters and label of ``method`` at its selected ``multiplier``: from its
    class where it is registered here, else from its search trial at that multiplier, whose
    record holds them, so that a method the report cannot import keeps its row."""
    if registered(method):
        params = scaled_params(method, multiplier)
        key = row_key(method, params)
        return key, params, row_label(key)
    mine = trials[(trials["method"] == method) & (trials[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
    row = next(r for _, r in mine.iterrows() if math.isclose(r["multiplier"], multiplier, rel_tol=1e-9))
    return (method, row["params"]), json.loads(row["params"]), row["label"]


def _distinct(values: tuple[float, ...]) -> tuple[float, ...]:
    """``values`` without near-equal repeats (multipliers recovered from stored lambdas)."""
    out: list[float] = []
    for v in sorted(values):
        if not out or not math.isclose(v, out[-1], rel_tol=1e-9):
            out.append(v)
    return tuple(out)


def leaderboard_table(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """One row per method and search context: the selected multiplier, the seed runs at it
    (mean, std, paired difference to PPCE with its interval and Holm's verdict over the
    section's methods, the boundary metrics), sorted by mIoU; PPCE is the baseline row."""
    warnings = [] if warnings is None else warnings
    trials = search_trials(tidy)
    if trials.empty:
        return pd.DataFrame()
    seeds = reported(tidy)
    out = []
    sections: dict[tuple, list[tuple]] = {}
    for ctx, method, state, grid, rungs in _searches(trials):
        sections.setdefault(ctx, []).append((method, state, grid, rungs))
    for ctx, searches in sections.items():
        in_ctx = seeds[(seeds[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)] if len(seeds) else seeds
        grid, rungs = searches[0][2], searches[0][3]
        chosen = {method: state for method, state, _, _ in searches}
        keys = {BASELINE: None}
        for method, state in chosen.items():
            if state.selected is not None:
                keys[_selected(trials, ctx, method, state.selected)[0]] = state
        frame = in_ctx[in_ctx.apply(lambda r: (r["method"], r["params"]) in keys, axis=1)] if len(in_ctx) else in_ctx
        metrics = SeedMetrics(frame, warnings) if len(frame) else None
        note = (
            f"Ours: {_context_text(ctx)}. Each loss's weight was searched as a multiplier on its default lambdas over "
            f"{', '.join(grid_text(m) for m in grid)} (seed 0, scored by mIoU on the tuning split), cut by successive halving "
            f"at steps {', '.join(map(str, rungs))} (the best third kept at each rung), then run with {len(set(frame['seed'])) if len(frame) else 0} "
            "seeds on the reported split at the selected weight. '(grid edge)': the grid's smallest or largest multiplier was "
            "selected, so the best weight may lie beyond the grid (widen it with --grid)."
        )
        rows = []
        for method, state in [("ppce", None)] + sorted(chosen.items()):
            picked = _selected(trials, ctx, method, state.selected) if state is not None and state.selected is not None else None
            key = BASELINE if state is None else (picked[0] if picked is not None else None)
            stats = metrics.stats(ctx, key) if (metrics is not None and key is not None) else None
            if stats is None:
                stats = {"ours_mean": float("nan"), "ours_std": float("nan"), "n": 0, "n_failed": 0, "missing_seeds": "", "diff_n": 0,
                         "diff_note": "no seed run yet" if state is None or state.selected is not None else "search not finished", "diff_p": float("nan"), "n_diverged": 0, "diff_seeds": ""}  # fmt: skip
            weight = "-" if state is None else (grid_text(state.selected) if state.selected is not None else f"rung {state.rung + 1} of {len(rungs)}")
            if state is not None and state.selected is not None and _at_grid_edge(state.selected, grid):
                weight += " (grid edge)"
            params = picked[1] if picked is not None else {}
            rows.append(dict(zip(CONTEXT, ctx), note=note, method=method,
                             label=picked[2] if picked is not None else row_label(key) if key is not None else method, multiplier=weight,
                             lambdas=lambdas_text(params.get("lambdas")) if params else "-", **stats))  # fmt: skip
        out += sorted(rows, key=lambda r: -r["ours_mean"] if r["ours_mean"] == r["ours_mean"] else math.inf)
    add_holm(out, CONTEXT)
    return pd.DataFrame(out)


def _at_grid_edge(selected: float, grid: tuple[float, ...]) -> bool:
    """Whether the selected multiplier is the grid's smallest or largest (of two or more)."""
    return len(grid) > 1 and any(math.isclose(selected, edge, rel_tol=1e-9) for edge in (grid[0], grid[-1]))


def _sections(t: pd.DataFrame):
    for ctx, g in t.groupby(CONTEXT, sort=False):
        extra = metric_headers(g)
        header = ["Method", "Registry name", "Weight (x default)", "λ", "mIoU", "n", "Δ PPCE [95% CI]", "Holm"]
        header += [h for _, text in extra for h in (text, "Δ")]
        rows = []
        for _, r in g.iterrows():
            rows.append([r["label"], r["method"], r["multiplier"], r["lambdas"], ours_text(r) if r["n"] or r["n_failed"] else "missing",
                         str(r["n"]), diff_text(r), holm_text(r)] + [x for name, _ in extra for x in metric_text(r, name)])  # fmt: skip
        yield "Leaderboard: " + _context_text(ctx), g["note"].iloc[0], header, rows


def leaderboard_markdown(t: pd.DataFrame) -> str:
    lines = ["# Leaderboard: every loss at its searched weight, % mIoU on the reported split", ""]
    if t.empty:
        return "\n".join(lines + ["No record of a weight search.", ""])
    for title, note, header, rows in _sections(t):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
        lines += ["", note, "", COMMON_NOTE, ""]
    return "\n".join(lines)


def leaderboard_latex(t: pd.DataFrame) -> str:
    out = []
    for title, note, header, rows in _sections(t) if not t.empty else []:
        out += [f"% {title}", r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{'l' * len(header)}}}", r"\toprule",
                " & ".join(latex_text(h) for h in header) + r" \\", r"\midrule"]  # fmt: skip
        out += [" & ".join(latex_text(str(c)) for c in row) + r" \\" for row in rows]
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_text(note)}}}", r"\end{table}", ""]
    return "\n".join(out) if out else "% no record of a weight search\n"


def budget_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per search: after each rung, the training steps spent so far and the best tuning-split
    mIoU at that rung (the incumbent the search would pick if it stopped there)."""
    rows = []
    for ctx, method, state, grid, rungs in _searches(search_trials(tidy)):
        spent, previous = 0, 0
        for step in rungs:
            at = {m: s for (m, st), s in state.seen.items() if st == step}
            if not at:
                break
            spent += len(at) * (step - previous)
            previous = step
            best = max((s for s in at.values() if s is not None), default=float("nan"))
            rows.append(dict(zip(CONTEXT, ctx), method=method, steps_spent=spent, best_miou=100 * best, rung_step=step))
    return pd.DataFrame(rows)


def _figure_panels(frame: pd.DataFrame):
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(frame["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.0 * len(datasets), 4.2), squeeze=False)
    return fig, dict(zip(datasets, axes[0]))


def budget_figure(tidy: pd.DataFrame):
    """Best tuning-split mIoU against the training steps spent, one line per method and a panel
    per dataset; None without search trials."""
    import seaborn as sns

    points = budget_points(tidy)
    if points.empty:
        return None
    fig, panels = _figure_panels(points)
    for dataset, ax in panels.items():
        sns.lineplot(data=points[points["dataset"] == dataset], x="steps_spent", y="best_miou", hue="method", marker="o",
                     palette=_method_colours(points["method"]), ax=ax)  # fmt: skip
        ax.set(title=f"{dataset}: weight search budget", xlabel="training steps spent (all trials)", ylabel="best tuning mIoU at the rung (%)")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def _method_colours(methods: pd.Series) -> dict:
    """One colour per method, the same in every panel and figure: tab20's ten strong colours
    first, then its light ones (a default palette of 10 repeats itself past ten losses)."""
    import seaborn as sns

    tab20 = sns.color_palette("tab20", 20)
    colours = tab20[0::2] + tab20[1::2]
    return {m: colours[i % len(colours)] for i, m in enumerate(sorted(set(methods)))}


def weight_figure(tidy: pd.DataFrame):
    """Every trial's tuning-split mIoU against its weight multiplier (log scale), one line per
    method and rung: a flat curve is a loss that does not care much for its weight."""
    import seaborn as sns

    trials = search_trials(tidy)
    if trials.empty:
        return None
    points = trials.assign(miou_pct=100 * trials["miou"], rung=trials["step"].map(lambda s: f"step {s}"))
    fig, panels = _figure_panels(points)
    for dataset, ax in panels.items():
        sub = points[points["dataset"] == dataset]
        sns.lineplot(data=sub, x="multiplier", y="miou_pct", hue="method", style="rung", markers=True, dashes=True,
                     palette=_method_colours(points["method"]), ax=ax)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(sub["multiplier"])), [grid_text(m) for m in sorted(set(sub["multiplier"]))])
        ax.set(title=f"{dataset}: tuning mIoU against the weight", xlabel="multiplier on the default lambdas", ylabel="tuning mIoU (%)")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def weight_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """The search trials as a table: context, method, multiplier, step reached, tuning mIoU (%)."""
    trials = search_trials(tidy)
    if trials.empty:
        return trials
    return trials[CONTEXT + ["method", "multiplier", "step", "status", "miou", "run_id"]].assign(miou=lambda d: 100 * d["miou"])
