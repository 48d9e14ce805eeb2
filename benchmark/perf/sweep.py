"""Wall time of `benchmark.sweep.run_specs` on the `smoke` suite's runs with 1 and with 2
concurrent Ray trials (one CPU and one torch thread each) on a local Ray of 2 CPUs started
once, outside the timing; each call writes to a fresh folder. Smoke runs train for a
fraction of a second, so fixed per-trial costs dominate them; the longer variant overrides
the number of steps. No speed-up can exceed the machine's parallel capacity, measured first:
two CPU-bound processes started at once, against one alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmark.perf.figure import Figure, ratios
from benchmark.perf.section import Context
from benchmark.records import load_records

__all__ = ["SIZES", "parallel_capacity", "measure"]

#: Configuration -> (spec count, repeats, [steps overrides of the longer variant],
#: iterations of each CPU-bound process of the parallel capacity).
SIZES = {"full": (4, 2, (1000,), 15_000_000), "quick": (2, 1, (), 3_000_000)}


def _spin(processes: int, iterations: int) -> float:
    """Wall seconds of ``processes`` CPU-bound Python processes run at once (no imports)."""
    code = f"s = 0\nfor i in range({iterations}): s += i"
    start = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    for child in children:
        child.wait()
    return time.perf_counter() - start


def parallel_capacity(repeats: int, iterations: int) -> Figure:
    """Effective cores for two CPU-bound processes: 2 x (time of one alone) / (time of two at
    once); 2 on two free cores. It caps what two concurrent trials can gain."""
    values = []
    for _ in range(repeats):
        alone = _spin(1, iterations)
        values.append(2 * alone / _spin(2, iterations))
    return Figure("sweep", "parallel_capacity", "effective cores for 2 CPU-bound processes (2 x alone / both at once; ideal 2)",
                  "cores", values)  # fmt: skip


def measure(ctx: Context) -> list[Figure]:
    """Wall time of the 4 ``smoke`` runs through Ray Tune with 1 and with 2 concurrent trials
    (Ray started once, outside the timed part); also with longer runs, where fixed per-trial
    costs weigh less. Target: speed-up >= 1.6. Beside it, the machine's parallel capacity
    (two CPU-bound processes against one), which caps it."""
    from tqdm.auto import tqdm

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    from benchmark.prepare import prepare
    from benchmark.suites import expand
    from benchmark.sweep import run_specs

    progress = ctx.progress
    count, repeats, longer, iterations = ctx.sizes
    figures = [parallel_capacity(max(3, repeats), iterations)]
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        variants = [("smoke", expand("smoke")[:count])]
        variants += [(f"smoke, steps={n}", expand("smoke", overrides={"steps": n})[:count]) for n in longer]
        prepare(variants[0][1][0], edge_net=True, progress=progress)  # data and edge net, outside the timing
        for label, specs in variants:
            wall, work = {1: [], 2: []}, []
            for r in tqdm(range(repeats), desc=f"sweep {label}", leave=False, disable=not progress):
                for k in ((1, 2) if r % 2 == 0 else (2, 1)):
                    with tempfile.TemporaryDirectory() as out:
                        start = time.perf_counter()
                        summary = run_specs(specs, out=out, max_concurrent=k, verbose=0)
                        wall[k].append(time.perf_counter() - start)
                        if k == 1:
                            work.append(sum(rec["timing"]["wall_s"] for rec in load_records(out)[0]))
                    if summary.done != len(specs):
                        raise RuntimeError(f"sweep benchmark: {summary.line()}")
            key = "smoke" if label == "smoke" else f"smoke_steps{label.split('=')[1]}"
            n = len(specs)
            figures += [
                Figure("sweep", f"{key}.speedup", f"{n} {label} runs: 2 concurrent trials vs 1", "x",
                       ratios(wall[1], wall[2]), (">=", 1.6)),
                Figure("sweep", f"{key}.serial_s", f"{n} {label} runs, 1 trial at a time", "s", wall[1]),
                Figure("sweep", f"{key}.concurrent_s", f"{n} {label} runs, 2 concurrent trials", "s", wall[2]),
                Figure("sweep", f"{key}.train_s_per_trial", f"{label}: train(spec) inside a trial (its record's wall_s)", "s",
                       [w / n for w in work]),
                Figure("sweep", f"{key}.fixed_s_per_trial", f"{label}: the rest of a trial's serial wall time "
                       "(worker start, imports, Tune bookkeeping, record writing)", "s",
                       [(t - w) / n for t, w in zip(wall[1], work)]),
            ]  # fmt: skip
    finally:
        if started_here:
            ray.shutdown()
    return figures
