"""The one training step every method takes, in the trainer and in the performance benchmark.

forward -> loss terms -> backward -> (unscale) -> gradient clipping where asked -> SGD step
-> loss-scale update -> schedule step. Keeping it in one function is what makes "the same
protocol for every method" true, and what the performance benchmark times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from benchmark.arithmetic import autocast_for
from benchmark.data.transforms import normalize

__all__ = ["StepResult", "train_step", "read_back", "global_grad_norm", "autocast_for", "apply_levers", "in_memory_format", "COMPILE_OPTIONS"]

#: ``Settings.memory_format`` -> the torch memory format of the network's weights and batches.
_MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
#: How ``apply_levers`` calls ``torch.compile``: inductor; shapes static until one changes, then
#: dynamic (a loss whose pixel count varies with the batch, as focal's and Lovasz's gathers of the
#: non-void pixels do, recompiles once, not at every batch; torch's limit of 8 recompilations
#: per function then falls back to eager).
COMPILE_OPTIONS = {"backend": "inductor"}


@dataclass
class StepResult:
    """What one step reports: the loss terms as floats and the pre-clip gradient norm.

    ``grad_norm`` is the global L2 norm of the gradient over every trainable parameter,
    before clipping (unscaled under AMP); ``clipped`` says whether clipping rescaled it;
    ``skipped``, whether the loss scaler skipped the optimiser step (fp16: a gradient that
    overflowed, its norm not finite).
    """

    values: dict[str, float]
    grad_norm: float
    clipped: bool
    skipped: bool = False


def apply_levers(model, method, *, memory_format: str = "contiguous", compile: bool = False) -> None:
    """The step's speed levers (``Settings.memory_format``, ``Settings.compile``) applied in
    place to the network and the method, once, before the optimiser is built; at their
    defaults nothing changes. The one place the trainer and the performance benchmark set them.

    ``memory_format="channels_last"``: the network's weights in NHWC layout (its batches follow
    in ``train_step`` and in the evaluation, ``in_memory_format``); the network hands its class
    scores back in NCHW before up-sampling them (``SegmentationModel.forward``), so the losses
    see the layout they always saw.

    ``compile=True``: the method's loss terms, from the logits to the total, forward and
    backward, compiled by ``torch.compile`` (``COMPILE_OPTIONS``; ``nn.Module.compile``, in
    place); PPCE, SEMEDA and PPCE on edges are one graph each, and a method that reads tensors
    back in Python (focal's and Lovasz's ``.any()`` and gathers of a data-dependent size)
    compiles in pieces. The network stays eager, and so does the evaluation: compiling the
    network as well made the small scale's step 4-11% slower than compiling the loss alone on
    the reference CPU (``benchmark.perf.levers``, variant ``compile+network``): its time is oneDNN's
    convolutions, the same compiled or not, and inductor decomposes the bilinear up-sampling
    into gathers and an accumulating index_put, slower than eager's kernel. So the network's
    state dict, checkpoints and saved weights are those of an uncompiled run, and evaluation
    at any image size runs no compiled code.
    """
    if memory_format not in _MEMORY_FORMATS:
        raise ValueError(f"memory_format must be one of {', '.join(_MEMORY_FORMATS)}, got {memory_format!r}")
    if memory_format != "contiguous":
        model.to(memory_format=_MEMORY_FORMATS[memory_format])
    if compile:
        method.compile(**COMPILE_OPTIONS)


def in_memory_format(batch: torch.Tensor, memory_format: str = "contiguous") -> torch.Tensor:
    """``batch`` [N, C, H, W] in the layout of ``memory_format`` (itself when it already is)."""
    if memory_format == "contiguous":
        return batch
    return batch.contiguous(memory_format=_MEMORY_FORMATS[memory_format])


def global_grad_norm(parameters) -> torch.Tensor:
    """Global L2 norm of the gradients of ``parameters`` (those with a gradient), a 0-dim tensor."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads]))


def read_back(terms: dict[str, torch.Tensor], norm: torch.Tensor) -> tuple[dict[str, float], float]:
    """The loss terms and the gradient norm as Python floats, in one read-back of the device.

    Shape: terms name -> 0-dim tensor (any float dtype, any device); norm 0-dim. Each value
    goes through float64, which holds every float32, float16 and bfloat16 value exactly, so
    the floats are those ``.item()`` of each tensor would give; one ``.tolist()`` of the
    stacked values instead of one synchronisation per term and one for the norm.
    """
    device = norm.device
    stacked = torch.stack([torch.as_tensor(v).detach().to(device=device, dtype=torch.float64).reshape(()) for v in (*terms.values(), norm)])
    *values, grad_norm = stacked.tolist()
    return dict(zip(terms, values)), grad_norm


def train_step(
    model,
    method,
    optimiser: torch.optim.Optimizer,
    schedule,
    scaler: torch.amp.GradScaler,
    images: torch.Tensor,
    target: torch.Tensor,
    edges: torch.Tensor | None,
    *,
    target_maps: torch.Tensor | None = None,
    grad_clip: float | None = None,
    precision: str = "fp32",
    normalise: bool = True,
    memory_format: str = "contiguous",
) -> StepResult:
    """One SGD step of ``model`` on the batch with ``method``'s total loss.

    Shape:
        images: [N, 3, H, W] float in [0, 1] (normalised here unless ``normalise=False``);
        target: [N, H, W] int64; edges: [N, H, W] bool or None; target_maps: the method's
        ``target_maps(target, C)``, computed with the batch, or None (the method's own, then).

    ``grad_clip`` is the largest global L2 norm of the gradient over all trainable
    parameters (``torch.nn.utils.clip_grad_norm_``: the whole gradient is rescaled by
    ``grad_clip / norm`` when the norm exceeds it); None leaves the gradient as it is.
    ``precision``: the forward's autocast (``benchmark.arithmetic.autocast_for``); ``scaler``
    is enabled under fp16 on CUDA alone (``arithmetic.uses_loss_scaler``).
    Under AMP the gradient is unscaled first, so the threshold means the same with and
    without loss scaling. A non-finite total raises before any parameter changes (after the
    backward pass: the terms and the norm are read back together, once per step, ``read_back``;
    the CUDA loss scaler's own check of the gradients is its one other read).
    ``memory_format``: the batch's layout, that of the network (``apply_levers``).
    """
    device = images.device
    with autocast_for(device, precision):
        out = model(in_memory_format(normalize(images) if normalise else images, memory_format))
    edge_logits = out.get("edge_logits")
    given = {} if target_maps is None else {"target_maps": target_maps}  # only a method with maps takes the keyword
    terms = method(out["logits"].float(), target, edges=edges, edge_logits=None if edge_logits is None else edge_logits.float(), **given)
    optimiser.zero_grad(set_to_none=True)
    scaler.scale(terms["total"]).backward()
    scaler.unscale_(optimiser)
    params = [p for group in optimiser.param_groups for p in group["params"]]
    if grad_clip is not None:
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    else:
        norm = global_grad_norm(params)
    values, grad_norm = read_back(terms, norm)
    if not math.isfinite(values["total"]):
        raise FloatingPointError(values)
    scaler.step(optimiser)
    scaler.update()
    if schedule is not None:
        schedule.step()
    # GradScaler skips the step exactly when the unscaled gradient holds an inf or a NaN, i.e.
    # when its norm is not finite; the schedule above counts the iteration all the same.
    skipped = scaler.is_enabled() and not math.isfinite(grad_norm)
    return StepResult(values, grad_norm, grad_clip is not None and math.isfinite(grad_norm) and grad_norm > grad_clip, skipped)
