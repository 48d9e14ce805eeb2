"""Tversky loss (Salehi et al., "Tversky loss function for image segmentation using 3D fully
convolutional deep networks", MLMI 2017) beside PPCE.

The Tversky term is smp's ``TverskyLoss`` (multiclass, from logits, over the whole batch):
with S_c the softmax of class c and G_c its one-hot target over the non-void pixels,

    TP_c = sum S_c G_c,  FP_c = sum S_c (1 - G_c),  FN_c = sum (1 - S_c) G_c,
    TI_c = TP_c / (TP_c + alpha FP_c + beta FN_c),
    term = (1/C) sum_c [c in the target] (1 - TI_c),

so a class absent from the target adds 0 but still counts in the mean (smp's rule, as for
``dice``). alpha weighs false positives, beta false negatives; alpha = beta = 0.5 (smp's
defaults) is soft Dice. A ratio of pixel sums, hence independent of the image size. A
strong non-boundary baseline.
"""

from __future__ import annotations

import math

from segmentation_models_pytorch.losses import TverskyLoss

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


def _weight(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"method 'tversky': {name} must be a finite number >= 0, got {value!r}")
    return float(value)


@register_method
class Tversky(StructureLoss):
    """PPCE + lambda * Tversky loss. Terms: ``ppce``, ``tversky``, ``total``. Default lambda 1."""

    name = "tversky"
    minima = {"ppce": 0.0, "tversky": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, alpha: float = 0.5, beta: float = 0.5, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        self.alpha = _weight("alpha", alpha)
        self.beta = _weight("beta", beta)
        if self.alpha + self.beta == 0:
            raise ValueError("method 'tversky': alpha and beta cannot both be 0 (the index would be 1 for any overlap)")
        self.tversky = TverskyLoss(
            mode="multiclass", alpha=self.alpha, beta=self.beta, ignore_index=ignore_index, from_logits=True
        )

    @property
    def params(self) -> dict:
        return {**super().params, "alpha": self.alpha, "beta": self.beta}

    @classmethod
    def same_as(cls, params: dict) -> tuple[str, dict] | None:
        """At alpha = beta = 0.5 the index is 2 TP / (2 TP + FP + FN), soft Dice: ``dice`` with
        the same lambdas (smp's two losses agree term for term; ``tests/test_losses.py``)."""
        if float(params.get("alpha", 0.5)) == 0.5 and float(params.get("beta", 0.5)) == 0.5:
            return "dice", {"lambdas": list(params.get("lambdas", cls.default_lambdas))}
        return None

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        tversky = self.tversky(logits, target)
        return {"ppce": ppce, "tversky": tversky, "total": ppce + self.lambdas[0] * tversky}
