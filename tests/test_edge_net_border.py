"""How the edge net reads past the image border (``edge_net_border``): zero padding stays the
default fit and every earlier id; reflect padding and an uncounted border are settings."""

from __future__ import annotations

import pytest
import torch
from test_edge_net_settings import fit_through_prepare  # tests/ is on sys.path under pytest

import methods
from benchmark.prepare import PREPARATION_SETTINGS, preparation_key
from benchmark.spec import UNSTATED_SETTINGS, RunSpec, scale_settings
from methods.edge_net import inner_pixels


def _ones_net(border: str) -> methods.EdgeNet:
    net = methods.EdgeNet(2, border=border).double()
    with torch.no_grad():
        for conv in (net.conv1, net.conv2, net.conv3):
            conv.weight.fill_(1.0)
            conv.bias.zero_()
    return net


def test_reflect_padding_sees_no_border_on_a_uniform_input():
    # All-ones kernels on an all-ones 2-channel input: conv1 sums 9 pixels x 2 channels = 18
    # everywhere with reflect padding; with zeros a corner sees 4 pixels (8) and an edge 6 (12).
    s = torch.ones(1, 2, 5, 6, dtype=torch.float64)
    psi1_reflect = _ones_net("reflect").embeddings(s, depth=1)[0]
    psi1_zeros = _ones_net("zeros").embeddings(s, depth=1)[0]
    assert torch.equal(psi1_reflect, torch.full_like(psi1_reflect, 18.0))
    assert psi1_zeros[0, 0, 0, 0] == 8.0 and psi1_zeros[0, 0, 0, 2] == 12.0 and psi1_zeros[0, 0, 2, 2] == 18.0


@pytest.mark.parametrize("relu", [False, True])
def test_reflect_embedding_differences_equal_the_embeddings_differenced(relu):
    torch.manual_seed(0)
    net = methods.EdgeNet(3, border="reflect").double()
    a = torch.rand(2, 3, 7, 9, dtype=torch.float64).softmax(1)
    b = torch.rand(2, 3, 7, 9, dtype=torch.float64).softmax(1)
    for depth in (1, 2, 3):
        fast = net.embedding_differences(a, b, depth, relu)
        slow = [x - y for x, y in zip(net.embeddings(a, depth, relu), net.embeddings(b, depth, relu))]
        for f, s in zip(fast, slow):
            torch.testing.assert_close(f, s)


def test_the_uncounted_border_is_the_receptive_radius():
    inner = inner_pixels((8, 10))
    assert methods.RECEPTIVE_RADIUS == 3 and inner.sum() == (8 - 6) * (10 - 6)
    assert inner[3:5, 3:7].all() and not inner[:3].any() and not inner[:, 7:].any()


def test_the_border_is_kept_with_the_net(tmp_path):
    masks = torch.zeros(3, 12, 12, dtype=torch.long)
    masks[:, :, 6:] = 1
    net = methods.fit_edge_net(masks, 2, steps=2, border="reflect")
    assert net.info.border == "reflect" and net.conv1.padding_mode == "reflect"
    net.info = methods.EdgeNetInfo(2, alpha=net.info.alpha, sigma=net.info.sigma, f1=1.0, peak=net.info.peak, border="reflect")
    methods.save_edge_net(net, tmp_path / "net.pt")
    loaded = methods.load_edge_net(tmp_path / "net.pt")
    assert loaded.info.border == "reflect" and loaded.conv3.padding_mode == "reflect"
    with pytest.raises(ValueError, match="border must be one of zeros, reflect, uncounted"):
        methods.EdgeNet(2, border="replicate")


def test_the_setting_keeps_earlier_ids_at_its_default_and_reaches_the_fit(monkeypatch, tmp_path):
    assert "edge_net_border" in UNSTATED_SETTINGS and "edge_net_border" in PREPARATION_SETTINGS
    base = RunSpec.create("semeda", scale="small")
    assert base.settings.edge_net_border == "zeros" and "edge_net_border" not in base.to_dict()["settings"]
    other = RunSpec.create("semeda", scale="small", overrides={"edge_net_border": "reflect"})
    assert other.run_id() != base.run_id() and preparation_key(other) != preparation_key(base)
    with pytest.raises(ValueError, match="edge_net_border must be zeros or reflect or uncounted"):
        scale_settings("small", edge_net_border="mirror")
    assert "border" not in fit_through_prepare(monkeypatch, tmp_path / "a", {"edge_net_steps": 2})["kwargs"]
    seen = fit_through_prepare(monkeypatch, tmp_path / "b", {"edge_net_steps": 2, "edge_net_border": "reflect"})
    assert seen["kwargs"]["border"] == "reflect" and seen["net"].info.border == "reflect"
