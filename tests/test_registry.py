"""The whole registry: every method gives finite terms, gradients reach the logits and never the edge net."""

import math
import warnings

import pytest
import torch

import methods
from methods import EdgeNet, build_method, list_methods, method_class

NUM_CLASSES = 4
VOID = 255


def make_method(name, **params):
    cls = method_class(name)
    if cls.needs_edge_net:
        params["edge_net"] = EdgeNet(NUM_CLASSES)
    return build_method(name, **params)


def outputs_for(method, target):
    torch.manual_seed(1)
    n, h, w = target.shape
    logits = torch.randn(n, NUM_CLASSES, h, w, requires_grad=True)
    edge_logits = torch.randn(n, 2, h, w, requires_grad=True) if method.needs_edge_head else None
    return logits, edge_logits


def random_target():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(NUM_CLASSES, (2, 9, 11), generator=g)
    target[1, 3:6, :] = VOID
    return target


def test_the_paper_methods_and_two_more_are_registered():
    assert {"ppce", "ubernet", "ppce_edges", "semeda", "lovasz", "dice"} <= set(list_methods())


@pytest.mark.parametrize("name", list_methods())
def test_finite_loss_gradient_to_logits_none_to_edge_net(name):
    method = make_method(name)
    target = random_target()
    logits, edge_logits = outputs_for(method, target)
    terms = method(logits, target, edge_logits=edge_logits)
    assert "total" in terms and len(terms) >= 2
    for key, value in terms.items():
        assert value.dim() == 0 and math.isfinite(value.item()), key
    terms["total"].backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    if edge_logits is not None:
        assert edge_logits.grad.abs().sum() > 0
    if method.edge_net is not None:
        assert all(not p.requires_grad and p.grad is None for p in method.edge_net.parameters())


@pytest.mark.parametrize("name", list_methods())
def test_all_void_target_gives_zero_loss_and_no_nan(name):
    method = make_method(name)
    target = torch.full((1, 5, 5), VOID)
    logits, edge_logits = outputs_for(method, target)
    total = method(logits, target, edge_logits=edge_logits)["total"]
    assert total.item() == 0.0
    total.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", list_methods())
def test_void_pixels_contribute_nothing(name):
    # Changing the logits at void pixels that no non-void pixel's 3x3 neighbourhood reaches
    # (edge net receptive field is 7x7: keep them 4+ pixels away) leaves the loss unchanged.
    method = make_method(name)
    target = torch.zeros(1, 12, 12, dtype=torch.long)
    target[0, :, :3] = 1
    target[0, :, 6:] = VOID
    logits, edge_logits = outputs_for(method, target)
    before = method(logits, target, edge_logits=edge_logits)["total"].item()
    with torch.no_grad():
        logits[..., 9:] += 5 * torch.randn_like(logits[..., 9:])
        if edge_logits is not None:
            edge_logits[..., 9:] += 5
    after = method(logits, target, edge_logits=edge_logits)["total"].item()
    assert after == pytest.approx(before, rel=1e-6)


def test_unknown_method_lists_valid_names():
    with pytest.raises(ValueError, match="unknown method 'semda'.*ppce.*semeda"):
        build_method("semda")


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("semeda", {"lambdas": (1, -1, 0)}, ">= 0"),
        ("semeda", {"lambdas": (1, 0)}, "takes 3 lambdas, got 2"),
        ("semeda", {"lambdas": "0,x,0"}, "'x' is not a number"),
        ("semeda", {"lambdas": (0, float("nan"), 0)}, "finite"),
        ("ubernet", {"lambdas": (1, 2)}, "takes 1 lambda, got 2"),
        ("ppce", {"lambdas": (1,)}, "takes no parameter 'lambdas'"),
        ("ppce", {"relu": True}, "takes no parameter 'relu'; valid parameters: ignore_index"),
        ("semeda", {"relu": "yes"}, "relu must be True or False"),
    ],
)
def test_bad_parameters_raise_value_error(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_method(name, **params)


def test_lambdas_accept_the_cli_form_and_defaults():
    assert build_method("semeda", lambdas="0.25,0.5,1").lambdas == (0.25, 0.5, 1.0)
    assert build_method("semeda").params == {"lambdas": [0.0, 1.0, 0.0], "relu": False, "channels": "sum"}
    assert build_method("ubernet").lambdas == (1.0,)
    assert build_method("ppce").params == {}


def test_methods_needing_an_edge_net_say_so_when_it_is_missing():
    method = build_method("semeda")
    with pytest.raises(RuntimeError, match="needs a fitted edge net"):
        method(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))


def test_edge_net_class_count_must_match():
    method = build_method("ppce_edges", edge_net=EdgeNet(3))
    with pytest.raises(ValueError, match="fitted for 3 classes but the logits have 5"):
        method(torch.zeros(1, 5, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))


def test_ubernet_without_edge_head_says_how_to_fix():
    with pytest.raises(ValueError, match="edge_head=True"):
        build_method("ubernet")(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))


def test_registering_twice_warns():
    cls = method_class("ppce")
    replacement = type("PPCE2", (cls,), {})
    with pytest.warns(UserWarning, match="registered twice"):
        methods.register_method(replacement)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        methods.register_method(cls)  # restore the original
    assert method_class("ppce") is cls
