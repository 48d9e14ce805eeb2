"""`methods.semantic_edges` against a numpy 8-shift comparison and scipy max/min filters on the
same int64 street label maps; the three maps are asserted identical before timing. Each
repeat counts the best of 5 calls.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

import methods
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, street_labels
from benchmark.perf.section import Context
from benchmark.perf.timing import BEST_OF, interleaved

__all__ = ["SIZES", "edges_numpy_shift", "edges_scipy", "measure"]

#: Configuration -> (N, H, W, repeats) of the label maps.
SIZES = {"full": (8, 512, 1024, 7), "quick": (2, 512, 1024, 3)}


def edges_numpy_shift(labels: np.ndarray, ignore_index: int = IGNORE) -> np.ndarray:
    """Edge map by comparing every pixel with its 8 shifted neighbours (edge-replicated padding:
    a replicated border pixel equals an in-image neighbour or the pixel itself).

    The numpy baseline the section times ``semantic_edges`` against. labels int [N, H, W] ->
    bool [N, H, W]."""
    _, h, w = labels.shape
    padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), mode="edge")
    edges = np.zeros(labels.shape, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                edges |= padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] != labels
    return edges & (labels != ignore_index)


def edges_scipy(labels: np.ndarray, ignore_index: int = IGNORE) -> np.ndarray:
    """Edge map as max != min over the 3x3 window (mode "nearest" keeps the window inside
    the image; a void neighbour differs from any class), void pixels left out.

    The scipy baseline the section times ``semantic_edges`` against. labels int [N, H, W] ->
    bool [N, H, W]."""
    upper = ndimage.maximum_filter(labels, size=(1, 3, 3), mode="nearest")
    lower = ndimage.minimum_filter(labels, size=(1, 3, 3), mode="nearest")
    return (upper != lower) & (labels != ignore_index)


def measure(ctx: Context) -> list[Figure]:
    """``methods.semantic_edges`` on street label maps of 512x1024 (int64), in megapixels per
    second, against a numpy 8-shift comparison and scipy max/min filters on the same input
    (all three must agree). Target: >= 3x numpy, >= 10x scipy."""
    n, h, w, repeats = ctx.sizes
    labels = street_labels(n, h, w)
    array = labels.numpy()
    fns = {
        "torch": lambda: methods.semantic_edges(labels, IGNORE),
        "numpy_shift": lambda: edges_numpy_shift(array),
        "scipy_minmax": lambda: edges_scipy(array),
    }
    reference = methods.semantic_edges(labels, IGNORE).numpy()
    for name, fn in fns.items():
        if not np.array_equal(np.asarray(fn()), reference):
            raise AssertionError(f"edge maps of {name} differ from methods.semantic_edges")
    times = interleaved(fns, repeats, desc="edge maps", progress=ctx.progress, best_of=BEST_OF)
    mp = n * h * w / 1e6
    size = f"{n}x{h}x{w} int64"
    out = [Figure("edge_maps", f"{name}_mpix_s", f"{name} edge maps, {size}", "Mpx/s", [mp / t for t in times[name]])
           for name in fns]  # fmt: skip
    out.append(Figure("edge_maps", "speedup_vs_numpy", "semantic_edges speed-up over numpy 8-shift", "x",
                      ratios(times["numpy_shift"], times["torch"]), (">=", 3.0)))  # fmt: skip
    out.append(Figure("edge_maps", "speedup_vs_scipy", "semantic_edges speed-up over scipy max/min filters", "x",
                      ratios(times["scipy_minmax"], times["torch"]), (">=", 10.0)))  # fmt: skip
    return out
