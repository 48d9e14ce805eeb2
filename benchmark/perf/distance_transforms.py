"""The exact distance transforms of the distance-based losses per paper-scale batch (6 street
label maps of 321x321, 19 classes, and a prediction-like map of each), on every backend
available (``methods.available_backends``: scipy, the ``edt`` package, OpenCV, CuPy on CUDA; on
CUDA timed synchronised), each named, in float64, and as the losses run them (``default``: the
device's own choice for masks and for label maps, float32 distances): the boundary loss's maps (one transform per class present and one of each
label map), Hausdorff-DT's maps (the same for the target and the prediction), and, as the
reference, the boundary loss's maps as they were computed before (two scipy transforms per
class present). Each repeat counts the best of its calls (best of 2).
"""

from __future__ import annotations

import statistics

import torch

import methods
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, perturbed, street_labels
from benchmark.perf.section import Context
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "measure"]

#: Configuration -> (batch, (H, W), repeats).
SIZES = {"full": (6, (321, 321), 5), "quick": (2, (64, 64), 2)}
#: Back-to-back calls per repeat; the best counts.
CALLS = 2
#: The figures of the losses' own choice of backends, in float32.
DEFAULT = "default"


def _present(labels: torch.Tensor) -> torch.Tensor:
    """The masks [K, H, W] of every (image, class) pair whose class is in the image but not all of it."""
    masks = labels.unsqueeze(1) == torch.arange(NUM_CLASSES, device=labels.device).view(1, -1, 1, 1)
    flat = masks.flatten(-2)
    return masks[flat.any(-1) & ~flat.all(-1)]


def measure(ctx: Context) -> list[Figure]:
    """Milliseconds per batch of ``boundary_maps.<backend>`` (``distance_to_background`` of the
    complement of every class mask present, ``distance_to_other_label`` of each label map),
    ``hausdorff_maps.<backend>`` (``distance_to_background`` of every class mask's complement and
    of each map's non-edge pixels, target and prediction), ``boundary_maps_before`` (two scipy
    transforms per class present, the loss's cost before the one-transform form), and
    ``speedup_vs_before.<backend>`` (before / boundary maps)."""
    batch, (h, w), repeats = ctx.sizes
    device = ctx.device
    target = street_labels(batch, h, w, seed=3).to(device)
    pred = perturbed(target.cpu(), seed=3).to(device)
    masks, pred_masks = _present(target), _present(pred)
    not_edges = ~methods.semantic_edges(torch.cat([target, pred]), IGNORE)
    cpu_masks = masks.cpu()
    # every backend by name, float64; then "default": what the losses run here (no backend named:
    # methods.backend_for's choice for masks and for label maps, float32 distances)
    backends = [b for b in methods.available_backends() if b != "cupy" or device.type == "cuda"] + [DEFAULT]

    def boundary(backend):
        named, dtype = (None, torch.float32) if backend == DEFAULT else (backend, torch.float64)
        on = masks if backend in ("cupy", DEFAULT) else cpu_masks
        return lambda: (methods.distance_to_background(~on, named, dtype=dtype), methods.distance_to_other_label(target.to(on.device), named))

    def hausdorff(backend):
        named, dtype = (None, torch.float32) if backend == DEFAULT else (backend, torch.float64)
        tensors = [~masks, ~pred_masks, not_edges]
        tensors = [t if backend in ("cupy", DEFAULT) else t.cpu() for t in tensors]
        return lambda: [methods.distance_to_background(t, named, dtype=dtype) for t in tensors]

    def before():
        return methods.distance_to_background(~cpu_masks, "scipy"), methods.distance_to_background(cpu_masks, "scipy")

    fns = {"before": before}
    for backend in backends:
        fns[f"boundary.{backend}"], fns[f"hausdorff.{backend}"] = boundary(backend), hausdorff(backend)
    for fn in fns.values():
        fn()  # warm-up: the first call imports the backend
    times = interleaved(fns, repeats, device, desc="distance transforms", progress=ctx.progress, best_of=CALLS)
    size = f"{batch}x{h}x{w}, {len(masks)} class masks"
    figures = [Figure("distance_transforms", "boundary_maps_before", f"boundary maps as before (2 scipy transforms a mask), {size}", "ms",
                      [1e3 * t for t in times["before"]])]  # fmt: skip
    for backend in backends:
        figures += [
            Figure("distance_transforms", f"boundary_maps.{backend}", f"boundary loss's transforms, {backend}, {size}", "ms",
                   [1e3 * t for t in times[f"boundary.{backend}"]], extra={"masks": len(masks)}),
            Figure("distance_transforms", f"hausdorff_maps.{backend}", f"Hausdorff-DT's transforms (target and prediction), {backend}, {size}",
                   "ms", [1e3 * t for t in times[f"hausdorff.{backend}"]], extra={"masks": len(masks) + len(pred_masks)}),
            Figure("distance_transforms", f"speedup_vs_before.{backend}", f"boundary maps as before / {backend}", "x",
                   ratios(times["before"], times[f"boundary.{backend}"]),
                   extra={"before_ms": 1e3 * statistics.median(times["before"])}),
        ]  # fmt: skip
    return figures
