"""What a report part reads (``PartInput``) and where it writes (``PartOutput``).

A part of the report is a function ``write(inputs, out)``: it reads the records and tidy
tables of ``inputs`` and writes its files through ``out``, which saves them in the report
folder, lists them in the order written and collects the warnings met on the way. ``out``
also keeps each table's ``Document`` and each figure's caption, from which the results page
(``benchmark.report.page``) is written, so that the page shows what the files hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.report.render import Document

__all__ = ["PartInput", "PartOutput", "save_figure"]


@dataclass(frozen=True)
class PartInput:
    """The records a report is built from, read once for every part.

    ``tidy``: one row per record (``tidy.tidy_records``: failed runs, weight-search trials and
    superseded records included); ``reported``: its whole runs on the reported split, each by
    its newest record (``tidy.reported``: what every table but the leaderboard's search
    reads); ``reported_records``: the records of those rows; ``suites``: the suites this build
    covers (``--suite``, or every suite of the registered parts); ``definitions``: the weight
    searches' definitions written beside the records (``benchmark.search_definition``);
    ``folder``: the folder the records were read from (None: records given in memory)."""

    records: list[dict]
    tidy: pd.DataFrame
    reported: pd.DataFrame
    reported_records: list[dict]
    suites: tuple[str, ...]
    definitions: tuple = ()
    folder: Path | None = None


#: Raster and vector twins of every figure: the PNG for a screen, the SVG for a paper or a talk.
FIGURE_FORMATS = ("png", "svg")


def save_figure(fig, path_stem: Path, formats: tuple[str, ...] = FIGURE_FORMATS, dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``<path_stem>.<fmt>`` per format (PNG at ``dpi``), with no date or
    software version in the file (SVG ids salted by a fixed text, text kept as text), so that a
    rebuild is byte-identical."""
    import matplotlib

    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "semeda", "svg.fonttype": "none"}):
        for fmt in formats:
            path = path_stem.with_suffix(f".{fmt}")
            meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "Producer": None}}.get(fmt, {"Software": None})
            fig.savefig(path, dpi=dpi, metadata=meta)
            paths.append(path)
    return paths


@dataclass
class PartOutput:
    """The report folder as the parts write it: ``files`` in the order written, ``warnings``
    (one line each) in the order met, ``documents`` (file stem -> the ``Document`` its
    Markdown was written from) and ``captions`` (figure stem -> its caption). ``links_from``:
    the folder the report's links are written from, where it differs from ``folder`` (a report
    built in a temporary folder to be compared with one elsewhere)."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    documents: dict[str, Document] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    links_from: Path | None = None

    def text(self, name: str, text: str) -> Path:
        """Write ``text`` to the file ``name`` of the folder."""
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        self.files.append(path)
        return path

    def document(self, stem: str, document: Document) -> Path:
        """Write ``document`` as ``<stem>.md`` and keep it for the results page."""
        self.documents[stem] = document
        return self.text(f"{stem}.md", document.markdown())

    def table(self, stem: str, markdown: str | Document, csv: str, latex: str) -> list[Path]:
        """A table's three renderings: ``<stem>.md`` (from its ``Document``, kept for the
        results page, or as text), ``<stem>.csv`` and ``<stem>.tex``."""
        md = self.document(stem, markdown) if isinstance(markdown, Document) else self.text(f"{stem}.md", markdown)
        return [md] + [self.text(f"{stem}.{ext}", text) for ext, text in (("csv", csv), ("tex", latex))]

    def parquet(self, name: str, frame: pd.DataFrame) -> Path:
        """Write ``frame`` as the Parquet file ``name`` (no index)."""
        path = self.folder / name
        frame.to_parquet(path, index=False)
        self.files.append(path)
        return path

    def figure(self, stem: str, fig, *, caption: str = "", dpi: int = 150, formats: tuple[str, ...] = FIGURE_FORMATS) -> list[Path]:
        """Save ``fig`` as ``<stem>.<fmt>`` per format (``save_figure``: a PNG at ``dpi`` and its
        SVG twin); ``caption`` says what it shows on the results page."""
        paths = save_figure(fig, self.folder / stem, formats, dpi)
        self.files += paths
        self.captions[stem] = caption
        return paths

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` as a link from the report folder (``links_from`` where given; ``/`` separators)."""
        return Path(os.path.relpath(Path(path).resolve(), (self.links_from or self.folder).resolve())).as_posix()

    def warn(self, line: str) -> None:
        """Record a warning (printed by the command once, however often it is met)."""
        self.warnings.append(line)
