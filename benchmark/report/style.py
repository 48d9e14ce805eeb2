"""How the report's figures look: sizes a two-column paper takes, fonts readable in print, one
colour, line style and marker per method, the mark of a diverged run, and titles that fit.

A figure meant for a paper is drawn at its printed size (``COLUMN_IN`` or ``PAGE_IN`` wide, at
most ``PAGE_HEIGHT_IN`` tall) with fonts of 7-9 pt, and saved as a PNG at ``PAPER_DPI`` beside
its SVG twin (``PartOutput.figure``), so that what the PNG shows at 300 dpi is what the page
prints. Colours come from seaborn's colour-blind palette; past its ten colours a method is told
apart by its line style and marker as well (``method_styles``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from contextlib import contextmanager

__all__ = ["COLUMN_IN", "DIVERGED", "PAGE_HEIGHT_IN", "PAGE_IN", "PAPER_DPI", "fit_title", "method_styles", "paper_style", "slug"]

#: One column of a two-column paper, and the text width across both columns (inches).
COLUMN_IN = 3.4
PAGE_IN = 7.0
#: The tallest figure a page takes beside its caption (inches).
PAGE_HEIGHT_IN = 9.0
#: The resolution of a paper figure's PNG.
PAPER_DPI = 300
#: How a diverged run (``benchmark.divergence``) is drawn: a cross, in black over its line's colour.
DIVERGED = dict(marker="x", color="black", s=22, linewidths=0.9, zorder=5)

#: Font sizes in points: readable at the printed size.
_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 9,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.linewidth": 0.6,
    "grid.linewidth": 0.4,
}
_LINE_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


@contextmanager
def paper_style():
    """Seaborn's white grid with the report's print font sizes, for the figures drawn inside."""
    import matplotlib
    import seaborn as sns

    with sns.axes_style("whitegrid"), matplotlib.rc_context(_RC):
        yield


def method_styles(labels: Iterable[str]) -> dict[str, dict]:
    """{label: {"color", "ls", "marker"}}, in the order given: the colour-blind palette's ten
    colours, and with them a line style and a marker that change every ten labels, so that no
    two of up to 40 labels look alike."""
    import seaborn as sns

    colours = sns.color_palette("colorblind", 10)
    out = {}
    for i, label in enumerate(dict.fromkeys(labels)):
        out[label] = dict(color=colours[i % 10], ls=_LINE_STYLES[(i // 10) % len(_LINE_STYLES)],
                          marker=_MARKERS[(i + i // 10) % len(_MARKERS)])  # fmt: skip
    return out


def fit_title(text: str, width_in: float, size_pt: float = 8) -> str:
    """``text`` wrapped so that each line fits ``width_in`` inches at ``size_pt`` points (a
    character taken as 0.55 em wide, about DejaVu Sans' mean)."""
    chars = max(12, int(width_in * 72 / (0.55 * size_pt)))
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False)) or text


def slug(text: str) -> str:
    """``text`` as a file name's part: runs of other characters than letters and digits as one ``-``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
