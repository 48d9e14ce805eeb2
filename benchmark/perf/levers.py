"""The training step's speed levers, settings that are off by default (`memory_format=channels_last`,
`compile=true`: the loss terms compiled, and `precision=bf16`), each alone and all together, and
`compile+network` (the network compiled too: no setting, it measured slower): the trainer's own step
(`benchmark.step.train_step`, the levers set by `benchmark.step.apply_levers` as the trainer sets
them) of PPCE and SEMEDA (0,1,0) before ReLU (with the full sizes also focal and Lovasz) at the
small scale (`deeplabv2_small` width 32, 64x128, batch 4, clipping at 30), its time divided by the
default step's, the variants of a method taking turns within every repeat (below 1: faster). The
compilation is timed apart, where a variant's first step compiled a graph: that step minus a
compiled step, inductor's cache emptied for the section, so the first compilation also pays
inductor's start-up, as the first run on a fresh machine does, and a variant whose code an
earlier one compiled (the loss in another layout or precision) compiles nothing. And the focal and
Lovasz terms alone (forward and backward) against smp's losses, which they reproduce bit for bit.
"""

from __future__ import annotations

import os
import statistics
import tempfile

import torch
from torch._dynamo.utils import counters

import methods
from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, street_labels
from benchmark.perf.section import Context
from benchmark.perf.steps import method_for, trainer_step
from benchmark.perf.timing import interleaved, timed
from benchmark.step import COMPILE_OPTIONS, apply_levers

__all__ = ["SIZES", "VARIANTS", "LEVER_METHODS", "measure"]

#: Configuration -> (labels of ``LEVER_METHODS`` timed, repeats, steps per repeat: the best counts).
SIZES = {
    "full": (("ppce", "semeda(0,1,0)", "focal", "lovasz"), 15, 5),
    "quick": (("ppce", "semeda(0,1,0)"), 5, 3),
}
#: (label, method name, parameters) of the methods whose steps are timed.
LEVER_METHODS = (
    ("ppce", "ppce", {}),
    ("semeda(0,1,0)", "semeda", {"lambdas": (0, 1, 0)}),
    ("focal", "focal", {}),
    ("lovasz", "lovasz", {}),
)
#: (label, settings) of the timed step variants; the first is the reference, every lever at its
#: default. ``compile+network`` is no setting: ``compile=true`` with the network's backbone and
#: classifier compiled too, the alternative ``apply_levers`` does not take (it measured slower).
VARIANTS = (
    ("default", {}),
    ("channels_last", {"memory_format": "channels_last"}),
    ("compile", {"compile": True}),
    ("bf16", {"precision": "bf16"}),
    ("channels_last+compile", {"memory_format": "channels_last", "compile": True}),
    ("all", {"memory_format": "channels_last", "compile": True, "precision": "bf16"}),
    ("compile+network", {"compile": True}),
)
#: The small scale's network and batch, and its clipping threshold.
BACKBONE, WIDTH, SIZE, BATCH, GRAD_CLIP = "deeplabv2_small", 32, (64, 128), 4, 30.0


def _term_times(logits: torch.Tensor, target: torch.Tensor, repeats: int, progress: bool) -> list[Figure]:
    """The focal and Lovasz terms alone, forward and backward, against smp's losses."""
    from segmentation_models_pytorch.losses import FocalLoss, LovaszLoss

    pairs = {
        "focal": (lambda x: methods.focal_term(x, target, 2.0, IGNORE), FocalLoss(mode="multiclass", gamma=2.0, ignore_index=IGNORE)),
        "lovasz": (lambda x: methods.lovasz_softmax_term(x, target, IGNORE), LovaszLoss(mode="multiclass", ignore_index=IGNORE)),
    }
    fns, same = {}, {}
    for name, (ours, smp) in pairs.items():
        a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        va, vb = ours(a), smp(b, target)
        va.backward()
        vb.backward()
        same[name] = bool(torch.equal(va, vb) and torch.equal(a.grad, b.grad))
        for side, fn in (("ours", ours), ("smp", lambda x, smp=smp: smp(x, target))):
            fns[f"{name}.{side}"] = lambda fn=fn: fn(logits.clone().requires_grad_()).backward()
    times = interleaved(fns, repeats, desc="levers: loss terms", progress=progress, best_of=3)
    return [
        Figure("levers", f"{name}_term.vs_smp", f"{name} term alone, forward and backward: ours / smp's time "
               f"({'the same floats, value and gradient' if same[name] else 'NOT the same floats'})", "x",
               ratios(times[f"{name}.ours"], times[f"{name}.smp"]),
               extra={"ms": 1e3 * statistics.median(times[f"{name}.ours"]), "smp_ms": 1e3 * statistics.median(times[f"{name}.smp"]),
                      "bit_identical": same[name]})
        for name in pairs
    ]  # fmt: skip


def measure(ctx: Context) -> list[Figure]:
    """Step time of every lever variant (``VARIANTS``) over the default step's, per method, at the
    small scale; seconds of compilation per compiled variant; the focal and Lovasz terms against
    smp's."""
    labels, repeats, steps = ctx.sizes
    device, progress = ctx.device, ctx.progress
    h, w = SIZE
    torch.manual_seed(0)
    edge_net = methods.EdgeNet(NUM_CLASSES).to(device)
    images = torch.rand(BATCH, 3, h, w, device=device)
    target = street_labels(BATCH, h, w).to(device)
    edges = methods.semantic_edges(target, IGNORE)  # part of the batch, outside the step
    figures = []
    cache = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="levers-inductor-") as fresh:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = fresh  # an empty cache: the compile times a fresh machine pays
        try:
            for label, name, params in (entry for entry in LEVER_METHODS if entry[0] in labels):
                figures += _method_figures(label, name, params, edge_net, images, target, edges, repeats, steps, device, progress)
        finally:
            if cache is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
    torch.manual_seed(0)
    figures += _term_times(3 * torch.randn(BATCH, NUM_CLASSES, h, w), street_labels(BATCH, h, w), repeats, progress)
    return figures


def _method_figures(label, name, params, edge_net, images, target, edges, repeats, steps, device, progress) -> list[Figure]:
    """One method's variants, each with a network and a method of its own, built and set on
    its levers as a run builds them (a compiled variant pays its whole compilation)."""
    fns, compile_s = {}, {}
    for variant, settings in VARIANTS:
        layout, compiled = settings.get("memory_format", "contiguous"), settings.get("compile", False)
        torch.manual_seed(0)
        model = build_model(BACKBONE, NUM_CLASSES, width=WIDTH).to(device).train()
        method = method_for(name, params, edge_net, device)
        apply_levers(model, method, memory_format=layout, compile=compiled)
        if variant == "compile+network":
            for part in (model.backbone, model.classifier):
                part.compile(**COMPILE_OPTIONS)
        fns[variant] = trainer_step(model, method, images, target, edges, grad_clip=GRAD_CLIP,
                                    precision=settings.get("precision", "fp32"), memory_format=layout)  # fmt: skip
        graphs = counters["stats"]["unique_graphs"]
        first = timed(fns[variant], device)  # warm-up; for a compiled variant, its compilation
        graphs = counters["stats"]["unique_graphs"] - graphs
        if graphs:  # none where an earlier variant compiled the same code (the network's, or the loss's in another layout)
            compile_s[variant] = first, graphs
    times = interleaved(fns, repeats, device, desc=f"levers {label}", progress=progress, best_of=steps)
    ref = times["default"]
    size = f"{BACKBONE} width {WIDTH}, {SIZE[0]}x{SIZE[1]} batch {BATCH}"
    figures = []
    for variant, settings in VARIANTS[1:]:
        text = ", ".join(f"{k}={str(v).lower()}" for k, v in settings.items()) + (" and the network compiled" if variant == "compile+network" else "")
        figures.append(Figure(
            "levers", f"{label}.{variant}", f"{label}: step time with {text} / default step time, {size}", "x",
            ratios(times[variant], ref),
            extra={"ms_per_step": 1e3 * statistics.median(times[variant]), "default_ms_per_step": 1e3 * statistics.median(ref),
                   "settings": settings},
        ))  # fmt: skip
    for variant, (first, graphs) in compile_s.items():
        step = statistics.median(times[variant])
        figures.append(Figure(
            "levers", f"compile_s.{label}.{variant}", f"{label}, {variant}: compilation of {graphs} graph{'s' if graphs > 1 else ''} "
            "(first step minus a compiled step)", "s", [max(first - step, 0.0)], extra={"first_step_s": first, "graphs": graphs},
        ))  # fmt: skip
    return figures
