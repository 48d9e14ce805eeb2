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
#: Pixels per group of images on the CPU: the group's uint8 labels and bool buffers
#: (about 3 bytes a pixel) fit in a core's L2 cache.
_CHUNK_PIXELS = 1 << 18


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
    fictitious neighbour. On the CPU the work is memory-bound, so labels that fit are
    compared as uint8 (8x less traffic than int64), a few images at a time (their
    temporaries stay in cache), into preallocated buffers: about 3x faster than the same
    algorithm on the whole int64 batch.
    """
    if labels.dim() != 3:
        raise ValueError(f"labels must be [N, H, W], got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got {labels.dtype}")
    edges = torch.empty(labels.shape, dtype=torch.bool, device=labels.device)
    if labels.numel() == 0:
        return edges
    if labels.device.type != "cpu":  # one launch per operation for the whole batch
        _edges_into(labels, edges, torch.empty_like(edges), labels != ignore_index)
        return edges
    # Images in groups of about _CHUNK_PIXELS, so that small images do not pay a dozen
    # calls each and large ones keep their temporaries in cache.
    n, h, w = labels.shape
    group = max(1, _CHUNK_PIXELS // max(1, h * w))
    scratch = torch.empty((min(group, n), h, w), dtype=torch.bool)
    valid = torch.empty_like(scratch)
    for start in range(0, n, group):
        chunk = _narrow(labels[start : start + group])
        k = chunk.shape[0]
        _edges_into(chunk, edges[start : start + k], scratch[:k], _non_void(chunk, ignore_index, valid[:k]))
    return edges


def _narrow(labels: torch.Tensor) -> torch.Tensor:
    """``labels`` as uint8 when every label fits, else unchanged (comparisons are exact either way)."""
    if labels.dtype == torch.uint8:
        return labels
    low, high = torch.aminmax(labels)
    return labels.to(torch.uint8) if 0 <= low and high <= 255 else labels


def _non_void(labels: torch.Tensor, ignore_index: int, out: torch.Tensor) -> torch.Tensor | None:
    """``labels != ignore_index`` written into ``out``; None when no label can be void."""
    if labels.dtype != torch.uint8:
        return torch.ne(labels, ignore_index, out=out)
    if not 0 <= ignore_index <= 255:
        return None
    # against a tensor: a uint8 comparison with a Python scalar runs ~12x slower
    return torch.ne(labels, torch.full_like(labels, ignore_index), out=out)


def _edges_into(labels: torch.Tensor, edges: torch.Tensor, scratch: torch.Tensor, valid: torch.Tensor | None) -> None:
    """Write the edge map of ``labels`` [..., H, W] into ``edges`` (bool, same shape).

    ``scratch`` is a bool buffer of the same shape; ``valid`` (bool, same shape, or None
    for no void pixel) masks void pixels out.
    """
    edges.zero_()
    for dy, dx in _HALF_NEIGHBOURHOOD:
        (ra, ca), (rb, cb) = _pair_slices(dy, dx)
        differs = scratch[..., ra, ca]
        torch.ne(labels[..., ra, ca], labels[..., rb, cb], out=differs)
        edges[..., ra, ca] |= differs
        edges[..., rb, cb] |= differs
    if valid is not None:
        edges &= valid
