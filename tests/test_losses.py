"""Each loss on a tiny example against a value computed by hand."""

import math

import pytest
import torch

from methods import EdgeNet, build_method

LN = math.log
VOID = 255


def logits_of(probs):
    """[N,C,H,W] logits whose softmax is ``probs`` (given per pixel as [H][W][C])."""
    return torch.tensor([probs], dtype=torch.float64).log().permute(0, 3, 1, 2).contiguous()


# A 2x2 image, 2 classes, one void pixel (bottom right):
#   A (0,0): p = (1/4, 3/4), target 0     B (0,1): p = (1/2, 1/2), target 1
#   C (1,0): p = (3/4, 1/4), target 1     D (1,1): void
PROBS = [[[0.25, 0.75], [0.5, 0.5]], [[0.75, 0.25], [0.5, 0.5]]]
TARGET = torch.tensor([[[0, 1], [1, VOID]]])
# -log p_target at A, B, C: ln 4, ln 2, ln 4
PPCE = (LN(4) + LN(2) + LN(4)) / 3


def hand_edge_net(dtype=torch.float64):
    """An edge net with 1x1 (centre-tap) kernels so every embedding is computed per pixel.

    psi1 (pre-ReLU) = (p0 - p1, p1 - p0, 0, ...)
    psi2 (pre-ReLU) = (2 relu(p0 - p1), -relu(p1 - p0), 0, ...)
    psi3            = (relu(psi2_0) + 0.5, relu(psi2_1) - 0.5) = (2 relu(p0 - p1) + 0.5, -0.5)
    """
    net = EdgeNet(2).to(dtype)
    with torch.no_grad():
        for conv in (net.conv1, net.conv2, net.conv3):
            conv.weight.zero_()
            conv.bias.zero_()
        net.conv1.weight[0, :, 1, 1] = torch.tensor([1.0, -1.0])
        net.conv1.weight[1, :, 1, 1] = torch.tensor([-1.0, 1.0])
        net.conv2.weight[0, 0, 1, 1] = 2.0
        net.conv2.weight[1, 1, 1, 1] = -1.0
        net.conv3.weight[0, 0, 1, 1] = 1.0
        net.conv3.weight[1, 1, 1, 1] = 1.0
        net.conv3.bias.copy_(torch.tensor([0.5, -0.5]))
    return net


def test_ppce():
    out = build_method("ppce")(logits_of(PROBS), TARGET)
    assert out["total"].item() == pytest.approx(PPCE)
    assert set(out) == {"ppce", "total"}


def test_ubernet_adds_weighted_edge_cross_entropy():
    edge_logits = torch.zeros(1, 2, 2, 2, dtype=torch.float64)  # p(edge) = 1/2 everywhere
    edges = torch.tensor([[[True, False], [False, False]]])
    out = build_method("ubernet", lambdas=0.5)(logits_of(PROBS), TARGET, edges=edges, edge_logits=edge_logits)
    assert out["edge_ppce"].item() == pytest.approx(LN(2))
    assert out["total"].item() == pytest.approx(PPCE + 0.5 * LN(2))


def test_ppce_on_edges_goes_through_the_edge_net():
    # Edge logits = (2 relu(p0 - p1) + 0.5, -0.5): A (0.5, -0.5), B (0.5, -0.5), C (1.5, -0.5).
    # Edges: A and B are edges (target 1), C is not (target 0).
    edges = torch.tensor([[[True, True], [False, False]]])
    method = build_method("ppce_edges", lambdas=(5,), edge_net=hand_edge_net())
    out = method(logits_of(PROBS), TARGET, edges=edges)
    ce_edge_ab = LN(1 + math.exp(1.0))  # -log softmax(0.5, -0.5)[1]
    ce_non_edge_c = LN(1 + math.exp(-2.0))  # -log softmax(1.5, -0.5)[0]
    expected = (2 * ce_edge_ab + ce_non_edge_c) / 3
    assert out["edge_ppce"].item() == pytest.approx(expected)
    assert out["total"].item() == pytest.approx(PPCE + 5 * expected)


# Per-pixel L1 norms over channels (A, B, C), worked out from hand_edge_net's formulas with
# S* = one-hot: A -> (1, 0), B -> (0, 1), C -> (0, 1).
SEMEDA_LAYER = {
    # psi1 pre: A pred (-1/2, 1/2) vs (1, -1): 3; B (0, 0) vs (-1, 1): 2; C (1/2, -1/2) vs (-1, 1): 3
    (1, False): (3 + 2 + 3) / 3,
    # psi1 post: A (0, 1/2) vs (1, 0): 3/2; B (0, 0) vs (0, 1): 1; C (1/2, 0) vs (0, 1): 3/2
    (1, True): (1.5 + 1 + 1.5) / 3,
    # psi2 pre: A (0, -1/2) vs (2, 0): 5/2; B (0, 0) vs (0, -1): 1; C (1, 0) vs (0, -1): 2
    (2, False): (2.5 + 1 + 2) / 3,
    # psi2 post: A (0, 0) vs (2, 0): 2; B: 0; C (1, 0) vs (0, 0): 1
    (2, True): (2 + 0 + 1) / 3,
    # psi3: A (0.5, -0.5) vs (2.5, -0.5): 2; B: 0; C (1.5, -0.5) vs (0.5, -0.5): 1
    (3, False): (2 + 0 + 1) / 3,
    (3, True): (2 + 0 + 1) / 3,
}


@pytest.mark.parametrize("layer", [1, 2, 3])
@pytest.mark.parametrize("relu", [False, True])
def test_semeda_single_layer(layer, relu):
    lambdas = [0.0, 0.0, 0.0]
    lambdas[layer - 1] = 2.0
    method = build_method("semeda", lambdas=lambdas, relu=relu, edge_net=hand_edge_net())
    out = method(logits_of(PROBS), TARGET)
    assert out[f"semeda_{layer}"].item() == pytest.approx(SEMEDA_LAYER[(layer, relu)])
    assert out["total"].item() == pytest.approx(PPCE + 2.0 * SEMEDA_LAYER[(layer, relu)])
    assert [k for k in out if k.startswith("semeda_")] == [f"semeda_{layer}"]


def test_semeda_sums_over_channels_not_mean():
    # psi1 has 16 channels of which 2 are non-zero; a mean over channels would give 1/8 of this.
    method = build_method("semeda", lambdas=(1, 0, 0), relu=False, edge_net=hand_edge_net())
    assert method(logits_of(PROBS), TARGET)["semeda_1"].item() == pytest.approx(8 / 3)


def test_semeda_combined_lambdas():
    method = build_method("semeda", lambdas=(1, 0.5, 0.25), edge_net=hand_edge_net())
    expected = PPCE + 8 / 3 + 0.5 * 11 / 6 + 0.25 * 1
    assert method(logits_of(PROBS), TARGET)["total"].item() == pytest.approx(expected)


def test_semeda_relu_variants_differ_where_a_pre_activation_is_negative():
    before = build_method("semeda", lambdas=(1, 0, 0), relu=False, edge_net=hand_edge_net())
    after = build_method("semeda", lambdas=(1, 0, 0), relu=True, edge_net=hand_edge_net())
    a, b = before(logits_of(PROBS), TARGET)["total"], after(logits_of(PROBS), TARGET)["total"]
    assert a.item() - b.item() == pytest.approx(8 / 3 - 4 / 3)


def test_semeda_void_pixels_feed_the_receptive_field_with_the_prediction():
    # conv1 channel 0 reads the right-hand neighbour's p0. Pixel 0 (target 0) sees the void
    # pixel 1, where S* takes the prediction's value: the difference is exactly 0. Filling
    # void with zeros or a uniform distribution would give |0.3 - 0| or |0.3 - 0.5| instead.
    net = EdgeNet(2).to(torch.float64)
    with torch.no_grad():
        for conv in (net.conv1, net.conv2, net.conv3):
            conv.weight.zero_()
            conv.bias.zero_()
        net.conv1.weight[0, 0, 1, 2] = 1.0
    logits = logits_of([[[0.9, 0.1], [0.3, 0.7]]])
    out = build_method("semeda", lambdas=(1, 0, 0), edge_net=net)(logits, torch.tensor([[[0, VOID]]]))
    assert out["semeda_1"].item() == 0.0


def test_semeda_squared_l2_distance():
    # psi2 pre (see SEMEDA_LAYER): A (0, -1/2) vs (2, 0): 4 + 1/4; B (0, 0) vs (0, -1): 1; C (1, 0) vs (0, -1): 2
    method = build_method("semeda", lambdas=(0, 1, 0), norm="l2", edge_net=hand_edge_net())
    assert method(logits_of(PROBS), TARGET)["semeda_2"].item() == pytest.approx((4.25 + 1 + 2) / 3)
    mean = build_method("semeda", lambdas=(0, 1, 0), norm="l2", channels="mean", edge_net=hand_edge_net())
    assert mean(logits_of(PROBS), TARGET)["semeda_2"].item() == pytest.approx((4.25 + 1 + 2) / 3 / 32)


def test_semeda_third_layer_as_the_softmax_output():
    # psi3 logits: A (0.5, -0.5) vs (2.5, -0.5), B equal, C (1.5, -0.5) vs (0.5, -0.5); softmax of
    # (a, b) is (sigmoid(a - b), sigmoid(b - a)), so each pixel's L1 norm is 2 |sigmoid(x) - sigmoid(y)|.
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = (2 * (sig(3) - sig(1)) + 0 + 2 * (sig(2) - sig(1))) / 3
    method = build_method("semeda", lambdas=(1, 0.5, 2), third="softmax", edge_net=hand_edge_net())
    out = method(logits_of(PROBS), TARGET)
    assert out["semeda_3"].item() == pytest.approx(expected)
    assert out["semeda_1"].item() == pytest.approx(8 / 3) and out["semeda_2"].item() == pytest.approx(11 / 6)
    logits = logits_of(PROBS).requires_grad_()
    build_method("semeda", lambdas=(0, 0, 1), third="softmax", edge_net=hand_edge_net())(logits, TARGET)["total"].backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_semeda_new_choices_keep_the_earlier_parameters_at_their_defaults():
    from benchmark.spec import row_key, row_label

    assert build_method("semeda", lambdas=(0, 1, 0)).params == {"lambdas": [0.0, 1.0, 0.0], "relu": False, "channels": "sum"}
    assert row_key("semeda", {"lambdas": (0, 1, 0), "norm": "l1", "third": "logits"}) == row_key("semeda", {"lambdas": (0, 1, 0)})
    assert row_label(row_key("semeda", {"lambdas": (0, 0, 1), "norm": "l2", "third": "softmax"})) == \
        "semeda(0,0,1) before ReLU norm=l2 third=softmax"
    with pytest.raises(ValueError, match="norm must be one of l1, l2"):
        build_method("semeda", norm="l3")


def test_semeda_with_zero_lambdas_equals_ppce():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7, 9)
    target = torch.randint(5, (2, 7, 9))
    target[0, :2] = VOID
    semeda = build_method("semeda", lambdas=(0, 0, 0), edge_net=EdgeNet(5))
    assert semeda(logits, target)["total"].item() == build_method("ppce")(logits, target)["total"].item()


# Lovasz-softmax on 3 pixels (1x3 image) plus a void pixel, 2 classes:
#   p = (0.8, 0.2), (0.4, 0.6), (0.7, 0.3), targets 0, 1, 1.
# Class 0: errors |fg - p0| = 0.2, 0.4, 0.7 -> sorted 0.7 (fg 0), 0.4 (fg 0), 0.2 (fg 1);
#   Jaccard losses after each: 1/2, 2/3, 1 -> increments 1/2, 1/6, 1/3 -> 0.35 + 0.4/6 + 0.2/3 = 29/60.
# Class 1: errors 0.2, 0.4, 0.7 -> sorted 0.7 (fg 1), 0.4 (fg 1), 0.2 (fg 0);
#   Jaccard losses 1/2, 1, 1 -> increments 1/2, 1/2, 0 -> 0.35 + 0.2 = 33/60.
LOVASZ_PROBS = [[[0.8, 0.2], [0.4, 0.6], [0.7, 0.3], [0.5, 0.5]]]
LOVASZ_TARGET = torch.tensor([[[0, 1, 1, VOID]]])
LOVASZ_PPCE = (LN(1 / 0.8) + LN(1 / 0.6) + LN(1 / 0.3)) / 3


def test_lovasz():
    out = build_method("lovasz", lambdas=2)(logits_of(LOVASZ_PROBS), LOVASZ_TARGET)
    assert out["lovasz"].item() == pytest.approx((29 / 60 + 33 / 60) / 2)
    assert out["total"].item() == pytest.approx(LOVASZ_PPCE + 2 * 31 / 60)


def test_dice():
    # Class 0: intersection 0.8, |P| + |T| = 1.9 + 1 -> 1 - 1.6/2.9; class 1: 0.9, 1.1 + 2 -> 1 - 1.8/3.1.
    out = build_method("dice")(logits_of(LOVASZ_PROBS), LOVASZ_TARGET)
    expected = ((1 - 1.6 / 2.9) + (1 - 1.8 / 3.1)) / 2
    assert out["dice"].item() == pytest.approx(expected, rel=1e-6)
    assert out["total"].item() == pytest.approx(LOVASZ_PPCE + expected, rel=1e-6)


# ------------------------------------------------------------- focal and Lovasz against smp's
# The focal and Lovasz terms are smp's losses computed with fewer gathers and scatters
# (methods.focal_term, methods.lovasz_softmax_term); their numbers must be smp's, bit for bit.


def _random_batch(seed: int, n: int, c: int, h: int, w: int, void: float, absent: tuple[int, ...] = ()):
    """Logits ~ 3 N(0, 1) [n, c, h, w] float32 and a target with a share ``void`` of void
    pixels, classes ``absent`` never drawn."""
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, c, h, w, generator=g)
    present = torch.tensor([k for k in range(c) if k not in absent])
    target = present[torch.randint(len(present), (n, h, w), generator=g)]
    target[torch.rand(n, h, w, generator=g) < void] = VOID
    return logits, target


# (seed, N, C, H, W, void share, absent classes, torch threads): pixel counts that are and are
# not multiples of a vector's width, several threads (a reduction split across them), one class.
SMP_CASES = [
    (0, 4, 19, 32, 64, 0.06, (), 1),
    (1, 2, 19, 33, 37, 0.3, (3, 7, 18), 1),
    (2, 3, 5, 17, 129, 0.0, (0,), 2),
    (3, 4, 19, 64, 128, 0.1, (), 2),
    (4, 1, 3, 5, 7, 0.5, (1, 2), 1),
]


def assert_bit_for_bit(case, ours_fn, theirs_fn) -> None:
    """``ours_fn`` and ``theirs_fn`` (logits, target -> loss) give the same float and the same
    gradient, to the last bit, on the random batch of ``case`` at its thread count."""
    seed, n, c, h, w, void, absent, threads = case
    logits, target = _random_batch(seed, n, c, h, w, void, absent)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        a, b = ours_fn(ours, target), theirs_fn(theirs, target)
        (a * 1.7).backward()
        (b * 1.7).backward()
    finally:
        torch.set_num_threads(before)
    assert torch.equal(a, b), (a.item(), b.item())
    assert torch.equal(ours.grad, theirs.grad), (ours.grad - theirs.grad).abs().max().item()


@pytest.mark.parametrize("case", SMP_CASES)
@pytest.mark.parametrize("gamma", [2.0, 0.5, 0.0])
def test_focal_term_is_smps_focal_loss_bit_for_bit(case, gamma):
    from segmentation_models_pytorch.losses import FocalLoss

    from methods.focal import focal_term

    smp = FocalLoss(mode="multiclass", gamma=gamma, ignore_index=VOID)
    assert_bit_for_bit(case, lambda logits, target: focal_term(logits, target, gamma, VOID), smp)


@pytest.mark.parametrize("case", SMP_CASES)
def test_lovasz_term_is_smps_lovasz_loss_bit_for_bit(case):
    from segmentation_models_pytorch.losses import LovaszLoss

    from methods.lovasz import lovasz_softmax_term

    smp = LovaszLoss(mode="multiclass", ignore_index=VOID, per_image=False)
    assert_bit_for_bit(case, lambda logits, target: lovasz_softmax_term(logits, target, VOID), smp)


def test_focal_and_lovasz_methods_on_an_all_void_batch_give_zero_and_a_zero_gradient():
    logits = torch.randn(2, 4, 3, 5, requires_grad=True)
    target = torch.full((2, 3, 5), VOID)
    for name in ("focal", "lovasz"):
        out = build_method(name)(logits, target)
        assert out[name].item() == 0.0
        out["total"].backward()
        assert torch.count_nonzero(logits.grad) == 0
        logits.grad = None


def test_tversky_at_one_half_is_dice_term_for_term():
    """alpha = beta = 0.5: TP / (TP + FP/2 + FN/2) = 2 TP / (2 TP + FP + FN), soft Dice; the
    declaration (``same_as``) that makes the two one row holds on random batches, at any weight."""
    from methods.testing import check_same_as, same_terms

    for lambdas in ([1.0], [27.0]):
        tversky = build_method("tversky", lambdas=lambdas)
        assert tversky.same_as(tversky.params) == ("dice", {"lambdas": lambdas})
        assert same_terms(tversky, build_method("dice", lambdas=lambdas))
        check_same_as(type(tversky), params={"lambdas": lambdas})
    # by hand on one batch: the two terms are equal, and 0.3/0.7 is not Dice (nor declared so)
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(2, 3, 6, 7, generator=g), torch.randint(3, (2, 6, 7), generator=g)
    assert math.isclose(build_method("tversky")(logits, target)["tversky"].item(), build_method("dice")(logits, target)["dice"].item(), rel_tol=1e-6)
    skewed = build_method("tversky", alpha=0.3, beta=0.7)
    assert skewed.same_as(skewed.params) is None
    assert not same_terms(skewed, build_method("dice"))
