"""A subprocess `python -m benchmark.run --suite table1 --no-report` with `SEMEDA_DATA` and
`--out` in a fresh temporary folder: data rendering, edge-net fitting, Ray's start and every
run included, one concurrent trial per CPU core. The ratio divides the wall time by the sum
of the runs' `timing.wall_s` (from the records written) over the number of concurrent
trials; 1 would mean no time outside `train(spec)` and no idle worker. Load averages before
and after are stored with the figure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.perf.figure import Figure
from benchmark.perf.load import others_meter
from benchmark.perf.section import Context
from benchmark.records import load_records

__all__ = ["SIZES", "suite_wall", "measure"]

#: Configuration -> (suite, scale: None for the suite's own) timed. ``--quick`` does not
#: shrink it: the figure is the whole suite's or none.
SIZES = {"full": ("table1", None), "quick": ("table1", None)}
#: The repository's root, where the timed command runs.
ROOT = Path(__file__).resolve().parents[2]


def measure(ctx: Context) -> list[Figure]:
    """Wall time of ``python -m benchmark.run --suite table1 --no-report`` from an empty data
    and run folder (tens of minutes), and that time against the sum of the runs' own
    ``timing.wall_s`` over the number of concurrent trials: scheduling and fixed costs in one
    ratio. Only with ``--suite-wall``, or named by ``--only``; not in ``--quick``, not by
    default."""
    suite, scale = ctx.sizes
    return suite_wall(suite, scale, progress=ctx.progress, keep=ctx.suite_wall_records)


def suite_wall(suite: str = "table1", scale: str | None = None, workers: int | None = None, progress: bool = True,
               keep: str | os.PathLike | None = None) -> list[Figure]:
    """Wall time of ``python -m benchmark.run --suite <suite> --no-report`` from nothing.

    A subprocess with ``SEMEDA_DATA`` and ``--out`` in a fresh temporary folder, so that the
    data, the edge net and every record are made anew (preparation included), ``workers``
    concurrent trials (default: one per CPU core). The ratio divides that wall time by the
    sum of the runs' own ``timing.wall_s`` (read from the records written) over ``workers``:
    1 would be perfect packing with no cost outside ``train(spec)``; preparation, Ray's
    start, worker start-up, scheduling gaps and record writing all show in its excess.
    ``keep`` copies the measured runs' records into that folder (the suite's reference
    records can be the timed ones: they are the same runs at the same version).
    """
    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="suite-wall-") as tmp:
        out = Path(tmp) / "runs"
        cmd = [sys.executable, "-m", "benchmark.run", "--suite", suite, "--no-report", "--out", str(out),
               "--max-concurrent", str(workers)] + (["--scale", scale] if scale else []) + ([] if progress else ["--no-progress"])  # fmt: skip
        env = {**os.environ, "SEMEDA_DATA": str(Path(tmp) / "data")}
        others = others_meter()
        load_before = os.getloadavg()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=ROOT, text=True,
                              stdout=None if progress else subprocess.PIPE, stderr=None if progress else subprocess.STDOUT)  # fmt: skip
        wall = time.perf_counter() - start
        load_after, others_cores = os.getloadavg(), others()
        if done.stdout:
            print(done.stdout, end="", flush=True)  # the suite's own console, after it ran
        if keep is not None:  # the records are kept whatever the end of the command
            Path(keep).mkdir(parents=True, exist_ok=True)
            for path in out.glob("*.json"):
                shutil.copy2(path, Path(keep) / path.name)
        if done.returncode != 0:
            raise RuntimeError(f"suite_wall: {' '.join(cmd)} exited with {done.returncode}\n{(done.stdout or '')[-3000:]}")
        records, problems = load_records(out)
        if problems or not records:
            raise RuntimeError(f"suite_wall: no readable records in {out}: {problems}")
    work = sum(rec["timing"]["wall_s"] for rec in records)
    extra = {
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "other_processes_cores": None if others_cores is None else round(others_cores, 2),
        "runs": len(records), "failed": sum(rec.get("status") != "ok" for rec in records),
        "workers": workers, "sum_run_wall_s": work,
    }  # fmt: skip
    what = f"suite {suite}" + (f" at scale {scale}" if scale else "") + f", {len(records)} runs, {workers} concurrent trials"
    return [
        Figure("suite_wall", suite, f"wall time of `benchmark.run --suite {suite} --no-report` from an empty data and run folder, {what}",
               "s", [wall], extra=extra),
        Figure("suite_wall", f"{suite}_ratio", f"that wall time / (sum of the runs' timing.wall_s / {workers} workers), {what}",
               "x", [wall / (work / workers)], extra=extra),
    ]  # fmt: skip
