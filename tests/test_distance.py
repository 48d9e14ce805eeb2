"""Exact distance transforms (``methods.distance``) and the distance maps of the boundary and
Hausdorff-DT losses: every backend equal to scipy's ``distance_transform_edt`` bit for bit, and
the one-transform-per-map forms equal to the per-contour transforms they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_edt

import methods
import methods.distance as distance
from benchmark.perf.inputs import perturbed, street_labels
from methods._distance import class_masks, contour_distance, mask_contour, signed_distance

VOID = 255
CPU_BACKENDS = [b for b in methods.available_backends() if b != "cupy"]
CUDA = torch.cuda.is_available() and "cupy" in methods.available_backends()


def scipy_distance(masks: torch.Tensor) -> torch.Tensor:
    """The reference: one scipy call per image, +inf for an image with no False pixel."""
    flat = masks.reshape(-1, *masks.shape[-2:]).cpu().numpy()
    out = np.full(flat.shape, np.inf)
    for i, m in enumerate(flat):
        if not m.all():
            out[i] = distance_transform_edt(m)
    return torch.from_numpy(out).reshape(masks.shape)


def reference_signed(target, num_classes, ignore_index=VOID):
    """The boundary loss's maps as the suite first computed them: two scipy transforms per mask."""
    masks = class_masks(target, num_classes, ignore_index).numpy()
    out = np.zeros(masks.shape)
    for index in np.ndindex(masks.shape[:2]):
        m = masks[index]
        if m.any() and not m.all():
            out[index] = distance_transform_edt(~m) - (distance_transform_edt(m) - 1.0) * m
    return torch.from_numpy(out).float()


def reference_contour(masks):
    """Hausdorff-DT's maps as the suite first computed them: a scipy transform of each contour."""
    contours = mask_contour(masks).numpy()
    out = np.zeros(contours.shape)
    for index in np.ndindex(contours.shape[:2]):
        if contours[index].any():
            out[index] = distance_transform_edt(~contours[index])
    return torch.from_numpy(out).float()


def label_maps():
    """Label maps with void, absent classes, single-class and all-void images, noise, and a paper-size crop."""
    g = torch.Generator().manual_seed(0)
    noisy = torch.randint(0, 4, (3, 20, 30), generator=g)
    noisy[torch.rand(noisy.shape, generator=g) < 0.2] = VOID
    one_pixel = torch.zeros(1, 9, 11, dtype=torch.long)
    one_pixel[0, 4, 7] = 2
    return {
        "streets": street_labels(3, 64, 128),
        "perturbed": perturbed(street_labels(2, 40, 60, seed=1)),
        "noise": torch.randint(0, 5, (2, 17, 23), generator=g),
        "noise_with_void": noisy,
        "one_class": torch.full((2, 8, 9), 3),
        "all_void": torch.full((1, 8, 9), VOID),
        "one_pixel": one_pixel,
        "paper_crop": street_labels(1, 321, 321, seed=2),
    }


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.view(torch.uint8), b.view(torch.uint8))


@pytest.fixture(params=CPU_BACKENDS)
def backend(request, monkeypatch):
    """Every CPU backend in turn, as the losses' default."""
    monkeypatch.setattr(distance, "backend_for", lambda device, multi_label=False: request.param)
    return request.param


# ------------------------------------------------------------------------- the transforms


def test_distance_to_background_by_hand(backend):
    masks = torch.ones(1, 3, 4, dtype=torch.bool)
    masks[0, 0, 0] = False
    expected = [[0, 1, 2, 3], [1, math.sqrt(2), math.sqrt(5), math.sqrt(10)], [2, math.sqrt(5), math.sqrt(8), math.sqrt(13)]]
    assert methods.distance_to_background(masks, backend).tolist() == [expected]
    assert methods.distance_to_background(torch.ones(2, 2, 3, dtype=torch.bool), backend).isinf().all()
    assert (methods.distance_to_background(torch.zeros(2, 2, 3, dtype=torch.bool), backend) == 0).all()


@pytest.mark.parametrize("density", [0.001, 0.05, 0.5, 0.95])
def test_distance_to_background_equals_scipy(backend, density):
    g = torch.Generator().manual_seed(1)
    for shape in [(5, 1, 1), (4, 1, 37), (4, 29, 1), (6, 31, 47), (2, 321, 321)]:
        masks = torch.rand(shape, generator=g) > density
        expected = scipy_distance(masks)
        assert same_bits(methods.distance_to_background(masks, backend), expected), shape
        # float32: scipy's float64 distance rounded once
        assert same_bits(methods.distance_to_background(masks, backend, dtype=torch.float32), expected.float()), shape


@pytest.fixture(params=[1, 2])
def threads(request):
    """torch's threads, which OpenCV's transform follows: its one-thread path is the less accurate."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize("shape", [(512, 512), (700, 700), (1024, 2048)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_distances_of_hundreds_of_pixels_stay_exact(backend, shape, dtype, threads):
    # one False pixel in a corner: distances up to the diagonal, 722 pixels (squared just under
    # OpenCV's exact limit of 2**19), 988 and 2,289 (past it: the next backend takes the image,
    # where OpenCV's one thread is off by a unit of the squared distance)
    masks = torch.ones(1, *shape, dtype=torch.bool)
    masks[0, 0, 0] = False
    masks_far = masks.clone()
    masks_far[0, 0, 0], masks_far[0, -1, -1] = True, False
    for m in (masks, masks_far):
        assert same_bits(methods.distance_to_background(m, backend, dtype=dtype), scipy_distance(m).to(dtype))
    sparse = torch.rand(2, 509, 509, generator=torch.Generator().manual_seed(3)) > 1e-5  # a few far points
    assert same_bits(methods.distance_to_background(sparse, backend, dtype=dtype), scipy_distance(sparse).to(dtype))


def test_distance_to_other_label_by_hand(backend):
    labels = torch.tensor([[[1, 1, 2], [1, 1, 1]]])
    assert methods.distance_to_other_label(labels, backend).tolist() == [[[2, 1, 1], [math.sqrt(5), math.sqrt(2), 1]]]
    assert methods.distance_to_other_label(torch.full((1, 3, 3), 7), backend).isinf().all()


def test_distance_to_other_label_equals_one_scipy_transform_per_label(backend):
    for name, labels in label_maps().items():
        expected = torch.full(labels.shape, math.inf, dtype=torch.float64)
        for i, image in enumerate(labels):
            for value in image.unique():
                region = image == value
                if not region.all():
                    expected[i][region] = scipy_distance(region)[region]
        assert same_bits(methods.distance_to_other_label(labels, backend), expected), name


def test_unknown_or_missing_backend_is_an_error():
    with pytest.raises(ValueError, match="unknown distance backend 'gpu'; valid: cupy, opencv, edt, scipy"):
        methods.distance_to_background(torch.ones(1, 2, 2, dtype=torch.bool), "gpu")
    if "cupy" not in methods.available_backends():
        with pytest.raises(ValueError, match="'cupy' is not available here"):
            methods.distance_to_background(torch.ones(1, 2, 2, dtype=torch.bool), "cupy")


def test_cpu_backend_prefers_opencv_for_masks_and_edt_for_label_maps():
    installed = methods.available_backends()
    assert methods.backend_for("cpu") == next(b for b in ("opencv", "edt", "scipy") if b in installed)
    assert methods.backend_for("cpu", multi_label=True) == next(b for b in ("edt", "opencv", "scipy") if b in installed)


# -------------------------------------------------------------------------- the losses' maps


@pytest.mark.parametrize("num_classes, ignore_index", [(19, VOID), (5, VOID), (4, 2)])
def test_signed_distance_equals_two_transforms_per_mask(backend, num_classes, ignore_index):
    for name, labels in label_maps().items():
        labels = torch.where(labels == VOID, ignore_index if ignore_index != 2 else VOID, labels % num_classes)
        got = signed_distance(labels, num_classes, ignore_index)
        assert same_bits(got, reference_signed(labels, num_classes, ignore_index)), name


@pytest.mark.parametrize("num_classes, ignore_index", [(19, VOID), (5, VOID), (4, 2)])
def test_contour_distance_equals_a_transform_of_each_contour(backend, num_classes, ignore_index):
    for name, labels in label_maps().items():
        labels = torch.where(labels == VOID, VOID, labels % num_classes)
        valid = labels != ignore_index
        expected = reference_contour(class_masks(labels, num_classes, ignore_index))
        got = contour_distance(torch.where(valid, labels, num_classes), num_classes, void=num_classes)
        assert same_bits(got, expected), name


def test_signed_distance_by_hand():
    # one row: class 0 on the first three pixels, class 1 on the last two
    target = torch.tensor([[[0, 0, 0, 1, 1]]])
    phi = signed_distance(target, 3)
    assert phi[0, 0, 0].tolist() == [-2, -1, 0, 1, 2]
    assert phi[0, 1, 0].tolist() == [3, 2, 1, 0, -1]
    assert phi[0, 2].eq(0).all()  # absent


def test_contour_distance_by_hand():
    # class 1 is the 2x2 block in the middle of a 4x4 image of class 0. Every pixel of the
    # block touches class 0: the block is its own contour, 1 from the ring's edge pixels and
    # sqrt(2) from its corners. Every pixel of the ring touches the block (the corners
    # diagonally): the ring is class 0's contour, 1 from the block's pixels.
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, 1:3, 1:3] = 1
    d = contour_distance(target, 2, void=2)
    r2 = torch.tensor(math.sqrt(2), dtype=torch.float32).item()
    assert d[0, 1].tolist() == [[r2, 1, 1, r2], [1, 0, 0, 1], [1, 0, 0, 1], [r2, 1, 1, r2]]
    assert d[0, 0].tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]


@pytest.mark.skipif(not CUDA, reason="needs CUDA and CuPy (the [gpu] extra)")
def test_cupy_backend_equals_scipy_on_the_device():
    g = torch.Generator().manual_seed(2)
    masks = torch.rand(6, 61, 83, generator=g) > 0.97
    got = methods.distance_to_background(masks.cuda(), "cupy")
    assert got.device.type == "cuda" and same_bits(got.cpu(), scipy_distance(masks))
    for labels in label_maps().values():
        assert same_bits(signed_distance(labels.cuda(), 19).cpu(), reference_signed(labels, 19))
        expected = reference_contour(class_masks(labels, 19))
        assert same_bits(contour_distance(torch.where(labels == VOID, 19, labels).cuda(), 19, void=19).cpu(), expected)
