"""Checks of the metrics' inputs, shared by every metric: the class count, the class-id
tensors and their range, and the widths of distance bands.

Each raises ``ValueError`` with a message naming what to fix: a wrong input would
otherwise not fail but be counted in another class's cell or band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["check_ids", "check_num_classes", "checked_widths", "range_error"]


def check_num_classes(num_classes: int) -> None:
    """Reject a ``num_classes`` that is not a positive int (a bool included): every count
    array is sized by it, so a wrong value would not fail but shift the cells."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")


def check_ids(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Reject ``pred`` and ``target`` unless both are integer tensors of one shape.

    Shape: pred, target: integer tensors of the same shape (any). Floating, complex and
    bool tensors are refused: logits, probabilities or masks passed by mistake would
    otherwise be truncated to ids and counted.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
    for name, x in (("pred", pred), ("target", target)):
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(
                f"{name} must be an integer tensor of class ids, got {x.dtype} "
                "(take argmax over the class dimension of the logits first)"
            )


def range_error(pred, target, num_classes: int, ignore_index: int) -> ValueError:
    """The error for class ids out of range (computed only when raising).

    Shape: pred, target: integer tensors of the same shape; the message gives the range of
    ``pred`` and of the non-void ``target``, so the caller sees which side is wrong (the
    number of classes or the label mapping). Every metric raises this one message.
    """
    pred_min, pred_max = torch.aminmax(pred)
    valid = target != ignore_index
    target_min, target_max = torch.aminmax(torch.where(valid, target, 0)) if target.numel() else (0, 0)
    return ValueError(
        f"class ids must lie in [0, {num_classes}) (target may also hold "
        f"ignore_index={ignore_index}); got pred in [{int(pred_min)}, "
        f"{int(pred_max)}], non-void target in [{int(target_min)}, "
        f"{int(target_max)}]; check num_classes and the label mapping"
    )


def checked_widths(widths: Sequence[float]) -> tuple[float, ...]:
    """``widths`` as a tuple of K floats, checked positive, finite and strictly increasing.

    Trimap and Boundary IoU widths (pixels): their bands are prefixes of bins ordered by
    distance, so every width after the first must be larger, and width 0 would be an
    empty band.
    """
    widths = tuple(float(w) for w in widths)
    if not widths:
        raise ValueError("widths must hold at least one trimap width, got none")
    increasing = all(b > a for a, b in zip(widths, widths[1:]))
    if not (widths[0] > 0 and increasing and all(map(math.isfinite, widths))):
        raise ValueError(
            f"trimap widths must be positive, finite and strictly increasing, got {widths}"
        )
    return widths

