"""Run records -> the tidy table: one row per run, spec columns, metrics, status."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from benchmark import paper
from benchmark.records import load_records


CONTEXT = ["dataset", "backbone", "scale", "init", "overrides"]
ORDER = {
    "dataset": ("cityscapes", "voc", "streets", "shapes"),
    "scale": ("paper", "small", "smoke"),
    "init": ("imagenet", "imagenet+coco", "scratch", "synthetic-pretrained"),
}
DATASET_TEXT = {
    "cityscapes": "Cityscapes",
    "voc": "Pascal VOC 2012",
    "streets": "streets (synthetic, Cityscapes-like)",
    "shapes": "shapes (synthetic, VOC-like)",
}
INIT_TEXT = {
    "scratch": "trained from scratch",
    "synthetic-pretrained": "pre-trained on a larger, separate synthetic set",
    "imagenet": "pre-trained on ImageNet",
    "imagenet+coco": "pre-trained on ImageNet and MS COCO",
}
#: Table 2: which paper column and row group a dataset / initialisation stands for.
TABLE2_DATASET = {"cityscapes": "Cityscapes", "streets": "Cityscapes", "voc": "VOC", "shapes": "VOC"}
TABLE2_INIT = {
    "imagenet": "ImageNet", "scratch": "ImageNet",
    "imagenet+coco": "ImageNet+MsCoco", "synthetic-pretrained": "ImageNet+MsCoco",
}  # fmt: skip
BASELINE = paper.row_key("ppce")
SEMEDA_BEST = paper.row_key("semeda", (0, 1, 0))


def table1_rows() -> list[tuple]:
    from benchmark.suites import TABLE1_ROWS

    return [paper.row_key(r.method, r.lambdas, r.relu) for r in TABLE1_ROWS]


def table2_rows() -> list[tuple]:
    from benchmark.suites import TABLE2_ROWS

    return [paper.row_key(r.method, r.lambdas, r.relu) for r in TABLE2_ROWS]


def lambdas_text(lambdas) -> str:
    return ",".join(f"{float(v):g}" for v in (lambdas or ()))


def _parse_lambdas(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",")) if text else ()


def row_of(method: str, lambdas_text: str, relu: bool) -> tuple:
    return paper.row_key(method, _parse_lambdas(lambdas_text), relu)


def row_label(key: tuple) -> str:
    method, lambdas, relu = key
    text = method + (f"({lambdas_text(lambdas)})" if lambdas else "")
    if method == "semeda":
        text += " after ReLU" if relu else " before ReLU"
    return text


def overrides_text(spec: dict) -> str:
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
        "lambdas": lambdas_text(params.get("lambdas")),
        "relu": bool(params.get("relu", False)),
        "dataset": spec.get("dataset", ""),
        "backbone": spec.get("backbone", ""),
        "scale": spec.get("scale", ""),
        "init": spec.get("init", ""),
        "seed": int(spec.get("seed", -1)),
        "overrides": overrides_text(spec) if spec.get("scale") else "",
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
        row["label"] = row_label(row_of(row["method"], row["lambdas"], row["relu"]))
    trimap = metrics.get("trimap") or {}
    for region, name in (("boundary", "boundary_miou"), ("interior", "interior_miou")):
        for w, v in zip(trimap.get("widths") or (), trimap.get(name) or ()):
            row[f"{region}_miou_w{float(w):g}"] = _number(v)
    return row


def width_of(column: str) -> float:
    return float(column.rsplit("_w", 1)[1])


def _sort_key(column: str):
    """Sort key of a context column that follows the paper's order, then the alphabet."""
    order = ORDER.get(column)
    if order is None:
        return None
    return lambda s: s.map(lambda v: (order.index(v) if v in order else len(order), v))


def sorted_rows(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
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
    trimap_cols.sort(key=lambda c: (not c.startswith("boundary"), width_of(c)))
    back = ["wall_s", "train_s", "eval_s", "device", "threads", "edge_f1", "version", "data_version"]
    front = [c for c in df.columns if c not in trimap_cols and c not in back]
    df = df[front + trimap_cols + back]
    df["failed_step"] = df["failed_step"].astype("Int64")
    return sorted_rows(df, CONTEXT + ["method", "lambdas", "relu", "seed", "run_id"])


def load_tidy(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[str]]:
    """The tidy table of the records in ``folder`` and one warning line per corrupt record.

    Raises ``FileNotFoundError`` for a missing folder and ``ValueError`` when it holds no
    readable record.
    """
    records, warnings = load_folder(folder)
    return tidy_records(records), warnings


def load_folder(folder) -> tuple[list[dict], list[str]]:
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
