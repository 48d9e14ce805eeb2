"""PPCE: per-pixel cross-entropy, Eq. (3), the baseline of every table (Fig. 2-(a))."""

from __future__ import annotations

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class PPCE(StructureLoss):
    """Cross-entropy between the softmax of ``logits`` and the target, averaged over non-void pixels.

    Terms: ``ppce``, ``total``.
    """

    name = "ppce"
    minima = {"ppce": 0.0}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        return {"ppce": ppce, "total": ppce}
