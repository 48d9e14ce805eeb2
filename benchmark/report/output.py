"""What a report part reads (``PartInput``) and where it writes (``PartOutput``).

A part of the report is a function ``write(inputs, out)``: it reads the records and tidy
tables of ``inputs`` and writes its files through ``out``, which saves them in the report
folder, lists them in the order written and collects the warnings met on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["PartInput", "PartOutput", "save_figure"]


@dataclass(frozen=True)
class PartInput:
    """The records a report is built from, read once for every part.

    ``tidy``: one row per record (``tidy.tidy_records``: failed runs, weight-search trials and
    superseded records included); ``reported``: its whole runs on the reported split, each by
    its newest record (``tidy.reported``: what every table but the leaderboard's search
    reads); ``reported_records``: the records of those rows; ``suites``: the suites this build
    covers (``--suite``, or every suite of the registered parts); ``definitions``: the weight
    searches' definitions written beside the records (``benchmark.search_definition``)."""

    records: list[dict]
    tidy: pd.DataFrame
    reported: pd.DataFrame
    reported_records: list[dict]
    suites: tuple[str, ...]
    definitions: tuple = ()


def save_figure(fig, path_stem: Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Save ``fig`` as ``<path_stem>.<fmt>`` per format at 150 dpi, with no date or software
    version in the file (SVG ids salted by a fixed text), so that a rebuild is byte-identical."""
    import matplotlib

    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "semeda", "svg.fonttype": "none"}):
        for fmt in formats:
            path = path_stem.with_suffix(f".{fmt}")
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(path, dpi=150, metadata=meta)
            paths.append(path)
    return paths


@dataclass
class PartOutput:
    """The report folder as the parts write it: ``files`` in the order written, ``warnings``
    (one line each) in the order met."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self, name: str, text: str) -> Path:
        """Write ``text`` to the file ``name`` of the folder."""
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        self.files.append(path)
        return path

    def table(self, stem: str, markdown: str, csv: str, latex: str) -> list[Path]:
        """A table's three renderings: ``<stem>.md``, ``<stem>.csv`` and ``<stem>.tex``."""
        return [self.text(f"{stem}.{ext}", text) for ext, text in (("md", markdown), ("csv", csv), ("tex", latex))]

    def parquet(self, name: str, frame: pd.DataFrame) -> Path:
        """Write ``frame`` as the Parquet file ``name`` (no index)."""
        path = self.folder / name
        frame.to_parquet(path, index=False)
        self.files.append(path)
        return path

    def figure(self, stem: str, fig, formats: tuple[str, ...] = ("png",)) -> list[Path]:
        """Save ``fig`` as ``<stem>.<fmt>`` per format (``save_figure``)."""
        paths = save_figure(fig, self.folder / stem, formats)
        self.files += paths
        return paths

    def warn(self, line: str) -> None:
        """Record a warning (printed by the command once, however often it is met)."""
        self.warnings.append(line)
