"""Progress reports that suit where they are written: a live bar on a terminal, a few lines elsewhere.

A ``tqdm`` bar redraws itself with carriage returns many times a second. On a terminal that
is one line that moves; in a log file or a cluster job's captured stderr it is thousands of
updates run together on one line. ``progress_bar`` therefore gives a ``tqdm`` bar only when
the stream (stderr by default) is a terminal, and otherwise prints a plain line each time a
further tenth of the work is done (``fit edge net: 300/1000``): at most ten lines per loop.

It lives in ``methods`` (which never imports ``benchmark``) so that both packages share it.
"""

from __future__ import annotations

import sys
from typing import IO, Iterable, Iterator

__all__ = ["progress_bar", "LineProgress"]

#: A plain report is printed each time another 1/``LINES`` of the total is done.
LINES = 10


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    initial: int = 0,
    stream: IO[str] | None = None,
    **tqdm_options,
):
    """A progress report over ``iterable`` (or over ``total`` units advanced by ``update``).

    On a terminal (``stream.isatty()``; the stream defaults to ``sys.stderr`` as it is at
    the call, so a redirection made before it is honoured) it is a ``tqdm`` bar, given
    ``tqdm_options`` (``leave``, ``dynamic_ncols``, ...). Anywhere else it is a
    ``LineProgress``, which has the same ``update``, ``set_postfix``, ``close`` and
    iteration, and writes no carriage return. ``total`` defaults to ``len(iterable)``.
    """
    stream = sys.stderr if stream is None else stream
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, initial=initial, file=stream, **tqdm_options)
    return LineProgress(iterable, total=total, desc=desc, initial=initial, stream=stream)


class LineProgress:
    """Progress as plain lines: ``<desc>: <done>/<total>`` each time another tenth is done.

    The line is printed when the count first reaches ceil(k * total / 10) for k = 1..10,
    so a loop of ``total`` units prints at most ten lines whatever its length (fewer when
    it starts at ``initial`` > 0, as a resumed run does). The last ``set_postfix`` values
    are appended to the line (``loss=0.123``). Without a total, one line is printed at
    ``close`` with the count reached.
    """

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", initial: int = 0,
                 stream: IO[str] | None = None):  # fmt: skip
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.n = initial
        self.stream = sys.stderr if stream is None else stream
        self.postfix = ""
        self.closed = False
        #: The index k of the next tenth to report (the tenths already passed at ``initial`` are not).
        self._next = self._tenths_done(initial) + 1

    def _tenths_done(self, n: int) -> int:
        """How many of the marks ceil(k * total / LINES), k = 1..LINES, ``n`` has reached."""
        if not self.total:
            return 0
        return min(LINES, n * LINES // self.total)

    def _threshold(self, k: int) -> int:
        return -(-k * self.total // LINES)  # ceil(k * total / LINES)

    def _write(self) -> None:
        total = f"/{self.total}" if self.total else ""
        postfix = f" {self.postfix}" if self.postfix else ""
        prefix = f"{self.desc}: " if self.desc else ""
        self.stream.write(f"{prefix}{self.n}{total}{postfix}\n")
        self.stream.flush()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; print a line if a further tenth of the total is reached."""
        self.n += n
        if not self.total:
            return
        reached = False
        while self._next <= LINES and self.n >= self._threshold(self._next):
            self._next += 1
            reached = True
        if reached:
            self._write()

    def set_postfix(self, values: dict | None = None, **kwargs) -> None:
        """Values shown after the count on the next line (``key=value``), as ``tqdm.set_postfix``."""
        items = {**(values or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        """Print the count once when there is no total to report tenths of; idempotent."""
        if not self.closed and not self.total and self.n:
            self._write()
        self.closed = True

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
