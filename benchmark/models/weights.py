"""Loading a state dict file into a :class:`SegmentationModel`: a torchvision ResNet-101
ImageNet file into the backbone, or a whole model's file into the model; never a silent
partial load.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from benchmark.models.network import SegmentationModel

__all__ = ["LoadReport", "WeightsNotFoundError", "load_weights", "read_state_dict"]

#: Key prefixes of a state dict saved from a whole :class:`SegmentationModel`.
_MODEL_PREFIXES = ("backbone.", "classifier.", "edge_head.")


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
    #: What was adapted on the way, one line each (a DataParallel ``module.`` prefix stripped).
    notes: tuple[str, ...] = ()


#: Key prefix of a model saved from inside ``nn.DataParallel`` / ``DistributedDataParallel``.
_PARALLEL_PREFIX = "module."
#: How a file ``torch.save`` wrote begins: a zip archive (since PyTorch 1.6), or a pickle (older).
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The flat ``name -> tensor`` dict of the file ``path``, read without running any
    pickled code (``weights_only``); a ValueError naming the file, what it holds instead and
    the fix for a file that is not one (text, a pickled whole model, another kind of data)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith(_TORCH_MAGIC):
        kind = "text" if head and all(32 <= b < 127 or b in b"\t\n\r" for b in head) else "not a file torch.save wrote"
        raise ValueError(f"cannot read weights file {path}: it is {kind}; give a state dict saved with "
                         "torch.save(model.state_dict(), path)")  # fmt: skip
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure means "not a state dict file"
        if "Weights only load failed" in str(err):
            # torch's own message is many lines with terminal colour codes: say it in one.
            raise ValueError(f"cannot read weights file {path}: it holds pickled Python objects (a whole model saved with "
                             "torch.save(model)?), which are not loaded, as they could run code; save its "
                             "model.state_dict() instead") from None  # fmt: skip
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot read weights file {path}: {first}; give a state dict saved with "
                         "torch.save(model.state_dict(), path)") from None  # fmt: skip
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"weights file {path} is not a state dict (a flat dict of name -> tensor, "
                         "as saved by torch.save(model.state_dict()))")  # fmt: skip
    return state


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

    A model saved from inside ``nn.DataParallel`` (every key starting ``module.``) loads with
    the prefix stripped, said in the report's ``notes``.

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
    state = read_state_dict(path)
    notes: tuple[str, ...] = ()
    if state and all(k.startswith(_PARALLEL_PREFIX) for k in state):
        state = {k[len(_PARALLEL_PREFIX):]: v for k, v in state.items()}
        notes = (f"weights file {path}: the {_PARALLEL_PREFIX!r} prefix of a DataParallel model stripped from its {len(state)} keys",)

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
            str(path), "segmentation_model", len(state) - len(kept), tuple(dropped), tuple(kept), notes
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
        return LoadReport(str(path), "torchvision_resnet101", len(state), tuple(dropped), notes=notes)

    raise ValueError(
        f"weights file {path} has neither torchvision ResNet keys (conv1.weight, layer1.*) "
        f"nor this model's keys (backbone.*, classifier.*); found e.g. {_first(list(state))}. "
        "Caffe DeepLab checkpoints must be converted to a torchvision-layout state dict first"
    )
