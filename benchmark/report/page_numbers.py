"""Every number a results page prints is the report's: the page's numbers looked up in its CSVs.

``results/README.md`` quotes the report in its prose ("+2.9 [+1.9, +4.0]", "62.3 +- 0.6",
"seeds -0.0, -5.8, -4.9"); a number typed by hand goes stale when the runs change. This
module finds, in a page's prose, every number printed at the report's precision (one decimal)
and looks it up in the report's CSVs (``results/report/*.csv``), as the report prints it:

- an interval ``m [lo, hi]`` must be one row's (mean, low, high) of a difference column
  (``*diff_mean``, ``*diff_ci_low``, ``*diff_ci_high``; the claims' ``mean``, ``ci_low``,
  ``ci_high``);
- ``mean +- std`` (or ``±``) one row's (``*ours_mean``, ``*ours_std``), or a figure's (mean, std);
- a signed number a difference of the report (a column above, or a seed of ``diff_seeds``);
- an unsigned number a value of the report (a mean or std, a paper value, a run's % mIoU in
  ``tidy.csv``, a weight-search trial's in ``leaderboard_trials.csv``), or the size of a
  difference ("8.7-9.8 points below").

Left out: the marked tables (``readme_tables`` checks them whole), passages between
``<!-- not-report: SOURCE -->`` and ``<!-- /not-report -->`` (numbers from elsewhere, the
comment naming where: ``results/perf``, a record's timing), versions (0.3.0), method
parameters (``(1,0.5,0.25)``, ``lambda_1 = 0.5``, ``[0.3, 0.99]``), and numbers printed at
another precision (a p-value 0.005, a threshold 0.95).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.report.readme_tables import MARKER

__all__ = ["ReportValues", "report_values", "prose", "unmatched"]

_NOT_REPORT = re.compile(r"<!-- not-report: [^>]+ -->.*?<!-- /not-report -->", re.S)
_END = r"(?!\d|\.\d)"  # one decimal, then no further digit (a sentence's full stop may follow)
_NUM = rf"[+-]?\d+\.\d{_END}"
_SIGNED = rf"[+-]\d+\.\d{_END}"
_INTERVAL = re.compile(rf"(?<![\w.])({_SIGNED})\s+\[({_SIGNED}),\s+({_SIGNED})\]")
_MEAN_STD = re.compile(rf"(?<![\w.+-])(\d+\.\d)\s+(?:\+-|±)\s+(\d+\.\d){_END}")
_SINGLE = re.compile(rf"(?<![\w.,/^=])({_NUM})")
#: Spans that hold settings or names, not results: versions, parameter tuples and ranges,
#: weights and peaks named by their parameter.
_NOT_RESULTS = re.compile(
    r"\d+\.\d+\.\d+"  # a version
    r"|\(\d[\d.]*(?:,\s?-?[\d.]+)+\)"  # a parameter tuple (1,0.5,0.25)
    r"|\[\d[\d.]*,\s*\d[\d.]*\]"  # an unsigned range [0.3, 0.99]
    r"|(?:lambda|λ)\w*\s*=?\s*[\d.]+(?:,\s*[\d.]+)*"  # a weight
    r"|(?:alpha|beta|sigma|gamma)\s*(?:=\s*\w+\s*)*=?\s*[\d.]+"  # a parameter
    r"|peaks?\s+(?:of\s+)?[\d.]+"  # the edge net's peak
    r"|[\d.]+e-\d+"  # a learning rate
)


@dataclass
class ReportValues:
    """The report's numbers as it prints them (one decimal, differences signed)."""

    levels: set[str] = field(default_factory=set)
    differences: set[str] = field(default_factory=set)
    intervals: set[tuple[str, str, str]] = field(default_factory=set)
    mean_std: set[tuple[str, str]] = field(default_factory=set)

    def has_level(self, text: str) -> bool:
        return text in self.levels or f"+{text}" in self.differences or f"-{text}" in self.differences


def _level(v: float) -> set[str]:
    return {f"{x:.1f}" for x in _roundings(v)}


def _signed(v: float) -> set[str]:
    return {f"{x:+.1f}" for x in _roundings(v)}


def _roundings(v: float) -> tuple[float, ...]:
    """The one-decimal values the report may have printed for ``v`` as read back from a CSV
    (3 decimals): ``v`` itself, and at a tie (8.450: the CSV's rounding of 8.4496 or of 8.4504,
    which the report printed from its full value) both neighbours."""
    if abs(v * 20 - round(v * 20)) < 1e-9 and abs(v * 10 - round(v * 10)) > 1e-9:
        return (math.floor(v * 10) / 10, math.ceil(v * 10) / 10)
    return (v,)


def _finite(series: pd.Series) -> list[float]:
    return [float(v) for v in pd.to_numeric(series, errors="coerce").dropna()]


def report_values(report_dir: str | Path) -> ReportValues:
    """The numbers of every CSV of ``report_dir`` (values in %, as the tables print them;
    ``tidy.csv`` and ``leaderboard_trials.csv`` hold fractions: their mIoUs are read x100)."""
    out = ReportValues()
    for path in sorted(Path(report_dir).glob("*.csv")):
        frame = pd.read_csv(path)
        if path.name in ("tidy.csv", "leaderboard_trials.csv"):
            out.levels |= {t for v in _finite(frame["miou"]) for t in _level(100 * v)} if "miou" in frame else set()
            continue
        cols = list(frame.columns)
        for col in cols:
            if col.endswith(("ours_mean", "ours_std")) or col in ("paper", "mean", "std"):
                out.levels |= {t for v in _finite(frame[col]) for t in _level(v)}
            if col.endswith(("diff_mean", "diff_ci_low", "diff_ci_high")) or (path.name == "claims.csv" and col in ("mean", "ci_low", "ci_high")):
                out.differences |= {t for v in _finite(frame[col]) for t in _signed(v)}
        for stem in sorted({c[: -len("diff_mean")] for c in cols if c.endswith("diff_mean")}):
            out.intervals |= _rows(frame, (f"{stem}diff_mean", f"{stem}diff_ci_low", f"{stem}diff_ci_high"), _signed)
        for stem in sorted({c[: -len("ours_mean")] for c in cols if c.endswith("ours_mean")}):
            out.mean_std |= _rows(frame, (f"{stem}ours_mean", f"{stem}ours_std"), _level)
        if path.name == "claims.csv":
            out.intervals |= _rows(frame, ("mean", "ci_low", "ci_high"), _signed)
        elif {"mean", "std"} <= set(cols):
            out.mean_std |= _rows(frame, ("mean", "std"), _level)
        if "diff_seeds" in cols:
            for text in frame["diff_seeds"].dropna():
                out.differences |= {t for d in re.findall(r"s\d+:([+-][\d.]+)", str(text)) for t in _signed(float(d))}
    return out


def _rows(frame: pd.DataFrame, columns: tuple[str, ...], fmt) -> set[tuple[str, ...]]:
    if not set(columns) <= set(frame.columns):
        return set()
    values = frame[list(columns)].apply(pd.to_numeric, errors="coerce").dropna()
    return {texts for row in values.itertuples(index=False) for texts in itertools.product(*(sorted(fmt(float(v))) for v in row))}


def prose(text: str) -> str:
    """``text`` without its marked tables and its ``not-report`` passages."""
    return _NOT_REPORT.sub(" ", MARKER.sub(" ", text))


def unmatched(text: str, values: ReportValues) -> list[str]:
    """The numbers of ``text``'s prose that the report does not print, each with its context
    (``'... 67.7 +- 0.7 ...'``), in page order."""
    body = prose(text)
    missing: list[tuple[int, str]] = []
    taken = [False] * len(body)

    def take(match: re.Match, ok: bool) -> None:
        for i in range(match.start(), match.end()):
            taken[i] = True
        if not ok:
            start = body.rfind("\n", 0, match.start()) + 1
            end = body.find("\n", match.end())
            missing.append((match.start(), f"{match.group(0)!r} in: {body[start:end if end >= 0 else None].strip()}"))

    for m in _NOT_RESULTS.finditer(body):
        take(m, True)
    for m in _INTERVAL.finditer(body):
        if not any(taken[m.start() : m.end()]):
            take(m, tuple(m.groups()) in values.intervals)
    for m in _MEAN_STD.finditer(body):
        if not any(taken[m.start() : m.end()]):
            take(m, tuple(m.groups()) in values.mean_std)
    for m in _SINGLE.finditer(body):
        if any(taken[m.start() : m.end()]):
            continue
        number = m.group(1)
        take(m, number in values.differences if number[0] in "+-" else values.has_level(number))
    return [line for _, line in sorted(missing)]
