"""Performance benchmark: ``python -m benchmark.perf [--quick] [--out results/perf]``.

Every figure is a ratio (or a rate beside its reference) of things measured side by side
in one run, interleaved across repeats, so that the drift of a shared machine hits both
sides alike; each is reported as the median over repeats with its spread (min, max).

Sections (each can be run alone with ``--only``):

- ``loss_overhead``: training-step time (forward, loss, backward, SGD step) of SEMEDA
  (0,1,0) and (1,0.5,0.25) before ReLU, PPCE on edges and the Ubernet-style edge head,
  each divided by PPCE's, on DeepLab v2 ResNet-101 (321x321, batch 2) and on the small
  DeepLab-v2-like net (width 32, 64x128, batch 8). Target: <= 1.03 on ResNet-101.
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
from benchmark.cli import main_guard
from benchmark.data import dataset_info, render
from benchmark.data.datasets import cityscapes_lut
from benchmark.data.transforms import normalize
from benchmark.models import build_model
from benchmark.records import environment, load_records

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

SECTIONS = ("loss_overhead", "edge_maps", "trimap", "harness", "sweep")
SECTION_NOTES = {
    "loss_overhead": "Training-step time (forward, loss, backward, SGD step) of each structure loss divided by "
    "PPCE's, on the same model, input and 19-class street label maps; the methods take turns within every repeat. "
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

#: (label, method name, parameters) of the loss-overhead comparison; the first is the reference.
LOSS_METHODS = (
    ("ppce", "ppce", {}),
    ("semeda(0,1,0)", "semeda", {"lambdas": (0, 1, 0)}),
    ("semeda(1,0.5,0.25)", "semeda", {"lambdas": (1, 0.5, 0.25)}),
    ("ppce_edges", "ppce_edges", {}),
    ("ubernet", "ubernet", {}),
)


def _step_fn(model, method, images, target, edges, device):
    """One training step as the trainer takes it (mixed precision and loss scaling on CUDA)."""
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-5, momentum=0.9)

    def step():
        with torch.autocast("cuda", dtype=torch.float16) if amp else nullcontext():
            out = model(images)
        edge_logits = out.get("edge_logits")
        terms = method(out["logits"].float(), target, edges=edges, edge_logits=None if edge_logits is None else edge_logits.float())
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(terms["total"]).backward()
        scaler.step(optimiser)
        scaler.update()

    return step


def loss_overhead(cfg: Config, device: torch.device, progress: bool) -> list[Figure]:
    figures = []
    for backbone, (h, w), batch, width, repeats, steps in cfg.loss_models:
        torch.manual_seed(0)
        edge_net = methods.EdgeNet(NUM_CLASSES).to(device)
        frozen_bn = backbone == "deeplabv2_resnet101"  # as at paper scale
        models = {}
        for head in (False, True):
            torch.manual_seed(0)
            models[head] = build_model(backbone, NUM_CLASSES, edge_head=head, width=width, frozen_bn=frozen_bn).to(device).train()
        images = torch.randn(batch, 3, h, w, device=device)
        target = street_labels(batch, h, w).to(device)
        edges = methods.semantic_edges(target, IGNORE)  # part of the batch, outside the step
        fns = {}
        for label, name, params in LOSS_METHODS:
            method = methods.build_method(name, edge_net=edge_net, **params) if methods.method_class(name).needs_edge_net else methods.build_method(name, **params)
            method.to(device)
            model = models[method.needs_edge_head]
            fns[label] = _step_fn(model, method, images, target, edges, device)
            fns[label]()  # warm-up: allocator, oneDNN primitives, cuDNN plans
        times = _interleaved(fns, repeats, device, desc=f"loss overhead {backbone}", progress=progress, best_of=steps)
        ref = times["ppce"]
        size = f"{h}x{w} batch {batch}" + (f" width {width}" if width else "")
        for label, _, _ in LOSS_METHODS[1:]:
            big = backbone == "deeplabv2_resnet101"
            figures.append(Figure(
                "loss_overhead", f"{backbone}.{label}", f"{label} / ppce step time, {backbone} {size}", "x",
                _ratios(times[label], ref), ("<=", 1.03) if big else None,
                extra={"ms_per_step": 1e3 * statistics.median(times[label]),
                       "ppce_ms_per_step": 1e3 * statistics.median(ref)},
            ))  # fmt: skip
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
    dataset = trainer._train_set(spec, prepared)

    def loader():
        return (tuple(t.to(device) for t in batch) for batch in trainer._batches(dataset, s.batch_size, spec.seed, 0, 0))

    source = loader()
    batches = [next(source) for _ in range(steps)]
    edge_s = _timed(lambda: [methods.semantic_edges(t, info.ignore_index) for _, t in batches], device)

    def bare(live: bool) -> float:
        """The bare loop on the batches held in memory, or drawing them from the trainer's loader."""
        torch.manual_seed(spec.seed)
        model = build_model(spec.backbone, info.num_classes, width=s.width, frozen_bn=s.frozen_bn).to(device).train()
        optimiser, _ = trainer._optimiser(model, spec)
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


def run(cfg: Config = FULL, *, sections=SECTIONS, progress: bool = True, threads: int = 1) -> dict:
    """Run the benchmark sections; returns the JSON-able result (see ``write_readme``)."""
    from benchmark.train import pick_device

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
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
    order = {name: i for i, name in enumerate(SECTIONS)}
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
    p = argparse.ArgumentParser(prog="python -m benchmark.perf", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes and repeats (under two minutes)")
    p.add_argument("--out", default="results/perf", help="folder of perf.json and README.md (default: results/perf)")
    p.add_argument("--only", help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--update", action="store_true",
                   help="keep the other sections of an existing perf.json in --out (e.g. to re-run one measured on a busy machine)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for the comparisons (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


@main_guard
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = SECTIONS
    if args.only:
        sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
        unknown = [s for s in sections if s not in SECTIONS]
        if unknown:
            raise ValueError(f"unknown section {unknown[0]!r}; valid sections: {', '.join(SECTIONS)}")
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
    result = run(cfg, sections=sections, progress=not args.no_progress, threads=args.threads)
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
