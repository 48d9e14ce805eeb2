"""Code from outside the package: ``--import MODULE_OR_FILE`` and entry points.

A user's loss (or dataset, evaluator, suite) lives in their own file or package. It enters
a process in one of two ways, and registers itself with the same decorators and functions
as the package's own code:

- ``import_plugin("my_loss.py")`` (the ``--import`` option of every command): a ``.py``
  file is imported as a module named after its stem, without putting its folder on
  ``sys.path`` (the file travels to Ray workers alone, so it must not lean on its
  neighbours; a loss spread over several files is a package: import the package by name
  or by its folder). A module name is imported as Python would.
- entry points of the groups in ``ENTRY_POINT_GROUPS`` (an installed distribution
  declares, e.g., ``[project.entry-points."semeda_bench.methods"] softiou =
  "my_pkg.losses:SoftIoU"``): each registry loads its group the first time it is looked
  up in a process (``load_entry_points``), so a Ray trial on any node finds the installed
  methods without being told.

Ray workers never see the driver's command line, so ``imported_plugins`` keeps what was
imported, with the path Ray ships (``Plugin.ship``) and the name a trial imports at its start.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENTRY_POINT_GROUPS", "Plugin", "PluginError", "import_modules", "import_plugin", "imported_plugins", "load_entry_points",
           "distribution_of"]  # fmt: skip

#: Registry -> its entry-point group.
ENTRY_POINT_GROUPS = {
    "methods": "semeda_bench.methods",
    "datasets": "semeda_bench.datasets",
    "evaluators": "semeda_bench.evaluators",
    "suites": "semeda_bench.suites",
}


class PluginError(ValueError):
    """Code from outside the package that cannot be imported (a user error: one line, exit 2)."""


@dataclass(frozen=True)
class Plugin:
    """One ``--import``: what the user gave, the module it became, and what Ray ships."""

    #: As given on the command line (``./my_loss.py``, ``my_pkg.losses``).
    target: str
    #: The module name a trial imports at its start (``my_loss``, ``my_pkg.losses``).
    module: str
    #: The file or package folder Ray's ``runtime_env`` ships (``py_modules``), so that a
    #: worker on another node imports ``module`` without the driver's disk; None for a
    #: module of no file (a namespace package), which must be installed on every node.
    ship: str | None


_IMPORTED: dict[str, Plugin] = {}
_LOADED_GROUPS: set[str] = set()
#: Top-level module -> (distribution, version) of the entry points loaded so far.
_ENTRY_POINT_DISTRIBUTIONS: dict[str, tuple[str, str]] = {}


def _failure(err: BaseException) -> str:
    text = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def import_plugin(target: str) -> Plugin:
    """Import ``target``, a ``.py`` file, a package folder or a module name; the same target
    twice is imported once. Raises ``PluginError`` (``cannot import nothing.py: no such
    file``) for a missing file or module, or one whose code raises."""
    target = str(target)
    if target in _IMPORTED:
        return _IMPORTED[target]
    path = Path(target).expanduser()
    looks_like_path = target.endswith(".py") or "/" in target or "\\" in target or path.is_dir()
    try:
        if looks_like_path:
            plugin = _import_path(target, path)
        else:
            plugin = _import_name(target)
    except PluginError:
        raise
    except SystemExit as err:
        raise PluginError(f"cannot import {target}: it called exit({err.code})") from None
    except Exception as err:  # the user's code raised: say what, on one line
        raise PluginError(f"cannot import {target}: {_failure(err)}") from None
    _IMPORTED[target] = plugin
    return plugin


def _import_path(target: str, path: Path) -> Plugin:
    if not path.exists():
        raise PluginError(f"cannot import {target}: no such file")
    path = path.resolve()
    if path.is_dir():  # a package folder: imported by its name, from its parent folder
        if not (path / "__init__.py").is_file():
            raise PluginError(f"cannot import {target}: a folder must be a package (hold an __init__.py)")
        name, location = path.name, path / "__init__.py"
    elif path.suffix == ".py":
        name, location = path.stem, path
    else:
        raise PluginError(f"cannot import {target}: give a .py file, a package folder or a module name")
    if not name.isidentifier():
        raise PluginError(f"cannot import {target}: {name!r} is not a valid module name; rename the file")
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == location:
            return Plugin(target, name, str(path))
        raise PluginError(f"cannot import {target}: a module named {name!r} is already imported from "
                          f"{getattr(loaded, '__file__', None) or 'elsewhere'}; rename the file")  # fmt: skip
    search = [str(path)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(name, location, submodule_search_locations=search)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return Plugin(target, name, str(path))


def _import_name(target: str) -> Plugin:
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as err:
        if err.name and (target == err.name or target.startswith(err.name + ".")):
            raise PluginError(f"cannot import {target}: no module named {err.name!r} (not a file here, nor an installed module)") from None
        raise
    top = sys.modules[target.partition(".")[0]]
    paths = list(getattr(top, "__path__", None) or [])
    if paths:
        ship = paths[0] if len(paths) == 1 else None
    else:
        ship = getattr(top, "__file__", None)
    return Plugin(target, module.__name__, ship)


def imported_plugins() -> tuple[Plugin, ...]:
    """The ``--import`` targets of this process, in the order they were imported."""
    return tuple(_IMPORTED.values())


def import_modules(names: Iterable[str]) -> None:
    """Import modules by name (what a Ray trial does at its start with the driver's
    ``--import`` list; the files themselves arrive through Ray's ``runtime_env``)."""
    for name in names:
        if name not in sys.modules:
            importlib.import_module(name)


def load_entry_points(group: str, accept: Callable[[object], None] | None = None) -> None:
    """Load every entry point of ``group`` once per process; a second call does nothing.

    Loading an entry point imports its module, which registers what it defines; when the
    entry point names an object (``my_pkg.losses:SoftIoU``), ``accept`` receives it too (a
    registry registers it unless it is already). A broken entry point warns, naming its
    distribution, rather than stop every command of the environment.
    """
    if group in _LOADED_GROUPS:
        return
    _LOADED_GROUPS.add(group)  # first: a plugin that looks a registry up while loading must not recurse
    for ep in importlib.metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        if dist is not None and dist.metadata["Name"]:
            _ENTRY_POINT_DISTRIBUTIONS.setdefault(ep.module.partition(".")[0], (dist.metadata["Name"], dist.version))
        try:
            value = ep.load()
        except Exception as err:
            where = f" of {dist.metadata['Name']}" if dist is not None else ""
            warnings.warn(f"entry point {ep.name!r}{where} in group {group} cannot be loaded: {_failure(err)}", stacklevel=2)
            continue
        if accept is not None and not isinstance(value, types.ModuleType):
            accept(value)


_PACKAGE_DISTRIBUTIONS: dict[str, list[str]] | None = None


def distribution_of(module_name: str, file: str | None) -> tuple[str, str] | None:
    """(distribution, version) of the installed distribution that holds ``module_name``'s
    file (the distribution of its entry point, or one whose folder holds the file); None for
    a module of no distribution (a file of one's own given to ``--import``)."""
    global _PACKAGE_DISTRIBUTIONS
    top = module_name.partition(".")[0]
    if top in _ENTRY_POINT_DISTRIBUTIONS:
        return _ENTRY_POINT_DISTRIBUTIONS[top]
    if file is None:
        return None
    if _PACKAGE_DISTRIBUTIONS is None:
        _PACKAGE_DISTRIBUTIONS = importlib.metadata.packages_distributions()
    for name in _PACKAGE_DISTRIBUTIONS.get(top, ()):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        root = Path(str(dist.locate_file(""))).resolve()
        if root in Path(file).resolve().parents:
            return dist.metadata["Name"], dist.version
    return None
