"""The report's parts, registered in one place: what ``build_report`` writes, and in which order.

A part is a function ``write(inputs: PartInput, out: PartOutput)`` (``benchmark.report.output``)
that writes some files of the report. ``build_report`` runs, in registration order, the parts
the ``--suite`` asks for. Adding a part is one new module with its ``write`` function and one
``register_part`` line below; a part from outside the package registers the same way (from a
module given to ``--import``)::

    register_part("toy", write_toy)                  # built by --suite toy and --suite all
    register_part("index", write_index, always=True)  # built by every suite
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from benchmark.report import curves, figures, leaderboard, multiverse, seed_strip, sensitivity, tables, tidy
from benchmark.report.output import PartInput, PartOutput

__all__ = ["ALL", "PARTS", "Part", "parts_for", "register_part", "suite_names"]

#: The ``--suite`` that builds every part.
ALL = "all"


@dataclass(frozen=True)
class Part:
    """A registered part: its ``name``, its ``write`` function and the ``suites`` (values of
    ``--suite``) that build it besides ``all``; none: every build writes it."""

    name: str
    write: Callable[[PartInput, PartOutput], None]
    suites: tuple[str, ...]


#: The registered parts by name, in registration order (the order the report writes them).
PARTS: dict[str, Part] = {}


def register_part(name: str, write: Callable[[PartInput, PartOutput], None], *, suites: tuple[str, ...] | None = None,
                  always: bool = False) -> Part:  # fmt: skip
    """Register the part ``name``: ``write(inputs, out)`` writes its files. ``suites``: the values
    of ``--suite`` that build it (default: its own name); ``always``: every build writes it.
    Registering a name again warns and replaces the earlier part (keeping its place)."""
    if name in PARTS:
        warnings.warn(f"report part {name!r} registered twice; the later registration replaces the earlier", stacklevel=2)
    if name == ALL:
        raise ValueError(f"{ALL!r} is the suite of every part, not a part's name")
    part = Part(name, write, () if always else tuple(suites) if suites is not None else (name,))
    PARTS[name] = part
    return part


def suite_names() -> list[str]:
    """The values ``--suite`` takes: every suite of a registered part, in registration order,
    then ``all``."""
    return list(dict.fromkeys(s for part in PARTS.values() for s in part.suites)) + [ALL]


def parts_for(suite: str) -> list[Part]:
    """The parts ``suite`` builds, in registration order: those of the suite and those every
    build writes. ``all``, and any name no part knows (a sweep's ``smoke``, say), build
    every part."""
    if suite not in suite_names()[:-1]:
        return list(PARTS.values())
    return [p for p in PARTS.values() if not p.suites or suite in p.suites]


register_part("tidy", tidy.write_tidy, always=True)
register_part("table1", tables.write_table1)
register_part("table1_seeds", seed_strip.write_seed_strip, suites=("table1",))
register_part("table2", tables.write_table2)
register_part("trimap", figures.write_trimap)
register_part("sensitivity", sensitivity.write_sensitivity)
register_part("multiverse", multiverse.write_multiverse)
register_part("leaderboard", leaderboard.write_leaderboard)
register_part("curves", curves.write_curves, always=True)
register_part("qualitative", figures.write_qualitative, always=True)
