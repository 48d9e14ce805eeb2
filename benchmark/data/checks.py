"""Checking a split's files once: every image and mask exists and decodes, the image has 8
bits per channel, the two have one size, and the mask is 8-bit single-channel with valid
labels (``check_dataset``)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from benchmark.data import layouts  # split_files read at each call: one place to substitute the listing
from benchmark.data.labels import valid_values_text
from benchmark.data.registry import DatasetError

__all__ = ["IMAGE_MODES", "check_dataset"]


#: Pillow modes of 8 bits per channel, which ``convert("RGB")`` (how every split reads its
#: images) maps to RGB without loss of range. 16-bit and 32-bit modes (``I;16``, ``I``,
#: ``F``) are clipped to 255 instead: a 16-bit grayscale image turns nearly white.
IMAGE_MODES = ("RGB", "RGBA", "RGBX", "RGBa", "L", "LA", "La", "P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV")
_MODE_TEXT = {"I;16": "16-bit grayscale", "I;16B": "16-bit grayscale", "I;16L": "16-bit grayscale", "I;16N": "16-bit grayscale",
              "I": "32-bit integer", "F": "32-bit float"}  # fmt: skip


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
            image_mode, image_size = im.mode, im.size
    except Exception as err:  # PIL raises many types for corrupt files
        return f"unreadable image {image_path} ({type(err).__name__}: {err}); expected {layout}"
    if image_mode not in IMAGE_MODES:
        return (f"image {image_path} has mode {image_mode} ({_MODE_TEXT.get(image_mode, 'not 8 bits per channel')}), which "
                "reading it as 8-bit RGB would distort; convert the images to 8-bit RGB PNG or JPEG")  # fmt: skip
    try:
        with Image.open(mask_path) as im:
            im.load()
            mode, mask_size = im.mode, im.size
            mask = np.asarray(im) if mode in ("L", "P") else None
    except Exception as err:
        return f"unreadable mask {mask_path} ({type(err).__name__}: {err}); expected {layout}"
    if mask is None:
        return (f"mask {mask_path} has mode {mode} ({_MODE_TEXT.get(mode, 'not an index image')}); expected an 8-bit "
                "single-channel index PNG (mode L or P)")  # fmt: skip
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
    that the image has 8 bits per channel (``IMAGE_MODES``), that both have the same
    size, that the mask is 8-bit single-channel and that its values
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
