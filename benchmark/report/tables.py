"""Table 1 and Table 2: the paper's rows and numbers beside ours, as data and as sections.

Every table shows, beside mIoU, the boundary metrics: the trimap band (w = 1), Boundary
IoU and boundary F at the last width / tolerance of the run's settings, each as mean +-
std over seeds with its paired difference to PPCE and a 95% interval. A cell some of whose
seeds diverged (``benchmark.divergence``) says "diverged k/n" beside its mean; a row whose
every seed diverged is set apart below the section's other rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

from benchmark import paper
from benchmark.report.cells import (
    COMMON_NOTE,
    DIVERGED_APART,
    all_diverged,
    diff_seeds_text,
    diff_text,
    holm_text,
    metric_headers,
    metric_text,
    ours_text,
    paper_text,
)
from benchmark.report.claims import claims_document, claims_table, multiverse_claims
from benchmark.report.findings import findings_markdown
from benchmark.report.multiverse import multiverse_table
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import Document, Section, frame_csv, latex
from benchmark.report.scope import is_plumbing, made_by_a_study, plumbing_banner
from benchmark.report.seed_strip import STRIP_NOTE
from benchmark.report.stats import SeedMetrics, add_holm, cell_stats
from benchmark.report.tidy import (
    CONTEXT,
    TABLE2_INIT,
    dataset_text,
    describe_context,
    display_rank,
    is_synthetic,
    lambdas_text,
    reported,
    stands_for,
    table1_rows,
    table2_rows,
)
from benchmark.seed_rule import RULE_TEXT
from benchmark.term_scales import table1_scales_text
from benchmark.spec import row_label

__all__ = ["table1", "table2", "table_document", "table_sections", "table_markdown", "table_latex", "write_table1", "write_table2"]


def _extra_rows(keys: Iterable[tuple], own: set[str] | None = None) -> list[tuple]:
    """Rows of methods beyond the paper's two tables, in label order; with ``own``, only those
    of the methods it names."""
    known = set(table1_rows()) | set(table2_rows())
    return sorted({k for k in keys if k not in known and (own is None or k[0] in own)}, key=row_label)


def _users_methods(tidy: pd.DataFrame) -> set[str]:
    """The methods of ``tidy`` from outside the package (a user's own losses, their records
    carrying their code's hash): the rows Table 1 shows beyond the paper's. The package's other
    methods have their own tables (the leaderboard, the sensitivity study), which give them
    their searched weights and protocols."""
    return set(tidy.loc[tidy["code"].fillna("") != "", "method"]) if "code" in tidy else set()


#: The columns of each table with no row, so that a folder without the table's runs gives an
#: empty table a notebook can still select columns of: every row's own, then its statistics.
_TABLE1_COLUMNS = [*CONTEXT, "note", "loss", "method", "params", "label", "lambdas", "lambda_1", "lambda_2", "lambda_3", "paper"]
_TABLE2_COLUMNS = ["scale", "backbone", "overrides", "kind", "note", "pretraining", "init", "column", "dataset", "method_name",
                   "method", "params", "label", "paper"]  # fmt: skip


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """``rows`` as a frame; without rows, an empty one with ``columns`` and the statistics'."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*columns, *cell_stats(None, None, False), "holm"])


def table1(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 1 as data: per context, the paper's 14 rows in order, then a user's own methods.

    A context is one (dataset, backbone, scale, init, overrides). Contexts shown: those
    with a run of a Table-1-only row (a lambda the ablation alone uses), and those of the
    table1 suite's own datasets and initialisations with any Table 1 row. Values in %.
    """
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    from benchmark.suites import SUITES

    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return _frame([], _TABLE1_COLUMNS)
    rows1 = table1_rows()
    only1 = set(rows1) - set(table2_rows())
    suite = SUITES["table1"]
    own_datasets = {d for ds in suite.datasets.values() for d in ds}
    own_inits = {i for xs in suite.inits.values() for i in xs}
    metrics = SeedMetrics(tidy, warnings)
    users = _users_methods(tidy)
    out = []
    for ctx, cells in metrics.miou.items():
        dataset, backbone, scale, init, overrides = ctx
        keys = set(cells)
        extra = _extra_rows(keys, users)
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
    return _frame(out, _TABLE1_COLUMNS)


def _params(key: tuple) -> dict:
    return json.loads(key[1])


def table2(tidy: pd.DataFrame, warnings: list[str] | None = None) -> pd.DataFrame:
    """Table 2 as data: dataset x initialisation x method, the paper's value beside ours.

    A section is one (scale, backbone, overrides) and one kind of data (real or synthetic),
    shown where the table's suite ran: at the scale's own settings, or under settings whose
    contexts hold more than a protocol study's runs (``scope.made_by_a_study``; a study's
    context of two Table 2 rows is the study's table, not a Table 2 of "missing" cells).
    Each dataset stands for a paper column through its ``DatasetInfo.stands_for``; at the
    embedded scale "ImageNet" is trained from scratch and "ImageNet+MsCoco" pre-trained on a
    larger, separate synthetic set. A method beyond the paper's rows has a row in the cells
    where it ran. Values in % (the paper prints fractions; shown x100).
    """
    tidy = reported(tidy)  # whole runs on the reported split (no weight-search trial)
    warnings = [] if warnings is None else warnings
    if tidy.empty:
        return _frame([], _TABLE2_COLUMNS)
    metrics = SeedMetrics(tidy, warnings)
    rows2 = table2_rows()
    sections: dict[tuple, dict] = {}
    for ctx, by_row in metrics.miou.items():
        dataset, backbone, scale, init, overrides = ctx
        if stands_for(dataset) not in paper.TABLE2_DATASETS or init not in TABLE2_INIT or not set(by_row) & set(rows2):
            continue
        kind = "synthetic" if is_synthetic(dataset) else "real"
        sections.setdefault((scale, backbone, overrides, kind), {})[(dataset, init)] = ctx
    sections = {s: found for s, found in sections.items()
                if not all(made_by_a_study(ctx, metrics.miou[ctx]) for ctx in found.values())}  # fmt: skip
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
                ran = set(metrics.miou[ctx]) if ctx is not None else set()
                if ctx is None:
                    ctx = (dataset or data_name.lower(), backbone, scale, init or init_name.lower(), overrides)
                for key in rows2 + [k for k in extra if k in ran]:
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
    return _frame(out, _TABLE2_COLUMNS)


def _table1_sections(t: pd.DataFrame) -> list[Section]:
    """Table 1's sections: one per context, a row per loss (its name once per group)."""
    sections = []
    for ctx, g in t.groupby(CONTEXT, sort=False):
        ctx = dict(zip(CONTEXT, ctx))
        extra = metric_headers(g)
        header = ["Loss", "λ1", "λ2", "λ3", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]", "Holm"]
        header += [h for _, text in extra for h in (text, "Δ")]
        title = "Table 1: " + describe_context(ctx["dataset"], ctx["scale"], ctx["backbone"], ctx["init"], ctx["overrides"])
        rows, apart = [], []
        for part, frame in ((rows, g[~g.apply(all_diverged, axis=1)]), (apart, g[g.apply(all_diverged, axis=1)])):
            last = None
            for _, r in frame.iterrows():
                loss = r["loss"] if r["loss"] != last else ""
                last = r["loss"]
                part.append(
                    [loss, r["lambda_1"], r["lambda_2"], r["lambda_3"], paper_text(r["paper"]), ours_text(r),
                     str(r["n"]), diff_seeds_text(r), diff_text(r), holm_text(r)]
                    + [x for name, _ in extra for x in metric_text(r, name)]
                )  # fmt: skip
        align = "llll" + "rlr" + "lll" + "l" * (len(header) - 10)
        sections.append(Section(title, header, rows, notes=(g["note"].iloc[0], COMMON_NOTE, TABLE1_NOTE, table1_scales_text()),
                                align=align, apart=apart, apart_label=DIVERGED_APART))  # fmt: skip
    return sections


#: Table 1's own note: its seed rule and its figure of the seeds.
TABLE1_NOTE = f"{RULE_TEXT}. {STRIP_NOTE}"


def _table2_sections(t: pd.DataFrame) -> list[Section]:
    """Table 2's sections: one per (scale, backbone, settings, kind of data), a row per
    (pre-training, dataset, method), the groups' names once."""
    sections = []
    for (scale, backbone, overrides, _kind), g in t.groupby(["scale", "backbone", "overrides", "kind"], sort=False):
        extra = metric_headers(g)
        header = ["Pre-training", "Dataset", "Method", "Paper", "Ours", "n", "Δ PPCE per seed", "Δ PPCE mean [95% CI]", "Holm"]
        header += [h for _, text in extra for h in (text, "Δ")]
        title = f"Table 2: {scale} scale, {backbone}" + (f", settings {overrides}" if overrides else "")
        rows, apart = [], []
        for part, frame in ((rows, g[~g.apply(all_diverged, axis=1)]), (apart, g[g.apply(all_diverged, axis=1)])):
            last = (None, None)
            for _, r in frame.iterrows():
                pre = f"{r['pretraining']} (ours: {r['init']})" if r["pretraining"].lower() != r["init"] else r["pretraining"]
                data = f"{r['column']} (ours: {r['dataset']})" if r["column"].lower() != r["dataset"] else r["column"]
                shown_pre = pre if last[0] != pre else ""
                shown_data = data if last != (pre, data) else ""
                last = (pre, data)
                part.append(
                    [shown_pre, shown_data, r["method_name"], paper_text(r["paper"]), ours_text(r), str(r["n"]),
                     diff_seeds_text(r), diff_text(r), holm_text(r)]
                    + [x for name, _ in extra for x in metric_text(r, name)]
                )  # fmt: skip
        align = "lll" + "rlr" + "lll" + "l" * (len(header) - 9)
        sections.append(Section(title, header, rows, notes=(g["note"].iloc[0], COMMON_NOTE), align=align, apart=apart,
                                apart_label=DIVERGED_APART))  # fmt: skip
    return sections


def table_sections(kind: str, table: pd.DataFrame) -> list[Section]:
    """The sections of ``table1(...)`` or ``table2(...)`` (``kind`` "table1" | "table2")."""
    if table.empty:
        return []
    return _table1_sections(table) if kind == "table1" else _table2_sections(table)


_HEADINGS = {"table1": "Table 1: % mIoU per loss (paper: Cityscapes)", "table2": "Table 2: % mIoU per dataset and pre-training"}


def _banner(table: pd.DataFrame) -> str:
    return plumbing_banner(table["scale"]) if "scale" in table.columns else ""


def table_document(kind: str, table: pd.DataFrame) -> Document:
    """The document of ``table1(...)`` or ``table2(...)`` (``kind`` "table1" | "table2")."""
    return Document(_HEADINGS[kind], table_sections(kind, table), empty="No record of this table's runs.", banner=_banner(table))


def table_markdown(kind: str, table: pd.DataFrame) -> str:
    """Markdown of ``table1(...)`` or ``table2(...)`` (``kind`` "table1" | "table2")."""
    return table_document(kind, table).markdown()


def table_latex(kind: str, table: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``table1(...)`` or ``table2(...)``: one table environment per section."""
    return latex(table_sections(kind, table), empty="no record of this table's runs", banner=_banner(table))


def _write(kind: str, t: pd.DataFrame, out: PartOutput) -> None:
    out.table(kind, table_document(kind, t), frame_csv(t), table_latex(kind, t))


def write_table1(inputs: PartInput, out: PartOutput) -> None:
    """``table1.{md,csv,tex}``, ``claims.{md,csv}`` and ``findings.md``: the paper's claims judged in every
    context Table 1 shows, and in words (with the multiverse's share per verdict once it has runs of its own),
    but those of a plumbing check's scale (``scope.is_plumbing``), which get no verdict."""
    tidy = inputs.reported
    t = table1(tidy, out.warnings)
    _write("table1", t, out)
    contexts = [tuple(c) for c in t[CONTEXT].drop_duplicates().itertuples(index=False)] if not t.empty else []
    judged = [c for c in contexts if not is_plumbing(c[CONTEXT.index("scale")])]
    verdicts = claims_table(tidy, judged)
    multiverse = multiverse_table(tidy)
    if not multiverse.empty:
        multiverse = multiverse[~multiverse["scale"].map(is_plumbing)]
    plumbing = sorted({c[CONTEXT.index("scale")] for c in contexts} - {c[CONTEXT.index("scale")] for c in judged})
    out.document("claims", claims_document(verdicts, multiverse_claims(multiverse), plumbing))
    out.text("claims.csv", frame_csv(verdicts))
    out.text("findings.md", findings_markdown(verdicts))


def write_table2(inputs: PartInput, out: PartOutput) -> None:
    """``table2.{md,csv,tex}``."""
    _write("table2", table2(inputs.reported, out.warnings), out)
