"""Soft Dice (Sudre et al.'s generalisation is cited by the paper) beside PPCE.

The Dice term is smp's ``DiceLoss`` (multiclass, from logits, over the whole batch): the
mean over the C classes of 1 - 2|P.T| / (|P| + |T|), where a class absent from the target
contributes 0. It is a ratio of pixel sums, hence independent of the image size.
"""

from __future__ import annotations

from segmentation_models_pytorch.losses import DiceLoss

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class Dice(StructureLoss):
    """PPCE + lambda * soft Dice. Terms: ``ppce``, ``dice``, ``total``."""

    name = "dice"
    minima = {"ppce": 0.0, "dice": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        self.dice = DiceLoss(mode="multiclass", ignore_index=ignore_index, from_logits=True)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        dice = self.dice(logits, target)
        return {"ppce": ppce, "dice": dice, "total": ppce + self.lambdas[0] * dice}
