"""clDice (Shit et al., "clDice - a novel topology-preserving loss function for tubular
structure segmentation", CVPR 2021), with the authors' soft skeleton.

For each class c, over the batch, with S_c the softmax and G_c the one-hot target (both
zero at void pixels) and skel the soft skeleton below:

    Tprec_c = (sum skel(S_c) G_c + 1) / (sum skel(S_c) + 1)
    Tsens_c = (sum skel(G_c) S_c + 1) / (sum skel(G_c) + 1)
    clDice_c = 2 Tprec_c Tsens_c / (Tprec_c + Tsens_c)
    L_tot = PPCE + lambda * mean_{c present in the batch} (1 - clDice_c)

The +1 smoothing is the authors'. The soft skeleton: erode(x) = the min of min-pools over
3x1 and 1x3 windows, dilate(x) = a 3x3 max-pool, open(x) = dilate(erode(x)); then
skel = relu(x - open(x)) and, ``iterations`` times (3, the authors' value),
x = erode(x), delta = relu(x - open(x)), skel = skel + relu(delta - skel * delta).
Pooling ignores the outside of the image (padding never wins a min or a max). The term is
a ratio of sums, hence independent of the image size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods._distance import class_masks
from methods._functional import pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


def soft_erode(x: torch.Tensor) -> torch.Tensor:
    """Min over the 3x1 and the 1x3 neighbourhood (a plus-shaped window). Shape: [N, C, H, W]."""
    vertical = -F.max_pool2d(-x, (3, 1), stride=1, padding=(1, 0))
    horizontal = -F.max_pool2d(-x, (1, 3), stride=1, padding=(0, 1))
    return torch.minimum(vertical, horizontal)


def soft_dilate(x: torch.Tensor) -> torch.Tensor:
    """Max over the 3x3 neighbourhood. Shape: [N, C, H, W]."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def soft_skeleton(x: torch.Tensor, iterations: int) -> torch.Tensor:
    """Soft skeleton of maps in [0, 1]: what each erosion removes and an opening cannot restore.

    skel = relu(x - open(x)); then ``iterations`` times x = erode(x),
    delta = relu(x - open(x)), skel = skel + relu(delta - skel * delta). Each erosion is
    computed once: the one inside open(x) is the next iteration's x (3 poolings an
    iteration instead of 5, the same values).

    Shape:
        x: [N, C, H, W]. Returns a tensor of the same shape, in [0, 1].
    """
    eroded = soft_erode(x)
    skel = F.relu(x - soft_dilate(eroded))
    for _ in range(iterations):
        x = eroded
        eroded = soft_erode(x)
        delta = F.relu(x - soft_dilate(eroded))
        skel = skel + F.relu(delta - skel * delta)
    return skel


def cldice_per_class(probs: torch.Tensor, truth: torch.Tensor, iterations: int, smooth: float = 1.0) -> torch.Tensor:
    """1 - clDice of each class over the batch.

    Shape:
        probs, truth: [N, C, H, W] float, zero at void pixels. Returns [C].
    """
    dims = (0, 2, 3)
    # The CPU max-pooling kernels run faster on channels-last tensors (vectorised over the
    # classes: 2-3x for the skeletons on one thread); the values are the same.
    probs = probs.contiguous(memory_format=torch.channels_last)
    truth = truth.contiguous(memory_format=torch.channels_last)
    skel_pred = soft_skeleton(probs, iterations)
    with torch.no_grad():
        skel_true = soft_skeleton(truth, iterations)
    tprec = ((skel_pred * truth).sum(dims) + smooth) / (skel_pred.sum(dims) + smooth)
    tsens = ((skel_true * probs).sum(dims) + smooth) / (skel_true.sum(dims) + smooth)
    return 1.0 - 2.0 * tprec * tsens / (tprec + tsens)


@register_method
class ClDice(StructureLoss):
    """PPCE + lambda * (1 - clDice). Terms: ``ppce``, ``cldice``, ``total``.

    The default lambda is 1. The authors combine clDice with soft Dice as
    (1 - alpha) Dice + alpha clDice rather than with cross-entropy, so no weight of theirs
    carries over to PPCE + lambda clDice.
    """

    name = "cldice"
    minima = {"ppce": 0.0, "cldice": 0.0}
    num_lambdas = 1
    default_lambdas = (1.0,)

    def __init__(self, *, lambdas=None, iterations: int = 3, ignore_index: int = 255):
        super().__init__(lambdas=lambdas, ignore_index=ignore_index)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"method 'cldice': iterations must be an integer >= 0, got {iterations!r}")
        self.iterations = iterations

    @property
    def params(self) -> dict:
        return {**super().params, "iterations": self.iterations}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        valid = (target != self.ignore_index).unsqueeze(1)
        masks = class_masks(target, logits.shape[1], self.ignore_index)
        present = masks.flatten(2).any(2).any(0).nonzero()[:, 0]
        if len(present):  # only the classes present in the batch: the others are left out of the mean
            probs = (logits.softmax(1) * valid)[:, present]
            term = cldice_per_class(probs, masks[:, present].to(logits.dtype), self.iterations).mean()
        else:
            term = logits.sum() * 0.0
        return {"ppce": ppce, "cldice": term, "total": ppce + self.lambdas[0] * term}
