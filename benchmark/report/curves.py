"""Loss curves as a figure: each row's PPCE term and total against the step, per seed.

One panel per (context, row), one thin line per seed and term, log scale, so that a
divergence (a PPCE term thrown far above chance, or one that never leaves log C) is seen
at a glance; a cross ends the PPCE curve of a run the divergence rule marks. The dashed line
is log C, a uniform prediction's cross-entropy. Its vector twin is a PDF: thousands of
logged points make an SVG four times its size.
"""

from __future__ import annotations

import math

from benchmark.data import dataset_info
from benchmark.divergence import record_diverged
from benchmark.overrides import overrides_text, settings_text
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.style import DIVERGED
from benchmark.report.tidy import is_reported
from benchmark.spec import row_key, row_label

__all__ = ["CURVE_SUITES", "curves_figure", "suite_records", "write_curves"]

#: The suites whose runs' loss curves the report draws, one figure each, in this order (the
#: leaderboard's runs are drawn by its budget and weight figures).
CURVE_SUITES = ("table1", "table2", "trimap", "sensitivity", "multiverse")

_MAX_COLUMNS = 4


def _panels(records: list[dict], keys: set | None) -> dict[tuple, list[dict]]:
    panels: dict[tuple, list[dict]] = {}
    for r in records:
        spec = r.get("spec") or {}
        curve = r.get("loss_curve") or {}
        if not curve.get("step") or "ppce" not in curve:
            continue
        key = row_key(spec.get("method", ""), spec.get("params") or {})
        if keys is not None and key not in keys:
            continue
        ctx = (spec.get("dataset", ""), spec.get("scale", ""), spec.get("backbone", ""), spec.get("init", ""), overrides_text(spec))
        panels.setdefault((ctx, key), []).append(r)
    return panels


def curves_figure(records: list[dict], keys: set | None = None):
    """The figure of the records' loss curves (rows limited to ``keys`` when given), or None
    when no record holds a curve."""
    import seaborn as sns
    from matplotlib.figure import Figure

    panels = _panels(records, keys)
    if not panels:
        return None
    order = sorted(panels, key=lambda p: (p[0], row_label(p[1])))
    cols = min(_MAX_COLUMNS, len(order))
    rows = math.ceil(len(order) / cols)
    fig = Figure(figsize=(3.4 * cols, 2.5 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    colours = dict(zip(("ppce", "total"), sns.color_palette("deep", 2)))
    for ax in axes.flat[len(order):]:
        ax.set_visible(False)
    marked = False
    for ax, panel in zip(axes.flat, order):
        (dataset, scale, backbone, init, overrides), key = panel
        try:
            num_classes = dataset_info(dataset).num_classes
        except ValueError:
            num_classes = None
        for r in sorted(panels[panel], key=lambda r: r["spec"].get("seed", 0)):
            curve = r["loss_curve"]
            for term in ("total", "ppce"):
                if term in curve:
                    values = [v if v is not None and v > 0 else float("nan") for v in curve[term]]
                    ax.plot(curve["step"], values, lw=0.7, alpha=0.8, color=colours[term],
                            label=term if r is panels[panel][0] else None)  # fmt: skip
            if num_classes and record_diverged(r, num_classes):
                last = next((i for i in range(len(curve["ppce"]) - 1, -1, -1) if (curve["ppce"][i] or 0) > 0), None)
                if last is not None:
                    ax.scatter([curve["step"][last]], [curve["ppce"][last]], label=None if marked else "diverged", **{**DIVERGED, "s": 14})
                    marked = True
        if num_classes:
            ax.axhline(math.log(num_classes), color="0.4", lw=0.6, ls="--")
        ax.set_yscale("log")
        title = row_label(key) + f"\n{dataset}, {scale}, {init}" + (f", {overrides}" if overrides else "")
        ax.set_title(title, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(True, alpha=0.3, which="both", lw=0.4)
    handles = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(list(handles.values()), list(handles), loc="outside upper right", fontsize=7, frameon=False, ncol=len(handles))
    fig.supxlabel("training step", fontsize=8)
    fig.supylabel("loss (log scale); dashed: log C", fontsize=8)
    return fig


def suite_records(records: list[dict], suite: str) -> list[dict]:
    """The records of ``suite``'s rows: the row's method and parameters, run under the row's
    own settings (its overrides and no others); any run of those rows when none matches so
    (a suite run with ``--set``)."""
    from benchmark.suites import get_suite

    rows = get_suite(suite).rows
    records = [r for r in records if is_reported(r.get("spec") or {})]
    exact = {(r.key(), settings_text(r.overrides_dict())) for r in rows}
    keys = {r.key() for r in rows}
    spec_of = [(r, r.get("spec") or {}) for r in records]
    keyed = [(r, row_key(s.get("method", ""), s.get("params") or {}), s) for r, s in spec_of if s.get("method")]
    chosen = [r for r, k, s in keyed if (k, overrides_text(s)) in exact]
    return chosen or [r for r, k, _ in keyed if k in keys]


def write_curves(inputs: PartInput, out: PartOutput) -> None:
    """``curves_<suite>.png`` for each suite of ``CURVE_SUITES`` the build covers."""
    for suite in inputs.suites:
        if suite not in CURVE_SUITES:
            continue
        fig = curves_figure(suite_records(inputs.reported_records, suite), None)
        if fig is not None:
            out.figure(f"curves_{suite}", fig, formats=("png", "pdf"),
                       caption=f"The loss curves of the {suite} suite's runs: per row and context, each seed's PPCE term and total "
                               "against the step (log scale); dashed: log C; a cross: a run that diverged.")  # fmt: skip
