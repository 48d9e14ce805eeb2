"""Figure 5 (trimap: mIoU against band width), the boundary metrics' figure, and Figures 6/7
(stored predictions as overlays): their points, their figures and the parts that write them.

Figure 5 is drawn as the paper draws it: PPCE and the SEMEDA rows of Table 2 (``FIGURE5_ROWS``),
a panel per dataset and region (boundary, non-boundary), a line per method and initialisation
(the mean over seeds, its band one sample std), a cross on each seed that diverged. One figure
file per setting of the Table 2 suite (``trimap.png`` for the first, the scale's own settings;
``trimap_<scale>_<backbone and settings>.png`` for the others), at a page's width
(``style.PAGE_IN``), a PNG at 300 dpi beside its SVG twin.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.data import dataset_palette
from benchmark.overrides import overrides_text
from benchmark.records import decode_mask
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import frame_csv
from benchmark.report.scope import made_by_a_study
from benchmark.report.style import DIVERGED, PAGE_HEIGHT_IN, PAGE_IN, PAPER_DPI, fit_title, method_styles, paper_style, slug
from benchmark.report.tidy import (
    BASELINE,
    CONTEXT,
    ORDER,
    SEMEDA_BEST,
    dataset_text,
    describe_context,
    display_rank,
    is_reported,
    keys_of,
    load_folder,
    reported,
    sorted_rows,
    table2_rows,
    width_of,
)
from benchmark.spec import row_key, row_label


def figure5_rows() -> list[tuple]:
    """Figure 5's methods: PPCE and the SEMEDA rows of Table 2, in Table 2's order."""
    return [k for k in table2_rows() if k == BASELINE or k[0] == "semeda"]


#: A group of Figure 5: the contexts drawn in one figure file (scale, backbone, settings).
GROUP = ["scale", "backbone", "overrides"]


def _study_contexts(tidy: pd.DataFrame) -> set[tuple]:
    """The contexts of ``tidy`` that a protocol study made (``scope.made_by_a_study``)."""
    if tidy.empty:
        return set()
    return {tuple(ctx) for ctx, g in tidy.groupby(CONTEXT, sort=False) if made_by_a_study(tuple(ctx), set(keys_of(g)))}


def _long_points(tidy: pd.DataFrame, regions: dict[str, str], value: str, figure_only: bool = True) -> pd.DataFrame:
    """Long form of the metric columns starting with a prefix of ``regions`` (prefix -> the
    region or metric name the figure shows) of the ok runs of Figure 5's rows, in the contexts
    the Table 2 and trimap suites made (a protocol study's contexts are its own tables'); of
    every ok run with ``figure_only=False``. Values in %; ``diverged``: the run diverged by the
    suite's rule."""
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    cols = [c for c in tidy.columns if c.startswith(tuple(regions))]
    columns = CONTEXT + ["label", "seed", "diverged", "region", "width", value]
    if tidy.empty or not cols:
        return pd.DataFrame(columns=columns)
    mask = np.ones(len(tidy), dtype=bool)
    if figure_only:
        studies = _study_contexts(tidy)
        keep = set(figure5_rows())
        in_study = [tuple(c) in studies for c in tidy[CONTEXT].itertuples(index=False, name=None)]
        mask = np.array([k in keep for k in keys_of(tidy)], dtype=bool) & ~np.array(in_study, dtype=bool)
    ok = tidy[mask & (tidy["status"] == "ok").to_numpy()].copy()
    ok["diverged"] = ok["diverged"].fillna(False).astype(bool)
    ok = ok[CONTEXT + ["label", "seed", "diverged"] + cols]
    long = ok.melt(id_vars=CONTEXT + ["label", "seed", "diverged"], value_vars=cols, var_name="column", value_name=value)
    long = long.dropna(subset=[value])
    if long.empty:
        return pd.DataFrame(columns=columns)
    long["region"] = long["column"].map(lambda c: next(r for p, r in regions.items() if c.startswith(p)))
    long["width"] = long["column"].map(width_of)
    long[value] = 100.0 * long[value]
    long = long.drop(columns="column")
    return sorted_rows(long, CONTEXT + ["label", "region", "width", "seed"])[columns]


def trimap_points(tidy: pd.DataFrame, figure_only: bool = True) -> pd.DataFrame:
    """Long form of the trimap columns: the context, ``label``, ``seed``, ``diverged``,
    ``region`` ("boundary" | "non-boundary"), ``width``, ``miou`` (%); Figure 5's runs, or
    every run with ``figure_only=False``."""
    return _long_points(tidy, {"boundary_miou_w": "boundary", "interior_miou_w": "non-boundary"}, "miou", figure_only)


#: Figure of the boundary metrics: tidy column prefix -> panel name.
BOUNDARY_PANELS = {"biou_d": "Boundary IoU", "bf_t": "boundary F"}


def boundary_points(tidy: pd.DataFrame, figure_only: bool = True) -> pd.DataFrame:
    """Long form of the Boundary IoU and boundary F columns: the context, ``label``, ``seed``,
    ``diverged``, ``region`` ("Boundary IoU" | "boundary F"), ``width`` (width d or tolerance
    t), ``value`` (%); Figure 5's runs, or every run with ``figure_only=False``."""
    return _long_points(tidy, BOUNDARY_PANELS, "value", figure_only)


def trimap_summary(points: pd.DataFrame, value: str = "miou") -> pd.DataFrame:
    """The plotted points: mean, sample std, n and the number of diverged seeds per context,
    method, region, width."""
    if points.empty:
        return pd.DataFrame(columns=CONTEXT + ["label", "region", "width", "mean", "std", "n", "n_diverged"])
    g = points.groupby(CONTEXT + ["label", "region", "width"], sort=False)
    out = g[value].agg(mean="mean", std=lambda x: x.std(ddof=1) if len(x) > 1 else float("nan"), n="size").reset_index()
    out["n_diverged"] = g["diverged"].sum().astype(int).to_numpy()
    return sorted_rows(out, CONTEXT + ["label", "region", "width"])


def _label_order(labels: Iterable[str]) -> list[str]:
    first = [row_label(k) for k in table2_rows()]
    labels = set(labels)
    return [x for x in first if x in labels] + sorted(labels - set(first))


def _groups(points: pd.DataFrame) -> list[tuple]:
    """The figure files' groups of ``points``: (scale, backbone, overrides), the scale's own
    settings first, in the paper's order of scales."""
    groups = set(points[GROUP].itertuples(index=False, name=None))
    return sorted(groups, key=lambda g: (display_rank("scale", g[0]), g[1], g[2] != "", g[2]))


def _group_stem(name: str, group: tuple, first: bool) -> str:
    scale, backbone, overrides = group
    return name if first else f"{name}_{scale}_{slug(backbone + ' ' + overrides)}"


def _line_panels(points: pd.DataFrame, regions: tuple[str, ...], value: str, title: str, xlabels: tuple[str, ...], ylabel: str):
    """One group's figure: a panel per (dataset, region), a line per method (colour, marker) and
    initialisation (line style), the mean over seeds with one sample std as a band (within
    0..100), a cross on each diverged seed; one legend below the panels. ``xlabels``: one per
    region."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    datasets = sorted(set(points["dataset"]), key=lambda d: display_rank("dataset", d))
    labels = _label_order(points["label"])
    styles = method_styles(labels)
    inits = sorted(set(points["init"]), key=lambda i: display_rank("init", i))
    dashes = dict(zip(inits, ["-", "--", ":", "-."] * 4))
    height = min(PAGE_HEIGHT_IN, 2.3 * len(datasets) + 1.3)
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, height), layout="constrained")
        axes = fig.subplots(len(datasets), len(regions), squeeze=False)
        for i, dataset in enumerate(datasets):
            for j, region in enumerate(regions):
                ax = axes[i, j]
                data = points[(points["dataset"] == dataset) & (points["region"] == region)]
                for label in labels:
                    for init in inits:
                        runs = data[(data["label"] == label) & (data["init"] == init)]
                        if runs.empty:
                            continue
                        g = runs.groupby("width")[value]
                        mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
                        st = styles[label]
                        ax.fill_between(mean.index, (mean - std).clip(0, 100), (mean + std).clip(0, 100), color=st["color"], alpha=0.15, lw=0)
                        ax.plot(mean.index, mean.to_numpy(), color=st["color"], ls=dashes[init], marker=st["marker"])
                        bad = runs[runs["diverged"]]
                        if len(bad):
                            ax.scatter(bad["width"], bad[value], **DIVERGED)
                ax.set_xticks(sorted(set(data["width"])) or sorted(set(points["width"])))
                ax.set_title(fit_title(f"{dataset_text(dataset)}: {region}", PAGE_IN / len(regions) - 0.3), fontsize=8)
                ax.set_xlabel(xlabels[j])
                ax.set_ylabel(ylabel)
        handles = [Line2D([], [], color=styles[lab]["color"], marker=styles[lab]["marker"], label=lab) for lab in labels]
        if len(inits) > 1:
            handles += [Line2D([], [], color="0.2", ls=dashes[i], label=f"{i} (initialisation)") for i in inits]
        handles.append(Patch(color="0.5", alpha=0.3, label="± 1 sample std over seeds"))
        if points["diverged"].any():
            handles.append(Line2D([], [], ls="", marker="x", color="black", label="a seed that diverged"))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), frameon=False)
        fig.suptitle(fit_title(title, PAGE_IN - 0.3, 9))
    return fig


def _group_figures(points: pd.DataFrame, name: str, regions: tuple[str, ...], value: str, what: str, xlabels: tuple[str, ...],
                   ylabel: str) -> dict[str, object]:  # fmt: skip
    figures = {}
    for n, group in enumerate(_groups(points)):
        scale, backbone, overrides = group
        mine = points[(points[GROUP] == pd.Series(group, index=GROUP)).all(axis=1)]
        title = f"{what}: {scale} scale, {backbone}" + (f", settings {overrides}" if overrides else "")
        figures[_group_stem(name, group, n == 0)] = _line_panels(mine, regions, value, title, xlabels, ylabel)
    return figures


def trimap_figures(tidy: pd.DataFrame) -> dict[str, object]:
    """Figure 5 per setting of the Table 2 suite: {file stem: figure} (``trimap`` first); empty
    without trimap data."""
    return _group_figures(trimap_points(tidy), "trimap", ("boundary", "non-boundary"), "miou",
                          "Figure 5, trimap mIoU against band width", ("trimap band half-width w (px)",) * 2, "mIoU (%)")  # fmt: skip


def trimap_figure(tidy: pd.DataFrame):
    """Figure 5 at the first setting of ``trimap_figures`` (the scale's own), or ``None``
    without trimap data."""
    return next(iter(trimap_figures(tidy).values()), None)


def boundary_figures(tidy: pd.DataFrame) -> dict[str, object]:
    """Boundary IoU against band width d and boundary F against tolerance t (%) for Figure 5's
    methods, laid out as Figure 5: {file stem: figure} (``boundary`` first)."""
    return _group_figures(boundary_points(tidy), "boundary", tuple(BOUNDARY_PANELS.values()), "value",
                          "Boundary IoU and boundary F", ("band width d (px)", "tolerance t (px)"), "score (%)")  # fmt: skip


def boundary_figure(tidy: pd.DataFrame):
    """The first of ``boundary_figures``, or ``None`` without boundary metrics (records of
    earlier versions)."""
    return next(iter(boundary_figures(tidy).values()), None)


#: What the results page says of Figure 5 and of the boundary figure.
TRIMAP_CAPTION = (
    "Figure 5: mIoU (%) in the boundary band of half-width w around the ground truth's edges and in the rest of the "
    "image (non-boundary), for PPCE and Table 2's SEMEDA row; lines are means over seeds, bands one sample std, "
    "a cross marks a seed that diverged."
)
BOUNDARY_CAPTION = (
    "Boundary IoU against its band width d and boundary F against its tolerance t (%), for Figure 5's methods; "
    "lines are means over seeds, bands one sample std."
)


def write_trimap(inputs: PartInput, out: PartOutput) -> None:
    """``trimap.{png,svg}`` (Figure 5; ``trimap_<...>.{png,svg}`` for the Table 2 suite's
    other settings) and ``boundary.{png,svg}`` the same way; a warning for each figure the
    records cannot draw. ``trimap.csv`` and ``boundary.csv`` hold the points of every run that
    has them, whatever its method or suite (a user's own loss included): the figures draw a
    part of them."""
    tidy = inputs.reported
    for name, figures, points, value, caption, what in (
        ("trimap", trimap_figures(tidy), trimap_points(tidy, figure_only=False), "miou", TRIMAP_CAPTION, "trimap metrics"),
        ("boundary", boundary_figures(tidy), boundary_points(tidy, figure_only=False), "value", BOUNDARY_CAPTION,
         "Boundary IoU and boundary F counts"),
    ):  # fmt: skip
        if not figures:
            out.warn(f"{name} figure skipped: no run of Figure 5's methods with {what}")
        for stem, fig in figures.items():
            out.figure(stem, fig, caption=caption, dpi=PAPER_DPI)
        if not points.empty:
            out.text(f"{name}.csv", frame_csv(trimap_summary(points, value)))


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


#: The colour of void (unscored) pixels in an overlay: white, as the paper's Figure 4 draws them
#: (black is a class of its own in the VOC colour map: background).
VOID_COLOUR = (255, 255, 255)


def overlay(image: np.ndarray, labels: np.ndarray, pal: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """uint8 [H, W, 3]: the label colours blended over the image; void pixels ``VOID_COLOUR``."""
    colour = pal[labels].astype(np.float32)
    out = (1 - alpha) * image.astype(np.float32) + alpha * colour
    out[labels == 255] = VOID_COLOUR
    return out.round().astype(np.uint8)


def _decode_rgb(text: str) -> np.ndarray:
    img = decode_mask(text)
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]


@dataclass(frozen=True)
class QualitativeChoice:
    """The runs one qualitative figure shows: PPCE's and SEMEDA (0,1,0)'s records at ``seed``
    in one context, and the ids (keys of their ``predictions``) of the images shown."""

    dataset: str
    scale: str
    backbone: str
    overrides: str
    init: str
    seed: int
    base: dict
    ours: dict
    shown: tuple[str, ...]


def qualitative_choices(records: Iterable[dict], max_images: int = 4) -> tuple[dict[str, QualitativeChoice], list[str]]:
    """Which runs Figures 6/7 show: per (dataset, scale, backbone, settings), PPCE and SEMEDA
    (0,1,0) before ReLU at the lowest seed (normally 0) at which both ran with stored
    predictions, from the first initialisation in the paper's order, and their first
    ``max_images`` shared images. Returns ({file stem: choice}, warnings): records without a
    stored ``image`` and ``target`` (older records) give a warning instead of a choice."""
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
    out, warnings, stems = {}, [], {}
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
        stem = f"qualitative_{dataset}_{scale}"
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem += f"_{slug(backbone + ' ' + overrides)}"
        out[stem] = QualitativeChoice(dataset, scale, backbone, overrides, init, seed, base, ours, tuple(shared))
    return out, warnings


def _class_names(record: dict, count: int) -> list[str]:
    names = list(record.get("class_names") or [])
    return names + [f"class {i}" for i in range(len(names), count)]


def qualitative_figure(choice: QualitativeChoice):
    """Figures 6/7 for one choice of ``qualitative_choices``: a row per image (its id at the
    left), columns image / ground truth / PPCE / SEMEDA (0,1,0) before ReLU, the label colours
    over the image, and a legend of the colours of every class shown (void in white)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    base, ours = choice.base, choice.ours
    num_classes = len(base.get("class_names") or []) or 19
    pal = class_palette(choice.dataset, num_classes)
    first = _decode_rgb(base["predictions"][choice.shown[0]]["image"])
    h, w = first.shape[:2]
    cols = ("image", "ground truth", "PPCE", "SEMEDA (0,1,0) before ReLU")
    panel_w = (PAGE_IN - 1.3) / 4
    rows, seen = [], set()
    for idx in choice.shown:
        p = base["predictions"][idx]
        image = _decode_rgb(p["image"])
        masks = (decode_mask(p["target"]), decode_mask(p["pred"]), decode_mask(ours["predictions"][idx]["pred"]))
        for m in masks:
            seen |= set(np.unique(m).tolist())
        rows.append((str(p.get("id", idx)), image, masks))
    classes = sorted(c for c in seen if c != 255 and c < num_classes)
    names = _class_names(base, num_classes)
    legend_rows = -(-(len(classes) + (255 in seen)) // 6)
    height = min(PAGE_HEIGHT_IN, len(rows) * panel_w * h / w + 0.75 + 0.17 * legend_rows)
    with paper_style():
        fig = Figure(figsize=(PAGE_IN, height), layout="constrained")
        axes = fig.subplots(len(rows), 4, squeeze=False)
        for i, (name, image, masks) in enumerate(rows):
            panels = (image, *(overlay(image, m, pal) for m in masks))
            for j, panel in enumerate(panels):
                ax = axes[i, j]
                ax.imshow(panel, interpolation="none")  # the SVG keeps each image at its own resolution
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if i == 0:
                    ax.set_title(fit_title(cols[j], panel_w - 0.1, 7.5), fontsize=7.5)
                if j == 0:
                    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=6.5)
        handles = [Patch(facecolor=pal[c] / 255, edgecolor="0.4", lw=0.3, label=names[c]) for c in classes]
        if 255 in seen:
            handles.append(Patch(facecolor=np.array(VOID_COLOUR) / 255, edgecolor="0.4", lw=0.3, label="void (not scored)"))
        fig.legend(handles=handles, loc="outside lower center", ncol=6, frameon=False, fontsize=6.5, handlelength=1.2,
                   columnspacing=1.0)  # fmt: skip
        title = f"{describe_context(choice.dataset, choice.scale, choice.backbone, choice.init, choice.overrides)}; seed {choice.seed}"
        fig.suptitle(fit_title(title, PAGE_IN - 0.3, 8.5), fontsize=8.5)
    return fig


def qualitative_figures(records_or_folder, max_images: int = 4) -> tuple[dict[str, object], list[str]]:
    """Figures 6/7 from the predictions stored in the records (``qualitative_choices``): per
    (dataset, scale, backbone, settings), rows of image / ground truth / PPCE / SEMEDA (0,1,0)
    before ReLU, with a legend of the class colours.

    Returns ({file stem: matplotlib Figure}, warnings). Records without stored ``image`` and
    ``target`` (older records) give a warning instead of a figure.
    """
    if isinstance(records_or_folder, (str, os.PathLike)):
        records, warnings = load_folder(records_or_folder)
    else:
        records, warnings = list(records_or_folder), []
    choices, skipped = qualitative_choices(records, max_images)
    return {stem: qualitative_figure(choice) for stem, choice in choices.items()}, warnings + skipped


#: What the results page says of Figures 6/7.
QUALITATIVE_CAPTION = (
    "Figures 6/7: validation images, their ground truth and the predictions of PPCE and SEMEDA (0,1,0) before ReLU "
    "at the same seed, the class colours blended over the image (void in white)."
)


def write_qualitative(inputs: PartInput, out: PartOutput) -> None:
    """``qualitative_<dataset>_<scale>[_<backbone and settings>].{png,svg}`` (Figures 6/7)."""
    figures, warnings = qualitative_figures(inputs.reported_records)
    out.warnings.extend(warnings)
    for stem, fig in figures.items():
        out.figure(stem, fig, caption=QUALITATIVE_CAPTION, dpi=PAPER_DPI)
