"""``python -m benchmark.report``: records -> tidy table -> the suite's tables and figures."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.cli import ArgumentParser, add_import_option, import_from_argv, import_plugins, main_guard
from benchmark.report.claims import claims_markdown, claims_table, multiverse_claims
from benchmark.report.curves import curves_figure
from benchmark.report.figures import (
    boundary_figure,
    boundary_points,
    qualitative_figures,
    trimap_figure,
    trimap_points,
    trimap_summary,
)
from benchmark.report.multiverse import multiverse_figure, multiverse_latex, multiverse_markdown, multiverse_table
from benchmark.report.sensitivity import sensitivity_latex, sensitivity_markdown, sensitivity_table
from benchmark.report.tables import table1, table2, table_csv, table_latex, table_markdown
from benchmark.report.leaderboard import budget_figure, leaderboard_latex, leaderboard_markdown, leaderboard_table, weight_figure, weight_table
from benchmark.report.tidy import CONTEXT, load_folder, reported, tidy_records


#: What each ``--suite`` rebuilds; the tidy table and the qualitative figures come with all.
SUITE_PARTS: dict[str, tuple[str, ...]] = {
    "table1": ("table1",),
    "table2": ("table2",),
    "trimap": ("trimap",),
    "sensitivity": ("sensitivity",),
    "multiverse": ("multiverse",),
    "leaderboard": ("leaderboard",),
    "all": ("table1", "table2", "trimap", "sensitivity", "multiverse", "leaderboard"),
}


@dataclass
class Report:
    """What ``build_report`` wrote, and the warnings met on the way (one line each)."""

    out: Path
    tidy: pd.DataFrame
    files: list[Path]
    warnings: list[str]
    #: Records given the counts of a newer evaluator from their kept predictions.
    updated: list[str] = field(default_factory=list)


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


def suite_records(records: list[dict], suite: str) -> list[dict]:
    """The records of ``suite``'s rows: the row's method and parameters, run under the row's
    own settings (its overrides and no others); any run of those rows when none matches so
    (a suite run with ``--set``)."""
    from benchmark.report.tidy import is_reported, overrides_text, settings_text
    from benchmark.spec import row_key
    from benchmark.suites import get_suite

    rows = get_suite(suite).rows
    records = [r for r in records if is_reported(r.get("spec") or {})]
    exact = {(r.key(), settings_text(r.overrides_dict())) for r in rows}
    keys = {r.key() for r in rows}
    spec_of = [(r, r.get("spec") or {}) for r in records]
    keyed = [(r, row_key(s.get("method", ""), s.get("params") or {}), s) for r, s in spec_of if s.get("method")]
    chosen = [r for r, k, s in keyed if (k, overrides_text(s)) in exact]
    return chosen or [r for r, k, _ in keyed if k in keys]


def evaluate_kept(folder: str | os.PathLike, records: list[dict], data_root: str | None = None) -> list[str]:
    """For every ok record with kept predictions (``<run_id>.pred.npz`` beside it) that lacks
    the counts of an evaluator of ``EVALUATORS`` (one added after the run), or holds counts
    made under an earlier definition of its metric, compute them from the predictions,
    without training, and store them in the record (rewritten atomically). Returns one line
    per record updated."""
    from benchmark.evaluators import EVALUATORS, evaluate_sidecar, outdated_evaluators
    from benchmark.records import predictions_path, write_record

    lines = []
    for record in records:
        sidecar = predictions_path(folder, record.get("run_id", ""))
        if record.get("status") != "ok" or not sidecar.exists():
            continue
        counts = record.setdefault("counts", {})
        outdated = set(outdated_evaluators(record))
        missing = [cls for cls in EVALUATORS if cls.name not in counts or cls.name in outdated]
        for cls in missing:
            counts[cls.name] = evaluate_sidecar(record, sidecar, cls, data_root)
        if missing:
            write_record(folder, record)
            lines.append(f"{record['run_id']}: {', '.join(cls.name for cls in missing)} from its kept predictions")
    return lines


def build_report(records: str | os.PathLike, out: str | os.PathLike | None = None, suite: str = "all",
                 *, from_predictions: bool = False, data_root: str | None = None) -> Report:
    """Rebuild the tidy table and the ``suite``'s tables and figures from ``records`` into
    ``out`` (default ``<records>/report``). Any suite name outside ``SUITE_PARTS`` (e.g. a
    sweep's ``smoke``) rebuilds everything."""
    parts = SUITE_PARTS.get(suite, SUITE_PARTS["all"])
    recs, warnings = load_folder(records)
    updated = evaluate_kept(records, recs, data_root) if from_predictions else []
    out = Path(out) if out is not None else Path(records) / "report"
    out.mkdir(parents=True, exist_ok=True)
    everything = tidy_records(recs)
    # The paper's tables and figures read whole runs on the reported split; a weight
    # search's trials (tuning split, cut early) are the leaderboard's alone.
    tidy = reported(everything)
    read = set(tidy["run_id"]) if not tidy.empty else set()
    recs_reported = [r for r in recs if r["run_id"] in read]
    files = []

    def write(name: str, text: str):
        path = out / name
        path.write_text(text)
        files.append(path)

    everything.to_parquet(out / "tidy.parquet", index=False)
    files.append(out / "tidy.parquet")
    write("tidy.csv", everything.to_csv(index=False, lineterminator="\n"))
    for kind, build in (("table1", table1), ("table2", table2)):
        if kind in parts:
            t = build(tidy, warnings)
            write(f"{kind}.md", table_markdown(kind, t))
            write(f"{kind}.csv", table_csv(t))
            write(f"{kind}.tex", table_latex(kind, t))
            if kind == "table1":
                contexts = [tuple(c) for c in t[CONTEXT].drop_duplicates().itertuples(index=False)] if not t.empty else []
                verdicts = claims_table(tidy, contexts)
                write("claims.md", claims_markdown(verdicts, multiverse_claims(multiverse_table(tidy))))
                write("claims.csv", table_csv(verdicts))
    if "trimap" in parts:
        fig = trimap_figure(tidy)
        if fig is None:
            warnings.append("trimap figure skipped: no ok run with trimap metrics")
        else:
            files += _save_figure(fig, out / "trimap")
            write("trimap.csv", table_csv(trimap_summary(trimap_points(tidy))))
        fig = boundary_figure(tidy)
        if fig is None:
            warnings.append("boundary figure skipped: no ok run with Boundary IoU and boundary F counts")
        else:
            files += _save_figure(fig, out / "boundary", formats=("png",))
            write("boundary.csv", table_csv(trimap_summary(boundary_points(tidy), "value")))
    if "sensitivity" in parts:
        t = sensitivity_table(tidy, warnings)
        write("sensitivity.md", sensitivity_markdown(t))
        write("sensitivity.csv", table_csv(t))
        write("sensitivity.tex", sensitivity_latex(t))
    if "multiverse" in parts:
        t = multiverse_table(tidy, warnings)
        write("multiverse.md", multiverse_markdown(t))
        write("multiverse.csv", table_csv(t))
        write("multiverse.tex", multiverse_latex(t))
        fig = multiverse_figure(tidy)
        if fig is not None:
            files += _save_figure(fig, out / "multiverse", formats=("png",))
    if "leaderboard" in parts:
        t = leaderboard_table(everything, warnings)
        write("leaderboard.md", leaderboard_markdown(t))
        write("leaderboard.csv", table_csv(t.drop(columns=["note"], errors="ignore")))
        write("leaderboard.tex", leaderboard_latex(t))
        if not t.empty:
            write("leaderboard_trials.csv", table_csv(weight_table(everything)))
            for stem, make in (("leaderboard_budget", budget_figure), ("leaderboard_weights", weight_figure)):
                fig = make(everything)
                if fig is not None:
                    files += _save_figure(fig, out / stem, formats=("png",))
    for part in parts:
        if part == "leaderboard":
            continue
        fig = curves_figure(suite_records(recs_reported, part), None)
        if fig is not None:
            files += _save_figure(fig, out / f"curves_{part}", formats=("png",))
    figures, more = qualitative_figures(recs_reported)
    warnings += more
    for stem, fig in figures.items():
        files += _save_figure(fig, out / stem, formats=("png",))
    return Report(out, everything, files, list(dict.fromkeys(warnings)), updated)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m benchmark.report",
        description="Rebuild the tables and figures from run records (never trains).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--suite", default="all", choices=list(SUITE_PARTS), help="which tables and figures to rebuild")
    p.add_argument("--records", default="runs", help="folder of run records (*.json)")
    p.add_argument("--out", help="output folder (default: <records>/report)")
    p.add_argument("--from-predictions", action="store_true",
                   help="compute the metrics a record lacks (an evaluator added after its run) from the predictions "
                        "kept beside it (--keep-predictions), without training; the records are updated")
    p.add_argument("--data-root", help="root of the real dataset of such records (synthetic sets are regenerated)")
    add_import_option(p)
    return p


@main_guard
def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    argv = sys.argv[1:] if argv is None else argv
    import_from_argv(argv)
    args = build_parser().parse_args(argv)
    import_plugins(args.imports)
    report = build_report(args.records, args.out, args.suite, from_predictions=args.from_predictions, data_root=args.data_root)
    for line in report.updated:
        print(f"updated {line}")
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    counts = report.tidy["status"].value_counts()
    print(f"{len(report.tidy)} records ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}) -> {report.out}")
    for path in report.files:
        print(f"  {path}")
    return 0

