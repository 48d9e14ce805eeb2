"""``train(spec) -> record``: the one function every number in the report comes out of.

Ray Tune trials, the CLI and the tests all call it the same way. The seed fixes the
model's initialisation, the data order and the augmentation identically across methods,
so runs of different methods with the same seed are paired.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset

import methods
from benchmark.allocator import keep_freed_memory
from benchmark.arithmetic import check_precision, check_resume, pick_device, precision_flags, uses_loss_scaler
from benchmark.data import as_tensors, dataset_info
from benchmark.evaluators import build_evaluators, pass_batches, take
from benchmark.data.transforms import Augmented, TrainAugment, normalize
from benchmark.models import build_model
from benchmark.prepare import Prepared, prepare
from benchmark.records import PREDICTIONS_KEY, encode_mask, environment
from benchmark.rounding import environment_facts
from benchmark.spec import RunSpec
from benchmark.step import apply_levers, in_memory_format, train_step

__all__ = ["train", "NonFiniteLoss", "pick_device", "train_set", "train_batches", "EpochBatches", "build_optimiser"]


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the run stops and is recorded as failed."""

    def __init__(self, step: int, terms: dict[str, float]):
        self.step = step
        super().__init__(f"non-finite loss at step {step}: {terms}")


@dataclass
class _Curve:
    """Loss terms averaged over windows of ``every`` steps (the record's sampled curve)."""

    every: int

    def __post_init__(self):
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}
        self._sums: dict[str, float] = {}
        self._n = 0

    def add(self, step: int, terms: dict[str, float]) -> None:
        for k, v in terms.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._n += 1
        if self._n == self.every:
            self.steps.append(step)
            for k, v in self._sums.items():
                self.values.setdefault(k, []).append(v / self._n)
            self._sums, self._n = {}, 0

    def to_dict(self) -> dict:
        return {"step": self.steps, **self.values}

    def state(self) -> dict:
        return {"steps": list(self.steps), "values": {k: list(v) for k, v in self.values.items()}, "sums": dict(self._sums), "n": self._n}

    def load_state(self, state: dict) -> None:
        self.steps, self.values = list(state["steps"]), {k: list(v) for k, v in state["values"].items()}
        self._sums, self._n = dict(state["sums"]), state["n"]


class GradNorms:
    """Pre-clip global gradient norms of every step: the record keeps their median, maximum
    and the share of clipped steps (clipping at PPCE's norm rescales a term whose gradient is
    40x larger, and a reader must see by how much)."""

    def __init__(self, clip: float | None):
        self.clip = clip
        self.values: list[float] = []
        self.clipped = 0
        #: Optimiser steps the fp16 loss scaler skipped (their gradient overflowed).
        self.skipped = 0

    def add(self, norm: float, clipped: bool, skipped: bool = False) -> None:
        self.skipped += bool(skipped)
        if not math.isfinite(norm):  # a step the CUDA loss scaler skipped for overflow
            return
        self.values.append(norm)
        self.clipped += bool(clipped)

    def state(self) -> dict:
        return {"values": list(self.values), "clipped": self.clipped, "skipped": self.skipped}

    def load_state(self, state: dict | None) -> None:
        if state:
            self.values, self.clipped, self.skipped = list(state["values"]), int(state["clipped"]), int(state.get("skipped", 0))

    def summary(self) -> dict:
        if not self.values:
            return {"clip": self.clip, "median": None, "max": None, "clipped_share": None, "first_100_max": None}
        values = np.asarray(self.values)
        return {
            "clip": self.clip,
            "median": float(np.median(values)),
            "max": float(values.max()),
            "first_100_max": float(values[:100].max()),
            "clipped_share": self.clipped / len(values),
        }


def train_set(spec: RunSpec, prepared: Prepared) -> Augmented:
    """The training split as the trainer draws it: sample ``i`` is (image uint8 [3, *crop],
    target int64 [*crop]), cropped to the scale's ``crop`` (else ``resize``, else the image
    size) after a random rescale and mirror, seeded by ``spec.seed``, so every method of a
    seed sees the same samples. Held in memory when the prepared data is (the synthetic sets);
    a real set's samples are read from the files preparation decoded them into."""
    s = spec.settings
    info = dataset_info(prepared.dataset)
    base = prepared.read("train", s.resize)
    if prepared.in_memory:
        base = TensorDataset(*as_tensors(base))
    crop = s.crop or s.resize or s.image_size  # no crop: augment at the full (synthetic) image size
    augment = TrainAugment(
        crop_size=tuple(crop), scale_range=s.scale_range, mirror_prob=0.5 if s.mirror else 0.0, ignore_index=info.ignore_index
    )
    return Augmented(base, augment, seed=spec.seed)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches (sample indices) of one epoch: a function of (seed, epoch) only, so a
    run resumed at any step sees exactly the batches it would have seen (last partial
    batch dropped)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
    return [perm[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


class EpochBatches(Sampler):
    """Endless batches of sample keys ``(epoch, index)`` from step ``start_step`` on, in the
    order of ``epoch_batches``: each key carries its epoch, so a DataLoader's workers, started
    once for the whole run, augment every sample as its epoch says (``Augmented``)."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.per_epoch = n // batch_size
        if self.per_epoch == 0:
            raise ValueError(f"batch size {batch_size} exceeds the {n} training images; lower --set batch_size")
        self.start_step = start_step

    def __iter__(self):
        epoch, offset = divmod(self.start_step, self.per_epoch)
        while True:
            for batch in epoch_batches(self.n, self.batch_size, self.seed, epoch)[offset:]:
                yield [(epoch, i) for i in batch]
            epoch, offset = epoch + 1, 0


def train_batches(dataset: Augmented, batch_size: int, seed: int, start_step: int, workers: int, *, pin_memory: bool = False):
    """Endless training batches from step ``start_step`` on: (images uint8 [B, 3, *crop],
    targets int64 [B, *crop]) in the order of ``epoch_batches``, so a run resumed at a step
    draws what it would have drawn; the augmentation's epoch advances with every pass.
    ``workers``: DataLoader processes (0: in the caller's thread), started once for the
    whole run (one iterator over an endless sampler: no restart at an epoch's end) and
    stopped when the generator is closed or dropped; ``pin_memory``: batches in page-locked
    memory, so that ``.to(cuda, non_blocking=True)`` copies while the GPU computes."""
    sampler = EpochBatches(len(dataset), batch_size, seed, start_step)  # checks the batch size before any worker starts
    yield from DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin_memory, persistent_workers=workers > 0)


def build_optimiser(model, spec: RunSpec) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.LambdaLR]:
    """SGD with momentum and weight decay over the trainable parameters (frozen ones left
    out), the heads at ``head_lr_mult`` times the backbone's rate, and DeepLab's "poly"
    schedule over ``steps``: the trainer's optimiser, which the performance benchmark's bare
    loop uses too so that both sides of its ratio update alike."""
    s = spec.settings
    backbone, heads = model.param_groups()
    groups = [
        {"params": [p for p in backbone if p.requires_grad], "lr": s.lr},
        {"params": [p for p in heads if p.requires_grad], "lr": s.lr * s.head_lr_mult},
    ]
    optimiser = torch.optim.SGD(groups, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    # DeepLab's "poly" policy: lr * (1 - step / steps) ** power.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / s.steps) ** s.poly_power)
    return optimiser, schedule


def evaluate(model, spec: RunSpec, prepared: Prepared, device: torch.device, *, keep_predictions: bool = False) -> dict:
    """One pass over the split scored on (validation, or the tuning split of a weight search)
    that feeds every evaluator (``benchmark.evaluators``):
    their counts go to ``counts[name]``, their metrics to ``metrics``; plus the predictions
    of a few fixed validation images. With ``keep_predictions`` every prediction comes back
    too, uint8 [N, H, W] (a list of N uint8 [H_i, W_i] for a split of several image sizes)
    under ``records.PREDICTIONS_KEY``, for the caller to pop and write beside the record
    (``records.write_predictions``)."""
    s = spec.settings
    info = dataset_info(prepared.dataset)
    c = info.num_classes
    if keep_predictions and c > 256:
        raise ValueError(f"kept predictions are uint8; {info.name} has {c} classes")
    val = prepared.read("eval", s.resize)
    distances = prepared.distances()
    n = len(val)
    keep = set(np.linspace(0, n - 1, num=min(s.stored_predictions, n), dtype=int).tolist()) if s.stored_predictions else set()
    evaluators = build_evaluators(s, c, info.ignore_index)
    predictions, kept = {}, []
    # Every image at its own size: batches of consecutive images of one size (the network
    # pads to its stride and crops its logits back, see SegmentationModel.forward).
    batches = pass_batches([tuple(d.shape) for d in distances], s.eval_batch_size)
    loader = DataLoader(val, batch_sampler=batches, num_workers=0)
    model.eval()
    with torch.inference_mode():
        for batch, (images, target) in zip(batches, loader):
            images, target = images.to(device), target.to(device)
            logits = model(in_memory_format(normalize(images), s.memory_format))["logits"]
            pred = logits.argmax(1)
            dist = take(distances, batch).to(device)  # the cached uint8 map: exact for integer widths
            if dist.shape != target.shape:
                raise ValueError(f"the cached distance maps of {prepared.dataset} do not fit its masks; delete {prepared.cache}")
            for evaluator in evaluators:
                evaluator.process(pred, target, distance=dist)
            if keep_predictions:
                kept += list(pred.to(torch.uint8).cpu().numpy())
            for j, index in enumerate(batch):
                if index in keep:
                    predictions[str(index)] = {
                        "id": val.ids[index],
                        "pred": encode_mask(pred[j].cpu().numpy()),
                        "target": encode_mask(target[j].cpu().numpy()),
                        "image": encode_mask(images[j].permute(1, 2, 0).cpu().numpy()),
                    }
    out = {"metrics": {}, "counts": {}, "predictions": predictions, "class_names": list(info.class_names)}
    for evaluator in evaluators:
        counts = evaluator.counts()
        out["counts"][evaluator.name] = counts
        out["metrics"].update(evaluator.summarize(counts, s))
        out["metrics"].update(evaluator.details(counts, s))
    if keep_predictions:
        one_size = len({p.shape for p in kept}) <= 1
        out[PREDICTIONS_KEY] = (np.stack(kept) if kept else np.zeros((0, *s.image_size), dtype=np.uint8)) if one_size else kept
    return out


def train(
    spec: RunSpec,
    *,
    prepared: Prepared | None = None,
    data_root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    save_weights: str | os.PathLike | None = None,
    device: torch.device | None = None,
    resume: dict | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    checkpoint_every: int = 0,
    keep_predictions: bool = False,
    loader_workers: int | None = None,
) -> dict:
    """Train ``spec`` and evaluate it on its split; returns the run record.

    A spec with ``stop_at`` trains up to that step of its schedule, is scored there, and
    hands its training state to ``checkpoint`` (with ``"final": True``) so that a later
    stop of the same schedule resumes from it (see ``RunSpec.schedule_id``).

    ``checkpoint(state)`` is called every ``checkpoint_every`` steps with the training
    state; ``resume=state`` continues from such a state and gives the same record as an
    uninterrupted run (batches and augmentation are functions of seed and step).
    A loss that becomes NaN or infinite ends the run with ``status: failed`` and the step;
    any other exception propagates (the caller records it). ``keep_predictions`` returns every
    validation prediction too, uint8 [N, H, W] under ``records.PREDICTIONS_KEY``: the caller
    pops it and writes it beside the record (``records.write_predictions``).

    ``device``: where it trains and is scored (default: ``arithmetic.pick_device()``), in the
    spec's ``precision`` (``benchmark.arithmetic``; a precision the device cannot run, or a
    ``resume`` state made under another device type or precision, is a ``ValueError``).
    """
    started = time.time()
    keep_freed_memory()  # no page faults for the step's buffers (see benchmark.allocator)
    device = device or pick_device()
    s = spec.settings
    check_precision(s.precision, device.type)
    spec.check_trainable()
    prepared = prepared or prepare(spec, data_root=data_root, cache_dir=cache_dir)
    with precision_flags(device, s.precision):
        return _train(spec, prepared, device, started, progress=progress, save_weights=save_weights, resume=resume,
                      checkpoint=checkpoint, checkpoint_every=checkpoint_every, keep_predictions=keep_predictions,
                      loader_workers=loader_workers)  # fmt: skip


def _train(spec: RunSpec, prepared: Prepared, device: torch.device, started: float, *, progress, save_weights, resume, checkpoint,
           checkpoint_every, keep_predictions, loader_workers) -> dict:  # fmt: skip
    """``train`` once its device, precision flags and preparation are settled."""
    s = spec.settings
    info = dataset_info(prepared.dataset)

    method = methods.build_method(spec.method, **spec.method_params())
    if method.needs_edge_net:
        method.attach_edge_net(prepared.edge_net(device))
    method.to(device)

    torch.manual_seed(spec.seed)
    model = build_model(
        spec.backbone, info.num_classes, edge_head=method.needs_edge_head, weights=spec.weights, frozen_bn=s.frozen_bn,
        width=s.width if spec.backbone == "deeplabv2_small" else None,
    ).to(device)  # fmt: skip
    apply_levers(model, method, memory_format=s.memory_format, compile=s.compile)
    optimiser, schedule = build_optimiser(model, spec)
    scaler = torch.amp.GradScaler("cuda", enabled=uses_loss_scaler(device, s.precision))
    curve = _Curve(every=s.log_every)
    norms = GradNorms(clip=s.grad_clip)
    first_step = 1
    if resume is not None:
        whole = spec.schedule_id(prepared.data_version)
        if resume.get("run_id", whole) != whole:
            raise ValueError(f"checkpoint of run {resume['run_id']} cannot resume run {spec.run_id(prepared.data_version)}")
        if resume["step"] > spec.last_step:
            raise ValueError(f"checkpoint at step {resume['step']} is past the run's last step {spec.last_step}")
        check_resume(resume, device, s.precision)
        model.load_state_dict(resume["model"])
        optimiser.load_state_dict(resume["optimiser"])
        schedule.load_state_dict(resume["schedule"])
        if resume["scaler"]:  # a disabled scaler saves {}, which an enabled one refuses to load
            scaler.load_state_dict(resume["scaler"])
        curve.load_state(resume["curve"])
        norms.load_state(resume.get("grad_norms"))
        first_step = resume["step"] + 1
    dataset = train_set(spec, prepared)
    # Sets read from disk: as many loader processes as the run has CPUs (its torch threads
    # unless told), each reading decoded samples and augmenting them while the step runs.
    workers = 0 if prepared.in_memory else (torch.get_num_threads() if loader_workers is None else loader_workers)
    batches = train_batches(dataset, s.batch_size, spec.seed, first_step - 1, workers, pin_memory=device.type == "cuda")
    record = {
        "run_id": spec.run_id(prepared.data_version),
        "spec": spec.to_dict(),
        "label": spec.label(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "versions": environment(),
        "rounding": environment_facts(device, s.precision),
        "data_version": prepared.data_version,
        "resumed_from_step": first_step - 1 if resume is not None else None,
        "step": spec.last_step,
    }
    if method.edge_net is not None:
        record["edge_net"] = {k: getattr(method.edge_net.info, k) for k in ("alpha", "sigma", "f1", "peak")}

    bar = None
    if progress:  # a bar on a terminal, a line per tenth of the steps in a log
        bar = methods.progress_bar(total=spec.last_step, initial=first_step - 1, desc=spec.label(), leave=False, dynamic_ncols=True)
    model.train()
    train_started = time.time()
    schedule_id = spec.schedule_id(prepared.data_version)

    def state(step: int) -> dict:
        return {"run_id": schedule_id, "step": step, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(), "scaler": scaler.state_dict(), "curve": curve.state(), "grad_norms": norms.state(),
                "arithmetic": {"device": device.type, "precision": s.precision}}  # fmt: skip

    try:
        for step in range(first_step, spec.last_step + 1):
            images, target = next(batches)
            images, target = images.to(device, non_blocking=True), target.to(device, non_blocking=True)
            # after the crop, for the methods that read them (the others take None: ~1% of a small step)
            edges = methods.semantic_edges(target, info.ignore_index) if method.needs_edge_head or method.needs_edge_net else None
            target_maps = method.target_maps(target, info.num_classes)  # the distance losses' maps of the target, or None
            try:
                result = train_step(model, method, optimiser, schedule, scaler, images, target, edges, target_maps=target_maps,
                                    grad_clip=s.grad_clip, precision=s.precision, memory_format=s.memory_format)  # fmt: skip
            except FloatingPointError as err:
                raise NonFiniteLoss(step, err.args[0]) from None
            curve.add(step, result.values)
            norms.add(result.grad_norm, result.clipped, result.skipped)
            if bar is not None:
                bar.update()
                if step % s.log_every == 0:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in result.values.items()})
            if checkpoint is not None and checkpoint_every and step % checkpoint_every == 0 and step < spec.last_step:
                checkpoint(state(step))
        if checkpoint is not None and spec.stop_at is not None and spec.last_step >= first_step:
            checkpoint({**state(spec.last_step), "final": True})
    except NonFiniteLoss as err:
        _count_skipped(record, scaler, norms)
        record.update(status="failed", failure="non-finite", reason=str(err), failed_step=err.step, loss_curve=curve.to_dict(),
                      grad_norm=norms.summary())  # fmt: skip
        record["timing"] = {"wall_s": time.time() - started}
        return record
    finally:
        batches.close()  # the loader's processes end with the training
        if bar is not None:
            bar.close()
    train_s = time.time() - train_started
    _count_skipped(record, scaler, norms)
    eval_started = time.time()
    record.update(evaluate(model, spec, prepared, device, keep_predictions=keep_predictions))
    record.update(
        status="ok",
        loss_curve=curve.to_dict(),
        grad_norm=norms.summary(),
        timing={"wall_s": time.time() - started, "train_s": train_s, "eval_s": time.time() - eval_started},
    )
    if save_weights:
        path = Path(save_weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
        record["weights_file"] = str(path)
    return record



def _count_skipped(record: dict, scaler: torch.amp.GradScaler, norms: GradNorms) -> None:
    """Under the fp16 loss scaler, the optimiser steps it skipped, in the record's ``rounding``."""
    if scaler.is_enabled():
        record["rounding"]["skipped_steps"] = norms.skipped
