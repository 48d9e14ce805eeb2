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

import torch
import torch.nn.functional as F

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method

__all__ = ["Focal", "focal_term"]


def focal_term(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, ignore_index: int = 255) -> torch.Tensor:
    """smp's multiclass ``FocalLoss(gamma=gamma, ignore_index=ignore_index)`` (``alpha=None``,
    mean), the same floats to the last bit, value and gradient: the mean over the classes of
    each class's mean over the non-void pixels of (1 - pt)^gamma * BCE(z_c, [class = c]),
    pt = exp(-BCE).

    Shape:
        logits: [N, C, H, W] float; target: [N, H, W] integer. Returns a scalar (NaN on an
        all-void target, as smp).

    The same operations as smp's on the same 1-D tensors (one class's logits at the non-void
    pixels, in N, H, W order), so every kernel sums and rounds as smp's does; but the logits
    of every class are gathered by one ``masked_select`` (whose backward is one
    ``masked_scatter``), where smp gathers twice per class by boolean indexing and its
    backward scatters each class's gradient into a zero map of the whole logits: about half
    the term's time on a small-scale batch (``tests/test_losses.py`` checks the equality).
    """
    valid = target != ignore_index
    rows = logits.movedim(1, 0).masked_select(valid).view(logits.shape[1], -1)  # [C, P]
    labels = target[valid]
    losses = []
    for c, row in enumerate(rows.unbind(0)):
        logpt = F.binary_cross_entropy_with_logits(row, (labels == c).to(row.dtype), reduction="none")
        pt = torch.exp(-logpt)
        losses.append(((1.0 - pt).pow(gamma) * logpt).mean())
    return torch.stack(losses).mean()


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

    @property
    def params(self) -> dict:
        return {**super().params, "gamma": self.gamma}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        if (target != self.ignore_index).any():
            focal = focal_term(logits, target, self.gamma, self.ignore_index)
        else:
            focal = logits.sum() * 0.0
        return {"ppce": ppce, "focal": focal, "total": ppce + self.lambdas[0] * focal}
