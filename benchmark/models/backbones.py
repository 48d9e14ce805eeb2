"""The backbones by name and :func:`build_model`: a registry of builders (DeepLab v2 with
ResNet-101, its CPU-size miniature) plus the ``smp:<Arch>:<encoder>`` adapter for
segmentation_models_pytorch, each returning the parts a :class:`SegmentationModel` is
made of.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torchvision

from benchmark.models.network import EDGE_CLASSES, ASPPv2, SegmentationModel
from benchmark.models.weights import load_weights

__all__ = ["build_model", "check_backbone", "list_backbones", "register_backbone"]

_SMP_PATTERN = "smp:<Arch>:<encoder> (e.g. smp:DeepLabV3Plus:resnet34)"


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
