"""Pure tensor functions shared by the losses: masked means over non-void pixels.

Every loss term of the suite is a *mean over non-void pixels*. The paper writes its losses
as sums over the H x W pixels (Eq. 3, 5, 6); a sum grows with the crop size, so a lambda
tuned at 321x321 would mean something else at 64x128. Dividing each sum by the number of
non-void pixels keeps lambdas comparable across image sizes and datasets; since every term
is divided by the same count, the ratio between terms (which is what a lambda sets) is the
paper's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["masked_mean", "pixel_cross_entropy", "edge_targets", "one_hot_target"]


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the pixels where ``valid`` is true; 0 when none is.

    Shape:
        values: [N, H, W] float; valid: [N, H, W] bool. Returns a scalar.
    """
    total = torch.where(valid, values, values.new_zeros(())).sum()
    return total / valid.sum().clamp_min(1)


def pixel_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Per-pixel cross-entropy (Eq. 3) averaged over non-void pixels; 0 on an all-void target.

    Shape:
        logits: [N, K, H, W] (un-normalised scores; the softmax is inside the loss);
        target: [N, H, W] integer in [0, K) or ``ignore_index``. Returns a scalar.

    ``F.cross_entropy(reduction="mean")`` would return NaN on an all-void batch (0 / 0),
    hence the explicit sum and clamped count.
    """
    total = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="sum")
    return total / (target != ignore_index).sum().clamp_min(1)


def edge_targets(edges: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Two-class edge labels (1 edge, 0 not) with void pixels of ``target`` set to ``ignore_index``.

    Shape:
        edges: [N, H, W] bool; target: [N, H, W] integer. Returns [N, H, W] int64.
    """
    labels = edges.long()
    return labels.masked_fill(target == ignore_index, ignore_index)


def one_hot_target(target: torch.Tensor, fill: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """One-hot encoding S* of ``target``, taking the values of the detached ``fill`` at void pixels.

    Shape:
        target: [N, H, W] integer; fill: [N, C, H, W] float. Returns a tensor like ``fill``
        (same dtype and memory layout), without a graph.

    Void pixels have no target, but a convolutional edge net still sees them in the
    receptive field of their neighbours; filling them with the (detached) prediction makes
    them feed both passes identically, so they add no difference of their own. Written as
    one scatter into ``fill`` with its non-void pixels zeroed, rather than through an int64
    one-hot [N, H, W, C], its permutation and a cast (about 3x less memory traffic).
    """
    valid = (target != ignore_index).unsqueeze(1)
    with torch.no_grad():
        out = torch.where(valid, 0.0, fill.detach())
        return out.scatter_add_(1, target.masked_fill(~valid[:, 0], 0).unsqueeze(1), valid.to(fill.dtype))
