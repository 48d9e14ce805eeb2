"""Table 1 and Table 2: the paper's rows and numbers beside ours, as markdown, CSV and LaTeX."""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd

from benchmark import paper
from benchmark.report.stats import seed_cells, cell_stats
from benchmark.report.tidy import (
    CONTEXT,
    BASELINE,
    DATASET_TEXT,
    INIT_TEXT,
    ORDER,
    TABLE2_DATASET,
    TABLE2_INIT,
    lambdas_text,
    row_label,
    table1_rows,
    table2_rows,
)


def describe_context(dataset: str, scale: str, backbone: str, init: str | None, overrides: str) -> str:
    parts = [DATASET_TEXT.get(dataset, dataset), f"{scale} scale", backbone]
    if init is not None:
        parts.append(INIT_TEXT.get(init, init))
    if overrides:
        parts.append(f"settings {overrides}")
    return ", ".join(parts)


def _extra_rows(keys: Iterable[tuple]) -> list[tuple]:
    """Rows of methods beyond the paper's two tables, in label order."""
    known = set(table1_rows()) | set(table2_rows())
    return sorted({k for k in keys if k not in known}, key=row_label)


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
    rows1 = table1_rows()
    only1 = set(rows1) - set(table2_rows())
    suite = SUITES["table1"]
    own_datasets = {d for ds in suite.datasets.values() for d in ds}
    own_inits = {i for xs in suite.inits.values() for i in xs}
    out = []
    for ctx, cells in seed_cells(tidy, warnings).items():
        dataset, backbone, scale, init, overrides = ctx
        keys = set(cells)
        extra = _extra_rows(keys)
        shown = bool(keys & only1) or (dataset in own_datasets and init in own_inits and bool(keys & set(rows1)))
        if not shown:
            continue
        note = (
            f"Paper: Cityscapes, DeepLab v2 ResNet-101 pre-trained on ImageNet, paper scale. "
            f"Ours: {describe_context(dataset, scale, backbone, init, overrides)}."
        )
        for key in rows1 + extra:
            method, lambdas, relu = key
            lam = [f"{v:g}" for v in lambdas] + ["-"] * (3 - len(lambdas))
            out.append(
                dict(
                    zip(CONTEXT, ctx),
                    note=note,
                    loss=paper.TABLE1_GROUPS.get((method, relu), row_label((method, (), relu))),
                    method=method,
                    lambdas=lambdas_text(lambdas),
                    relu=relu,
                    lambda_1=lam[0],
                    lambda_2=lam[1],
                    lambda_3=", ".join(lam[2:]),
                    paper=paper.TABLE1.get(key, float("nan")),
                    **cell_stats(cells.get(key), cells.get(BASELINE), key == BASELINE),
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
    cells = seed_cells(tidy, warnings)
    rows2 = table2_rows()
    sections: dict[tuple, dict] = {}
    for ctx, by_row in cells.items():
        dataset, backbone, scale, init, overrides = ctx
        if dataset not in TABLE2_DATASET or init not in TABLE2_INIT or not set(by_row) & set(rows2):
            continue
        kind = "synthetic" if dataset in SYNTHETIC_DATASETS else "real"
        sections.setdefault((scale, backbone, overrides, kind), {})[(dataset, init)] = by_row
    out = []
    for (scale, backbone, overrides, kind), found in sorted(
        sections.items(), key=lambda kv: (display_rank("scale", kv[0][0]), kv[0][1], kv[0][2], kv[0][3])
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
                            method_name=paper.TABLE2_METHODS.get(key, row_label(key)),
                            method=key[0], lambdas=lambdas_text(key[1]), relu=key[2],
                            paper=100.0 * value if value is not None else float("nan"),
                            **cell_stats(by_row.get(key), by_row.get(BASELINE), key == BASELINE),
                        )
                    )  # fmt: skip
    return pd.DataFrame(out)


def display_rank(column: str, value) -> tuple:
    order = ORDER[column]
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
            title = "Table 1: " + describe_context(ctx["dataset"], ctx["scale"], ctx["backbone"], ctx["init"], ctx["overrides"])
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
