"""The contract every method satisfies, as one call: ``check_method(cls)``.

The harness trusts a method's terms without looking at them: it back-propagates ``total``
on every batch (all-void crops included), logs every term, runs the frozen edge net inside
the loss, and names the run by the method's parameters. Each rule below is what breaks,
silently, when a loss gets one of those wrong. The package's own test of the registry
calls ``check_method`` on every registered method; a user calls it on their own loss::

    from methods.testing import check_method
    from my_loss import SoftIoU

    def test_soft_iou_keeps_the_contract():
        check_method(SoftIoU)

A broken rule raises ``AssertionError`` naming it: ``method 'x' breaks rule 'all-void
target': ...``. The rules, in the order they are checked (``RULES``):

- ``terms``: a dict of named 0-dim tensors holding ``total`` and at least one term of its
  own, every value finite, on a random prediction of a target with void pixels.
- ``gradient to the logits``: ``total.backward()`` gives the logits a finite, non-zero
  gradient (and the edge head's output, for a method that ``needs_edge_head``).
- ``frozen edge net``: no gradient reaches the edge net of a method that
  ``needs_edge_net`` (its weights stay frozen and get no ``.grad``).
- ``target maps``: a method whose ``target_maps`` returns maps gives the same terms, bit for
  bit, when handed those maps (``target_maps=``, as the trainer does) as when it computes
  them itself.
- ``all-void target``: a target with no labelled pixel gives a ``total`` of exactly 0,
  still attached to the logits, whose gradient is finite (an all-void crop happens).
- ``void pixels``: changing the prediction at void pixels far from every labelled one (4
  pixels: the edge net's receptive field is 7x7) leaves ``total`` unchanged.
- ``parameters round-trip``: ``params`` holds plain JSON values naming every keyword
  parameter of the constructor (``ignore_index`` aside; one the class lists in
  ``params_stated_away_from_default`` may be left out at that default, so that a parameter
  added later keeps the ids of the runs made before it), and building the method again
  from their JSON gives the same ``params``: the run id is made of them, so a parameter
  left out would give two different losses one id.
- ``perfect prediction``: every term of ``minima`` the method returns equals its declared
  minimum on a one-hot prediction (and its edge head's, where it has one) of a target,
  and a random prediction does not score below it.
- ``one loss, one name``: its terms differ from those of every other registered method at
  its defaults on random batches (``identical_methods``), unless one of the pair declares
  the other (``StructureLoss.same_as``); and what it declares holds (``check_same_as``). A
  table would show two rows of one loss, and count it twice in its Holm family.
"""

from __future__ import annotations

import json
import math

import torch

from methods.base import StructureLoss
from methods.edge_net import EdgeNet
from methods.edges import semantic_edges
from methods.registry import build_method, list_methods, method_class

__all__ = ["RULES", "check_method", "check_same_as", "identical_methods", "same_terms"]

RULES = ("terms", "gradient to the logits", "frozen edge net", "target maps", "all-void target", "void pixels",
         "parameters round-trip", "perfect prediction", "one loss, one name")  # fmt: skip
#: Random batches two methods are compared on (``same_terms``).
COMPARED_BATCHES = 3
VOID = 255
#: The logit of a one-hot prediction: softmax(+-40) is exactly one-hot in float32.
ONE_HOT_LOGIT = 40.0


def _broken(cls, rule: str, detail: str) -> AssertionError:
    return AssertionError(f"method {getattr(cls, 'name', cls.__name__)!r} breaks rule {rule!r}: {detail}")


_MISSING = object()


def _build(cls, params: dict, num_classes: int) -> StructureLoss:
    if cls.needs_edge_net:
        torch.manual_seed(0)
        params = {**params, "edge_net": EdgeNet(num_classes)}
    return build_method(cls, **params)


def _outputs(method, target: torch.Tensor, num_classes: int, seed: int = 1):
    """Random logits (and edge-head logits where the method has an edge head) that need grad."""
    g = torch.Generator().manual_seed(seed)
    n, h, w = target.shape
    logits = torch.randn(n, num_classes, h, w, generator=g).requires_grad_()
    edge_logits = torch.randn(n, 2, h, w, generator=g).requires_grad_() if method.needs_edge_head else None
    return logits, edge_logits


def _random_target(num_classes: int) -> torch.Tensor:
    """[2, 9, 11]: random labels, three void rows in the second image."""
    g = torch.Generator().manual_seed(0)
    target = torch.randint(num_classes, (2, 9, 11), generator=g)
    target[1, 3:6, :] = VOID
    return target


def _scene(num_classes: int) -> torch.Tensor:
    """[1, 8, 8]: a 3x3 square of class 1, a one-pixel line of class 2 (when there is one), background 0."""
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 2:5, 2:5] = 1
    if num_classes > 2:
        target[0, :, 6] = 2
    return target


def _one_hot(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    labels = target.masked_fill(target == VOID, 0)
    onehot = torch.nn.functional.one_hot(labels, num_classes).permute(0, 3, 1, 2).float()
    return ONE_HOT_LOGIT * (2 * onehot - 1)


def _terms(cls, method, logits, target, edge_logits) -> dict:
    terms = method(logits, target, edge_logits=edge_logits)
    if not isinstance(terms, dict) or "total" not in terms:
        raise _broken(cls, "terms", f"forward must return a dict with 'total', got {type(terms).__name__} "
                      f"{sorted(terms) if isinstance(terms, dict) else ''}".rstrip())  # fmt: skip
    return terms


def check_method(cls: type[StructureLoss], *, params: dict | None = None, num_classes: int = 4) -> None:
    """Check the contract of the method class ``cls`` (built with ``params``, default: its
    defaults) on tiny tensors of ``num_classes`` classes; ``AssertionError`` naming the
    first broken rule (see the module docstring), None when every rule holds."""
    params = dict(params or {})
    if not (isinstance(cls, type) and issubclass(cls, StructureLoss)):
        raise AssertionError(f"{cls!r} is not a StructureLoss subclass")
    method = _build(cls, params, num_classes)

    # terms, gradient to the logits, frozen edge net
    target = _random_target(num_classes)
    logits, edge_logits = _outputs(method, target, num_classes)
    terms = _terms(cls, method, logits, target, edge_logits)
    if len(terms) < 2:
        raise _broken(cls, "terms", "return the method's own terms beside 'total' (every term is logged)")
    for key, value in terms.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise _broken(cls, "terms", f"term {key!r} must be a 0-dim tensor, got {getattr(value, 'shape', type(value).__name__)}")
        if not math.isfinite(value.item()):
            raise _broken(cls, "terms", f"term {key!r} is {value.item()} on a random prediction")
    if not terms["total"].requires_grad:
        raise _broken(cls, "gradient to the logits", "'total' is not attached to the logits (detached or computed without grad)")
    terms["total"].backward()
    if logits.grad is None or not torch.isfinite(logits.grad).all() or logits.grad.abs().sum() == 0:
        raise _broken(cls, "gradient to the logits", "the logits get no finite, non-zero gradient from 'total'")
    if edge_logits is not None and (edge_logits.grad is None or edge_logits.grad.abs().sum() == 0):
        raise _broken(cls, "gradient to the logits", "the edge head's output gets no gradient (needs_edge_head is set)")
    if method.edge_net is not None:
        reached = [n for n, p in method.edge_net.named_parameters() if p.requires_grad or p.grad is not None]
        if reached:
            raise _broken(cls, "frozen edge net", f"gradient reaches the edge net's {', '.join(reached)}")

    # the target's maps, given or computed: the same terms
    maps = method.target_maps(target, num_classes)
    if maps is not None:
        logits, edge_logits = _outputs(method, target, num_classes)
        own = _term_values(_terms(cls, method, logits, target, edge_logits))
        try:
            given = _term_values(method(logits, target, edge_logits=edge_logits, target_maps=maps))
        except TypeError as err:
            raise _broken(cls, "target maps", f"target_maps returns maps but forward does not take them back ({err})") from None
        if given != own:
            raise _broken(cls, "target maps", f"terms {given} with the maps target_maps gives, {own} without")

    # all-void target
    void = torch.full((1, 5, 5), VOID)
    logits, edge_logits = _outputs(method, void, num_classes)
    total = _terms(cls, method, logits, void, edge_logits)["total"]
    if total.item() != 0.0:
        raise _broken(cls, "all-void target", f"'total' is {total.item()!r}, not 0, on a target with no labelled pixel")
    if not total.requires_grad:
        raise _broken(cls, "all-void target", "'total' is detached from the logits on an all-void target (the trainer calls backward on it)")
    total.backward()
    if logits.grad is not None and not torch.isfinite(logits.grad).all():
        raise _broken(cls, "all-void target", "the gradient is not finite on an all-void target")

    # void pixels: labelled columns 0-5, void from 6; columns 9+ are out of every labelled pixel's reach
    target = torch.zeros(1, 12, 12, dtype=torch.long)
    target[0, :, :3] = 1
    target[0, :, 6:] = VOID
    logits, edge_logits = _outputs(method, target, num_classes)
    before = _terms(cls, method, logits, target, edge_logits)["total"].item()
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        logits[..., 9:] += 5 * torch.randn(logits[..., 9:].shape, generator=g)
        if edge_logits is not None:
            edge_logits[..., 9:] += 5
    after = _terms(cls, method, logits, target, edge_logits)["total"].item()
    if not math.isclose(after, before, rel_tol=1e-6, abs_tol=1e-12):
        raise _broken(cls, "void pixels", f"changing the prediction at void pixels moved 'total' from {before!r} to {after!r}")

    # parameters round-trip
    stored = method.params
    try:
        text = json.dumps(stored, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise _broken(cls, "parameters round-trip", f"params {stored!r} are not plain JSON values ({err})") from None
    defaults, later = cls.keyword_defaults(), cls.params_stated_away_from_default
    for name, value in later.items():
        if name not in defaults or defaults[name] != value:
            raise _broken(cls, "parameters round-trip", f"params_stated_away_from_default gives {name!r} the value {value!r}, "
                                                        f"which is not its constructor default {defaults.get(name, 'none')!r}")  # fmt: skip
    for name in sorted(set(cls.parameter_names()) - {"ignore_index"} - set(stored)):
        if name not in later or getattr(method, name, _MISSING) != later[name]:
            raise _broken(cls, "parameters round-trip", f"params leaves out constructor parameter {name!r}, so it never reaches the run id")
    again = json.dumps(_build(cls, json.loads(text), num_classes).params, sort_keys=True, allow_nan=False)
    if again != text:
        raise _broken(cls, "parameters round-trip", f"building it from its params {text} gives params {again}")
    label = cls.describe(json.loads(text))
    if not isinstance(label, str) or not label:
        raise _broken(cls, "parameters round-trip", f"describe(params) must give a label, got {label!r}")

    # perfect prediction
    if cls.minima:
        target = _scene(num_classes)
        edge_logits = _one_hot(semantic_edges(target, VOID).long(), 2) if method.needs_edge_head else None
        perfect = _terms(cls, method, _one_hot(target, num_classes), target, edge_logits)
        logits, random_edges = _outputs(method, target, num_classes)
        noisy = _terms(cls, method, logits, target, random_edges)
        declared = [t for t in cls.minima if t in perfect]
        if not declared:
            raise _broken(cls, "perfect prediction", f"none of the terms of minima ({', '.join(cls.minima)}) is returned")
        for term in declared:
            value, minimum = perfect[term].item(), float(cls.minima[term])
            if not math.isclose(value, minimum, abs_tol=1e-5):
                raise _broken(cls, "perfect prediction", f"term {term!r} is {value!r} on a perfect prediction, not its declared minimum {minimum!r}")
            if noisy[term].item() < minimum - 1e-5:
                raise _broken(cls, "perfect prediction", f"term {term!r} is {noisy[term].item()!r} on a random prediction, below its declared minimum {minimum!r}")

    # one loss, one name
    check_same_as(cls, params=params, num_classes=num_classes)
    declared = cls.same_as(json.loads(text))
    for other in identical_methods(cls, params=params, num_classes=num_classes):
        twin = method_class(other)
        back = twin.same_as(_build(twin, {}, num_classes).params)
        if (declared is None or declared[0] != other) and (back is None or back[0] != getattr(cls, "name", None)):
            raise _broken(cls, "one loss, one name", f"its terms equal those of the registered method {other!r} at its defaults on "
                          f"random batches: it is that loss under another name (drop it, or declare same_as)")  # fmt: skip


def _term_values(terms: dict) -> tuple[float, list[float]]:
    return terms["total"].item(), sorted(v.item() for k, v in terms.items() if k != "total")


def same_terms(a: StructureLoss, b: StructureLoss, num_classes: int = 4) -> bool:
    """Whether two built methods give the same ``total`` and the same term values (compared as
    sorted values: their names differ, ``tversky`` against ``dice``) on ``COMPARED_BATCHES``
    random batches with void pixels, to float32 rounding (1e-5 relative)."""
    for seed in range(COMPARED_BATCHES):
        g = torch.Generator().manual_seed(100 + seed)
        target = torch.randint(num_classes, (2, 16, 16), generator=g)
        target[seed % 2, 5:9, :] = VOID
        logits = 3 * torch.randn(2, num_classes, 16, 16, generator=g)
        edge_logits = torch.randn(2, 2, 16, 16, generator=g)
        with torch.no_grad():
            ta = _term_values(a(logits, target, edge_logits=edge_logits if a.needs_edge_head else None))
            tb = _term_values(b(logits, target, edge_logits=edge_logits if b.needs_edge_head else None))
        if len(ta[1]) != len(tb[1]) or not all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-7) for x, y in zip((ta[0], *ta[1]), (tb[0], *tb[1]))):
            return False
    return True


def check_same_as(cls: type[StructureLoss], *, params: dict | None = None, num_classes: int = 4) -> None:
    """``AssertionError`` when ``cls`` at ``params`` declares itself another method
    (``same_as``) whose terms differ from its own on random batches."""
    method = _build(cls, dict(params or {}), num_classes)
    declared = cls.same_as(method.params)
    if declared is None:
        return
    try:
        twin = _build(method_class(declared[0]), dict(declared[1]), num_classes)
    except ValueError as err:
        raise _broken(cls, "one loss, one name", f"same_as names {declared[0]!r} {declared[1]}, which cannot be built ({err})") from None
    if not same_terms(method, twin, num_classes):
        raise _broken(cls, "one loss, one name", f"same_as says it equals {declared[0]!r} {declared[1]}, but their terms differ on random batches")


def identical_methods(cls: type[StructureLoss], *, params: dict | None = None, num_classes: int = 4) -> list[str]:
    """The registered methods other than ``cls`` (by name) whose terms at their defaults equal
    those of ``cls`` at ``params`` on random batches (``same_terms``): a user's loss that is a
    registered one under another name is caught here."""
    method = _build(cls, dict(params or {}), num_classes)
    found = []
    for name in list_methods():
        other = method_class(name)
        if other is cls or name == getattr(cls, "name", None):
            continue
        if same_terms(method, _build(other, {}, num_classes), num_classes):
            found.append(name)
    return found
