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
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

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

#: Number of edge-head outputs: non-edge / edge scores.
EDGE_CLASSES = 2

_SMP_PATTERN = "smp:<Arch>:<encoder> (e.g. smp:DeepLabV3Plus:resnet34)"
#: Key prefixes of a state dict saved from a whole :class:`SegmentationModel`.
_MODEL_PREFIXES = ("backbone.", "classifier.", "edge_head.")


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


# --------------------------------------------------------------------------- registry


@dataclass
class _Parts:
    """What a backbone builder returns; the edge head is built from it afterwards."""

    backbone: nn.Module
    classifier: nn.Module
    feature_channels: int
    rates: tuple[int, ...]
    kernel_size: int = 3
    pad_multiple: int = 1


#: Backbone name -> builder ``(num_classes, width) -> _Parts``.
_BACKBONES: dict[str, Callable[[int, int | None], _Parts]] = {}


def register_backbone(name: str) -> Callable:
    """Decorator adding a builder ``(num_classes, width) -> _Parts`` under ``name``."""
    def decorator(fn: Callable[[int, int | None], _Parts]) -> Callable:
        if name in _BACKBONES:
            warnings.warn(f"backbone {name!r} registered twice; the last one wins", stacklevel=2)
        _BACKBONES[name] = fn
        return fn

    return decorator


def list_backbones() -> list[str]:
    """Registered backbone names; ``smp:<Arch>:<encoder>`` names are accepted as well."""
    return sorted(_BACKBONES)


def _no_width(name: str, width: int | None) -> None:
    if width is not None:
        raise ValueError(f"width applies only to deeplabv2_small, not {name}; drop --width")


@register_backbone("deeplabv2_resnet101")
def _deeplabv2_resnet101(num_classes: int, width: int | None) -> _Parts:
    """DeepLab v2: ResNet-101 at output stride 8 (layer3 and layer4 dilated by 2 and 4).

    torchvision's ResNet puts the stride in the 3x3 conv of a bottleneck (ResNet v1.5),
    the Caffe model of DeepLab v2 in the first 1x1 conv; the layer names, shapes and the
    output stride are the same.
    """
    _no_width("deeplabv2_resnet101", width)
    resnet = torchvision.models.resnet101(
        weights=None, replace_stride_with_dilation=[False, True, True]
    )
    # A named Sequential keeps torchvision's key names (conv1.weight, layer1.0...), so an
    # ImageNet state dict loads into it as is.
    backbone = nn.Sequential(
        OrderedDict((n, m) for n, m in resnet.named_children() if n not in ("avgpool", "fc"))
    )
    rates = (6, 12, 18, 24)
    return _Parts(backbone, ASPPv2(2048, num_classes, rates), 2048, rates)


def _conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)
    # Trained from scratch: He init as torchvision's ResNet, not PyTorch's default.
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@register_backbone("deeplabv2_small")
def _deeplabv2_small(num_classes: int, width: int | None) -> _Parts:
    """DeepLab v2 in miniature for CPU: output stride 8, dilated blocks, ASPP-v2 sum.

    Blocks (channels for ``width`` w): three stride-2 conv-BN-ReLU (w, 2w, 4w), two
    dilated ones (4w, dilation 2 and 4), ASPP-v2 rates 1, 2, 4, 6 summed. With w = 32
    about 0.43 M parameters.
    """
    w = 32 if width is None else int(width)
    if w < 1:
        raise ValueError(f"width must be a positive integer, got {width}")
    backbone = nn.Sequential(
        OrderedDict(
            block1=_conv_bn_relu(3, w, stride=2),
            block2=_conv_bn_relu(w, 2 * w, stride=2),
            block3=_conv_bn_relu(2 * w, 4 * w, stride=2),
            block4=_conv_bn_relu(4 * w, 4 * w, dilation=2),
            block5=_conv_bn_relu(4 * w, 4 * w, dilation=4),
        )
    )
    rates = (1, 2, 4, 6)
    return _Parts(backbone, ASPPv2(4 * w, num_classes, rates), 4 * w, rates)


def _parse_smp(spec: str):
    """``smp:<Arch>:<encoder>`` -> (smp architecture class, encoder name), or ValueError."""
    import segmentation_models_pytorch as smp

    parts = spec.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ValueError(f"malformed smp backbone {spec!r}; expected {_SMP_PATTERN}")
    _, arch, encoder = parts
    archs = {cls.__name__.lower(): cls for cls in smp.MODEL_ARCHITECTURES_MAPPING.values()}
    if arch.lower() not in archs:
        names = ", ".join(cls.__name__ for cls in archs.values())
        raise ValueError(f"unknown smp architecture {arch!r} in {spec!r}; valid: {names}")
    encoders = smp.encoders.get_encoder_names()
    known = encoder in encoders
    if encoder.startswith("tu-"):
        import timm

        known = timm.is_model(encoder[3:])
    if not known:
        raise ValueError(
            f"unknown smp encoder {encoder!r} in {spec!r}; valid: {', '.join(encoders)}, "
            "or tu-<timm model name>"
        )
    return archs[arch.lower()], encoder


def check_backbone(name: str) -> None:
    """Raise ``ValueError`` (listing the valid names) unless ``name`` is a known backbone."""
    if name.startswith("smp:"):
        _parse_smp(name)
    elif name not in _BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(list_backbones())}, or {_SMP_PATTERN}")


def _smp_parts(spec: str, num_classes: int, width: int | None) -> _Parts:
    """``smp:<Arch>:<encoder>``: the smp model up to its decoder is the backbone.

    The backbone is the smp model with its segmentation head replaced by an identity, so
    it returns the decoder output (the features the edge head reads); the classifier is
    smp's segmentation head without its fixed-factor up-sampling (the model up-samples
    to the input size itself). The edge head mirrors that head's first conv: a single
    branch of its kernel size and dilation.
    """
    _no_width(spec, width)
    arch_cls, encoder = _parse_smp(spec)
    try:
        net = arch_cls(
            encoder_name=encoder, encoder_weights=None, in_channels=3, classes=num_classes
        )
    except (ValueError, KeyError, RuntimeError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"smp cannot build {spec!r}: {message}") from err

    head = net.segmentation_head
    net.segmentation_head = nn.Identity()
    if isinstance(head, nn.Sequential):
        for i, child in enumerate(head):
            if isinstance(child, (nn.Upsample, nn.UpsamplingBilinear2d)):
                head[i] = nn.Identity()
    first_conv = next((m for m in head.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is None:
        raise ValueError(f"smp model {spec!r} has no conv in its segmentation head")
    divisible = getattr(net, "requires_divisible_input_shape", True)
    pad = getattr(net.encoder, "output_stride", 1) if divisible else 1
    return _Parts(
        net,
        head,
        first_conv.in_channels,
        (first_conv.dilation[0],),
        first_conv.kernel_size[0],
        pad,
    )


def build_model(
    backbone: str,
    num_classes: int,
    *,
    edge_head: bool = False,
    weights: str | os.PathLike | None = None,
    frozen_bn: bool = False,
    width: int | None = None,
) -> SegmentationModel:
    """Build a segmentation model by backbone name (:func:`list_backbones` or smp pattern).

    ``edge_head`` adds an Ubernet-style second ASPP-v2 classifier with 2 outputs on the
    backbone features (same rates as the segmentation classifier). It is drawn from a
    forked RNG, so the rest of the model, and the global RNG state after the call, are
    the same with or without it under one ``torch.manual_seed``. ``weights`` names a
    state dict file, see :func:`load_weights`. ``width`` scales ``deeplabv2_small`` only.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if backbone.startswith("smp:"):
        parts = _smp_parts(backbone, num_classes, width)
    elif backbone in _BACKBONES:
        parts = _BACKBONES[backbone](num_classes, width)
    else:
        raise ValueError(
            f"unknown backbone {backbone!r}; valid: {', '.join(list_backbones())}, "
            f"or {_SMP_PATTERN}"
        )
    edge = None
    if edge_head:
        with torch.random.fork_rng(devices=[]):
            # Reseed from the current stream through a constant, so the edge head is
            # reproducible yet not a copy of whatever the caller draws next.
            seed = int(torch.randint(0, 2**62, ())) ^ 0x5EED_ED6E
            torch.manual_seed(seed)
            edge = ASPPv2(parts.feature_channels, EDGE_CLASSES, parts.rates, parts.kernel_size)
    model = SegmentationModel(
        parts.backbone,
        parts.classifier,
        backbone_name=backbone,
        num_classes=num_classes,
        edge_head=edge,
        frozen_bn=frozen_bn,
        pad_multiple=parts.pad_multiple,
    )
    if weights is not None:
        model.load_report = load_weights(model, weights)
    return model


# --------------------------------------------------------------------------- weights


class WeightsNotFoundError(ValueError, FileNotFoundError):
    """A weights file that does not exist (both a ValueError and a FileNotFoundError)."""


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_weights` did.

    ``kind``: ``"torchvision_resnet101"`` or ``"segmentation_model"``; ``loaded``: number of
    tensors copied; ``dropped``: keys of the file not used (``fc.*`` of an ImageNet
    classifier, or an edge head the model does not have); ``kept_init``: model keys left at
    their initial value (an edge head absent from the file).
    """

    path: str
    kind: str
    loaded: int
    dropped: tuple[str, ...] = ()
    kept_init: tuple[str, ...] = ()


def _first(keys: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(list(keys)[:n])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def _load_strict(
    module: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str
) -> None:
    """Copy ``state`` into ``module``: same keys, same shapes, or a ValueError.

    ``num_batches_tracked`` buffers may be absent (ImageNet files older than PyTorch 0.4.1
    lack them; BatchNorm then keeps its own).
    """
    target = module.state_dict()
    for key, value in state.items():
        if key in target and tuple(value.shape) != tuple(target[key].shape):
            raise ValueError(
                f"weights file {path}: shape mismatch for {key}: file {tuple(value.shape)}, "
                f"model {tuple(target[key].shape)}"
            )
    missing = [k for k in target if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in target]
    if missing or unexpected:
        raise ValueError(
            f"weights file {path} does not match the {what}: "
            f"{len(missing)} missing keys ({_first(missing) or 'none'}), "
            f"{len(unexpected)} unexpected keys ({_first(unexpected) or 'none'})"
        )
    result = module.load_state_dict(state, strict=False)
    assert not result.unexpected_keys and all(
        k.endswith("num_batches_tracked") for k in result.missing_keys
    ), result


def load_weights(model: SegmentationModel, path: str | os.PathLike) -> LoadReport:
    """Load a state dict file into ``model``; never a silent partial load.

    The kind of file is told by its keys:

    - a torchvision ResNet-101 ImageNet state dict (``conv1.weight``,
      ``layer1.0.conv1.weight``, ..., ``fc.weight``) loads into the backbone of
      ``deeplabv2_resnet101``; ``fc.*`` is dropped, every other key must match.
    - a state dict of a whole :class:`SegmentationModel` (``backbone.*``, ``classifier.*``,
      e.g. from an earlier run's saved weights) loads into the whole model, strictly. The
      edge head alone may be absent on either side (fine-tuning an Ubernet-style model
      from a plain one, or the reverse): it then keeps its initial values, or is dropped,
      with a warning.

    Caffe DeepLab v2 checkpoints (e.g. the MS-COCO pre-trained ``init.caffemodel``) are not
    loaded directly: their ResNet puts the stride in the first 1x1 conv, uses separate
    scale layers for BN and expects BGR input with mean subtraction; convert one to a
    torchvision-layout state dict first.

    Raises :class:`WeightsNotFoundError` for a missing file and ValueError for an
    unreadable file, an unknown layout, missing/unexpected keys or a shape mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"weights file not found: {path} "
            "(pass --weights with a torchvision ResNet-101 state dict)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure means "not a state dict file"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot read weights file {path}: {first}") from err
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(
            f"weights file {path} is not a state dict (a flat dict of name -> tensor, "
            "as saved by torch.save(model.state_dict()))"
        )

    if any(k.startswith(_MODEL_PREFIXES) for k in state):
        edge_in_file = [k for k in state if k.startswith("edge_head.")]
        edge_in_model = [k for k in model.state_dict() if k.startswith("edge_head.")]
        dropped: list[str] = []
        kept: list[str] = []
        if edge_in_file and not edge_in_model:
            dropped = edge_in_file
            state = {k: v for k, v in state.items() if not k.startswith("edge_head.")}
        elif edge_in_model and not edge_in_file:
            kept = edge_in_model
            state = {**state, **{k: v for k, v in model.state_dict().items() if k in kept}}
        _load_strict(model, state, path, f"{model.backbone_name} model")
        if dropped or kept:
            warnings.warn(
                f"weights file {path}: edge head "
                + ("dropped (the model has none)" if dropped else "not in the file, kept at init"),
                stacklevel=2,
            )
        return LoadReport(
            str(path), "segmentation_model", len(state) - len(kept), tuple(dropped), tuple(kept)
        )

    if "conv1.weight" in state or any(k.startswith("layer1.") for k in state):
        if model.backbone_name != "deeplabv2_resnet101":
            raise ValueError(
                f"weights file {path} is a torchvision ResNet state dict, which loads only "
                f"into deeplabv2_resnet101, not {model.backbone_name}"
            )
        dropped = sorted(k for k in state if k.startswith("fc."))
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        _load_strict(model.backbone, state, path, "ResNet-101 backbone")
        return LoadReport(str(path), "torchvision_resnet101", len(state), tuple(dropped))

    raise ValueError(
        f"weights file {path} has neither torchvision ResNet keys (conv1.weight, layer1.*) "
        f"nor this model's keys (backbone.*, classifier.*); found e.g. {_first(list(state))}. "
        "Caffe DeepLab checkpoints must be converted to a torchvision-layout state dict first"
    )
