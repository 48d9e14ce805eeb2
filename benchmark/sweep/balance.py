"""Which run a free worker takes next, so that the workers of a sweep finish together.

Starting the longest runs first keeps the workers busy until the last runs, but the last
runs of a suite are often alike (the nine Ubernet-style runs of Table 1 take about 68 s
each), and two workers whose ends are 40 s apart when those start stay 40 s apart: one
waits for the other at the end. Here, each time a worker is free, every run left is shared
out among the workers as if they were to run it all (longest first onto the worker that
frees first, then runs moved or swapped between the most loaded worker and the others
while that lowers its load), and the free worker takes the longest run of its share. Runs
of other lengths are so kept for the end, where they even the workers out.

Two workers and a few dozen runs are a small partition problem; the heuristic (the
longest-processing-time rule with pairwise improvement) is written here because the
scheduling libraries at hand (Ray Tune's searchers and schedulers) choose among
configurations by their results, not among fixed jobs by their lengths.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["next_run", "share_out"]


def share_out(costs: Sequence[float], loads: Sequence[float]) -> list[list[int]]:
    """Each worker's share of the runs of ``costs`` (seconds): indices into ``costs``, longest first.

    ``loads``: each worker's seconds already committed (what is left of the run it trains,
    0 for a free one). Runs go longest first (ties in list order) to the worker with the
    least load (ties: the first), then, while some move of one run from the most loaded
    worker to another, or swap of one run of each, lowers the larger of their two loads,
    the one that brings the two closest is made.
    """
    loads = [float(x) for x in loads]
    shares: list[list[int]] = [[] for _ in loads]
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        w = min(range(len(loads)), key=lambda w: loads[w])
        shares[w].append(i)
        loads[w] += costs[i]
    for _ in range(10 * len(costs) + 10):  # every change lowers a maximum; the bound is a guard
        if not _improve(costs, loads, shares):
            break
    return [sorted(share, key=lambda i: (-costs[i], i)) for share in shares]


def _improve(costs: Sequence[float], loads: list[float], shares: list[list[int]]) -> bool:
    """Make the best move or swap between the most loaded worker and another; False when none helps."""
    top = max(range(len(loads)), key=lambda w: loads[w])
    for other in sorted(range(len(loads)), key=lambda w: loads[w]):
        gap = loads[top] - loads[other]
        best = None  # (distance from an even split, run moved off ``top``, run moved onto it)
        for a in shares[top]:
            options = [(costs[a], None)] + [(costs[a] - costs[b], b) for b in shares[other]]
            for moved, b in options:
                if 0 < moved < gap and (best is None or abs(gap - 2 * moved) < best[0]):
                    best = (abs(gap - 2 * moved), a, b)
        if best is None:
            continue
        _, a, b = best
        shares[top].remove(a)
        shares[other].append(a)
        loads[top] -= costs[a]
        loads[other] += costs[a]
        if b is not None:
            shares[other].remove(b)
            shares[top].append(b)
            loads[other] -= costs[b]
            loads[top] += costs[b]
        return True
    return False


def next_run(costs: Sequence[float], ready: Sequence[bool], busy: Sequence[float], free: int) -> int | None:
    """The index of the run a free worker takes now, or None when no run is ready.

    ``costs``: the estimated seconds of every run left; ``ready``: which of them can start
    now (the others wait for a preparation); ``busy``: the seconds left of each run in
    flight; ``free``: the workers free now (at least the one asking). The runs are shared
    out (``share_out``) over the busy workers and the free ones; the answer is the longest
    ready run of the free workers' shares, or, when none of those is ready, the longest
    ready run of all (list order breaks ties).
    """
    candidates = [i for i in range(len(costs)) if ready[i]]
    if not candidates:
        return None
    shares = share_out(costs, list(busy) + [0.0] * max(1, free))
    mine = [i for share in shares[len(busy):] for i in share if ready[i]]
    return min(mine or candidates, key=lambda i: (-costs[i], i))
