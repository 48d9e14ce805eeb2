"""The whole registry keeps the method contract (``methods.testing.check_method``), and the registry's errors say what is valid."""

import warnings

import pytest
import torch

import methods
from methods import EdgeNet, build_method, list_methods, method_class
from methods.testing import check_method


def test_the_paper_methods_and_two_more_are_registered():
    assert {"ppce", "ubernet", "ppce_edges", "semeda", "lovasz", "dice"} <= set(list_methods())


@pytest.mark.parametrize("name", list_methods())
def test_every_method_keeps_the_contract(name):
    # Finite terms, a gradient to the logits (and the edge head) but none to the frozen edge
    # net, exactly 0 on an all-void target, void pixels adding nothing, parameters that
    # round-trip into the run id, and the declared minima on a perfect prediction.
    check_method(method_class(name))


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


def test_a_loss_of_ones_own_under_a_built_in_name_is_refused_unless_it_says_replace():
    cls = method_class("ppce")
    replacement = type("PPCE2", (cls,), {})  # defined here, outside the package: a plugin
    with pytest.raises(ValueError, match=r"method 'ppce' is built in; give your loss another name, or register it with "
                                         r"@register_method\(replace=True\)"):
        methods.register_method(replacement)
    assert method_class("ppce") is cls
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert methods.register_method(replace=True)(replacement) is replacement
        assert method_class("ppce") is replacement and methods.method_origin("ppce") is not None
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            methods.register_method(cls)  # restore the original
    assert method_class("ppce") is cls and methods.method_origin("ppce") is None


def test_registering_a_name_of_ones_own_twice_warns():
    first = type("Mine", (methods.StructureLoss,), {"name": "test_mine_twice"})
    second = type("Mine", (methods.StructureLoss,), {"name": "test_mine_twice"})
    try:
        methods.register_method(first)
        with pytest.warns(UserWarning, match="registered twice"):
            methods.register_method(second)
        assert method_class("test_mine_twice") is second
    finally:
        methods.registry.unregister_method("test_mine_twice")
