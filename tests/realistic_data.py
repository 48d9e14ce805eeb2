"""Small datasets in the official VOC 2012 aug and Cityscapes layouts with the real sets' properties.

The real sets are not what the synthetic embedded default looks like: VOC's images have
many sizes (500x375, 375x500, 500x333, 486x500, ...) and a void band (255) around every
object; Cityscapes' are 2048x1024 (read at 1024x512 at paper scale), with void regions
(the ego vehicle at the bottom, the out-of-roi border), thin objects (poles), large
regions, so that about 1% of the pixels are edges, and most of the 19 classes absent from
any one image. These writers draw such files, deterministically, for the tests of the
paper scale; every array they write is returned so a test can compute its own expectation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data import voc_palette

#: VOC validation image sizes (H, W) of the real val set, portrait among them.
VOC_VAL_SIZES = ((375, 500), (500, 375), (333, 500), (500, 486))
VOC_TRAIN_SIZES = ((375, 500), (500, 375), (333, 500), (281, 500), (500, 333), (375, 500), (500, 400), (366, 500))
#: Cityscapes labelIds drawn (cityscapesscripts' table): road, sidewalk, building, pole,
#: vegetation, sky, person, car; void: ego vehicle (1), out of roi (3).
ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR, EGO, OUT_OF_ROI = 7, 8, 11, 17, 21, 23, 24, 26, 1, 3


def _voc_mask(rng: np.random.Generator, h: int, w: int, band: int = 4) -> np.ndarray:
    """Background (0), one to three objects of a few of the 20 classes (disks and boxes),
    each with a ``band``-pixel void band (255) on its outline, as VOC annotates them."""
    mask = np.zeros((h, w), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.choice([3, 8, 12, 15]))  # bird, cat, dog, person: the other 16 classes absent
        cy, cx = rng.integers(h // 5, 4 * h // 5), rng.integers(w // 5, 4 * w // 5)
        if rng.random() < 0.5:
            r = rng.integers(min(h, w) // 10, min(h, w) // 4)
            dist = np.hypot(yy - cy, xx - cx) - r
        else:
            hh, hw = rng.integers(h // 10, h // 4), rng.integers(w // 10, w // 4)
            dist = np.maximum(np.abs(yy - cy) - hh, np.abs(xx - cx) - hw)
        mask[(dist >= 0) & (dist < band)] = 255
        mask[dist < 0] = cls
    return mask


def write_voc(base: str | Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A VOC 2012 aug layout under ``base`` (``VOCdevkit/VOC2012``): training masks as
    single-channel PNGs (SegmentationClassAug), validation masks as palette PNGs
    (SegmentationClass), JPEG images, the two image lists. Returns {stem: class-id mask}."""
    voc = Path(base) / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClassAug", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    masks, lists = {}, {"train_aug": [], "val": []}
    for split, sizes in (("train_aug", VOC_TRAIN_SIZES), ("val", VOC_VAL_SIZES)):
        for k, (h, w) in enumerate(sizes):
            stem = f"2008_{(0 if split == 'val' else 5000) + k:06d}"
            mask = _voc_mask(rng, h, w)
            image = np.clip(rng.normal(110, 25, (h, w, 3)) + 60 * (mask[..., None] % 7), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(voc / "JPEGImages" / f"{stem}.jpg", quality=95)
            if split == "train_aug":
                Image.fromarray(mask).save(voc / "SegmentationClassAug" / f"{stem}.png")
            else:
                png = Image.fromarray(mask)
                png.putpalette(voc_palette().tobytes())
                png.save(voc / "SegmentationClass" / f"{stem}.png")
            masks[stem] = mask
            lists[split].append(stem)
    for name, stems in lists.items():
        (voc / "ImageSets" / "Segmentation" / f"{name}.txt").write_text("".join(f"{s}\n" for s in stems))
    return masks


def cityscapes_label_ids(rng: np.random.Generator, h: int = 1024, w: int = 2048) -> np.ndarray:
    """A street scene in labelIds at full Cityscapes size: sky, buildings and vegetation
    above a horizon, road and sidewalk below, a few cars and people, thin poles, the ego
    vehicle (void) at the bottom and an out-of-roi frame (void). About 1% of the pixels
    are edges once read at 1024x512."""
    ids = np.full((h, w), SKY, dtype=np.uint8)
    horizon = int(h * rng.uniform(0.42, 0.5))
    ids[int(h * 0.18) : horizon, : int(w * 0.45)] = BUILDING
    ids[int(h * 0.25) : horizon, int(w * 0.7) :] = VEGETATION
    ids[horizon:] = SIDEWALK
    yy, xx = np.mgrid[horizon:h, :w]
    ids[horizon:][np.abs(xx - w / 2) < (yy - horizon + 40) * 1.4] = ROAD
    for _ in range(2):  # cars on the road
        cy, cx = int(rng.integers(horizon + 60, horizon + 160)), int(rng.integers(w // 3, 2 * w // 3))
        ids[cy - 50 : cy + 40, cx - 110 : cx + 110] = CAR
    for _ in range(2):  # people on the sidewalk
        cy, cx = int(rng.integers(horizon + 20, horizon + 80)), int(rng.choice([w // 8, 7 * w // 8]))
        ids[cy - 70 : cy + 10, cx - 14 : cx + 14] = PERSON
    for x in rng.choice(np.arange(60, w - 60, 8), 3, replace=False):  # thin poles, 6 px wide
        ids[int(h * 0.2) : horizon + 60, x : x + 6] = POLE
    ids[int(h * 0.88) :, int(w * 0.2) : int(w * 0.8)] = EGO
    ids[:6], ids[-6:], ids[:, :6], ids[:, -6:] = OUT_OF_ROI, OUT_OF_ROI, OUT_OF_ROI, OUT_OF_ROI
    return ids


def write_cityscapes(base: str | Path, n_train: int = 8, n_val: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """A Cityscapes layout under ``base`` (leftImg8bit/, gtFine/ with *_gtFine_labelIds.png)
    at 2048x1024; training images in two cities, validation in one. Returns {stem: labelIds}."""
    rng = np.random.default_rng(seed)
    written = {}
    for split, n, cities in (("train", n_train, ("bremen", "hamburg")), ("val", n_val, ("lindau",))):
        for k in range(n):
            city = cities[k % len(cities)]
            stem = f"{city}_{k:06d}_000019"
            ids = cityscapes_label_ids(rng)
            image = np.clip(rng.normal(100, 20, (*ids.shape, 3)) + 4 * (ids[..., None] % 13), 0, 255).astype(np.uint8)
            for folder, suffix, array in (("leftImg8bit", "leftImg8bit", image), ("gtFine", "gtFine_labelIds", ids)):
                path = Path(base) / folder / split / city / f"{stem}_{suffix}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(path, compress_level=1)
            written[stem] = ids
    return written
