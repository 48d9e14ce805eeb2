"""Boundary F per image, averaged over the images (Csurka et al. 2013's reading), beside the
pooled boundary F of ``boundary_f`` (counts summed over the split before dividing).

Per image and class, P, R and F as ``metrics.boundary_f_counts`` defines them on that image
alone; the image's score is the mean F over the classes with a contour pixel in its ground
truth or its prediction; the split's score is the mean over the images that have such a class
(an image without any contour, one class everywhere in both maps, has no score). A small
region whose contour is missed weighs as much as a large one in its image, and every image
weighs the same, where the pooled F lets the images and classes with the most contour pixels
dominate.
"""

from __future__ import annotations

import numpy as np

from benchmark import metrics
from benchmark.evaluators.base import Evaluator, nan_metrics, suffix

__all__ = ["BoundaryFPerImage"]


class BoundaryFPerImage(Evaluator):
    """Per-image boundary F per tolerance (``settings.boundary_tolerances``).

    Metrics: ``bfi_t<t>`` per tolerance, the mean over scored images of each image's mean F
    over its classes with a contour pixel. Counts: ``{"tolerances": [T], "f_sum": [T] (the
    images' scores summed), "images": [T] (images scored)}``.
    """

    definition = metrics.BOUNDARY_DEFINITION
    name = "boundary_f_image"
    prefix = "bfi_t"

    def reset(self) -> None:
        self.tolerances = tuple(self.settings.boundary_tolerances)
        self._sum = np.zeros(len(self.tolerances))
        self._images = np.zeros(len(self.tolerances), dtype=np.int64)

    def process(self, pred, target, *, distance=None) -> None:
        for i in range(target.shape[0]):
            counts = metrics.boundary_f_counts(pred[i : i + 1], target[i : i + 1], self.num_classes, self.tolerances, self.ignore_index)
            _, mean = metrics.boundary_f_from_counts(counts)
            scored = ~np.isnan(mean)
            self._sum[scored] += mean[scored]
            self._images += scored

    def counts(self) -> dict:
        return {"definition": self.definition, "tolerances": list(self.tolerances), "f_sum": self._sum.tolist(),
                "images": self._images.tolist()}  # fmt: skip

    @staticmethod
    def _names(tolerances) -> list[str]:
        return [f"{BoundaryFPerImage.prefix}{suffix(t)}" for t in tolerances]

    @classmethod
    def summarize(cls, counts, settings) -> dict[str, float]:
        if counts is None:
            return nan_metrics(cls._names(settings.boundary_tolerances))
        f_sum, images = np.asarray(counts["f_sum"], dtype=float), np.asarray(counts["images"], dtype=float)
        mean = np.divide(f_sum, images, out=np.full(f_sum.shape, np.nan), where=images > 0)
        return dict(zip(cls._names(counts["tolerances"]), mean.tolist()))
