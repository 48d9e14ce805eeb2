"""Boundary IoU and boundary F against hand-computed counts on small drawn label maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from benchmark.metrics import (
    boundary,
    boundary_f_counts,
    boundary_f_from_counts,
    boundary_iou_counts,
    boundary_iou_from_counts,
    confusion_matrix,
    edge_distance,
)
from methods import semantic_edges

V = 255  # void
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def maps(rows) -> torch.Tensor:
    """One label map [1, H, W] from rows of text, one character per pixel (``v`` for void)."""
    return torch.tensor([[[V if ch == "v" else int(ch) for ch in row.split()] for row in rows]], dtype=torch.long)


# A 3x3 square of class 1 on class 0, and the same square shifted right by one pixel.
SQUARE_GT = maps([
    "0 0 0 0 0 0",
    "0 1 1 1 0 0",
    "0 1 1 1 0 0",
    "0 1 1 1 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip
SQUARE_PRED = maps([
    "0 0 0 0 0 0",
    "0 0 1 1 1 0",
    "0 0 1 1 1 0",
    "0 0 1 1 1 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip

# A one-pixel bar of class 1, and the bar one row lower.
BAR_GT = maps([
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 1 1 1 1 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip
BAR_PRED = maps([
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 1 1 1 1 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip

# Class 0 | void column | class 1 in the ground truth; the prediction puts the void column in
# class 0 (right on every non-void pixel), or moves class 1's edge one column left.
VOID_GT = maps(["0 0 v 1 1 1"] * 6)
VOID_PRED = maps(["0 0 0 1 1 1"] * 6)
VOID_SHIFTED = maps(["0 0 1 1 1 1"] * 4 + ["0 1 1 1 1 1"] * 2)

# A 2x2 block of class 1 that only the prediction has (class 2 is absent from both sides),
# and a 2x2 block that only the ground truth has (the prediction of class 1 is empty).
BLOCK = maps([
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 0 1 1 0 0",
    "0 0 1 1 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip
PLAIN = torch.zeros_like(BLOCK)

# A 2x2 square shifted diagonally by one pixel: distances of sqrt(2) between contours.
DIAG_GT = maps([
    "0 0 0 0 0 0",
    "0 1 1 0 0 0",
    "0 1 1 0 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip
DIAG_PRED = maps([
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
    "0 0 1 1 0 0",
    "0 0 1 1 0 0",
    "0 0 0 0 0 0",
    "0 0 0 0 0 0",
])  # fmt: skip


def biou(inter, union) -> torch.Tensor:
    """Expected [K, 2, C] Boundary IoU counts from per-width lists of per-class values."""
    return torch.tensor([[i, u] for i, u in zip(inter, union)], dtype=torch.long)


# --------------------------------------------------------------------------- Boundary IoU by hand


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cached", [None, "float", "uint8"])
def test_boundary_iou_of_a_shifted_square(device, cached):
    # Class 1: each square's contour is its ring of 8 (all but the centre). d = 1: the rings
    # share (1,2) (1,3) (3,2) (3,3): 4, union 8 + 8 - 4 = 12. d = 2: the centre lies at
    # distance 1, so the bands are the whole squares: overlap 2 columns x 3 = 6, union 12.
    # Class 0: its contour is the ring of 16 background pixels around the square; the two
    # rings share rows 0 and 4 at columns 1-4: 8, union 24. d = 2: every background pixel
    # lies within sqrt(2) of that ring, so the bands are the whole backgrounds (27 each):
    # intersection 36 - |union of squares| = 24, union 36 - |overlap of squares| = 30.
    target, pred = SQUARE_GT.to(device), SQUARE_PRED.to(device)
    distance = None
    if cached:
        distance = edge_distance(target)
        distance = distance if cached == "float" else distance.clamp(max=255).floor().to(torch.uint8)
    counts = boundary_iou_counts(pred, target, 2, (1, 2), distance=distance)
    assert counts.dtype == torch.int64 and counts.device.type == device
    assert torch.equal(counts.cpu(), biou(inter=[[8, 4], [24, 6]], union=[[24, 12], [30, 12]]))


def test_boundary_iou_of_a_thin_bar():
    # Class 1: a one-pixel bar is all contour at every width; the bars do not overlap:
    # intersection 0, union 4 + 4. Class 0: contours are rows 1-3 (ground truth) and rows
    # 2-4 (prediction) without the bar, 14 each, sharing (2,0) (2,5) (3,0) (3,5): 4, union
    # 24. d = 2: ground truth rows 0-4 and prediction rows 1-5 (row 5, resp. row 0, lies at
    # distance 2), without the bars: 26 each, intersection rows 1-4 without both bars = 16,
    # union 36. d = 3: whole backgrounds (32 each), intersection 36 - 8 = 28, union 36.
    counts = boundary_iou_counts(BAR_PRED, BAR_GT, 2, (1, 2, 3))
    assert torch.equal(counts, biou(inter=[[4, 0], [16, 0], [28, 0]], union=[[24, 8], [36, 8], [36, 8]]))


@pytest.mark.parametrize("widths", [(1, 2), (0.5, 1.5)])  # distances are integers here: the same bands
def test_boundary_iou_with_a_void_band(widths):
    # The void column is void in the prediction too: P_0 = G_0 = columns 0-1, contour column
    # 1 (its neighbour column 2 is void, "not 0" on both sides); P_1 = G_1 = columns 3-5,
    # contour column 3. d = 1: 6 and 6 for both classes; d = 2: columns 0-1 and 3-4, 12 and 12.
    counts = boundary_iou_counts(VOID_PRED, VOID_GT, 2, widths)
    assert torch.equal(counts, biou(inter=[[6, 6], [12, 12]], union=[[6, 6], [12, 12]]))
    per_class, _ = boundary_iou_from_counts(counts)
    np.testing.assert_array_equal(per_class, [[1.0, 1.0], [1.0, 1.0]])


def test_boundary_iou_where_the_prediction_differs_beside_a_void_band():
    # Rows 4-5 of the prediction put column 1 in class 1: P_0 = column 0 there (its contour,
    # 2 pixels, as column 1 now differs), columns 0-1 on rows 0-3 (contour: column 1, and
    # column 0 of row 3, beside row 4's class-1 pixel: 5 pixels). G_0's contour: column 1,
    # 6 pixels. d = 1: class 0 bands {column 1 rows 0-3, (3, 0), column 0 rows 4-5} and
    # {column 1 rows 0-5}: intersection 4 (rows 0-3 of column 1), union 4 + 3 + 2 = 9.
    # Class 1: G_1's contour is column 3 (6 px); P_1 = columns 3-5 on rows 0-3 and columns
    # 1, 3-5 on rows 4-5 (column 2 is void): contour column 3 rows 0-5 (beside void or
    # class 0) and column 1 rows 4-5 (beside class 0 and void): 8 pixels; intersection 6
    # (column 3), union 8.
    counts = boundary_iou_counts(VOID_SHIFTED, VOID_GT, 2, (1,))
    assert torch.equal(counts, biou(inter=[[4, 6]], union=[[9, 8]]))


def test_boundary_iou_of_a_class_absent_from_one_side_summed_over_two_images():
    # Image 1: the ground truth is all class 0 (no contour: empty bands); the prediction has
    # a block of class 1, whose ring of 12 is the contour of P_0 and whose 4 pixels are all
    # contour. d = 1: unions 12 (class 0) and 4 (class 1); d = 2: P_0's band is all 32 of its
    # pixels (each within sqrt(2) of the ring). Image 2 swaps ground truth and prediction
    # (an empty prediction of class 1): the same unions. Class 2 is nowhere: union 0.
    pred = torch.cat([BLOCK, PLAIN])
    target = torch.cat([PLAIN, BLOCK])
    counts = boundary_iou_counts(pred, target, 3, (1, 2))
    assert torch.equal(counts, biou(inter=[[0, 0, 0], [0, 0, 0]], union=[[24, 8, 0], [64, 8, 0]]))
    per_class, mean = boundary_iou_from_counts(counts)
    np.testing.assert_array_equal(per_class[:, :2], 0.0)
    assert np.isnan(per_class[:, 2]).all()  # an empty union is left out of the mean
    np.testing.assert_array_equal(mean, [0.0, 0.0])


def test_boundary_iou_summaries_by_hand():
    counts = np.array([[[3, 0, 0], [4, 2, 0]]])  # one width; class 2 has an empty union
    per_class, mean = boundary_iou_from_counts(counts)
    np.testing.assert_allclose(per_class[0, :2], [3 / 4, 0.0])
    assert math.isnan(per_class[0, 2])
    assert mean[0] == pytest.approx((3 / 4 + 0) / 2)
    _, mean = boundary_iou_from_counts(np.zeros((2, 2, 3)))
    assert np.isnan(mean).all()


# --------------------------------------------------------------------------- Boundary F by hand


def bf(*classes) -> torch.Tensor:
    """Expected [T, 4, C] counts from per-class lists of [matched_p, |Bp|, matched_g, |Bg|] per tolerance."""
    return torch.tensor(classes, dtype=torch.long).permute(1, 2, 0)


@pytest.mark.parametrize("device", DEVICES)
def test_boundary_f_of_a_shifted_square(device):
    # Class 1: both rings of 8 share 4 pixels (t = 0); at t = 1 every ring pixel has a pixel
    # of the other ring next to it. Class 0: rings of 16 sharing 8; at t = 1 all matched.
    counts = boundary_f_counts(SQUARE_PRED.to(device), SQUARE_GT.to(device), 2, (0, 1))
    assert counts.dtype == torch.int64 and counts.device.type == device
    expected = bf([[8, 16, 8, 16], [16, 16, 16, 16]], [[4, 8, 4, 8], [8, 8, 8, 8]])
    assert torch.equal(counts.cpu(), expected)
    _, mean = boundary_f_from_counts(counts)
    np.testing.assert_allclose(mean, [0.5, 1.0])  # t = 0: P = R = 1/2 for both classes


def test_boundary_f_of_a_thin_bar():
    # Class 1: bars of 4 one row apart: nothing at t = 0, all at t = 1. Class 0: contours of
    # 14 sharing 4 pixels; every pixel of one lies next to the other at t = 1.
    counts = boundary_f_counts(BAR_PRED, BAR_GT, 2, (0, 1, 2))
    expected = bf(
        [[4, 14, 4, 14], [14, 14, 14, 14], [14, 14, 14, 14]],
        [[0, 4, 0, 4], [4, 4, 4, 4], [4, 4, 4, 4]],
    )
    assert torch.equal(counts, expected)


def test_boundary_f_uses_euclidean_distance():
    # The squares are one pixel apart diagonally. Class 1: (2,2) is shared (t = 0); at t = 1
    # the far corners (3,3) and (1,1) stay unmatched (sqrt(2) away); at t = 1.5 all match.
    # Class 0 (rings of 12): (1,3) and (3,1) shared; at t = 1 only the corners (4,4) of the
    # prediction's ring and (0,0) of the ground truth's are sqrt(2) from the other ring.
    counts = boundary_f_counts(DIAG_PRED, DIAG_GT, 2, (0, 1, 1.5))
    expected = bf(
        [[2, 12, 2, 12], [11, 12, 11, 12], [12, 12, 12, 12]],
        [[1, 4, 1, 4], [3, 4, 3, 4], [4, 4, 4, 4]],
    )
    assert torch.equal(counts, expected)


def test_boundary_f_with_a_void_band():
    # The void column is void in the prediction too: Bp = Bg = column 1 (class 0) and
    # column 3 (class 1), every pixel matched at every tolerance: F = 1 for both classes.
    counts = boundary_f_counts(VOID_PRED, VOID_GT, 2, (0, 1))
    expected = bf([[6, 6, 6, 6], [6, 6, 6, 6]], [[6, 6, 6, 6], [6, 6, 6, 6]])
    assert torch.equal(counts, expected)
    per_class, mean = boundary_f_from_counts(counts)
    np.testing.assert_array_equal(per_class, [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(mean, [1.0, 1.0])


def _voc_like_mask(size: int = 64, band: int = 5) -> torch.Tensor:
    """A VOC-like label map [1, size, size]: class 0 background, a disk of class 3 with a
    ``band``-pixel void band on its outline, a rectangle of class 7 touching the border."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    radius = ((yy - 30.0) ** 2 + (xx - 28.0) ** 2).sqrt()
    mask = torch.zeros(size, size, dtype=torch.long)
    mask[radius < 15] = 3
    mask[(radius >= 15) & (radius < 15 + band)] = V
    mask[50:, 40:] = 7
    mask[48:50, 38:] = V
    return mask[None]


def test_a_prediction_right_on_every_non_void_pixel_scores_one_on_a_voc_like_mask():
    # The void band is predicted as anything (here: the disk's class, then the background):
    # both boundary metrics are exactly 1 for every class present, at every width and
    # tolerance; under the earlier definition the same prediction scored boundary F 0 at t = 1.
    target = _voc_like_mask()
    for fill in (3, 0):
        pred = torch.where(target == V, fill, target)
        iou, _ = boundary_iou_from_counts(boundary_iou_counts(pred, target, 8, (1, 3)))
        f, _ = boundary_f_from_counts(boundary_f_counts(pred, target, 8, (1, 2)))
        for per_class in (iou, f):
            np.testing.assert_array_equal(per_class[:, [0, 3, 7]], np.ones((2, 3)))
            assert np.isnan(per_class[:, [1, 2, 4, 5, 6]]).all()  # absent classes: no value


def test_boundary_f_of_a_class_absent_from_one_side_summed_over_two_images():
    # Image 1 (prediction only): Bp of class 0 = the ring of 12, of class 1 = the block of 4,
    # no Bg. Image 2 (ground truth only): the same as Bg. No pixel is matched at any
    # tolerance; class 2 has no contour anywhere.
    pred = torch.cat([BLOCK, PLAIN])
    target = torch.cat([PLAIN, BLOCK])
    counts = boundary_f_counts(pred, target, 3, (0, 2))
    expected = bf([[0, 12, 0, 12]] * 2, [[0, 4, 0, 4]] * 2, [[0, 0, 0, 0]] * 2)
    assert torch.equal(counts, expected)
    per_class, mean = boundary_f_from_counts(counts)
    np.testing.assert_array_equal(per_class[:, :2], 0.0)
    assert np.isnan(per_class[:, 2]).all()
    np.testing.assert_array_equal(mean, [0.0, 0.0])


def test_boundary_f_summaries_by_hand():
    # class 0: P = 2/4, R = 1/2 -> F = 1/2; class 1: no Bp (P = 0), R = 1 -> F = 0;
    # class 2: no contour on either side -> NaN, left out.
    counts = np.array([[[2, 0, 0], [4, 0, 0], [3, 5, 0], [6, 5, 0]]])
    per_class, mean = boundary_f_from_counts(counts)
    np.testing.assert_allclose(per_class[0, :2], [0.5, 0.0])
    assert math.isnan(per_class[0, 2])
    assert mean[0] == pytest.approx(0.25)


# --------------------------------------------------------------------------- properties


def blocky(seed: int, n: int = 3, classes: int = 4, size: tuple[int, int] = (9, 10), void: float = 0.05):
    """Random block label maps with a little void, and a prediction of them: shifted, noisy."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, classes, (n, size[0] // 3 + 1, size[1] // 3 + 1), generator=gen)
    target = coarse.repeat_interleave(3, 1).repeat_interleave(3, 2)[:, : size[0], : size[1]].contiguous()
    target[torch.rand(target.shape, generator=gen) < void] = V
    pred = torch.roll(target, 1, dims=2).clamp(max=classes - 1)
    noise = torch.rand(pred.shape, generator=gen) < 0.1
    pred = torch.where(noise, torch.randint(0, classes, pred.shape, generator=gen), pred)
    return pred, target


@pytest.mark.parametrize("seed", range(4))
def test_boundary_f_at_zero_tolerance_counts_exact_overlap(seed):
    pred, target = blocky(seed)
    counts = boundary_f_counts(pred, target, 4, (0,))[0]
    valid = target != V
    gt_edges = semantic_edges(target)
    pred_edges = semantic_edges(torch.where(valid, pred, V))  # void in the prediction too
    both = gt_edges & pred_edges & (pred == target)
    for c in range(4):
        assert counts[0, c] == counts[2, c] == int((both & (target == c)).sum())
        assert counts[1, c] == int((pred_edges & (pred == c)).sum())
        assert counts[3, c] == int((gt_edges & (target == c)).sum())


@pytest.mark.parametrize("pair", ["square", "bar", "void", "random"])
def test_boundary_iou_wider_than_the_image_is_the_plain_iou(pair):
    if pair == "random":
        pred, target = blocky(7, void=0.0)
        pred[:, 0, 0] = torch.arange(len(pred)) % 4  # no class covers a whole image
    else:
        pred, target = {"square": (SQUARE_PRED, SQUARE_GT), "bar": (BAR_PRED, BAR_GT), "void": (VOID_PRED, VOID_GT)}[pair]
    c = 4
    for image_pred, image_target in zip(pred, target):  # every class present has a contour
        for labels in (image_pred, image_target[image_target != V]):
            assert len(labels.unique()) > 1
    counts = boundary_iou_counts(pred, target, c, (1, 100))[1]
    conf = confusion_matrix(pred, target, c)
    tp = conf.diag()
    assert torch.equal(counts[0], tp)
    assert torch.equal(counts[1], conf.sum(0) + conf.sum(1) - tp)


def test_boundary_metrics_of_a_perfect_prediction():
    _, target = blocky(3, void=0.0)
    iou = boundary_iou_counts(target, target, 4, (1, 2, 5))
    assert torch.equal(iou[:, 0], iou[:, 1]) and iou[:, 1].sum() > 0
    f = boundary_f_counts(target, target, 4, (0, 1))
    assert torch.equal(f[:, 0], f[:, 1]) and torch.equal(f[:, 2], f[:, 3]) and torch.equal(f[:, 0], f[:, 2])
    _, mean = boundary_f_from_counts(f)
    np.testing.assert_array_equal(mean, [1.0, 1.0])


def _contour(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with an 8-neighbour inside the image outside ``mask`` (the definition)."""
    outside = np.pad(~mask, 1, constant_values=False)
    near = np.zeros_like(mask)
    h, w = mask.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= outside[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return mask & near


def _distance_to(mask: np.ndarray) -> np.ndarray:
    return ndimage.distance_transform_edt(~mask) if mask.any() else np.full(mask.shape, np.inf)


def _reference(pred, target, c, widths, tolerances):
    """The definitions applied class by class with one distance transform per mask."""
    iou = np.zeros((len(widths), 2, c), dtype=np.int64)
    f = np.zeros((len(tolerances), 4, c), dtype=np.int64)
    for p, g in zip(pred.numpy(), target.numpy()):
        valid = g != V
        for k in range(c):
            p = np.where(valid, p, V)  # void in the ground truth: void in the prediction too
            gc, pc = _contour(g == k), _contour(p == k)
            dg, dp = _distance_to(gc), _distance_to(pc)
            for i, d in enumerate(widths):
                bg, bp = (g == k) & (dg < d), (p == k) & (dp < d)
                iou[i, :, k] += [(bg & bp & valid).sum(), ((bg | bp) & valid).sum()]
            bg, bp = gc & valid, pc & valid
            to_g, to_p = _distance_to(bg), _distance_to(bp)
            for i, t in enumerate(tolerances):
                f[i, :, k] += [(bp & (to_g <= t)).sum(), bp.sum(), (bg & (to_p <= t)).sum(), bg.sum()]
    return torch.from_numpy(iou), torch.from_numpy(f)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("strategy", ["shifts", "search", "search_in_blocks"])
def test_one_distance_map_per_label_map_matches_the_per_class_definition(seed, strategy, monkeypatch):
    # The counts use one distance map per label map, and shifted contour maps or a row
    # search for boundary F; the reference applies the definitions class by class.
    monkeypatch.setattr(boundary, "_MAX_SHIFTS", 10**6 if strategy == "shifts" else 0)
    if strategy == "search_in_blocks":
        monkeypatch.setattr(boundary, "_SEARCH_BLOCK", 5)
    pred, target = blocky(seed, size=(8 + seed % 3, 10 - seed % 2), void=0.1)
    widths, tolerances = (1, 1.5, 2, 3, 30), (0, 1, 1.5, 2, 3.2, 30)
    expected_iou, expected_f = _reference(pred, target, 4, widths, tolerances)
    assert torch.equal(boundary_iou_counts(pred, target, 4, widths), expected_iou)
    assert torch.equal(boundary_f_counts(pred, target, 4, tolerances), expected_f)


@pytest.mark.parametrize("strategy", ["shifts", "search"])
def test_boundary_f_hand_counts_by_either_strategy(strategy, monkeypatch):
    monkeypatch.setattr(boundary, "_MAX_SHIFTS", 10**6 if strategy == "shifts" else 0)
    expected = bf([[2, 12, 2, 12], [11, 12, 11, 12], [12, 12, 12, 12]], [[1, 4, 1, 4], [3, 4, 3, 4], [4, 4, 4, 4]])
    assert torch.equal(boundary_f_counts(DIAG_PRED, DIAG_GT, 2, (0, 1, 1.5)), expected)
    expected = bf([[6, 6, 6, 6], [6, 6, 6, 6]], [[6, 6, 6, 6], [6, 6, 6, 6]])
    assert torch.equal(boundary_f_counts(VOID_PRED, VOID_GT, 2, (0, 1)), expected)


def test_boundary_f_of_many_classes_uses_wide_labels():
    # 300 classes do not fit the uint8 contour maps of the shift comparison
    target = SQUARE_GT * 299
    counts = boundary_f_counts(target, target, 300, (0, 1))
    assert counts[:, 1, 299].tolist() == [8, 8] and counts[:, 0, 299].tolist() == [8, 8]
    assert counts[:, 3, 0].tolist() == [16, 16] and counts[:, :, 1:299].sum() == 0


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("fn", [boundary_iou_counts, boundary_f_counts])
def test_boundary_metrics_reject_bad_input(fn):
    ok = torch.zeros(1, 4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="class ids"):
        fn(ok + 3, ok, 3, (1,))
    with pytest.raises(ValueError, match="class ids"):
        fn(ok, ok + 7, 3, (1,))  # neither a class nor void
    with pytest.raises(ValueError, match="integer"):
        fn(ok.float(), ok, 3, (1,))
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        fn(ok[0], ok[0], 3, (1,))
    with pytest.raises(ValueError):
        fn(ok, ok, 3, (2, 1))


def test_boundary_iou_rejects_a_floored_map_for_widths_it_cannot_give():
    target = SQUARE_GT
    floored = edge_distance(target).clamp(max=255).floor().to(torch.uint8)
    with pytest.raises(ValueError, match="255"):
        boundary_iou_counts(target, target, 2, (1, 300), distance=floored)
    with pytest.raises(ValueError, match="distance"):
        boundary_iou_counts(target, target, 2, (1,), distance=floored[:, :3])


def test_boundary_f_tolerance_zero_is_allowed_but_not_negative():
    assert boundary_f_counts(SQUARE_GT, SQUARE_GT, 2, (0,)).shape == (1, 4, 2)
    with pytest.raises(ValueError, match="tolerances"):
        boundary_f_counts(SQUARE_GT, SQUARE_GT, 2, (-1, 1))
    with pytest.raises(ValueError, match="width"):
        boundary_iou_counts(SQUARE_GT, SQUARE_GT, 2, (0, 1))
