"""Boundary DoU loss (Sun et al., "Boundary Difference over Union Loss for Medical Image
Segmentation", MICCAI 2023).

For each class c, over the batch's non-void pixels, with G the one-hot target of c and S
its softmax:

    A = |G|,  B = the number of pixels of G with a 4-neighbour not of c,
    alpha = min(2 (1 - (B + eps) / (A + eps)) - 1, 0.8),
    term_c = (sum S^2 + sum G^2 - 2 sum SG + eps) / (sum S^2 + sum G^2 - (1 + alpha) sum SG + eps),
    L_tot = PPCE + lambda * mean_{c present in the batch} term_c.

The numerator is |G u S| - |G n S| written with squares, the denominator subtracts only
alpha of the intersection: with B/A large (small or thin regions) alpha is small and the
term approaches 1 - Dice-like overlap, with B/A small it stresses the boundary band.
Outside the image counts as "not c" (the authors' zero padding), and so does a void
neighbour. eps = 1e-5, the authors' smoothing. Classes absent from the batch are left out
of the mean (the authors average over every class, where an absent one adds a constant
1). A ratio of sums, hence independent of the image size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods._distance import class_masks
from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method

#: Smoothing of the ratios, the authors' value.
EPS = 1e-5
#: Upper bound of alpha, the authors' value.
MAX_ALPHA = 0.8


def boundary_counts(masks: torch.Tensor) -> torch.Tensor:
    """Per class, the number of mask pixels with a 4-neighbour outside the mask or the image.

    Shape:
        masks: [N, C, H, W] bool. Returns [C] int64.
    """
    padded = F.pad(masks, (1, 1, 1, 1), value=False)
    interior = masks & padded[..., :-2, 1:-1] & padded[..., 2:, 1:-1] & padded[..., 1:-1, :-2] & padded[..., 1:-1, 2:]
    return (masks & ~interior).sum((0, 2, 3))


def boundary_dou_per_class(probs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The Boundary DoU term of each class over the batch.

    Shape:
        probs: [N, C, H, W] softmax, zero at void pixels; masks: [N, C, H, W] bool one-hot
        target (void in no mask). Returns [C].
    """
    truth = masks.to(probs.dtype)
    area = truth.sum((0, 2, 3))
    boundary = boundary_counts(masks).to(probs.dtype)
    alpha = (2.0 * (1.0 - (boundary + EPS) / (area + EPS)) - 1.0).clamp_max(MAX_ALPHA)
    pred_sq = probs.square().sum((0, 2, 3))
    intersection = (probs * truth).sum((0, 2, 3))
    return (pred_sq + area - 2.0 * intersection + EPS) / (pred_sq + area - (1.0 + alpha) * intersection + EPS)


@register_method
class BoundaryDoU(StructureLoss):
    """PPCE + lambda * Boundary DoU. Terms: ``ppce``, ``boundary_dou``, ``total``.

    The default lambda is 1, the suite's default where no published constant weight
    beside cross-entropy is taken over.
    """

    name = "boundary_dou"
    minima = {"ppce": 0.0, "boundary_dou": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        masks = class_masks(target, logits.shape[1], self.ignore_index)
        probs = logits.softmax(1) * (target != self.ignore_index).unsqueeze(1)
        present = masks.flatten(2).any(2).any(0)
        per_class = boundary_dou_per_class(probs, masks)
        term = torch.where(present, per_class, 0.0).sum() / present.sum().clamp_min(1)
        return {"ppce": ppce, "boundary_dou": term, "total": ppce + self.lambdas[0] * term}
