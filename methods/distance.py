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
- ``"edt"``: the CPU, through the ``edt`` package (exact, multi-label: one call gives every
  region's inner distance): about 1.5x faster than scipy per 64x128 mask, 6x per 321x321 one.
- ``"scipy"``: the CPU reference, one ``distance_transform_edt`` call per mask.

Every backend returns float64 distances equal to scipy's bit for bit: each is the float64
square root of the same exact integer squared distance (``edt`` returns squared distances as
float32, exact integers for images whose diagonal squared is below 2**24, about 2,900 pixels
a side; larger images take scipy). The tests hold every available backend to scipy's values.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

__all__ = ["DISTANCE_BACKENDS", "available_backends", "backend_for", "distance_to_background", "distance_to_other_label"]

#: Every backend, in the order ``backend_for`` prefers them on a CUDA device (cupy) and on the CPU.
DISTANCE_BACKENDS = ("cupy", "edt", "scipy")
#: Squared distances at or above this are no longer exact in float32 (``edt``'s output type).
_EXACT_FLOAT32 = 2**24


@functools.cache
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends() -> tuple[str, ...]:
    """The backends this process can run: scipy always, edt when installed, cupy when installed
    and CUDA is available."""
    ok = {"scipy": True, "edt": _installed("edt"), "cupy": _installed("cupy") and torch.cuda.is_available()}
    return tuple(b for b in DISTANCE_BACKENDS if ok[b])


def backend_for(device: torch.device | str) -> str:
    """The backend of tensors on ``device``: cupy on CUDA when installed, else edt when
    installed, else scipy."""
    device = torch.device(device)
    if device.type == "cuda" and _installed("cupy"):
        return "cupy"
    return "edt" if _installed("edt") else "scipy"


def _checked(backend: str | None, device: torch.device) -> str:
    if backend is None:
        return backend_for(device)
    if backend not in DISTANCE_BACKENDS:
        raise ValueError(f"unknown distance backend {backend!r}; valid: {', '.join(DISTANCE_BACKENDS)}")
    if backend not in available_backends():
        raise ValueError(f"distance backend {backend!r} is not available here; available: {', '.join(available_backends())}")
    return backend


def _images(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() < 2:
        raise ValueError(f"{name} must be [..., H, W], got shape {tuple(x.shape)}")
    return x.reshape(-1, *x.shape[-2:])


def distance_to_background(masks: torch.Tensor, backend: str | None = None) -> torch.Tensor:
    """Euclidean distance from every True pixel to the nearest False pixel of its image.

    Shape:
        masks: [..., H, W] bool. Returns float64 of the same shape on the masks' device: 0 on
        False pixels, +inf in an image with no False pixel.
    """
    flat = _images(masks, "masks").bool()
    backend = _checked(backend, masks.device)
    out = torch.full(flat.shape, torch.inf, dtype=torch.float64, device=flat.device)
    todo = (~flat).flatten(1).any(1)
    if backend == "cupy":
        _cupy_into(flat, todo, out)
    else:
        cpu_out = out if out.device.type == "cpu" else torch.full(flat.shape, torch.inf, dtype=torch.float64)
        _cpu_into(flat.cpu().numpy(), todo.cpu().numpy(), cpu_out.numpy(), backend)
        if cpu_out is not out:
            out.copy_(cpu_out)
    return out.reshape(masks.shape)


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
    backend = _checked(backend, labels.device)
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
        inner = distance_to_background(regions, "scipy" if backend == "edt" else backend)
        out[i] = torch.where(regions, inner, 0.0).sum(0)  # each pixel is in exactly one region
    return out.reshape(labels.shape)


def _cpu_into(masks: np.ndarray, todo: np.ndarray, out: np.ndarray, backend: str) -> None:
    """``out[i] = distance_transform_edt(masks[i])`` for every ``i`` in ``todo`` (float64 [K, H, W])."""
    h, w = masks.shape[-2:]
    if backend == "edt" and (h - 1) ** 2 + (w - 1) ** 2 < _EXACT_FLOAT32:
        import edt

        for i in np.flatnonzero(todo):
            np.sqrt(edt.edtsq(masks[i], black_border=False, parallel=1), out=out[i], dtype=np.float64)
        return
    for i in np.flatnonzero(todo):
        out[i] = distance_transform_edt(masks[i])


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
