"""Tests of benchmark.models: shapes, DeepLab v2 structure, weight loading, frozen BN."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from benchmark.models import (
    ASPPv2,
    WeightsNotFoundError,
    build_model,
    fused_aspp,
    list_backbones,
    load_weights,
)

R101 = "deeplabv2_resnet101"
SMALL = "deeplabv2_small"


def _batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


# ------------------------------------------------------------------ registry and errors


def test_list_backbones_names_both_deeplab_variants():
    assert {R101, SMALL} <= set(list_backbones())


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(ValueError) as err:
        build_model("resnet9000", 3)
    message = str(err.value)
    assert "resnet9000" in message and R101 in message and SMALL in message
    assert "smp:<Arch>:<encoder>" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "name, expected",
    [
        ("smp:NoSuchNet:resnet18", "Unet"),
        ("smp:Unet:no_such_encoder", "resnet34"),
        ("smp:Unet", "smp:<Arch>:<encoder>"),
        ("smp:DPT:resnet18", "smp cannot build"),  # DPT needs a timm ViT encoder
    ],
)
def test_smp_unknown_arch_or_encoder_is_value_error(name, expected):
    with pytest.raises(ValueError, match=expected):
        build_model(name, 3)


def test_width_only_for_small_network():
    with pytest.raises(ValueError, match="width"):
        build_model(R101, 3, width=8)


# ------------------------------------------------------------------ output shapes


@pytest.mark.parametrize("edge_head", [False, True])
@pytest.mark.parametrize(
    "name, kwargs",
    [
        (R101, {}),
        (SMALL, {"width": 8}),
        (SMALL, {}),
        ("smp:Unet:resnet18", {}),
        ("smp:DeepLabV3Plus:resnet18", {}),  # output stride 16: 65x97 must be padded
    ],
)
def test_logits_at_odd_input_size(name, kwargs, edge_head):
    torch.manual_seed(0)
    model = build_model(name, 5, edge_head=edge_head, **kwargs)
    # Batch 2: smp's DeepLabV3Plus pools the image to 1x1 before a BatchNorm.
    out = model(torch.randn(2, 3, 65, 97))
    assert out["logits"].shape == (2, 5, 65, 97)
    assert torch.isfinite(out["logits"]).all()
    if edge_head:
        assert set(out) == {"logits", "edge_logits"}
        assert out["edge_logits"].shape == (2, 2, 65, 97)
    else:
        assert set(out) == {"logits"}
    assert model.backbone_name == name


# ------------------------------------------------------------------ DeepLab v2 structure


@pytest.fixture(scope="module")
def r101() -> nn.Module:
    torch.manual_seed(0)
    return build_model(R101, 21).eval()


@pytest.mark.parametrize("size, feature_size", [((33, 33), (5, 5)), ((65, 97), (9, 13))])
def test_resnet101_output_stride_8(r101, size, feature_size):
    # conv1 (stride 2, pad 3, k7), max pool (stride 2, pad 1, k3) and layer2 (stride 2,
    # pad 1, k3) each map n to floor((n - 1) / 2) + 1; layer3/4 are dilated, not strided:
    # 33 -> 17 -> 9 -> 5, 65 -> 33 -> 17 -> 9, 97 -> 49 -> 25 -> 13.
    with torch.no_grad():
        features = r101.backbone(torch.randn(1, 3, *size))
    assert features.shape == (1, 2048, *feature_size)


def test_resnet101_head_is_four_dilated_branches_without_bn(r101):
    head = r101.classifier
    assert isinstance(head, ASPPv2)
    convs = [m for m in head.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    assert [c.dilation for c in convs] == [(6, 6), (12, 12), (18, 18), (24, 24)]
    assert [c.padding for c in convs] == [(6, 6), (12, 12), (18, 18), (24, 24)]
    assert all(c.kernel_size == (3, 3) and c.in_channels == 2048 for c in convs)
    assert all(c.out_channels == 21 for c in convs)
    assert not _batch_norms(head)
    assert not any(isinstance(m, (nn.AdaptiveAvgPool2d, nn.ReLU)) for m in head.modules())


def test_resnet101_aspp_init_is_normal_std_001(r101):
    for conv in r101.classifier.branches:
        # 2048*9*21 = 387k draws: the sample std is within 0.2% of 0.01.
        assert conv.weight.std().item() == pytest.approx(0.01, rel=0.01)
        assert conv.weight.mean().abs().item() < 1e-4
        assert torch.count_nonzero(conv.bias) == 0


def test_aspp_branches_are_summed():
    head = ASPPv2(3, 2, rates=(1, 2, 4, 6))
    with torch.no_grad():
        for bias, conv in zip([1.0, 2.0, 3.0, 4.0], head.branches):
            conv.weight.zero_()
            conv.bias.fill_(bias)
        out = head(torch.randn(1, 3, 7, 9))
    assert torch.equal(out, torch.full((1, 2, 7, 9), 10.0))


def test_resnet101_logits_are_sum_of_branch_biases_when_weights_are_zero():
    # A constant score map stays constant through bilinear up-sampling.
    model = build_model(R101, 2).eval()
    with torch.no_grad():
        for bias, conv in zip([0.5, 1.0, 1.5, 2.0], model.classifier.branches):
            conv.weight.zero_()
            conv.bias.fill_(bias)
        logits = model(torch.randn(1, 3, 33, 33))["logits"]
    assert torch.allclose(logits, torch.full((1, 2, 33, 33), 5.0))


def test_small_network_structure():
    model = build_model(SMALL, 9, width=8)
    assert model.classifier.rates == (1, 2, 4, 6)
    assert not _batch_norms(model.classifier)
    with torch.no_grad():
        features = model.backbone(torch.randn(1, 3, 64, 128))
    assert features.shape == (1, 32, 8, 16)  # 4 * width channels, output stride 8
    dilations = [m.dilation for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    strides = [m.stride for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2)] * 3 + [(1, 1)] * 2
    assert dilations[-2:] == [(2, 2), (4, 4)]
    default = build_model(SMALL, 9)
    assert default.classifier.branches[0].in_channels == 128  # width 32


# ------------------------------------------------------------------ edge head, init


@pytest.mark.parametrize(
    "name, kwargs", [(R101, {}), (SMALL, {"width": 8}), ("smp:Unet:resnet18", {})]
)
def test_edge_head_does_not_change_init_of_the_rest(name, kwargs):
    torch.manual_seed(123)
    plain = build_model(name, 4, **kwargs)
    rng_plain = torch.get_rng_state()
    torch.manual_seed(123)
    multi = build_model(name, 4, edge_head=True, **kwargs)
    rng_multi = torch.get_rng_state()

    assert plain.edge_head is None and multi.edge_head is not None
    plain_state = plain.state_dict()
    multi_state = multi.state_dict()
    assert set(multi_state) - set(plain_state) == {
        k for k in multi_state if k.startswith("edge_head.")
    }
    for key, value in plain_state.items():
        assert torch.equal(value, multi_state[key]), key
    assert torch.equal(rng_plain, rng_multi)

    torch.manual_seed(123)
    again = build_model(name, 4, edge_head=True, **kwargs)
    for key, value in again.edge_head.state_dict().items():
        assert torch.equal(value, multi.edge_head.state_dict()[key]), key


def test_edge_head_mirrors_the_classifier_rates():
    model = build_model(SMALL, 6, width=8, edge_head=True)
    assert isinstance(model.edge_head, ASPPv2)
    assert model.edge_head.rates == model.classifier.rates == (1, 2, 4, 6)
    assert model.edge_head.branches[0].out_channels == 2
    assert model.edge_head.branches[0].in_channels == 32


def test_fused_heads_hand_computed():
    # 1x1 kernels on a 1x1 map: each head scores w.x + b per branch, branches summed.
    first, second = ASPPv2(2, 1, rates=(1, 2), kernel_size=1), ASPPv2(2, 2, rates=(1, 2), kernel_size=1)
    with torch.no_grad():
        for conv, w, b in zip(first.branches, ([1.0, 2.0], [0.0, 1.0]), (0.5, 0.25)):
            conv.weight.copy_(torch.tensor(w).view(1, 2, 1, 1))
            conv.bias.fill_(b)
        for conv, w, b in zip(second.branches, ([[1.0, 0.0], [0.0, -1.0]], [[2.0, 2.0], [1.0, 1.0]]), (0.0, 1.0)):
            conv.weight.copy_(torch.tensor(w).view(2, 2, 1, 1))
            conv.bias.fill_(b)
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    # first: (3 + 8 + 0.5) + (4 + 0.25) = 15.75; second: (3 + 14 + 1, -4 + 7 + 1) = (18, 4)
    out = fused_aspp(first, second, x)
    assert out.flatten().tolist() == [15.75, 18.0, 4.0]


@pytest.mark.parametrize("name, kwargs", [(SMALL, {"width": 8}), (R101, {})])
def test_edge_head_model_matches_separate_heads_in_scores_and_gradients(name, kwargs):
    # The model runs both heads as one pass; each head alone is the reference.
    torch.manual_seed(0)
    model = build_model(name, 5, edge_head=True, **kwargs).train()
    x = torch.randn(2, 3, 41, 45)
    out = model(x)
    loss = out["logits"].square().mean() + 3 * out["edge_logits"].square().mean()
    loss.backward()
    fused_grads = [p.grad.clone() for p in (*model.classifier.parameters(), *model.edge_head.parameters())]
    model.zero_grad()

    features = model.backbone(x)
    up = lambda s: F.interpolate(s, size=x.shape[-2:], mode="bilinear", align_corners=False)
    logits, edge_logits = up(model.classifier(features)), up(model.edge_head(features))
    assert torch.allclose(out["logits"], logits, atol=1e-5)
    assert torch.allclose(out["edge_logits"], edge_logits, atol=1e-5)
    (logits.square().mean() + 3 * edge_logits.square().mean()).backward()
    separate = [p.grad for p in (*model.classifier.parameters(), *model.edge_head.parameters())]
    for a, b in zip(fused_grads, separate):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_param_groups_split_head_from_backbone():
    model = build_model(SMALL, 6, width=8, edge_head=True, frozen_bn=True)
    backbone, head = model.param_groups()
    head_ids = {id(p) for p in head}
    backbone_ids = {id(p) for p in backbone}
    expected_head = {id(p) for p in model.classifier.parameters()} | {
        id(p) for p in model.edge_head.parameters()
    }
    assert head_ids == expected_head
    assert len(head) == 2 * 4 * 2  # two ASPP heads, four branches, weight + bias
    assert not head_ids & backbone_ids
    # Frozen BN parameters are in neither group; the five conv weights are trainable.
    assert backbone_ids == {id(p) for p in model.parameters() if p.requires_grad} - head_ids
    assert len(backbone) == 5


# ------------------------------------------------------------------ weights


@pytest.fixture(scope="module")
def imagenet_state(tmp_path_factory):
    """A torchvision ResNet-101 state dict (random values) and its file."""
    torch.manual_seed(7)
    state = torchvision.models.resnet101().state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet101.pth"
    torch.save(state, path)
    return state, path


def test_torchvision_weights_land_in_backbone(imagenet_state):
    state, path = imagenet_state
    torch.manual_seed(0)
    model = build_model(R101, 21, weights=path)
    for key in ("conv1.weight", "layer3.5.conv2.weight", "layer4.2.bn3.running_var"):
        assert torch.equal(model.backbone.state_dict()[key], state[key]), key
    assert model.load_report.kind == "torchvision_resnet101"
    assert model.load_report.dropped == ("fc.bias", "fc.weight")
    assert model.load_report.loaded == len(state) - 2


def test_load_weights_without_num_batches_tracked(imagenet_state, tmp_path):
    # ImageNet files from before PyTorch 0.4.1 have no num_batches_tracked buffers.
    state, _ = imagenet_state
    old = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old.pth"
    torch.save(old, path)
    model = build_model(R101, 3, weights=path)
    assert torch.equal(model.backbone.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_wrong_shape_is_refused_naming_key_and_shapes(imagenet_state, tmp_path):
    state, _ = imagenet_state
    bad = dict(state)
    bad["layer2.0.conv1.weight"] = torch.zeros(128, 256, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(bad, path)
    with pytest.raises(ValueError) as err:
        build_model(R101, 3, weights=path)
    message = str(err.value)
    assert "layer2.0.conv1.weight" in message
    assert "(128, 256, 3, 3)" in message and "(128, 256, 1, 1)" in message


def test_missing_key_is_refused(imagenet_state, tmp_path):
    state, _ = imagenet_state
    partial = {k: v for k, v in state.items() if k != "layer4.2.bn3.running_var"}
    path = tmp_path / "partial.pth"
    torch.save(partial, path)
    with pytest.raises(ValueError, match=r"1 missing keys \(layer4\.2\.bn3\.running_var\)"):
        build_model(R101, 3, weights=path)


def test_unexpected_key_is_refused(imagenet_state, tmp_path):
    state, _ = imagenet_state
    extra = {**state, "layer5.0.conv1.weight": torch.zeros(1)}
    path = tmp_path / "extra.pth"
    torch.save(extra, path)
    with pytest.raises(ValueError, match=r"1 unexpected keys \(layer5\.0\.conv1\.weight\)"):
        build_model(R101, 3, weights=path)


def test_missing_weights_file(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(WeightsNotFoundError) as err:
        build_model(R101, 3, weights=path)
    assert isinstance(err.value, ValueError) and isinstance(err.value, FileNotFoundError)
    assert str(err.value) == (
        f"weights file not found: {path} "
        "(pass --weights with a torchvision ResNet-101 state dict)"
    )


def test_unknown_layout_and_unreadable_file(tmp_path):
    model = build_model(SMALL, 3, width=8)
    odd = tmp_path / "caffe_like.pth"
    torch.save({"conv1_w": torch.zeros(1)}, odd)
    with pytest.raises(ValueError, match="Caffe"):
        load_weights(model, odd)
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="cannot read weights file"):
        load_weights(model, junk)


def test_torchvision_weights_refused_for_other_backbones(imagenet_state):
    _, path = imagenet_state
    with pytest.raises(ValueError, match="only into deeplabv2_resnet101"):
        build_model(SMALL, 3, width=8, weights=path)


def test_whole_model_state_dict_loads_strictly(tmp_path):
    torch.manual_seed(1)
    trained = build_model(SMALL, 5, width=8, edge_head=True)
    path = tmp_path / "run.pth"
    torch.save(trained.state_dict(), path)

    torch.manual_seed(2)
    model = build_model(SMALL, 5, width=8, edge_head=True, weights=path)
    assert model.load_report.kind == "segmentation_model"
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    with pytest.raises(ValueError, match=r"classifier\.branches\.0\.weight"):
        build_model(SMALL, 7, width=8, weights=path)  # other number of classes
    cut = tmp_path / "cut.pth"
    torch.save({k: v for k, v in trained.state_dict().items() if "block5" not in k}, cut)
    with pytest.raises(ValueError, match=r"5 missing keys \(backbone\.block5\.0\.weight"):
        build_model(SMALL, 5, width=8, edge_head=True, weights=cut)


def test_plain_run_weights_into_edge_head_model_keep_edge_init(tmp_path):
    torch.manual_seed(1)
    plain = build_model(SMALL, 5, width=8)
    path = tmp_path / "plain.pth"
    torch.save(plain.state_dict(), path)
    torch.manual_seed(2)
    fresh = build_model(SMALL, 5, width=8, edge_head=True)
    torch.manual_seed(2)
    with pytest.warns(UserWarning, match="kept at init"):
        model = build_model(SMALL, 5, width=8, edge_head=True, weights=path)
    assert torch.equal(model.classifier.branches[2].weight, plain.classifier.branches[2].weight)
    assert torch.equal(model.edge_head.branches[0].weight, fresh.edge_head.branches[0].weight)
    assert all(k.startswith("edge_head.") for k in model.load_report.kept_init)
    assert len(model.load_report.kept_init) == 8


# ------------------------------------------------------------------ frozen BN, training


def test_frozen_bn_stays_frozen_through_train_forward_backward():
    torch.manual_seed(0)
    model = build_model(R101, 3, frozen_bn=True)
    model.train()
    norms = _batch_norms(model)
    assert len(norms) == 104  # ResNet-101: stem + 33 bottlenecks x 3 + 4 downsample
    assert all(not m.training for m in norms)
    assert all(not p.requires_grad for m in norms for p in m.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}

    out = model(torch.randn(2, 3, 33, 33))
    out["logits"].square().mean().backward()

    for key, value in model.state_dict().items():
        if "running" in key:
            assert torch.equal(value, before[key]), key
    assert all(p.grad is None for m in norms for p in m.parameters())
    assert model.backbone.conv1.weight.grad is not None


def test_bn_not_frozen_by_default():
    model = build_model(SMALL, 3, width=8).train()
    bn = model.backbone.block1[1]
    assert bn.training and bn.weight.requires_grad
    before = bn.running_mean.clone()
    model(torch.randn(2, 3, 16, 16))
    assert not torch.equal(bn.running_mean, before)


def test_one_sgd_step_with_paper_settings():
    torch.manual_seed(0)
    model = build_model(R101, 21, frozen_bn=True).train()
    backbone, head = model.param_groups()
    optimizer = torch.optim.SGD(
        [{"params": backbone, "lr": 5e-4}, {"params": head, "lr": 5e-3}],
        momentum=0.9,
        weight_decay=5e-4,
    )
    x = torch.randn(1, 3, 41, 41)
    target = torch.randint(0, 21, (1, 41, 41))
    target[0, :5] = 255

    loss = F.cross_entropy(model(x)["logits"], target, ignore_index=255)
    assert math.isfinite(loss.item())
    optimizer.zero_grad()
    loss.backward()

    conv = model.backbone.layer4[2].conv3.weight
    aspp = model.classifier.branches[3].weight
    bn = model.backbone.layer4[2].bn3.weight
    watched = {
        name: (p.detach().clone(), p.grad.clone()) for name, p in [("conv", conv), ("aspp", aspp)]
    }
    bn_before = bn.detach().clone()
    optimizer.step()

    # First SGD step (empty momentum buffer): w <- w - lr * (grad + weight_decay * w).
    for name, p, lr in [("conv", conv, 5e-4), ("aspp", aspp, 5e-3)]:
        w0, g = watched[name]
        assert not torch.equal(p.detach(), w0), name
        expected = w0 - lr * (g + 5e-4 * w0)
        torch.testing.assert_close(p.detach(), expected, msg=name)
    assert torch.equal(bn.detach(), bn_before)
