"""Boundary IoU (inner bands of ground truth and prediction) and boundary F (contour pixels
matched within a tolerance): their counts per class for a batch, and their scores from the
counts summed over a split.

Both are defined in ``boundary_iou_counts`` and ``boundary_f_counts``; the version of that
definition is ``BOUNDARY_DEFINITION``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from benchmark.metrics.checks import check_ids, check_num_classes, checked_widths, range_error
from benchmark.metrics.trimap import band_bins, edge_distance, target_distance
from methods import semantic_edges

__all__ = [
    "BOUNDARY_DEFINITION",
    "boundary_f_counts",
    "boundary_f_from_counts",
    "boundary_iou_counts",
    "boundary_iou_from_counts",
    "void_where",
]

#: Version of the boundary metrics' definition (``boundary_iou_counts``,
#: ``boundary_f_counts``): 2 since a pixel void in the ground truth is void in the
#: prediction too. Records keep it beside the counts; a record without it has definition 1.
BOUNDARY_DEFINITION = 2

#: Contour pixels searched at once by ``_nearest_same_class_sq``.
_SEARCH_BLOCK = 2**20
#: Largest number of offsets in the tolerance disk for which boundary F compares shifted
#: contour maps (``_boundary_f_by_shifts``: cost ~ offsets x pixels); beyond it each
#: contour pixel searches the other contour (``_nearest_same_class_sq``: ~ contour pixels
#: x rows). 29 offsets: tolerances below 3.
_MAX_SHIFTS = 29


def _checked_tolerances(tolerances: Sequence[float]) -> tuple[float, ...]:
    tolerances = tuple(float(t) for t in tolerances)
    increasing = all(b > a for a, b in zip(tolerances, tolerances[1:]))
    if not tolerances or not (tolerances[0] >= 0 and increasing and all(map(math.isfinite, tolerances))):
        raise ValueError(
            f"boundary tolerances must be non-negative, finite and strictly increasing, got {tolerances}"
        )
    return tolerances


def _check_batch(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int) -> None:
    """Shapes, dtypes and id ranges of a boundary metric's input (one host sync)."""
    check_num_classes(num_classes)
    check_ids(pred, target)
    if target.dim() != 3:
        raise ValueError(f"pred and target must be [N, H, W], got shape {tuple(target.shape)}")
    if target.numel() == 0:
        return
    stray = (target >= num_classes) | (target < 0)
    stray &= target != ignore_index
    bad = torch.stack([stray.any(), (pred < 0).any(), (pred >= num_classes).any()]).any()
    if bool(bad):
        raise range_error(pred, target, num_classes, ignore_index)


def _class_counts(classes: torch.Tensor, mask: torch.Tensor, num_classes: int, bins=None, n_bins: int = 1) -> torch.Tensor:
    """Pixels of ``mask`` per (class, bin): int64 [C, n_bins]; one bincount, masked pixels
    sent to an extra bin that is dropped."""
    index = classes.long() * n_bins if bins is None else classes.long() * n_bins + bins
    index = index.masked_fill(~mask, num_classes * n_bins)
    counts = torch.bincount(index.reshape(-1), minlength=num_classes * n_bins + 1)
    return counts[:-1].view(num_classes, n_bins)


def boundary_iou_counts(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    widths: Sequence[float],
    ignore_index: int = 255,
    *,
    distance: torch.Tensor | None = None,
) -> torch.Tensor:
    """Boundary IoU counts (intersection, union) per width and class, for one batch.

    Definition (``BOUNDARY_DEFINITION`` 2). For a class c, an image and its non-void
    pixels V (ground truth not ``ignore_index``): G_c = pixels of V whose ground truth is
    c; P_c = pixels of V predicted c. A pixel void in the ground truth is void in the
    prediction too: on both sides it is "not c" and in no contour or band, so a
    prediction equal to the ground truth on V scores exactly 1 for every class present,
    whatever void band the annotation draws around its objects (VOC's). The contour of a
    mask M is the set of pixels of M with at least one of their 8 neighbours inside the
    image not in M (a void neighbour included; the image border is not a contour), the
    rule of ``methods.semantic_edges``; a mask with no contour has an empty band.
    (Definition 1, of records without a ``definition``, took P_c on the whole image,
    void-labelled pixels included, so a void band counted against a perfect prediction.) The inner
    band of M of width d is the set of pixels of M whose Euclidean distance to the
    contour of M is below d (d = 1 is the contour itself). Boundary IoU of class c at
    width d, over the whole split: sum |band_d(G_c) & band_d(P_c)| /
    sum |band_d(G_c) | band_d(P_c)| (see ``boundary_iou_from_counts``).

    Shape:
        pred, target: integer tensors [N, H, W] of class ids (target: ``ignore_index``
            for void).
        widths: K positive, strictly increasing widths (pixels).
        distance: ``edge_distance(target, ignore_index)`` [N, H, W], or that map floored
            to integers (uint8, as ``prepare`` caches it: exact for integer widths up to
            255); computed here when None.
        returns: int64 tensor [K, 2, C] on ``target``'s device: [k, 0] intersections,
            [k, 1] unions.

    How. The union of the contours of all classes of a label map is its semantic edge
    map, and for a pixel of class c the nearest pixel of that union lies on the contour
    of c itself (the segment towards a nearer edge pixel of another class would cross
    c's contour first). So one distance map per label map gives the bands of every
    class: band_d(G_c) = G_c & (distance to the ground-truth edges < d), band_d(P_c) =
    P_c & (distance to the prediction's edges < d). The ground truth's map is the
    cached trimap distance; the prediction's one exact distance transform per image
    (``edge_distance``). Three bincounts over (class, distance bin) with a cumulative sum
    over the bins then give every width at once: |band(G) & V|, |band(P) & V| and their
    intersection (both classes c, the larger distance below d); union = the first two
    minus the intersection.
    """
    widths = checked_widths(widths)
    _check_batch(pred, target, num_classes, ignore_index)
    pred = pred.to(target.device)
    distance = target_distance(target, distance, ignore_index)
    if not distance.is_floating_point() and widths[-1] > 255:
        raise ValueError(
            f"an integer (floored, capped at 255) distance map cannot give widths above 255, got {widths[-1]:g}; "
            "pass edge_distance(target) as float"
        )
    distance = distance.to(target.device)
    c = num_classes
    valid = target != ignore_index
    pred_distance = edge_distance(void_where(pred, valid, ignore_index), ignore_index)
    gt = torch.where(valid, target, 0)
    gt_bins, n_bins, rows = band_bins(distance, widths, c)
    pred_bins, _, _ = band_bins(pred_distance, widths, c)
    gt_band = _class_counts(gt, valid, c, gt_bins, n_bins)
    pred_band = _class_counts(pred, valid, c, pred_bins, n_bins)
    both = _class_counts(gt, valid & (pred == target), c, torch.maximum(gt_bins, pred_bins), n_bins)
    gt_band, pred_band, both = (x.cumsum(1)[:, rows].T for x in (gt_band, pred_band, both))  # [K, C]
    return torch.stack([both, gt_band + pred_band - both], dim=1)


def void_where(pred: torch.Tensor, valid: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """``pred`` with ``ignore_index`` wherever ``valid`` is False: the prediction as the
    boundary metrics see it, void where the ground truth is void.

    Shape: pred integer [N, H, W], valid bool [N, H, W]; returns int64 [N, H, W]."""
    return torch.where(valid, pred.long(), ignore_index)


def _nearest_same_class_sq(source: torch.Tensor, other: torch.Tensor, radius: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For every labelled pixel of ``source``, the squared Euclidean distance to the nearest
    pixel of ``other`` with the same label, when it is at most ``radius``.

    Shape:
        source, other: integer tensors [N, H, W], class ids on contour pixels, -1 elsewhere.
        returns: (classes int64 [K], squared distances int64 [K]) of the K labelled pixels
        of ``source``, in ``nonzero`` order; beyond ``radius`` the distance is
        ``torch.iinfo(torch.int64).max``.

    Exact, as the two passes of a separable distance transform, on sparse pixels: the
    squared distance is the minimum over rows y' within the radius of dx(y')^2 + (y - y')^2,
    where dx(y') is the distance along row y' to the nearest pixel of ``other`` of the same
    image and class. The pixels of ``other`` are sorted by (image, class, row, column), so
    each dx is one ``searchsorted``: K x (2 radius + 1) searches, on the input's device,
    with no per-class map of the image (one loop step per row offset).
    """
    n, h, w = source.shape
    far = torch.iinfo(torch.int64).max
    src, dst = (source >= 0).nonzero(), (other >= 0).nonzero()
    classes = source[src[:, 0], src[:, 1], src[:, 2]].long()
    if len(classes) == 0 or len(dst) == 0:
        return classes, torch.full((len(classes),), far, dtype=torch.int64, device=source.device)
    dst_classes = other[dst[:, 0], dst[:, 1], dst[:, 2]].long().to(source.device)
    c = int(torch.maximum(classes.max(), dst_classes.max())) + 1
    # int32 arithmetic (half the memory traffic) whenever the keys fit
    dtype = torch.int32 if (n * c + 1) * h * w < 2**31 else torch.int64
    dst, src, classes_k = dst.to(source.device, dtype), src.to(dtype), classes.to(dtype)
    keys = torch.sort(((dst[:, 0] * c + dst_classes.to(dtype)) * h + dst[:, 1]) * w + dst[:, 2]).values
    reach = min(int(radius), h - 1)
    limit = min(math.floor(radius * radius), (h - 1) ** 2 + (w - 1) ** 2)  # no image holds a longer distance
    best = torch.full((len(classes),), limit + 1, dtype=dtype, device=source.device)
    for start in range(0, len(classes), _SEARCH_BLOCK):
        s = src[start : start + _SEARCH_BLOCK]
        image_row = (s[:, 0] * c + classes_k[start : start + _SEARCH_BLOCK]) * h + s[:, 1]  # (image, class, row)
        x = s[:, 2]
        found = best[start : start + _SEARCH_BLOCK]
        for dy in range(-reach, reach + 1):
            row_start = (image_row + dy) * w
            query = row_start + x
            at = torch.searchsorted(keys, query)
            right = keys[at.clamp(max=len(keys) - 1)]
            left = keys[(at - 1).clamp(min=0)]
            dx = torch.where((right >= query) & (right < row_start + w), right - query, w)  # w: none on that row
            dx = torch.minimum(dx, torch.where((left <= query) & (left >= row_start), query - left, w))
            row = s[:, 1] + dy  # a row outside the image aliases another (image, class): masked out
            ok = (dx < w) & (row >= 0) & (row < h)
            torch.minimum(found, torch.where(ok, dx * dx + dy * dy, limit + 1), out=found)
    best = best.long()
    return classes, torch.where(best <= limit, best, far)


def _disk_offsets(radius: float, height: int, width: int) -> list[tuple[int, int, int]]:
    """(squared length, dy, dx) of the integer offsets within ``radius`` that fit an H x W
    image, nearest first."""
    limit = math.floor(radius * radius)
    ry, rx = min(int(radius), height - 1), min(int(radius), width - 1)
    offsets = ((dy * dy + dx * dx, dy, dx) for dy in range(-ry, ry + 1) for dx in range(-rx, rx + 1))
    return sorted(o for o in offsets if o[0] <= limit)


def _boundary_f_by_shifts(pred_contour, gt_contour, num_classes, tolerances, offsets) -> torch.Tensor:
    """``boundary_f_counts`` from labelled contours ([N, H, W], -1 off the contours) for small
    tolerances: one comparison of the two label maps per offset of the tolerance disk
    (nearest first), each marking the matched pixels of both contours, counted at every
    tolerance reached."""
    c = num_classes
    narrow = c <= 254  # uint8 maps, 255 and 254 off the contours: never equal
    pred_map = pred_contour.masked_fill(pred_contour < 0, 255).to(torch.uint8) if narrow else pred_contour
    gt_map = gt_contour.masked_fill(gt_contour < 0, 254).to(torch.uint8) if narrow else gt_contour.masked_fill(gt_contour < 0, -2)
    _, h, w = pred_map.shape
    found_p = torch.zeros(pred_map.shape, dtype=torch.bool, device=pred_map.device)
    found_g = torch.zeros_like(found_p)
    pred_classes, gt_classes = pred_contour.clamp(min=0), gt_contour.clamp(min=0)
    pred_total = _class_counts(pred_classes, pred_contour >= 0, c)[:, 0]
    gt_total = _class_counts(gt_classes, gt_contour >= 0, c)[:, 0]
    out, k = [], 0
    for t in tolerances:
        limit = math.floor(t * t)
        while k < len(offsets) and offsets[k][0] <= limit:
            _, dy, dx = offsets[k]
            p = (slice(None), slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
            g = (slice(None), slice(max(0, dy), h - max(0, -dy)), slice(max(0, dx), w - max(0, -dx)))
            same = pred_map[p] == gt_map[g]  # a pixel of Bp and one of Bg of its class, offset (dy, dx)
            found_p[p] |= same
            found_g[g] |= same
            k += 1
        out.append(torch.stack([
            _class_counts(pred_classes, found_p, c)[:, 0], pred_total, _class_counts(gt_classes, found_g, c)[:, 0], gt_total,
        ]))  # fmt: skip
    return torch.stack(out)


def boundary_f_counts(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    tolerances: Sequence[float],
    ignore_index: int = 255,
) -> torch.Tensor:
    """Boundary F counts per tolerance and class, for one batch.

    Definition (``BOUNDARY_DEFINITION`` 2). G_c, P_c, V and the contour of a mask as in
    ``boundary_iou_counts`` (a pixel void in the ground truth is void in the prediction
    too). Bg = contour(G_c), Bp = contour(P_c); matched_p = the pixels of Bp within
    Euclidean distance <= t of a pixel of Bg, matched_g = the pixels of Bg within <= t of
    a pixel of Bp. Over the whole split, precision = sum matched_p / sum |Bp| (0 when
    sum |Bp| = 0), recall = sum matched_g / sum |Bg| (0 when sum |Bg| = 0), F = 2PR /
    (P + R) (0 when P + R = 0); counts are summed over the split before dividing, no
    per-image average (see ``boundary_f_from_counts``).

    Shape:
        pred, target: integer tensors [N, H, W] of class ids (target: ``ignore_index``
            for void).
        tolerances: T non-negative, strictly increasing tolerances (pixels).
        returns: int64 tensor [T, 4, C] on ``target``'s device, rows (matched_p, |Bp|,
            matched_g, |Bg|).

    How. The contours of all classes of a label map are its semantic edges, each edge
    pixel on its own class's contour, so Bg and Bp are the edge maps of the ground truth
    and of the prediction (restricted to V) labelled by class. For small tolerances the
    two labelled maps are compared at every offset of the tolerance disk
    (``_boundary_f_by_shifts``); for larger ones each contour pixel looks for the nearest
    pixel of the other contour of its class (``_nearest_same_class_sq``, exact Euclidean
    distances on the contour pixels alone) and every tolerance is a threshold on it.
    """
    tolerances = _checked_tolerances(tolerances)
    _check_batch(pred, target, num_classes, ignore_index)
    pred = pred.to(target.device)
    c = num_classes
    valid = target != ignore_index
    gt_contour = torch.where(semantic_edges(target, ignore_index), target, -1)  # edges are never void
    pred_contour = torch.where(semantic_edges(void_where(pred, valid, ignore_index), ignore_index), pred, -1)
    offsets = _disk_offsets(tolerances[-1], *target.shape[1:])
    if len(offsets) <= _MAX_SHIFTS:
        return _boundary_f_by_shifts(pred_contour, gt_contour, c, tolerances, offsets)
    pred_classes, pred_sq = _nearest_same_class_sq(pred_contour, gt_contour, tolerances[-1])
    gt_classes, gt_sq = _nearest_same_class_sq(gt_contour, pred_contour, tolerances[-1])
    pred_total = torch.bincount(pred_classes, minlength=c)
    gt_total = torch.bincount(gt_classes, minlength=c)
    out = []
    for t in tolerances:
        limit = math.floor(t * t)  # squared distances are integers
        out.append(torch.stack([
            torch.bincount(pred_classes[pred_sq <= limit], minlength=c), pred_total,
            torch.bincount(gt_classes[gt_sq <= limit], minlength=c), gt_total,
        ]))  # fmt: skip
    return torch.stack(out).to(target.device)


def _as_array(counts) -> np.ndarray:
    if isinstance(counts, torch.Tensor):
        counts = counts.detach().cpu().numpy()
    return np.asarray(counts, dtype=np.float64)


def _nan_mean(per_class: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the non-NaN entries; NaN (without a warning) where none."""
    present = ~np.isnan(per_class)
    total = np.where(present, per_class, 0.0).sum(-1)
    n = present.sum(-1)
    return np.divide(total, n, out=np.full(total.shape, np.nan), where=n > 0)


def boundary_iou_from_counts(counts) -> tuple[np.ndarray, np.ndarray]:
    """Boundary IoU per class and its mean, per width, from summed ``boundary_iou_counts``.

    Shape:
        counts: [K, 2, C] (intersection, union), tensor or array.
        returns: (per_class float64 [K, C], NaN where the union is empty; mean float64
        [K], the mean over the classes with a non-empty union, NaN when there is none).
    """
    counts = _as_array(counts)
    if counts.ndim != 3 or counts.shape[1] != 2:
        raise ValueError(f"boundary IoU counts must be [K, 2, C], got shape {counts.shape}")
    inter, union = counts[:, 0], counts[:, 1]
    per_class = np.divide(inter, union, out=np.full(inter.shape, np.nan), where=union > 0)
    return per_class, _nan_mean(per_class)


def boundary_f_from_counts(counts) -> tuple[np.ndarray, np.ndarray]:
    """Boundary F per class and its mean, per tolerance, from summed ``boundary_f_counts``.

    Shape:
        counts: [T, 4, C] (matched_p, |Bp|, matched_g, |Bg|), tensor or array.
        returns: (per_class float64 [T, C]: F = 2PR / (P + R), 0 when P + R = 0, NaN for
        a class with sum |Bg| + sum |Bp| = 0; mean float64 [T] over the other classes,
        NaN when there is none).
    """
    counts = _as_array(counts)
    if counts.ndim != 3 or counts.shape[1] != 4:
        raise ValueError(f"boundary F counts must be [T, 4, C], got shape {counts.shape}")
    matched_p, n_p, matched_g, n_g = counts.transpose(1, 0, 2)
    precision = np.divide(matched_p, n_p, out=np.zeros(n_p.shape), where=n_p > 0)
    recall = np.divide(matched_g, n_g, out=np.zeros(n_g.shape), where=n_g > 0)
    total = precision + recall
    f = np.divide(2 * precision * recall, total, out=np.zeros(total.shape), where=total > 0)
    f[(n_p + n_g) == 0] = np.nan
    return f, _nan_mean(f)
