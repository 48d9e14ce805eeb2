"""Structure losses for semantic segmentation: the method registry, edge maps and the edge net.

Every method module is imported here explicitly, so ``list_methods()`` is complete as soon
as ``methods`` is imported. Adding a method: one new file with a ``@register_method``
class, plus one import line below.
"""

from methods import (  # noqa: F401  (registers the methods)
    boundary,
    boundary_dou,
    cldice,
    dice,
    focal,
    hausdorff_dt,
    lovasz,
    ppce,
    ppce_edges,
    semeda,
    tversky,
    ubernet,
)
from methods.base import StructureLoss, parse_lambdas
from methods.edge_net import (
    DEFAULT_PEAK,
    DEFAULT_SIGMA,
    LITERAL,
    MIN_F1,
    EdgeNet,
    EdgeNetInfo,
    alpha_for_peak,
    fit_edge_net,
    fit_literal_edge_net,
    load_edge_net,
    noisy_softmax,
    save_edge_net,
)
from methods.edges import semantic_edges
from methods.registry import build_method, list_methods, method_class, register_method

__all__ = [
    "StructureLoss",
    "parse_lambdas",
    "register_method",
    "list_methods",
    "build_method",
    "method_class",
    "semantic_edges",
    "EdgeNet",
    "EdgeNetInfo",
    "alpha_for_peak",
    "noisy_softmax",
    "fit_edge_net",
    "fit_literal_edge_net",
    "save_edge_net",
    "load_edge_net",
    "DEFAULT_PEAK",
    "LITERAL",
    "DEFAULT_SIGMA",
    "MIN_F1",
]
