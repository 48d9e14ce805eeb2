"""A weight search's definition, written beside its trials, and the one replay of its rule.

The leaderboard writes, before its first trial, what each search covers: the context
(dataset, backbone, scale, initialisation, settings), the grid given, the rungs, the
extension bound and the methods. The runner, deciding what to run next, and the report,
rebuilding the table from the records, both call ``replay`` on that definition and the
trials' scores: one rule, one input, so they cannot disagree. A file per context:
``<out>/searches/<dataset>-<digest>.json``; a later command on the same context with the
same grid adds its methods, one with another grid replaces the definition.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from benchmark.tuning import EXTENSION_BOUND, SearchState, extended_search

#: Folder (under a suite's records) of the search definitions.
SEARCHES_FOLDER = "searches"


@dataclass(frozen=True)
class SearchDefinition:
    """What a weight search on one context covers. ``settings``: the trials' settings as a
    record's spec stores them (``stop_at`` apart), from which the report derives the context's
    overrides exactly as for any record."""

    dataset: str
    backbone: str
    scale: str
    init: str
    settings: dict = field(default_factory=dict)
    grid: tuple[float, ...] = ()
    rungs: tuple[int, ...] = ()
    #: Exact fractions (``1/2187``), as the extension rule compares them: never a rounded float.
    bound: tuple[Fraction, Fraction] = EXTENSION_BOUND
    methods: tuple[str, ...] = ()
    #: The methods whose learning rate (a multiplier on ``settings["lr"]``), not a weight, is
    #: searched by the same rule: PPCE, the tuned baseline (``tuning.LR_SEARCHED``).
    lr_methods: tuple[str, ...] = ()
    #: The seeds of the reported runs (``tuning.reported_seeds``): every row of the section,
    #: PPCE's too, is read at these alone, so that rows stay paired and PPCE's runs that
    #: other suites added (Table 1's seed rule) do not enter its row. Empty in a definition
    #: written before it was stated: the report then reads ``tuning.DEFAULT_REPORTED_SEEDS``.
    seeds: tuple[int, ...] = ()

    def context(self) -> dict:
        """The fields that name the context (what a file is keyed by)."""
        return {"dataset": self.dataset, "backbone": self.backbone, "scale": self.scale, "init": self.init, "settings": self.settings}

    def spec_like(self) -> dict:
        """The context as a record's ``spec`` holds it (for the report's context columns)."""
        return self.context()

    def path(self, out: str | os.PathLike) -> Path:
        digest = hashlib.sha256(json.dumps(self.context(), sort_keys=True).encode()).hexdigest()[:12]
        return Path(out) / SEARCHES_FOLDER / f"{self.dataset}-{digest}.json"

    def to_json(self) -> str:
        data = {**asdict(self), "grid": list(self.grid), "rungs": list(self.rungs), "bound": [str(b) for b in self.bound],
                "methods": list(self.methods), "lr_methods": list(self.lr_methods), "seeds": list(self.seeds)}  # fmt: skip
        for name in ("lr_methods", "seeds"):
            if not data[name]:
                del data[name]  # a definition without them reads as it always did
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> "SearchDefinition":
        return cls(dataset=data["dataset"], backbone=data["backbone"], scale=data["scale"], init=data["init"],
                   settings=dict(data.get("settings") or {}), grid=tuple(float(m) for m in data["grid"]),
                   rungs=tuple(int(s) for s in data["rungs"]), bound=tuple(Fraction(b) for b in data["bound"]),
                   methods=tuple(data.get("methods") or ()), lr_methods=tuple(data.get("lr_methods") or ()),
                   seeds=tuple(int(s) for s in data.get("seeds") or ()))  # fmt: skip


def write_definition(out: str | os.PathLike, definition: SearchDefinition) -> Path:
    """Write ``definition`` under ``out`` (atomically); methods of an earlier definition of the
    same context and grid are kept, one of another grid or rungs is replaced."""
    path = definition.path(out)
    earlier = read_definition(path) if path.exists() else None
    if earlier is not None and (earlier.grid, earlier.rungs, earlier.bound) == (definition.grid, definition.rungs, definition.bound):
        merged = tuple(dict.fromkeys(earlier.methods + definition.methods))
        lr_merged = tuple(dict.fromkeys(earlier.lr_methods + definition.lr_methods))
        seeds = tuple(sorted(set(earlier.seeds) | set(definition.seeds)))  # a command with fewer seeds drops none made
        definition = SearchDefinition(**{**asdict(definition), "methods": merged, "lr_methods": lr_merged, "seeds": seeds})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(definition.to_json())
    os.replace(tmp, path)
    return path


def read_definition(path: str | os.PathLike) -> SearchDefinition | None:
    """The definition in ``path``; None when it is unreadable (named in a warning)."""
    try:
        return SearchDefinition.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"warning: search definition {path} not readable ({type(err).__name__}); run the leaderboard command again to rewrite it")
        return None


def load_definitions(out: str | os.PathLike) -> list[SearchDefinition]:
    """Every readable search definition under ``out``, in file-name order."""
    folder = Path(out) / SEARCHES_FOLDER
    found = (read_definition(p) for p in sorted(folder.glob("*.json"))) if folder.is_dir() else ()
    return [d for d in found if d is not None]


def trial_score(status: str | None, miou: float | None) -> float | None:
    """A trial's score for the rule: its tuning mIoU when it finished with a finite one, else
    None (below every other). The runner and the report read trials through this alone."""
    return float(miou) if status == "ok" and miou is not None and miou == miou else None


def definition_context(definition: SearchDefinition, overrides) -> tuple:
    """The report's context tuple (dataset, backbone, scale, init, overrides) of a definition;
    ``overrides``: the function that names a spec's settings apart from its scale's defaults."""
    return (definition.dataset, definition.backbone, definition.scale, definition.init, overrides(definition.spec_like()))


def replay(definition: SearchDefinition, scores: dict[tuple[float, int], float | None]) -> SearchState:
    """Where a search stands: the rule and its extension (``tuning.extended_search``) on the
    definition's grid, rungs and bound, over ``scores``: (multiplier, step) -> the trial's
    tuning mIoU, None for a trial that failed (it scores below every other)."""
    return extended_search(scores, definition.grid, definition.rungs, bound=definition.bound)
