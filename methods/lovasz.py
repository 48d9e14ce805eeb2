"""Lovasz-softmax (Berman et al., cited by the paper as an IoU surrogate) beside PPCE.

The Lovasz term is smp's ``LovaszLoss`` (multiclass, over the whole batch, classes present
in the target); it is a set-level surrogate of 1 - IoU and therefore already independent
of the image size.
"""

from __future__ import annotations

from segmentation_models_pytorch.losses import LovaszLoss

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class Lovasz(StructureLoss):
    """PPCE + lambda * Lovasz-softmax. Terms: ``ppce``, ``lovasz``, ``total``."""

    name = "lovasz"
    minima = {"ppce": 0.0, "lovasz": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        self.lovasz = LovaszLoss(mode="multiclass", ignore_index=ignore_index, per_image=False)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        if (target != self.ignore_index).any():
            # smp's Lovasz gradient is float32 whatever the input; float16 (AMP) or float64
            # logits would fail its dot product, so the term is computed in float32.
            lovasz = self.lovasz(logits.float(), target)
        else:  # smp returns an empty tensor, not 0, on an all-void batch
            lovasz = logits.sum() * 0.0
        return {"ppce": ppce, "lovasz": lovasz, "total": ppce + self.lambdas[0] * lovasz}
