"""Soft IoU beside PPCE: a loss of one's own, in one file outside the package.

Rahman and Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
Segmentation" (ISVC 2016), replace the indicator of the prediction in IoU by its softmax
probability, which makes IoU differentiable. Per class c, over the non-void pixels p of
the batch, with S the softmax output and T the one-hot target:

    I_c = sum_p S_c(p) T_c(p)
    U_c = sum_p S_c(p) + T_c(p) - S_c(p) T_c(p)
    softiou = 1 - mean_c (I_c + eps) / (U_c + eps)
    total = PPCE + lambda * softiou

``eps`` (1, as smp's Jaccard loss smooths) makes a class absent from both target and
prediction a perfect match rather than 0 / 0, and an all-void batch give 0. The term is a
ratio of pixel sums, so lambda means the same at any crop size.

Benchmark it without touching the package (see docs/methods.md)::

    python -m benchmark.run --import soft_iou.py --suite leaderboard --methods softiou
    python -m benchmark.report --import soft_iou.py --records runs
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods import StructureLoss, register_method


def soft_iou(probs: torch.Tensor, target: torch.Tensor, ignore_index: int = 255, eps: float = 1.0) -> torch.Tensor:
    """1 - the mean over classes of the smoothed soft IoU, over the non-void pixels of the batch.

    Shape:
        probs: [N, C, H, W] softmax probabilities; target: [N, H, W] class ids or
        ``ignore_index``. Returns a scalar.
    """
    valid = (target != ignore_index).unsqueeze(1).to(probs.dtype)
    onehot = F.one_hot(target.masked_fill(target == ignore_index, 0), probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    probs, onehot = probs * valid, onehot * valid
    intersection = (probs * onehot).sum((0, 2, 3))
    union = (probs + onehot - probs * onehot).sum((0, 2, 3))
    return 1 - ((intersection + eps) / (union + eps)).mean()


@register_method
class SoftIoU(StructureLoss):
    """PPCE + lambda * soft IoU. Terms: ``ppce``, ``softiou``, ``total``."""

    name = "softiou"
    num_lambdas = 1
    default_lambdas = (1.0,)
    #: A perfect prediction gives 0 for both terms (checked by methods.testing.check_method).
    minima = {"ppce": 0.0, "softiou": 0.0}

    def __init__(self, *, lambdas=None, eps: float = 1.0, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if not eps > 0:
            raise ValueError(f"method 'softiou': eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    @property
    def params(self) -> dict:
        # Every parameter, as plain values: they name the run (its run id).
        return {**super().params, "eps": self.eps}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        # PPCE as a sum over non-void pixels over their count: 0, not NaN, on an all-void batch.
        ppce = F.cross_entropy(logits, target, ignore_index=self.ignore_index, reduction="sum")
        ppce = ppce / (target != self.ignore_index).sum().clamp_min(1)
        term = soft_iou(logits.softmax(1), target, self.ignore_index, self.eps)
        return {"ppce": ppce, "softiou": term, "total": ppce + self.lambdas[0] * term}
