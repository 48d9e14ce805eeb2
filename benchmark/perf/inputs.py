"""The synthetic street inputs the sections measure on: Cityscapes-like label maps (19
classes, 255 void) and prediction-like maps made from them."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data import render
from benchmark.data.labels import cityscapes_lut

__all__ = ["NUM_CLASSES", "IGNORE", "street_labels", "perturbed"]

NUM_CLASSES = 19
IGNORE = 255


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
