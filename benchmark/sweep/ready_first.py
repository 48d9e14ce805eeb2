"""Ray Tune's searcher over a fixed list of runs: each free worker takes a run that can start,
chosen so that the workers finish together.

A grid search starts trials in the order of its list, whatever each needs, and as soon as
Tune has room for a pending trial. Here a run is chosen only when a worker is free for it
(at most ``workers`` runs in flight, as Tune's ``ConcurrencyLimiter`` counts them), and
only among the runs whose preparation is ready (``ready``): while an edge net is fitted
beside the runs (``benchmark.sweep.edge_nets``) the runs that need none take the workers.
Among those, the free worker takes the run that the sweep's cost model (``RunCosts``) and
what is left of the runs in flight give it (``balance.next_run``); the cost model learns
each run's wall time as it ends, less the seconds it shared the cores with a fit
(``overlap``). Nothing is searched: the list is the sweep's, each run suggested once.
"""

from __future__ import annotations

import pickle
import time
from typing import Callable

from ray.tune.search import Searcher

from benchmark.sweep.balance import next_run
from benchmark.sweep.schedule import RunCosts

__all__ = ["ReadyFirst"]


class ReadyFirst(Searcher):
    """Suggests ``{"spec": spec}`` for each of ``runs`` once: each run a spec dict and the
    preparation whose edge net it waits for (None: it reads none).

    A suggestion is None while ``workers`` runs are in flight (suggested and not complete)
    or no run left waits for nothing or for a net ``ready`` accepts (Tune asks again at its
    next step), and ``FINISHED`` once no run is left, or every run left waits for a net
    ``failed`` accepts (its fit failed, which the sweep raises once the other runs have
    ended). Otherwise it is the run ``balance.next_run`` picks from the estimates of
    ``costs`` (a ``RunCosts`` whose specs are the runs', in their order), or, without
    ``costs``, the first run of the list that can start. ``overlap(start, end)``: seconds of
    that span during which driver work shared the cores (``FitSpan.overlap``);
    ``clock``: ``time.time``.
    """

    def __init__(self, runs: list[tuple[dict, str | None]], ready: Callable[[str], bool], failed: Callable[[str], bool], *,
                 workers: int | None = None, costs: RunCosts | None = None, overlap: Callable[[float, float], float] | None = None,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        super().__init__()
        self.runs = list(runs)
        self.left = list(range(len(self.runs)))
        self.ready, self.failed = ready, failed
        self.workers, self.costs = workers, costs
        self.overlap = overlap or (lambda start, end: 0.0)
        self.clock = clock
        #: trial id -> (index into ``runs``, when it was suggested)
        self.in_flight: dict[str, tuple[int, float]] = {}

    def save(self, checkpoint_path: str) -> None:
        """Tune's periodic save of the searcher's state (``__getstate__``)."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__setstate__(pickle.load(f))

    def __getstate__(self) -> dict:
        """What Tune pickles of it (its experiment state): the runs left, in list order; a
        restored copy takes every net as ready and starts them in that order (a sweep
        resumes by running its command again, not so)."""
        return {"left": [self.runs[i] for i in self.left], "workers": self.workers}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["left"], ready=_always, failed=_never, workers=state.get("workers"))

    def suggest(self, trial_id: str) -> dict | str | None:
        if self.workers and len(self.in_flight) >= self.workers:
            return None
        ready = [self.runs[i][1] is None or self.ready(self.runs[i][1]) for i in self.left]
        if not any(ready):
            if all(self.failed(self.runs[i][1]) for i in self.left):  # also when none is left
                return Searcher.FINISHED
            return None
        now = self.clock()
        if self.costs is None:
            position = ready.index(True)
        else:
            estimates = self.costs.estimates()
            busy = [max(0.0, estimates[i] - (now - began)) for i, began in self.in_flight.values()]
            free = self.workers - len(self.in_flight) if self.workers else 1
            position = next_run([estimates[i] for i in self.left], ready, busy, free)
        index = self.left.pop(position)
        self.in_flight[trial_id] = (index, now)
        return {"spec": self.runs[index][0]}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """A worker is free; a run that ended well teaches the cost model its time (its
        result's ``wall_s``, less the seconds it shared the cores with driver work)."""
        index, _ = self.in_flight.pop(trial_id, (None, None))
        wall = (result or {}).get("wall_s")
        if index is None or error or self.costs is None or not wall:
            return
        end = self.clock()
        alone = wall - self.overlap(end - wall, end)
        if alone > 0:  # a run wholly beside the fit tells nothing of its time alone
            self.costs.observe(index, alone)


def _always(preparation: str) -> bool:
    return True


def _never(preparation: str) -> bool:
    return False
