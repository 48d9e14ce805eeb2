"""The whole evaluation pass (model forward, then every evaluator on each batch, the cached
uint8 distance maps given) against the same pass with the confusion matrix and trimap only,
at the small scale; and the evaluators alone on precomputed 512x1024 predictions at the
paper scale's Cityscapes widths and tolerances. Boundary IoU takes one exact distance
transform of each prediction's edge map (scipy); boundary F none: it compares the
class-labelled contour maps at every offset of the tolerance disk (tolerances below 3) or
lets each contour pixel search, row by row, the other contour of its class (larger
tolerances).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark import metrics
from benchmark.data import render
from benchmark.data.labels import cityscapes_lut
from benchmark.data.transforms import normalize
from benchmark.models import build_model
from benchmark.perf.figure import Figure, ratios
from benchmark.perf.inputs import IGNORE, NUM_CLASSES, street_labels
from benchmark.perf.section import Context
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "measure"]

#: Configuration -> ((images, batch, repeats) of the small-scale pass with the model,
#: (maps, H, W, repeats) of the paper-like pass on precomputed predictions).
SIZES = {"full": ((64, 16, 7), (4, 512, 1024, 3)), "quick": ((16, 16, 2), (1, 512, 1024, 1))}


def measure(ctx: Context) -> list[Figure]:
    """The evaluation pass with every evaluator of ``benchmark.evaluators.EVALUATORS`` against
    the same pass with the confusion matrix and the trimap only. Target: <= 2x at the small
    scale.

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

    device, progress = ctx.device, ctx.progress
    (n, batch, repeats), (pn, ph, pw, paper_repeats) = ctx.sizes
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
    times = interleaved(fns, repeats, device, desc="evaluation", progress=progress)

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
    paper_times = interleaved(paper_fns, paper_repeats, device, desc="evaluation 512x1024", progress=progress)

    what = f"{n} images of {h}x{w}, batch {batch}, deeplabv2_small width {small.width} forward included"
    size = f"{pn}x{ph}x{pw}, widths {paper.boundary_widths}, tolerances {paper.boundary_tolerances}"
    out = [
        Figure("evaluation", "small_ratio", f"evaluation pass with every evaluator / with confusion matrix and trimap only, {what}",
               "x", ratios(times["all"], times["baseline"]), ("<=", 2.0)),
        Figure("evaluation", "small_all_ms", f"evaluation pass, every evaluator, {what}", "ms", [1e3 * t for t in times["all"]]),
        Figure("evaluation", "small_baseline_ms", f"evaluation pass, confusion matrix and trimap, {what}", "ms",
               [1e3 * t for t in times["baseline"]]),
        Figure("evaluation", "paper_ratio", f"every evaluator / confusion matrix and trimap, precomputed predictions, {size}",
               "x", ratios(paper_times["all"], paper_times["baseline"])),
    ]  # fmt: skip
    for name in paper_fns:
        out.append(Figure("evaluation", f"paper_{name}_ms", f"{name} evaluator{'s' if name in ('all', 'baseline') else ''}, {size}",
                          "ms", [1e3 * t for t in paper_times[name]]))  # fmt: skip
    return out
