"""The command line, ``python -m benchmark.perf``: its options, the sections they select, and
writing ``perf.json`` and ``README.md`` into ``--out``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from benchmark.cli import ArgumentParser, add_import_option, import_from_argv, import_plugins, main_guard, parse_overrides, writable_folder
from benchmark.perf.readme import fmt, target_bound, write_readme
from benchmark.perf.registry import SECTIONS, default_sections, get_section
from benchmark.perf.runner import merged, run
from benchmark.spec import check_setting_values

__all__ = ["build_parser", "selected_sections", "main"]

DESCRIPTION = "Performance benchmark: ``python -m benchmark.perf [--quick] [--out results/perf]``."


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m benchmark.perf", description=DESCRIPTION)
    optional = [name for name, s in SECTIONS.items() if s.optional]
    p.add_argument("--quick", action="store_true", help="reduced sizes and repeats (under two minutes)")
    p.add_argument("--out", default="results/perf", help="folder of perf.json and README.md (default: results/perf)")
    p.add_argument("--only", help=f"comma-separated sections to run: {', '.join(SECTIONS)} "
                   f"(default: all but {', '.join(optional)})")
    p.add_argument("--suite-wall", action="store_true",
                   help="also run suite_wall: the whole table1 suite from nothing, timed (tens of minutes)")
    p.add_argument("--suite-wall-records", metavar="DIR",
                   help="with --suite-wall: copy the timed suite's records into DIR (e.g. results/runs)")
    p.add_argument("--suite-wall-fast", action="append", default=[], metavar="KEY=VALUE",
                   help="with --suite-wall: time the suite again with this setting (repeatable), e.g. the settings that "
                        "passed the agreement check; its figures end in _fast")
    p.add_argument("--records", nargs="+", default=["results/runs"], metavar="DIR",
                   help="folders of run records the agreement section reads, together (default: results/runs)")
    p.add_argument("--update", action="store_true",
                   help="keep the other sections of an existing perf.json in --out (e.g. to re-run one measured on a busy machine)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for the comparisons (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_import_option(p)
    return p


def selected_sections(args) -> tuple[str, ...]:
    """The sections to run: those of ``--only`` (default: ``default_sections()``), plus
    ``suite_wall`` with ``--suite-wall``."""
    sections = default_sections()
    if args.only:
        sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
        for name in sections:
            get_section(name)  # an unknown name is an error listing the valid ones
    if args.suite_wall and "suite_wall" not in sections:
        sections = (*sections, "suite_wall")
    return sections


@main_guard
def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.perf``; 0 on success (``main_guard``: 2 and one line on a user error)."""
    argv = sys.argv[1:] if argv is None else argv
    import_from_argv(argv)
    args = build_parser().parse_args(argv)
    import_plugins(args.imports)
    sections = selected_sections(args)
    if args.suite_wall_fast:
        check_setting_values(parse_overrides(args.suite_wall_fast))  # a typo fails now, not after the first timing
    if "agreement" in sections:
        for folder in args.records:
            if not Path(folder).is_dir():
                raise ValueError(f"--records {folder}: no such folder of run records; name the folders the runs were written to")
    if args.threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}")
    writable_folder(args.out, "--out")  # created, and checked writable before any timing
    if args.suite_wall_records:
        writable_folder(args.suite_wall_records, "--suite-wall-records")
    out = Path(args.out)
    config = "quick" if args.quick else "full"
    previous = None
    if args.update and (out / "perf.json").exists():
        previous = json.loads((out / "perf.json").read_text())
        if previous.get("config") != config:
            raise ValueError(f"{out / 'perf.json'} holds a {previous.get('config')} run; --update needs the same configuration")
    result = run(config, sections=sections, progress=not args.no_progress, threads=args.threads,
                 suite_wall_records=args.suite_wall_records, records=args.records, suite_wall_fast=args.suite_wall_fast)
    if previous is not None:
        result = merged(previous, result)
    tmp = out / f".perf.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out / "perf.json")
    write_readme(result, out / "README.md")
    for key, f in result["figures"].items():
        met = {True: "met", False: "NOT MET", None: ""}[f["met"]]
        target = f" (target {f['target']['op']} {f['target']['value']:g}: {met})" if f["target"] else ""
        print(f"{key:55s} {fmt(f['median'], target_bound(f)):>8s} {f['unit']}{target}")
    print(f"wrote {out / 'perf.json'} and {out / 'README.md'}")
    return 0


