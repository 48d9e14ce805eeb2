"""How many GPUs a trial asks for by default: a share at the smoke and small scales, a whole one at paper scale."""

import pytest

from benchmark.spec import RunSpec
from benchmark.suites import expand
from benchmark.sweep import SMALL_RUNS_PER_GPU, SweepOptions, default_gpus_per_trial


@pytest.mark.parametrize(
    "scale, cluster_gpus, expected",
    [("smoke", 0, 0), ("small", 0, 0), ("paper", 0, 0), ("smoke", 1, 0.25), ("small", 8, 0.25), ("paper", 1, 1), ("paper", 8, 1)],
)
def test_small_runs_share_a_gpu_paper_runs_take_one(scale, cluster_gpus, expected):
    assert SMALL_RUNS_PER_GPU == 4
    assert default_gpus_per_trial(scale, cluster_gpus) == expected


def test_a_sweep_asks_the_largest_share_of_its_runs_unless_told(monkeypatch):
    ray = pytest.importorskip("ray")
    from benchmark.sweep.ray_executor import RayExecutor

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 2.0})
    small, paper = expand("smoke", scale="smoke")[:2], [RunSpec.create("ppce", scale="paper")]
    executor = RayExecutor(SweepOptions())
    assert executor.gpus(small) == 0.25
    assert executor.gpus(small + paper) == 1
    # 16 CPUs, one a trial, 8 GPU shares: 8 at once; at paper scale the 2 GPUs decide.
    assert executor.workers(small * 10) == 8
    assert executor.workers(paper * 4) == 2
    assert RayExecutor(SweepOptions(gpus_per_trial=0.5)).gpus(small) == 0.5
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    assert executor.gpus(small + paper) == 0
