"""The load of other processes: how many CPU cores the processes outside this benchmark's own
process tree kept busy while a section ran, from which the section counts as measured on a
busy machine (Linux /proc; None elsewhere)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["BUSY_CORES", "others_meter"]

#: CPU cores kept busy on average by processes outside the benchmark's own process tree
#: from which a section counts as measured on a busy machine.
BUSY_CORES = 0.25
#: Environment variable marking the benchmark's own processes, Ray's workers included
#: (they inherit the driver's environment), so that their CPU is not taken for others'.
_MARK = "SEMEDA_PERF_RUN"


def _processes() -> dict[int, tuple[int, float]] | None:
    """(start time in clock ticks since boot, CPU seconds) of every process not of this
    benchmark (Linux /proc); None where /proc is missing."""
    if not os.path.isdir("/proc"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    mark = f"{_MARK}={os.environ.get(_MARK, '')}".encode()
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    continue
        except OSError:  # another user's process: not ours
            pass
        out[int(entry)] = (int(stat[19]), (int(stat[11]) + int(stat[12])) / tick)
    return out


def others_meter() -> Callable[[], float | None]:
    """Start measuring the CPU used by other processes; the returned function gives their
    average number of busy cores since the start (a lower bound: a process that ended in
    between is missed), None off Linux."""
    os.environ.setdefault(_MARK, str(os.getpid()))
    before, wall0 = _processes(), time.perf_counter()
    try:
        with open("/proc/uptime") as f:
            since = float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK")
    except OSError:
        since = 0.0

    def stop() -> float | None:
        after = _processes()
        if before is None or after is None:
            return None
        used = 0.0
        for pid, (started, cpu) in after.items():
            if pid in before and before[pid][0] == started:
                used += cpu - before[pid][1]
            elif started >= since:
                used += cpu
        return used / (time.perf_counter() - wall0)

    return stop
