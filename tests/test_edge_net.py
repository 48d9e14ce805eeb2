"""The edge net: embeddings, the noisy-softmax input, fitting, saving."""

import math

import pytest
import torch
from test_edge_net_settings import AMD_AVX512, INTEL_AVX512, digest, pinned_for_this_cpu

from methods import MIN_F1, EdgeNet, alpha_for_peak, fit_edge_net, load_edge_net, noisy_softmax, save_edge_net


def random_masks(n, size, num_classes, seed=0):
    """Rectangles of random classes on a random background, a void column in every third mask."""
    g = torch.Generator().manual_seed(seed)
    masks = torch.randint(num_classes, (n, 1, 1), generator=g).expand(n, size, size).clone()
    for i in range(n):
        for _ in range(4):
            y, x = torch.randint(size - 4, (2,), generator=g).tolist()
            h, w = torch.randint(3, size // 2, (2,), generator=g).tolist()
            masks[i, y : y + h, x : x + w] = torch.randint(num_classes, (1,), generator=g).item()
        if i % 3 == 0:
            masks[i, :, size // 2] = 255
    return masks


def test_layer_sizes_and_embedding_shapes():
    net = EdgeNet(7)
    assert [tuple(c.weight.shape) for c in (net.conv1, net.conv2, net.conv3)] == [(16, 7, 3, 3), (32, 16, 3, 3), (2, 32, 3, 3)]
    psi = net.embeddings(torch.rand(2, 7, 5, 6), depth=3)
    assert [tuple(p.shape) for p in psi] == [(2, 16, 5, 6), (2, 32, 5, 6), (2, 2, 5, 6)]
    assert len(net.embeddings(torch.rand(1, 7, 4, 4), depth=1)) == 1


def test_relu_variant_clamps_only_the_first_two_layers():
    torch.manual_seed(0)
    net = EdgeNet(3)
    s = torch.rand(1, 3, 6, 6).softmax(1)
    pre, post = net.embeddings(s, relu=False), net.embeddings(s, relu=True)
    assert (pre[0] < 0).any()
    assert torch.equal(post[0], pre[0].clamp_min(0)) and torch.equal(post[1], pre[1].clamp_min(0))
    assert torch.equal(post[2], pre[2])


def test_alpha_for_peak():
    # softmax(a * onehot) over C = 5 classes puts e^a / (e^a + 4) on the true class.
    a = alpha_for_peak(0.8, 5)
    assert math.exp(a) / (math.exp(a) + 4) == pytest.approx(0.8)
    assert a == pytest.approx(math.log(16))
    with pytest.raises(ValueError):
        alpha_for_peak(1.0, 5)


def test_noisy_softmax_without_noise_and_void_is_uniform():
    masks = torch.tensor([[[0, 2, 255]]])
    s = noisy_softmax(masks, 3, alpha=math.log(4), sigma=0.0)
    # e^a = 4 on the true class, 1 on the two others: 4/6 and 1/6.
    assert s[0, :, 0, 0].tolist() == pytest.approx([4 / 6, 1 / 6, 1 / 6])
    assert s[0, :, 0, 1].tolist() == pytest.approx([1 / 6, 1 / 6, 4 / 6])
    assert s[0, :, 0, 2].tolist() == pytest.approx([1 / 3] * 3)


def test_fit_edge_net_reaches_the_promised_f1_and_is_frozen(tmp_path):
    masks = random_masks(300, 32, 6)
    net = fit_edge_net(masks, 6, steps=300, seed=0)
    assert net.info.f1 >= MIN_F1
    assert net.info.alpha == pytest.approx(alpha_for_peak(0.9, 6)) and net.info.sigma == 1.0
    assert all(not p.requires_grad for p in net.parameters())
    path = tmp_path / "edge_net.pt"
    save_edge_net(net, path)
    loaded = load_edge_net(path)
    assert loaded.info == net.info
    x = torch.rand(1, 6, 8, 8)
    assert torch.equal(loaded(x), net(x))


def test_fitting_is_deterministic():
    masks = random_masks(20, 16, 3)
    a, b = fit_edge_net(masks, 3, steps=5), fit_edge_net(masks, 3, steps=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_save_refuses_a_poor_edge_net(tmp_path):
    net = fit_edge_net(random_masks(20, 16, 3), 3, steps=1)
    assert net.info.f1 < MIN_F1
    with pytest.raises(ValueError, match="below 0.95"):
        save_edge_net(net, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_load_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="edge net file not found"):
        load_edge_net(tmp_path / "nope.pt")


def test_the_literal_input_takes_the_largest_sigma_that_passes_the_floor(monkeypatch):
    from methods import edge_net as module

    tried = []
    f1_of = {2.0: 0.50, 1.0: 0.90, 0.5: 0.96, 0.25: 0.99, 0.125: 1.0, 0.0625: 1.0}

    def fake_fit(masks, num_classes, *, peak, sigma, **fit):
        assert peak == module.LITERAL
        tried.append(sigma)
        net = module.EdgeNet(num_classes)
        net.info = module.EdgeNetInfo(num_classes, alpha=1.0, sigma=sigma, f1=f1_of[sigma], peak=peak)
        return net

    monkeypatch.setattr(module, "fit_edge_net", fake_fit)
    masks = torch.zeros(4, 8, 8, dtype=torch.long)
    assert module.fit_literal_edge_net(masks, 3).info.sigma == 0.5 and tried == [2.0, 1.0, 0.5]
    tried.clear()
    f1_of.update({s: 0.5 for s in f1_of})  # none passes: the last tried comes back, and saving refuses it
    net = module.fit_literal_edge_net(masks, 3)
    assert tried == sorted(f1_of, reverse=True) and net.info.sigma == 0.0625
    with pytest.raises(ValueError, match="below 0.95"):
        module.save_edge_net(net, "unused.pt")


def test_the_literal_input_is_the_unscaled_one_hot():
    from methods import edge_net as module

    assert module.check_peak("literal") == "literal"
    with pytest.raises(ValueError, match="literal"):
        module.check_peak("paper")
    masks = torch.zeros(6, 12, 12, dtype=torch.long)
    masks[:, :, 6:] = 1
    net = module.fit_edge_net(masks, 2, peak="literal", sigma=0.25, steps=2)
    assert net.info.alpha == 1.0 and net.info.peak == "literal" and net.info.sigma == 0.25


def test_balanced_loss_by_hand():
    from methods import balanced_edge_cross_entropy

    # Pixels: an edge with logits (0, ln 3) -> p(edge) = 3/4; a non-edge with logits (0, 0)
    # -> p = 1/2; a non-edge with logits (ln 3, 0) -> p(non-edge) = 3/4; one void pixel.
    # beta = 2/3 (two of the three non-void pixels are non-edges): the edge weighs 2/3,
    # each non-edge 1/3; the sum is divided by the 3 non-void pixels.
    ln3 = math.log(3)
    logits = torch.tensor([[0.0, ln3], [0.0, 0.0], [ln3, 0.0], [5.0, -5.0]]).T.reshape(1, 2, 1, 4)
    labels = torch.tensor([[[1, 0, 0, 255]]])
    expected = (2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2) + 1 / 3 * math.log(4 / 3)) / 3
    assert balanced_edge_cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    # without any edge pixel the only class present weighs 0
    assert balanced_edge_cross_entropy(logits, torch.tensor([[[0, 0, 0, 255]]])).item() == 0.0


def squares(n, height, width, side=6):
    """A square of class 1 on class 0 in each mask, away from the border (edges only near it)."""
    masks = torch.zeros(n, height, width, dtype=torch.long)
    for i in range(n):
        y, x = 10 + i % 5, 12 + (3 * i) % 7
        masks[i, y : y + side, x : x + side] = 1
    return masks


def test_edge_net_inputs_hold_out_whole_masks_and_centre_patches_on_edges():
    from methods import edge_net_inputs, semantic_edges

    masks = list(squares(5, 40, 50).to(torch.uint8))
    patches, held = edge_net_inputs(masks, patches=9, size=16, edge_share=1.0, generator=torch.Generator().manual_seed(0))
    # 5 masks: round(0.2 * 5) = 1 held out whole (the last), 9 patches over the 4 others
    assert patches.shape == (9, 16, 16) and patches.dtype == torch.int64
    assert len(held) == 1 and held[0].dtype == torch.int64 and torch.equal(held[0], masks[-1].long())
    # every patch centred on an edge pixel of its mask: the centre is an edge of the patch too
    assert semantic_edges(patches)[:, 8, 8].all()
    # spread evenly: mask j gets the patches k with k * 4 // 9 == j -> 3, 2, 2, 2; each
    # patch is a window of its own mask
    owners = [j for j, count in enumerate((3, 2, 2, 2)) for _ in range(count)]
    for patch, j in zip(patches, owners):
        windows = masks[j].long().unfold(0, 16, 1).unfold(1, 16, 1).reshape(-1, 16, 16)
        assert (windows == patch).all((1, 2)).any()
    # uniform placement (edge_share 0) misses the square in some patches; the draw is deterministic
    uniform, _ = edge_net_inputs(masks, patches=40, size=16, edge_share=0.0, generator=torch.Generator().manual_seed(0))
    assert not semantic_edges(uniform).flatten(1).any(1).all()
    again, _ = edge_net_inputs(masks, patches=40, size=16, edge_share=0.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(uniform, again)


def test_edge_net_inputs_cap_the_held_out_masks_and_pad_small_ones():
    from methods import edge_net_inputs

    masks = list(squares(10, 30, 30))
    _, held = edge_net_inputs(masks, patches=4, size=8, max_held_out=1)
    assert len(held) == 1  # round(0.2 * 10) = 2, capped at 1
    small = [torch.ones(5, 7, dtype=torch.long), torch.zeros(5, 7, dtype=torch.long)]
    patches, held = edge_net_inputs(small, patches=2, size=8, edge_share=0.0)
    expected = torch.full((8, 8), 255)
    expected[:5, :7] = 1
    assert torch.equal(patches[0], expected) and torch.equal(patches[1], expected)  # padded with void
    assert torch.equal(held[0], small[1])  # held-out masks are never padded
    with pytest.raises(ValueError, match="at least 2 masks"):
        edge_net_inputs(small[:1])


def test_the_held_out_f1_counts_every_pixel_of_every_whole_held_out_mask():
    from methods.edge_net import edge_f1

    # sigma = 0: the input is a function of the mask, so the F1 can be recounted here
    fit_masks = squares(6, 24, 24)
    held = [squares(1, 30, 40)[0], random_masks(1, 28, 2, seed=3)[0]]  # two sizes, void in the second
    net = fit_edge_net(fit_masks, 2, sigma=0.0, steps=5, val_masks=held)
    counts = [0, 0, 0]
    for mask in held:
        m = mask[None]
        s = noisy_softmax(m, 2, net.info.alpha, 0.0)
        for i, c in enumerate(edge_f1(net(s), methods_edges(m), m != 255)):
            counts[i] += c
    tp, fp, fn = counts
    assert tp + fn == sum(int(methods_edges(m[None]).sum()) for m in held)  # every edge pixel of both masks
    assert net.info.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))


def methods_edges(masks):
    from methods import semantic_edges

    return semantic_edges(masks)


#: sha256 of the weights ``fit_edge_net`` gave on ``random_masks(20, 16, 3)`` in 20 steps, one
#: thread, before the balanced loss and whole held-out masks existed, on each kind of CPU; with
#: its held-out F1 (the same on both).
EARLIER_FITS = {
    "fixed peak": ({}, {AMD_AVX512: "8893e21966e04a0669bb790086acdcf3493021961edbdc28a56f8ec28344909b",
                        INTEL_AVX512: "36f3b5e3881496e27bc0cf7ec757f8de6765d6859a27cb2a35d3dcf39e4d5c09"}, 0.8654124457308249),
    "drawn peaks": ({"peak": (0.6, 0.95)}, {AMD_AVX512: "1f5289cc552eb4511d1217b5d4827079bf64fd8afb1a72b2c75230f73b38ffdc",
                                            INTEL_AVX512: "158bef44f5cd20b26196b57591a66924d8b90dea77c63bed079336ff243f5f1b"}, 0.5821727019498607),
    "literal": ({"peak": "literal", "sigma": 0.5}, {AMD_AVX512: "c629c0c05f911ac60ffc911d9b2c050a9dd406267014fc558a4f56367df7f9e5",
                                                    INTEL_AVX512: "b26a0beb0e812a9631be7cef07b768313fdda6318b6a99f3beea0d63ba47ad82"}, 0.41333333333333333),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EARLIER_FITS))
def test_the_default_fit_is_bit_for_bit_the_earlier_one(name, one_thread):
    options, digests, f1 = EARLIER_FITS[name]
    expected = pinned_for_this_cpu(digests)
    masks = random_masks(20, 16, 3)
    default = fit_edge_net(masks, 3, steps=20, **options)
    assert digest(default.state_dict().items()) == expected and default.info.f1 == f1
    off = fit_edge_net(masks, 3, steps=20, balance=False, val_masks=None, **options)
    assert all(torch.equal(p, q) for p, q in zip(default.parameters(), off.parameters())) and repr(off.info) == repr(default.info)
    on = fit_edge_net(masks, 3, steps=20, balance=True, **options)
    assert not torch.equal(on.conv1.weight, default.conv1.weight)  # the remedy is a different fit
