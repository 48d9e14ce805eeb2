"""What a table or figure may show: the contexts its suite made, and the smoke scale's stamp.

Records hold no suite name: one run serves every suite that asks for it (Table 1's PPCE is
Table 2's and the sensitivity study's default). A table tells its suite's contexts from the
others' by the runs they hold. A *protocol study* (the sensitivity study, the multiverse, the
agreement check) runs some rows under settings of their own (``Row.overrides``); a context
whose settings are those of such a row, and that holds only such rows' runs, is the study's,
not Table 2's or Figure 5's (``made_by_a_study``).

The smoke scale exists to test that the harness runs end to end (12 steps on a tiny set): a
file holding its runs says so on its first line (``plumbing_banner``), and no verdict is drawn
from them (``is_plumbing``).
"""

from __future__ import annotations

from collections.abc import Iterable

from benchmark.report.tidy import overrides_tokens, text_tokens
from benchmark.spec import SCALES, RowKey

__all__ = ["PLUMBING_SCALES", "is_plumbing", "made_by_a_study", "plumbing_banner", "study_runs"]

#: The scales whose runs are a plumbing check, not results.
PLUMBING_SCALES = ("smoke",)


def is_plumbing(scale: str) -> bool:
    """Whether runs at ``scale`` are a plumbing check whose numbers mean nothing."""
    return scale in PLUMBING_SCALES


def plumbing_banner(scales: Iterable[str]) -> str:
    """The first line of a report file whose runs include the smoke scale's ("" without them)."""
    scales = {s for s in scales if isinstance(s, str)}
    smoke = sorted(s for s in scales if is_plumbing(s))
    if not smoke:
        return ""
    names = " and ".join(smoke)
    detail = "; ".join(f"{SCALES[s].steps} training steps on {SCALES[s].n_train} images of {SCALES[s].image_size[0]}x{SCALES[s].image_size[1]}"
                       for s in smoke if s in SCALES)  # fmt: skip
    detail = f" ({detail})" if detail else ""
    if scales <= set(smoke):
        return (f"Plumbing check, not results: every run here is at the {names} scale{detail}, which only tests that the "
                "harness runs end to end; the numbers mean nothing and no verdict is drawn from them.")  # fmt: skip
    return (f"Plumbing check in part: the sections at the {names} scale{detail} only test that the harness runs end to end; "
            "their numbers mean nothing and no verdict is drawn from them.")  # fmt: skip


def study_runs(dataset: str, scale: str) -> frozenset[tuple[RowKey, frozenset[str]]]:
    """(row key, settings tokens as a record's overrides text shows them) of every row a
    registered suite runs under settings of its own, at ``scale`` on ``dataset``."""
    from benchmark.suites import SUITES

    rows = {row for suite in SUITES.values() for row in suite.rows if row.overrides}
    return frozenset((row.key(), overrides_tokens(row.overrides, dataset, scale)) for row in rows)


def made_by_a_study(ctx: tuple, keys: Iterable[RowKey]) -> bool:
    """Whether the context ``ctx`` (dataset, backbone, scale, init, overrides) holding runs of
    the rows ``keys`` is a protocol study's: its settings are not the scale's defaults, and
    every run it holds is one that a study's row makes under exactly those settings."""
    dataset, _, scale, _, overrides = ctx
    if not overrides:
        return False
    tokens = text_tokens(overrides)
    made = study_runs(dataset, scale)
    return all((key, tokens) in made for key in keys)
