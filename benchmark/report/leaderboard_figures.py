"""The leaderboard's figures: the tuned losses against PPCE (a forest plot), and their searches.

- ``forest_figure``: per context (a panel per dataset), every loss at its selected weight as its
  paired mIoU difference to PPCE over seeds, a point with its 95% t-interval, best first; a
  cross where a seed diverged, a hollow point where a single pair gives no interval.
- ``budget_figure``: per dataset, each search's best tuning-split mIoU at each rung against
  the training steps spent so far.
- ``weight_figure``: small multiples, a panel per loss, every trial's tuning-split mIoU
  against its weight multiplier, a line per dataset (colour) and rung (line style).

All three are drawn at a page's width (``style.PAGE_IN``) with one legend each.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.report.leaderboard import budget_points, search_trials
from benchmark.report.style import DIVERGED, PAGE_HEIGHT_IN, PAGE_IN, fit_title, method_styles, paper_style
from benchmark.report.tidy import CONTEXT, dataset_text, describe_context, display_rank
from benchmark.search_definition import SearchDefinition
from benchmark.tuning import grid_text

__all__ = ["FOREST_CAPTION", "budget_figure", "forest_figure", "forest_points", "weight_figure"]

FOREST_CAPTION = (
    "Each loss at the weight its search selected, against PPCE on the same seeds: the mean paired mIoU difference "
    "(points) with its 95% t-interval, best first, a panel per dataset; a cross marks a loss some of whose seeds "
    "diverged, a hollow point one pair (no interval)."
)


def forest_points(table: pd.DataFrame) -> pd.DataFrame:
    """The forest plot's rows from a table of paired differences (``leaderboard_table``, or any
    frame with the context, ``label``, ``diff_mean``, ``diff_ci_low``, ``diff_ci_high``,
    ``diff_n``, ``n``, ``n_failed``, ``n_diverged``): PPCE and the rows without a paired
    difference left out, per context best first (``order`` 0 at the top)."""
    columns = [*CONTEXT, "label", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_n", "n", "n_failed", "n_diverged", "order"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    rows = table[(table["diff_n"] > 0) & (table["diff_note"] != "baseline")].copy()
    rows = rows.sort_values(["diff_mean", "label"], ascending=[False, True], kind="mergesort")
    rows["order"] = rows.groupby(CONTEXT, sort=False).cumcount()
    order = {c: i for i, c in enumerate(dict.fromkeys(table[CONTEXT].itertuples(index=False, name=None)))}
    rows["_ctx"] = [order[c] for c in rows[CONTEXT].itertuples(index=False, name=None)]
    return rows.sort_values(["_ctx", "order"], kind="mergesort")[columns].reset_index(drop=True)


def forest_figure(table: pd.DataFrame):
    """The forest plot of ``forest_points(table)``: a panel per context, stacked; ``None``
    without a paired difference."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    points = forest_points(table)
    if points.empty:
        return None
    contexts = list(dict.fromkeys(points[CONTEXT].itertuples(index=False, name=None)))
    sizes = [int((points[CONTEXT] == pd.Series(c, index=CONTEXT)).all(axis=1).sum()) for c in contexts]
    height = min(PAGE_HEIGHT_IN, sum(0.19 * n + 0.75 for n in sizes) + 0.5)
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, height), layout="constrained")
        axes = fig.subplots(len(contexts), 1, squeeze=False, height_ratios=[n + 3 for n in sizes])[:, 0]
        for ax, ctx in zip(axes, contexts):
            mine = points[(points[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
            y = -mine["order"].to_numpy(float)
            mean = mine["diff_mean"].to_numpy(float)
            low, high = mine["diff_ci_low"].to_numpy(float), mine["diff_ci_high"].to_numpy(float)
            has = ~np.isnan(low)
            bad = mine["n_diverged"].to_numpy() > 0
            ax.hlines(y[has], low[has], high[has], color="0.35", lw=1.1)
            ax.scatter(mean[has & ~bad], y[has & ~bad], color="0.1", s=16, zorder=3)
            ax.scatter(mean[~has & ~bad], y[~has & ~bad], facecolors="white", edgecolors="0.1", s=16, zorder=3)
            ax.scatter(mean[bad], y[bad], **{**DIVERGED, "s": 30})
            for yy, (_, r) in zip(y, mine.iterrows()):
                if r["n_diverged"]:
                    note = f"diverged {int(r['n_diverged'])}/{int(r['n'] + r['n_failed'])}"
                    ax.annotate(note, (1.0, yy), xycoords=("axes fraction", "data"), xytext=(3, 0), textcoords="offset points",
                                va="center", fontsize=6.5, annotation_clip=False)  # fmt: skip
            ax.axvline(0, color="0.4", lw=0.8, ls="--")
            ax.set_yticks(y, mine["label"])
            ax.set_ylim(y.min() - 0.7, 0.7)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("Δ mIoU vs PPCE (points), mean over seeds with its 95% t-interval")
            c = dict(zip(CONTEXT, ctx))
            title = describe_context(c["dataset"], c["scale"], c["backbone"], c["init"], c["overrides"])
            ax.set_title(fit_title(title, PAGE_IN - 2.5, 8), loc="left")
        handles = [Line2D([], [], color="0.1", marker="o", ls="-", label="mean paired difference, 95% t-interval"),
                   Line2D([], [], color="0.4", ls="--", label="PPCE (0)")]  # fmt: skip
        if points["diff_ci_low"].isna().any():
            handles.append(Line2D([], [], color="0.1", marker="o", markerfacecolor="white", ls="", label="one pair: no interval"))
        if points["n_diverged"].gt(0).any():
            handles.append(Line2D([], [], ls="", marker="x", color="black", label="some seeds diverged (k/n at the right)"))
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
        fig.suptitle("Leaderboard: each loss at its searched weight against PPCE")
    return fig


def _by_dataset(frame: pd.DataFrame) -> list[str]:
    return sorted(set(frame["dataset"]), key=lambda d: display_rank("dataset", d))


def budget_figure(tidy: pd.DataFrame, definitions: list[SearchDefinition]):
    """Best tuning-split mIoU against the training steps spent, a line per method (colour, line
    style and marker of ``style.method_styles``) and a panel per dataset; None without search
    trials."""
    from matplotlib.figure import Figure

    points = budget_points(tidy, definitions)
    if points.empty:
        return None
    datasets = _by_dataset(points)
    styles = method_styles(sorted(set(points["method"])))
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, 3.2), layout="constrained")
        axes = fig.subplots(1, len(datasets), squeeze=False, sharey=True)[0]
        for ax, dataset in zip(axes, datasets):
            mine = points[points["dataset"] == dataset]
            for method, g in mine.groupby("method", sort=True):
                g = g.sort_values("steps_spent")
                ax.plot(g["steps_spent"], g["best_miou"], label=method, **styles[method])
            ax.set_title(fit_title(dataset_text(dataset), PAGE_IN / len(datasets) - 0.8))
            ax.set_xlabel("training steps spent by all trials")
        axes[0].set_ylabel("best tuning mIoU at the rung (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        seen = dict(zip(labels, handles))
        for ax in axes[1:]:
            h, lab = ax.get_legend_handles_labels()
            seen.update({k: v for k, v in zip(lab, h) if k not in seen})
        fig.legend(list(seen.values()), list(seen), loc="outside right upper", frameon=False, title="loss")
        fig.suptitle("Weight search: the best tuning mIoU at each rung against the budget spent")
    return fig


def weight_figure(tidy: pd.DataFrame, definitions: list[SearchDefinition] = ()):
    """Small multiples: a panel per method, every trial's tuning-split mIoU against its weight
    multiplier (log scale), a line per dataset (colour) and rung (line style), a cross on a
    trial that diverged: a flat curve is a loss that does not care much for its weight. PPCE's
    learning-rate search is the panel ``ppce (lr)`` (its multiplier is on the learning rate)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    trials = search_trials(tidy, definitions)
    if trials.empty:
        return None
    searched = trials["searched"] if "searched" in trials.columns else ["weight"] * len(trials)
    points = trials.assign(miou_pct=100 * trials["miou"], method=[m + (" (lr)" if k == "lr" else "") for m, k in zip(trials["method"], searched)])
    methods = sorted(set(points["method"]))
    datasets = _by_dataset(points)
    colours = {d: s["color"] for d, s in zip(datasets, method_styles(datasets).values())}
    rungs = sorted(set(points["step"]))
    dashes = dict(zip(rungs, [":", "--", "-", "-."] * 4)) if len(rungs) <= 3 else dict(zip(rungs, ["-", "--", ":", "-."] * 8))
    cols = 4
    rows = math.ceil(len(methods) / cols)
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, min(PAGE_HEIGHT_IN, 1.65 * rows + 0.9)), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
        for ax in axes.flat[len(methods):]:
            ax.set_visible(False)
        for ax, method in zip(axes.flat, methods):
            mine = points[points["method"] == method]
            for (dataset, step), g in mine.groupby(["dataset", "step"], sort=True):
                g = g.sort_values("multiplier")
                ax.plot(g["multiplier"], g["miou_pct"], color=colours[dataset], ls=dashes[step], marker="o", ms=2.5, lw=1)
                bad = g[g["diverged"].fillna(False).astype(bool)]
                if len(bad):
                    ax.scatter(bad["multiplier"], bad["miou_pct"], **{**DIVERGED, "s": 14})
            ax.set_xscale("log")
            ticks = sorted(set(mine["multiplier"]))
            shown = ticks if len(ticks) <= 4 else ticks[:: math.ceil(len(ticks) / 4)]
            ax.set_xticks(shown, [grid_text(m) for m in shown], fontsize=6)
            ax.minorticks_off()
            ax.set_title(method, fontsize=7.5)
        for ax in axes[:, 0]:
            ax.set_ylabel("tuning mIoU (%)")
        for k, (ax, method) in enumerate(zip(axes.flat, methods)):
            if k + cols >= len(methods):  # no panel below it
                ax.set_xlabel("× default learning rate" if method.endswith(" (lr)") else "× default weight")
        handles = [Line2D([], [], color=colours[d], label=dataset_text(d)) for d in datasets]
        handles += [Line2D([], [], color="0.3", ls=dashes[s], label=f"rung at step {s}") for s in rungs]
        if points["diverged"].fillna(False).astype(bool).any():
            handles.append(Line2D([], [], ls="", marker="x", color="black", label="a trial that diverged"))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
        fig.suptitle("Weight search: every trial's tuning mIoU against its weight, a panel per loss")
    return fig
