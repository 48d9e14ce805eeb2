"""`metrics.trimap_confusion` for widths 1, 2, 3, 5, 10, 20, 40 given the cached distance maps
(float32 from `edge_distance`, or floored to uint8 as `prepare` caches them) against one
plain `confusion_matrix` of the same predictions, and against one disk dilation of the edge
map per width (scipy `binary_dilation`, two confusion matrices per width). The dilated bands
are asserted identical to the distance definition (distance < w), and all matrices to each
other. Each repeat counts the best of 5 calls (one for the dilation).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

import methods
from benchmark import metrics
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, perturbed, street_labels
from benchmark.perf.section import Context
from benchmark.perf.timing import BEST_OF, interleaved

__all__ = ["SIZES", "TRIMAP_WIDTHS", "disk", "trimap_by_dilation", "measure"]

#: Configuration -> (N, H, W, repeats) of the label maps.
SIZES = {"full": (4, 512, 1024, 3), "quick": (1, 512, 1024, 2)}
TRIMAP_WIDTHS = (1, 2, 3, 5, 10, 20, 40)


def disk(width: int) -> np.ndarray:
    """Structuring element of the pixels at Euclidean distance < ``width`` from the centre."""
    r = np.arange(-(width - 1), width)
    return (r[:, None] ** 2 + r[None, :] ** 2) < width * width


def trimap_by_dilation(pred: torch.Tensor, target: torch.Tensor, edges: np.ndarray, widths) -> tuple[torch.Tensor, torch.Tensor]:
    """Boundary and interior confusion matrices, one band per width by a disk dilation: the
    baseline the section times ``trimap_confusion`` against.

    pred, target int64 [N, H, W], edges bool [N, H, W] -> two int64 [len(widths), C, C]."""
    boundary, interior = [], []
    for w in widths:
        band = torch.from_numpy(ndimage.binary_dilation(edges, structure=disk(w)[None]))
        boundary.append(metrics.confusion_matrix(pred[band], target[band], NUM_CLASSES, IGNORE))
        interior.append(metrics.confusion_matrix(pred[~band], target[~band], NUM_CLASSES, IGNORE))
    return torch.stack(boundary), torch.stack(interior)


def measure(ctx: Context) -> list[Figure]:
    """``metrics.trimap_confusion`` for widths 1-40 against one plain ``confusion_matrix``, and
    against dilating the edge map with a disk per width (the bands are checked to be
    identical). Target: <= 1.5x the plain matrix, >= 5x faster than dilation."""
    n, h, w, repeats = ctx.sizes
    target = street_labels(n, h, w, seed=1)
    pred = perturbed(target)
    distance = metrics.edge_distance(target, IGNORE)  # the cache of a prepared dataset
    distance_u8 = distance.clamp(max=255).floor().to(torch.uint8)  # as prepare stores it
    edges = methods.semantic_edges(target, IGNORE).numpy()
    valid = (target != IGNORE).numpy()
    for width in TRIMAP_WIDTHS:
        band = ndimage.binary_dilation(edges, structure=disk(width)[None]) & valid
        if not np.array_equal(band, (distance.numpy() < width) & valid):
            raise AssertionError(f"dilated band of width {width} differs from distance < {width}")
    expected = trimap_by_dilation(pred, target, edges, TRIMAP_WIDTHS)
    for d in (distance, distance_u8):
        got = metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=d)
        if not all(torch.equal(a, b) for a, b in zip(got, expected)):
            raise AssertionError(f"trimap_confusion ({d.dtype} distance) differs from the dilation bands")
    fns = {
        "plain": lambda: metrics.confusion_matrix(pred, target, NUM_CLASSES, IGNORE),
        "trimap_float32": lambda: metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=distance),
        "trimap_uint8": lambda: metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=distance_u8),
        "dilation": lambda: trimap_by_dilation(pred, target, edges, TRIMAP_WIDTHS),
    }
    times = interleaved(fns, repeats, desc="trimap", progress=ctx.progress, best_of={"plain": BEST_OF, "trimap_float32": BEST_OF, "trimap_uint8": BEST_OF})
    size = f"{n}x{h}x{w}, {len(TRIMAP_WIDTHS)} widths"
    out = [
        Figure("trimap", "float32_vs_plain", f"trimap_confusion (float32 distance) / confusion_matrix, {size}", "x",
               ratios(times["trimap_float32"], times["plain"]), ("<=", 1.5)),
        Figure("trimap", "uint8_vs_plain", f"trimap_confusion (uint8 cached distance) / confusion_matrix, {size}", "x",
               ratios(times["trimap_uint8"], times["plain"]), ("<=", 1.5)),
        Figure("trimap", "speedup_vs_dilation", f"trimap_confusion speed-up over per-width disk dilation, {size}", "x",
               ratios(times["dilation"], times["trimap_float32"]), (">=", 5.0)),
    ]  # fmt: skip
    for name in fns:
        out.append(Figure("trimap", f"{name}_ms", f"{name}, {size}", "ms", [1e3 * t for t in times[name]]))
    return out
