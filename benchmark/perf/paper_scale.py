"""What the paper scale costs per image on this machine, for a researcher planning a real
run: the distance map preparation keeps per validation image (Cityscapes at 1024x512, a VOC
image of 500x375), the edge net's fit (a fixed cost, at the paper scale's 3,000 steps, timed
on 300 and scaled), DeepLab v2 ResNet-101's evaluation per validation image (forward at the
image's own size, then every evaluator), and one training step at 321x321 with the paper's
batch of 6 (a run is 20,000 of them). Absolute seconds, with the torch threads of
``--threads`` (default 1), on random weights (the time does not depend on them); on CUDA the
evaluation and the step run on the GPU (the distance maps and the edge net's fit on the CPU,
as the preparation makes them), fp32 with TF32 off, the device synchronised around each timing.
"""

from __future__ import annotations

import time

import torch

import methods
from benchmark import metrics
from benchmark.arithmetic import precision_flags
from benchmark.models import build_model
from benchmark.perf.figure import Figure
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, perturbed, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import timed
from benchmark.prepare import FIT_HELD_OUT, FIT_MASKS, FIT_PATCH

__all__ = ["SIZES", "measure"]

#: Configuration -> (repeats, masks the edge net is fitted on, its steps timed).
SIZES = {"full": (3, 8, 300), "quick": (1, 4, 30)}

#: The edge net's fitting steps at the paper scale (``Settings.edge_net_steps``).
PAPER_FIT_STEPS = 3000
#: Steps of one paper-scale run (``Settings.steps``).
PAPER_STEPS = 20000


def measure(ctx: Context) -> list[Figure]:
    """Seconds per image (or per step, per fit) of the paper scale's pieces, each the median of
    the repeats: ``distance_map_cityscapes`` and ``distance_map_voc`` (``metrics.edge_distance``
    of one mask), ``edge_net_fit`` (``methods.fit_edge_net`` as ``prepare`` calls it at the paper
    scale: patches centred on edges, the balanced loss, held-out masks scored whole; the time
    of the steps timed, times 3,000 / their number), ``eval_cityscapes`` and ``eval_voc`` (the
    forward of one image at its own size and the four evaluators on it), and ``train_step``
    (321x321, batch 6, PPCE, the trainer's own step). ``run_hours`` derives a run's training
    time: 20,000 steps."""
    from benchmark.evaluators import EVALUATORS
    from benchmark.spec import scale_settings

    repeats, fit_masks, fit_steps = ctx.sizes
    device = ctx.device
    figures = []

    def figure(key: str, label: str, values: list[float], unit: str = "s") -> None:
        figures.append(Figure("paper_scale", key, label, unit, values))

    city = street_labels(max(fit_masks, 2), 512, 1024)
    voc = street_labels(1, 375, 500, seed=1)
    figure("distance_map_cityscapes", "distance map of one 1024x512 validation mask", [timed(lambda: metrics.edge_distance(city[:1])) for _ in range(repeats)])
    figure("distance_map_voc", "distance map of one 500x375 validation mask", [timed(lambda: metrics.edge_distance(voc)) for _ in range(repeats)])

    g = torch.Generator().manual_seed(0)
    patches, held_out = methods.edge_net_inputs([m.to(torch.uint8) for m in city[:fit_masks]], patches=FIT_MASKS, size=FIT_PATCH,
                                                max_held_out=FIT_HELD_OUT, ignore_index=IGNORE, generator=g)  # fmt: skip

    def fit():
        methods.fit_edge_net(patches, NUM_CLASSES, steps=fit_steps, ignore_index=IGNORE, seed=0, balance=True, val_masks=held_out)

    figure("edge_net_fit", f"edge-net fit, {PAPER_FIT_STEPS:,} steps (timed on {fit_steps})",
           [timed(fit) * PAPER_FIT_STEPS / fit_steps for _ in range(repeats)])  # fmt: skip

    model = build_model("deeplabv2_resnet101", NUM_CLASSES).to(device).eval()
    for name, target, settings in (("cityscapes", city[:1], scale_settings("paper", "cityscapes")), ("voc", voc, scale_settings("paper", "voc"))):
        images = torch.rand(1, 3, *target.shape[-2:], device=device)
        # on the training device, as the trainer scores: the cached uint8 map, the target, the prediction
        distance = metrics.edge_distance(target).clamp(max=255).floor().to(torch.uint8).to(device)
        target = target.to(device)

        def evaluate():
            with torch.no_grad():
                pred = model(images)["logits"].argmax(1)
            for cls in EVALUATORS:
                evaluator = cls(settings, NUM_CLASSES, IGNORE)
                evaluator.process(pred, target, distance=distance)

        with precision_flags(device, "fp32"):
            evaluate()  # warm-up: oneDNN's first call at a new size
            h, w = target.shape[-2:]
            times = [timed(evaluate, device) for _ in range(repeats)]
        figure(f"eval_{name}", f"evaluation of one {w}x{h} image (ResNet-101 forward, every evaluator)", times)

    model.train()
    images = torch.rand(6, 3, 321, 321, device=device)
    target = perturbed(street_labels(6, 321, 321, seed=2)).to(device)
    edges = methods.semantic_edges(target, IGNORE)
    step = trainer_step(model, method_for("ppce", {}, None, device), images, target, edges)
    step()  # warm-up
    steps = [timed(step, device) for _ in range(repeats)]
    figure("train_step", "training step, 321x321, batch 6 (PPCE)", steps)
    figure("run_hours", f"a run's training: {PAPER_STEPS:,} steps", [s * PAPER_STEPS / 3600 for s in steps], unit="h")
    return figures
