"""Figure 5 (trimap: mIoU against band width), the boundary metrics' figure, and Figures 6/7
(stored predictions as overlays): their points, their figures and the parts that write them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from benchmark.data import dataset_palette
from benchmark.overrides import overrides_text
from benchmark.records import decode_mask
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import frame_csv
from benchmark.report.tidy import (
    BASELINE,
    CONTEXT,
    ORDER,
    SEMEDA_BEST,
    describe_context,
    display_rank,
    is_reported,
    keys_of,
    load_folder,
    reported,
    sorted_rows,
    table1_rows,
    table2_rows,
    width_of,
)
from benchmark.spec import row_key, row_label


def _long_points(tidy: pd.DataFrame, regions: dict[str, str], value: str) -> pd.DataFrame:
    """Long form of the metric columns starting with a prefix of ``regions`` (prefix -> the
    region or metric name the figure shows) of ok runs of Table 2's rows and further methods
    (Table 1's other ablation rows are left out, as in Figure 5). Values in %."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    cols = [c for c in tidy.columns if c.startswith(tuple(regions))]
    if tidy.empty or not cols:
        return pd.DataFrame(columns=CONTEXT + ["label", "seed", "region", "width", value])
    keep = set(table2_rows())
    keys = keys_of(tidy)
    known = set(table1_rows()) | keep
    mask = [(k in keep or k not in known) for k in keys]
    ok = tidy[np.array(mask, dtype=bool) & (tidy["status"] == "ok").to_numpy()].copy()
    ok = ok[CONTEXT + ["label", "seed"] + cols]
    long = ok.melt(id_vars=CONTEXT + ["label", "seed"], value_vars=cols, var_name="column", value_name=value)
    long = long.dropna(subset=[value])
    long["region"] = long["column"].map(lambda c: next(r for p, r in regions.items() if c.startswith(p)))
    long["width"] = long["column"].map(width_of)
    long[value] = 100.0 * long[value]
    long = long.drop(columns="column")
    return sorted_rows(long, CONTEXT + ["label", "region", "width", "seed"])


def trimap_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Long form of the trimap columns: the context, ``label``, ``seed``, ``region``
    ("boundary" | "non-boundary"), ``width``, ``miou`` (%)."""
    return _long_points(tidy, {"boundary_miou_w": "boundary", "interior_miou_w": "non-boundary"}, "miou")


#: Figure of the boundary metrics: tidy column prefix -> panel name.
BOUNDARY_PANELS = {"biou_d": "Boundary IoU", "bf_t": "boundary F"}


def boundary_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Long form of the Boundary IoU and boundary F columns: the context, ``label``, ``seed``,
    ``region`` ("Boundary IoU" | "boundary F"), ``width`` (width d or tolerance t), ``value`` (%)."""
    return _long_points(tidy, BOUNDARY_PANELS, "value")


def trimap_summary(points: pd.DataFrame, value: str = "miou") -> pd.DataFrame:
    """The plotted points: mean, sample std and n over seeds per context, method, region, width."""
    if points.empty:
        return pd.DataFrame(columns=CONTEXT + ["label", "region", "width", "mean", "std", "n"])
    g = points.groupby(CONTEXT + ["label", "region", "width"], sort=False)[value]
    out = g.agg(mean="mean", std=lambda x: x.std(ddof=1) if len(x) > 1 else float("nan"), n="size").reset_index()
    return sorted_rows(out, CONTEXT + ["label", "region", "width"])


def _label_order(labels: Iterable[str]) -> list[str]:
    first = [row_label(k) for k in table2_rows()]
    labels = set(labels)
    return [x for x in first if x in labels] + sorted(labels - set(first))


def _line_panels(points: pd.DataFrame, regions: tuple[str, ...], value: str, xlabel: str, ylabel: str):
    """One row of panels per (dataset, scale, backbone, overrides), a column per region, one
    line per method (line style per initialisation), the seeds' spread as one sample std."""
    import seaborn as sns
    from matplotlib.figure import Figure

    points = points.copy()
    points["panel"] = [
        f"{d}, {s} scale, {b}" + (f", {o}" if o else "")
        for d, s, b, o in zip(points["dataset"], points["scale"], points["backbone"], points["overrides"])
    ]
    panels = list(dict.fromkeys(points["panel"]))
    hue_order = _label_order(points["label"])
    inits = [i for i in ORDER["init"] if i in set(points["init"])] + sorted(set(points["init"]) - set(ORDER["init"]))
    fig = Figure(figsize=(10, 3.6 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), len(regions), squeeze=False)
    last = len(regions) - 1
    with sns.axes_style("whitegrid"):
        for i, panel in enumerate(panels):
            for j, region in enumerate(regions):
                ax = axes[i, j]
                data = points[(points["panel"] == panel) & (points["region"] == region)].rename(columns={"label": "method"})
                sns.lineplot(
                    data=data, x="width", y=value, hue="method", hue_order=hue_order,
                    style="init" if len(inits) > 1 else None, style_order=inits if len(inits) > 1 else None,
                    errorbar="sd", marker="o", ax=ax, legend=(i == 0 and j == last),
                )  # fmt: skip
                ax.set_xticks(sorted(set(data["width"])))
                ax.set_title(f"{region}: {panel}", fontsize=9)
                ax.set_xlabel(xlabel)
                ax.set_ylabel(ylabel)
                ax.grid(True, alpha=0.3)
    if axes[0, last].get_legend() is not None:
        # Long handles, so that the line style of each initialisation can be told apart.
        sns.move_legend(axes[0, last], "upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize=8, handlelength=4)
    return fig


def trimap_figure(tidy: pd.DataFrame):
    """Figure 5: mIoU (%) against band width; columns boundary / non-boundary, one row per
    (dataset, scale, backbone), one line per method. ``None`` without trimap data."""
    points = trimap_points(tidy)
    if points.empty:
        return None
    return _line_panels(points, ("boundary", "non-boundary"), "miou", "trimap band width (px)", "mIoU (%)")


def boundary_figure(tidy: pd.DataFrame):
    """Boundary IoU against band width d and boundary F against tolerance t (%), per method,
    laid out as Figure 5. ``None`` without boundary metrics (records of earlier versions)."""
    points = boundary_points(tidy)
    if points.empty:
        return None
    return _line_panels(points, tuple(BOUNDARY_PANELS.values()), "value", "band width d / tolerance t (px)", "%")


def write_trimap(inputs: PartInput, out: PartOutput) -> None:
    """``trimap.{png,svg,csv}`` (Figure 5) and ``boundary.{png,csv}``; a warning for each
    figure the records cannot draw."""
    tidy = inputs.reported
    fig = trimap_figure(tidy)
    if fig is None:
        out.warn("trimap figure skipped: no ok run with trimap metrics")
    else:
        out.figure("trimap", fig, formats=("png", "svg"))
        out.text("trimap.csv", frame_csv(trimap_summary(trimap_points(tidy))))
    fig = boundary_figure(tidy)
    if fig is None:
        out.warn("boundary figure skipped: no ok run with Boundary IoU and boundary F counts")
    else:
        out.figure("boundary", fig)
        out.text("boundary.csv", frame_csv(trimap_summary(boundary_points(tidy), "value")))


# --------------------------------------------------------------------------- qualitative (Figures 6/7)


def class_palette(dataset: str, num_classes: int) -> np.ndarray:
    """uint8 [256, 3] colour per label of ``dataset`` (its ``DatasetInfo.palette``); a
    seaborn palette of ``num_classes`` colours for a dataset this version does not know."""
    try:
        return dataset_palette(dataset)
    except ValueError:
        import seaborn as sns

        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[:num_classes] = (np.array(sns.color_palette("husl", num_classes)) * 255).round().astype(np.uint8)
        return pal


def overlay(image: np.ndarray, labels: np.ndarray, pal: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """uint8 [H, W, 3]: the label colours blended over the image; void pixels black."""
    colour = pal[labels].astype(np.float32)
    out = (1 - alpha) * image.astype(np.float32) + alpha * colour
    out[labels == 255] = 0
    return out.round().astype(np.uint8)


def _decode_rgb(text: str) -> np.ndarray:
    img = decode_mask(text)
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]


def qualitative_figures(records_or_folder, max_images: int = 4) -> tuple[dict[str, object], list[str]]:
    """Figures 6/7 from the predictions stored in the records: per (dataset, scale, backbone),
    rows of image / ground truth / PPCE / SEMEDA (0,1,0) before ReLU, of the lowest seed
    (normally 0) at which both ran, from the first initialisation in the paper's order.

    Returns ({file stem: matplotlib Figure}, warnings). Records without stored ``image`` and
    ``target`` (older records) give a warning instead of a figure.
    """
    from matplotlib.figure import Figure

    if isinstance(records_or_folder, (str, os.PathLike)):
        records, warnings = load_folder(records_or_folder)
    else:
        records, warnings = list(records_or_folder), []
    runs: dict[tuple, dict[tuple, dict[int, dict]]] = {}
    for r in records:
        spec = r.get("spec") or {}
        if r.get("status") != "ok" or not r.get("predictions") or not is_reported(spec):
            continue
        key = row_key(spec.get("method", ""), spec.get("params") or {})
        if key not in (BASELINE, SEMEDA_BEST):
            continue
        ctx = (spec.get("dataset"), spec.get("scale"), spec.get("backbone"), overrides_text(spec), spec.get("init"))
        runs.setdefault(ctx, {}).setdefault(key, {})[int(spec.get("seed", 0))] = r
    chosen: dict[tuple, tuple] = {}
    for ctx in sorted(runs, key=lambda c: (display_rank("dataset", c[0]), display_rank("scale", c[1]), c[2], c[3], display_rank("init", c[4]))):
        seeds = sorted(set(runs[ctx].get(BASELINE, {})) & set(runs[ctx].get(SEMEDA_BEST, {})))
        if seeds and ctx[:4] not in chosen:
            chosen[ctx[:4]] = (ctx[4], seeds[0])
    figures = {}
    stems = {}
    for (dataset, scale, backbone, overrides), (init, seed) in chosen.items():
        base = runs[(dataset, scale, backbone, overrides, init)][BASELINE][seed]
        ours = runs[(dataset, scale, backbone, overrides, init)][SEMEDA_BEST][seed]
        shared = sorted(set(base["predictions"]) & set(ours["predictions"]), key=int)[:max_images]
        if not shared or any(k not in base["predictions"][i] for i in shared for k in ("image", "target")):
            warnings.append(
                f"qualitative figure for {dataset} ({scale}, {backbone}) skipped: its records store no "
                "input image and ground truth (records written before they were stored)"
            )
            continue
        pal = class_palette(dataset, len(base.get("class_names") or []) or 19)
        first = _decode_rgb(base["predictions"][shared[0]]["image"])
        h, w = first.shape[:2]
        cols = ("image", "ground truth", "PPCE", "SEMEDA (0,1,0) before ReLU")
        fig = Figure(figsize=(4 * 2.6, len(shared) * 2.6 * h / w + 0.6), layout="constrained")
        axes = fig.subplots(len(shared), 4, squeeze=False)
        for i, idx in enumerate(shared):
            p = base["predictions"][idx]
            image = _decode_rgb(p["image"])
            panels = (
                image,
                overlay(image, decode_mask(p["target"]), pal),
                overlay(image, decode_mask(p["pred"]), pal),
                overlay(image, decode_mask(ours["predictions"][idx]["pred"]), pal),
            )
            for j, panel in enumerate(panels):
                ax = axes[i, j]
                ax.imshow(panel, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(cols[j], fontsize=9)
                if j == 0:
                    ax.set_ylabel(str(p.get("id", idx)), fontsize=7)
        fig.suptitle(f"{describe_context(dataset, scale, backbone, init, overrides)}; seed {seed}", fontsize=9)
        stem = f"qualitative_{dataset}_{scale}"
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem += f"_{re.sub(r'[^A-Za-z0-9]+', '-', backbone + ' ' + overrides).strip('-')}"
        figures[stem] = fig
    return figures, warnings


def write_qualitative(inputs: PartInput, out: PartOutput) -> None:
    """``qualitative_<dataset>_<scale>[_<backbone and settings>].png`` (Figures 6/7)."""
    figures, warnings = qualitative_figures(inputs.reported_records)
    out.warnings.extend(warnings)
    for stem, fig in figures.items():
        out.figure(stem, fig)
