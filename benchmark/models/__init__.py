"""Segmentation networks: DeepLab v2 (paper scale), a small DeepLab-v2-like net (CPU), smp.

Every model is a :class:`SegmentationModel`: a ``backbone`` (image -> feature map), a
``classifier`` (feature map -> class scores) and, for Ubernet-style multi-task methods, an
``edge_head`` reading the same features. Scores are bilinearly up-sampled to the input
size (``align_corners=False``), the paper's one change to DeepLab v2.

Backbones (:func:`list_backbones`):

- ``deeplabv2_resnet101``: torchvision ResNet-101, layer3/layer4 dilated (output stride 8),
  ASPP-v2 head (rates 6, 12, 18, 24, branches summed). Pre-trained weights come from a file
  the user names (:func:`load_weights`); nothing is downloaded.
- ``deeplabv2_small``: the same structure at CPU size; ``width`` scales its channels
  (32: embedded default, 8: smoke tests).
- ``smp:<Arch>:<encoder>``: any segmentation_models_pytorch architecture, e.g.
  ``smp:DeepLabV3Plus:resnet34``, built without pre-trained weights.

Modules, each importing only those listed before it (``network`` names ``LoadReport`` in
an annotation, for type checkers only):

* ``network``: ``ASPPv2``, the fused two-head pass (``fusable``, ``fused_aspp``),
  ``SegmentationModel`` and ``EDGE_CLASSES``;
* ``weights``: ``load_weights``, its ``LoadReport`` and ``WeightsNotFoundError``;
* ``backbones``: the backbone registry (``register_backbone``, ``list_backbones``,
  ``check_backbone``), the builders of the backbones above and ``build_model``.
"""

from benchmark.models.network import EDGE_CLASSES, ASPPv2, SegmentationModel, fusable, fused_aspp
from benchmark.models.weights import LoadReport, WeightsNotFoundError, load_weights
from benchmark.models.backbones import build_model, check_backbone, list_backbones, register_backbone

__all__ = [
    "ASPPv2",
    "LoadReport",
    "SegmentationModel",
    "WeightsNotFoundError",
    "build_model",
    "fusable",
    "fused_aspp",
    "list_backbones",
    "load_weights",
    "register_backbone",
]
