"""Performance benchmark: ``python -m benchmark.perf [--quick] [--out results/perf]``.

Every figure is a ratio (or a rate beside its reference) of things measured side by side
in one run, interleaved across repeats, so that the drift of a shared machine hits both
sides alike; each is reported as the median over repeats with its spread (min, max).

Sections (each can be run alone with ``--only``):

- ``loss_overhead``: time of the trainer's step (``benchmark.step.train_step``: forward,
  loss, backward, gradient clipping at 10, SGD step, schedule) of SEMEDA (0,1,0) and
  (1,0.5,0.25) before ReLU, PPCE on edges, the Ubernet-style edge head and every other
  registered method at its default parameters, each divided by PPCE's, on DeepLab v2
  ResNet-101 (321x321, batch 2) and on the small DeepLab-v2-like net (width 32, 64x128,
  batch 8). Target: <= 1.03 on ResNet-101 for the paper's methods.
- ``edge_maps``: ``methods.semantic_edges`` on 8 street label maps of 512x1024 (int64),
  in megapixels per second, against a numpy 8-shift comparison and scipy max/min
  filters on the same input (all three must agree). Target: >= 3x numpy, >= 10x scipy.
- ``trimap``: ``metrics.trimap_confusion`` for widths 1-40 against one plain
  ``confusion_matrix``, and against dilating the edge map with a disk per width (the
  bands are checked to be identical). Target: <= 1.5x the plain matrix, >= 5x faster
  than dilation.
- ``harness``: images per second of the trainer's loop (``train(spec)``, its
  ``timing.train_s``) against a bare PyTorch loop doing the same forward, backward and
  SGD step on the same model and the same batches held in memory. Target: >= 0.90.
- ``sweep``: wall time of the 4 ``smoke`` runs through Ray Tune with 1 and with 2
  concurrent trials (Ray started once, outside the timed part); also with longer runs,
  where fixed per-trial costs weigh less. Target: speed-up >= 1.6. Beside it, the
  machine's parallel capacity (two CPU-bound processes against one), which caps it.
- ``evaluation``: the evaluation pass (small net's forward included, 64 images of 64x128)
  with every evaluator against the confusion matrix and trimap only; and the evaluators
  alone on precomputed 512x1024 predictions (no target). Target: <= 2x at the small scale.
- ``limits``: the device's measured peak (an n x n matmul, fp32, and bf16 where the CPU
  has native bf16, ``avx512_bf16`` or ``amx_bf16``; fp16 on CUDA), the FLOPs of one
  training step of every registered method at its default parameters, and the FLOP/s the
  trainer's step achieves as a fraction of that peak (fp32, and bf16 beside it). The FLOPs
  are counted by ``torch.utils.flop_counter.FlopCounterMode``: convolutions and matrix
  products, forward and backward; not distance transforms nor elementwise work, so a
  method that is mostly such work shows a low fraction for that reason.
- ``suite_wall`` (only with ``--suite-wall``, or named by ``--only``; not in ``--quick``,
  not by default): wall time of ``python -m benchmark.run --suite table1 --no-report``
  from an empty data and run folder (tens of minutes), and that time against the sum of
  the runs' own ``timing.wall_s`` over the number of concurrent trials: scheduling and
  fixed costs in one ratio.

``--update`` re-runs the sections named by ``--only`` and keeps the others of an
existing ``perf.json``; every section records when it ran and the load average around
it, and the README flags the sections measured on a busy machine.

CPU comparisons run with one torch thread (``torch.set_num_threads(1)``), Ray trials with
one thread each. On a machine with CUDA the loss-overhead and harness sections measure
the GPU (the trainer's mixed precision included).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

import methods
from benchmark import metrics
from benchmark.allocator import keep_freed_memory
from benchmark.cli import ArgumentParser, add_import_option, import_from_argv, import_plugins, main_guard
from benchmark.data import dataset_info, render
from benchmark.data.datasets import cityscapes_lut
from benchmark.data.transforms import normalize
from benchmark.models import build_model
from benchmark.records import environment, load_records
from benchmark.step import train_step

__all__ = ["Figure", "Config", "QUICK", "FULL", "run", "write_readme", "main", "SECTIONS"]

NUM_CLASSES = 19
IGNORE = 255
TRIMAP_WIDTHS = (1, 2, 3, 5, 10, 20, 40)
#: CPU cores kept busy on average by processes outside the benchmark's own process tree
#: from which a section counts as measured on a busy machine.
BUSY_CORES = 0.25
#: Back-to-back calls per repeat of the functions that take milliseconds (the best counts).
BEST_OF = 5


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one benchmark run (``FULL`` or the reduced ``QUICK``)."""

    name: str
    #: (backbone, (H, W), batch, width, repeats, steps per repeat: the best one counts)
    loss_models: tuple = ()
    edge_maps: tuple = (8, 512, 1024, 7)  # (N, H, W, repeats)
    trimap: tuple = (4, 512, 1024, 3)  # (N, H, W, repeats)
    #: (steps, repeats, setting overrides of the small scale)
    harness: tuple = (200, 3, ())
    #: (spec count, repeats, [steps overrides of the longer variant])
    sweep: tuple = (4, 2, (1000,))


FULL = Config(
    "full",
    loss_models=(
        ("deeplabv2_resnet101", (321, 321), 2, None, 7, 1),
        ("deeplabv2_small", (64, 128), 8, 32, 10, 10),
    ),
)
QUICK = Config(
    "quick",
    loss_models=(
        ("deeplabv2_resnet101", (129, 129), 1, None, 2, 1),
        ("deeplabv2_small", (64, 128), 8, 32, 3, 3),
    ),
    edge_maps=(2, 512, 1024, 3),
    trimap=(1, 512, 1024, 2),
    harness=(20, 2, (("n_train", 64), ("n_val", 8))),
    sweep=(2, 1, ()),
)

SECTIONS = ("loss_overhead", "edge_maps", "trimap", "harness", "sweep", "evaluation", "limits")
#: Sections run only when asked for (``--suite-wall``, or named by ``--only``): not by default, not in ``--quick``.
OPTIONAL_SECTIONS = ("suite_wall",)
SECTION_NOTES = {
    "loss_overhead": "Time of the trainer's own step (`benchmark.step.train_step`: forward, loss, backward, gradient "
    "clipping at 10, SGD step, schedule) of each structure loss divided by PPCE's, on the same model, "
    "input and 19-class street label maps; the methods take turns within every repeat. The paper's methods are held "
    "to the target on ResNet-101; every other registered method runs at its default parameters, without a target. "
    "ResNet-101 with frozen batch norm, as at paper scale. The edge net has random weights (its cost does not "
    "depend on them); the batch's semantic edges are computed once, outside the step, as part of the batch. "
    "Each repeat counts the best of its steps (one step on ResNet-101).",
    "edge_maps": "`methods.semantic_edges` against a numpy 8-shift comparison and scipy max/min filters on the "
    "same int64 street label maps; the three maps are asserted identical before timing. Each repeat counts the "
    f"best of {BEST_OF} calls.",
    "trimap": "`metrics.trimap_confusion` for widths 1, 2, 3, 5, 10, 20, 40 given the cached distance maps "
    "(float32 from `edge_distance`, or floored to uint8 as `prepare` caches them) against one plain "
    "`confusion_matrix` of the same predictions, and against one disk dilation of the edge map per width (scipy "
    "`binary_dilation`, two confusion matrices per width). The dilated bands are asserted identical to the "
    "distance definition (distance < w), and all matrices to each other. Each repeat counts the best of "
    f"{BEST_OF} calls (one for the dilation).",
    "harness": "`train(spec)` of a small-scale PPCE spec (its `timing.train_s`: the training loop only) against a "
    "bare loop doing forward, loss, backward and SGD step on the same model and the same batches, drawn "
    "beforehand from the trainer's own loader and held in memory; and against the same bare loop drawing its "
    "batches from that loader as the trainer does, which isolates the cost of the data pipeline (per-sample "
    "augmentation in the loop's thread) from the rest of the trainer's loop. For the methods that read them, "
    "the trainer also computes the batch's semantic edges (cost listed).",
    "sweep": "Wall time of `benchmark.sweep.run_specs` on the `smoke` suite's runs with 1 and with 2 concurrent "
    "Ray trials (one CPU and one torch thread each) on a local Ray of 2 CPUs started once, outside the timing; "
    "each call writes to a fresh folder. Smoke runs train for a fraction of a second, so fixed per-trial costs "
    "dominate them; the longer variant overrides the number of steps. No speed-up can exceed the machine's "
    "parallel capacity, measured first: two CPU-bound processes started at once, against one alone.",
    "evaluation": "The whole evaluation pass (model forward, then every evaluator on each batch, the cached uint8 "
    "distance maps given) against the same pass with the confusion matrix and trimap only, at the small scale; and the "
    "evaluators alone on precomputed 512x1024 predictions at the paper scale's Cityscapes widths and tolerances. "
    "Boundary IoU takes one exact distance transform of each prediction's edge map (scipy); boundary F none: it "
    "compares the class-labelled contour maps at every offset of the tolerance disk (tolerances below 3) or lets "
    "each contour pixel search, row by row, the other contour of its class (larger tolerances).",
    "limits": "The peak is the best of three calls of an n x n `torch.mm` per repeat (fp32; bf16 where the CPU has "
    "native bf16, `avx512_bf16` or `amx_bf16` in /proc/cpuinfo; fp16 on CUDA), with the benchmark's thread count. "
    "Every registered method at its default parameters (a random edge net where it needs one, the Ubernet-style "
    "edge head where it needs that) takes `benchmark.step.train_step` on one batch of the small scale; its FLOPs "
    "are counted once by `torch.utils.flop_counter.FlopCounterMode`, which counts convolutions and matrix products "
    "(forward and backward) and nothing else: no elementwise work, softmax, reductions, distance transforms or "
    "optimiser update. The fraction is that count over the step's time (best of its steps per repeat), divided by "
    "the highest peak of the repeats (a busy machine lowers a repeat of the peak, never raises it).",
    "suite_wall": "A subprocess `python -m benchmark.run --suite table1 --no-report` with `SEMEDA_DATA` and `--out` "
    "in a fresh temporary folder: data rendering, edge-net fitting, Ray's start and every run included, one "
    "concurrent trial per CPU core. The ratio divides the wall time by the sum of the runs' `timing.wall_s` (from "
    "the records written) over the number of concurrent trials; 1 would mean no time outside `train(spec)` and no "
    "idle worker. Load averages before and after are stored with the figure.",
}


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """One reported figure: its values over repeats, and the target it is held to."""

    section: str
    key: str
    label: str
    unit: str
    values: list[float]
    target: tuple[str, float] | None = None  # (">=" or "<=", bound)
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target
        return bool(self.median >= bound if op == ">=" else self.median <= bound)

    def to_dict(self) -> dict:
        return {
            "section": self.section, "label": self.label, "unit": self.unit,
            "median": self.median, "min": float(min(self.values)), "max": float(max(self.values)),
            "repeats": len(self.values), "values": [float(v) for v in self.values],
            "target": None if self.target is None else {"op": self.target[0], "value": self.target[1]},
            "met": self.met, **self.extra,
        }  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device = torch.device("cpu")) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _interleaved(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    device=torch.device("cpu"),
    desc="",
    progress=True,
    best_of: int | dict[str, int] = 1,
) -> dict[str, list[float]]:
    """Seconds per call of every function, ``repeats`` times, in an order rotated each repeat
    (so that no function always runs after the same one).

    Each repeat's time of a function is the best of ``best_of`` back-to-back calls (per
    function when a dict): on a shared machine a call of a few milliseconds can lose a
    whole scheduler time slice to another process, which the minimum discounts.
    """
    from tqdm.auto import tqdm

    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in tqdm(range(repeats), desc=desc, leave=False, disable=not progress):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            calls = best_of.get(name, 1) if isinstance(best_of, dict) else best_of
            times[name].append(min(_timed(fns[name], device) for _ in range(calls)))
    return times


def _ratios(num: list[float], den: list[float]) -> list[float]:
    """Per-repeat ratios: each pair was measured in the same repeat."""
    return [a / b for a, b in zip(num, den)]


# --------------------------------------------------------------------------- data


def street_labels(n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """``n`` synthetic street label maps (Cityscapes train ids, 255 void), int64 [n, H, W]."""
    lut = cityscapes_lut()
    masks = [lut[render("streets", i, split="val", height=height, width=width, seed=seed)[1]] for i in range(n)]
    return torch.from_numpy(np.stack(masks).astype(np.int64))


def perturbed(target: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A prediction-like map: ``target`` shifted by 2 pixels, 5% of pixels relabelled, no void."""
    g = torch.Generator().manual_seed(seed)
    pred = torch.roll(target, shifts=(2, -2), dims=(1, 2)).clamp(max=NUM_CLASSES - 1)
    noise = torch.rand(pred.shape, generator=g) < 0.05
    return torch.where(noise, torch.randint(NUM_CLASSES, pred.shape, generator=g), pred)


# --------------------------------------------------------------------------- 1. loss overhead

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


def _method(name: str, params: dict, edge_net, device: torch.device):
    """Registered method ``name`` with ``params``, the edge net attached where it needs one."""
    method = methods.build_method(name, **params)
    if method.needs_edge_net:
        method.attach_edge_net(edge_net)
    return method.to(device)


def _trainer_step(model, method, images, target, edges, *, grad_clip: float | None = None, precision: str = "fp32"):
    """A call of the trainer's own step (``benchmark.step.train_step``) on a fixed batch: SGD
    with momentum, a poly schedule, loss scaling with mixed precision on CUDA."""
    scaler = torch.amp.GradScaler("cuda", enabled=images.device.type == "cuda")
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-5, momentum=0.9)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / 1e6) ** 0.9)

    def step():
        return train_step(model, method, optimiser, schedule, scaler, images, target, edges, grad_clip=grad_clip, precision=precision)

    return step


def loss_overhead(cfg: Config, device: torch.device, progress: bool) -> list[Figure]:
    figures = []
    entries = loss_methods()
    paper = {label for label, _, _ in LOSS_METHODS}
    for backbone, (h, w), batch, width, repeats, steps in cfg.loss_models:
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
            method = _method(name, params, edge_net, device)
            fns[label] = _trainer_step(models[method.needs_edge_head], method, images, target, edges, grad_clip=LOSS_GRAD_CLIP)
            fns[label]()  # warm-up: allocator, oneDNN primitives, cuDNN plans
        times = _interleaved(fns, repeats, device, desc=f"loss overhead {backbone}", progress=progress, best_of=steps)
        ref = times["ppce"]
        size = f"{h}x{w} batch {batch}" + (f" width {width}" if width else "")
        big = backbone == "deeplabv2_resnet101"
        for label, name, _ in entries[1:]:
            figure = Figure(
                "loss_overhead", f"{backbone}.{label}", f"{label} / ppce step time, {backbone} {size}", "x",
                _ratios(times[label], ref), ("<=", 1.03) if big and label in paper else None,
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


# --------------------------------------------------------------------------- 2. edge maps


def edges_numpy_shift(labels: np.ndarray, ignore_index: int = IGNORE) -> np.ndarray:
    """Edge map by comparing every pixel with its 8 shifted neighbours (edge-replicated padding:
    a replicated border pixel equals an in-image neighbour or the pixel itself)."""
    _, h, w = labels.shape
    padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), mode="edge")
    edges = np.zeros(labels.shape, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                edges |= padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] != labels
    return edges & (labels != ignore_index)


def edges_scipy(labels: np.ndarray, ignore_index: int = IGNORE) -> np.ndarray:
    """Edge map as max != min over the 3x3 window (mode "nearest" keeps the window inside
    the image; a void neighbour differs from any class), void pixels left out."""
    upper = ndimage.maximum_filter(labels, size=(1, 3, 3), mode="nearest")
    lower = ndimage.minimum_filter(labels, size=(1, 3, 3), mode="nearest")
    return (upper != lower) & (labels != ignore_index)


def edge_maps(cfg: Config, progress: bool) -> list[Figure]:
    n, h, w, repeats = cfg.edge_maps
    labels = street_labels(n, h, w)
    array = labels.numpy()
    fns = {
        "torch": lambda: methods.semantic_edges(labels, IGNORE),
        "numpy_shift": lambda: edges_numpy_shift(array),
        "scipy_minmax": lambda: edges_scipy(array),
    }
    reference = methods.semantic_edges(labels, IGNORE).numpy()
    for name, fn in fns.items():
        if not np.array_equal(np.asarray(fn()), reference):
            raise AssertionError(f"edge maps of {name} differ from methods.semantic_edges")
    times = _interleaved(fns, repeats, desc="edge maps", progress=progress, best_of=BEST_OF)
    mp = n * h * w / 1e6
    size = f"{n}x{h}x{w} int64"
    out = [Figure("edge_maps", f"{name}_mpix_s", f"{name} edge maps, {size}", "Mpx/s", [mp / t for t in times[name]])
           for name in fns]  # fmt: skip
    out.append(Figure("edge_maps", "speedup_vs_numpy", "semantic_edges speed-up over numpy 8-shift", "x",
                      _ratios(times["numpy_shift"], times["torch"]), (">=", 3.0)))  # fmt: skip
    out.append(Figure("edge_maps", "speedup_vs_scipy", "semantic_edges speed-up over scipy max/min filters", "x",
                      _ratios(times["scipy_minmax"], times["torch"]), (">=", 10.0)))  # fmt: skip
    return out


# --------------------------------------------------------------------------- 3. trimap


def disk(width: int) -> np.ndarray:
    """Structuring element of the pixels at Euclidean distance < ``width`` from the centre."""
    r = np.arange(-(width - 1), width)
    return (r[:, None] ** 2 + r[None, :] ** 2) < width * width


def trimap_by_dilation(pred: torch.Tensor, target: torch.Tensor, edges: np.ndarray, widths) -> tuple[torch.Tensor, torch.Tensor]:
    """Boundary and interior confusion matrices, one band per width by a disk dilation."""
    boundary, interior = [], []
    for w in widths:
        band = torch.from_numpy(ndimage.binary_dilation(edges, structure=disk(w)[None]))
        boundary.append(metrics.confusion_matrix(pred[band], target[band], NUM_CLASSES, IGNORE))
        interior.append(metrics.confusion_matrix(pred[~band], target[~band], NUM_CLASSES, IGNORE))
    return torch.stack(boundary), torch.stack(interior)


def trimap(cfg: Config, progress: bool) -> list[Figure]:
    n, h, w, repeats = cfg.trimap
    target = street_labels(n, h, w, seed=1)
    pred = perturbed(target)
    distance = metrics.edge_distance(target, IGNORE)  # the cache of a prepared dataset
    distance_u8 = distance.clamp(max=255).floor().to(torch.uint8)  # as prepare stores it
    edges = methods.semantic_edges(target, IGNORE).numpy()
    valid = (target != IGNORE).numpy()
    for width in TRIMAP_WIDTHS:
        band = ndimage.binary_dilation(edges, structure=disk(width)[None]) & valid
        if not np.array_equal(band, (distance.numpy() < width) & valid):
            raise AssertionError(f"dilated band of width {width} differs from distance < {width}")
    expected = trimap_by_dilation(pred, target, edges, TRIMAP_WIDTHS)
    for d in (distance, distance_u8):
        got = metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=d)
        if not all(torch.equal(a, b) for a, b in zip(got, expected)):
            raise AssertionError(f"trimap_confusion ({d.dtype} distance) differs from the dilation bands")
    fns = {
        "plain": lambda: metrics.confusion_matrix(pred, target, NUM_CLASSES, IGNORE),
        "trimap_float32": lambda: metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=distance),
        "trimap_uint8": lambda: metrics.trimap_confusion(pred, target, TRIMAP_WIDTHS, NUM_CLASSES, IGNORE, distance=distance_u8),
        "dilation": lambda: trimap_by_dilation(pred, target, edges, TRIMAP_WIDTHS),
    }
    times = _interleaved(fns, repeats, desc="trimap", progress=progress, best_of={"plain": BEST_OF, "trimap_float32": BEST_OF, "trimap_uint8": BEST_OF})
    size = f"{n}x{h}x{w}, {len(TRIMAP_WIDTHS)} widths"
    out = [
        Figure("trimap", "float32_vs_plain", f"trimap_confusion (float32 distance) / confusion_matrix, {size}", "x",
               _ratios(times["trimap_float32"], times["plain"]), ("<=", 1.5)),
        Figure("trimap", "uint8_vs_plain", f"trimap_confusion (uint8 cached distance) / confusion_matrix, {size}", "x",
               _ratios(times["trimap_uint8"], times["plain"]), ("<=", 1.5)),
        Figure("trimap", "speedup_vs_dilation", f"trimap_confusion speed-up over per-width disk dilation, {size}", "x",
               _ratios(times["dilation"], times["trimap_float32"]), (">=", 5.0)),
    ]  # fmt: skip
    for name in fns:
        out.append(Figure("trimap", f"{name}_ms", f"{name}, {size}", "ms", [1e3 * t for t in times[name]]))
    return out


# --------------------------------------------------------------------------- 4. harness


def harness(cfg: Config, device: torch.device, progress: bool) -> list[Figure]:
    from tqdm.auto import tqdm

    from benchmark import train as trainer
    from benchmark.prepare import prepare
    from benchmark.spec import RunSpec

    steps, repeats, overrides = cfg.harness
    spec = RunSpec.create("ppce", scale="small", overrides={"steps": steps, **dict(overrides)})
    s = spec.settings
    prepared = prepare(spec, progress=progress)
    info = dataset_info(spec.dataset)
    # The batches the trainer draws (same dataset, order and augmentation), held in memory.
    dataset = trainer.train_set(spec, prepared)

    def loader():
        return (tuple(t.to(device) for t in batch) for batch in trainer.train_batches(dataset, s.batch_size, spec.seed, 0, 0))

    source = loader()
    batches = [next(source) for _ in range(steps)]
    edge_s = _timed(lambda: [methods.semantic_edges(t, info.ignore_index) for _, t in batches], device)

    def bare(live: bool) -> float:
        """The bare loop on the batches held in memory, or drawing them from the trainer's loader."""
        torch.manual_seed(spec.seed)
        model = build_model(spec.backbone, info.num_classes, width=s.width, frozen_bn=s.frozen_bn).to(device).train()
        optimiser, _ = trainer.build_optimiser(model, spec)
        amp = device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=amp)

        def loop():
            source = loader() if live else iter(batches)
            for _ in range(steps):
                images, target = next(source)
                with torch.autocast("cuda", dtype=torch.float16) if amp else nullcontext():
                    logits = model(normalize(images))["logits"]
                loss = F.cross_entropy(logits.float(), target, ignore_index=info.ignore_index)
                optimiser.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()

        return _timed(loop, device)

    runs = {
        "trainer": lambda: trainer.train(spec, prepared=prepared, progress=False, device=device)["timing"]["train_s"],
        "bare": lambda: bare(live=False),
        "bare_loader": lambda: bare(live=True),
    }
    times = {name: [] for name in runs}
    for r in tqdm(range(repeats), desc="harness", leave=False, disable=not progress):
        k = r % len(runs)
        for name in list(runs)[k:] + list(runs)[:k]:
            times[name].append(runs[name]())
    images = steps * s.batch_size
    what = f"ppce, small scale, {steps} steps of batch {s.batch_size}"
    return [
        Figure("harness", "ratio", f"trainer loop / bare loop images per second, {what}", "x",
               _ratios(times["bare"], times["trainer"]), (">=", 0.90)),
        Figure("harness", "ratio_same_loader", "trainer loop / bare loop drawing from the trainer's loader too", "x",
               _ratios(times["bare_loader"], times["trainer"])),
        Figure("harness", "trainer_img_s", f"trainer loop, {what}", "img/s", [images / t for t in times["trainer"]]),
        Figure("harness", "bare_img_s", f"bare PyTorch loop on batches in memory, {what}", "img/s",
               [images / t for t in times["bare"]]),
        Figure("harness", "bare_loader_img_s", f"bare PyTorch loop drawing from the trainer's loader, {what}", "img/s",
               [images / t for t in times["bare_loader"]]),
        Figure("harness", "data_ms_per_step", "drawing and augmenting one batch, inside the loop (bare loop with the "
               "loader minus without)", "ms", [1e3 * (a - b) / steps for a, b in zip(times["bare_loader"], times["bare"])]),
        Figure("harness", "edges_ms_per_step", "semantic_edges of one batch (in the trainer's loop for the methods that "
               "read edges; not for PPCE)", "ms", [1e3 * edge_s / steps]),
    ]  # fmt: skip


# --------------------------------------------------------------------------- 5. sweep


def _spin(processes: int, iterations: int) -> float:
    """Wall seconds of ``processes`` CPU-bound Python processes run at once (no imports)."""
    import subprocess

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


def sweep(cfg: Config, progress: bool) -> list[Figure]:
    from tqdm.auto import tqdm

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    from benchmark.prepare import prepare
    from benchmark.suites import expand
    from benchmark.sweep import run_specs

    count, repeats, longer = cfg.sweep
    figures = [parallel_capacity(max(3, repeats), 15_000_000 if cfg.name == "full" else 3_000_000)]
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
                       _ratios(wall[1], wall[2]), (">=", 1.6)),
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


# --------------------------------------------------------------------------- 6. evaluation

#: Configuration name -> ((images, batch, repeats) of the small-scale pass with the model,
#: (maps, H, W, repeats) of the paper-like pass on precomputed predictions).
EVALUATION_SIZES = {"full": ((64, 16, 7), (4, 512, 1024, 3)), "quick": ((16, 16, 2), (1, 512, 1024, 1))}


def evaluation(cfg: Config, device: torch.device, progress: bool) -> list[Figure]:
    """The evaluation pass with every evaluator of ``benchmark.evaluators.EVALUATORS`` against
    the same pass with the confusion matrix and the trimap only.

    Small scale: the whole pass as ``train.evaluate`` runs it, the forward of
    ``deeplabv2_small`` (width 32, random weights) on 64 rendered street images of 64x128
    in batches of 16 included, the cached uint8 distance maps given. Paper-like: the
    evaluators alone on a few 512x1024 street label maps and precomputed predictions (the
    label maps shifted by 2 pixels, 5% of their 8x8 blocks relabelled), at the paper scale's
    Cityscapes settings. Distance transforms: the ground truth's is the cached trimap map
    (computed once per mask by ``prepare``, outside the timing); Boundary IoU takes one
    exact Euclidean distance transform of each prediction's edge map (scipy's
    ``distance_transform_edt``, on the CPU, as ``metrics.edge_distance``); boundary F none:
    below a tolerance of 3 (the small scale) it compares the two class-labelled contour
    maps at every offset of the tolerance disk, above (the paper scale's 9) each contour
    pixel searches the other contour of its class row by row within the tolerance
    (sorted pixel keys, ``searchsorted``); both give exact Euclidean matches.
    """
    from benchmark.evaluators import EVALUATORS, ConfusionMatrix, Trimap
    from benchmark.spec import scale_settings

    (n, batch, repeats), (pn, ph, pw, paper_repeats) = EVALUATION_SIZES[cfg.name]
    baseline = [ConfusionMatrix, Trimap]

    def evaluate(classes, settings, batches):
        evaluators = [cls(settings, NUM_CLASSES, IGNORE) for cls in classes]
        with torch.inference_mode():
            for images, pred, target, distance in batches:
                if images is not None:
                    pred = model(normalize(images))["logits"].argmax(1)
                for evaluator in evaluators:
                    evaluator.process(pred, target, distance=distance)
        return [evaluator.counts() for evaluator in evaluators]

    small = scale_settings("small")
    h, w = small.image_size
    lut = cityscapes_lut()
    rendered = [render("streets", i, split="val", height=h, width=w, seed=2) for i in range(n)]
    images = torch.from_numpy(np.stack([im for im, _ in rendered])).permute(0, 3, 1, 2).contiguous()
    target = torch.from_numpy(np.stack([lut[m] for _, m in rendered]).astype(np.int64))
    distance = metrics.edge_distance(target, IGNORE).clamp(max=255).floor().to(torch.uint8)  # as prepare caches it
    torch.manual_seed(0)
    model = build_model("deeplabv2_small", NUM_CLASSES, width=small.width).to(device).eval()
    batches = [tuple(x[i : i + batch].to(device) for x in (images, target, distance)) for i in range(0, n, batch)]
    batches = [(im, None, t, d) for im, t, d in batches]
    fns = {"all": lambda: evaluate(EVALUATORS, small, batches), "baseline": lambda: evaluate(baseline, small, batches)}
    times = _interleaved(fns, repeats, device, desc="evaluation", progress=progress)

    paper = scale_settings("paper", "cityscapes")
    big = street_labels(pn, ph, pw, seed=1)
    g = torch.Generator().manual_seed(0)
    blocks = torch.rand(pn, ph // 8, pw // 8, generator=g) < 0.05
    relabel = torch.randint(NUM_CLASSES, blocks.shape, generator=g)
    pred = torch.roll(big, shifts=(2, -2), dims=(1, 2)).clamp(max=NUM_CLASSES - 1)
    noise = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    pred = torch.where(noise, relabel.repeat_interleave(8, 1).repeat_interleave(8, 2), pred)
    paper_batch = [(None, pred.to(device), big.to(device), metrics.edge_distance(big, IGNORE).clamp(max=255).floor().to(torch.uint8).to(device))]
    paper_fns = {"all": lambda: evaluate(EVALUATORS, paper, paper_batch), "baseline": lambda: evaluate(baseline, paper, paper_batch)}
    paper_fns.update({cls.name: (lambda cls=cls: evaluate([cls], paper, paper_batch)) for cls in EVALUATORS})
    paper_times = _interleaved(paper_fns, paper_repeats, device, desc="evaluation 512x1024", progress=progress)

    what = f"{n} images of {h}x{w}, batch {batch}, deeplabv2_small width {small.width} forward included"
    size = f"{pn}x{ph}x{pw}, widths {paper.boundary_widths}, tolerances {paper.boundary_tolerances}"
    out = [
        Figure("evaluation", "small_ratio", f"evaluation pass with every evaluator / with confusion matrix and trimap only, {what}",
               "x", _ratios(times["all"], times["baseline"]), ("<=", 2.0)),
        Figure("evaluation", "small_all_ms", f"evaluation pass, every evaluator, {what}", "ms", [1e3 * t for t in times["all"]]),
        Figure("evaluation", "small_baseline_ms", f"evaluation pass, confusion matrix and trimap, {what}", "ms",
               [1e3 * t for t in times["baseline"]]),
        Figure("evaluation", "paper_ratio", f"every evaluator / confusion matrix and trimap, precomputed predictions, {size}",
               "x", _ratios(paper_times["all"], paper_times["baseline"])),
    ]  # fmt: skip
    for name in paper_fns:
        out.append(Figure("evaluation", f"paper_{name}_ms", f"{name} evaluator{'s' if name in ('all', 'baseline') else ''}, {size}",
                          "ms", [1e3 * t for t in paper_times[name]]))  # fmt: skip
    return out


# --------------------------------------------------------------------------- limits

#: Configuration name -> ((backbone, (H, W), batch, width) of the timed step, the size n of
#: the n x n matmul of the peak on a CPU, repeats, steps per repeat: the best one counts).
LIMITS_SIZES = {
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
    ``train_step``'s ``precision``). On a CPU fp32, and bf16 autocast where the CPU has native
    bf16; on CUDA the trainer's fp16 autocast (the only step ``train_step`` takes there)."""
    if device.type == "cuda":
        return {"fp16": (torch.float16, "fp32")}
    out = {"fp32": (torch.float32, "fp32")}
    if native_bf16():
        out["bf16"] = (torch.bfloat16, "bf16")
    return out


def step_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` as ``torch.utils.flop_counter.FlopCounterMode`` counts them:
    convolutions and matrix products (forward and backward), nothing else: no elementwise
    work, reductions, softmax, distance transforms or optimiser update."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def limits(cfg: Config, device: torch.device, progress: bool) -> list[Figure]:
    """The device's measured peak against what one training step achieves on it.

    Peak: an n x n matmul (``torch.mm``) in fp32, and in bf16 where the CPU has native bf16
    (fp16 on CUDA), with the benchmark's thread count. Per registered method, at its default
    parameters (random edge net where it needs one, the Ubernet-style edge head where it
    needs that): the FLOPs of one ``benchmark.step.train_step`` counted by
    ``FlopCounterMode`` (convolutions and matrix products only, see ``step_flops``), and
    that count over the step's measured time as a fraction of the peak, in each precision of
    ``step_precisions``. The peak is a ceiling, so the highest of its repeats is the one the
    steps are divided by (a busy machine lowers a repeat, never raises it). The counted FLOPs are the same in every
    precision. A fraction counts only the work the counter sees, so a method whose cost is
    mostly elementwise or distance transforms shows a low fraction for that reason.
    """
    (backbone, (h, w), batch, width), n, repeats, steps = LIMITS_SIZES[cfg.name]
    if device.type == "cuda":
        n = LIMITS_CUDA_MATMUL
    precisions = step_precisions(device)
    peaks = {"fp32": torch.float32, **{label: dtype for label, (dtype, _) in precisions.items()}}
    fns: dict[str, Callable[[], object]] = {}
    for label, dtype in peaks.items():
        a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
        fns[f"matmul_{label}"] = lambda a=a, b=b: torch.mm(a, b)
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
        method = _method(name, {}, edge_net, device)
        for label, (_, precision) in precisions.items():
            fns[f"{name}@{label}"] = _trainer_step(models[method.needs_edge_head], method, images, target, edges, precision=precision)
        flops[name] = step_flops(fns[f"{name}@{next(iter(precisions))}"])  # the same count in every precision
    for fn in fns.values():
        fn()  # warm-up
    best_of = {key: steps if "@" in key else 3 for key in fns}
    times = _interleaved(fns, repeats, device, desc="limits", progress=progress, best_of=best_of)
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


# --------------------------------------------------------------------------- suite wall time


def suite_wall(suite: str = "table1", scale: str | None = None, workers: int | None = None, progress: bool = True,
               keep: str | os.PathLike | None = None) -> list[Figure]:
    """Wall time of ``python -m benchmark.run --suite <suite> --no-report`` from nothing.

    A subprocess with ``SEMEDA_DATA`` and ``--out`` in a fresh temporary folder, so that the
    data, the edge net and every record are made anew (preparation included), ``workers``
    concurrent trials (default: one per CPU core). The ratio divides that wall time by the
    sum of the runs' own ``timing.wall_s`` (read from the records written) over ``workers``:
    1 would be perfect packing with no cost outside ``train(spec)``; preparation, Ray's
    start, worker start-up, scheduling gaps and record writing all show in its excess.
    ``keep`` copies the measured runs' records into that folder (the suite's reference
    records can be the timed ones: they are the same runs at the same version).
    """
    import subprocess

    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="suite-wall-") as tmp:
        out = Path(tmp) / "runs"
        cmd = [sys.executable, "-m", "benchmark.run", "--suite", suite, "--no-report", "--out", str(out),
               "--max-concurrent", str(workers)] + (["--scale", scale] if scale else []) + ([] if progress else ["--no-progress"])  # fmt: skip
        env = {**os.environ, "SEMEDA_DATA": str(Path(tmp) / "data")}
        others = _others_meter()
        load_before = os.getloadavg()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parents[1], text=True,
                              stdout=None if progress else subprocess.PIPE, stderr=None if progress else subprocess.STDOUT)  # fmt: skip
        wall = time.perf_counter() - start
        load_after, others_cores = os.getloadavg(), others()
        if done.stdout:
            print(done.stdout, end="", flush=True)  # the suite's own console, after it ran
        if keep is not None:  # the records are kept whatever the end of the command
            import shutil

            Path(keep).mkdir(parents=True, exist_ok=True)
            for path in out.glob("*.json"):
                shutil.copy2(path, Path(keep) / path.name)
        if done.returncode != 0:
            raise RuntimeError(f"suite_wall: {' '.join(cmd)} exited with {done.returncode}\n{(done.stdout or '')[-3000:]}")
        records, problems = load_records(out)
        if problems or not records:
            raise RuntimeError(f"suite_wall: no readable records in {out}: {problems}")
    work = sum(rec["timing"]["wall_s"] for rec in records)
    extra = {
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "other_processes_cores": None if others_cores is None else round(others_cores, 2),
        "runs": len(records), "failed": sum(rec.get("status") != "ok" for rec in records),
        "workers": workers, "sum_run_wall_s": work,
    }  # fmt: skip
    what = f"suite {suite}" + (f" at scale {scale}" if scale else "") + f", {len(records)} runs, {workers} concurrent trials"
    return [
        Figure("suite_wall", suite, f"wall time of `benchmark.run --suite {suite} --no-report` from an empty data and run folder, {what}",
               "s", [wall], extra=extra),
        Figure("suite_wall", f"{suite}_ratio", f"that wall time / (sum of the runs' timing.wall_s / {workers} workers), {what}",
               "x", [wall / (work / workers)], extra=extra),
    ]  # fmt: skip


# --------------------------------------------------------------------------- run and report


#: Environment variable marking the benchmark's own processes, Ray's workers included
#: (they inherit the driver's environment), so that their CPU is not taken for others'.
_MARK = "SEMEDA_PERF_RUN"


def _processes() -> dict[int, tuple[int, float]] | None:
    """(start time in clock ticks since boot, CPU seconds) of every process not of this
    benchmark (Linux /proc); None where /proc is missing."""
    if not os.path.isdir("/proc"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    mark = f"{_MARK}={os.environ.get(_MARK, '')}".encode()
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    continue
        except OSError:  # another user's process: not ours
            pass
        out[int(entry)] = (int(stat[19]), (int(stat[11]) + int(stat[12])) / tick)
    return out


def _others_meter() -> Callable[[], float | None]:
    """Start measuring the CPU used by other processes; the returned function gives their
    average number of busy cores since the start (a lower bound: a process that ended in
    between is missed), None off Linux."""
    os.environ.setdefault(_MARK, str(os.getpid()))
    before, wall0 = _processes(), time.perf_counter()
    try:
        with open("/proc/uptime") as f:
            since = float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK")
    except OSError:
        since = 0.0

    def stop() -> float | None:
        after = _processes()
        if before is None or after is None:
            return None
        used = 0.0
        for pid, (started, cpu) in after.items():
            if pid in before and before[pid][0] == started:
                used += cpu - before[pid][1]
            elif started >= since:
                used += cpu
        return used / (time.perf_counter() - wall0)

    return stop


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    out = {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def versions() -> dict:
    import scipy

    v = environment()
    v["scipy"] = scipy.__version__
    try:
        import ray

        v["ray"] = ray.__version__
    except ImportError:
        pass
    return v


def run(cfg: Config = FULL, *, sections=SECTIONS, progress: bool = True, threads: int = 1,
        suite_wall_records: str | os.PathLike | None = None) -> dict:
    """Run the benchmark sections; returns the JSON-able result (see ``write_readme``).
    ``suite_wall_records``: where the ``suite_wall`` section keeps its suite's records."""
    from benchmark.train import pick_device

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    keep_freed_memory()  # as the trainer does: both sides of every ratio allocate alike
    device = pick_device()
    result = {
        "config": cfg.name,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "device": str(device),
        "torch_threads": {"default": default_threads, "used": threads},
        "sections": {},
        "figures": {},
    }
    runners = {
        "loss_overhead": lambda: loss_overhead(cfg, device, progress),
        "edge_maps": lambda: edge_maps(cfg, progress),
        "trimap": lambda: trimap(cfg, progress),
        "harness": lambda: harness(cfg, device, progress),
        "sweep": lambda: sweep(cfg, progress),
        "limits": lambda: limits(cfg, device, progress),
        "suite_wall": lambda: suite_wall(progress=progress, keep=suite_wall_records),
        "evaluation": lambda: evaluation(cfg, device, progress),
    }
    try:
        for name in sections:
            load_before = os.getloadavg()
            stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            started = time.perf_counter()
            others = _others_meter()
            figures = runners[name]()
            others_cores = others()
            result["sections"][name] = {
                "started": stamp,
                "seconds": time.perf_counter() - started,
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "other_processes_cores": None if others_cores is None else round(others_cores, 2),
            }
            for fig in figures:
                result["figures"][f"{fig.section}.{fig.key}"] = fig.to_dict()
    finally:
        torch.set_num_threads(default_threads)
    return result


def merged(previous: dict, new: dict) -> dict:
    """``new`` with the sections of ``previous`` that it did not run, in the usual order."""
    sections = {**previous["sections"], **new["sections"]}
    figures = {k: f for k, f in previous["figures"].items() if f["section"] not in new["sections"]}
    figures.update(new["figures"])
    order = {name: i for i, name in enumerate(SECTIONS + OPTIONAL_SECTIONS)}
    out = dict(new)
    out["sections"] = {k: sections[k] for k in sorted(sections, key=order.__getitem__)}
    out["figures"] = {k: figures[k] for k in sorted(figures, key=lambda k: order[figures[k]["section"]])}
    return out


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def readme_text(result: dict) -> str:
    """Markdown summary of a result: machine, versions, and one table row per figure."""
    m, v = result["machine"], result["versions"]
    lines = [
        "# Performance figures",
        "",
        "Written by `python -m benchmark.perf"
        + (" --quick" if result["config"] == "quick" else "")
        + "`; every ratio compares two things measured side by side in one run, interleaved over the repeats.",
        "Median over repeats, spread = (min, max); a target is met when the median meets it.",
        "",
        f"- created: {result['created']}, configuration: {result['config']}",
        f"- machine: {m['cpu']}, {m['cores']} cores" + (f", GPU {m['gpu']}" if "gpu" in m else "") + f"; {m['platform']}",
        f"- device measured: {result['device']}; torch threads: {result['torch_threads']['used']} "
        f"(default {result['torch_threads']['default']}); Ray trials use 1 thread each",
        "- versions: " + ", ".join(f"{k} {v[k]}" for k in ("python", "torch", "torchvision", "numpy", "scipy", "ray", "benchmark") if k in v)
        + (f"; git {v['git_commit'][:10]}" if v.get("git_commit") else ""),
        "",
    ]
    noisy = [n for n, s in result["sections"].items() if (s.get("other_processes_cores") or 0) >= BUSY_CORES]
    for name, sec in result["sections"].items():
        figs = [(k, f) for k, f in result["figures"].items() if f["section"] == name]
        lines += [f"## {name}", "", SECTION_NOTES[name], ""]
        lines.append(
            f"Run at {sec.get('started', result['created'])}, {sec['seconds']:.0f} s; load average (1/5/15 min) "
            f"before {sec['load_before']}, after {sec['load_after']}; other processes kept "
            f"{sec.get('other_processes_cores', 'an unknown number of')} cores busy on average"
            + (" - the machine was busy: these figures may be disturbed." if name in noisy else ".")
        )
        lines += ["", "| figure | median | spread (min, max) | repeats | target | met |", "|---|---|---|---|---|---|"]
        for _, f in figs:
            target = f"{f['target']['op']} {f['target']['value']:g}" if f["target"] else ""
            met = {True: "yes", False: "**no**", None: ""}[f["met"]]
            lines.append(
                f"| {f['label']} | {_fmt(f['median'])} {f['unit']} | ({_fmt(f['min'])}, {_fmt(f['max'])}) "
                f"| {f['repeats']} | {target} | {met} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_readme(result: dict, path: Path) -> None:
    path.write_text(readme_text(result))


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m benchmark.perf", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes and repeats (under two minutes)")
    p.add_argument("--out", default="results/perf", help="folder of perf.json and README.md (default: results/perf)")
    p.add_argument("--only", help=f"comma-separated sections to run: {', '.join(SECTIONS + OPTIONAL_SECTIONS)} "
                   f"(default: all but {', '.join(OPTIONAL_SECTIONS)})")
    p.add_argument("--suite-wall", action="store_true",
                   help="also run suite_wall: the whole table1 suite from nothing, timed (tens of minutes)")
    p.add_argument("--suite-wall-records", metavar="DIR",
                   help="with --suite-wall: copy the timed suite's records into DIR (e.g. results/runs)")
    p.add_argument("--update", action="store_true",
                   help="keep the other sections of an existing perf.json in --out (e.g. to re-run one measured on a busy machine)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for the comparisons (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_import_option(p)
    return p


def selected_sections(args) -> tuple[str, ...]:
    """The sections to run: those of ``--only`` (default: ``SECTIONS``), plus ``suite_wall`` with ``--suite-wall``."""
    sections = SECTIONS
    if args.only:
        sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
        unknown = [s for s in sections if s not in SECTIONS + OPTIONAL_SECTIONS]
        if unknown:
            raise ValueError(f"unknown section {unknown[0]!r}; valid sections: {', '.join(SECTIONS + OPTIONAL_SECTIONS)}")
    if args.suite_wall and "suite_wall" not in sections:
        sections = (*sections, "suite_wall")
    return sections


@main_guard
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    import_from_argv(argv)
    args = build_parser().parse_args(argv)
    import_plugins(args.imports)
    sections = selected_sections(args)
    if args.threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if args.quick else FULL
    previous = None
    if args.update and (out / "perf.json").exists():
        previous = json.loads((out / "perf.json").read_text())
        if previous.get("config") != cfg.name:
            raise ValueError(f"{out / 'perf.json'} holds a {previous.get('config')} run; --update needs the same configuration")
    result = run(cfg, sections=sections, progress=not args.no_progress, threads=args.threads,
                 suite_wall_records=args.suite_wall_records)
    if previous is not None:
        result = merged(previous, result)
    tmp = out / f".perf.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out / "perf.json")
    write_readme(result, out / "README.md")
    for key, f in result["figures"].items():
        met = {True: "met", False: "NOT MET", None: ""}[f["met"]]
        target = f" (target {f['target']['op']} {f['target']['value']:g}: {met})" if f["target"] else ""
        print(f"{key:55s} {_fmt(f['median']):>8s} {f['unit']}{target}")
    print(f"wrote {out / 'perf.json'} and {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
