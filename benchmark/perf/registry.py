"""The sections of the benchmark, in the order of its output: a section is one file in this
package (see ``section``) and one ``register_section`` line below.

A section of one's own, outside the package, is a file of the same form ending in
``register_section(__name__)``; given to ``--import``, it runs by default and alone with
``--only <its file's name>``.
"""

from __future__ import annotations

import sys
import types
import warnings

from benchmark.perf import (
    agreement, distance_steps, distance_transforms, edge_maps, evaluation, executors, harness, levers, limits, loss_overhead, paper_scale,
    suite_wall, sweep, trimap, gpu, loader,
)
from benchmark.perf.section import Section, section_of

__all__ = ["SECTIONS", "register_section", "get_section", "default_sections", "section_names"]

#: Section name -> Section, in the order of the output (``--only`` keeps its own order).
SECTIONS: dict[str, Section] = {}


def register_section(module: types.ModuleType | str, *, optional: bool = False) -> Section:
    """Add the section ``module`` (or the imported module of that name, e.g. ``__name__`` in the
    section's own file) defines; ``optional``: run only when named by ``--only``, or by its own
    flag: not by default, not in ``--quick``. One of the same name warns and is replaced,
    keeping its place."""
    section = section_of(sys.modules[module] if isinstance(module, str) else module, optional=optional)
    if section.name in SECTIONS and SECTIONS[section.name].measure is not section.measure:
        warnings.warn(f"perf section {section.name!r} registered twice; the later definition wins", stacklevel=2)
    SECTIONS[section.name] = section
    return section


def get_section(name: str) -> Section:
    """The registered section ``name``; an unknown name is an error listing the valid ones."""
    try:
        return SECTIONS[name]
    except KeyError:
        raise ValueError(f"unknown section {name!r}; valid sections: {', '.join(SECTIONS)}") from None


def section_names() -> tuple[str, ...]:
    """Every registered section, in the order of the output."""
    return tuple(SECTIONS)


def default_sections() -> tuple[str, ...]:
    """The sections run when none is named: every one not optional."""
    return tuple(name for name, s in SECTIONS.items() if not s.optional)


register_section(loss_overhead)
register_section(edge_maps)
register_section(trimap)
register_section(harness)
register_section(sweep)
register_section(evaluation)
register_section(limits)
register_section(suite_wall, optional=True)
register_section(paper_scale, optional=True)
register_section(levers, optional=True)
register_section(agreement, optional=True)
register_section(gpu, optional=True)
register_section(distance_transforms, optional=True)
register_section(distance_steps, optional=True)
register_section(loader, optional=True)
register_section(executors, optional=True)
