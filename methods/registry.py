"""The method registry: a plain dict and a decorator.

``methods/__init__.py`` imports every method module explicitly, so a method is in the
registry as soon as ``methods`` is imported: there is no registration by side effect of
some other import. Methods from outside the package register with the same decorator,
from a file or module given to ``--import``, or from an installed distribution's entry
points (group ``semeda_bench.methods``), which the registry loads the first time it is
looked up in a process (see ``methods.plugins``).

A method from outside the package carries an *origin*: where its code came from (module,
file) and the content hash of its source (and its distribution's version when installed),
taken when it registers. The origin enters a run's identity, so a changed loss never reuses
a record made with its earlier code (``method_origin``).
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import warnings
from pathlib import Path

from methods.base import StructureLoss
from methods.plugins import ENTRY_POINT_GROUPS, distribution_of, load_entry_points

__all__ = ["register_method", "unregister_method", "list_methods", "build_method", "method_class", "method_origin"]

_METHODS: dict[str, type[StructureLoss]] = {}
_ORIGINS: dict[type, dict | None] = {}
_PACKAGE = Path(__file__).resolve().parent


def register_method(cls: type[StructureLoss] | None = None, *, replace: bool = False):
    """Class decorator: register ``cls`` under ``cls.name``; ``@register_method`` or
    ``@register_method(replace=True)``.

    A method from outside the package that takes the name of one of the package's own
    (``ppce``, ``semeda``, ...) is a ``ValueError`` unless it says ``replace=True``: else a
    user's loss would silently stand in for the baseline every table compares with. Any
    other second registration of a name warns and replaces.
    """
    if cls is None:
        return lambda c: register_method(c, replace=replace)
    origin = _ORIGINS[cls] if cls in _ORIGINS else _origin(cls)
    before = _METHODS.get(cls.name)
    if before is not None and before is not cls:
        if _ORIGINS.get(before) is None and origin is not None and not replace:
            raise ValueError(f"method {cls.name!r} is built in; give your loss another name, or register it with "
                             f"@register_method(replace=True) to replace the built-in one")  # fmt: skip
        if not replace:
            warnings.warn(f"method {cls.name!r} registered twice; the later definition wins", stacklevel=2)
    _METHODS[cls.name] = cls
    _ORIGINS.setdefault(cls, origin)
    return cls


def _load_plugins() -> None:
    load_entry_points(ENTRY_POINT_GROUPS["methods"], _accept)


def _accept(value) -> None:
    """An entry point naming a method class registers it (unless it registered itself)."""
    if isinstance(value, type) and issubclass(value, StructureLoss) and _METHODS.get(getattr(value, "name", None)) is not value:
        register_method(value)


def unregister_method(name: str) -> None:
    """Remove the method ``name`` from the registry (a method a test or a session registered
    for a while); an unknown name is left alone."""
    _ORIGINS.pop(_METHODS.pop(name, None), None)


def list_methods() -> list[str]:
    """Names of the registered methods, sorted."""
    _load_plugins()
    return sorted(_METHODS)


def method_class(name: str) -> type[StructureLoss]:
    """The class registered under ``name``; ``ValueError`` listing the valid names otherwise."""
    _load_plugins()
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(list_methods())} (a method of your own: "
            "--import its file or module, or install it with a semeda_bench.methods entry point)"
        ) from None


def method_origin(name: str) -> dict | None:
    """Where the code of method ``name`` came from, or None for a method of this package.

    ``{"module", "file", "sha256"}`` and, for a method of an installed distribution,
    ``"distribution"`` and ``"version"``; plus ``"default_lambdas"`` when it has lambdas,
    so that a report without its code can still tell a weight search's multipliers. The
    hash is of the source file, or of every ``.py`` file of its top-level package when it
    belongs to one (a helper module changes the loss too), taken when the class registered.
    """
    cls = method_class(name)
    origin = _ORIGINS.get(cls)
    return dict(origin) if origin is not None else None


def _origin(cls: type) -> dict | None:
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if cls.__module__.partition(".")[0] == "methods" and file and _PACKAGE in Path(file).resolve().parents:
        return None  # ships with the package: the harness version stands for its code
    origin = {"module": cls.__module__, "file": str(Path(file).resolve()) if file else None, "sha256": _source_hash(cls, module, file)}
    found = distribution_of(cls.__module__, file)
    if found is not None:
        origin["distribution"], origin["version"] = found
    if getattr(cls, "num_lambdas", 0):
        origin["default_lambdas"] = [float(v) for v in cls.default_lambdas]
    return origin


def _source_hash(cls: type, module, file: str | None) -> str | None:
    """SHA-256 (16 hex digits) of the code ``cls`` runs: its top-level package's ``.py``
    files (relative path and content of each) when it belongs to a package of one folder,
    else its file, else the class's own source; None (with a warning) when there is none."""
    h = hashlib.sha256()
    top = sys.modules.get(cls.__module__.partition(".")[0])
    folders = list(getattr(top, "__path__", None) or [])
    if len(folders) == 1 and Path(folders[0]).is_dir():
        root = Path(folders[0])
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    elif file and Path(file).is_file():
        h.update(Path(file).read_bytes())
    else:
        try:
            h.update(inspect.getsource(cls).encode())
        except (OSError, TypeError):
            warnings.warn(f"method {cls.name!r} has no source to hash: a change of its code will not change its run ids", stacklevel=3)
            return None
    return h.hexdigest()[:16]


def build_method(name: str | type[StructureLoss], **params) -> StructureLoss:
    """Instantiate a registered method, e.g. ``build_method("semeda", lambdas=(0, 1, 0), relu=False)``,
    or a method class itself (registered or not).

    ``edge_net=`` attaches (and freezes) a fitted edge net for the methods that need one.
    An unknown name or parameter, or bad lambdas, raise ``ValueError`` saying what is valid.
    """
    cls = method_class(name) if isinstance(name, str) else name
    edge_net = params.pop("edge_net", None)
    valid = cls.parameter_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"method {cls.name!r} takes no parameter {unknown[0]!r}; valid parameters: {', '.join(valid) or 'none'}"
        )
    method = cls(**params)
    if edge_net is not None:
        method.attach_edge_net(edge_net)
    return method
