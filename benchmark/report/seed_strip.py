"""Table 1's seeds drawn one by one: a strip of each row's per-seed mIoU beside its mean.

A row whose seeds fall into two groups (SEMEDA (0,1,0) ends near 57 or near 62 depending on
the seed) has a mean between the groups and a wide interval; drawn seed by seed, the two
groups are seen as such. Every Table 1 row is drawn this way, so no rule decides which rows
"are" bimodal: the reader sees each row's seeds.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from benchmark.report.output import PartInput, PartOutput
from benchmark.report.stats import t_interval
from benchmark.report.tidy import BASELINE, CONTEXT, describe_context, keys_of, reported, table1_rows
from benchmark.spec import row_label

__all__ = ["STRIP_NOTE", "seed_points", "seed_strip_figure", "write_seed_strip"]

#: What the figure shows, for its caption and Table 1's note.
STRIP_NOTE = (
    "table1_seeds.png draws every row's seeds one by one (a dot per seed, a cross for a diverged run) beside the "
    "row's mean and 95% t-interval, so a row whose seeds fall into two groups shows two groups, not one wide interval."
)


def seed_points(tidy: pd.DataFrame, contexts: list[tuple]) -> pd.DataFrame:
    """The ok runs of Table 1's rows in ``contexts``: the context, ``label``, ``seed``,
    ``miou`` (%), ``diverged`` (bool), in Table 1's row order."""
    order = {key: i for i, key in enumerate(table1_rows())}
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial), as Table 1
    if tidy.empty:
        return pd.DataFrame(columns=CONTEXT + ["label", "seed", "miou", "diverged"])
    keys = keys_of(tidy)
    mask = [key in order for key in keys]
    ok = tidy[pd.Series(mask, index=tidy.index) & (tidy["status"] == "ok") & tidy["miou"].notna()].copy()
    ok["_ctx"] = list(zip(*(ok[c] for c in CONTEXT)))
    ok = ok[ok["_ctx"].isin(set(contexts))]
    ok["_order"] = [order[k] for k in keys_of(ok)]
    ok["label"] = [row_label(k) for k in keys_of(ok)]
    ok["miou"] = 100.0 * ok["miou"]
    ok["diverged"] = ok["diverged"].fillna(False).astype(bool) if "diverged" in ok.columns else False
    ok = ok.sort_values(["_order", "seed"], kind="stable")
    return ok[CONTEXT + ["label", "seed", "miou", "diverged"]].reset_index(drop=True)


def seed_strip_figure(points: pd.DataFrame):
    """One panel per context: a line per Table 1 row (the paper's order, top to bottom), a dot
    per seed's mIoU (a cross where the run diverged), and below the dots the row's mean with
    its 95% t-interval (cut to [0, 100]); PPCE's mean as a dashed line. ``None`` without points."""
    from matplotlib.figure import Figure

    if points.empty:
        return None
    contexts = list(dict.fromkeys(zip(*(points[c] for c in CONTEXT))))
    labels = list(dict.fromkeys(points["label"]))
    fig = Figure(figsize=(7.0, (0.34 * len(labels) + 1.1) * len(contexts)), layout="constrained")
    axes = fig.subplots(len(contexts), 1, squeeze=False)[:, 0]
    base_label = row_label(BASELINE)
    for ax, ctx in zip(axes, contexts):
        sel = points[(points[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
        for y, label in enumerate(labels):
            row = sel[sel["label"] == label]
            if row.empty:
                continue
            for diverged, marker in ((False, "o"), (True, "x")):
                part = row[row["diverged"] == diverged]
                ax.scatter(part["miou"], [y - 0.12] * len(part), marker=marker, s=16, color="C0" if not diverged else "C3",
                           alpha=0.8, linewidths=1.0)  # fmt: skip
            mean, half = t_interval(row["miou"])
            if half == half:
                # an mIoU lies in [0, 100]: the interval is drawn inside it
                ax.plot([max(mean - half, 0.0), min(mean + half, 100.0)], [y + 0.18] * 2, color="0.25", linewidth=1.2)
            ax.plot([mean], [y + 0.18], marker="|", markersize=9, color="k")
            ax.text(1.005, y, f"n={len(row)}", transform=ax.get_yaxis_transform(), fontsize=7, va="center")
        base = sel[sel["label"] == base_label]["miou"]
        if len(base):
            ax.axvline(base.mean(), color="0.5", linestyle="--", linewidth=0.8)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("mIoU (%): a dot per seed (x: diverged); bar: mean and 95% t-interval; dashed: PPCE's mean", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_title(textwrap.fill(describe_context(ctx[0], ctx[2], ctx[1], ctx[3], ctx[4]), 90), fontsize=8)
    return fig


def write_seed_strip(inputs: PartInput, out: PartOutput) -> None:
    """``table1_seeds.{png,svg}``: Table 1's rows seed by seed, in the contexts Table 1 shows."""
    from benchmark.report.tables import table1

    t = table1(inputs.reported)
    contexts = [tuple(c) for c in t[CONTEXT].drop_duplicates().itertuples(index=False)] if not t.empty else []
    fig = seed_strip_figure(seed_points(inputs.reported, contexts))
    if fig is None:
        out.warn("Table 1's seed figure skipped: no ok run of a Table 1 row")
        return
    out.figure("table1_seeds", fig, caption=STRIP_NOTE)
