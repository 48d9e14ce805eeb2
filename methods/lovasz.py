"""Lovasz-softmax (Berman et al., cited by the paper as an IoU surrogate) beside PPCE.

The Lovasz term is smp's ``LovaszLoss`` (multiclass, over the whole batch, classes present
in the target); it is a set-level surrogate of 1 - IoU and therefore already independent
of the image size.
"""

from __future__ import annotations

import torch

from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method

__all__ = ["Lovasz", "lovasz_softmax_term"]


def lovasz_grad(fg_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss at each sorted error (Alg. 1 of
    Berman et al.), row by row: the increments of 1 - IoU as the pixels enter one by one.

    Shape:
        fg_sorted: [K, P] float 0/1, each row a class's foreground in decreasing order of its
        errors. Returns [K, P].
    """
    gts = fg_sorted.sum(1, keepdim=True)
    intersection = gts - fg_sorted.cumsum(1)
    union = gts + (1 - fg_sorted).cumsum(1)
    jaccard = 1.0 - intersection / union
    return torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], 1)


def lovasz_softmax_term(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """smp's multiclass ``LovaszLoss(per_image=False, ignore_index=ignore_index)``, the same
    floats to the last bit, value and gradient: over the non-void pixels of the batch, for
    each class present in the target, the dot product of its errors |[class = c] - softmax_c|
    sorted in decreasing order with ``lovasz_grad``; the mean over those classes.

    Shape:
        logits: [N, C, H, W] float; target: [N, H, W] integer with at least one non-void pixel.
        Returns a scalar.

    Each class's errors are sorted, and dotted, as the same 1-D tensor as in smp (a sort of all
    rows at once ran no faster); the gathers, the foreground masks and ``lovasz_grad`` are
    computed for the present classes together, and the absent ones are never formed: about
    0.8x smp's time, the sorts being most of what is left (``tests/test_losses.py`` checks
    the equality).
    """
    num_classes = logits.shape[1]
    flat = target.reshape(-1)
    valid = flat != ignore_index
    probs = logits.softmax(1).movedim(1, -1).reshape(-1, num_classes)[valid]  # [P, C]
    labels = flat[valid]
    classes = torch.bincount(labels, minlength=num_classes).nonzero()[:, 0]  # present, in increasing order
    fg = (labels == classes[:, None]).to(probs.dtype)  # [K, P]
    errors = (fg - probs.T[classes]).abs()
    ordered = [torch.sort(row, 0, descending=True) for row in errors.unbind(0)]
    grad = lovasz_grad(fg.gather(1, torch.stack([perm for _, perm in ordered])))
    total = None
    for (errors_sorted, _), g in zip(ordered, grad.unbind(0)):
        # a fresh tensor each: BLAS's dot product sums in an order that depends on where its
        # operands start in memory, and smp dots tensors of their own
        dot = torch.dot(errors_sorted, g.clone())
        total = dot if total is None else total + dot  # smp's running sum, in the classes' order
    return total / len(ordered) if len(ordered) > 1 else total


@register_method
class Lovasz(StructureLoss):
    """PPCE + lambda * Lovasz-softmax. Terms: ``ppce``, ``lovasz``, ``total``."""

    name = "lovasz"
    minima = {"ppce": 0.0, "lovasz": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        if (target != self.ignore_index).any():
            # computed in float32 whatever the logits (float16 under AMP), as smp's term was
            lovasz = lovasz_softmax_term(logits.float(), target, self.ignore_index)
        else:
            lovasz = logits.sum() * 0.0
        return {"ppce": ppce, "lovasz": lovasz, "total": ppce + self.lambdas[0] * lovasz}
