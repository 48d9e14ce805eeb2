"""Table 1 and Table 2: the paper's rows and numbers beside ours, as markdown, CSV and LaTeX.

Every table shows, beside mIoU, the boundary metrics: the trimap band (w = 1), Boundary
IoU and boundary F at the last width / tolerance of the run's settings, each as mean +-
std over seeds with its paired difference to PPCE and a 95% interval. A cell some of whose
seeds diverged (``benchmark.divergence``) says "diverged k/n" beside its mean.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd

from benchmark import paper
from benchmark.divergence import RULE_TEXT
from benchmark.report.stats import cell_stats, holm, seed_cells
from benchmark.report.tidy import (
    reported,
    BASELINE,
    CONTEXT,
    INIT_TEXT,
    ORDER,
    TABLE2_INIT,
    dataset_text,
    is_synthetic,
    lambdas_text,
    stands_for,
    table1_rows,
    table2_rows,
    width_of,
)
from benchmark.spec import row_label

#: The boundary metrics every table shows beside mIoU: (short name, tidy column prefix,
#: which entry of the run's list is shown, header text). The trimap band is shown at its
#: narrowest width, Boundary IoU and boundary F at the last entry of their lists.
BOUNDARY_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("band", "boundary_miou_w", "first", "Band w={}"),
    ("biou", "biou_d", "last", "BIoU d={}"),
    ("bf", "bf_t", "last", "BF t={}"),
)
#: Per boundary metric, the statistics kept in the table frames (prefixed by its name).
_EXTRA_STATS = ("ours_mean", "ours_std", "n", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_n", "definition", "outdated")


def describe_context(dataset: str, scale: str, backbone: str, init: str | None, overrides: str) -> str:
    parts = [dataset_text(dataset), f"{scale} scale", backbone]
    if init is not None:
        parts.append(INIT_TEXT.get(init, init))
    if overrides:
        parts.append(f"settings {overrides}")
    return ", ".join(parts)


def _extra_rows(keys: Iterable[tuple]) -> list[tuple]:
    """Rows of methods beyond the paper's two tables, in label order."""
    known = set(table1_rows()) | set(table2_rows())
    return sorted({k for k in keys if k not in known}, key=row_label)


def boundary_columns(tidy: pd.DataFrame, ctx: tuple | None = None) -> dict[str, tuple[str, str]]:
    """{short name: (tidy column, header)} of the boundary metrics present (with a value) in
    ``tidy`` (restricted to the context ``ctx`` when given)."""
    frame = tidy
    if ctx is not None:
        frame = tidy[(tidy[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
    out = {}
    for name, prefix, which, header in BOUNDARY_COLUMNS:
        cols = sorted((c for c in frame.columns if c.startswith(prefix) and frame[c].notna().any()), key=width_of)
        if cols:
            col = cols[0] if which == "first" else cols[-1]
            out[name] = (col, header.format(f"{width_of(col):g}"))
    return out


class SeedMetrics:
    """The seed cells of mIoU and of every boundary metric, per context and row key."""

    def __init__(self, tidy: pd.DataFrame, warnings: list[str]):
        self.tidy = tidy
        self.miou = seed_cells(tidy, warnings)
        self.columns = {name: col for name, (col, _) in boundary_columns(tidy).items()}
        self.extra = {name: seed_cells(tidy, [], col) for name, col in self._all_columns().items()}

    def _all_columns(self) -> dict[str, str]:
        cols = {}
        for ctx in self.miou:
            for name, (col, _) in boundary_columns(self.tidy, ctx).items():
                cols[(name, col)] = col
        return {f"{name}|{col}": col for (name, col) in cols}

    def stats(self, ctx: tuple, key: tuple) -> dict:
        cells = self.miou.get(ctx, {})
        row = cell_stats(cells.get(key), cells.get(BASELINE), key == BASELINE)
        for name, (col, header) in boundary_columns(self.tidy, ctx).items():
            extra = self.extra.get(f"{name}|{col}", {}).get(ctx, {})
            st = cell_stats(extra.get(key), extra.get(BASELINE), key == BASELINE)
            row.update({f"{name}_{k}": st[k] for k in _EXTRA_STATS})
            row[f"{name}_header"] = header
        return row


def add_holm(rows: list[dict], group_cols: list[str], family=None) -> None:
    """Mark, per group of rows (one context), which mIoU differences to PPCE survive a Holm
    correction at 5% over the group's compared rows. ``family(row)`` splits a group further:
    the paper's rows are corrected among themselves, whatever other methods a records
    folder holds in the same context (the leaderboard's tuned losses, a new loss)."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r.get(c) for c in group_cols) + ((family(r),) if family else ()), []).append(i)
    for members in groups.values():
        survived = holm({i: rows[i]["diff_p"] for i in members if rows[i]["diff_note"] != "baseline"})
        for i in members:
            rows[i]["holm"] = survived.get(i, False) if rows[i]["diff_note"] != "baseline" else None


def table1(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 1 as data: per context, the paper's 14 rows in order, then any further method.

    A context is one (dataset, backbone, scale, init, overrides). Contexts shown: those
    with a run of a Table-1-only row (a lambda the ablation alone uses), and those of the
    table1 suite's own datasets and initialisations with any Table 1 row. Values in %.
    """
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    from benchmark.suites import SUITES

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    rows1 = table1_rows()
    only1 = set(rows1) - set(table2_rows())
    suite = SUITES["table1"]
    own_datasets = {d for ds in suite.datasets.values() for d in ds}
    own_inits = {i for xs in suite.inits.values() for i in xs}
    metrics = SeedMetrics(tidy, warnings)
    out = []
    for ctx, cells in metrics.miou.items():
        dataset, backbone, scale, init, overrides = ctx
        keys = set(cells)
        extra = _extra_rows(keys)
        shown = bool(keys & only1) or (dataset in own_datasets and init in own_inits and bool(keys & set(rows1)))
        # a context of a few rows run under other settings (the sensitivity study) has its own table
        partial = bool(overrides) and len(keys & set(rows1)) < len(rows1) / 2
        if not shown or partial:
            continue
        note = (
            f"Paper: Cityscapes, DeepLab v2 ResNet-101 pre-trained on ImageNet, paper scale. "
            f"Ours: {describe_context(dataset, scale, backbone, init, overrides)}."
        )
        for key in rows1 + extra:
            params = _params(key)
            lambdas = params.get("lambdas") or ()
            lam = [f"{float(v):g}" for v in lambdas] + ["-"] * (3 - len(lambdas))
            out.append(
                dict(
                    zip(CONTEXT, ctx),
                    note=note,
                    loss=paper.TABLE1_GROUPS.get(key, row_label(key)),
                    method=key[0],
                    params=key[1],
                    label=row_label(key),
                    lambdas=lambdas_text(lambdas),
                    lambda_1=lam[0],
                    lambda_2=lam[1],
                    lambda_3=", ".join(lam[2:]),
                    paper=paper.TABLE1.get(key, float("nan")),
                    **metrics.stats(ctx, key),
                )
            )
    add_holm(out, CONTEXT, family=lambda r: (r["method"], r["params"]) in set(rows1))
    return pd.DataFrame(out)


def _params(key: tuple) -> dict:
    import json

    return json.loads(key[1])


def table2(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 2 as data: dataset x initialisation x method, the paper's value beside ours.

    A section is one (scale, backbone, overrides) and one kind of data (real or synthetic).
    Each dataset stands for a paper column through its ``DatasetInfo.stands_for``; at the
    embedded scale "ImageNet" is trained from scratch and "ImageNet+MsCoco" pre-trained on a
    larger, separate synthetic set. Values in % (the paper prints fractions; shown x100).
    """
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return pd.DataFrame()
    metrics = SeedMetrics(tidy, warnings)
    rows2 = table2_rows()
    sections: dict[tuple, dict] = {}
    for ctx, by_row in metrics.miou.items():
        dataset, backbone, scale, init, overrides = ctx
        if stands_for(dataset) not in paper.TABLE2_DATASETS or init not in TABLE2_INIT or not set(by_row) & set(rows2):
            continue
        kind = "synthetic" if is_synthetic(dataset) else "real"
        sections.setdefault((scale, backbone, overrides, kind), {})[(dataset, init)] = ctx
    out = []
    for (scale, backbone, overrides, kind), found in sorted(
        sections.items(), key=lambda kv: (display_rank("scale", kv[0][0]), kv[0][1], kv[0][2], kv[0][3])
    ):
        datasets = {}
        for dataset, _ in found:
            datasets.setdefault(stands_for(dataset), dataset)
        inits = {}
        for _, init in found:
            inits.setdefault(TABLE2_INIT[init], init)
        analogues = [f"{dataset_text(d)} stands for {column}" for column, d in datasets.items() if d.lower() != column.lower()]
        note = f"Paper: DeepLab v2 ResNet-101 at paper scale. Ours: {scale} scale, {backbone}" + (
            f", settings {overrides}" if overrides else ""
        ) + "."
        if kind == "synthetic":
            note += (
                " At this scale the columns and row groups are analogues: " + "; ".join(analogues)
                + "; 'ImageNet' is trained from scratch and 'ImageNet+MsCoco' is pre-trained on a larger, separate synthetic set."
            )  # fmt: skip
        extra = _extra_rows(k for ctx in found.values() for k in metrics.miou[ctx])
        for init_name in paper.TABLE2_INITS:
            for data_name in paper.TABLE2_DATASETS:
                dataset, init = datasets.get(data_name), inits.get(init_name)
                ctx = found.get((dataset, init))
                if ctx is None:
                    ctx = (dataset or data_name.lower(), backbone, scale, init or init_name.lower(), overrides)
                for key in rows2 + extra:
                    value = paper.TABLE2.get((data_name, init_name, key))
                    out.append(
                        dict(
                            scale=scale, backbone=backbone, overrides=overrides, kind=kind, note=note,
                            pretraining=init_name, init=ctx[3], column=data_name, dataset=ctx[0],
                            method_name=paper.TABLE2_METHODS.get(key, row_label(key)),
                            method=key[0], params=key[1], label=row_label(key),
                            paper=100.0 * value if value is not None else float("nan"),
                            **metrics.stats(ctx, key),
                        )
                    )  # fmt: skip
    add_holm(out, ["scale", "backbone", "overrides", "kind", "pretraining", "column"], family=lambda r: (r["method"], r["params"]) in set(rows2))
    return pd.DataFrame(out)


def display_rank(column: str, value) -> tuple:
    order = ORDER[column]
    return (order.index(value) if value in order else len(order), value)


def ours_text(r) -> str:
    """A cell's own value: mean ± std over seeds, or missing / failed, with missing seeds and
    the divergence mark ("diverged k/n")."""
    if r["n"] == 0:
        text = f"failed ({r['n_failed']})" if r["n_failed"] else "missing"
    else:
        text = f"{r['ours_mean']:.1f}" + (f" ± {r['ours_std']:.1f}" if r["n"] > 1 else "")
        if r["n_failed"]:
            text += f"; failed ({r['n_failed']})"
    if r["missing_seeds"] and (r["n"] or r["n_failed"]):
        seeds = r["missing_seeds"].split()
        text += f"; seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} missing"
    if r.get("n_diverged"):
        text += f"; diverged {r['n_diverged']}/{r['n'] + r['n_failed']}"
    return text




def holm_text(r) -> str:
    value = r.get("holm")
    if value is None or value != value or r["diff_n"] < 2:
        return "-"
    return "yes" if value else "no"


def metric_text(r, name: str) -> tuple[str, str]:
    """(mean ± std, Δ PPCE [95% CI]) of boundary metric ``name``; "n/a" for runs without it."""
    n = r.get(f"{name}_n")
    if n is None or n != n or n == 0:
        return "n/a", "n/a"
    mean, std = r[f"{name}_ours_mean"], r[f"{name}_ours_std"]
    ours = f"{mean:.1f}" + (f" ± {std:.1f}" if n > 1 else "")
    if r.get(f"{name}_outdated") in (True,):  # a bool, or NaN where the metric has one definition
        ours += f" (def. {int(r[f'{name}_definition'])})"
    dn = r[f"{name}_diff_n"]
    if r["diff_note"] == "baseline":
        return ours, "baseline"
    if not dn:
        return ours, "-"
    if dn == 1:
        return ours, f"{r[f'{name}_diff_mean']:+.1f}"
    return ours, f"{r[f'{name}_diff_mean']:+.1f} [{r[f'{name}_diff_ci_low']:+.1f}, {r[f'{name}_diff_ci_high']:+.1f}]"


def metric_headers(g: pd.DataFrame) -> list[tuple[str, str]]:
    """(name, header) of the boundary metrics a section's rows carry, in the table's order."""
    out = []
    for name, _, _, _ in BOUNDARY_COLUMNS:
        col = f"{name}_header"
        if col in g.columns and g[col].notna().any():
            out.append((name, str(g[col].dropna().iloc[0])))
    return out


def _diff_seeds_text(r) -> str:
    if not r["diff_seeds"]:
        return "-"
    return ", ".join(f"{s} {float(d):+.1f}" for s, d in (item.split(":") for item in r["diff_seeds"].split()))


def diff_text(r) -> str:
    """The paired difference to PPCE: ``+x.x [lo, hi]`` (95% t-interval), ``+x.x (n=1, no interval)``,
    or why there is none."""
    if r["diff_note"] and r["diff_n"] == 0:
        return r["diff_note"]
    if r["diff_n"] == 0:
        return "-"
    if r["diff_n"] == 1:
        return f"{r['diff_mean']:+.1f} (n=1, no interval)"
    return f"{r['diff_mean']:+.1f} [{r['diff_ci_low']:+.1f}, {r['diff_ci_high']:+.1f}]"




def _paper_text(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"


COMMON_NOTE = (
    "% mIoU. Ours: mean ± sample std over seeds (no std for n=1), n = seeds with a result. "
    "Δ PPCE: mIoU minus PPCE's on the same seed and context, in points; per seed, then mean with a 95% t-interval. "
    "Holm: whether the mIoU difference survives a Holm correction at 5% over the rows compared with PPCE in the section "
    "(paired t-tests; the paper's rows form one family, any further method another). Band: trimap boundary-band mIoU; BIoU: mean Boundary IoU at width d; BF: mean boundary F-score "
    "at tolerance t (px), each with its paired Δ PPCE and 95% interval; n/a: records without that metric; "
    "'(def. k)': made under the metric's earlier definition k (see its docstring), compared only with PPCE under the same one. "
    f"'diverged k/n': k of the cell's n runs diverged by the suite's rule ({RULE_TEXT}); their values stay in the mean."
)


def _display(kind: str, t: pd.DataFrame) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """Sections of a table as (title, note, header, rows of text)."""
    sections = []
    if t.empty:
        return sections
    if kind == "table1":
        for ctx, g in t.groupby(CONTEXT, sort=False):
            ctx = dict(zip(CONTEXT, ctx))
            extra = metric_headers(g)
            header = ["Loss", "λ1", "λ2", "λ3", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]", "Holm"]
            header += [h for _, text in extra for h in (text, "Δ")]
            title = "Table 1: " + describe_context(ctx["dataset"], ctx["scale"], ctx["backbone"], ctx["init"], ctx["overrides"])
            rows, last = [], None
            for _, r in g.iterrows():
                loss = r["loss"] if r["loss"] != last else ""
                last = r["loss"]
                rows.append(
                    [loss, r["lambda_1"], r["lambda_2"], r["lambda_3"], _paper_text(r["paper"]), ours_text(r),
                     str(r["n"]), _diff_seeds_text(r), diff_text(r), holm_text(r)]
                    + [x for name, _ in extra for x in metric_text(r, name)]
                )  # fmt: skip
            sections.append((title, g["note"].iloc[0], header, rows))
    else:
        for (scale, backbone, overrides, _kind), g in t.groupby(["scale", "backbone", "overrides", "kind"], sort=False):
            extra = metric_headers(g)
            header = ["Pre-training", "Dataset", "Method", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]", "Holm"]
            header += [h for _, text in extra for h in (text, "Δ")]
            title = f"Table 2: {scale} scale, {backbone}" + (f", settings {overrides}" if overrides else "")
            rows, last = [], (None, None)
            for _, r in g.iterrows():
                pre = f"{r['pretraining']} (ours: {r['init']})" if r["pretraining"].lower() != r["init"] else r["pretraining"]
                data = f"{r['column']} (ours: {r['dataset']})" if r["column"].lower() != r["dataset"] else r["column"]
                shown_pre = pre if last[0] != pre else ""
                shown_data = data if last != (pre, data) else ""
                last = (pre, data)
                rows.append(
                    [shown_pre, shown_data, r["method_name"], _paper_text(r["paper"]), ours_text(r), str(r["n"]),
                     _diff_seeds_text(r), diff_text(r), holm_text(r)]
                    + [x for name, _ in extra for x in metric_text(r, name)]
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
        lines += ["", note, "", COMMON_NOTE, ""]
    return "\n".join(lines)


_LATEX_ESCAPE = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\~{}", "^": r"\^{}",
}  # fmt: skip


def latex_text(text: str) -> str:
    """``text`` escaped for LaTeX, with ±, Δ and λ as maths."""
    text = "".join(_LATEX_ESCAPE.get(c, c) for c in text)
    for plain, tex in (("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("λ1", r"$\lambda_1$"), ("λ2", r"$\lambda_2$"), ("λ3", r"$\lambda_3$")):
        text = text.replace(plain, tex)
    return text




def table_latex(kind: str, table: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``table1(...)`` or ``table2(...)``: one table environment per section."""
    # Written by hand: pandas' Styler.to_latex needs jinja2 and cannot merge the notes in.
    out = []
    for title, note, header, rows in _display(kind, table):
        align = "l" * (4 if kind == "table1" else 3) + "r" + "l" + "r" + "lll" + "l" * (len(header) - (10 if kind == "table1" else 9))
        out += [
            f"% {title}",
            r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
            " & ".join(latex_text(h) for h in header) + r" \\", r"\midrule",
        ]  # fmt: skip
        out += [" & ".join(latex_text(c) for c in row) + r" \\" for row in rows]
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_text(note)} {latex_text(COMMON_NOTE)}}}", r"\end{table}", ""]
    return "\n".join(out) if out else "% no record of this table's runs\n"


def table_csv(table: pd.DataFrame) -> str:
    """CSV text of a table frame: numbers with 3 decimals, NaN as empty."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.3f", lineterminator="\n")
    return buf.getvalue()
