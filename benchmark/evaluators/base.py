"""The evaluator protocol: raw counts accumulated over one evaluation pass, metrics from counts.

An evaluator sees every batch of the pass (``process``), hands back its counts as JSON-able
data together with whatever is needed to read them again (``counts``: the widths, the
tolerances), and turns such counts into flat named metrics (``summarize``). The run record
keeps the counts, so a table is rebuilt, or a metric re-aggregated, without a run.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

__all__ = ["Evaluator"]


class Evaluator:
    """Base class of an evaluator (one file per metric, one line in ``EVALUATORS``).

    ``name`` keys its counts in the record (``record["counts"][name]``). Subclasses
    implement ``reset``, ``process``, ``counts`` and the classmethod ``summarize``; those
    whose metric existed before the ``counts`` section also implement ``legacy_counts``.
    """

    name: ClassVar[str]
    #: The start of its flat metrics' names (``biou_d`` for ``biou_d3``), where it has one.
    prefix: ClassVar[str | None] = None
    #: Version of the metric's definition. An evaluator whose definition changed stores it
    #: beside its counts (``"definition"``), so counts made under an earlier one are never
    #: taken for new ones (``outdated_evaluators``, the report's "(def. k)" cells).
    definition: ClassVar[int] = 1

    def __init__(self, settings, num_classes: int, ignore_index: int):
        self.settings = settings
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self) -> None:
        """Forget every batch seen so far."""
        raise NotImplementedError

    def process(self, pred: torch.Tensor, target: torch.Tensor, *, distance: torch.Tensor | None = None) -> None:
        """Add one batch: ``pred``, ``target`` int64 [N, H, W] on one device; ``distance`` the
        cached trimap distance map of ``target`` [N, H, W] (``metrics.edge_distance``, or
        floored to uint8 as ``prepare`` caches it), None to compute it when needed."""
        raise NotImplementedError

    def counts(self) -> dict:
        """The summed counts so far, JSON-able (lists), with what ``summarize`` needs to read them."""
        raise NotImplementedError

    @classmethod
    def summarize(cls, counts: dict | None, settings) -> dict[str, float]:
        """Flat named metrics from ``counts()`` (of this or an earlier run). ``counts`` None: the
        same names, each NaN; the names come from ``settings`` then (e.g. its widths)."""
        raise NotImplementedError

    @classmethod
    def details(cls, counts: dict, settings) -> dict:
        """Entries of ``record["metrics"]`` beside the flat metrics (per-class lists, say)."""
        return {}

    @classmethod
    def stored_definition(cls, counts: dict | None) -> int | None:
        """The definition version ``counts`` were made under (1 when they do not say); None
        for no counts."""
        return None if counts is None else int(counts.get("definition", 1))

    @classmethod
    def legacy_counts(cls, record: dict) -> dict | None:
        """This evaluator's counts in a record written before the ``counts`` section; None if
        such records do not hold them."""
        return None



def exact_distance(distance, widths):
    """``distance`` when it gives exact bands for ``widths``, else None (to be recomputed).

    The trimap cache is floored to uint8: exact for integer widths up to 255 only."""
    if distance is None or distance.is_floating_point():
        return distance
    exact = all(float(w).is_integer() for w in widths) and max(widths) <= 255
    return distance if exact else None


def nan_metrics(names) -> dict[str, float]:
    """``{name: NaN}`` for the metrics a record cannot give."""
    return {name: math.nan for name in names}


def suffix(value: float) -> str:
    """A width or tolerance as it appears in a metric name: 1, 2.5."""
    return f"{float(value):g}"
