"""Semantic edge maps of label masks.

A pixel is an edge when one of its 8 neighbours *inside the image* carries a different
label; a void neighbour counts as different, void pixels are never edges, and the image
border is not an edge by itself. Across a boundary between two regions the edge map is
therefore two pixels thick (one on each side).
"""

from __future__ import annotations

import torch

__all__ = ["semantic_edges"]

#: The four neighbour offsets (dy, dx) that, with their mirror images, make up the
#: 8-neighbourhood. Each unordered pair of neighbours is compared once.
_HALF_NEIGHBOURHOOD = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pair_slices(dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (rows, cols) selecting pixel p and its neighbour p + (dy, dx), both in the image."""
    rows_a = slice(0, -dy if dy else None)
    rows_b = slice(dy, None)
    if dx >= 0:
        cols_a, cols_b = slice(0, -dx if dx else None), slice(dx, None)
    else:
        cols_a, cols_b = slice(-dx, None), slice(0, dx)
    return (rows_a, cols_a), (rows_b, cols_b)


def semantic_edges(labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Semantic edge map of a batch of label maps.

    Shape:
        labels: integer tensor [N, H, W] (class ids, ``ignore_index`` for void).
        returns: bool tensor [N, H, W] on the same device.

    Vectorised as four shifted comparisons (one per unordered neighbour pair), each
    marking both pixels of a differing pair; no padding, so the border never sees a
    fictitious neighbour.
    """
    if labels.dim() != 3:
        raise ValueError(f"labels must be [N, H, W], got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got {labels.dtype}")
    edges = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
    for dy, dx in _HALF_NEIGHBOURHOOD:
        (ra, ca), (rb, cb) = _pair_slices(dy, dx)
        differs = labels[:, ra, ca] != labels[:, rb, cb]
        edges[:, ra, ca] |= differs
        edges[:, rb, cb] |= differs
    return edges & (labels != ignore_index)
