"""One split of a dataset as a torch ``Dataset`` of tensors (``SegmentationDataset``, read by
``load_split``), and a whole split decoded into memory (``as_tensors``).

Every dataset offers the splits ``train`` and ``val``. Items are ``(image, target)``:
image uint8 ``[3, H, W]``, target int64 ``[H, W]`` with class ids (train ids) and 255
for void.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from benchmark.data import layouts  # split_files read at each call: one place to substitute the listing
from benchmark.data.labels import valid_values_text
from benchmark.data.registry import DatasetError, DatasetInfo, dataset_info

__all__ = ["SegmentationDataset", "as_tensors", "load_split"]


class SegmentationDataset(Dataset):
    """One split of a dataset; items ``(image uint8 [3, H, W], target int64 [H, W])``.

    The target holds class (train) ids and ``info.ignore_index`` for void. With
    ``resize=(H, W)`` the image is resized bilinearly (antialiased) and the mask by
    nearest neighbour (pixel-centre aligned, ``NEAREST_EXACT``, so it stays on the
    image's grid). ``ids`` names the samples (file stems) for stored predictions.
    """

    def __init__(self, info: DatasetInfo, files: layouts.SplitFiles, resize: tuple[int, int] | None = None):
        self.info = info
        self.files = files
        self.resize = tuple(resize) if resize is not None else None
        self.ids = files.ids

    def __len__(self) -> int:
        return len(self.files.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            pil_image, pil_mask = self.files.source[index]
            image = np.array(pil_image)  # a writable copy, as torch.from_numpy wants
            mask = np.asarray(pil_mask)
        except (OSError, SyntaxError, ValueError) as err:
            raise DatasetError(
                f"cannot read {self.files.images[index]} or {self.files.masks[index]} ({err}); "
                f"run check_dataset({self.info.name!r}, ...) for a full check"
            ) from err
        if mask.ndim != 2 or mask.shape != image.shape[:2]:
            raise DatasetError(
                f"mask {self.files.masks[index]} has shape {mask.shape}, image {image.shape}; "
                "expected a single-channel index PNG of the image's size"
            )
        mapped = self.files.lut[mask]
        if mapped.min() < 0:
            bad = sorted(set(np.unique(mask[mapped < 0]).tolist()))
            raise DatasetError(
                f"mask {self.files.masks[index]} has values {bad[:8]} outside "
                f"{valid_values_text(self.files.reader)}"
            )
        image_t = torch.from_numpy(image).permute(2, 0, 1).contiguous()
        target_t = torch.from_numpy(mapped.astype(np.int64))
        if self.resize is not None and tuple(target_t.shape) != self.resize:
            size = list(self.resize)
            image_t = F.resize_image(image_t, size, interpolation=InterpolationMode.BILINEAR, antialias=True)
            target_t = F.resize_mask(target_t, size, interpolation=InterpolationMode.NEAREST_EXACT)
        return image_t, target_t


def load_split(
    name: str, root: str | os.PathLike, split: str, *, resize: tuple[int, int] | None = None
) -> SegmentationDataset:
    """Read split ``train`` or ``val`` of dataset ``name`` under ``root`` (real sets with a
    ``tuning_holdout`` also ``tune``, the held-out training images, and ``train-tune``, the rest).

    Lists the files (and checks the folders exist) but decodes nothing; use
    :func:`check_dataset` to check every file once. ``resize`` is (H, W), e.g.
    ``(512, 1024)`` for Cityscapes at half resolution.
    """
    if resize is not None and (len(resize) != 2 or min(resize) < 1):
        raise ValueError(f"resize must be (height, width) with positive sizes, got {resize!r}")
    return SegmentationDataset(dataset_info(name), layouts.split_files(name, root, split), resize)


def as_tensors(
    dataset: SegmentationDataset, *, target_dtype: torch.dtype = torch.int64, num_threads: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a whole split into memory: (images uint8 [N, 3, H, W], targets [N, H, W]).

    For the small synthetic sets, where decoding PNGs every epoch is wasted work. All
    items must share one size (pass ``resize`` to :func:`load_split` otherwise).
    ``target_dtype=torch.uint8`` holds the same ids in an eighth of the memory.
    """
    n = len(dataset)
    with ThreadPoolExecutor(num_threads or min(8, (os.cpu_count() or 1) + 2)) as pool:
        items = list(pool.map(dataset.__getitem__, range(n)))
    sizes = {tuple(t.shape) for _, t in items}
    if len(sizes) > 1:
        raise DatasetError(
            f"as_tensors needs one image size, found {sorted(sizes)[:4]}; pass resize=(H, W) to load_split"
        )
    images = torch.stack([i for i, _ in items])
    targets = torch.stack([t.to(target_dtype) for _, t in items])
    return images, targets
