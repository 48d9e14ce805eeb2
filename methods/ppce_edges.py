"""PPCE on edges (Fig. 2-(c), Eq. (5)): cross-entropy between g_phi(S_hat) and E*.

The prediction's softmax goes through the frozen edge net; its edge map is compared with
the ground-truth edges, so the gradient flows back through the segmentation output.
"""

from __future__ import annotations

from methods._functional import edge_targets, pixel_cross_entropy
from methods.base import StructureLoss
from methods.edges import semantic_edges
from methods.registry import register_method


@register_method
class PPCEOnEdges(StructureLoss):
    """PPCE + lambda * PPCE(g_phi(softmax(logits)), E*). Terms: ``ppce``, ``edge_ppce``, ``total``."""

    name = "ppce_edges"
    minima = {"ppce": 0.0}  # the edge net's cross-entropy stays above 0 on a perfect prediction
    needs_edge_net = True
    num_lambdas = 1
    default_lambdas = (1.0,)

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        edge_net = self._frozen_edge_net(logits.shape[1])
        if edges is None:
            edges = semantic_edges(target, self.ignore_index)
        ppce = pixel_cross_entropy(logits, target, self.ignore_index)
        predicted_edges = edge_net(logits.softmax(1))
        edge = pixel_cross_entropy(predicted_edges, edge_targets(edges, target, self.ignore_index), self.ignore_index)
        return {"ppce": ppce, "edge_ppce": edge, "total": ppce + self.lambdas[0] * edge}
