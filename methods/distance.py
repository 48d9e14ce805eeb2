"""Exact Euclidean distance transforms of batches of masks and label maps, where the tensors live.

Two transforms, each per image of a batch [..., H, W], in pixels:

- ``distance_to_background(masks)``: the distance from every True pixel to the nearest False
  pixel of its image, 0 on the False pixels (``scipy.ndimage.distance_transform_edt(mask)``);
- ``distance_to_other_label(labels)``: the distance from every pixel to the nearest pixel of its
  image with another label (the inner distance of every region of a label map at once).

An image with no False pixel (no other label) is +inf everywhere: there is nothing to be near.

Backends, chosen by the tensors' device (``backend_for``) or by name:

- ``"cupy"``: CUDA tensors, through CuPy's ``cupyx.scipy.ndimage.distance_transform_edt`` (the
  optional ``[gpu]`` extra), zero-copy by DLPack on the tensors' stream. Without CuPy, CUDA
  tensors take the CPU backend through a copy, as before there was one.
- ``"opencv"``: the CPU, through OpenCV's exact transform (``cv2.distanceTransform`` with
  ``DIST_L2`` and ``DIST_MASK_PRECISE``, Felzenszwalb's algorithm): the fastest for binary masks
  (see ``docs/performance.md``), on as many threads as torch uses.
- ``"edt"``: the CPU, through the ``edt`` package (exact, multi-label: one call gives every
  region's inner distance, which makes it the CPU's choice for ``distance_to_other_label``).
- ``"scipy"``: the CPU reference, one ``distance_transform_edt`` call per mask.

Every backend returns float64 distances equal to scipy's bit for bit: each is the float64
square root of the same exact integer squared distance. ``edt`` returns squared distances as
float32, exact integers below 2**24; OpenCV returns float32 distances within 1.7 float32 ulps
of the square roots of those integers below 2**19 (measured; its one-thread path is off by
whole units beyond), from which ``rint(d * d)`` gives the integer back. Images whose diagonal
squared reaches the limit (about 2,900 and 510 pixels a side) take the next backend. Asked for float32, a backend returns
the float32 rounding of that float64 distance, which is the float32 square root of the same
integer (a square root rounded to float64, then to float32, is rounded once). The tests hold
every available backend to scipy's values.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

__all__ = ["DISTANCE_BACKENDS", "available_backends", "backend_for", "distance_to_background", "distance_to_other_label"]

#: Every backend, in the order ``backend_for`` prefers them for binary masks on a CUDA device
#: (cupy) and on the CPU.
DISTANCE_BACKENDS = ("cupy", "opencv", "edt", "scipy")
#: The CPU's order for a label map's every region at once: ``edt`` does it in one call.
_MULTI_LABEL_ORDER = ("edt", "opencv", "scipy")
#: Squared distances at or above this are no longer exact in float32 (``edt``'s output type).
_EXACT_FLOAT32 = 2**24
#: Squared distances below this come back exactly from OpenCV's float32 distances (its one-thread
#: path, the less accurate, is within 1.7 float32 ulps there: d * d within 0.1 of the integer;
#: past 2**19 it is off by whole units).
_EXACT_FROM_ROOT = 2**19
#: The output types a transform computes directly; others are cast from float64.
_DIRECT_TYPES = (torch.float32, torch.float64)
#: The Python module of each optional backend.
_MODULES = {"cupy": "cupy", "opencv": "cv2", "edt": "edt"}


@functools.cache
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends() -> tuple[str, ...]:
    """The backends this process can run: scipy always, edt when installed, cupy when installed
    and CUDA is available."""
    ok = {b: b == "scipy" or _installed(_MODULES[b]) for b in DISTANCE_BACKENDS}
    ok["cupy"] = ok["cupy"] and torch.cuda.is_available()
    return tuple(b for b in DISTANCE_BACKENDS if ok[b])


def backend_for(device: torch.device | str, *, multi_label: bool = False) -> str:
    """The backend of tensors on ``device``: cupy on CUDA when installed; on the CPU the first
    installed of opencv, edt, scipy for binary masks, and of edt, opencv, scipy for a label map's
    every region at once (``multi_label``: edt's one call against one call per label)."""
    device = torch.device(device)
    if device.type == "cuda" and _installed("cupy"):
        return "cupy"
    order = _MULTI_LABEL_ORDER if multi_label else DISTANCE_BACKENDS[1:]
    return next(b for b in order if b == "scipy" or _installed(_MODULES[b]))


def _checked(backend: str | None, device: torch.device, multi_label: bool = False) -> str:
    if backend is None:
        return backend_for(device, multi_label=multi_label)
    if backend not in DISTANCE_BACKENDS:
        raise ValueError(f"unknown distance backend {backend!r}; valid: {', '.join(DISTANCE_BACKENDS)}")
    if backend not in available_backends():
        raise ValueError(f"distance backend {backend!r} is not available here; available: {', '.join(available_backends())}")
    return backend


def _images(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() < 2:
        raise ValueError(f"{name} must be [..., H, W], got shape {tuple(x.shape)}")
    return x.reshape(-1, *x.shape[-2:])


def distance_to_background(masks: torch.Tensor, backend: str | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Euclidean distance from every True pixel to the nearest False pixel of its image.

    Shape:
        masks: [..., H, W] bool. Returns ``dtype`` (float64, or float32: the float64 distance
        rounded, computed without it) of the same shape on the masks' device: 0 on False
        pixels, +inf in an image with no False pixel.
    """
    if dtype not in _DIRECT_TYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    flat = _images(masks, "masks").bool()
    backend = _checked(backend, masks.device)
    todo = (~flat).flatten(1).any(1)
    if backend == "cupy":
        out = torch.full(flat.shape, torch.inf, dtype=torch.float64, device=flat.device)
        _cupy_into(flat, todo, out)
        return out.to(dtype).reshape(masks.shape)
    cpu_todo = todo.cpu().numpy()
    out = torch.empty(flat.shape, dtype=dtype)  # every image is written: transformed, or +inf
    if not cpu_todo.all():
        out[torch.from_numpy(~cpu_todo)] = torch.inf
    _cpu_into(flat.cpu().numpy(), cpu_todo, out.numpy(), backend)
    return out.to(masks.device).reshape(masks.shape)


def distance_to_other_label(labels: torch.Tensor, backend: str | None = None) -> torch.Tensor:
    """Euclidean distance from every pixel to the nearest pixel of its image with another label.

    For a pixel of region R (the pixels of one label), the distance to the nearest pixel not
    in R: ``distance_to_background(labels == label)`` at every pixel of every label, in one
    transform with ``edt`` (multi-label), one per label present with cupy and scipy.

    Shape:
        labels: [..., H, W] integer. Returns float64 of the same shape on the labels' device,
        +inf in an image of a single label.
    """
    flat = _images(labels, "labels")
    if flat.is_floating_point() or flat.is_complex() or flat.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor, got {flat.dtype}")
    backend = _checked(backend, labels.device, multi_label=True)
    n, h, w = flat.shape
    if backend == "edt" and (h - 1) ** 2 + (w - 1) ** 2 < _EXACT_FLOAT32:
        import edt

        out = np.empty((n, h, w), dtype=np.float64)
        array = flat.cpu().numpy()
        for i in range(n):
            image = array[i].astype(np.int64)
            image -= image.min() - 1  # edt's label 0 is background: every label becomes >= 1
            np.sqrt(edt.edtsq(image, black_border=False, parallel=1), out=out[i], dtype=np.float64)
        return torch.from_numpy(out).to(labels.device).reshape(labels.shape)
    out = torch.full(flat.shape, torch.inf, dtype=torch.float64, device=flat.device)
    for i in range(n):
        values = flat[i].unique()
        if len(values) < 2:
            continue
        regions = flat[i].unsqueeze(0) == values.view(-1, 1, 1)  # [L, H, W]
        inner = distance_to_background(regions, "scipy" if backend == "edt" else backend)  # edt past its exact sizes
        out[i] = torch.where(regions, inner, 0.0).sum(0)  # each pixel is in exactly one region
    return out.reshape(labels.shape)


def _cpu_into(masks: np.ndarray, todo: np.ndarray, out: np.ndarray, backend: str) -> None:
    """``out[i] = distance_transform_edt(masks[i])``, rounded to ``out``'s float type, for every
    ``i`` in ``todo`` (out float64 or float32 [K, H, W])."""
    h, w = masks.shape[-2:]
    diagonal = (h - 1) ** 2 + (w - 1) ** 2
    if backend == "opencv" and diagonal < _EXACT_FROM_ROOT:
        _opencv_into(masks, todo, out)
        return
    if backend in ("opencv", "edt") and _installed("edt") and diagonal < _EXACT_FLOAT32:
        import edt

        for i in np.flatnonzero(todo):
            squared = edt.edtsq(masks[i], black_border=False, parallel=1)  # exact integers in float32
            np.sqrt(squared, out=out[i], dtype=out.dtype)
        return
    for i in np.flatnonzero(todo):
        out[i] = distance_transform_edt(masks[i])


def _opencv_into(masks: np.ndarray, todo: np.ndarray, out: np.ndarray) -> None:
    """The opencv backend of ``_cpu_into``: OpenCV's float32 distances d, each within 1.7
    float32 ulps of the square root of an integer n < 2**19 (measured on its one-thread and
    parallel paths), give n = rint(d * d) exactly (d * d in float32 is within 0.13 of n), and
    out = sqrt(n) taken in out's type (float32: the float64 root rounded once), scipy's value."""
    import cv2

    threads = torch.get_num_threads()
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)
    selected = np.flatnonzero(todo)
    roots = np.empty((len(selected), *masks.shape[1:]), dtype=np.float32)
    images = np.ascontiguousarray(masks).view(np.uint8)  # bool as 0/1 bytes: OpenCV measures from the 0 pixels
    for k, i in enumerate(selected):
        cv2.distanceTransform(images[i], cv2.DIST_L2, cv2.DIST_MASK_PRECISE, dst=roots[k])
    np.multiply(roots, roots, out=roots)  # in float32: d * d < 2**19 is within 0.1 + 0.03 of n
    squared = np.rint(roots, out=roots)
    if len(selected) == len(out):
        np.sqrt(squared, out=out, dtype=out.dtype)
    else:
        out[selected] = np.sqrt(squared, dtype=out.dtype)


def _cupy_into(masks: torch.Tensor, todo: torch.Tensor, out: torch.Tensor) -> None:
    """The cupy backend of ``distance_to_background``: masks [K, H, W] bool and out float64 on
    one CUDA device, each selected mask transformed on the stream torch is using."""
    import cupy
    from cupyx.scipy.ndimage import distance_transform_edt as cupy_edt

    with cupy.cuda.Device(masks.device.index), cupy.cuda.ExternalStream(torch.cuda.current_stream(masks.device).cuda_stream):
        images = cupy.from_dlpack(masks.to(torch.uint8).contiguous())
        target = cupy.from_dlpack(out)
        for i in todo.nonzero().flatten().tolist():
            target[i] = cupy_edt(images[i], float64_distances=True)
