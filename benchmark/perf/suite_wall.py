"""A subprocess `python -m benchmark.run --suite table1 --no-report` with `SEMEDA_DATA` and
`--out` in a fresh temporary folder: data rendering, edge-net fitting, Ray's start and every
run included, one concurrent trial per CPU core; with `--suite-wall-fast KEY=VALUE` the same
again with those settings, right after (figures ending in `_fast`). The ratio divides the wall
time by the sum of the runs' `timing.wall_s` (from the records written) over the number of
concurrent trials; 1 would mean no time outside `train(spec)` and no idle worker. The fixed
costs are read from the suite's own console: each preparation before the runs (synthetic data,
distance maps, an edge net fitted before them) and the executor's start (Ray's); an edge net
fitted beside the runs (Ray's trials, ``benchmark.sweep.edge_nets``) is not a fixed cost, its
CPU time shows in the wall times of the runs it shared the cores with, and its figure
(``_edge_nets_beside``) says how long it took. The floor, for runs on the CPU, is the runs' training FLOPs
(`FlopCounterMode` on one step of each run's spec: convolutions and matrix products, forward
and backward) over the peak of a 2048x2048 fp32 matmul on one thread, measured before the
suite, times the concurrent trials: the floor ratio is the wall time over it, and the training
part of it is the runs' summed `timing.train_s` over the trials, over the floor. Load averages
before and after are stored with the figures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmark.perf.figure import Figure
from benchmark.perf.floor import PEAK_MATMUL, floor_seconds, matmul_peak
from benchmark.perf.load import others_meter
from benchmark.perf.section import Context
from benchmark.records import load_records
from benchmark.spec import RunSpec
from benchmark.sweep.console import fixed_costs

__all__ = ["SIZES", "suite_wall", "measure"]

#: The embedded default's scheduling ratio (``table1`` at its own scale, no ``--set``): at most
#: 3 % of the suite's wall time beyond the runs' own, per worker.
SCHEDULING_TARGET = ("<=", 1.03)

#: Configuration -> (suite, scale: None for the suite's own) timed. ``--quick`` does not
#: shrink it: the figure is the whole suite's or none.
SIZES = {"full": ("table1", None), "quick": ("table1", None)}
#: The repository's root, where the timed command runs.
ROOT = Path(__file__).resolve().parents[2]
#: The ending of the figures of the suite timed with ``--suite-wall-fast``'s settings.
FAST = "_fast"


def measure(ctx: Context) -> list[Figure]:
    """Wall time of ``python -m benchmark.run --suite table1 --no-report`` from an empty data
    and run folder (tens of minutes), its fixed costs, and that time against the sum of the
    runs' own ``timing.wall_s`` over the number of concurrent trials and against the runs'
    compute floor; then the same with ``ctx.suite_wall_fast``'s settings, where given. Only
    with ``--suite-wall``, or named by ``--only``; not in ``--quick``, not by default."""
    suite, scale = ctx.sizes
    figures = suite_wall(suite, scale, progress=ctx.progress, keep=ctx.suite_wall_records)
    if ctx.suite_wall_fast:
        figures += suite_wall(suite, scale, progress=ctx.progress, settings=ctx.suite_wall_fast)
    return figures


def suite_wall(suite: str = "table1", scale: str | None = None, workers: int | None = None, progress: bool = True,
               keep: str | os.PathLike | None = None, settings: tuple[str, ...] = ()) -> list[Figure]:
    """Wall time of ``python -m benchmark.run --suite <suite> --no-report`` from nothing.

    A subprocess with ``SEMEDA_DATA`` and ``--out`` in a fresh temporary folder, so that the
    data, the edge net and every record are made anew (preparation included), ``workers``
    concurrent trials (default: one per CPU core), each ``settings`` (``KEY=VALUE``) given as
    ``--set``. The ratio divides that wall time by the sum of the runs' own ``timing.wall_s``
    (read from the records written) over ``workers``: 1 would be perfect packing with no
    cost outside ``train(spec)``; preparation, Ray's start, worker start-up, scheduling gaps
    and record writing all show in its excess, the first two also on their own (read from the
    suite's console: ``benchmark.sweep.console.fixed_costs``). The floor: the runs' training
    FLOPs over ``workers`` cores at the one-thread fp32 matmul peak measured first
    (``benchmark.perf.floor``). ``keep`` copies the measured runs' records into that folder
    (the suite's reference records can be the timed ones: they are the same runs at the same
    version).
    """
    workers = workers or os.cpu_count() or 1
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a trial's thread: the floor is per core
    try:
        peak = matmul_peak()
    finally:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="suite-wall-") as tmp:
        out = Path(tmp) / "runs"
        cmd = [sys.executable, "-m", "benchmark.run", "--suite", suite, "--no-report", "--no-progress", "--out", str(out),
               "--max-concurrent", str(workers)] + (["--scale", scale] if scale else [])  # fmt: skip
        for setting in settings:
            cmd += ["--set", setting]
        env = {**os.environ, "SEMEDA_DATA": str(Path(tmp) / "data")}
        others = others_meter()
        load_before = os.getloadavg()
        start = time.perf_counter()
        lines = []
        with subprocess.Popen(cmd, env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as child:
            for line in child.stdout:  # the suite's console, shown as it comes and read for its fixed costs
                lines.append(line)
                if progress:
                    print(line, end="", flush=True)
        wall = time.perf_counter() - start
        load_after, others_cores = os.getloadavg(), others()
        if keep is not None:  # the records are kept whatever the end of the command
            Path(keep).mkdir(parents=True, exist_ok=True)
            for path in out.glob("*.json"):
                shutil.copy2(path, Path(keep) / path.name)
        if child.returncode != 0:
            raise RuntimeError(f"suite_wall: {' '.join(cmd)} exited with {child.returncode}\n{''.join(lines)[-3000:]}")
        records, problems = load_records(out)
        if problems or not records:
            raise RuntimeError(f"suite_wall: no readable records in {out}: {problems}")
    work = sum(rec["timing"]["wall_s"] for rec in records)
    training = sum(rec["timing"]["train_s"] for rec in records)
    # The floor is the CPU cores'; runs on an accelerator have another (limits gives its peak).
    on_cpu = all(rec.get("device", "cpu") == "cpu" for rec in records)
    floor = floor_seconds([RunSpec.from_dict(rec["spec"]) for rec in records], peak, workers) if on_cpu else None
    costs = fixed_costs(lines)
    extra = {
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "other_processes_cores": None if others_cores is None else round(others_cores, 2),
        "runs": len(records), "failed": sum(rec.get("status") != "ok" for rec in records),
        "workers": workers, "sum_run_wall_s": work, "sum_run_train_s": training, "settings": list(settings),
        "floor_s": floor, "peak_gflops_per_core": peak / 1e9,
    }  # fmt: skip
    what = f"suite {suite}" + (f" at scale {scale}" if scale else "") + f", {len(records)} runs, {workers} concurrent trials"
    if settings:
        what += f", with {' '.join(settings)}"
    end = FAST if settings else ""
    figures = [
        Figure("suite_wall", f"{suite}{end}", f"wall time of `benchmark.run --suite {suite} --no-report` from an empty data and run folder, {what}",
               "s", [wall], extra=extra),
        Figure("suite_wall", f"{suite}_ratio{end}", f"that wall time / (sum of the runs' timing.wall_s / {workers} workers), {what}",
               "x", [wall / (work / workers)], target=SCHEDULING_TARGET if suite == "table1" and scale is None and not settings else None,
               extra=extra),
        Figure("suite_wall", f"{suite}_preparation{end}", f"of that wall time: preparation before the runs (data, distance maps, "
               f"edge nets fitted before them), {what}", "s", [costs["preparation"]], extra=extra),
        Figure("suite_wall", f"{suite}_edge_nets_beside{end}", f"edge nets fitted in the driver while the runs that need none "
               f"trained (their time is inside the runs' wall times, not a fixed cost), {what}", "s", [costs["beside"]], extra=extra),
        Figure("suite_wall", f"{suite}_executor_start{end}", f"of that wall time: the executor's start (Ray's), {what}",
               "s", [costs["executor"]], extra=extra),
    ]  # fmt: skip
    if floor is None:
        return figures
    return figures + [
        Figure("suite_wall", f"{suite}_floor{end}", f"compute floor: the runs' training FLOPs / ({workers} x the one-thread fp32 "
               f"peak, {peak / 1e9:.1f} GFLOP/s), {what}", "s", [floor], extra=extra),
        Figure("suite_wall", f"{suite}_floor_ratio{end}", f"wall time / compute floor, {what}", "x", [wall / floor], extra=extra),
        Figure("suite_wall", f"{suite}_training_floor_ratio{end}", f"the runs' training (sum of timing.train_s / {workers} "
               f"workers) / compute floor, {what}", "x", [training / workers / floor], extra=extra),
    ]  # fmt: skip
