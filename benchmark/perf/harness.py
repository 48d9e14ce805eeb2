"""`train(spec)` of a small-scale PPCE spec (its `timing.train_s`: the training loop only)
against a bare loop doing forward, loss, backward and SGD step on the same model and the
same batches, drawn beforehand from the trainer's own loader and held in memory; and against
the same bare loop drawing its batches from that loader as the trainer does, which isolates
the cost of the data pipeline (per-sample augmentation in the loop's thread) from the rest
of the trainer's loop. For the methods that read them, the trainer also computes the batch's
semantic edges (cost listed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import methods
from benchmark.arithmetic import autocast_for, precision_flags, uses_loss_scaler
from benchmark.data import dataset_info
from benchmark.data.transforms import normalize
from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.section import Context
from benchmark.perf.timing import timed

__all__ = ["SIZES", "measure"]

#: Configuration -> (steps, repeats, setting overrides of the small scale).
SIZES = {"full": (200, 3, ()), "quick": (20, 2, (("n_train", 64), ("n_val", 8)))}


def measure(ctx: Context) -> list[Figure]:
    """Images per second of the trainer's loop (``train(spec)``, its ``timing.train_s``)
    against a bare PyTorch loop doing the same forward, backward and SGD step on the same
    model and the same batches held in memory. Target: >= 0.90."""
    from tqdm.auto import tqdm

    from benchmark import train as trainer
    from benchmark.prepare import prepare
    from benchmark.spec import RunSpec

    device, progress = ctx.device, ctx.progress
    steps, repeats, overrides = ctx.sizes
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
    edge_s = timed(lambda: [methods.semantic_edges(t, info.ignore_index) for _, t in batches], device)

    def bare(live: bool) -> float:
        """The bare loop on the batches held in memory, or drawing them from the trainer's loader."""
        torch.manual_seed(spec.seed)
        model = build_model(spec.backbone, info.num_classes, width=s.width, frozen_bn=s.frozen_bn).to(device).train()
        optimiser, _ = trainer.build_optimiser(model, spec)
        scaler = torch.amp.GradScaler("cuda", enabled=uses_loss_scaler(device, s.precision))

        def loop():
            source = loader() if live else iter(batches)
            for _ in range(steps):
                images, target = next(source)
                with autocast_for(device, s.precision):  # the spec's arithmetic, as the trainer's
                    logits = model(normalize(images))["logits"]
                loss = F.cross_entropy(logits.float(), target, ignore_index=info.ignore_index)
                optimiser.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()

        with precision_flags(device, s.precision):
            return timed(loop, device)

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
               ratios(times["bare"], times["trainer"]), (">=", 0.90)),
        Figure("harness", "ratio_same_loader", "trainer loop / bare loop drawing from the trainer's loader too", "x",
               ratios(times["bare_loader"], times["trainer"])),
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
