"""Trimap: mIoU inside and outside the band around the ground-truth edges (``metrics.trimap_confusion``)."""

from __future__ import annotations

import numpy as np

from benchmark import metrics
from benchmark.evaluators.base import Evaluator, exact_distance, nan_metrics, suffix

__all__ = ["Trimap"]


class Trimap(Evaluator):
    """Boundary and interior confusion matrices per trimap width (``settings.trimap_widths``).

    Metrics: ``boundary_miou_w<w>`` and ``interior_miou_w<w>`` per width. Counts:
    ``{"widths": [K], "boundary": [K][C][C], "interior": [K][C][C]}``.
    """

    name = "trimap"

    def reset(self) -> None:
        self.widths = tuple(self.settings.trimap_widths)
        self._boundary = self._interior = None

    def process(self, pred, target, *, distance=None) -> None:
        distance = exact_distance(distance, self.widths)
        b, i = metrics.trimap_confusion(pred, target, self.widths, self.num_classes, self.ignore_index, distance=distance)
        if self._boundary is None:
            self._boundary, self._interior = b, i
        else:
            self._boundary += b
            self._interior += i

    def counts(self) -> dict:
        if self._boundary is None:
            zeros = np.zeros((len(self.widths), self.num_classes, self.num_classes), dtype=np.int64).tolist()
            return {"widths": list(self.widths), "boundary": zeros, "interior": zeros}
        return {"widths": list(self.widths), "boundary": self._boundary.cpu().tolist(), "interior": self._interior.cpu().tolist()}

    @staticmethod
    def _names(widths) -> list[str]:
        return [f"{region}_miou_w{suffix(w)}" for region in ("boundary", "interior") for w in widths]

    @classmethod
    def _mious(cls, counts):
        return metrics.trimap_miou(np.asarray(counts["boundary"], dtype=np.int64), np.asarray(counts["interior"], dtype=np.int64))

    @classmethod
    def summarize(cls, counts, settings) -> dict[str, float]:
        if counts is None:
            return nan_metrics(cls._names(settings.trimap_widths))
        boundary, interior = cls._mious(counts)
        return dict(zip(cls._names(counts["widths"]), [*boundary.tolist(), *interior.tolist()]))

    @classmethod
    def details(cls, counts, settings) -> dict:
        boundary, interior = cls._mious(counts)
        trimap = {"widths": list(counts["widths"]), "boundary_miou": boundary.tolist(), "interior_miou": interior.tolist()}
        return {"trimap": trimap}

    @classmethod
    def legacy_counts(cls, record: dict) -> dict | None:
        old = record.get("trimap_confusion")
        widths = ((record.get("metrics") or {}).get("trimap") or {}).get("widths")
        if old is None or widths is None:
            return None
        return {"widths": list(widths), "boundary": old["boundary"], "interior": old["interior"]}

