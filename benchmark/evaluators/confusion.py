"""The confusion matrix of the whole split: mIoU (``metrics.mean_iou``) and per-class IoU."""

from __future__ import annotations

import torch

from benchmark import metrics
from benchmark.evaluators.base import Evaluator, nan_metrics

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix(Evaluator):
    """int64 confusion matrix [C, C] (rows = ground truth), void pixels left out.

    Metrics: ``miou``; the per-class IoU goes to ``record["metrics"]["per_class_iou"]``.
    Counts: ``{"matrix": [C][C]}``.
    """

    name = "confusion"

    def reset(self) -> None:
        self._matrix = None

    def process(self, pred, target, *, distance=None) -> None:
        conf = metrics.confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self._matrix = conf if self._matrix is None else self._matrix + conf

    def counts(self) -> dict:
        matrix = self._matrix if self._matrix is not None else torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)
        return {"matrix": matrix.cpu().tolist()}

    @classmethod
    def summarize(cls, counts, settings) -> dict[str, float]:
        if counts is None:
            return nan_metrics(["miou"])
        return {"miou": metrics.mean_iou(torch.tensor(counts["matrix"], dtype=torch.int64))}

    @classmethod
    def details(cls, counts, settings) -> dict:
        return {"per_class_iou": metrics.per_class_iou(torch.tensor(counts["matrix"], dtype=torch.int64)).tolist()}

    @classmethod
    def legacy_counts(cls, record: dict) -> dict | None:
        return {"matrix": record["confusion"]} if "confusion" in record else None

