"""The network: ASPP v2, its fused two-head pass, and :class:`SegmentationModel`, which
puts a backbone, a classifier and an optional edge head together and returns scores at
the input size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:  # for the annotation of ``load_report`` only; weights imports this module
    from benchmark.models.weights import LoadReport

__all__ = ["EDGE_CLASSES", "ASPPv2", "SegmentationModel", "fusable", "fused_aspp"]

#: Number of edge-head outputs: non-edge / edge scores.
EDGE_CLASSES = 2


class ASPPv2(nn.Module):
    """DeepLab v2 atrous spatial pyramid pooling: parallel dilated convs, outputs summed.

    Unlike ASPP v3 there is no batch norm, no 1x1 branch and no image pooling: each branch
    is a ``kernel_size`` conv straight to ``out_channels`` and the scores are added.
    Weights are drawn from N(0, 0.01^2) and biases set to 0, as in DeepLab v2's prototxt.

    Shape: ``[N, in_channels, h, w] -> [N, out_channels, h, w]``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, rates: Sequence[int], kernel_size: int = 3
    ) -> None:
        super().__init__()
        self.rates = tuple(int(r) for r in rates)
        self.kernel_size = int(kernel_size)
        self.branches = nn.ModuleList(
            nn.Conv2d(
                in_channels,
                out_channels,
                self.kernel_size,
                padding=r * (self.kernel_size // 2),
                dilation=r,
            )
            for r in self.rates
        )
        for conv in self.branches:
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


def fusable(first: nn.Module, second: nn.Module) -> bool:
    """Whether two heads are ASPP-v2 modules with the same branches (rates, kernel)."""
    return (
        isinstance(first, ASPPv2)
        and isinstance(second, ASPPv2)
        and first.rates == second.rates
        and first.kernel_size == second.kernel_size
    )


def fused_aspp(first: ASPPv2, second: ASPPv2, x: torch.Tensor) -> torch.Tensor:
    """``cat([first(x), second(x)], dim=1)`` computed as one ASPP-v2 pass.

    Each branch's weights and biases are concatenated along the output channels, so one
    convolution per rate produces both heads' scores. The parameters stay separate (own
    state-dict keys, own initialisation); gradients reach them through the concatenation.

    Shape: ``[N, in_channels, h, w] -> [N, first.out + second.out, h, w]``.
    """
    out = None
    for a, b in zip(first.branches, second.branches):
        weight = torch.cat([a.weight, b.weight])
        bias = torch.cat([a.bias, b.bias])
        y = F.conv2d(x, weight, bias, padding=a.padding, dilation=a.dilation)
        out = y if out is None else out + y
    return out


class SegmentationModel(nn.Module):
    """Backbone + classifier (+ optional edge head), scores at the input resolution.

    ``forward(x)`` with ``x`` ``[N, 3, H, W]`` returns a dict:

    - ``"logits"``: ``[N, num_classes, H, W]``
    - ``"edge_logits"``: ``[N, 2, H, W]``, only when built with an edge head.

    Inputs whose size is not a multiple of ``pad_multiple`` (encoders that require it,
    e.g. smp's) are zero-padded at the bottom/right and the scores cropped back, so
    every pixel keeps its position.

    With ``frozen_bn`` every BatchNorm layer stays in eval mode (running statistics fixed,
    also after :meth:`train`) and its affine parameters do not require grad: the paper
    trains with mini-batches of 6, too few for batch statistics.
    """

    def __init__(
        self,
        backbone: nn.Module,
        classifier: nn.Module,
        *,
        backbone_name: str,
        num_classes: int,
        edge_head: nn.Module | None = None,
        frozen_bn: bool = False,
        pad_multiple: int = 1,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.edge_head = edge_head
        self.backbone_name = backbone_name
        self.num_classes = num_classes
        self.frozen_bn = frozen_bn
        self.pad_multiple = pad_multiple
        #: What :func:`load_weights` loaded into this model, None when built without weights.
        self.load_report: LoadReport | None = None
        if frozen_bn:
            for module in self._batch_norms():
                module.eval()
                module.requires_grad_(False)

    def _batch_norms(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def train(self, mode: bool = True) -> SegmentationModel:
        super().train(mode)
        if self.frozen_bn:
            for module in self._batch_norms():
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        height, width = x.shape[-2:]
        m = self.pad_multiple
        pad_h, pad_w = (-height) % m, (-width) % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        size = x.shape[-2:]
        features = self.backbone(x)

        def to_input_size(scores: torch.Tensor) -> torch.Tensor:
            # NCHW whatever the network's layout (a no-op unless it runs channels-last): the
            # losses' softmax over the classes runs 2-3x faster on it, and the scores are small.
            scores = scores.contiguous()
            if scores.shape[-2:] != size:
                scores = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
            return scores[..., :height, :width]

        if self.edge_head is None:
            return {"logits": to_input_size(self.classifier(features))}
        if fusable(self.classifier, self.edge_head):
            # One pass of both heads: the backward pass then computes the gradient with
            # respect to the (wide) backbone features once, not once per head.
            scores = to_input_size(fused_aspp(self.classifier, self.edge_head, features))
            logits, edge_logits = scores.split([self.num_classes, EDGE_CLASSES], dim=1)
            return {"logits": logits, "edge_logits": edge_logits}
        return {
            "logits": to_input_size(self.classifier(features)),
            "edge_logits": to_input_size(self.edge_head(features)),
        }

    def param_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """Trainable parameters split as ``(backbone, head)``.

        The head (segmentation classifier and edge head) is freshly initialised and gets a
        10x learning rate in DeepLab's recipe. Frozen parameters (frozen BN) are left out.
        """
        heads = [self.classifier] + ([self.edge_head] if self.edge_head is not None else [])
        head = [p for module in heads for p in module.parameters() if p.requires_grad]
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        return backbone, head
