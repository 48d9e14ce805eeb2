"""What a section is: a module with a docstring (its note in the README), ``SIZES`` (its sizes
and repeats in each configuration) and ``measure(context) -> list[Figure]``; and the
``Context`` every section's ``measure`` is given."""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from benchmark.perf.figure import Figure

__all__ = ["CONFIGS", "Context", "Section", "section_of"]

#: The configurations every section declares its sizes for: the default one, and the reduced
#: one of ``--quick``.
CONFIGS = ("full", "quick")


@dataclass(frozen=True)
class Context:
    """What a section measures with."""

    config: str  #: "full" or "quick"
    sizes: object  #: this section's ``SIZES[config]``
    device: torch.device
    progress: bool = True
    #: Where the ``suite_wall`` section keeps its suite's records (None: nowhere).
    suite_wall_records: str | os.PathLike | None = None
    #: The folders of run records the sections that read records read (``agreement``), e.g.
    #: Table 1's runs beside a folder of the same rows on other settings.
    records: tuple[str | os.PathLike, ...] = ("results/runs",)
    #: Settings (``KEY=VALUE``) of a second ``suite_wall`` timing, its ``_fast`` figures (none: no second).
    suite_wall_fast: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A registered section: its name (the key of its figures), what it measures, its sizes
    by configuration, its README note, and whether it runs only when asked for."""

    name: str
    measure: Callable[[Context], list[Figure]]
    sizes: Mapping[str, object]
    note: str
    optional: bool = False


def section_of(module: types.ModuleType, *, optional: bool = False) -> Section:
    """The section a module defines, named after the module's last dotted part; its note is
    the module's docstring on one line."""
    name = module.__name__.rsplit(".", 1)[-1]
    missing = [a for a in ("__doc__", "SIZES", "measure") if not getattr(module, a, None)]
    if missing:
        raise TypeError(f"section {name!r} ({module.__name__}) lacks {', '.join(missing)}")
    if set(module.SIZES) != set(CONFIGS):
        raise TypeError(f"section {name!r}: SIZES must have exactly the configurations {CONFIGS}, has {tuple(module.SIZES)}")
    return Section(name, module.measure, dict(module.SIZES), " ".join(module.__doc__.split()), optional)
