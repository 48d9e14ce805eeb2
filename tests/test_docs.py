"""The README files: their tables are the committed report's, the front page stays short and
keeps the two commands CI runs, and no page speaks of versions relative to time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.report.readme_tables import MARKER, fill_markers, marked_blocks, stale_markers

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "results" / "report"
README = ROOT / "README.md"
RESULTS_README = ROOT / "results" / "README.md"
PAGES = [README, RESULTS_README, *sorted((ROOT / "docs").glob("*.md"))]

COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m benchmark.run --suite table1",
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q',
)


@pytest.mark.parametrize("path", [README, RESULTS_README], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_marked_tables_are_the_committed_reports(path):
    blocks = marked_blocks(REPORT)  # read now: the report may have been rebuilt since the README was written
    text = path.read_text(encoding="utf-8")
    names = [m["name"] for m in MARKER.finditer(text)]
    assert names, f"{path.name} has no marked table"
    assert not stale_markers(text, blocks), (
        f"{path.relative_to(ROOT)}: marked tables {stale_markers(text, blocks)} differ from results/report; "
        "run `python -m benchmark.report.readme_tables`"
    )
    assert fill_markers(text, blocks) == text


def test_readme_shows_table1():
    text = README.read_text(encoding="utf-8")
    assert "<!-- report:table1:begin -->" in text
    assert "| Loss |" in text


def test_fill_markers_replaces_only_between_markers():
    text = (
        "# Title\n\nBefore | not a table.\n\n"
        "<!-- report:demo:begin -->\nold line\n| old | table |\n<!-- report:demo:end -->\n\n"
        "Between.\n\n<!-- report:other-one:begin -->\n<!-- report:other-one:end -->\nAfter.\n"
    )
    blocks = {"demo": "Caption\n\n| a | b |\n|---|---|\n| 1 | 2 |", "other-one": "x\n", "unused": "y"}
    out = fill_markers(text, blocks)
    assert out == (
        "# Title\n\nBefore | not a table.\n\n"
        "<!-- report:demo:begin -->\nCaption\n\n| a | b |\n|---|---|\n| 1 | 2 |\n<!-- report:demo:end -->\n\n"
        "Between.\n\n<!-- report:other-one:begin -->\nx\n<!-- report:other-one:end -->\nAfter.\n"
    )
    assert stale_markers(text, blocks) == ["demo", "other-one"]
    assert stale_markers(out, blocks) == []
    assert fill_markers(out, blocks) == out  # idempotent
    with pytest.raises(KeyError, match="demo"):
        fill_markers(text, {"other-one": "x"})


def test_marked_blocks_take_a_section_table(tmp_path):
    (tmp_path / "table1.md").write_text(
        "# Table 1\n\n## Table 1: ctx A\n\n"
        "| Loss | λ1 | Paper | Ours |\n|---|---|---|---|\n"
        "| PPCE | - | 64.1 | 62.3 |\n| extra(1) | 1 | - | 60.0 |\n| SEMEDA | 1 | 66.0 | 65.2 |\n|  | 0.5 | 65.6 | 64.9 |\n\n"
        "Legend.\n\n## Table 1: ctx B\n\n| Loss | λ1 | Paper | Ours |\n|---|---|---|---|\n| PPCE | - | 64.1 | 1.0 |\n",
        encoding="utf-8",
    )
    blocks = marked_blocks(tmp_path)
    assert set(blocks) == {"table1"}
    assert blocks["table1"] == (
        "Table 1: ctx A\n\n| Loss | λ1 | Paper | Ours |\n|---|---|---|---|\n"
        "| PPCE | - | 64.1 | 62.3 |\n| SEMEDA | 1 | 66.0 | 65.2 |\n|  | 0.5 | 65.6 | 64.9 |"
    )


def test_readme_is_a_short_front_page_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 220
    for command in COMMANDS:
        assert command in text
    section = text.split("## Two commands\n", 1)[1].split("\n## ", 1)[0]
    assert [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)] == list(COMMANDS)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_sentence_speaks_of_versions_relative_to_time(path):
    text = " ".join(path.read_text(encoding="utf-8").split()).lower()
    for phrase in ("this version", "previous version", "this round", "this machine"):
        assert phrase not in text, f"{path.relative_to(ROOT)} says {phrase!r}: name the version, commit or CPU"


def test_documented_flags_exist():
    """Every --flag written beside `python -m benchmark.<cli>` is one of that command's options."""
    from benchmark.perf import build_parser as perf_parser
    from benchmark.report import build_parser as report_parser
    from benchmark.run import build_parser as run_parser

    def options(parser):
        return {s for action in parser._actions for s in action.option_strings}

    known = {
        "benchmark.run": options(run_parser()),
        "benchmark.report": options(report_parser()),
        "benchmark.perf": options(perf_parser()),
        "benchmark.report.readme_tables": {"--report", "--check", "-h", "--help"},
    }
    command = re.compile(r"python -m (benchmark\.[\w.]+)((?:[^`\n]|\\\n)*)")
    for path in [*PAGES, ROOT / "CHANGELOG.md"]:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        for match in command.finditer(text):
            cli, rest = match[1], match[2].split("#")[0]
            assert cli in known, f"{path.name}: unknown command python -m {cli}"
            for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest):
                assert flag in known[cli], f"{path.name}: `python -m {cli}` has no option {flag}"
