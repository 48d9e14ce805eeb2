"""A split decoded once: its images and masks as uint8 in memory-mapped files (``write_decoded``,
``DecodedSplit``).

A real set's sample costs a PNG (or JPEG) decode and a resize every time it is drawn: 68 ms
for one 2048x1024 Cityscapes image, more than a GPU's whole paper-scale step. Preparation
decodes every image of the splits a run reads once, at the read resolution (after ``resize``),
and the loader then reads bytes: one page-cache copy per sample, whatever the number of
epochs, trials or DataLoader workers (the files are shared through the page cache, not copied
into each process).

Three files per split, under a stem such as ``<cache>/train_decoded``: ``.images`` (every
image's C-order [3, H, W] bytes, one after the other), ``.masks`` (every mask's [H, W] class
ids, 255 for void) and ``.index.npy`` (int64 [N, 3]: byte offset of the mask, H, W; an image
starts at three times its mask's offset). The index is written last, so a split whose index
exists is complete. Items equal the decoding dataset's exactly (``SegmentationDataset``:
image uint8 [3, H, W], target int64 [H, W]).

Written by hand: torchvision and torch.utils.data read files or hold tensors; neither keeps
variable-size decoded samples in a file read by offset.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["DecodedSplit", "decoded_exists", "decoded_bytes", "write_decoded", "DECODED_SUFFIXES"]

#: The files of one decoded split, by the suffix added to its stem; the index is the last written.
DECODED_SUFFIXES = (".images", ".masks", ".index.npy")
#: Samples decoded at once (each thread one): bounds the memory a split's writing holds.
_CHUNK = 32


def _paths(stem: Path) -> tuple[Path, Path, Path]:
    return tuple(stem.with_name(stem.name + suffix) for suffix in DECODED_SUFFIXES)


def decoded_exists(stem: str | os.PathLike) -> bool:
    """True when the split at ``stem`` was written completely (its index exists)."""
    return _paths(Path(stem))[2].exists()


def decoded_bytes(sizes: list[tuple[int, int]], channels: int = 3) -> int:
    """Bytes on disk of a decoded split of images of ``sizes`` ((H, W) each): ``channels + 1``
    bytes a pixel (the image's channels and the mask's class id), plus the index."""
    return sum((channels + 1) * h * w for h, w in sizes) + 24 * len(sizes) + 128


def write_decoded(dataset: Dataset, stem: str | os.PathLike, *, threads: int | None = None, progress: bool = False) -> None:
    """Decode every item of ``dataset`` (image uint8 [3, H, W], target int64 [H, W] with values
    in 0..255) into the files of ``stem``, atomically (temporary names, then renamed; the index
    last). Decoding runs in ``threads`` threads (PIL releases the GIL), ``_CHUNK`` items at once."""
    images_path, masks_path, index_path = _paths(Path(stem))
    images_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = {p: p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in (images_path, masks_path, index_path)}
    index, offset = [], 0
    n = len(dataset)
    bar = None
    if progress:
        from methods import progress_bar

        bar = progress_bar(total=n, desc=f"decoding {Path(stem).name}", leave=False)
    try:
        with open(tmp[images_path], "wb") as images, open(tmp[masks_path], "wb") as masks, \
                ThreadPoolExecutor(threads or min(8, (os.cpu_count() or 1) + 2)) as pool:  # fmt: skip
            for start in range(0, n, _CHUNK):
                for image, target in pool.map(dataset.__getitem__, range(start, min(start + _CHUNK, n))):
                    h, w = target.shape
                    if image.dtype != torch.uint8 or tuple(image.shape) != (3, h, w):
                        raise ValueError(f"write_decoded: images must be uint8 [3, H, W] of their mask's size, got {image.dtype} {tuple(image.shape)}")
                    if target.numel() and (int(target.min()) < 0 or int(target.max()) > 255):
                        raise ValueError("write_decoded: mask values must fit in a byte (0..255)")
                    images.write(image.contiguous().numpy().tobytes())
                    masks.write(target.to(torch.uint8).contiguous().numpy().tobytes())
                    index.append((offset, h, w))
                    offset += h * w
                    if bar is not None:
                        bar.update()
        with open(tmp[index_path], "wb") as f:
            np.save(f, np.asarray(index, dtype=np.int64).reshape(-1, 3))
        for path in (images_path, masks_path, index_path):
            os.replace(tmp[path], path)
    finally:
        if bar is not None:
            bar.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)


class DecodedSplit(Dataset):
    """A split written by ``write_decoded``; items ``(image uint8 [3, H, W], target int64 [H, W])``.

    The files are memory-mapped on first access in each process (a DataLoader worker maps
    its own; nothing large is pickled). ``ids`` names the samples as the decoded dataset did.
    """

    def __init__(self, stem: str | os.PathLike, ids: list[str] | None = None):
        self.stem = Path(stem)
        self._index = np.load(_paths(self.stem)[2])
        self.ids = list(ids) if ids is not None else [str(i) for i in range(len(self._index))]
        if len(self.ids) != len(self._index):
            raise ValueError(f"{self.stem}: {len(self._index)} decoded samples, {len(self.ids)} ids")
        self._maps: tuple[np.memmap, np.memmap] | None = None

    def __len__(self) -> int:
        return len(self._index)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_maps": None}

    def _mapped(self) -> tuple[np.ndarray, np.ndarray]:
        if self._maps is None:
            images, masks, _ = _paths(self.stem)
            empty = np.zeros(0, dtype=np.uint8)
            self._maps = tuple(np.memmap(p, dtype=np.uint8, mode="r") if p.stat().st_size else empty for p in (images, masks))
        return self._maps

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        offset, h, w = (int(v) for v in self._index[index])
        images, masks = self._mapped()
        image = np.array(images[3 * offset : 3 * (offset + h * w)]).reshape(3, h, w)  # a copy: torch wants writable memory
        target = masks[offset : offset + h * w].astype(np.int64).reshape(h, w)
        return torch.from_numpy(image), torch.from_numpy(target)
