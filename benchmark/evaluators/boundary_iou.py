"""Boundary IoU: IoU of the inner bands of ground truth and prediction, per class
(definition: ``metrics.boundary_iou_counts``)."""

from __future__ import annotations

import numpy as np

from benchmark import metrics
from benchmark.evaluators.base import Evaluator, exact_distance, nan_metrics, suffix

__all__ = ["BoundaryIoU"]


class BoundaryIoU(Evaluator):
    """Boundary IoU counts per band width (``settings.boundary_widths``) and class.

    Metrics: ``biou_d<d>`` per width, the mean over classes with a non-empty union; the
    per-class values go to ``record["metrics"]["boundary_iou"]``. Counts:
    ``{"widths": [K], "intersection": [K][C], "union": [K][C]}``.

    The ground truth's bands come from the cached trimap distance map when it can give
    them (a float map, or the floored uint8 cache for integer widths up to 255).
    """

    definition = metrics.BOUNDARY_DEFINITION
    name = "boundary_iou"
    prefix = "biou_d"

    def reset(self) -> None:
        self.widths = tuple(self.settings.boundary_widths)
        self._counts = None

    def process(self, pred, target, *, distance=None) -> None:
        distance = exact_distance(distance, self.widths)
        counts = metrics.boundary_iou_counts(pred, target, self.num_classes, self.widths, self.ignore_index, distance=distance)
        self._counts = counts if self._counts is None else self._counts + counts

    def counts(self) -> dict:
        counts = self._counts
        if counts is None:
            counts = np.zeros((len(self.widths), 2, self.num_classes), dtype=np.int64)
        counts = counts.tolist()
        return {"definition": self.definition, "widths": list(self.widths), "intersection": [k[0] for k in counts], "union": [k[1] for k in counts]}

    @staticmethod
    def _names(widths) -> list[str]:
        return [f"{BoundaryIoU.prefix}{suffix(w)}" for w in widths]

    @staticmethod
    def _array(counts) -> np.ndarray:
        return np.stack([np.asarray(counts["intersection"], dtype=np.int64), np.asarray(counts["union"], dtype=np.int64)], 1)

    @classmethod
    def summarize(cls, counts, settings) -> dict[str, float]:
        if counts is None:
            return nan_metrics(cls._names(settings.boundary_widths))
        _, mean = metrics.boundary_iou_from_counts(cls._array(counts))
        return dict(zip(cls._names(counts["widths"]), mean.tolist()))

    @classmethod
    def details(cls, counts, settings) -> dict:
        per_class, _ = metrics.boundary_iou_from_counts(cls._array(counts))
        return {"boundary_iou": {"widths": list(counts["widths"]), "per_class": per_class.tolist()}}
