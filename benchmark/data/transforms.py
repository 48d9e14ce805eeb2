"""The paper's training augmentation and the input normalisation.

DeepLab-v2 style (paper section 4): random scaling, random mirror, then a random crop
padded (bottom and right) with the ignore label in the mask and the mean pixel in the
image; no multi-scale input. Images stay uint8 through the augmentation and are
normalised to float (ImageNet mean and std) by :func:`normalize`, on the batch, where
it is cheapest (e.g. on the GPU).

Randomness never touches the global torch or numpy RNG: each sample draws from
``numpy.random.default_rng([seed, epoch, index])``, so two runs with the same seed see
the same crops whatever their model initialisation consumed, with any number of
DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MEAN_PIXEL",
    "normalize",
    "rescale",
    "resize_labels",
    "hflip",
    "pad_to",
    "crop",
    "sample_rng",
    "TrainAugment",
    "Augmented",
    "augment_batch",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: The ImageNet mean as a uint8 pixel: padding images with it gives ~0 after normalize.
MEAN_PIXEL = tuple(round(255 * m) for m in IMAGENET_MEAN)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 3, H, W] -> float32 [..., 3, H, W]: ``(x / 255 - mean) / std`` (ImageNet)."""
    return F.normalize(F.to_dtype(images, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)


def rescale(image: torch.Tensor, target: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize by ``scale``: image [3, H, W] bilinear with antialias, target [H, W] nearest.

    ``NEAREST_EXACT`` samples the mask at pixel centres, as bilinear does the image,
    so the two stay aligned (legacy ``NEAREST`` shifts by up to half a pixel).
    """
    h, w = target.shape[-2:]
    size = [max(1, round(h * scale)), max(1, round(w * scale))]
    if size == [h, w]:
        return image, target
    image = F.resize_image(image, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return image, resize_labels(target, size)


def resize_labels(target: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``target`` [..., H, W] resized to ``size`` by ``NEAREST_EXACT``, in its dtype. Nearest
    neighbour copies values, so ids that fit a byte are resized as uint8 (the same values,
    a fifth of an int64 mask's time at 2048x1024)."""
    if target.dtype != torch.uint8 and target.numel():
        low, high = torch.aminmax(target)
        if 0 <= int(low) and int(high) <= 255:
            return F.resize_mask(target.to(torch.uint8), list(size), interpolation=InterpolationMode.NEAREST_EXACT).to(target.dtype)
    return F.resize_mask(target, list(size), interpolation=InterpolationMode.NEAREST_EXACT)


def hflip(image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror image [3, H, W] and target [H, W] left-right together."""
    return F.horizontal_flip_image(image), F.horizontal_flip_mask(target)


def pad_to(
    image: torch.Tensor, target: torch.Tensor, size: Sequence[int], *,
    fill: Sequence[int] = MEAN_PIXEL, ignore_index: int = 255,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad bottom and right up to at least ``size`` (H, W): image with ``fill``, target with ``ignore_index``."""
    h, w = target.shape[-2:]
    pad_h, pad_w = max(size[0] - h, 0), max(size[1] - w, 0)
    if not pad_h and not pad_w:
        return image, target
    padding = [0, 0, pad_w, pad_h]  # left, top, right, bottom
    return F.pad_image(image, padding, fill=list(fill)), F.pad_mask(target, padding, fill=ignore_index)


def crop(
    image: torch.Tensor, target: torch.Tensor, top: int, left: int, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The window [top, top + height) x [left, left + width) of image [3, H, W] and target [H, W]."""
    return F.crop_image(image, top, left, height, width), F.crop_mask(target, top, left, height, width)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample's augmentation: a function of (seed, epoch, index) only."""
    return np.random.default_rng([seed, epoch, index])


@dataclass(frozen=True)
class TrainAugment:
    """Random scale, mirror, pad and crop to ``crop_size`` (H, W).

    Call with (image uint8 [3, H, W], target int64 [H, W], rng); returns image uint8
    [3, *crop_size] and target int64 [*crop_size]. Every call draws exactly four
    numbers (scale, mirror, crop row, crop column) so the stream of draws does not
    depend on image sizes.
    """

    crop_size: tuple[int, int]
    scale_range: tuple[float, float] = (0.5, 1.5)
    mirror_prob: float = 0.5
    fill: tuple[int, int, int] = MEAN_PIXEL
    ignore_index: int = 255

    def __post_init__(self) -> None:
        if len(self.crop_size) != 2 or min(self.crop_size) < 1:
            raise ValueError(f"crop_size must be (height, width) with positive sizes, got {self.crop_size!r}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise ValueError(f"scale_range must be (min, max) with 0 < min <= max, got {self.scale_range!r}")
        if not 0 <= self.mirror_prob <= 1:
            raise ValueError(f"mirror_prob must be in [0, 1], got {self.mirror_prob}")

    def __call__(
        self, image: torch.Tensor, target: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scale = rng.uniform(*self.scale_range)
        mirror = rng.random() < self.mirror_prob
        u_top, u_left = rng.random(), rng.random()
        image, target = rescale(image, target, scale)
        if mirror:
            image, target = hflip(image, target)
        image, target = pad_to(image, target, self.crop_size, fill=self.fill, ignore_index=self.ignore_index)
        h, w = target.shape[-2:]
        ch, cw = self.crop_size
        top, left = int(u_top * (h - ch + 1)), int(u_left * (w - cw + 1))
        return crop(image, target, top, left, ch, cw)


class Augmented(Dataset):
    """``base`` with ``augment`` applied; sample ``i`` of epoch ``e`` uses ``sample_rng(seed, e, i)``.

    A key is an index (of the epoch :meth:`set_epoch` set) or an ``(epoch, index)`` pair: the
    trainer's sampler gives pairs (``train.EpochBatches``), so that DataLoader workers started
    once for a whole run (``persistent_workers``) never depend on an epoch set in the main
    process after they started.
    """

    def __init__(self, base: Dataset, augment: TrainAugment, seed: int):
        self.base, self.augment, self.seed, self.epoch = base, augment, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        image, target = self.base[index]
        return self.augment(image, target, sample_rng(self.seed, epoch, index))


def augment_batch(
    images: torch.Tensor, targets: torch.Tensor, indices: Sequence[int], augment: TrainAugment, *,
    seed: int, epoch: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment rows ``indices`` of in-memory tensors, on their device.

    images uint8 [N, 3, H, W] and targets [N, H, W] (e.g. from ``as_tensors``, moved
    to the GPU once) -> uint8 [B, 3, *crop], int64 [B, *crop]: the same samples that
    ``Augmented(base, augment, seed)`` gives for these indices in this epoch (on CUDA,
    bilinear resizing goes through float, so image values may differ by one grey level).
    """
    out = [
        augment(images[i], targets[i].long(), sample_rng(seed, epoch, int(i)))
        for i in (int(j) for j in indices)
    ]
    return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])
