"""Distance-transform Hausdorff loss (Karimi and Salcudean, "Reducing the Hausdorff distance in
medical image segmentation with convolutional neural networks", IEEE TMI 2019).

    L_tot = PPCE + lambda * mean_{non-void p} sum_c (S_c(p) - G_c(p))^2 * (d_G,c(p)^alpha + d_P,c(p)^alpha)

S is the softmax output, G the one-hot target. d_G,c is the Euclidean distance (in pixels)
to the contour of the target's mask of class c, d_P,c the same for the predicted mask
(argmax == c, without gradient). The contour is the suite's 8-neighbour contour: the
pixels of the mask with an 8-neighbour inside the image not in the mask (the image border
is not a contour); d is 0 *on* the contour (the distance to the nearest contour pixel) and
0 everywhere for a mask with no contour. Void pixels are in neither mask, so a void
neighbour makes a contour pixel and the prediction at void pixels changes nothing.
alpha = 2, the authors' value. Errors far from both contours weigh most, which is how the
term approximates the Hausdorff distance. The target's part, d_G,c^alpha, depends on the
target alone: the trainer computes it with the batch (``target_maps``), out of the step.
"""

from __future__ import annotations

import math

import torch

from methods._distance import class_masks, contour_distance
from methods._functional import masked_mean, pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class HausdorffDT(StructureLoss):
    """PPCE + lambda * distance-transform Hausdorff loss. Terms: ``ppce``, ``hausdorff_dt``, ``total``.

    The default lambda is 1: the authors balance the term against a Dice term with a weight
    re-set during training, and publish no constant weight.
    """

    name = "hausdorff_dt"
    minima = {"ppce": 0.0, "hausdorff_dt": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, alpha: float = 2.0, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"method 'hausdorff_dt': alpha must be a finite number > 0, got {alpha!r}")
        self.alpha = float(alpha)

    @property
    def params(self) -> dict:
        return {**super().params, "alpha": self.alpha}

    def target_maps(self, target, num_classes):
        """d_G,c^alpha: the target's weights [N, C, H, W], float32."""
        return self._contour_weight(target, target != self.ignore_index, num_classes, torch.float32)

    def _contour_weight(self, labels, valid, num_classes, dtype):
        """d_c^alpha of the masks of ``labels`` at the ``valid`` pixels (a label that is no class marks void)."""
        return contour_distance(torch.where(valid, labels, num_classes), num_classes, void=num_classes, dtype=dtype, power=self.alpha)

    def forward(self, logits, target, *, edges=None, edge_logits=None, target_maps=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        num_classes = logits.shape[1]
        valid = target != self.ignore_index
        truth = class_masks(target, num_classes, self.ignore_index)
        with torch.no_grad():
            # the predicted masks: argmax == c at non-void pixels (max's indices: the first maximum,
            # as argmax's, at half its cost on the CPU)
            predicted = logits.max(1).indices
            of_target = self._contour_weight(target, valid, num_classes, logits.dtype) if target_maps is None else target_maps
            weight = of_target + self._contour_weight(predicted, valid, num_classes, logits.dtype)
        error = (logits.softmax(1) - truth.to(logits.dtype)).square()
        term = masked_mean((error * weight).sum(1), valid)
        return {"ppce": ppce, "hausdorff_dt": term, "total": ppce + self.lambdas[0] * term}
