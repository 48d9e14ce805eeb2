"""The report's one renderer: sections of text cells as Markdown and LaTeX, table frames as CSV.

Every table of the report is a list of ``Section``s (a title, a header, rows of text cells
and the notes below them) that a part builds from its statistics, gathered with the file's
heading in a ``Document``; this module turns them into a Markdown document (``markdown``),
LaTeX table environments (``latex``) and a frame into CSV text (``frame_csv``);
``benchmark.report.page`` writes the same sections as the results page's HTML. Output is byte-for-byte reproducible: nothing here reads
a clock, a locale or a dictionary order that the caller did not fix.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["Document", "Section", "frame_csv", "latex", "latex_text", "markdown", "markdown_cell", "markdown_table"]


@dataclass(frozen=True)
class Section:
    """One table of a report file: ``## title``, its paragraphs ``intro`` (above the table),
    the table (``header``, then ``rows``, each a list of text cells), its paragraphs
    ``notes`` (below the table).

    LaTeX shows the section as one booktabs table environment: ``caption`` (default: the
    notes joined by a space) is its caption, ``align`` (default: ``l`` per column) its
    column specification. ``level`` is the Markdown heading's level (3: a subsection).

    ``apart``: rows set apart below a rule line under their label ``apart_label`` (the rows
    whose every seed diverged: their mean says how the loss fails, not how well it does)."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = ()
    intro: Sequence[str] = ()
    caption: str | None = None
    align: str | None = None
    level: int = 2
    apart: Sequence[Sequence[str]] = ()
    apart_label: str = ""


@dataclass(frozen=True)
class Document:
    """One report file's tables: ``# heading``, the paragraphs ``intro``, the ``sections``;
    without sections the paragraph ``empty`` says why. ``banner``: a line above the heading
    that qualifies every number below it (the smoke scale's plumbing check)."""

    heading: str
    sections: Sequence[Section] = ()
    intro: Sequence[str] = ()
    empty: str = ""
    banner: str = ""

    def markdown(self) -> str:
        """The document as Markdown (``markdown``)."""
        return markdown(self.heading, self.sections, intro=self.intro, empty=self.empty, banner=self.banner)


def markdown_cell(text) -> str:
    """A Markdown table cell: ``|`` escaped, so that it stays inside its cell."""
    return str(text).replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: header, separator, one line per row."""
    lines = ["| " + " | ".join(markdown_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows]


def _paragraphs(texts: Iterable[str]) -> list[str]:
    """Each paragraph followed by a blank line."""
    return [line for text in texts for line in (text, "")]


def _apart_rows(s: Section) -> list[list[str]]:
    """The rows set apart, under a row holding their label in bold (Markdown draws no rule line)."""
    if not s.apart:
        return []
    return [[f"**{s.apart_label}**"] + [""] * (len(s.header) - 1), *s.apart]


def markdown(heading: str, sections: Sequence[Section], *, intro: Sequence[str] = (), empty: str = "", banner: str = "") -> str:
    """A Markdown document: the line ``banner`` (when given), ``# heading``, the paragraphs
    ``intro``, then every section (``## title``, its intro, its table, its notes), blank lines
    between blocks and a final newline. Without sections the paragraph ``empty`` (when given)
    says why."""
    lines = ([f"**{banner}**", ""] if banner else []) + [f"# {heading}", ""] + _paragraphs(intro)
    if not sections and empty:
        lines += _paragraphs([empty])
    for s in sections:
        lines += [f"{'#' * s.level} {s.title}", ""] + _paragraphs(s.intro)
        lines += markdown_table(s.header, [*s.rows, *_apart_rows(s)]) + [""] + _paragraphs(s.notes)
    return "\n".join(lines)


_LATEX_ESCAPE = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\~{}", "^": r"\^{}",
}  # fmt: skip
#: Symbols of the cells and notes written as LaTeX maths.
_LATEX_MATHS = (("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("λ1", r"$\lambda_1$"), ("λ2", r"$\lambda_2$"), ("λ3", r"$\lambda_3$"))


def latex_text(text) -> str:
    """``text`` escaped for LaTeX, with ±, Δ and λ1..λ3 as maths."""
    text = "".join(_LATEX_ESCAPE.get(c, c) for c in str(text))
    for plain, tex in _LATEX_MATHS:
        text = text.replace(plain, tex)
    return text


def latex(sections: Sequence[Section], *, empty: str, banner: str = "") -> str:
    """LaTeX (booktabs) of ``sections``: a ``% title`` comment and one table environment per
    section (the rows set apart below a ``\\midrule`` under their label); the comment
    ``% empty`` alone without sections; the comment ``% banner`` first when given.

    Written by hand: pandas' ``Styler.to_latex`` needs jinja2 and cannot merge the notes in."""
    out = []
    for s in sections:
        align = s.align if s.align is not None else "l" * len(s.header)
        caption = s.caption if s.caption is not None else " ".join(s.notes)
        out += [
            f"% {s.title}", r"\begin{table}[t]", r"\centering", r"\small", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
            " & ".join(latex_text(h) for h in s.header) + r" \\", r"\midrule",
        ]  # fmt: skip
        out += [" & ".join(latex_text(c) for c in row) + r" \\" for row in s.rows]
        if s.apart:
            out += [r"\midrule", rf"\multicolumn{{{len(s.header)}}}{{l}}{{\emph{{{latex_text(s.apart_label)}}}}} \\"]
            out += [" & ".join(latex_text(c) for c in row) + r" \\" for row in s.apart]
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{latex_text(caption)}}}", r"\end{table}", ""]
    head = [f"% {banner}"] if banner else []
    return "\n".join(head + out) if out else "\n".join(head + [f"% {empty}", ""])


def frame_csv(frame: pd.DataFrame, decimals: int | None = 3) -> str:
    """CSV text of a table frame: no index, ``\\n`` line ends, NaN as empty, floats with
    ``decimals`` fixed decimals (``None``: pandas' full precision, for the tidy table)."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format=None if decimals is None else f"%.{decimals}f", lineterminator="\n")
    return buf.getvalue()
