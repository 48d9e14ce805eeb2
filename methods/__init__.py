"""Structure losses for semantic segmentation: the method registry, edge maps and the edge net.

Every method module is imported here explicitly, so ``list_methods()`` is complete as soon
as ``methods`` is imported. Adding a method: one new file with a ``@register_method``
class, plus one import line below; or, outside the package, a file of your own given to
``--import`` or an installed ``semeda_bench.methods`` entry point (``methods.plugins``),
checked with ``methods.testing.check_method``.
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
    EDGE_NET_BORDERS,
    EDGE_PATCH_SHARE,
    LITERAL,
    MIN_F1,
    RECEPTIVE_RADIUS,
    EdgeNet,
    EdgeNetInfo,
    FitStopped,
    alpha_for_peak,
    balanced_edge_cross_entropy,
    edge_f1,
    edge_net_inputs,
    fit_edge_net,
    fit_literal_edge_net,
    load_edge_net,
    noisy_softmax,
    save_edge_net,
)
from methods.distance import DISTANCE_BACKENDS, available_backends, backend_for, distance_to_background, distance_to_other_label
from methods.edges import semantic_edges
from methods.focal import focal_term
from methods.lovasz import lovasz_softmax_term
from methods.progress import LineProgress, progress_bar
from methods.plugins import ENTRY_POINT_GROUPS, Plugin, PluginError, import_modules, import_plugin, imported_plugins, load_entry_points
from methods.registry import build_method, list_methods, method_class, method_origin, register_method

__all__ = [
    "StructureLoss",
    "parse_lambdas",
    "register_method",
    "list_methods",
    "build_method",
    "method_class",
    "method_origin",
    "ENTRY_POINT_GROUPS",
    "Plugin",
    "PluginError",
    "import_modules",
    "import_plugin",
    "imported_plugins",
    "load_entry_points",
    "semantic_edges",
    "DISTANCE_BACKENDS",
    "available_backends",
    "backend_for",
    "distance_to_background",
    "distance_to_other_label",
    "focal_term",
    "lovasz_softmax_term",
    "EdgeNet",
    "EdgeNetInfo",
    "alpha_for_peak",
    "noisy_softmax",
    "fit_edge_net",
    "fit_literal_edge_net",
    "FitStopped",
    "edge_net_inputs",
    "balanced_edge_cross_entropy",
    "save_edge_net",
    "load_edge_net",
    "DEFAULT_PEAK",
    "LITERAL",
    "DEFAULT_SIGMA",
    "MIN_F1",
    "EDGE_PATCH_SHARE",
    "EDGE_NET_BORDERS",
    "RECEPTIVE_RADIUS",
    "edge_f1",
    "progress_bar",
    "LineProgress",
]
