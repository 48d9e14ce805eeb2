"""Confusion matrices of class ids and the IoU derived from them.

The confusion matrix is int64 counts (rows = ground truth, columns = prediction), made by
one ``torch.bincount`` on the device of its inputs; ``pair_counts`` also splits them by a
per-pixel bin, which the trimap uses for its distance bands.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.metrics.checks import check_ids, check_num_classes, range_error

__all__ = ["confusion_matrix", "mean_iou", "pair_counts", "per_class_iou"]

#: Interleaved copies of the histogram per bincount on the CPU (see ``_count``), as long
#: as they hold at most _MAX_SPLIT_BINS bins (beyond, zeroing and summing them costs more).
_CPU_SPLIT = 4
_MAX_SPLIT_BINS = 2**20
#: Largest ignore index kept as its own row of the flat index (beyond it void is remapped).
_MAX_VOID_ROW = 1024


def pair_counts(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    ignore_index: int,
    bins: torch.Tensor | None = None,
    n_bins: int = 1,
) -> torch.Tensor:
    """Pixel counts per (ground truth, bin, prediction), void pixels left out.

    The one counting pass of ``confusion_matrix`` (one bin) and ``trimap_confusion`` (a
    bin per distance band). The caller has checked ``num_classes`` and the dtypes and
    shapes (``check_num_classes``, ``check_ids``); the id ranges are checked here.

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
        raise range_error(pred, target, c, ignore_index)
    original = target
    has_void = target_min <= ignore_index <= target_max
    void_row = ignore_index
    if has_void and not c <= ignore_index <= _MAX_VOID_ROW:  # void row c instead (a rare layout)
        target, void_row = target.masked_fill(target == ignore_index, c), c
        target_max = int(target.max())
        if target_max > c:
            raise range_error(pred, original, c, ignore_index)
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
            raise range_error(pred, original, c, ignore_index)
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

    One ``torch.bincount`` over the flat index ``g * C + p`` (see ``pair_counts``).
    """
    check_num_classes(num_classes)
    check_ids(pred, target)
    return pair_counts(pred, target, num_classes, ignore_index)[:, 0]


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


