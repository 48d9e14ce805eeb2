"""Ubernet-style multi-task edge branch (Fig. 2-(b), Eq. (5) with an edge *head*).

A second ASPP-v2-style classifier with 2 outputs sits on the backbone features beside the
segmentation classifier (the model side attaches it when ``needs_edge_head`` is set) and
is trained with PPCE against the ground-truth edges. The edge gradient reaches the shared
backbone but never passes through the segmentation output, which is why the paper finds
that it barely constrains the masks' structure.
"""

from __future__ import annotations

from methods._functional import edge_targets, pixel_cross_entropy
from methods.base import StructureLoss
from methods.edges import semantic_edges
from methods.registry import register_method


@register_method
class Ubernet(StructureLoss):
    """PPCE + lambda * PPCE(edge head, E*). Terms: ``ppce``, ``edge_ppce``, ``total``."""

    name = "ubernet"
    minima = {"ppce": 0.0, "edge_ppce": 0.0}
    needs_edge_head = True
    num_lambdas = 1
    default_lambdas = (1.0,)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        if edge_logits is None:
            raise ValueError("method 'ubernet' needs the model's edge head output: build the model with edge_head=True")
        if edges is None:
            edges = semantic_edges(target, self.ignore_index)
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        edge = pixel_cross_entropy(edge_logits, edge_targets(edges, target, self.ignore_index), self.ignore_index)
        return {"ppce": ppce, "edge_ppce": edge, "total": ppce + self.lambdas[0] * edge}
