"""The device check in one command, `python -m benchmark.perf --only gpu` (written for a CUDA
machine; on a CPU it measures the same, slowly, in the CPU's precisions): a small-scale PPCE
and SEMEDA (0,1,0) run end to end on the device (`train(spec)` after the same preparation as
any run, fp32 with TF32 off: their mIoU, wall time and training steps per second), then one
paper-scale training step (DeepLab v2 ResNet-101 at 321x321, batch 6, PPCE, the trainer's own
step on random weights) timed in each precision the device runs (CUDA: fp32, tf32, bf16, fp16;
a CPU: fp32, and bf16), the device synchronised around every timing, with its time against
fp32's and, under fp16, the steps the loss scaler skipped.
"""

from __future__ import annotations

import torch

import methods
from benchmark.arithmetic import CUDA_ONLY, PRECISIONS
from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, perturbed, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "RUNS", "device_precisions", "measure"]

#: Configuration -> (scale of the end-to-end runs, their steps, (H, W) and batch of the
#: paper-scale step, repeats of its timing).
SIZES = {"full": ("small", 2000, (321, 321), 6, 3), "quick": ("small", 200, (321, 321), 6, 2)}
#: The end-to-end runs: (figure key, method, parameters).
RUNS = (("ppce", "ppce", {}), ("semeda_010", "semeda", {"lambdas": (0, 1, 0)}))


def device_precisions(device: torch.device) -> tuple[str, ...]:
    """The precisions a step is timed in on ``device``: every one on CUDA, the CPU's otherwise."""
    return PRECISIONS if device.type == "cuda" else tuple(p for p in PRECISIONS if p not in CUDA_ONLY)


def measure(ctx: Context) -> list[Figure]:
    """The end-to-end runs (one each: a run is minutes) and the paper-scale step per precision
    (``repeats`` interleaved timings, each the best of two steps)."""
    from benchmark.prepare import prepare
    from benchmark.spec import RunSpec
    from benchmark.train import train

    scale, steps, (h, w), batch, repeats = ctx.sizes
    device = ctx.device
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    figures = []
    for key, method, params in RUNS:
        spec = RunSpec.create(method, params=params, scale=scale, overrides={"steps": steps})
        prepared = prepare(spec, progress=ctx.progress)
        record = train(spec, prepared=prepared, progress=ctx.progress, device=device)
        if record["status"] != "ok":
            raise RuntimeError(f"the {key} run failed on {device}: {record.get('reason')}")
        timing, what = record["timing"], f"{spec.label()}, {scale} scale, {steps} steps, {where}"
        figures += [
            Figure("gpu", f"{key}.miou", f"mIoU of {what}", "%", [100 * record["metrics"]["miou"]]),
            Figure("gpu", f"{key}.wall_s", f"wall time of {what} (training and evaluation)", "s", [timing["wall_s"]]),
            Figure("gpu", f"{key}.steps_per_s", f"training steps per second of {what}", "steps/s", [steps / timing["train_s"]]),
        ]  # fmt: skip

    torch.manual_seed(0)
    model = build_model("deeplabv2_resnet101", NUM_CLASSES).to(device).train()
    images = torch.rand(batch, 3, h, w, device=device)
    target = perturbed(street_labels(batch, h, w, seed=2)).to(device)
    edges = methods.semantic_edges(target, IGNORE)
    method = method_for("ppce", {}, None, device)
    precisions = device_precisions(device)
    skipped = {p: 0 for p in precisions}

    def stepper(precision: str):
        step = trainer_step(model, method, images, target, edges, precision=precision)

        def counted():
            skipped[precision] += step().skipped

        return counted

    fns = {p: stepper(p) for p in precisions}
    for fn in fns.values():
        fn()  # warm-up: cuDNN's and oneDNN's first call of each precision
    times = interleaved(fns, repeats, device, desc="gpu", progress=ctx.progress, best_of=2)
    size = f"ResNet-101 {h}x{w}, batch {batch}, PPCE, {where}"
    for p in precisions:
        extra = {"skipped_steps": skipped[p]} if p == "fp16" else {}
        figures.append(Figure("gpu", f"paper_step_{p}_s", f"paper-scale training step in {p}, {size}", "s", times[p], extra=extra))
        if p != "fp32":
            figures.append(Figure("gpu", f"paper_step_{p}_speedup", f"paper-scale step: fp32's time / {p}'s, {size}", "x",
                                  ratios(times["fp32"], times[p])))  # fmt: skip
    return figures
