"""The same suite through Ray Tune and through the inline executor, side by side: `python -m
benchmark.run --suite table1 --scale smoke --no-report` (42 runs of a few steps each, where the
scheduling is most of the work) in a subprocess, its data prepared beforehand in a temporary
`SEMEDA_DATA` by an untimed inline pass, each repeat a fresh run folder, the two executors
taking turns (Ray first in odd repeats, inline first in even ones). The ratio is Ray's wall time
over the inline executor's in the same repeat: what Ray's start, its trials' scheduling and its
result reporting cost a short suite on one machine. Target: at most 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.perf.figure import Figure, ratios
from benchmark.perf.section import Context

__all__ = ["SIZES", "TARGET", "measure"]

#: Configuration -> (suite, scale, repeats).
SIZES = {"full": ("table1", "smoke", 2), "quick": ("table1", "smoke", 1)}
#: Ray's wall time over the inline executor's that a smoke suite is held to.
TARGET = 2.0
#: The repository's root, where the timed commands run.
ROOT = Path(__file__).resolve().parents[2]
EXECUTORS = ("ray", "inline")


def _suite_seconds(suite: str, scale: str, executor: str, out: Path, data: Path) -> float:
    """Wall seconds of one ``benchmark.run --suite`` subprocess writing its records into ``out``."""
    cmd = [sys.executable, "-m", "benchmark.run", "--suite", suite, "--scale", scale, "--executor", executor,
           "--no-report", "--no-progress", "--out", str(out)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "SEMEDA_DATA": str(data)}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"executors: {' '.join(cmd)} exited with {done.returncode}\n{(done.stdout + done.stderr)[-3000:]}")
    return seconds


def measure(ctx: Context) -> list[Figure]:
    """``<suite>_<scale>.ray_s`` and ``.inline_s``, the wall time of the suite through each
    executor per repeat, and ``.ray_vs_inline``, their ratio per repeat (held to 2)."""
    from tqdm.auto import tqdm

    suite, scale, repeats = ctx.sizes
    with tempfile.TemporaryDirectory(prefix="executors-") as tmp:
        data = Path(tmp) / "data"
        _suite_seconds(suite, scale, "inline", Path(tmp) / "warm-up", data)  # data and edge nets made, untimed
        times: dict[str, list[float]] = {e: [] for e in EXECUTORS}
        for r in tqdm(range(repeats), desc=f"{suite} {scale}: ray and inline", leave=False, disable=not ctx.progress):
            for executor in EXECUTORS if r % 2 == 0 else EXECUTORS[::-1]:
                times[executor].append(_suite_seconds(suite, scale, executor, Path(tmp) / f"{executor}-{r}", data))
    key, what = f"{suite}_{scale}", f"`benchmark.run --suite {suite} --scale {scale} --no-report`, data prepared beforehand"
    extra = {"load_after": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count()}
    return [
        Figure("executors", f"{key}.ray_s", f"wall time through Ray Tune, {what}", "s", times["ray"], extra=extra),
        Figure("executors", f"{key}.inline_s", f"wall time with --executor inline, {what}", "s", times["inline"], extra=extra),
        Figure("executors", f"{key}.ray_vs_inline", f"Ray's wall time / the inline executor's, {what}", "x",
               ratios(times["ray"], times["inline"]), ("<=", TARGET), extra=extra),
    ]  # fmt: skip
