"""The trainer's own step (`benchmark.step.train_step`) of the boundary loss and of Hausdorff-DT
against PPCE's, side by side, at the small scale (the small DeepLab-v2-like net, width 32, on 4
street label maps of 64x128, gradient clipping at 30, as the small scale trains) and, on CUDA,
at the paper scale (DeepLab v2 ResNet-101, frozen batch norm, 321x321, batch 6; on a CPU the
paper scale's step is `paper_scale`'s and its distance transforms `distance_transforms`'). Per
method and scale: the host's time per step (wall, the device synchronised after the step) and
the device's (on CUDA, the time its kernels ran in a profiled step; on a CPU the device is the
host, so the same number). The methods take turns within every repeat; each repeat counts the
best of its steps.
"""

from __future__ import annotations

import functools
import statistics

import torch

from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import NUM_CLASSES, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "METHODS", "TARGETS", "device_ms", "measure"]

#: Configuration -> per scale: (scale, backbone, (H, W), batch, width, repeats, steps per repeat:
#: the best one counts, whether it runs on a CPU).
SIZES = {
    "full": (
        ("small", "deeplabv2_small", (64, 128), 4, 32, 15, 5, True),
        ("paper", "deeplabv2_resnet101", (321, 321), 6, None, 5, 2, False),
    ),
    "quick": (
        ("small", "deeplabv2_small", (64, 128), 4, 32, 3, 2, True),
        ("paper", "deeplabv2_resnet101", (65, 65), 1, None, 1, 1, True),
    ),
}
#: The methods timed, PPCE first (the reference).
METHODS = ("ppce", "boundary", "hausdorff_dt")
#: Small-scale step time over PPCE's that each distance-based loss is held to.
TARGETS = {"boundary": 1.25, "hausdorff_dt": 1.5}
#: The small scale's gradient clipping (``Settings.grad_clip``), part of its step.
SMALL_GRAD_CLIP = 30.0


def device_ms(step, device: torch.device) -> float:
    """Milliseconds the device spends in one call of ``step``: on CUDA the summed time of its
    kernels (``torch.profiler``), on a CPU the wall time of the call (the device is the host)."""
    import time

    if device.type != "cuda":
        start = time.perf_counter()
        step()
        return 1e3 * (time.perf_counter() - start)
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize(device)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize(device)
    events = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    return sum(e.device_time_total for e in events) / 1e3  # a kernel's device_time_total: its microseconds


def measure(ctx: Context) -> list[Figure]:
    """Per scale (``small``; ``paper`` on CUDA) and method (PPCE, boundary, Hausdorff-DT):
    ``<scale>.<method>.host_ms`` and ``<scale>.<method>.device_ms`` per step, and at each scale
    ``<scale>.<method>_vs_ppce``, the step time over PPCE's, per repeat: held at the small scale
    to 1.25 (boundary) and 1.5 (Hausdorff-DT). The step takes the target's maps computed with
    the batch, as the trainer gives them; ``<scale>.<method>.target_maps_ms`` is what they
    cost per batch and ``<scale>.<method>_with_maps_vs_ppce`` the step and its maps over PPCE's
    step: a run's time per step where nothing overlaps the two (a CPU trial of one thread)."""
    device, figures = ctx.device, []
    for scale, backbone, (h, w), batch, width, repeats, steps, on_cpu in ctx.sizes:
        if device.type != "cuda" and not on_cpu:
            continue
        torch.manual_seed(0)
        model = build_model(backbone, NUM_CLASSES, width=width, frozen_bn=backbone == "deeplabv2_resnet101").to(device).train()
        images = torch.rand(batch, 3, h, w, device=device)
        target = street_labels(batch, h, w, seed=4).to(device)
        # Clipped at both scales: a ResNet-101 with frozen batch norm at its initial statistics
        # (no weights here) otherwise leaves finite values after its first step or two.
        clip = SMALL_GRAD_CLIP
        losses = {name: method_for(name, {}, None, device) for name in METHODS}
        # the target's maps, computed with the batch as the trainer does (None for PPCE), then the step
        maps = {name: loss.target_maps(target, NUM_CLASSES) for name, loss in losses.items()}
        fns = {name: trainer_step(model, loss, images, target, None, target_maps=maps[name], grad_clip=clip) for name, loss in losses.items()}
        fns.update({f"{name}.maps": functools.partial(losses[name].target_maps, target, NUM_CLASSES) for name in METHODS[1:]})
        for fn in fns.values():
            fn()  # warm-up: allocator, oneDNN primitives, cuDNN plans, the distance backend's import
        times = interleaved(fns, repeats, device, desc=f"distance-loss steps, {scale}", progress=ctx.progress, best_of=steps)
        size = f"{backbone} {h}x{w} batch {batch}"
        for name in METHODS:
            on_device = [device_ms(fns[name], device) for _ in range(repeats if device.type == "cuda" else 0)]
            host = [1e3 * t for t in times[name]]
            figures += [
                Figure("distance_steps", f"{scale}.{name}.host_ms", f"{name} step, host, {size}", "ms", host),
                Figure("distance_steps", f"{scale}.{name}.device_ms",
                       f"{name} step, device{'' if device.type == 'cuda' else ' (the host: a CPU)'}, {size}", "ms",
                       on_device or host, extra={"device_is_host": device.type != "cuda"}),
            ]  # fmt: skip
            if name != "ppce":
                target_ratio = ("<=", TARGETS[name]) if scale == "small" else None
                with_maps = [a + b for a, b in zip(times[name], times[f"{name}.maps"])]
                figures += [
                    Figure("distance_steps", f"{scale}.{name}_vs_ppce", f"{name} / ppce step time, {size}", "x",
                           ratios(times[name], times["ppce"]), target_ratio,
                           extra={"ms_per_step": 1e3 * statistics.median(times[name]),
                                  "ppce_ms_per_step": 1e3 * statistics.median(times["ppce"])}),
                    Figure("distance_steps", f"{scale}.{name}.target_maps_ms",
                           f"{name}'s target maps of a batch, computed with the batch, host, {size}", "ms",
                           [1e3 * t for t in times[f"{name}.maps"]]),
                    # where nothing overlaps the maps with the step (a CPU, one thread): the time per step
                    Figure("distance_steps", f"{scale}.{name}_with_maps_vs_ppce",
                           f"({name} step + its target maps) / ppce step time, {size}", "x", ratios(with_maps, times["ppce"])),
                ]  # fmt: skip
        del model, fns
    return figures
