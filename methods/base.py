"""The method contract: a structure loss turns model outputs and the target into named terms."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import nn

from methods.edge_net import EdgeNet

__all__ = ["StructureLoss", "parse_lambdas"]


def parse_lambdas(method: str, lambdas, count: int) -> tuple[float, ...]:
    """Validate loss weights: ``count`` finite, non-negative numbers.

    Accepts a sequence, a single number (when ``count`` is 1) or a comma-separated string
    such as ``"0,1,0"`` (the CLI form). Raises ``ValueError`` saying what is expected.
    """
    if isinstance(lambdas, str):
        lambdas = [part for part in lambdas.split(",") if part.strip()]
    elif not isinstance(lambdas, Iterable):
        lambdas = [lambdas]
    values = []
    for raw in lambdas:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"method {method!r}: lambda {raw!r} is not a number; give {count} comma-separated numbers") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"method {method!r}: lambdas must be finite and >= 0, got {raw!r}")
        values.append(value)
    if len(values) != count:
        expected = "no lambdas" if count == 0 else f"{count} lambda{'s' if count > 1 else ''}"
        raise ValueError(f"method {method!r} takes {expected}, got {len(values)}: {tuple(values)}")
    return tuple(values)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_value_text(v) for v in value) + ")"
    return str(value)


class StructureLoss(nn.Module):
    """Base class of every registered method.

    A method declares what it needs from the harness (``needs_edge_head``: an extra
    2-channel edge head on the backbone features; ``needs_edge_net``: the frozen edge net
    g_phi of the dataset) and returns a dict of named scalar loss terms plus ``"total"``,
    the value the trainer back-propagates. Terms are logged unweighted; ``total`` applies
    the lambdas.

    Call signature (all methods)::

        terms = method(logits, target, edges=None, edge_logits=None)

    and, for a method whose ``target_maps`` returns maps, ``target_maps=`` those maps (the
    trainer computes them with the batch, out of the step; None: the method computes them).

    Shape:
        logits: [N, C, H, W] segmentation scores at the target's resolution.
        target: [N, H, W] int64 class ids, ``ignore_index`` for void.
        edges: [N, H, W] bool ground-truth semantic edges of ``target`` (computed by the
            trainer after the crop; derived here when None and a method needs them).
        edge_logits: [N, 2, H, W] output of the model's edge head (Ubernet-style only).
    """

    name: ClassVar[str]
    needs_edge_head: ClassVar[bool] = False
    needs_edge_net: ClassVar[bool] = False
    #: How many lambdas the method takes, and the default when none are given.
    num_lambdas: ClassVar[int] = 0
    default_lambdas: ClassVar[tuple[float, ...]] = ()
    #: Terms whose value for a perfect prediction is known: term -> that value, the term's
    #: minimum (``methods.testing.check_method`` checks it on a one-hot prediction, and that
    #: a random prediction is not below it). A term whose minimum depends on the target
    #: (the boundary loss's) is left out.
    minima: ClassVar[dict[str, float]] = {}
    #: Parameters added after runs of the method were recorded: name -> its default, the value
    #: it had in those runs. ``params`` states each only away from that value, so that the
    #: earlier runs keep their ids (``methods.testing.check_method`` holds a method to this list).
    params_stated_away_from_default: ClassVar[dict[str, object]] = {}

    def __init__(self, *, lambdas=None, ignore_index: int = 255):
        super().__init__()
        self.lambdas = parse_lambdas(self.name, self.default_lambdas if lambdas is None else lambdas, self.num_lambdas)
        self.ignore_index = ignore_index
        self.edge_net: EdgeNet | None = None

    @classmethod
    def keyword_defaults(cls) -> dict[str, object]:
        """Every keyword-only constructor parameter along the method's classes -> its default
        (``inspect.Parameter.empty`` for one without); a subclass's default wins."""
        defaults = {}
        for klass in reversed(cls.__mro__):
            if "__init__" in vars(klass) and klass is not nn.Module and issubclass(klass, StructureLoss):
                sig = inspect.signature(klass.__init__)
                defaults.update({p.name: p.default for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY})
        return defaults

    @classmethod
    def parameter_names(cls) -> list[str]:
        """Keyword parameters accepted by ``build_method`` for this method."""
        names = set(cls.keyword_defaults())
        if cls.num_lambdas == 0:
            names.discard("lambdas")
        return sorted(names)

    @property
    def params(self) -> dict:
        """The method's parameters as plain values (what a run record stores)."""
        return {"lambdas": list(self.lambdas)} if self.num_lambdas else {}

    @classmethod
    def same_as(cls, params: dict) -> tuple[str, dict] | None:
        """``(method, params)`` of another registered method whose terms equal this one's at
        ``params`` (as ``params`` returns them), term for term on every batch; None when there
        is none. A table shows such a pair as one row and counts it as one test, and the
        leaderboard does not search the second one. ``methods.testing.check_same_as`` checks a
        declaration on random batches; ``methods.testing.identical_methods`` finds an
        undeclared one (a user's loss that is a registered one under another name)."""
        return None

    @classmethod
    def describe(cls, params: dict) -> str:
        """Human label of a run of this method with ``params`` (as ``params`` returns them).

        ``name(l1,l2,...)`` for the lambdas, then every other parameter as ``key=value``
        in name order, e.g. ``focal(1) gamma=2``. A method whose parameters read better
        in words (SEMEDA: "before ReLU") overrides this.
        """
        params = dict(params)
        text = cls.name
        lambdas = params.pop("lambdas", None)
        if lambdas:
            text += "(" + ",".join(f"{float(v):g}" for v in lambdas) + ")"
        for key in sorted(params):
            text += f" {key}={_value_text(params[key])}"
        return text

    def target_maps(self, target: torch.Tensor, num_classes: int) -> torch.Tensor | None:
        """Maps the loss reads that depend on the target alone (the boundary loss's signed
        distances), for the trainer to compute with the batch instead of inside the step, where
        a GPU would wait for a host transform; None (the default) for a method that reads none.

        A method that returns maps takes them back as ``forward(..., target_maps=maps)`` and
        computes the same maps itself when given None, so its terms are the same bit for bit
        either way (``methods.testing.check_method`` checks it).

        Shape:
            target: [N, H, W] int64 (``ignore_index`` for void). Returns a float32 tensor (the
            trainer's logits are float32) on the target's device, or None.
        """
        return None

    def attach_edge_net(self, edge_net: EdgeNet) -> "StructureLoss":
        """Attach the dataset's fitted edge net, frozen: no gradient ever reaches its weights."""
        edge_net.requires_grad_(False)
        edge_net.eval()
        self.edge_net = edge_net
        return self

    def _frozen_edge_net(self, num_classes: int) -> EdgeNet:
        if self.edge_net is None:
            raise RuntimeError(f"method {self.name!r} needs a fitted edge net: call attach_edge_net(fit_edge_net(...)) first")
        if self.edge_net.num_classes != num_classes:
            raise ValueError(
                f"method {self.name!r}: the edge net was fitted for {self.edge_net.num_classes} classes "
                f"but the logits have {num_classes}; fit an edge net on this dataset"
            )
        return self.edge_net

    def train(self, mode: bool = True) -> "StructureLoss":
        super().train(mode)
        if self.edge_net is not None:
            self.edge_net.eval()
        return self

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params.items())

