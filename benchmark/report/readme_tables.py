"""The tables of ``README.md`` and ``results/README.md``, written from the report between markers.

A table in those files is never typed by hand: it sits between two HTML comments,

    <!-- report:table1:begin -->
    ...
    <!-- report:table1:end -->

and its text is what ``marked_blocks(report_dir)`` makes of the report's markdown files
(``table1.md``, ``table2.md``, ``sensitivity.md``, ``leaderboard.md``, ``multiverse.md``): a
section's title, then its table, from the header row through the table's last row; or, from
``findings.md``, a section's title and its list of sentences. The
test ``tests/test_docs.py`` compares every marked block with the committed report, so a
rebuilt report and a stale README cannot both be committed;

    python -m benchmark.report.readme_tables [--report results/report] [--check] [FILE ...]

rewrites the blocks of the files (default ``README.md`` and ``results/README.md``), or,
with ``--check``, names the stale ones and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["BLOCKS", "marked_blocks", "fill_markers", "stale_markers", "section_tables", "paper_rows", "main"]

#: ``<!-- report:NAME:begin -->`` ... ``<!-- report:NAME:end -->``; NAME is letters, digits, ``-`` and ``_``.
MARKER = re.compile(
    r"(?P<begin><!-- report:(?P<name>[\w-]+):begin -->)\n(?P<body>.*?)(?P<end><!-- report:(?P=name):end -->)", re.S
)


def section_tables(markdown: str, start: str = "|") -> list[tuple[str, list[str]]]:
    """Every ``## `` section of a report file that holds a table: ``(title, table lines)``.

    The table lines run from the section's first line starting with ``start`` (``|``; ``- ``
    for a list, as ``findings.md`` holds) through the last consecutive one (header,
    separator and rows)."""
    sections: list[tuple[str, list[str]]] = []
    title, table, done = None, [], False
    for line in markdown.splitlines() + ["## end"]:
        if line.startswith("## "):
            if title is not None and table:
                sections.append((title, table))
            title, table, done = line[3:].strip(), [], False
        elif title is not None and not done:
            if line.startswith(start):
                table.append(line)
            elif table:
                done = True
    return sections


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` inside a cell stays in that cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def paper_rows(table: list[str]) -> list[str]:
    """The rows of ``table`` that print a paper number (its ``Paper`` column is not ``-``).

    Grouping cells left blank under a row that is dropped move to the next row kept, so a
    group (a loss, a dataset) keeps its name in the shorter table."""
    header, sep, rows = table[0], table[1], table[2:]
    names = _cells(header)
    paper = names.index("Paper")
    cells = [_cells(r) for r in rows]
    # Columns left of "Paper" that some row leaves blank are grouping columns.
    group = [j for j in range(paper) if any(c[j] == "" for c in cells)]
    filled, last = [], [""] * len(names)
    for c in cells:
        full = list(c)
        for j in group:
            if full[j] == "":
                full[j] = last[j]
        filled.append(full)
        last = full
    kept, previous = [], None
    for raw, full in zip(cells, filled):
        if raw[paper] in ("", "-"):
            continue
        shown = list(raw)
        for j in group:
            same_above = previous is not None and all(full[k] == previous[k] for k in group if k <= j)
            shown[j] = "" if same_above else full[j]
        kept.append("| " + " | ".join(shown) + " |")
        previous = full
    return [header, sep, *kept]


def _block(title: str, table: list[str]) -> str:
    return f"{title}\n\n" + "\n".join(table)


#: Block name -> (report file, which section: the first, or the first whose title contains
#: the text, and a filter of its table).
BLOCKS: dict[str, tuple[str, str | None, Callable[[list[str]], list[str]]]] = {
    "table1": ("table1.md", None, paper_rows),
    "table2": ("table2.md", None, paper_rows),
    "sensitivity": ("sensitivity.md", None, lambda t: t),
    "leaderboard-streets": ("leaderboard.md", "streets", lambda t: t),
    "leaderboard-shapes": ("leaderboard.md", "shapes", lambda t: t),
    "multiverse": ("multiverse.md", None, lambda t: t),
    "findings-table1": ("findings.md", None, lambda t: t),
}
#: Report files whose blocks are lists, not tables: the start of their lines.
LIST_FILES = {"findings.md": "- "}


def marked_blocks(report_dir: Path | str) -> dict[str, str]:
    """``{block name: markdown}`` for every block of ``BLOCKS`` whose report file exists in
    ``report_dir``: the section's title, a blank line, its table (no trailing newline)."""
    report_dir = Path(report_dir)
    blocks: dict[str, str] = {}
    for name, (filename, contains, keep) in BLOCKS.items():
        path = report_dir / filename
        if not path.is_file():
            continue
        sections = section_tables(path.read_text(encoding="utf-8"), LIST_FILES.get(filename, "|"))
        chosen = [s for s in sections if contains is None or contains in s[0]]
        if chosen:
            title, table = chosen[0]
            blocks[name] = _block(title, keep(table))
    return blocks


def fill_markers(text: str, blocks: dict[str, str]) -> str:
    """``text`` with the body of every ``<!-- report:NAME:begin/end -->`` pair replaced by
    ``blocks[NAME]``; text outside the markers is kept as it is. A marker naming a block
    that ``blocks`` lacks raises ``KeyError`` (a README must not keep a table the report no
    longer makes)."""

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in blocks:
            raise KeyError(f"marked block {name!r} is not made by the report (known: {', '.join(sorted(blocks))})")
        return f"{match['begin']}\n{blocks[name].rstrip(chr(10))}\n{match['end']}"

    return MARKER.sub(replace, text)


def stale_markers(text: str, blocks: dict[str, str]) -> list[str]:
    """The names of the marked blocks of ``text`` whose body differs from ``blocks`` (or that
    ``blocks`` lacks), in the order they appear."""
    return [m["name"] for m in MARKER.finditer(text)
            if m["name"] not in blocks or blocks[m["name"]].rstrip("\n") != m["body"].rstrip("\n")]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.report.readme_tables",
                                description="Write (or check) the report's tables between the markers of README files.")  # fmt: skip
    p.add_argument("files", nargs="*", default=["README.md", "results/README.md"], help="files with marked blocks")
    p.add_argument("--report", default="results/report", help="folder of the report's markdown files")
    p.add_argument("--check", action="store_true", help="write nothing; name the stale blocks and exit 1 if any")
    args = p.parse_args(argv)
    blocks = marked_blocks(args.report)
    stale_any = False
    for name in args.files:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        stale = stale_markers(text, blocks)
        if args.check:
            for block in stale:
                print(f"{path}: block {block!r} differs from {args.report}")
            stale_any |= bool(stale)
        elif stale:
            path.write_text(fill_markers(text, blocks), encoding="utf-8")
            print(f"{path}: rewrote {', '.join(stale)}")
    return 1 if stale_any else 0


if __name__ == "__main__":
    sys.exit(main())
