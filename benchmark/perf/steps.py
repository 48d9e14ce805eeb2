"""The trainer's own step on a fixed batch, as the sections that time a method's step call it:
a registered method ready to step (its edge net attached) and a closure of
``benchmark.step.train_step`` with its optimiser, schedule and loss scaler."""

from __future__ import annotations

import torch

import methods
from benchmark.arithmetic import precision_flags, uses_loss_scaler
from benchmark.step import train_step

__all__ = ["method_for", "trainer_step"]


def method_for(name: str, params: dict, edge_net, device: torch.device):
    """Registered method ``name`` with ``params``, the edge net attached where it needs one."""
    method = methods.build_method(name, **params)
    if method.needs_edge_net:
        method.attach_edge_net(edge_net)
    return method.to(device)


def trainer_step(model, method, images, target, edges, *, target_maps: torch.Tensor | None = None, grad_clip: float | None = None,
                 precision: str = "fp32", memory_format: str = "contiguous"):  # fmt: skip
    """A call of the trainer's own step (``benchmark.step.train_step``) on a fixed batch: SGD
    with momentum, a poly schedule, in ``precision`` as the trainer runs it
    (``benchmark.arithmetic``: its autocast, the loss scaler under fp16, its TF32 flags set
    around each call).

    images float [B, 3, H, W], target int64 [B, H, W], edges bool [B, H, W] (the batch's
    semantic edges, computed once outside the step as the trainer computes them with the batch),
    target_maps (the method's ``target_maps`` of the batch, likewise; None for a method without).
    ``memory_format``: the batch's layout in the step, that of the model (``benchmark.step.apply_levers``).
    """
    scaler = torch.amp.GradScaler("cuda", enabled=uses_loss_scaler(images.device, precision))
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-5, momentum=0.9)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / 1e6) ** 0.9)

    def step():
        with precision_flags(images.device, precision):
            return train_step(model, method, optimiser, schedule, scaler, images, target, edges, target_maps=target_maps, grad_clip=grad_clip,
                              precision=precision, memory_format=memory_format)  # fmt: skip

    return step
