"""The distance, skeleton and overlap losses against values computed by hand on tiny examples.

boundary, hausdorff_dt, cldice and boundary_dou (structure losses) and focal, tversky
(non-boundary baselines with parameters beyond lambdas).
"""

import json
import math

import pytest
import torch

from methods import build_method, semantic_edges
from methods._distance import class_masks, mask_contour

VOID = 255
R2, R5, R8 = math.sqrt(2), math.sqrt(5), math.sqrt(8)
NEW_METHODS = ["boundary", "hausdorff_dt", "cldice", "boundary_dou", "focal", "tversky"]


def logits_of(probs):
    """[1, C, H, W] float64 logits whose softmax is ``probs`` (given per pixel as [H][W][C])."""
    return torch.tensor([probs], dtype=torch.float64).log().permute(0, 3, 1, 2).contiguous()


def constant_probs(p, h, w):
    return [[list(p)] * w for _ in range(h)]


def one_hot_logits(target, num_classes, scale=40.0):
    """Logits of a (near) perfect prediction of ``target``, +scale / -scale (perfect for the
    softmax and for focal's per-class sigmoids alike); void pixels get class 0."""
    labels = target.masked_fill(target == VOID, 0)
    onehot = torch.nn.functional.one_hot(labels, num_classes).permute(0, 3, 1, 2)
    return (scale * (2 * onehot - 1)).to(torch.float64)


def non_void_mean(values, target):
    """Mean of a [H][W] table over the non-void pixels of a [1, H, W] target."""
    cells = [v for row, labels in zip(values, target[0].tolist()) for v, t in zip(row, labels) if t != VOID]
    return sum(cells) / len(cells)


# ---------------------------------------------------------------------------- boundary
# 5x5 image: class 1 is the 2x2 square at rows 1-2, cols 1-2; (4, 4) is void; class 0 is
# the rest; class 2 is absent (phi_2 = 0).
BOUNDARY_TARGET = torch.tensor(
    [
        [
            [0, 0, 0, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, VOID],
        ]
    ]
)
# phi_1: outside the square, the distance to it; inside, 0 (every pixel of the square
# touches the outside, EDT = 1, -(1 - 1) = 0). The void pixel's value is never read.
PHI_1 = [
    [R2, 1, 1, R2, R5],
    [1, 0, 0, 1, 2],
    [1, 0, 0, 1, 2],
    [R2, 1, 1, R2, R5],
    [R5, 2, 2, R5, R8],
]
# phi_0: on the square (not 0), the distance to class 0 = 1. On class 0, -(d - 1) with d
# the distance to the nearest pixel that is not 0: the square, or the void pixel, which
# counts as "not 0" and makes (3, 4) and (4, 3) border pixels (d = 1 instead of sqrt 5).
PHI_0 = [
    [-(R2 - 1), 0, 0, -(R2 - 1), -(R5 - 1)],
    [0, 1, 1, 0, -1],
    [0, 1, 1, 0, -1],
    [-(R2 - 1), 0, 0, -(R2 - 1), 0],
    [-(R5 - 1), -1, -1, 0, 1],
]


def test_boundary_is_the_softmax_weighted_signed_distance():
    p = (0.5, 0.3, 0.2)
    expected = non_void_mean([[p[0] * a + p[1] * b for a, b in zip(r0, r1)] for r0, r1 in zip(PHI_0, PHI_1)], BOUNDARY_TARGET)
    out = build_method("boundary", lambdas=2)(logits_of(constant_probs(p, 5, 5)), BOUNDARY_TARGET)
    assert out["boundary"].item() == pytest.approx(expected)
    assert out["total"].item() == pytest.approx(out["ppce"].item() + 2 * expected)


def test_boundary_minimum_is_the_mean_signed_distance_at_the_true_class():
    labels = BOUNDARY_TARGET[0].tolist()
    phi_true = [[(PHI_0, PHI_1)[t][i][j] if t != VOID else 0 for j, t in enumerate(row)] for i, row in enumerate(labels)]
    expected = non_void_mean(phi_true, BOUNDARY_TARGET)
    assert expected == pytest.approx((-4 * (R2 - 1) - 2 * (R5 - 1) - 4) / 24)
    method = build_method("boundary")
    perfect = method(one_hot_logits(BOUNDARY_TARGET, 3), BOUNDARY_TARGET)["boundary"].item()
    assert perfect == pytest.approx(expected, abs=1e-9)
    shifted = method(one_hot_logits(BOUNDARY_TARGET.roll(1, dims=2), 3), BOUNDARY_TARGET)["boundary"].item()
    assert shifted > perfect


def test_boundary_class_covering_the_image_has_no_distance_map():
    logits = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    assert build_method("boundary")(logits, torch.zeros(1, 4, 4, dtype=torch.long))["boundary"].item() == 0.0


def test_boundary_default_lambda_is_the_authors_starting_weight():
    assert build_method("boundary").params == {"lambdas": [0.01]}


# ------------------------------------------------------------------------ hausdorff_dt


def test_hausdorff_dt_on_stripes():
    # 3x4 image, columns of class 0, 0, 1, 1; p(class 1) per column 0.1, 0.3, 0.4, 0.8, so
    # the prediction is 0, 0, 0, 1 (boundary shifted by one column). Contours (8-neighbour)
    # are whole columns: G_0 col 1, G_1 col 2, P_0 col 2, P_1 col 3; distances are |x - col|.
    #   col  e^2   dG0 dG1 dP0 dP1   sum_c e^2 (dG^2 + dP^2)
    #   0    0.01  1   2   2   3     0.01 * (1 + 4 + 4 + 9) = 0.18
    #   1    0.09  0   1   1   2     0.09 * (0 + 1 + 1 + 4) = 0.54
    #   2    0.36  1   0   0   1     0.36 * (1 + 0 + 0 + 1) = 0.72
    #   3    0.04  2   1   1   0     0.04 * (4 + 1 + 1 + 0) = 0.24
    # (two classes: (S_0 - G_0)^2 = (S_1 - G_1)^2 = e^2)
    probs = [[[1 - q, q] for q in (0.1, 0.3, 0.4, 0.8)]] * 3
    target = torch.tensor([[[0, 0, 1, 1]] * 3])
    out = build_method("hausdorff_dt", lambdas=0.5)(logits_of(probs), target)
    assert out["hausdorff_dt"].item() == pytest.approx((0.18 + 0.54 + 0.72 + 0.24) / 4)
    assert out["total"].item() == pytest.approx(out["ppce"].item() + 0.5 * 0.42)


def test_hausdorff_dt_distances_are_euclidean_and_zero_on_the_contour():
    # 5x5, class 1 is the centre pixel (its own contour); the contour of class 0 is the ring
    # of 8 around it. p = (0.6, 0.4) everywhere: the prediction is all class 0, which covers
    # the image and has no contour, and class 1 predicted nowhere: d_P = 0. alpha = 1.
    d_g1 = [  # distance to the centre
        [R8, R5, 2, R5, R8],
        [R5, R2, 1, R2, R5],
        [2, 1, 0, 1, 2],
        [R5, R2, 1, R2, R5],
        [R8, R5, 2, R5, R8],
    ]
    d_g0 = [  # distance to the ring: 0 on it, 1 at the centre, 1 or sqrt 2 on the outer ring
        [R2, 1, 1, 1, R2],
        [1, 0, 0, 0, 1],
        [1, 0, 1, 0, 1],
        [1, 0, 0, 0, 1],
        [R2, 1, 1, 1, R2],
    ]
    target = torch.zeros(1, 5, 5, dtype=torch.long)
    target[0, 2, 2] = 1
    # e^2 = 0.4^2 for both classes off the centre, 0.6^2 at the centre
    weights = [[0.36 if (i, j) == (2, 2) else 0.16 for j in range(5)] for i in range(5)]
    expected = sum(weights[i][j] * (d_g0[i][j] + d_g1[i][j]) for i in range(5) for j in range(5)) / 25
    assert expected == pytest.approx((0.16 * (24 + 16 * R2 + 8 * R5) + 0.36) / 25)
    out = build_method("hausdorff_dt", alpha=1)(logits_of(constant_probs((0.6, 0.4), 5, 5)), target)
    assert out["hausdorff_dt"].item() == pytest.approx(expected)


def test_hausdorff_dt_void_neighbour_makes_a_contour():
    # 1x3 image: class 0, class 0, void. The void neighbour makes pixel 1 a contour pixel of
    # G_0, and of P_0 (predicted class 0 on the non-void pixels; void is in no mask either):
    # d_G0 = d_P0 = (1, 0) at pixels 0, 1. Class 1 has no mask, so no contour: d = 0.
    target = torch.tensor([[[0, 0, VOID]]])
    probs = [[[0.75, 0.25]] * 3]
    out = build_method("hausdorff_dt")(logits_of(probs), target)
    # per pixel, class 0: 0.25^2 (d_G0^2 + d_P0^2)
    assert out["hausdorff_dt"].item() == pytest.approx((0.0625 * 2 + 0.0625 * 0) / 2)


def test_contour_is_the_semantic_edge_map_of_each_class():
    g = torch.Generator().manual_seed(3)
    target = torch.randint(3, (2, 7, 9), generator=g)
    target[1, 2:4, 3:7] = VOID
    contours = mask_contour(class_masks(target, 3))
    edges = semantic_edges(target)
    for c in range(3):
        assert torch.equal(contours[:, c], edges & (target == c))


# ------------------------------------------------------------------------------ cldice
# 3x4 image, each row one class (0, 1, 2): every class is a one-pixel line, whose soft
# skeleton is the line itself (its erosion is 0). The softmax is constant along rows:
#   row 0 (0.6, 0.3, 0.1), row 1 (0.2, 0.5, 0.3), row 2 (0.1, 0.6, 0.3).
# Constant rows make the skeleton a 1-D computation over the three rows (the 1x3 min is the
# value itself, so erode = the min over the row and its neighbour rows, dilate the max;
# rows outside the image do not count):
#   class 0 (0.6, 0.2, 0.1): erode (.2, .1, .1), open (.2, .2, .1), skel (.4, 0, 0);
#     x = (.2, .1, .1): open (.1, .1, .1), delta (.1, 0, 0), skel .4 + (.1 - .4 * .1) = .46
#     x = (.1, .1, .1): delta 0 from here on.            skel(S_0) = (.46, 0, 0)
#   class 1 (0.3, 0.5, 0.6): erode (.3, .3, .5), open (.3, .5, .5), skel (0, 0, .1);
#     x = (.3, .3, .5): open (.3, .3, .3), delta (0, 0, .2), skel .1 + (.2 - .1 * .2) = .28
#     then constant.                                      skel(S_1) = (0, 0, .28)
#   class 2 (0.1, 0.3, 0.3): erode (.1, .1, .3), open (.1, .3, .3), skel 0;
#     x = (.1, .1, .3): open .1, delta (0, 0, .2), skel .2.  skel(S_2) = (0, 0, .2)
# Sums over the 4 columns:
#   class 0: Tprec = (4 * .46 + 1) / (4 * .46 + 1) = 1, Tsens = (4 * .6 + 1) / (4 + 1) = .68
#   class 1: Tprec = (0 + 1) / (4 * .28 + 1) = 1 / 2.12 (its skeleton lies on row 2),
#            Tsens = (4 * .5 + 1) / 5 = .6
#   class 2: Tprec = 1, Tsens = (4 * .3 + 1) / 5 = .44
CLDICE_PROBS = [[list(p)] * 4 for p in ((0.6, 0.3, 0.1), (0.2, 0.5, 0.3), (0.1, 0.6, 0.3))]
CLDICE_TARGET = torch.tensor([[[0] * 4, [1] * 4, [2] * 4]])


def cl_dice(tprec, tsens):
    return 2 * tprec * tsens / (tprec + tsens)


def test_cldice_soft_skeleton_of_lines():
    expected = (3 - cl_dice(1, 0.68) - cl_dice(1 / 2.12, 0.6) - cl_dice(1, 0.44)) / 3
    out = build_method("cldice", lambdas=3)(logits_of(CLDICE_PROBS), CLDICE_TARGET)
    assert out["cldice"].item() == pytest.approx(expected)
    assert out["total"].item() == pytest.approx(out["ppce"].item() + 3 * expected)


def test_cldice_iterations():
    # Without iterations skel(S_1) = (0, 0, .1): Tprec_1 = 1 / 1.4; the others keep Tprec 1.
    expected = (3 - cl_dice(1, 0.68) - cl_dice(1 / 1.4, 0.6) - cl_dice(1, 0.44)) / 3
    out = build_method("cldice", iterations=0)(logits_of(CLDICE_PROBS), CLDICE_TARGET)
    assert out["cldice"].item() == pytest.approx(expected)


def test_cldice_averages_over_the_classes_present():
    # With a fourth, absent class of probability ~0 the mean is still over the three rows.
    probs = [[[*p[:2], p[2] - 1e-12, 1e-12] for p in row] for row in CLDICE_PROBS]
    three = build_method("cldice")(logits_of(CLDICE_PROBS), CLDICE_TARGET)["cldice"].item()
    assert build_method("cldice")(logits_of(probs), CLDICE_TARGET)["cldice"].item() == pytest.approx(three)


# ------------------------------------------------------------------------ boundary_dou
EPS = 1e-5


def dou(pred_sq, area, intersection, boundary):
    alpha = min(2 * (1 - (boundary + EPS) / (area + EPS)) - 1, 0.8)
    return (pred_sq + area - 2 * intersection + EPS) / (pred_sq + area - (1 + alpha) * intersection + EPS)


def test_boundary_dou_counts_boundary_pixels_with_zero_padding_and_void():
    # 5x5, class 1 the 2x2 square in the bottom-right corner, void at (1, 0), class 0 the
    # other 20 pixels; class 2 absent. Class 0 pixels with all four neighbours of class 0
    # (the image border and the void pixel do not count): (1, 2), (1, 3), (2, 1), (2, 2),
    # (3, 1) -> B_0 = 20 - 5 = 15 ((1, 1) touches the void pixel, (2, 3) and (3, 2) the
    # square). Every pixel of the square touches class 0 or the outside: B_1 = A_1 = 4.
    target = torch.zeros(1, 5, 5, dtype=torch.long)
    target[0, 3:, 3:] = 1
    target[0, 1, 0] = VOID
    # p = (0.5, 0.3, 0.2) on the 24 non-void pixels
    term_0 = dou(24 * 0.25, 20, 20 * 0.5, 15)
    term_1 = dou(24 * 0.09, 4, 4 * 0.3, 4)
    assert term_0 == pytest.approx(6 / 21, rel=1e-5) and term_1 == pytest.approx(3.76 / 6.16, rel=1e-5)
    out = build_method("boundary_dou", lambdas=0.5)(logits_of(constant_probs((0.5, 0.3, 0.2), 5, 5)), target)
    assert out["boundary_dou"].item() == pytest.approx((term_0 + term_1) / 2)
    assert out["total"].item() == pytest.approx(out["ppce"].item() + 0.5 * (term_0 + term_1) / 2)


def test_boundary_dou_alpha_is_capped():
    # 64x64 of class 0: B = 4 * 64 - 4 = 252 border pixels, A = 4096, so
    # 2 (1 - B / A) - 1 = 0.877 is capped at 0.8; p = (0.7, 0.3); class 1 absent.
    n = 64 * 64
    expected = (n * (0.49 + 1 - 1.4) + EPS) / (n * (0.49 + 1 - 1.8 * 0.7) + EPS)
    assert dou(n * 0.49, n, n * 0.7, 252) == pytest.approx(expected)
    target = torch.zeros(1, 64, 64, dtype=torch.long)
    out = build_method("boundary_dou")(logits_of(constant_probs((0.7, 0.3), 64, 64)), target)
    assert out["boundary_dou"].item() == pytest.approx(expected)


# ---------------------------------------------------------------------- focal, tversky
# Two labelled pixels (classes 0 and 1) and a void one, in a 1x3 image.
PAIR_TARGET = torch.tensor([[[0, 1, VOID]]])


def test_focal_is_smps_one_against_rest_focal_averaged_over_pixels_and_classes():
    z = [[1.0, -0.5], [0.2, 0.4], [3.0, -3.0]]  # logits per pixel; the last one is void
    logits = torch.tensor(z, dtype=torch.float64).T.reshape(1, 2, 1, 3)

    def fl(value, positive, gamma):
        q = 1 / (1 + math.exp(-value)) if positive else 1 / (1 + math.exp(value))
        return -((1 - q) ** gamma) * math.log(q)

    for gamma in (2.0, 0.5, 0.0):
        # (1 / C) sum_c mean over the 2 non-void pixels
        expected = sum(fl(z[p][c], c == t, gamma) for c in range(2) for p, t in enumerate((0, 1))) / 2 / 2
        out = build_method("focal", gamma=gamma, lambdas=0.5)(logits, PAIR_TARGET)
        assert out["focal"].item() == pytest.approx(expected), gamma
        assert out["total"].item() == pytest.approx(out["ppce"].item() + 0.5 * expected)


def test_tversky_weighs_false_positives_by_alpha_and_false_negatives_by_beta():
    # p = (0.7, 0.2, 0.1) at the class-0 pixel, (0.4, 0.5, 0.1) at the class-1 pixel.
    # class 0: TP 0.7, FP 0.4, FN 0.3; class 1: TP 0.5, FP 0.2, FN 0.5; class 2 absent
    # (adds 0 but counts in the mean over the 3 classes).
    probs = [[[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.1, 0.1, 0.8]]]
    a, b = 0.3, 0.7
    ti_0 = 0.7 / (0.7 + a * 0.4 + b * 0.3)
    ti_1 = 0.5 / (0.5 + a * 0.2 + b * 0.5)
    out = build_method("tversky", alpha=a, beta=b, lambdas=2)(logits_of(probs), PAIR_TARGET)
    assert out["tversky"].item() == pytest.approx((1 - ti_0 + 1 - ti_1) / 3)
    assert out["total"].item() == pytest.approx(out["ppce"].item() + 2 * (2 - ti_0 - ti_1) / 3)
    dice = build_method("dice")(logits_of(probs), PAIR_TARGET)["dice"].item()
    assert build_method("tversky")(logits_of(probs), PAIR_TARGET)["tversky"].item() == pytest.approx(dice)


# ------------------------------------------------------------------ all six: properties
# 6x6, three classes: a 3x3 square (1), a one-pixel vertical line (2), background (0).
SCENE = torch.zeros(1, 6, 6, dtype=torch.long)
SCENE[0, 1:4, 1:4] = 1
SCENE[0, :, 5] = 2


@pytest.mark.parametrize("name", NEW_METHODS)
def test_perfect_prediction_gives_the_minimum_and_a_shift_more(name):
    method = build_method(name)
    perfect = method(one_hot_logits(SCENE, 3), SCENE)[name].item()
    # one column to the right: the line wraps round to the left border
    shifted = method(one_hot_logits(SCENE.roll(1, dims=2), 3), SCENE)[name].item()
    if name == "boundary":  # the mean signed distance at the true class, <= 0
        assert perfect <= 0
    else:
        assert perfect == pytest.approx(0.0, abs=1e-6)
    assert shifted > perfect + 1e-3


@pytest.mark.parametrize("name", NEW_METHODS)
def test_void_pixels_add_nothing_even_next_to_labels(name):
    target = SCENE.clone()
    target[0, 0, :3] = VOID
    target[0, 4, 2] = VOID
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    method = build_method(name)
    before = method(logits, target)
    changed = logits.clone()
    changed[..., 0, :3] += 10 * torch.randn(3, 3, dtype=torch.float64)
    changed[..., 4, 2] -= 10 * torch.randn(3, dtype=torch.float64)
    after = method(changed, target)
    assert after[name].item() == pytest.approx(before[name].item(), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", NEW_METHODS)
def test_all_void_target_gives_zero_and_finite_gradient(name):
    logits = torch.randn(2, 3, 5, 6, requires_grad=True)
    out = build_method(name)(logits, torch.full((2, 5, 6), VOID))
    assert out[name].item() == 0.0 and out["total"].item() == 0.0
    out["total"].backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", NEW_METHODS)
def test_gradient_reaches_the_logits_through_the_term(name):
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 6, 6, requires_grad=True)
    target = torch.cat([SCENE, SCENE.flip(2)])
    target[1, 0, 0] = VOID
    out = build_method(name)(logits, target)
    (grad,) = torch.autograd.grad(out[name], logits)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert out["total"].item() == pytest.approx(out["ppce"].item() + build_method(name).lambdas[0] * out[name].item())


@pytest.mark.parametrize(
    "name, params",
    [
        ("boundary", {"lambdas": [0.01]}),
        ("hausdorff_dt", {"lambdas": [1.0], "alpha": 2.0}),
        ("cldice", {"lambdas": [1.0], "iterations": 3}),
        ("boundary_dou", {"lambdas": [1.0]}),
        ("focal", {"lambdas": [1.0], "gamma": 2.0}),
        ("tversky", {"lambdas": [1.0], "alpha": 0.5, "beta": 0.5}),
    ],
)
def test_default_params_are_plain_json_and_rebuild_the_method(name, params):
    method = build_method(name)
    assert method.params == params
    assert json.loads(json.dumps(method.params)) == params
    assert build_method(name, **method.params).params == params


def test_integer_parameters_are_stored_as_the_same_floats():
    assert build_method("focal", gamma=2).params == build_method("focal").params
    assert build_method("hausdorff_dt", alpha=1).params["alpha"] == 1.0


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("focal", {"gamma": -1}, r"^method 'focal': gamma must be a finite number >= 0, got -1$"),
        ("focal", {"gamma": float("inf")}, "gamma must be a finite number >= 0"),
        ("focal", {"gamma": "2"}, "gamma must be a finite number >= 0, got '2'"),
        ("hausdorff_dt", {"alpha": 0}, "alpha must be a finite number > 0, got 0"),
        ("hausdorff_dt", {"alpha": True}, "alpha must be a finite number > 0"),
        ("cldice", {"iterations": -1}, "iterations must be an integer >= 0, got -1"),
        ("cldice", {"iterations": 1.5}, "iterations must be an integer >= 0, got 1.5"),
        ("tversky", {"alpha": -0.5}, "'tversky': alpha must be a finite number >= 0, got -0.5"),
        ("tversky", {"beta": float("nan")}, "beta must be a finite number >= 0"),
        ("tversky", {"alpha": 0, "beta": 0}, "cannot both be 0"),
        ("boundary", {"lambdas": (1, 2)}, "takes 1 lambda, got 2"),
        ("focal", {"alpha": 0.25}, "takes no parameter 'alpha'; valid parameters: gamma, ignore_index, lambdas$"),
        ("tversky", {"gamma": 2}, "valid parameters: alpha, beta, ignore_index, lambdas$"),
        ("boundary", {"alpha": 1}, "valid parameters: ignore_index, lambdas$"),
        ("boundary_dou", {"eps": 1}, "valid parameters: ignore_index, lambdas$"),
        ("hausdorff_dt", {"gamma": 2}, "valid parameters: alpha, ignore_index, lambdas$"),
        ("cldice", {"iters": 2}, "valid parameters: ignore_index, iterations, lambdas$"),
    ],
)
def test_bad_parameters_raise_value_error(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_method(name, **params)
