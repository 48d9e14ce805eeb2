"""Time of the trainer's own step (`benchmark.step.train_step`: forward, loss, backward,
gradient clipping at 10, SGD step, schedule) of each structure loss divided by PPCE's, on
the same model, input and 19-class street label maps; the methods take turns within every
repeat. The paper's methods are held to the target on ResNet-101; every other registered
method runs at its default parameters, without a target. ResNet-101 with frozen batch norm,
as at paper scale. The edge net has random weights (its cost does not depend on them); the
batch's semantic edges are computed once, outside the step, as part of the batch. Each
repeat counts the best of its steps (one step on ResNet-101).
"""

from __future__ import annotations

import json
import statistics

import torch

import methods
from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "LOSS_METHODS", "loss_methods", "measure"]

#: Configuration -> (backbone, (H, W), batch, width, repeats, steps per repeat: the best one
#: counts) of each model the step is timed on.
SIZES = {
    "full": (
        ("deeplabv2_resnet101", (321, 321), 2, None, 7, 1),
        ("deeplabv2_small", (64, 128), 8, 32, 10, 10),
    ),
    "quick": (
        ("deeplabv2_resnet101", (129, 129), 1, None, 2, 1),
        ("deeplabv2_small", (64, 128), 8, 32, 3, 3),
    ),
}
#: (label, method name, parameters) of the paper's methods in the loss-overhead comparison;
#: the first is the reference. ``loss_methods()`` adds every other registered method.
LOSS_METHODS = (
    ("ppce", "ppce", {}),
    ("semeda(0,1,0)", "semeda", {"lambdas": (0, 1, 0)}),
    ("semeda(1,0.5,0.25)", "semeda", {"lambdas": (1, 0.5, 0.25)}),
    ("ppce_edges", "ppce_edges", {}),
    ("ubernet", "ubernet", {}),
)
#: Gradient-norm clip of the timed steps, so that clipping's cost is in the figures.
LOSS_GRAD_CLIP = 10.0
#: Step-time ratio to PPCE's on ResNet-101 above which a method's figure is printed as measured.
SLOW_RATIO = 1.5


def loss_methods() -> list[tuple[str, str, dict]]:
    """``LOSS_METHODS``, then every other registered method at its default parameters, labelled
    by its name (left out when one of ``LOSS_METHODS`` is that method with those parameters)."""

    def identity(name: str, params: dict) -> tuple[str, str]:
        return name, json.dumps(methods.build_method(name, **params).params, sort_keys=True, default=str)

    covered = {identity(name, params) for _, name, params in LOSS_METHODS}
    return list(LOSS_METHODS) + [(name, name, {}) for name in methods.list_methods() if identity(name, {}) not in covered]


def measure(ctx: Context) -> list[Figure]:
    """Time of the trainer's step (``benchmark.step.train_step``: forward, loss, backward,
    gradient clipping at 10, SGD step, schedule) of SEMEDA (0,1,0) and (1,0.5,0.25) before
    ReLU, PPCE on edges, the Ubernet-style edge head and every other registered method at its
    default parameters, each divided by PPCE's, on DeepLab v2 ResNet-101 (321x321, batch 2)
    and on the small DeepLab-v2-like net (width 32, 64x128, batch 8). Target: <= 1.03 on
    ResNet-101 for the paper's methods."""
    device, progress = ctx.device, ctx.progress
    figures = []
    entries = loss_methods()
    paper = {label for label, _, _ in LOSS_METHODS}
    for backbone, (h, w), batch, width, repeats, steps in ctx.sizes:
        torch.manual_seed(0)
        edge_net = methods.EdgeNet(NUM_CLASSES).to(device)
        frozen_bn = backbone == "deeplabv2_resnet101"  # as at paper scale
        models = {}
        for head in (False, True):
            torch.manual_seed(0)
            models[head] = build_model(backbone, NUM_CLASSES, edge_head=head, width=width, frozen_bn=frozen_bn).to(device).train()
        images = torch.rand(batch, 3, h, w, device=device)
        target = street_labels(batch, h, w).to(device)
        edges = methods.semantic_edges(target, IGNORE)  # part of the batch, outside the step
        fns = {}
        for label, name, params in entries:
            method = method_for(name, params, edge_net, device)
            fns[label] = trainer_step(models[method.needs_edge_head], method, images, target, edges, grad_clip=LOSS_GRAD_CLIP)
            fns[label]()  # warm-up: allocator, oneDNN primitives, cuDNN plans
        times = interleaved(fns, repeats, device, desc=f"loss overhead {backbone}", progress=progress, best_of=steps)
        ref = times["ppce"]
        size = f"{h}x{w} batch {batch}" + (f" width {width}" if width else "")
        big = backbone == "deeplabv2_resnet101"
        for label, name, _ in entries[1:]:
            figure = Figure(
                "loss_overhead", f"{backbone}.{label}", f"{label} / ppce step time, {backbone} {size}", "x",
                ratios(times[label], ref), ("<=", 1.03) if big and label in paper else None,
                extra={"ms_per_step": 1e3 * statistics.median(times[label]),
                       "ppce_ms_per_step": 1e3 * statistics.median(ref), "paper_method": label in paper},
            )  # fmt: skip
            figures.append(figure)
            if big and figure.median > SLOW_RATIO:
                doc = (methods.method_class(name).__doc__ or "").strip().split("\n\n")[0]
                print(f"loss_overhead.{figure.key}: {figure.median:.2f}x PPCE's step time ({size}; "
                      f"{figure.extra['ms_per_step']:.0f} ms) - {name}: {' '.join(doc.split())}", flush=True)  # fmt: skip
        del models, fns
    return figures
