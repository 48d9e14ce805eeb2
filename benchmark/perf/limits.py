"""The peak is the best of three calls of an n x n `torch.mm` per repeat (fp32; bf16 where the
CPU has native bf16, `avx512_bf16` or `amx_bf16` in /proc/cpuinfo; on CUDA fp32 with TF32 off,
tf32, bf16 and fp16, each step in the same precision), with the benchmark's thread count, the
device synchronised around every call. Every registered method at its default parameters (a random edge
net where it needs one, the Ubernet-style edge head where it needs that) takes
`benchmark.step.train_step` on one batch of the small scale; its FLOPs are counted once by
`torch.utils.flop_counter.FlopCounterMode`, which counts convolutions and matrix products
(forward and backward) and nothing else: no elementwise work, softmax, reductions, distance
transforms or optimiser update. The fraction is that count over the step's time (best of its
steps per repeat), divided by the highest peak of the repeats (a busy machine lowers a
repeat of the peak, never raises it).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable

import torch

import methods
from benchmark.arithmetic import precision_flags
from benchmark.models import build_model
from benchmark.perf.figure import Figure
from benchmark.perf.floor import step_flops
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "native_bf16", "step_precisions", "measure"]

#: Configuration -> ((backbone, (H, W), batch, width) of the timed step, the size n of the
#: n x n matmul of the peak on a CPU, repeats, steps per repeat: the best one counts).
SIZES = {
    "full": (("deeplabv2_small", (64, 128), 4, 32), 2048, 5, 3),
    "quick": (("deeplabv2_small", (64, 128), 4, 32), 1024, 2, 2),
}
#: Size n of the n x n matmul of the peak on CUDA.
LIMITS_CUDA_MATMUL = 8192
#: CPU flags of native bf16 arithmetic (/proc/cpuinfo).
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def native_bf16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes in bf16 natively: one of ``BF16_FLAGS`` among the flags of
    ``cpuinfo`` (False where it cannot be read)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(set(line.split(":", 1)[1].split()) & set(BF16_FLAGS))
    except OSError:
        pass
    return False


def step_precisions(device: torch.device) -> dict[str, tuple[torch.dtype, str]]:
    """The precisions a step is timed in: label -> (dtype of the matmul peak it is held to,
    ``train_step``'s ``precision``, ``benchmark.arithmetic``). On a CPU fp32, and bf16 autocast
    where the CPU has native bf16; on CUDA every precision (the tf32 peak: an fp32 matmul with
    TF32 on)."""
    if device.type == "cuda":
        return {"fp32": (torch.float32, "fp32"), "tf32": (torch.float32, "tf32"), "bf16": (torch.bfloat16, "bf16"),
                "fp16": (torch.float16, "fp16")}  # fmt: skip
    out = {"fp32": (torch.float32, "fp32")}
    if native_bf16():
        out["bf16"] = (torch.bfloat16, "bf16")
    return out


def measure(ctx: Context) -> list[Figure]:
    """The device's measured peak against what one training step achieves on it.

    Peak: an n x n matmul (``torch.mm``) in fp32, and in bf16 where the CPU has native bf16
    (on CUDA in each of ``step_precisions``), with the benchmark's thread count. Per registered method, at its default
    parameters (random edge net where it needs one, the Ubernet-style edge head where it
    needs that): the FLOPs of one ``benchmark.step.train_step`` counted by
    ``FlopCounterMode`` (convolutions and matrix products only, see ``step_flops``), and
    that count over the step's measured time as a fraction of the peak, in each precision of
    ``step_precisions``. The peak is a ceiling, so the highest of its repeats is the one the
    steps are divided by (a busy machine lowers a repeat, never raises it). The counted FLOPs are the same in every
    precision. A fraction counts only the work the counter sees, so a method whose cost is
    mostly elementwise or distance transforms shows a low fraction for that reason.
    """
    device, progress = ctx.device, ctx.progress
    (backbone, (h, w), batch, width), n, repeats, steps = ctx.sizes
    if device.type == "cuda":
        n = LIMITS_CUDA_MATMUL
    precisions = step_precisions(device)
    peaks = {"fp32": (torch.float32, "fp32"), **precisions}
    fns: dict[str, Callable[[], object]] = {}
    for label, (dtype, precision) in peaks.items():
        a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))

        def matmul(a=a, b=b, precision=precision):
            with precision_flags(device, precision):  # fp32 with TF32 off, tf32 with it on
                return torch.mm(a, b)

        fns[f"matmul_{label}"] = matmul
    torch.manual_seed(0)
    edge_net = methods.EdgeNet(NUM_CLASSES).to(device)
    models = {}
    for head in (False, True):
        torch.manual_seed(0)
        models[head] = build_model(backbone, NUM_CLASSES, edge_head=head, width=width).to(device).train()
    images = torch.rand(batch, 3, h, w, device=device)
    target = street_labels(batch, h, w).to(device)
    edges = methods.semantic_edges(target, IGNORE)
    names = methods.list_methods()
    flops = {}
    for name in names:
        method = method_for(name, {}, edge_net, device)
        for label, (_, precision) in precisions.items():
            fns[f"{name}@{label}"] = trainer_step(models[method.needs_edge_head], method, images, target, edges, precision=precision)
        flops[name] = step_flops(fns[f"{name}@{next(iter(precisions))}"])  # the same count in every precision
    for fn in fns.values():
        fn()  # warm-up
    best_of = {key: steps if "@" in key else 3 for key in fns}
    times = interleaved(fns, repeats, device, desc="limits", progress=progress, best_of=best_of)
    threads = f"{torch.get_num_threads()} torch thread{'s' if torch.get_num_threads() > 1 else ''}"
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else threads
    peak = {label: [2 * n**3 / t for t in times[f"matmul_{label}"]] for label in peaks}
    figures = [
        Figure("limits", f"peak_{label}_gflops", f"measured peak: {n}x{n} matmul in {label}, {where}", "GFLOP/s",
               [p / 1e9 for p in peak[label]]) for label in peaks
    ]  # fmt: skip
    size = f"{backbone} width {width}, {h}x{w} batch {batch}"
    for name in names:
        figures.append(Figure(
            "limits", f"{name}.gflop_per_step", f"{name}: FLOPs of one training step, {size} (FlopCounterMode: convolutions "
            "and matrix products, forward and backward; no elementwise work, no distance transforms)", "GFLOP", [flops[name] / 1e9],
        ))  # fmt: skip
        for label in precisions:
            achieved = [flops[name] / t for t in times[f"{name}@{label}"]]
            figures.append(Figure(
                "limits", f"{name}.fraction_{label}", f"{name}: achieved FLOP/s of the {label} training step / {label} peak, {where}",
                "of peak", [a / max(peak[label]) for a in achieved],
                extra={"gflops": statistics.median(achieved) / 1e9, "ms_per_step": 1e3 * statistics.median(times[f"{name}@{label}"])},
            ))  # fmt: skip
    return figures
