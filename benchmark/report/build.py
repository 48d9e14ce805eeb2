"""``python -m benchmark.report``: records -> tidy table -> the registered parts' files, in one loop.

``build_report`` reads the records once, makes the tidy table, runs every part of
``benchmark.report.parts`` that the suite asks for, then writes the results page of what they
wrote (``benchmark.report.page``: ``index.html``); ``check_report`` rebuilds into a
temporary folder and names the files that differ from a committed report (``--check DIR``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.cli import ArgumentParser, UserError, add_import_option, import_from_argv, import_plugins, main_guard, writable_folder
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.page import write_page
from benchmark.report.parts import ALL, PARTS, parts_for, suite_names
from benchmark.report.tidy import check_records_folder, load_folder, reported, tidy_records
from benchmark.search_definition import load_definitions


@dataclass
class Report:
    """What ``build_report`` wrote, and the warnings met on the way (one line each)."""

    out: Path
    tidy: pd.DataFrame
    files: list[Path]
    warnings: list[str]
    #: Records given the counts of a newer evaluator from their kept predictions.
    updated: list[str] = field(default_factory=list)


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


def build_report(records: str | os.PathLike, out: str | os.PathLike | None = None, suite: str = ALL,
                 *, from_predictions: bool = False, data_root: str | None = None, links_from: str | os.PathLike | None = None) -> Report:
    """Rebuild the tidy table and the ``suite``'s tables and figures from ``records`` into
    ``out`` (default ``<records>/report``): every registered part the suite asks for
    (``parts.parts_for``), in registration order, then the results page ``index.html`` of
    what they wrote. Any suite name no part knows (e.g. a sweep's ``smoke``) rebuilds everything.
    ``links_from``: the folder the page's links to the records are written from (default: ``out``)."""
    recs, warnings = load_folder(records)
    updated = evaluate_kept(records, recs, data_root) if from_predictions else []
    out = Path(out) if out is not None else Path(records) / "report"
    out.mkdir(parents=True, exist_ok=True)
    everything = tidy_records(recs)
    # The paper's tables and figures read whole runs on the reported split; a weight
    # search's trials (tuning split, cut early) are the leaderboard's alone.
    tidy = reported(everything)
    read = set(tidy["run_id"]) if not tidy.empty else set()
    known = suite_names()[:-1]
    inputs = PartInput(records=recs, tidy=everything, reported=tidy, reported_records=[r for r in recs if r["run_id"] in read],
                       suites=(suite,) if suite in known else tuple(known), definitions=tuple(load_definitions(records)),
                       folder=Path(records))  # fmt: skip
    output = PartOutput(out, warnings=warnings, links_from=Path(links_from) if links_from is not None else None)
    for part in parts_for(suite):
        part.write(inputs, output)
    write_page(inputs, output)
    return Report(out, everything, output.files, list(dict.fromkeys(output.warnings)), updated)


def check_report(records: str | os.PathLike, reference: str | os.PathLike, suite: str = ALL, **options) -> tuple[Report, list[str]]:
    """Rebuild the report of ``records`` into a temporary folder and compare it, byte for
    byte, with the folder ``reference`` (a committed report). Returns the report (its folder
    deleted) and one line per file that differs: made with other bytes, made but absent from
    ``reference``, or, when the suite builds every part, in ``reference`` but not made.
    ``options``: those of ``build_report``."""
    reference = Path(reference)
    if not reference.is_dir():
        raise UserError(f"report folder {reference} to check against does not exist")
    with tempfile.TemporaryDirectory(prefix="report-check-") as tmp:
        report = build_report(records, tmp, suite, links_from=reference, **options)  # the page's links as from reference
        names = [p.name for p in report.files]
        problems = []
        for name in sorted(names):
            theirs = reference / name
            if not theirs.is_file():
                problems.append(f"{name}: made by the report, absent from {reference}")
            elif theirs.read_bytes() != (Path(tmp) / name).read_bytes():
                problems.append(f"{name}: differs from {reference / name}")
        if len(parts_for(suite)) == len(PARTS):
            problems += [f"{p.name}: in {reference}, not made by the report"
                         for p in sorted(reference.iterdir()) if p.is_file() and p.name not in names]  # fmt: skip
    return report, problems


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default where it says something: not for a flag, an option without
    one, or a help text that names its default itself."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m benchmark.report",
        description="Rebuild the tables and figures from run records (never trains).",
        formatter_class=_DefaultsFormatter,
    )
    p.add_argument("--suite", default=ALL, choices=suite_names(), help="which tables and figures to rebuild")
    p.add_argument("--records", default="runs", help="folder of run records (*.json)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="output folder (default: <records>/report)")
    where.add_argument("--check", metavar="DIR",
                       help="rebuild into a temporary folder and compare it byte for byte with the report in DIR "
                            "(e.g. results/report); exit 1 naming every file that differs")
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
    check_records_folder(args.records)
    if args.check is None:  # before any record is read: a file or an unwritable folder would otherwise fail after the work
        writable_folder(args.out if args.out is not None else str(Path(args.records) / "report"), "--out")
    options = dict(from_predictions=args.from_predictions, data_root=args.data_root)
    if args.check is not None:
        report, problems = check_report(args.records, args.check, args.suite, **options)
    else:
        report, problems = build_report(args.records, args.out, args.suite, **options), None
    for line in report.updated:
        print(f"updated {line}")
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    counts = report.tidy["status"].value_counts()
    summary = f"{len(report.tidy)} records ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})"
    if problems is None:
        print(f"{summary} -> {report.out}")
        for path in report.files:
            print(f"  {path}")
        return 0
    if problems:
        print(f"{summary}: {len(problems)} of the rebuilt files differ from {args.check}")
        for line in problems:
            print(f"  {line}")
        return 1
    print(f"{summary}: the {len(report.files)} rebuilt files are identical to {args.check}")
    return 0
