"""Boundary loss (Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019).

    L_tot = PPCE + lambda * mean_{non-void p} sum_c S_c(p) * phi_c(p)

S is the softmax output and phi_c the signed distance map of class c in the target, per
image: phi_c = EDT(not c) outside c (the distance to c) and -(EDT(c) - 1) inside c (0 on
the pixels of c that touch another label, negative deeper inside), Euclidean, in pixels.
Void pixels count as "not c"; phi_c = 0 for a class absent from the image or covering all
of it. The term is the softmax-weighted signed distance to the true regions: its minimum,
for a perfect prediction, is the mean of phi at the true class, which is <= 0.

Every class has a map (the suite has no privileged background class). The maps come from
the target after the crop, on the target's device, without gradient (see ``methods/_distance.py``):
the trainer computes them with the batch (``target_maps``), out of the step.
"""

from __future__ import annotations

import torch

from methods._distance import signed_distance
from methods._functional import masked_mean, pixel_cross_entropy
from methods.base import StructureLoss
from methods.registry import register_method


@register_method
class Boundary(StructureLoss):
    """PPCE + lambda * boundary loss. Terms: ``ppce``, ``boundary``, ``total``.

    The default lambda, 0.01, is the authors' starting weight. They raise it during
    training (a schedule); the suite keeps it constant, the same for every run: a stated
    deviation, which a sweep over lambda measures.
    """

    name = "boundary"
    minima = {"ppce": 0.0}  # the boundary term's minimum depends on the target
    num_lambdas = 1
    default_lambdas = (0.01,)

    def target_maps(self, target, num_classes):
        """phi: the signed distance maps [N, C, H, W], float32."""
        return signed_distance(target, num_classes, self.ignore_index, dtype=torch.float32)

    def forward(self, logits, target, *, edges=None, edge_logits=None, target_maps=None):
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        phi = signed_distance(target, logits.shape[1], self.ignore_index, dtype=logits.dtype) if target_maps is None else target_maps
        boundary = masked_mean((logits.softmax(1) * phi).sum(1), target != self.ignore_index)
        return {"ppce": ppce, "boundary": boundary, "total": ppce + self.lambdas[0] * boundary}
