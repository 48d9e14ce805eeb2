"""The method registry: a plain dict and a decorator.

``methods/__init__.py`` imports every method module explicitly, so a method is in the
registry as soon as ``methods`` is imported: there is no registration by side effect of
some other import.
"""

from __future__ import annotations

import warnings

from methods.base import StructureLoss

__all__ = ["register_method", "list_methods", "build_method", "method_class"]

_METHODS: dict[str, type[StructureLoss]] = {}


def register_method(cls: type[StructureLoss]) -> type[StructureLoss]:
    """Class decorator: register ``cls`` under ``cls.name`` (a second registration warns and replaces)."""
    if cls.name in _METHODS and _METHODS[cls.name] is not cls:
        warnings.warn(f"method {cls.name!r} registered twice; the later definition wins", stacklevel=2)
    _METHODS[cls.name] = cls
    return cls


def list_methods() -> list[str]:
    """Names of the registered methods, sorted."""
    return sorted(_METHODS)


def method_class(name: str) -> type[StructureLoss]:
    """The class registered under ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(list_methods())}") from None


def build_method(name: str, **params) -> StructureLoss:
    """Instantiate a registered method, e.g. ``build_method("semeda", lambdas=(0, 1, 0), relu=False)``.

    ``edge_net=`` attaches (and freezes) a fitted edge net for the methods that need one.
    An unknown name or parameter, or bad lambdas, raise ``ValueError`` saying what is valid.
    """
    cls = method_class(name)
    edge_net = params.pop("edge_net", None)
    valid = cls.parameter_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"method {name!r} takes no parameter {unknown[0]!r}; valid parameters: {', '.join(valid) or 'none'}"
        )
    method = cls(**params)
    if edge_net is not None:
        method.attach_edge_net(edge_net)
    return method
