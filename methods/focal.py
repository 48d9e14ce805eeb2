"""Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017) beside PPCE.

The focal term is smp's ``FocalLoss`` (multiclass, ``alpha=None``): one binary focal loss
per class on the *sigmoid* of that class's logit (one class against the rest, as smp
does, not on the softmax),

    FL_c(p) = -(1 - q)^gamma log q,  q = sigmoid(z_c(p)) if p is of class c, else 1 - sigmoid(z_c(p)),

averaged over the non-void pixels of the batch for each class, then over the C classes:
term = (1/C) sum_c mean_{non-void p} FL_c(p). It is the suite's per-pixel convention (sum
over classes, mean over non-void pixels) divided by C; the lambda absorbs the factor.
gamma = 2, smp's default and the authors' value. smp returns NaN on an all-void batch
(a mean over no pixel); the term is 0 there. A strong non-boundary baseline.
"""

from __future__ import annotations

import math

from segmentation_models_pytorch.losses import FocalLoss

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class Focal(StructureLoss):
    """PPCE + lambda * focal loss. Terms: ``ppce``, ``focal``, ``total``. Default lambda 1."""

    name = "focal"
    minima = {"ppce": 0.0, "focal": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, gamma: float = 2.0, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not math.isfinite(gamma) or gamma < 0:
            raise ValueError(f"method 'focal': gamma must be a finite number >= 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.focal = FocalLoss(mode="multiclass", gamma=self.gamma, ignore_index=ignore_index)

    @property
    def params(self) -> dict:
        return {**super().params, "gamma": self.gamma}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        if (target != self.ignore_index).any():
            focal = self.focal(logits, target)
        else:
            focal = logits.sum() * 0.0
        return {"ppce": ppce, "focal": focal, "total": ppce + self.lambdas[0] * focal}
