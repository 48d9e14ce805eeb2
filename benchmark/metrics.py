"""Segmentation metrics: confusion matrices, IoU, and trimap (boundary band) scores.

Every score is derived from an int64 confusion matrix (rows = ground truth, columns =
prediction), so run records can store the raw matrices and any later metric needs no new
run. Matrices stay on the device of their inputs, so a validation pass accumulates them
there; the IoU functions accept tensors or arrays on any device and return NumPy.

Trimap: the band of width ``w`` is the set of non-void pixels whose Euclidean distance to
the nearest ground-truth edge pixel (``methods.semantic_edges``) is below ``w``; width 1
is the edge map itself, two pixels thick across a boundary. The complement among non-void
pixels is the interior (non-boundary) region. One distance map per mask gives every width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import ndimage

from methods import semantic_edges

__all__ = [
    "PAPER_WIDTHS",
    "SMALL_WIDTHS",
    "confusion_matrix",
    "edge_distance",
    "mean_iou",
    "per_class_iou",
    "trimap_confusion",
    "trimap_miou",
]

#: Trimap half-widths (pixels) for the embedded default's small images.
SMALL_WIDTHS: tuple[int, ...] = (1, 2, 3, 5, 8)
#: Trimap half-widths (pixels) spanning the x-axis of the paper's Figure 5.
PAPER_WIDTHS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 40)

#: Largest bincount (bins x C^2) for which integer trimap widths are binned by the
#: truncated distance itself; beyond it (huge widths or class counts) searchsorted.
_MAX_FLOOR_BINS = 2**22
#: Interleaved copies of the histogram per bincount on the CPU (see ``_count``), as long
#: as they hold at most _MAX_SPLIT_BINS bins (beyond, zeroing and summing them costs more).
_CPU_SPLIT = 4
_MAX_SPLIT_BINS = 2**20
#: Largest ignore index kept as its own row of the flat index (beyond it void is remapped).
_MAX_VOID_ROW = 1024


def _check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")


def _check_ids(pred: torch.Tensor, target: torch.Tensor) -> None:
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


def _range_error(pred, target, num_classes: int, ignore_index: int) -> ValueError:
    """The error for class ids out of range (computed only when raising)."""
    pred_min, pred_max = torch.aminmax(pred)
    valid = target != ignore_index
    target_min, target_max = torch.aminmax(torch.where(valid, target, 0)) if target.numel() else (0, 0)
    return ValueError(
        f"class ids must lie in [0, {num_classes}) (target may also hold "
        f"ignore_index={ignore_index}); got pred in [{int(pred_min)}, "
        f"{int(pred_max)}], non-void target in [{int(target_min)}, "
        f"{int(target_max)}]; check num_classes and the label mapping"
    )


def _pair_counts(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    ignore_index: int,
    bins: torch.Tensor | None = None,
    n_bins: int = 1,
) -> torch.Tensor:
    """Pixel counts per (ground truth, bin, prediction), void pixels left out.

    Shape:
        pred, target: integer tensors of the same shape; bins: tensor of that shape with
        values in [0, n_bins) (None: one bin), made for this call: it may be overwritten.
        Returns int64 [C, n_bins, C] on ``target``'s device.

    One bincount over the flat index (row * n_bins + bin) * C + pred, where the row is
    the ground-truth class, and void pixels get a row of their own (the ignore index
    itself when it lies past the classes, so no masking pass is needed) that is dropped.
    Out-of-range ids would silently land in another class's cell, so they are rejected:
    pred and the target's extremes up front, target ids between the classes and the void
    row from the counts. The index is int32 whenever it fits: its arithmetic then costs
    half as much, and no temporary is large enough to be mapped afresh (and page-faulted
    in) on every call.
    """
    c = num_classes
    pred = pred.to(target.device)
    if pred.numel() == 0:
        return torch.zeros(c, n_bins, c, dtype=torch.int64, device=target.device)
    extremes = torch.stack([*torch.aminmax(pred), *torch.aminmax(target)]).tolist()  # one host sync
    pred_min, pred_max, target_min, target_max = extremes
    bad_target = (target_min < 0 and target_min != ignore_index) or (target_max >= c and target_max != ignore_index)
    if pred_min < 0 or pred_max >= c or bad_target:
        raise _range_error(pred, target, c, ignore_index)
    original = target
    has_void = target_min <= ignore_index <= target_max
    void_row = ignore_index
    if has_void and not c <= ignore_index <= _MAX_VOID_ROW:  # void row c instead (a rare layout)
        target, void_row = target.masked_fill(target == ignore_index, c), c
        target_max = int(target.max())
        if target_max > c:
            raise _range_error(pred, original, c, ignore_index)
    rows = max(c, target_max + 1)
    length = rows * n_bins * c
    split = _CPU_SPLIT if target.device.type == "cpu" and _CPU_SPLIT * length <= _MAX_SPLIT_BINS else 1
    dtype = torch.int32 if split * length < 2**31 else torch.int64

    # Same-dtype operations, written into buffers made here: on the CPU, int32 arithmetic
    # with an int64 operand goes through a casting loop about 40x slower.
    index = target.to(dtype)
    if bins is not None:
        bins = bins.to(dtype)  # bins are made for this call (see the docstring): overwritten
        index = torch.add(bins, index, alpha=n_bins, out=bins)
    flat = pred.to(dtype, copy=True)
    index = torch.add(flat, index, alpha=c, out=flat)
    counts = _count(index.reshape(-1), length, split).reshape(rows, n_bins, c)
    if rows > c + (1 if has_void else 0):  # target ids between the classes and the void row?
        stray = counts[c:].sum((1, 2))
        if has_void:
            stray[void_row - c] = 0
        if stray.any():
            raise _range_error(pred, original, c, ignore_index)
    return counts[:c]


def _count(index: torch.Tensor, length: int, split: int) -> torch.Tensor:
    """``torch.bincount(index, minlength=length)`` for a flat index in [0, length) that may be modified.

    Neighbouring pixels mostly share their (ground truth, prediction) pair, so a CPU
    bincount keeps incrementing one counter, each increment waiting on the last. Pixel i
    counts in copy i mod ``split`` of the histogram instead, summed at the end: 2-3x
    faster for one extra in-place pass.
    """
    n = index.numel()
    if split > 1 and n >= split:
        interleaved = index[: n - n % split].view(-1, split)
        for copy in range(1, split):  # one strided add per copy: faster than a broadcast add_
            interleaved[:, copy] += copy * length
        return torch.bincount(index, minlength=split * length).view(split, length).sum(0)
    return torch.bincount(index, minlength=length)


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = 255
) -> torch.Tensor:
    """Confusion matrix of class ids; pixels whose target is ``ignore_index`` are left out.

    Shape:
        pred, target: integer tensors of the same shape (any), ids in [0, num_classes).
        returns: int64 tensor [C, C] on ``target``'s device; entry [g, p] counts pixels of
        ground-truth class g predicted as p (rows = ground truth, columns = prediction).

    One ``torch.bincount`` over the flat index ``g * C + p`` (see ``_pair_counts``).
    """
    _check_num_classes(num_classes)
    _check_ids(pred, target)
    return _pair_counts(pred, target, num_classes, ignore_index)[:, 0]


def per_class_iou(conf: torch.Tensor | np.ndarray) -> np.ndarray:
    """Per-class intersection over union: IoU_c = TP / (TP + FP + FN).

    Shape:
        conf: [C, C] confusion matrix (rows = ground truth), tensor or array.
        returns: float64 array [C]; NaN where TP + FP + FN == 0, i.e. the class is absent
        from both ground truth and prediction (as the Cityscapes evaluator does). A class
        predicted but absent from the ground truth scores 0.
    """
    if isinstance(conf, torch.Tensor):
        conf = conf.detach().cpu().numpy()
    conf = np.asarray(conf, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"conf must be a square [C, C] matrix, got shape {conf.shape}")
    tp = np.diag(conf)
    denom = conf.sum(axis=0) + conf.sum(axis=1) - tp
    iou = np.full(tp.shape, np.nan)
    np.divide(tp, denom, out=iou, where=denom > 0)
    return iou


def mean_iou(conf: torch.Tensor | np.ndarray) -> float:
    """Mean IoU in [0, 1]: the mean of ``per_class_iou`` over the classes that are not NaN.

    Returns NaN, without a warning, when every class is NaN (empty matrix).
    """
    iou = per_class_iou(conf)
    present = ~np.isnan(iou)
    # np.nanmean would warn on an all-NaN row (e.g. an empty trimap region).
    return float(iou[present].mean()) if present.any() else float("nan")


def edge_distance(target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Euclidean distance of every pixel to the nearest ground-truth edge pixel.

    Shape:
        target: integer tensor [N, H, W] of class ids (``ignore_index`` for void).
        returns: float32 tensor [N, H, W] on ``target``'s device; 0 on edge pixels
        (``methods.semantic_edges``), +inf everywhere in an image without an edge pixel.

    Exact Euclidean distance transform (scipy), one image at a time on the CPU. It costs
    far more than a confusion matrix, so it is computed once per validation mask and
    cached by the caller.
    """
    edges = semantic_edges(target, ignore_index).cpu().numpy()
    out = np.full(edges.shape, np.inf, dtype=np.float32)
    for i, edge_map in enumerate(edges):
        if edge_map.any():
            # distance_transform_edt measures the distance to the nearest zero element.
            out[i] = ndimage.distance_transform_edt(~edge_map)
    return torch.from_numpy(out).to(target.device)


def _checked_widths(widths: Sequence[float]) -> tuple[float, ...]:
    widths = tuple(float(w) for w in widths)
    if not widths:
        raise ValueError("widths must hold at least one trimap width, got none")
    increasing = all(b > a for a, b in zip(widths, widths[1:]))
    if not (widths[0] > 0 and increasing and all(map(math.isfinite, widths))):
        raise ValueError(
            f"trimap widths must be positive, finite and strictly increasing, got {widths}"
        )
    return widths


def trimap_confusion(
    pred: torch.Tensor,
    target: torch.Tensor,
    widths: Sequence[float],
    num_classes: int,
    ignore_index: int = 255,
    distance: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Confusion matrices inside and outside the trimap band, for every width at once.

    The band of width w holds the non-void pixels whose distance to the nearest
    ground-truth edge pixel is < w (w = 1 is the edge map); the interior is its
    complement among non-void pixels, so ``boundary[k] + interior[k]`` equals
    ``confusion_matrix(pred, target, ...)`` for every k.

    Shape:
        pred, target: integer tensors [N, H, W] of class ids.
        widths: K positive, strictly increasing widths (pixels).
        distance: tensor [N, H, W], ``edge_distance(target, ignore_index)``, or that map
            floored to integers (uint8, as ``prepare`` caches it; exact for integer
            widths); pass the cached map, it is computed here when None.
        returns: (boundary, interior), int64 tensors [K, C, C] on ``target``'s device.

    Every pixel gets a bin ordered by distance (the truncated distance for integer
    widths, else the index of the first width above it) such that each band is a
    prefix of the bins; one bincount over (bin, ground truth, prediction) and a
    cumulative sum over bins then give every band, so all widths together cost little
    more than one plain confusion matrix (about 1.1x with the uint8 cache and 1.3x with
    a float32 map, widths 1-40 on 8 street masks of 512x1024, one CPU thread).
    ``distance`` must not hold NaN.
    """
    widths = _checked_widths(widths)
    if target.dim() != 3:
        raise ValueError(f"target must be [N, H, W], got shape {tuple(target.shape)}")
    if distance is None:
        distance = edge_distance(target, ignore_index)
    if distance.shape != target.shape:
        raise ValueError(
            f"distance must have the shape of target {tuple(target.shape)}, got "
            f"{tuple(distance.shape)}; pass edge_distance(target) of the same masks"
        )
    distance = distance.to(target.device)

    _check_num_classes(num_classes)
    _check_ids(pred, target)
    c2 = num_classes * num_classes
    integer = all(w.is_integer() for w in widths)
    if integer and (widths[-1] + 1) * c2 <= _MAX_FLOOR_BINS:
        # For an integer w, d < w iff floor(d) < w, so the distance truncated to an int
        # (capped at the largest width: in no band) is itself the bin. This costs a
        # fraction of searchsorted, which alone would double the cost of the matrix.
        # An integer map (the uint8 cache) is clamped as it is, without a float copy.
        n_bins, rows = int(widths[-1]) + 1, [int(w) - 1 for w in widths]
        bins = distance.clamp(0, n_bins - 1)
    else:
        n_bins, rows = len(widths) + 1, list(range(len(widths)))
        distance = distance if distance.is_floating_point() else distance.float()
        bounds = torch.tensor(widths, dtype=distance.dtype, device=distance.device)
        # the first width above the distance; len(widths) when in no band
        bins = torch.searchsorted(bounds, distance.contiguous(), right=True)
    counts = _pair_counts(pred, target, num_classes, ignore_index, bins, n_bins)  # [C, bins, C]
    cumulative = counts.cumsum(1)
    boundary = cumulative[:, rows].transpose(0, 1).contiguous()
    interior = cumulative[:, -1:].transpose(0, 1) - boundary
    return boundary, interior


def trimap_miou(
    boundary: torch.Tensor | np.ndarray, interior: torch.Tensor | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean IoU of the boundary band and of the interior, per width.

    Shape:
        boundary, interior: [K, C, C] confusion matrices from ``trimap_confusion``.
        returns: two float64 arrays [K]; NaN for a region with no pixel.
    """
    if isinstance(boundary, torch.Tensor):
        boundary = boundary.detach().cpu().numpy()
    if isinstance(interior, torch.Tensor):
        interior = interior.detach().cpu().numpy()
    if np.ndim(boundary) != 3 or np.shape(boundary) != np.shape(interior):
        raise ValueError(
            "boundary and interior must both be [K, C, C], got shapes "
            f"{np.shape(boundary)} and {np.shape(interior)}"
        )
    return (
        np.array([mean_iou(m) for m in boundary], dtype=np.float64),
        np.array([mean_iou(m) for m in interior], dtype=np.float64),
    )
