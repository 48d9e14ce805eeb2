"""Boundary F: contour pixels of ground truth and prediction matched within a tolerance, per
class, counts summed over the split (definition: ``metrics.boundary_f_counts``)."""

from __future__ import annotations

import numpy as np

from benchmark import metrics
from benchmark.evaluators.base import Evaluator, nan_metrics, suffix

__all__ = ["BoundaryF"]

#: Rows of ``metrics.boundary_f_counts``, as the counts name them.
ROWS = ("matched_pred", "pred", "matched_gt", "gt")


class BoundaryF(Evaluator):
    """Boundary F counts per tolerance (``settings.boundary_tolerances``) and class.

    Metrics: ``bf_t<t>`` per tolerance, the mean over classes with a contour pixel in the
    ground truth or the prediction; per-class F goes to ``record["metrics"]["boundary_f"]``.
    Counts: ``{"tolerances": [T], "matched_pred": [T][C], "pred": [T][C], "matched_gt":
    [T][C], "gt": [T][C]}`` (matched_p, |Bp|, matched_g, |Bg|).
    """

    definition = metrics.BOUNDARY_DEFINITION
    name = "boundary_f"
    prefix = "bf_t"

    def reset(self) -> None:
        self.tolerances = tuple(self.settings.boundary_tolerances)
        self._counts = None

    def process(self, pred, target, *, distance=None) -> None:
        counts = metrics.boundary_f_counts(pred, target, self.num_classes, self.tolerances, self.ignore_index)
        self._counts = counts if self._counts is None else self._counts + counts

    def counts(self) -> dict:
        counts = self._counts
        if counts is None:
            counts = np.zeros((len(self.tolerances), 4, self.num_classes), dtype=np.int64)
        counts = counts.tolist()
        return {"definition": self.definition, "tolerances": list(self.tolerances), **{row: [t[i] for t in counts] for i, row in enumerate(ROWS)}}

    @staticmethod
    def _names(tolerances) -> list[str]:
        return [f"{BoundaryF.prefix}{suffix(t)}" for t in tolerances]

    @staticmethod
    def _array(counts) -> np.ndarray:
        return np.stack([np.asarray(counts[row], dtype=np.int64) for row in ROWS], 1)

    @classmethod
    def summarize(cls, counts, settings) -> dict[str, float]:
        if counts is None:
            return nan_metrics(cls._names(settings.boundary_tolerances))
        _, mean = metrics.boundary_f_from_counts(cls._array(counts))
        return dict(zip(cls._names(counts["tolerances"]), mean.tolist()))

    @classmethod
    def details(cls, counts, settings) -> dict:
        per_class, _ = metrics.boundary_f_from_counts(cls._array(counts))
        return {"boundary_f": {"tolerances": list(counts["tolerances"]), "per_class": per_class.tolist()}}
