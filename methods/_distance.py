"""Pure functions for the distance-based losses: class masks and the per-class distance maps of
a label map (signed distances for the boundary loss, distances to the contours for Hausdorff-DT).

Distances are Euclidean, in pixels, computed where the label maps live by ``methods.distance``
(CuPy on CUDA, OpenCV, ``edt`` or scipy on the CPU: equal to scipy's transform bit for bit), without
gradient. Only the (image, class) pairs that need a map are transformed, and each map takes
one transform, not two: the inner distances of every class of an image come from a single
transform of the whole label map (see each function for why that is exact).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods.distance import distance_to_background, distance_to_other_label
from methods.edges import semantic_edges

__all__ = ["class_masks", "mask_contour", "signed_distance", "contour_distance"]


def class_masks(target: torch.Tensor, num_classes: int, ignore_index: int = 255) -> torch.Tensor:
    """One boolean mask per class; void pixels are in no mask.

    Shape:
        target: [N, H, W] integer (``ignore_index`` for void). Returns [N, C, H, W] bool.
    """
    classes = torch.arange(num_classes, device=target.device).view(1, -1, 1, 1)
    masks = target.unsqueeze(1) == classes
    if 0 <= ignore_index < num_classes:  # an ignore index that is also a class id is still void
        masks &= (target != ignore_index).unsqueeze(1)
    return masks


def mask_contour(masks: torch.Tensor) -> torch.Tensor:
    """The 8-neighbour contour: pixels of a mask with an 8-neighbour inside the image not in it.

    The image border is not a contour by itself (a 3x3 max-pool pads with -inf, so no
    pixel outside the image is ever "not in the mask"). A mask that is empty, or that
    covers its whole image, has no contour. The definition ``contour_distance`` measures
    to, without building it.

    Shape:
        masks: [..., H, W] bool. Returns a bool tensor of the same shape.
    """
    shape = masks.shape
    flat = masks.reshape(-1, 1, *shape[-2:])
    outside = F.max_pool2d((~flat).to(torch.float32), 3, stride=1, padding=1) > 0
    return (flat & outside).reshape(shape)


def _maps(labels: torch.Tensor, num_classes: int, void: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (image, class) pairs of ``class_masks(labels, num_classes, void)`` whose mask is
    neither empty nor the whole image, and those masks.

    Shape: labels [N, H, W] integer; returns image and class indices [K] (in the row-major
    order of [N, C]) and masks [K, H, W] bool. The pairs come from a per-image count of each
    class's pixels (one ``bincount``), and only the K masks are built: the [N, C, H, W] masks
    of every class cost as much as the distances themselves at the small scale. One read of
    the device: which maps to compute.
    """
    n, h, w = labels.shape
    in_a_mask = (labels >= 0) & (labels < num_classes) & (labels != void)
    # every pixel in no mask labelled num_classes, in the smallest type that holds it: the
    # masks are compared from a gather of K label maps, 8x less memory in uint8 than in int64
    small = torch.uint8 if num_classes < 256 else torch.int32
    classes = torch.where(in_a_mask, labels, num_classes).to(small)
    offsets = torch.arange(n, device=labels.device).view(-1, 1) * (num_classes + 1)
    counts = torch.bincount((classes.view(n, -1) + offsets).view(-1), minlength=n * (num_classes + 1))
    counts = counts.view(n, num_classes + 1)[:, :num_classes]
    image, cls = ((counts > 0) & (counts < h * w)).nonzero(as_tuple=True)
    return image, cls, classes[image] == cls.to(small).view(-1, 1, 1)


def _scatter(shape, image, cls, maps: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``maps`` [K, H, W], cast to ``dtype``, at (image, class) of a zero [N, C, H, W] map."""
    out = torch.zeros(shape, dtype=dtype, device=maps.device)
    out[image, cls] = maps.to(dtype)
    return out


def _working_type(dtype: torch.dtype) -> torch.dtype:
    """The type the distances are computed in for a map of ``dtype``: float32 maps take the
    transforms' float32 output directly (the float64 distances rounded once); any other type
    is cast from float64, as a float32 map would be."""
    return torch.float32 if dtype == torch.float32 else torch.float64


def signed_distance(target: torch.Tensor, num_classes: int, ignore_index: int = 255, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Signed distance map of every class mask: positive outside, zero on its inner border, negative inside.

        phi = EDT(~M) outside M,   phi = -(EDT(M) - 1) inside M,

    where EDT(X)(p) is the distance from a pixel p of X to the nearest pixel of the image
    not in X: outside, the distance to the mask; inside, one less than the distance to the
    nearest pixel outside (0 on the mask's pixels that touch the outside). phi = 0
    everywhere for an empty mask and for a mask covering its whole image (no outside).
    M is ``class_masks(target)``: void pixels are outside every mask.

    Computed in float64 (then cast to ``dtype``) as EDT(~M) outside M and 1 - EDT(M) inside, where
    EDT(M) on M is ``distance_to_other_label(target)``: inside a class, the nearest pixel
    not in the class is the nearest pixel with another label (void included), so one
    transform of the label map gives EDT(M) of every class of an image.

    Shape:
        target: [N, H, W] integer. Returns [N, C, H, W], ``dtype``, on the target's device,
        without a graph.
    """
    shape = (len(target), num_classes, *target.shape[-2:])
    image, cls, m = _maps(target, num_classes, ignore_index)
    if len(image) == 0:
        return torch.zeros(shape, dtype=dtype, device=target.device)
    # inside M: 1 - EDT(M) in float64, bit for bit -(EDT(M) - 1) (rounding to nearest is
    # symmetric), per image; outside: EDT(~M), which is 0 on M
    work = _working_type(dtype)
    inner = (1.0 - distance_to_other_label(target)).to(work)
    phi = torch.where(m, inner[image], distance_to_background(~m, dtype=work))
    return _scatter(shape, image, cls, phi, dtype)


def contour_distance(labels: torch.Tensor, num_classes: int, void: int = 255, dtype: torch.dtype = torch.float32,
                     power: float = 1.0) -> torch.Tensor:  # fmt: skip
    """Euclidean distance from every pixel to the contour of each class mask (0 on the contour),
    raised to ``power`` (> 0; Hausdorff-DT's alpha: the maps of the classes present raised, the
    others 0 as 0 ** power is, the same values as the whole map's power at a fraction of the work).

    The contour of a mask is the suite's 8-neighbour contour: the pixels of the mask with an
    8-neighbour inside the image not in the mask (the image border is not a contour); a mask
    with no contour (empty, or the whole image) has a map of 0 everywhere. The masks are
    ``class_masks(labels, num_classes, void)``: pixels labelled ``void`` are in no mask.

    Two facts make it one transform per map instead of a transform of each contour:

    - outside a mask, the nearest contour pixel is the nearest pixel of the mask (from a
      nearest mask pixel q that is not on the contour, its 8-neighbour one step towards p
      would be in the mask and nearer), so the map there is EDT(~M);
    - inside a mask of class c, the nearest pixel of the label map's semantic edges
      (``methods.semantic_edges``: the union of every class's contour) is on c's own
      contour: a nearest pixel r not in c has a neighbour one step towards p that is a
      contour pixel of c and nearer, and every edge pixel of another class is not in c. So
      the map there is the distance to the edges, one transform per image.

    Shape:
        labels: [N, H, W] integer. Returns [N, C, H, W], ``dtype``, on the labels' device,
        without a graph.
    """
    shape = (len(labels), num_classes, *labels.shape[-2:])
    image, cls, m = _maps(labels, num_classes, void)
    if len(image) == 0:
        return torch.zeros(shape, dtype=dtype, device=labels.device)
    images, of_pair = image.unique(return_inverse=True)  # the images with a map hold an edge pixel
    work = _working_type(dtype)
    to_edges = distance_to_background(~semantic_edges(labels[images], void), dtype=work)
    maps = torch.where(m, to_edges[of_pair], distance_to_background(~m, dtype=work))
    if power != 1.0:
        maps = maps.to(dtype).pow_(power)  # the power of the map as given to the caller, in its type
    return _scatter(shape, image, cls, maps, dtype)
