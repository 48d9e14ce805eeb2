"""Checking a split's files once: every image and mask exists and decodes, the two have one
size, and the mask is single-channel with valid labels (``check_dataset``)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from benchmark.data import layouts  # split_files read at each call: one place to substitute the listing
from benchmark.data.labels import valid_values_text
from benchmark.data.registry import DatasetError

__all__ = ["check_dataset"]


def _check_pair(image_path: str, mask_path: str, files: layouts.SplitFiles) -> str | None:
    """The problem with one (image, mask) pair as a one-line message, or None."""
    layout = files.layout
    listed = f" (listed in {files.list_file})" if files.list_file else ""
    if not os.path.isfile(image_path):
        return f"missing image {image_path}{listed}; expected {layout}"
    if not os.path.isfile(mask_path):
        return f"missing mask {mask_path}{listed}; expected {layout}"
    try:
        with Image.open(image_path) as im:
            im.load()
            image_size = im.size
    except Exception as err:  # PIL raises many types for corrupt files
        return f"unreadable image {image_path} ({type(err).__name__}: {err}); expected {layout}"
    try:
        with Image.open(mask_path) as im:
            im.load()
            mode, mask_size = im.mode, im.size
            mask = np.asarray(im) if mode in ("L", "P") else None
    except Exception as err:
        return f"unreadable mask {mask_path} ({type(err).__name__}: {err}); expected {layout}"
    if mask is None:
        return f"mask {mask_path} has mode {mode}; expected a single-channel index PNG (mode L or P)"
    if image_size != mask_size:
        return (
            f"size mismatch: image {image_path} is {image_size[0]}x{image_size[1]} (WxH) "
            f"but mask {mask_path} is {mask_size[0]}x{mask_size[1]}"
        )
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    bad = present[files.lut[present] < 0]
    if bad.size:
        return f"mask {mask_path} has values {bad[:8].tolist()} outside {valid_values_text(files.reader)}"
    return None


def check_dataset(
    name: str, root: str | os.PathLike, split: str, *, num_threads: int | None = None
) -> int:
    """Check every file of a split once; returns the number of (image, mask) pairs.

    Checks the layout and split list, that every image and mask exists and decodes,
    that both have the same size, that the mask is single-channel and that its values
    are valid labels (mapping to a class or to the ignore label). Raises
    :class:`DatasetError` with one line naming the first bad file (in list order).
    """
    files = layouts.split_files(name, root, split)
    pairs = list(zip(files.images, files.masks))
    pool = ThreadPoolExecutor(num_threads or min(16, (os.cpu_count() or 1) + 4))
    try:
        for problem in pool.map(lambda pair: _check_pair(*pair, files), pairs):
            if problem is not None:
                raise DatasetError(problem)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return len(pairs)
