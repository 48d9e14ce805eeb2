"""Run records -> tidy table -> the paper's tables and figures, with seeds and intervals.

    python -m benchmark.report [--suite table1|table2|trimap|all] [--records runs] [--out runs/report]

Reads records only; never trains. What it writes in ``--out``:

- ``tidy.parquet``, ``tidy.csv``: one row per run (failed runs included, as rows).
  Columns: ``run_id``, spec (``method``, ``lambdas`` as text such as ``"0,1,0"`` or
  ``""``, ``relu``, ``dataset``, ``backbone``, ``scale``, ``init``, ``seed``),
  ``overrides`` (settings that differ from the scale's defaults, ``"steps=200"``, or
  ``""``), ``label``, ``status``, ``reason``, ``failed_step``, ``miou`` (fraction 0..1),
  the trimap in wide form, ``boundary_miou_w<w>`` and ``interior_miou_w<w>`` per band
  width ``w`` (fractions; NaN where a run has no such width), ``wall_s``, ``train_s``,
  ``eval_s``, ``device``, ``threads``, ``edge_f1`` (the frozen edge net's F1, where the
  method uses one), ``version``, ``data_version``.
- ``table1.{md,csv,tex}``: the paper's Table 1 rows (and any further method) per
  context, i.e. per (dataset, backbone, scale, init, overrides).
- ``table2.{md,csv,tex}``: Table 2, dataset x initialisation x method.
- ``trimap.{png,svg,csv}``: Figure 5, mIoU against trimap band width.
- ``qualitative_<dataset>_<scale>.png``: Figures 6/7, stored predictions as overlays.

Statistics, in % mIoU: mean and sample standard deviation (ddof 1) over seeds; the
paired difference to PPCE is taken seed by seed within the same context, and its mean
gets a 95% Student-t interval (none for a single pair). Missing and failed runs are
shown as such, never as numbers. Tables are byte-for-byte reproducible from the same
records: rows are sorted and floats formatted with fixed decimals.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmark import paper
from benchmark.cli import main_guard
from benchmark.records import decode_mask, load_records

__all__ = [
    "SUITE_PARTS",
    "Report",
    "build_report",
    "load_tidy",
    "tidy_records",
    "t_interval",
    "paired_differences",
    "table1",
    "table2",
    "table_markdown",
    "table_latex",
    "table_csv",
    "trimap_points",
    "trimap_summary",
    "trimap_figure",
    "qualitative_figures",
    "class_palette",
    "main",
]

#: What each ``--suite`` rebuilds; the tidy table and the qualitative figures come with all.
SUITE_PARTS: dict[str, tuple[str, ...]] = {
    "table1": ("table1",),
    "table2": ("table2",),
    "trimap": ("trimap",),
    "all": ("table1", "table2", "trimap"),
}

CONTEXT = ["dataset", "backbone", "scale", "init", "overrides"]
_ORDER = {
    "dataset": ("cityscapes", "voc", "streets", "shapes"),
    "scale": ("paper", "small", "smoke"),
    "init": ("imagenet", "imagenet+coco", "scratch", "synthetic-pretrained"),
}
_DATASET_TEXT = {
    "cityscapes": "Cityscapes",
    "voc": "Pascal VOC 2012",
    "streets": "streets (synthetic, Cityscapes-like)",
    "shapes": "shapes (synthetic, VOC-like)",
}
_INIT_TEXT = {
    "scratch": "trained from scratch",
    "synthetic-pretrained": "pre-trained on a larger, separate synthetic set",
    "imagenet": "pre-trained on ImageNet",
    "imagenet+coco": "pre-trained on ImageNet and MS COCO",
}
#: Table 2: which paper column and row group a dataset / initialisation stands for.
_TABLE2_DATASET = {"cityscapes": "Cityscapes", "streets": "Cityscapes", "voc": "VOC", "shapes": "VOC"}
_TABLE2_INIT = {
    "imagenet": "ImageNet", "scratch": "ImageNet",
    "imagenet+coco": "ImageNet+MsCoco", "synthetic-pretrained": "ImageNet+MsCoco",
}  # fmt: skip
_BASELINE = paper.row_key("ppce")
_SEMEDA_BEST = paper.row_key("semeda", (0, 1, 0))


def _table1_rows() -> list[tuple]:
    from benchmark.suites import TABLE1_ROWS

    return [paper.row_key(r.method, r.lambdas, r.relu) for r in TABLE1_ROWS]


def _table2_rows() -> list[tuple]:
    from benchmark.suites import TABLE2_ROWS

    return [paper.row_key(r.method, r.lambdas, r.relu) for r in TABLE2_ROWS]


# --------------------------------------------------------------------------- tidy table


def _lambdas_text(lambdas) -> str:
    return ",".join(f"{float(v):g}" for v in (lambdas or ()))


def _parse_lambdas(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",")) if text else ()


def _row_of(method: str, lambdas_text: str, relu: bool) -> tuple:
    return paper.row_key(method, _parse_lambdas(lambdas_text), relu)


def _row_label(key: tuple) -> str:
    method, lambdas, relu = key
    text = method + (f"({_lambdas_text(lambdas)})" if lambdas else "")
    if method == "semeda":
        text += " after ReLU" if relu else " before ReLU"
    return text


def _overrides(spec: dict) -> str:
    """Settings of ``spec`` that differ from its scale's defaults, as ``k=v`` text ("" if none)."""
    settings = spec.get("settings") or {}
    try:
        from benchmark.spec import scale_settings

        default = asdict(scale_settings(spec["scale"], spec.get("dataset")))
    except (KeyError, ValueError, TypeError):
        default = {}

    def same(a, b):
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    diffs = []
    for key in sorted(settings):
        value = settings[key]
        if key in default and same(value, default[key]):
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
        diffs.append(f"{key}={value}")
    return " ".join(diffs)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _tidy_row(record: dict) -> dict:
    spec = record.get("spec") or {}
    params = spec.get("params") or {}
    metrics = record.get("metrics") or {}
    timing = record.get("timing") or {}
    row = {
        "run_id": record["run_id"],
        "method": spec.get("method", ""),
        "lambdas": _lambdas_text(params.get("lambdas")),
        "relu": bool(params.get("relu", False)),
        "dataset": spec.get("dataset", ""),
        "backbone": spec.get("backbone", ""),
        "scale": spec.get("scale", ""),
        "init": spec.get("init", ""),
        "seed": int(spec.get("seed", -1)),
        "overrides": _overrides(spec) if spec.get("scale") else "",
        "label": record.get("label") or "",
        "status": record.get("status", ""),
        "reason": record.get("reason"),
        "failed_step": record.get("failed_step"),
        "miou": _number(metrics.get("miou")),
        "wall_s": _number(timing.get("wall_s")),
        "train_s": _number(timing.get("train_s")),
        "eval_s": _number(timing.get("eval_s")),
        "device": record.get("device"),
        "threads": record.get("threads"),
        "edge_f1": _number((record.get("edge_net") or {}).get("f1")),
        "version": (record.get("versions") or {}).get("benchmark"),
        "data_version": record.get("data_version"),
    }
    if not row["label"]:
        row["label"] = _row_label(_row_of(row["method"], row["lambdas"], row["relu"]))
    trimap = metrics.get("trimap") or {}
    for region, name in (("boundary", "boundary_miou"), ("interior", "interior_miou")):
        for w, v in zip(trimap.get("widths") or (), trimap.get(name) or ()):
            row[f"{region}_miou_w{float(w):g}"] = _number(v)
    return row


def _width_of(column: str) -> float:
    return float(column.rsplit("_w", 1)[1])


def _sort_key(column: str):
    """Sort key of a context column that follows the paper's order, then the alphabet."""
    order = _ORDER.get(column)
    if order is None:
        return None
    return lambda s: s.map(lambda v: (order.index(v) if v in order else len(order), v))


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    def key(s: pd.Series):
        k = _sort_key(s.name)
        return k(s) if k else s

    return df.sort_values(by, key=key, kind="mergesort").reset_index(drop=True)


def tidy_records(records: Iterable[dict]) -> pd.DataFrame:
    """One row per run record (see the module docstring for the columns), sorted."""
    rows = [_tidy_row(r) for r in records]
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    trimap_cols = [c for c in df.columns if c.startswith(("boundary_miou_w", "interior_miou_w"))]
    trimap_cols.sort(key=lambda c: (not c.startswith("boundary"), _width_of(c)))
    back = ["wall_s", "train_s", "eval_s", "device", "threads", "edge_f1", "version", "data_version"]
    front = [c for c in df.columns if c not in trimap_cols and c not in back]
    df = df[front + trimap_cols + back]
    df["failed_step"] = df["failed_step"].astype("Int64")
    return _sorted(df, CONTEXT + ["method", "lambdas", "relu", "seed", "run_id"])


def load_tidy(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[str]]:
    """The tidy table of the records in ``folder`` and one warning line per corrupt record.

    Raises ``FileNotFoundError`` for a missing folder and ``ValueError`` when it holds no
    readable record.
    """
    records, warnings = _load(folder)
    return tidy_records(records), warnings


def _load(folder) -> tuple[list[dict], list[str]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"records folder {folder} does not exist; run a suite first "
            f"(python -m benchmark.run --suite table1 --out {folder}) or pass --records DIR"
        )
    records, problems = load_records(folder)
    if not records:
        extra = f" ({len(problems)} corrupt)" if problems else ""
        raise ValueError(
            f"no readable run record (*.json) in {folder}{extra}; run a suite with --out {folder} or pass --records DIR"
        )
    return records, problems


# --------------------------------------------------------------------------- statistics


def t_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its Student-t interval at ``level``.

    Half-width = t_{(1+level)/2, n-1} * s / sqrt(n), s the sample std (ddof 1); NaN for
    fewer than two values, where no interval exists.
    """
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan")
    half = stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def paired_differences(values: dict[int, float], baseline: dict[int, float]) -> dict[int, float]:
    """Per seed, ``values[seed] - baseline[seed]`` for the seeds both have."""
    return {s: values[s] - baseline[s] for s in sorted(set(values) & set(baseline))}


@dataclass
class _Cell:
    """The runs of one table row in one context: mIoU in % by seed, failed and missing seeds."""

    values: dict[int, float] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


def _cells(df: pd.DataFrame, warnings: list[str]) -> dict[tuple, dict[tuple, _Cell]]:
    """{context: {row key: cell}}; a context's expected seeds are every seed run in it."""
    out: dict[tuple, dict[tuple, _Cell]] = {}
    for ctx, group in df.groupby(CONTEXT, sort=False):
        expected = set(group["seed"])
        cells: dict[tuple, _Cell] = {}
        for (method, lambdas, relu), runs in group.groupby(["method", "lambdas", "relu"], sort=False):
            cell = cells.setdefault(_row_of(method, lambdas, relu), _Cell())
            for seed, by_seed in runs.groupby("seed", sort=True):
                ok = by_seed[(by_seed["status"] == "ok") & by_seed["miou"].notna()]
                if len(by_seed) > 1:
                    kept = (ok if len(ok) else by_seed).iloc[-1]["run_id"]
                    warnings.append(
                        f"{len(by_seed)} records for {_row_label(_row_of(method, lambdas, relu))} seed {seed} "
                        f"({', '.join(map(str, ctx[:4]))}): using {kept}"
                    )
                if len(ok):
                    cell.values[int(seed)] = 100.0 * float(ok.iloc[-1]["miou"])
                else:
                    cell.failed.append(int(seed))
            cell.missing = sorted(expected - set(cell.values) - set(cell.failed))
        out[tuple(ctx)] = cells
    return out


def _stats(cell: _Cell | None, baseline: _Cell | None, is_baseline: bool) -> dict:
    cell = cell or _Cell()
    vals = [cell.values[s] for s in sorted(cell.values)]
    n = len(vals)
    row = {
        "ours_mean": float(np.mean(vals)) if n else float("nan"),
        "ours_std": float(np.std(vals, ddof=1)) if n > 1 else float("nan"),
        "n": n,
        "n_failed": len(cell.failed),
        "failed_seeds": " ".join(map(str, cell.failed)),
        "missing_seeds": " ".join(map(str, cell.missing)),
        "seeds": " ".join(map(str, sorted(cell.values))),
        "diff_seeds": "",
        "diff_n": 0,
        "diff_mean": float("nan"),
        "diff_ci_low": float("nan"),
        "diff_ci_high": float("nan"),
        "diff_note": "",
    }
    if is_baseline:
        row["diff_note"] = "baseline"
        return row
    if not n:
        return row
    if baseline is None or not baseline.values:
        row["diff_note"] = "PPCE missing"
        return row
    diffs = paired_differences(cell.values, baseline.values)
    if not diffs:
        row["diff_note"] = "no seed shared with PPCE"
        return row
    mean, half = t_interval(diffs.values())
    row.update(
        diff_seeds=" ".join(f"s{s}:{d:+.3f}" for s, d in diffs.items()),
        diff_n=len(diffs),
        diff_mean=mean,
        diff_ci_low=mean - half,
        diff_ci_high=mean + half,
    )
    if len(diffs) == 1:
        row["diff_note"] = "n=1, no interval"
    return row


# --------------------------------------------------------------------------- tables


def _describe(dataset: str, scale: str, backbone: str, init: str | None, overrides: str) -> str:
    parts = [_DATASET_TEXT.get(dataset, dataset), f"{scale} scale", backbone]
    if init is not None:
        parts.append(_INIT_TEXT.get(init, init))
    if overrides:
        parts.append(f"settings {overrides}")
    return ", ".join(parts)


def _extra_rows(keys: Iterable[tuple]) -> list[tuple]:
    """Rows of methods beyond the paper's two tables, in label order."""
    known = set(_table1_rows()) | set(_table2_rows())
    return sorted({k for k in keys if k not in known}, key=_row_label)


def table1(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 1 as data: per context, the paper's 14 rows in order, then any further method.

    A context is one (dataset, backbone, scale, init, overrides). Contexts shown: those
    with a run of a Table-1-only row (a lambda the ablation alone uses), and those of the
    table1 suite's own datasets and initialisations with any Table 1 row. Values in %.
    """
    from benchmark.suites import SUITES

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    rows1 = _table1_rows()
    only1 = set(rows1) - set(_table2_rows())
    suite = SUITES["table1"]
    own_datasets = {d for ds in suite.datasets.values() for d in ds}
    own_inits = {i for xs in suite.inits.values() for i in xs}
    out = []
    for ctx, cells in _cells(tidy, warnings).items():
        dataset, backbone, scale, init, overrides = ctx
        keys = set(cells)
        extra = _extra_rows(keys)
        shown = bool(keys & only1) or (dataset in own_datasets and init in own_inits and bool(keys & set(rows1)))
        if not shown:
            continue
        note = (
            f"Paper: Cityscapes, DeepLab v2 ResNet-101 pre-trained on ImageNet, paper scale. "
            f"Ours: {_describe(dataset, scale, backbone, init, overrides)}."
        )
        for key in rows1 + extra:
            method, lambdas, relu = key
            lam = [f"{v:g}" for v in lambdas] + ["-"] * (3 - len(lambdas))
            out.append(
                dict(
                    zip(CONTEXT, ctx),
                    note=note,
                    loss=paper.TABLE1_GROUPS.get((method, relu), _row_label((method, (), relu))),
                    method=method,
                    lambdas=_lambdas_text(lambdas),
                    relu=relu,
                    lambda_1=lam[0],
                    lambda_2=lam[1],
                    lambda_3=", ".join(lam[2:]),
                    paper=paper.TABLE1.get(key, float("nan")),
                    **_stats(cells.get(key), cells.get(_BASELINE), key == _BASELINE),
                )
            )
    return pd.DataFrame(out)


def table2(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 2 as data: dataset x initialisation x method, the paper's value beside ours.

    A section is one (scale, backbone, overrides) and one kind of data (real or synthetic).
    At the embedded scale, streets stands for Cityscapes and shapes for VOC; "ImageNet" is
    trained from scratch and "ImageNet+MsCoco" pre-trained on a larger, separate synthetic
    set. Values in % (the paper prints fractions; they are shown x100).
    """
    from benchmark.spec import SYNTHETIC_DATASETS

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    cells = _cells(tidy, warnings)
    rows2 = _table2_rows()
    sections: dict[tuple, dict] = {}
    for ctx, by_row in cells.items():
        dataset, backbone, scale, init, overrides = ctx
        if dataset not in _TABLE2_DATASET or init not in _TABLE2_INIT or not set(by_row) & set(rows2):
            continue
        kind = "synthetic" if dataset in SYNTHETIC_DATASETS else "real"
        sections.setdefault((scale, backbone, overrides, kind), {})[(dataset, init)] = by_row
    out = []
    for (scale, backbone, overrides, kind), found in sorted(
        sections.items(), key=lambda kv: (_rank("scale", kv[0][0]), kv[0][1], kv[0][2], kv[0][3])
    ):
        if kind == "synthetic":
            datasets = {"VOC": "shapes", "Cityscapes": "streets"}
            inits = {"ImageNet": "scratch", "ImageNet+MsCoco": "synthetic-pretrained"}
            note = (
                f"Paper: DeepLab v2 ResNet-101 at paper scale. Ours: {scale} scale, {backbone}"
                + (f", settings {overrides}" if overrides else "")
                + ". At this scale the columns and row groups are analogues: streets (synthetic) stands for "
                "Cityscapes and shapes (synthetic) for VOC; 'ImageNet' is trained from scratch and "
                "'ImageNet+MsCoco' is pre-trained on a larger, separate synthetic set."
            )
        else:
            datasets = {"VOC": "voc", "Cityscapes": "cityscapes"}
            inits = {"ImageNet": "imagenet", "ImageNet+MsCoco": "imagenet+coco"}
            note = f"Paper: DeepLab v2 ResNet-101 at paper scale. Ours: {scale} scale, {backbone}" + (
                f", settings {overrides}" if overrides else ""
            ) + "."
        extra = _extra_rows(k for by_row in found.values() for k in by_row)
        for init_name in paper.TABLE2_INITS:
            for data_name in paper.TABLE2_DATASETS:
                dataset, init = datasets[data_name], inits[init_name]
                by_row = found.get((dataset, init), {})
                for key in rows2 + extra:
                    value = paper.TABLE2.get((data_name, init_name, key))
                    out.append(
                        dict(
                            scale=scale, backbone=backbone, overrides=overrides, kind=kind, note=note,
                            pretraining=init_name, init=init, column=data_name, dataset=dataset,
                            method_name=paper.TABLE2_METHODS.get(key, _row_label(key)),
                            method=key[0], lambdas=_lambdas_text(key[1]), relu=key[2],
                            paper=100.0 * value if value is not None else float("nan"),
                            **_stats(by_row.get(key), by_row.get(_BASELINE), key == _BASELINE),
                        )
                    )  # fmt: skip
    return pd.DataFrame(out)


def _rank(column: str, value) -> tuple:
    order = _ORDER[column]
    return (order.index(value) if value in order else len(order), value)


def _ours_text(r) -> str:
    if r["n"] == 0:
        text = f"failed ({r['n_failed']})" if r["n_failed"] else "missing"
    else:
        text = f"{r['ours_mean']:.1f}" + (f" ± {r['ours_std']:.1f}" if r["n"] > 1 else "")
        if r["n_failed"]:
            text += f"; failed ({r['n_failed']})"
    if r["missing_seeds"] and (r["n"] or r["n_failed"]):
        seeds = r["missing_seeds"].split()
        text += f"; seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} missing"
    return text


def _diff_seeds_text(r) -> str:
    if not r["diff_seeds"]:
        return "-"
    return ", ".join(f"{s} {float(d):+.1f}" for s, d in (item.split(":") for item in r["diff_seeds"].split()))


def _diff_text(r) -> str:
    if r["diff_note"] and r["diff_n"] == 0:
        return r["diff_note"]
    if r["diff_n"] == 0:
        return "-"
    if r["diff_n"] == 1:
        return f"{r['diff_mean']:+.1f} (n=1, no interval)"
    return f"{r['diff_mean']:+.1f} [{r['diff_ci_low']:+.1f}, {r['diff_ci_high']:+.1f}]"


def _paper_text(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"


_COMMON_NOTE = (
    "% mIoU. Ours: mean ± sample std over seeds (no std for n=1), n = seeds with a result. "
    "Δ PPCE: mIoU minus PPCE's on the same seed and context, in points; per seed, then mean with a 95% t-interval."
)


def _display(kind: str, t: pd.DataFrame) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """Sections of a table as (title, note, header, rows of text)."""
    sections = []
    if t.empty:
        return sections
    if kind == "table1":
        header = ["Loss", "λ1", "λ2", "λ3", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]"]
        for ctx, g in t.groupby(CONTEXT, sort=False):
            ctx = dict(zip(CONTEXT, ctx))
            title = "Table 1: " + _describe(ctx["dataset"], ctx["scale"], ctx["backbone"], ctx["init"], ctx["overrides"])
            rows, last = [], None
            for _, r in g.iterrows():
                loss = r["loss"] if r["loss"] != last else ""
                last = r["loss"]
                rows.append(
                    [loss, r["lambda_1"], r["lambda_2"], r["lambda_3"], _paper_text(r["paper"]), _ours_text(r),
                     str(r["n"]), _diff_seeds_text(r), _diff_text(r)]
                )  # fmt: skip
            sections.append((title, g["note"].iloc[0], header, rows))
    else:
        header = ["Pre-training", "Dataset", "Method", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]"]
        for (scale, backbone, overrides, _kind), g in t.groupby(["scale", "backbone", "overrides", "kind"], sort=False):
            title = f"Table 2: {scale} scale, {backbone}" + (f", settings {overrides}" if overrides else "")
            rows, last = [], (None, None)
            for _, r in g.iterrows():
                pre = f"{r['pretraining']} (ours: {r['init']})" if r["pretraining"].lower() != r["init"] else r["pretraining"]
                data = f"{r['column']} (ours: {r['dataset']})" if r["column"].lower() != r["dataset"] else r["column"]
                shown_pre = pre if last[0] != pre else ""
                shown_data = data if last != (pre, data) else ""
                last = (pre, data)
                rows.append(
                    [shown_pre, shown_data, r["method_name"], _paper_text(r["paper"]), _ours_text(r), str(r["n"]),
                     _diff_seeds_text(r), _diff_text(r)]
                )  # fmt: skip
            sections.append((title, g["note"].iloc[0], header, rows))
    return sections


def table_markdown(kind: str, table: pd.DataFrame) -> str:
    """Markdown of ``table1(...)`` or ``table2(...)`` (``kind`` "table1" | "table2")."""
    heading = "# Table 1: % mIoU per loss (paper: Cityscapes)" if kind == "table1" else "# Table 2: % mIoU per dataset and pre-training"
    lines = [heading, ""]
    sections = _display(kind, table)
    if not sections:
        lines += ["No record of this table's runs.", ""]
    for title, note, header, rows in sections:
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines += ["", note, "", _COMMON_NOTE, ""]
    return "\n".join(lines)


_LATEX_ESCAPE = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\~{}", "^": r"\^{}",
}  # fmt: skip


def _latex(text: str) -> str:
    text = "".join(_LATEX_ESCAPE.get(c, c) for c in text)
    for plain, tex in (("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("λ1", r"$\lambda_1$"), ("λ2", r"$\lambda_2$"), ("λ3", r"$\lambda_3$")):
        text = text.replace(plain, tex)
    return text


def table_latex(kind: str, table: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``table1(...)`` or ``table2(...)``: one table environment per section."""
    # Written by hand: pandas' Styler.to_latex needs jinja2 and cannot merge the notes in.
    out = []
    for title, note, header, rows in _display(kind, table):
        align = "l" * (4 if kind == "table1" else 3) + "r" + "l" + "r" + "ll"
        out += [
            f"% {title}",
            r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
            " & ".join(_latex(h) for h in header) + r" \\", r"\midrule",
        ]  # fmt: skip
        out += [" & ".join(_latex(c) for c in row) + r" \\" for row in rows]
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_latex(note)} {_latex(_COMMON_NOTE)}}}", r"\end{table}", ""]
    return "\n".join(out) if out else "% no record of this table's runs\n"


def table_csv(table: pd.DataFrame) -> str:
    """CSV text of a table frame: numbers with 3 decimals, NaN as empty."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.3f", lineterminator="\n")
    return buf.getvalue()


# --------------------------------------------------------------------------- trimap (Figure 5)


def trimap_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Long form of the trimap columns of ok runs of Table 2's rows (and further methods).

    Columns: the context, ``label``, ``seed``, ``region`` ("boundary" | "non-boundary"),
    ``width``, ``miou`` (%). Table 1's other ablation rows are left out, as in Figure 5.
    """
    cols = [c for c in tidy.columns if c.startswith(("boundary_miou_w", "interior_miou_w"))]
    if tidy.empty or not cols:
        return pd.DataFrame(columns=CONTEXT + ["label", "seed", "region", "width", "miou"])
    keep = set(_table2_rows())
    keys = [_row_of(m, lam, r) for m, lam, r in zip(tidy["method"], tidy["lambdas"], tidy["relu"])]
    known = set(_table1_rows()) | keep
    mask = [(k in keep or k not in known) for k in keys]
    ok = tidy[np.array(mask) & (tidy["status"] == "ok").to_numpy()].copy()
    ok["label"] = [_row_label(_row_of(m, lam, r)) for m, lam, r in zip(ok["method"], ok["lambdas"], ok["relu"])]
    ok = ok[CONTEXT + ["label", "seed"] + cols]
    long = ok.melt(id_vars=CONTEXT + ["label", "seed"], value_vars=cols, var_name="column", value_name="miou")
    long = long.dropna(subset=["miou"])
    long["region"] = np.where(long["column"].str.startswith("boundary"), "boundary", "non-boundary")
    long["width"] = long["column"].map(_width_of)
    long["miou"] = 100.0 * long["miou"]
    long = long.drop(columns="column")
    return _sorted(long, CONTEXT + ["label", "region", "width", "seed"])


def trimap_summary(points: pd.DataFrame) -> pd.DataFrame:
    """The plotted points: mean, sample std and n over seeds per context, method, region, width."""
    if points.empty:
        return pd.DataFrame(columns=CONTEXT + ["label", "region", "width", "mean", "std", "n"])
    g = points.groupby(CONTEXT + ["label", "region", "width"], sort=False)["miou"]
    out = g.agg(mean="mean", std=lambda x: x.std(ddof=1) if len(x) > 1 else float("nan"), n="size").reset_index()
    return _sorted(out, CONTEXT + ["label", "region", "width"])


def _label_order(labels: Iterable[str]) -> list[str]:
    first = [_row_label(k) for k in _table2_rows()]
    labels = set(labels)
    return [x for x in first if x in labels] + sorted(labels - set(first))


def trimap_figure(tidy: pd.DataFrame):
    """Figure 5: mIoU (%) against band width; columns boundary / non-boundary, one row per
    (dataset, scale, backbone), one line per method (line style per initialisation), the
    seeds' spread as a band of one sample std. ``None`` without trimap data."""
    import seaborn as sns
    from matplotlib.figure import Figure

    points = trimap_points(tidy)
    if points.empty:
        return None
    points["panel"] = [
        f"{d}, {s} scale, {b}" + (f", {o}" if o else "")
        for d, s, b, o in zip(points["dataset"], points["scale"], points["backbone"], points["overrides"])
    ]
    panels = list(dict.fromkeys(points["panel"]))
    hue_order = _label_order(points["label"])
    inits = [i for i in _ORDER["init"] if i in set(points["init"])] + sorted(set(points["init"]) - set(_ORDER["init"]))
    fig = Figure(figsize=(10, 3.6 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 2, squeeze=False)
    with sns.axes_style("whitegrid"):
        for i, panel in enumerate(panels):
            for j, region in enumerate(("boundary", "non-boundary")):
                ax = axes[i, j]
                data = points[(points["panel"] == panel) & (points["region"] == region)].rename(columns={"label": "method"})
                sns.lineplot(
                    data=data, x="width", y="miou", hue="method", hue_order=hue_order,
                    style="init" if len(inits) > 1 else None, style_order=inits if len(inits) > 1 else None,
                    errorbar="sd", marker="o", ax=ax, legend=(i == 0 and j == 1),
                )  # fmt: skip
                ax.set_xticks(sorted(set(data["width"])))
                ax.set_title(f"{region}: {panel}", fontsize=9)
                ax.set_xlabel("trimap band width (px)")
                ax.set_ylabel("mIoU (%)")
                ax.grid(True, alpha=0.3)
    if axes[0, 1].get_legend() is not None:
        sns.move_legend(axes[0, 1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize=8)
    return fig


# --------------------------------------------------------------------------- qualitative (Figures 6/7)


def class_palette(num_classes: int) -> np.ndarray:
    """uint8 [256, 3] colour per label: Cityscapes colours for 19 classes (trainIds), the
    VOC colour map for 21, a seaborn palette otherwise; 255 (void) is black."""
    if num_classes == 19:
        from cityscapesscripts.helpers.labels import trainId2label

        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[:19] = [trainId2label[t].color for t in range(19)]
    elif num_classes == 21:
        from benchmark.data.datasets import voc_palette

        pal = voc_palette().copy()
    else:
        import seaborn as sns

        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[:num_classes] = (np.array(sns.color_palette("husl", num_classes)) * 255).round().astype(np.uint8)
    pal[255] = 0
    return pal


def _overlay(image: np.ndarray, labels: np.ndarray, pal: np.ndarray, alpha: float = 0.6) -> np.ndarray:
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
        records, warnings = _load(records_or_folder)
    else:
        records, warnings = list(records_or_folder), []
    runs: dict[tuple, dict[tuple, dict[int, dict]]] = {}
    for r in records:
        spec = r.get("spec") or {}
        if r.get("status") != "ok" or not r.get("predictions"):
            continue
        params = spec.get("params") or {}
        key = paper.row_key(spec.get("method", ""), params.get("lambdas"), params.get("relu", False))
        if key not in (_BASELINE, _SEMEDA_BEST):
            continue
        ctx = (spec.get("dataset"), spec.get("scale"), spec.get("backbone"), _overrides(spec), spec.get("init"))
        runs.setdefault(ctx, {}).setdefault(key, {})[int(spec.get("seed", 0))] = r
    chosen: dict[tuple, tuple] = {}
    for ctx in sorted(runs, key=lambda c: (_rank("dataset", c[0]), _rank("scale", c[1]), c[2], c[3], _rank("init", c[4]))):
        seeds = sorted(set(runs[ctx].get(_BASELINE, {})) & set(runs[ctx].get(_SEMEDA_BEST, {})))
        if seeds and ctx[:4] not in chosen:
            chosen[ctx[:4]] = (ctx[4], seeds[0])
    figures = {}
    stems = {}
    for (dataset, scale, backbone, overrides), (init, seed) in chosen.items():
        base = runs[(dataset, scale, backbone, overrides, init)][_BASELINE][seed]
        ours = runs[(dataset, scale, backbone, overrides, init)][_SEMEDA_BEST][seed]
        shared = sorted(set(base["predictions"]) & set(ours["predictions"]), key=int)[:max_images]
        if not shared or any(k not in base["predictions"][i] for i in shared for k in ("image", "target")):
            warnings.append(
                f"qualitative figure for {dataset} ({scale}, {backbone}) skipped: its records store no "
                "input image and ground truth (records written before they were stored)"
            )
            continue
        pal = class_palette(len(base.get("class_names") or []) or 19)
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
                _overlay(image, decode_mask(p["target"]), pal),
                _overlay(image, decode_mask(p["pred"]), pal),
                _overlay(image, decode_mask(ours["predictions"][idx]["pred"]), pal),
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
        fig.suptitle(f"{_describe(dataset, scale, backbone, init, overrides)}; seed {seed}", fontsize=9)
        stem = f"qualitative_{dataset}_{scale}"
        stems[stem] = stems.get(stem, 0) + 1
        if stems[stem] > 1:
            stem += f"_{re.sub(r'[^A-Za-z0-9]+', '-', backbone + ' ' + overrides).strip('-')}"
        figures[stem] = fig
    return figures, warnings


# --------------------------------------------------------------------------- report


@dataclass
class Report:
    """What ``build_report`` wrote, and the warnings met on the way (one line each)."""

    out: Path
    tidy: pd.DataFrame
    files: list[Path]
    warnings: list[str]


def _save_figure(fig, path_stem: Path, formats=("png", "svg")) -> list[Path]:
    import matplotlib

    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "semeda", "svg.fonttype": "none"}):
        for fmt in formats:
            path = path_stem.with_suffix(f".{fmt}")
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(path, dpi=150, metadata=meta)
            paths.append(path)
    return paths


def build_report(records: str | os.PathLike, out: str | os.PathLike | None = None, suite: str = "all") -> Report:
    """Rebuild the tidy table and the ``suite``'s tables and figures from ``records`` into
    ``out`` (default ``<records>/report``). Any suite name outside ``SUITE_PARTS`` (e.g. a
    sweep's ``smoke``) rebuilds everything."""
    parts = SUITE_PARTS.get(suite, SUITE_PARTS["all"])
    recs, warnings = _load(records)
    out = Path(out) if out is not None else Path(records) / "report"
    out.mkdir(parents=True, exist_ok=True)
    tidy = tidy_records(recs)
    files = []

    def write(name: str, text: str):
        path = out / name
        path.write_text(text)
        files.append(path)

    tidy.to_parquet(out / "tidy.parquet", index=False)
    files.append(out / "tidy.parquet")
    write("tidy.csv", tidy.to_csv(index=False, lineterminator="\n"))
    for kind, build in (("table1", table1), ("table2", table2)):
        if kind in parts:
            t = build(tidy, warnings)
            write(f"{kind}.md", table_markdown(kind, t))
            write(f"{kind}.csv", table_csv(t))
            write(f"{kind}.tex", table_latex(kind, t))
    if "trimap" in parts:
        fig = trimap_figure(tidy)
        if fig is None:
            warnings.append("trimap figure skipped: no ok run with trimap metrics")
        else:
            files += _save_figure(fig, out / "trimap")
            write("trimap.csv", table_csv(trimap_summary(trimap_points(tidy))))
    figures, more = qualitative_figures(recs)
    warnings += more
    for stem, fig in figures.items():
        files += _save_figure(fig, out / stem, formats=("png",))
    return Report(out, tidy, files, list(dict.fromkeys(warnings)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmark.report",
        description="Rebuild the tables and figures from run records (never trains).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--suite", default="all", choices=list(SUITE_PARTS), help="which tables and figures to rebuild")
    p.add_argument("--records", default="runs", help="folder of run records (*.json)")
    p.add_argument("--out", help="output folder (default: <records>/report)")
    return p


@main_guard
def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    args = build_parser().parse_args(argv)
    report = build_report(args.records, args.out, args.suite)
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    counts = report.tidy["status"].value_counts()
    print(f"{len(report.tidy)} records ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}) -> {report.out}")
    for path in report.files:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
