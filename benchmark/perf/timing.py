"""Timing: one call timed (device synchronised), and several functions timed side by side,
interleaved over repeats so that the drift of a shared machine hits every side alike."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["BEST_OF", "timed", "interleaved"]

#: Back-to-back calls per repeat of the functions that take milliseconds (the best counts).
BEST_OF = 5


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device = torch.device("cpu")) -> float:
    """Seconds of one call of ``fn``, the device's queued work finished before and after."""
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def interleaved(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    device=torch.device("cpu"),
    desc="",
    progress=True,
    best_of: int | dict[str, int] = 1,
) -> dict[str, list[float]]:
    """Seconds per call of every function, ``repeats`` times, in an order rotated each repeat
    (so that no function always runs after the same one).

    Each repeat's time of a function is the best of ``best_of`` back-to-back calls (per
    function when a dict): on a shared machine a call of a few milliseconds can lose a
    whole scheduler time slice to another process, which the minimum discounts.
    """
    from tqdm.auto import tqdm

    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in tqdm(range(repeats), desc=desc, leave=False, disable=not progress):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            calls = best_of.get(name, 1) if isinstance(best_of, dict) else best_of
            times[name].append(min(timed(fns[name], device) for _ in range(calls)))
    return times
