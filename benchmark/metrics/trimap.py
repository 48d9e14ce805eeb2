"""The trimap: distance to the ground-truth edges, and the confusion matrices and mIoU
inside the band around them and in the interior, for every width at once.

Trimap: the band of width ``w`` is the set of non-void pixels whose Euclidean distance to
the nearest ground-truth edge pixel (``methods.semantic_edges``) is below ``w``; width 1
is the edge map itself, two pixels thick across a boundary. The complement among non-void
pixels is the interior (non-boundary) region. One distance map per mask gives every width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from benchmark.metrics.checks import check_ids, check_num_classes, checked_widths
from benchmark.metrics.confusion import mean_iou, pair_counts
from methods import distance_to_background, semantic_edges

__all__ = ["PAPER_WIDTHS", "SMALL_WIDTHS", "band_bins", "edge_distance", "target_distance", "trimap_confusion", "trimap_miou"]

#: Trimap half-widths (pixels) for the embedded default's small images.
SMALL_WIDTHS: tuple[int, ...] = (1, 2, 3, 5, 8)
#: Trimap half-widths (pixels) spanning the x-axis of the paper's Figure 5.
PAPER_WIDTHS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 40)

#: Largest bincount (bins x C^2) for which integer trimap widths are binned by the
#: truncated distance itself; beyond it (huge widths or class counts) searchsorted.
_MAX_FLOOR_BINS = 2**22


def edge_distance(target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Euclidean distance of every pixel to the nearest ground-truth edge pixel.

    Shape:
        target: integer tensor [N, H, W] of class ids (``ignore_index`` for void).
        returns: float32 tensor [N, H, W] on ``target``'s device; 0 on edge pixels
        (``methods.semantic_edges``), +inf everywhere in an image without an edge pixel.

    Exact Euclidean distance transform, one image at a time, where ``target`` lives
    (``methods.distance_to_background``: CuPy on CUDA, OpenCV, ``edt`` or scipy on the CPU, all
    equal to scipy's, rounded once to float32). It costs far more than a confusion matrix, so it is computed once per
    validation mask and cached by the caller.
    """
    # the distance to the nearest edge pixel; +inf in an image without one
    return distance_to_background(~semantic_edges(target, ignore_index), dtype=torch.float32)


def target_distance(target: torch.Tensor, distance: torch.Tensor | None, ignore_index: int) -> torch.Tensor:
    """``distance`` (the cached edge-distance map of ``target``), checked, or computed when None.

    Shape: target [N, H, W]; distance None or [N, H, W] (float, or floored to integers);
    returns [N, H, W], on ``distance``'s device when given. The trimap and Boundary IoU
    both take the map cached by ``prepare`` this way, and a map of other masks fails here.
    """
    if distance is None:
        return edge_distance(target, ignore_index)
    if distance.shape != target.shape:
        raise ValueError(
            f"distance must have the shape of target {tuple(target.shape)}, got "
            f"{tuple(distance.shape)}; pass edge_distance(target) of the same masks"
        )
    return distance


def band_bins(distance: torch.Tensor, widths: tuple[float, ...], num_classes: int) -> tuple[torch.Tensor, int, list[int]]:
    """int64 bins of the distances, ordered so that the band of width ``widths[k]`` (distance
    < width) is the prefix of bins ``<= rows[k]``; returns (bins, number of bins, rows).

    Shape:
        distance: [N, H, W] distances to the edges (float, or floored to integers);
        widths: K checked widths (``checked_widths``). Returns bins int64 [N, H, W] in
        [0, number of bins) and rows, K ints.

    Integer widths bin by the truncated distance (capped past the largest width), which
    also reads an integer (floored) distance map exactly; other widths by searchsorted.
    The trimap's banding, for Boundary IoU: a cumulative sum over these bins gives the
    inner band of every width at once.
    """
    if all(w.is_integer() for w in widths) and (widths[-1] + 1) * num_classes <= _MAX_FLOOR_BINS:
        n_bins = int(widths[-1]) + 1
        return distance.clamp(0, n_bins - 1).long(), n_bins, [int(w) - 1 for w in widths]
    distance = distance if distance.is_floating_point() else distance.float()
    bounds = torch.tensor(widths, dtype=distance.dtype, device=distance.device)
    return torch.searchsorted(bounds, distance.contiguous(), right=True), len(widths) + 1, list(range(len(widths)))


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
    widths = checked_widths(widths)
    if target.dim() != 3:
        raise ValueError(f"target must be [N, H, W], got shape {tuple(target.shape)}")
    distance = target_distance(target, distance, ignore_index)
    distance = distance.to(target.device)

    check_num_classes(num_classes)
    check_ids(pred, target)
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
    counts = pair_counts(pred, target, num_classes, ignore_index, bins, n_bins)  # [C, bins, C]
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
