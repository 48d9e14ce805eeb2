"""The files of one split in its official layout, and the tuning split held out of training;
files are listed and the folders checked, nothing is decoded.

Two readers cover all four datasets:

* the **VOC** reader (Pascal VOC 2012 layout): ``voc`` (the augmented training set,
  ``SegmentationClassAug`` + ``train_aug.txt``, and the official ``val``) and the
  synthetic ``shapes``;
* the **Cityscapes** reader (``leftImg8bit`` + ``gtFine`` labelIds, mapped to the 19
  train ids with cityscapesscripts' label table): ``cityscapes`` and the synthetic
  ``streets``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets import Cityscapes, VOCSegmentation

from benchmark.data.labels import cityscapes_lut, voc_lut
from benchmark.data.registry import DatasetError, DatasetInfo, dataset_info

__all__ = ["CITYSCAPES_LAYOUT", "TUNING_SPLITS", "SplitFiles", "split_files", "tuning_indices", "voc_layout"]

#: The Cityscapes layout, as error messages and ``DatasetInfo.layout`` describe it.
CITYSCAPES_LAYOUT = (
    "Cityscapes layout <root>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png, "
    "<root>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png"
)


def voc_layout(list_name: str, mask_dir: str) -> str:
    """The VOC layout of one split list and mask folder, as error messages and
    ``DatasetInfo.layout`` describe it (the built-in VOC-layout sets name theirs by it)."""
    return (
        f"VOC layout <root>/JPEGImages, <root>/{mask_dir}, "
        f"<root>/ImageSets/Segmentation/{list_name}.txt (<root> = VOC2012 or the folder holding VOCdevkit)"
    )


#: Splits carved out of ``train`` for tuning (real sets with a ``tuning_holdout``): the
#: held-out images, and the training split without them.
TUNING_SPLITS = ("tune", "train-tune")


def _check_split(info: DatasetInfo, split: str) -> None:
    if split in TUNING_SPLITS:
        if info.tuning_holdout is None:
            raise ValueError(f"dataset {info.name!r} has no held-out tuning split; its splits: {', '.join(info.splits)}")
        return
    if split not in info.splits:
        raise ValueError(f"unknown split {split!r} for dataset {info.name!r}; valid: {', '.join(info.splits)}")


class _VOCList(Dataset):
    """Image and mask files named by a VOC split list, returned as PIL images.

    torchvision's ``VOCSegmentation`` only reads ``SegmentationClass`` with the lists
    train/trainval/val under ``<root>/VOCdevkit/VOC2012``; the augmented set
    (``SegmentationClassAug`` + ``train_aug.txt``) and a root pointing straight at
    ``VOC2012`` do not fit it, hence this class with the same fields and items.
    """

    def __init__(self, voc_root: Path, list_name: str, mask_dir: str):
        ids = _read_list(voc_root / "ImageSets" / "Segmentation" / f"{list_name}.txt")
        self.images = [str(voc_root / "JPEGImages" / f"{i}.jpg") for i in ids]
        self.masks = [str(voc_root / mask_dir / f"{i}.png") for i in ids]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Image.Image, Image.Image]:
        return Image.open(self.images[index]).convert("RGB"), Image.open(self.masks[index])


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _resolve_voc_root(root: Path) -> tuple[Path, Path | None]:
    """(the VOC2012 folder, the folder holding VOCdevkit if there is one) for a user's root."""
    if (root / "VOCdevkit" / "VOC2012").is_dir():
        return root / "VOCdevkit" / "VOC2012", root
    if (root / "VOC2012").is_dir():
        return root / "VOC2012", root.parent if root.name == "VOCdevkit" else None
    if root.name == "VOC2012" and root.parent.name == "VOCdevkit":
        return root, root.parent.parent
    return root, None


@dataclass(frozen=True, eq=False)
class SplitFiles:
    """The resolved files of one split: the reading source and its (image, mask) paths.

    ``images``, ``masks`` and ``ids`` (file stems) hold one entry per item of ``source``,
    in its order; ``lut`` (int16 [256]) maps a mask value to a class id, -1 for an invalid
    value; ``layout`` and ``list_file`` name what error messages point to. What
    ``SegmentationDataset`` reads and ``check_dataset`` checks.
    """

    source: Dataset  # items (PIL RGB image, PIL mask)
    images: list[str]
    masks: list[str]
    ids: list[str]
    layout: str
    lut: np.ndarray
    reader: str
    list_file: str | None = None


def _require_root(root: Path, layout: str) -> None:
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder; expected {layout}")


def _voc_files(info: DatasetInfo, root: Path, split: str) -> SplitFiles:
    list_name, mask_dir = {code: (stem, masks) for code, stem, masks in info.voc_splits}[split]
    layout = voc_layout(list_name, mask_dir)
    _require_root(root, layout)
    voc_root, devkit_parent = _resolve_voc_root(root)
    list_file = voc_root / "ImageSets" / "Segmentation" / f"{list_name}.txt"
    for needed in (voc_root / "JPEGImages", voc_root / mask_dir, list_file):
        if not needed.exists():
            raise DatasetError(f"wrong layout: {needed} not found; expected {layout}")
    if devkit_parent is not None and mask_dir == "SegmentationClass" and list_name in ("train", "val", "trainval"):
        tv = VOCSegmentation(str(devkit_parent), year="2012", image_set=list_name)
        source, images, masks = tv, list(tv.images), list(tv.masks)
    else:
        own = _VOCList(voc_root, list_name, mask_dir)
        source, images, masks = own, own.images, own.masks
    if not images:
        raise DatasetError(f"split list {list_file} is empty; expected {layout}")
    ids = [Path(p).stem for p in images]
    return SplitFiles(source, images, masks, ids, layout, voc_lut(), "voc", str(list_file))


_CS_IMAGE_SUFFIX = "_leftImg8bit.png"


def _cityscapes_files(info: DatasetInfo, root: Path, split: str) -> SplitFiles:
    layout = CITYSCAPES_LAYOUT
    _require_root(root, layout)
    for needed in (root / "leftImg8bit" / split, root / "gtFine" / split):
        if not needed.is_dir():
            # Checked here because torchvision's Cityscapes would otherwise look for
            # the release zips and extract them in place.
            raise DatasetError(f"wrong layout: {needed} not found; expected {layout}")
    for city in sorted(os.listdir(root / "leftImg8bit" / split)):
        city_dir = root / "leftImg8bit" / split / city
        if not city_dir.is_dir():
            raise DatasetError(f"unexpected file {city_dir}: expected one folder per city; expected {layout}")
        for name in sorted(os.listdir(city_dir)):
            if not name.endswith(_CS_IMAGE_SUFFIX):
                raise DatasetError(f"unexpected file {city_dir / name}: not a *{_CS_IMAGE_SUFFIX}; expected {layout}")
    tv = Cityscapes(str(root), split=split, mode="fine", target_type="semantic")
    # torchvision lists files in os.listdir order, which depends on the file system;
    # sorting makes the sample order (and so every seeded run) the same everywhere.
    order = sorted(range(len(tv.images)), key=lambda i: tv.images[i])
    tv.images = [tv.images[i] for i in order]
    tv.targets = [tv.targets[i] for i in order]
    if not tv.images:
        raise DatasetError(f"no images under {root / 'leftImg8bit' / split}; expected {layout}")
    masks = [t[0] for t in tv.targets]
    ids = [Path(p).name[: -len(_CS_IMAGE_SUFFIX)] for p in tv.images]
    return SplitFiles(tv, list(tv.images), masks, ids, layout, cityscapes_lut(), "cityscapes")


class _Subset(Dataset):
    """Items ``indices`` of ``source``, renumbered from 0."""

    def __init__(self, source: Dataset, indices: list[int]):
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.source[self.indices[index]]


def tuning_indices(info: DatasetInfo, ids: list[str]) -> list[int]:
    """Positions in the training list ``ids`` of the held-out tuning images (sorted).

    A number n: a fixed n of the list (numpy's generator with seed 0), at most a quarter of
    it; city names: every image whose id starts with ``<city>_``.
    """
    rule = info.tuning_holdout
    if isinstance(rule, int):
        n = min(rule, len(ids) // 4)
        return sorted(np.random.default_rng(0).choice(len(ids), size=n, replace=False).tolist())
    cities = tuple(f"{city}_" for city in rule)
    return [i for i, name in enumerate(ids) if name.startswith(cities)]


def _tuning_files(info: DatasetInfo, root: Path, split: str) -> SplitFiles:
    train = _cityscapes_files(info, root, "train") if info.reader == "cityscapes" else _voc_files(info, root, "train")
    held = tuning_indices(info, train.ids)
    if not held:
        raise DatasetError(f"no training image of {info.name} is held out for tuning ({info.tuning_holdout}) under {root}")
    keep = held if split == "tune" else sorted(set(range(len(train.ids))) - set(held))
    pick = lambda items: [items[i] for i in keep]  # noqa: E731
    return SplitFiles(_Subset(train.source, keep), pick(train.images), pick(train.masks), pick(train.ids), train.layout, train.lut,
                      train.reader, train.list_file)  # fmt: skip


def split_files(name: str, root: str | os.PathLike, split: str) -> SplitFiles:
    """The files of split ``split`` of dataset ``name`` under ``root``, listed in the dataset's
    layout (a tuning split from its training list).

    Checks the split's name and the folders and split list (``DatasetError`` naming what is
    missing), reads no image or mask. The one listing that ``load_split`` and
    ``check_dataset`` both go through.
    """
    info = dataset_info(name)
    _check_split(info, split)
    root = Path(root).expanduser()
    if split in TUNING_SPLITS:
        return _tuning_files(info, root, split)
    if info.reader == "cityscapes":
        return _cityscapes_files(info, root, split)
    return _voc_files(info, root, split)
