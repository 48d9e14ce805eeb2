"""The edge net: embeddings, the noisy-softmax input, fitting, saving."""

import math

import pytest
import torch

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
