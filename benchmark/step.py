"""The one training step every method takes, in the trainer and in the performance benchmark.

forward -> loss terms -> backward -> (unscale) -> gradient clipping where asked -> SGD step
-> loss-scale update -> schedule step. Keeping it in one function is what makes "the same
protocol for every method" true, and what the performance benchmark times.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from benchmark.data.transforms import normalize

__all__ = ["StepResult", "train_step", "global_grad_norm", "autocast_for"]


@dataclass
class StepResult:
    """What one step reports: the loss terms as floats and the pre-clip gradient norm.

    ``grad_norm`` is the global L2 norm of the gradient over every trainable parameter,
    before clipping (unscaled under AMP); ``clipped`` says whether clipping rescaled it.
    """

    values: dict[str, float]
    grad_norm: float
    clipped: bool


def autocast_for(device: torch.device, precision: str = "fp32"):
    """The autocast context of a step: fp16 on CUDA, bf16 when asked on a CPU, else none."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext()


def global_grad_norm(parameters) -> torch.Tensor:
    """Global L2 norm of the gradients of ``parameters`` (those with a gradient), a 0-dim tensor."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads]))


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
    grad_clip: float | None = None,
    precision: str = "fp32",
    normalise: bool = True,
) -> StepResult:
    """One SGD step of ``model`` on the batch with ``method``'s total loss.

    Shape:
        images: [N, 3, H, W] float in [0, 1] (normalised here unless ``normalise=False``);
        target: [N, H, W] int64; edges: [N, H, W] bool or None.

    ``grad_clip`` is the largest global L2 norm of the gradient over all trainable
    parameters (``torch.nn.utils.clip_grad_norm_``: the whole gradient is rescaled by
    ``grad_clip / norm`` when the norm exceeds it); None leaves the gradient as it is.
    Under AMP the gradient is unscaled first, so the threshold means the same with and
    without loss scaling. A non-finite total raises before any parameter changes.
    """
    device = images.device
    with autocast_for(device, precision):
        out = model(normalize(images) if normalise else images)
    edge_logits = out.get("edge_logits")
    terms = method(out["logits"].float(), target, edges=edges, edge_logits=None if edge_logits is None else edge_logits.float())
    values = {k: v.item() for k, v in terms.items()}
    if not math.isfinite(values["total"]):
        raise FloatingPointError(values)
    optimiser.zero_grad(set_to_none=True)
    scaler.scale(terms["total"]).backward()
    scaler.unscale_(optimiser)
    params = [p for group in optimiser.param_groups for p in group["params"]]
    if grad_clip is not None:
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    else:
        norm = global_grad_norm(params)
    grad_norm = float(norm)
    scaler.step(optimiser)
    scaler.update()
    if schedule is not None:
        schedule.step()
    return StepResult(values, grad_norm, grad_clip is not None and math.isfinite(grad_norm) and grad_norm > grad_clip)
