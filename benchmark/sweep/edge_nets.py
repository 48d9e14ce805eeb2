"""The edge nets a sweep's runs need, fitted before the runs or beside them.

Of a preparation (data, distance maps, edge net g_phi) the edge net is the part that takes
long (about 40 s of the embedded set's, on two torch threads) and the only part that some
runs do not read: PPCE and the Ubernet-style head train without it. Where the runs train in
other processes (Ray's trials), the driver fits the nets in a thread of its own while those
runs start, and the runs that read a net start once it is saved (``ready``); the executor
asks which runs can start (see ``benchmark.sweep.ready_first``). Where the runs train in the
driver's own process (the inline executor, on the trial's torch threads), the nets are
fitted first, as one step of the preparation.

The thread fits on this process's torch thread count, so it fits the net a fit before the
runs would, bit for bit: the fit's arithmetic depends on that count, not on what else the
machine runs (a test fits one both ways). Nothing else of the driver draws from torch's
global generator meanwhile (the net's initialisation does, under a fixed seed). Ray starts
its workers at a lower priority than the driver (niceness 15), so the fit takes the cores it
asks for and the runs beside it what is left: it ends about as soon as it would alone, and
the first runs' wall times hold the time it took from them. A sweep that ends early stops
the fit at its next step (``close``). The net's file is written atomically, so a run never
reads half of one.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import torch

from benchmark.prepare import Prepared, ensure_edge_net
from benchmark.spec import RunSpec

__all__ = ["EdgeNetFits", "FitSpan", "fitted_line"]


def fitted_line(dataset: str, f1: float, seconds: float, beside: bool) -> str:
    """``fitted the edge net of streets (F1 0.997) in 38.5 s``: one edge net's fit, before the
    runs, or (``beside``) while the runs that need none trained (``... , beside the runs``)."""
    return f"fitted the edge net of {dataset} (F1 {f1:.3f}) in {seconds:.1f} s" + (", beside the runs" if beside else "")


@dataclass
class FitSpan:
    """When fits went beside the runs (``time.time()`` values; None: not begun, not ended yet).
    Plain data, so that what holds its ``overlap`` (the console, in Tune's pickled callbacks)
    pickles without the fits' thread."""

    began: float | None = None
    ended: float | None = None

    def overlap(self, start: float, end: float) -> float:
        """Seconds of ``[start, end]`` during which the fits went beside the runs: the part of a
        run's wall time that shared the cores with them (up to now while they go on)."""
        if self.began is None:
            return 0.0
        return max(0.0, min(end, time.time() if self.ended is None else self.ended) - max(start, self.began))


class EdgeNetFits:
    """The edge nets of ``fits`` (preparation key -> (a spec of it, its preparation without the
    net)), fitted one after the other.

    ``run()`` fits them here and now; ``start()`` in a thread, after which ``ready(key)`` says
    whether runs of that preparation can start, ``wait()`` blocks until every fit has ended
    (raising the first one's error), ``raise_failure()`` raises a failed fit's error at once,
    ``span`` says when the fits went beside the runs (``FitSpan``) and ``close()`` stops what is
    left. Each fit says its ``fitted_line`` through ``say``
    (``tell`` changes where, e.g. to the console once it exists); ``progress``: a bar for a
    fit made with ``run()``.
    """

    def __init__(self, fits: dict[str, tuple[RunSpec, Prepared]], *, say: Callable[[str], None] = print, progress: bool = False):
        self.fits = dict(fits)
        self.progress = progress
        self._say = say
        self._futures: dict[str, Future] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: When the thread of ``start()`` went beside the runs
        self.span = FitSpan()

    def __bool__(self) -> bool:
        return bool(self.fits)

    def tell(self, say: Callable[[str], None]) -> None:
        """Say the fits' lines through ``say`` from now on."""
        self._say = say

    def _fit(self, key: str, beside: bool) -> None:
        spec, prepared = self.fits[key]
        began = time.time()
        fitted = ensure_edge_net(prepared, spec, progress=self.progress and not beside, stop=self._stop.is_set)
        self._say(fitted_line(spec.dataset, fitted.edge_net().info.f1, time.time() - began, beside))

    def run(self) -> None:
        """Fit every net here, one after the other (the first error raised at once)."""
        self._futures = {key: Future() for key in self.fits}
        for key in self._futures:
            self._fit_one(key, beside=False)
            self.raise_failure()

    def _fit_one(self, key: str, beside: bool) -> None:
        """Fit ``key``'s net; its future holds the outcome (an error for ``wait`` and
        ``raise_failure`` to raise in the driver's thread)."""
        future = self._futures[key]
        future.set_running_or_notify_cancel()
        try:
            self._fit(key, beside)
        except BaseException as err:
            future.set_exception(err)
        else:
            future.set_result(None)

    def start(self) -> "EdgeNetFits":
        """Fit the nets in a thread of this process, on this process's torch threads."""
        threads = torch.get_num_threads()
        self._futures = {key: Future() for key in self.fits}

        def fit_all() -> None:
            # A thread's own OpenMP setting could follow the environment rather than the
            # process's ``torch.set_num_threads``: set here, the fit's arithmetic is a fit's before the runs.
            torch.set_num_threads(threads)
            try:
                for key in self._futures:
                    self._fit_one(key, beside=True)
            finally:
                self.span.ended = time.time()

        self.span.began = time.time()  # in place: the console and the searcher hold its ``overlap``
        self._thread = threading.Thread(target=fit_all, name="edge-net-fit")
        self._thread.start()
        return self

    def ready(self, key: str) -> bool:
        """True when runs of preparation ``key`` can start: it needs no fit, or its net is saved."""
        if key not in self.fits:
            return True
        future = self._futures.get(key)
        return future is not None and future.done() and future.exception() is None

    def failed(self, key: str) -> bool:
        """True when the fit of ``key``'s net ended with an error: its runs never start."""
        future = self._futures.get(key)
        return future is not None and future.done() and future.exception() is not None

    def wait(self) -> None:
        """Block until every fit has ended; raise the first error one ended with."""
        for future in self._futures.values():
            future.result()

    def raise_failure(self) -> None:
        """Raise the error of the first fit that ended with one; nothing when none did."""
        for future in self._futures.values():
            if future.done() and future.exception() is not None:
                raise future.exception()

    def close(self) -> None:
        """Stop a fit still going at its next step, and wait for its thread (a sweep that ends early)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
