"""Ray Tune's searcher over a fixed list of runs that starts the first run that can start.

A grid search starts trials in the order of its list, whatever each needs. Here each
suggestion is the first spec of the list whose preparation is ready (``ready``), so that
while an edge net is fitted beside the runs (``benchmark.sweep.edge_nets``) the runs that
need none take the workers, and the others follow, in the list's order (longest first),
once it is saved. Nothing is searched: the list is the sweep's, each spec suggested once.
"""

from __future__ import annotations

import pickle
from typing import Callable

from ray.tune.search import Searcher

__all__ = ["ReadyFirst"]


class ReadyFirst(Searcher):
    """Suggests ``{"spec": spec}`` for each of ``runs`` once: each run a spec dict and the
    preparation whose edge net it waits for (None: it reads none). Each suggestion is the
    first run left that waits for nothing or for a net ``ready`` accepts; None while there is
    none (Tune asks again at its next step); ``FINISHED`` once none is left, or every run left
    waits for a net ``failed`` accepts (its fit failed, which the sweep raises once the other
    runs have ended)."""

    def __init__(self, runs: list[tuple[dict, str | None]], ready: Callable[[str], bool], failed: Callable[[str], bool]):
        super().__init__()
        self.left = list(runs)
        self.ready, self.failed = ready, failed

    def save(self, checkpoint_path: str) -> None:
        """Tune's periodic save of the searcher's state: the runs left, as ``__getstate__``."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__setstate__(pickle.load(f))

    def __getstate__(self) -> dict:
        """What Tune pickles of it (its experiment state): the runs left; a restored copy
        takes every net as ready (a sweep resumes by running its command again, not so)."""
        return {"left": self.left}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["left"], ready=_always, failed=_never)

    def suggest(self, trial_id: str) -> dict | str | None:
        for i, (spec, waits_for) in enumerate(self.left):
            if waits_for is None or self.ready(waits_for):
                return {"spec": self.left.pop(i)[0]}
        if all(waits_for is not None and self.failed(waits_for) for _, waits_for in self.left):
            return Searcher.FINISHED
        return None

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Nothing to learn from a run's result."""


def _always(preparation: str) -> bool:
    return True


def _never(preparation: str) -> bool:
    return False
