"""A suite's compute floor: the FLOPs its runs' training steps do, as
``torch.utils.flop_counter.FlopCounterMode`` counts them (convolutions and matrix products,
forward and backward), over the measured fp32 peak of the cores that run them. No run can
train faster, whatever the framework; evaluation, preparation and scheduling come on top, so
a suite's wall time over its floor says how far from the hardware the whole command is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

import methods
from benchmark.data import dataset_info
from benchmark.models import build_model
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import timed
from benchmark.spec import RunSpec

__all__ = ["PEAK_MATMUL", "matmul_peak", "step_flops", "step_flops_of", "training_flops", "floor_seconds"]

#: Size n of the n x n fp32 matmul whose best time gives a core's peak (as the ``limits`` section).
PEAK_MATMUL = 2048


def matmul_peak(n: int = PEAK_MATMUL, repeats: int = 5, best_of: int = 3) -> float:
    """FLOP/s of an n x n fp32 ``torch.mm`` with the current torch threads: the best of
    ``repeats`` x ``best_of`` calls (a peak is a ceiling: a busy machine lowers a call, never
    raises it)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(repeats * best_of))
    return 2 * n**3 / best


def step_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` as ``torch.utils.flop_counter.FlopCounterMode`` counts them:
    convolutions and matrix products (forward and backward), nothing else: no elementwise
    work, reductions, softmax, distance transforms or optimiser update."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def _step_key(spec: RunSpec) -> tuple:
    s = spec.settings
    return (spec.method, spec.params, spec.backbone, s.width, spec.dataset, tuple(s.crop or s.resize or s.image_size), s.batch_size)


def step_flops_of(spec: RunSpec, cache: dict | None = None) -> int:
    """FLOPs of one training step of ``spec`` (its method and parameters, network, batch and
    crop; random weights and labels: the count depends on shapes only), in fp32 on the CPU."""
    key = _step_key(spec)
    if cache is not None and key in cache:
        return cache[key]
    s, info = spec.settings, dataset_info(spec.dataset)
    h, w = s.crop or s.resize or s.image_size
    torch.manual_seed(0)
    method = method_for(spec.method, spec.method_params(), methods.EdgeNet(info.num_classes), torch.device("cpu"))
    model = build_model(spec.backbone, info.num_classes, edge_head=method.needs_edge_head, frozen_bn=s.frozen_bn,
                        width=s.width if spec.backbone == "deeplabv2_small" else None).train()  # fmt: skip
    images = torch.rand(s.batch_size, 3, h, w)
    target = torch.randint(0, info.num_classes, (s.batch_size, h, w))
    edges = methods.semantic_edges(target, info.ignore_index)
    flops = step_flops(trainer_step(model, method, images, target, edges, grad_clip=s.grad_clip))
    if cache is not None:
        cache[key] = flops
    return flops


def training_flops(specs: Iterable[RunSpec]) -> int:
    """FLOPs of every run's training: its steps (from its first to ``last_step``) times one step's."""
    cache: dict = {}
    return sum(spec.last_step * step_flops_of(spec, cache) for spec in specs)


def floor_seconds(specs: Iterable[RunSpec], peak_flops_per_core: float, workers: int) -> float:
    """The least wall time ``specs``' training can take on ``workers`` cores at
    ``peak_flops_per_core`` each: their training FLOPs over the cores' combined peak."""
    return training_flops(specs) / (peak_flops_per_core * workers)
