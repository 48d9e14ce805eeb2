"""Segmentation datasets read from disk in their official layouts; nothing is downloaded.

Two readers cover all four datasets:

* the **VOC** reader (Pascal VOC 2012 layout): ``voc`` (the augmented training set,
  ``SegmentationClassAug`` + ``train_aug.txt``, and the official ``val``) and the
  synthetic ``shapes``;
* the **Cityscapes** reader (``leftImg8bit`` + ``gtFine`` labelIds, mapped to the 19
  train ids with cityscapesscripts' label table): ``cityscapes`` and the synthetic
  ``streets``.

Every dataset offers the splits ``train`` and ``val``. Items are ``(image, target)``:
image uint8 ``[3, H, W]``, target int64 ``[H, W]`` with class ids (train ids) and 255
for void.
"""

from __future__ import annotations

import warnings

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from cityscapesscripts.helpers.labels import id2label, trainId2label
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets import Cityscapes, VOCSegmentation
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

__all__ = [
    "IGNORE_INDEX",
    "VOC_CLASSES",
    "CITYSCAPES_CLASSES",
    "DatasetError",
    "DatasetInfo",
    "SegmentationDataset",
    "dataset_info",
    "dataset_palette",
    "list_datasets",
    "register_dataset",
    "load_split",
    "check_dataset",
    "as_tensors",
    "voc_palette",
    "cityscapes_lut",
    "voc_lut",
]

IGNORE_INDEX = 255

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip

#: The 19 Cityscapes evaluation classes, indexed by train id.
CITYSCAPES_CLASSES = tuple(trainId2label[t].name for t in range(19))


class DatasetError(ValueError):
    """A dataset on disk is missing, incomplete or malformed (one-line message)."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the harness needs to know about a dataset, before reading any file.

    ``reader`` names the official layout (and loader) the files follow: ``"voc"`` or
    ``"cityscapes"``. ``image_size`` is the default (H, W) of a synthetic set. Everything
    the harness and the report read about a dataset is here; nothing else branches on a
    dataset's name. A new dataset is one ``register_dataset(DatasetInfo(...))``.
    """

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    ignore_index: int = IGNORE_INDEX
    layout: str = ""
    reader: str = "voc"
    synthetic: bool = False
    image_size: tuple[int, int] | None = None
    splits: tuple[str, ...] = ("train", "val")
    #: How the report names it, e.g. "streets (synthetic, Cityscapes-like)".
    title: str = ""
    #: The paper's dataset it stands for in Table 2 ("Cityscapes" or "VOC"); None: none.
    stands_for: str | None = None
    #: Colour map of the qualitative figures: "cityscapes", "voc", or None (a seaborn palette).
    palette: str | None = None
    #: (H, W) images and masks are resized to at paper scale (Cityscapes at half resolution).
    paper_resize: tuple[int, int] | None = None
    #: VOC layout: (list file stem, mask folder) per split.
    voc_splits: tuple[tuple[str, str, str], ...] = ()
    #: Synthetic sets: the name of the generator that draws them (default: the dataset's name).
    generator: str | None = None
    #: (Boundary IoU widths, boundary F tolerances) of the paper scale at the dataset's
    #: nominal size: 2% of the image diagonal rounded, 0.75% rounded up; None: the scale's.
    paper_boundary: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    #: Real sets: the images of the training split held out as the tuning split (the
    #: leaderboard's weight search is scored on them and trains on the rest): a number n (a
    #: fixed n of the training list, drawn with seed 0; a quarter of the list when it is
    #: shorter than 4n) or city names (Cityscapes: every image of those training cities).
    #: None: the set has no held-out tuning split (the synthetic sets draw a separate one).
    tuning_holdout: int | tuple[str, ...] | None = None


_CITYSCAPES_LAYOUT = (
    "Cityscapes layout <root>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png, "
    "<root>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png"
)


def _voc_layout(list_name: str, mask_dir: str) -> str:
    return (
        f"VOC layout <root>/JPEGImages, <root>/{mask_dir}, "
        f"<root>/ImageSets/Segmentation/{list_name}.txt (<root> = VOC2012 or the folder holding VOCdevkit)"
    )


#: (split, list file stem, mask folder) of each VOC-layout dataset. The paper trains on the
#: augmented set (10,582 images, SBD masks converted to index PNGs) and evaluates on the
#: official 1,449 val images.
_VOC_AUG_SPLITS = (("train", "train_aug", "SegmentationClassAug"), ("val", "val", "SegmentationClass"))
_VOC_PLAIN_SPLITS = (("train", "train", "SegmentationClass"), ("val", "val", "SegmentationClass"))

_DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "voc", 21, VOC_CLASSES, reader="voc",
            layout="; ".join(_voc_layout(stem, masks) for _, stem, masks in _VOC_AUG_SPLITS), voc_splits=_VOC_AUG_SPLITS,
            title="Pascal VOC 2012", stands_for="VOC", palette="voc",
            paper_boundary=((1, 13), (1, 5)),  # nominal 500x375
            tuning_holdout=500,
        ),
        DatasetInfo(
            "cityscapes", 19, CITYSCAPES_CLASSES, reader="cityscapes", layout=_CITYSCAPES_LAYOUT,
            title="Cityscapes", stands_for="Cityscapes", palette="cityscapes", paper_resize=(512, 1024),
            paper_boundary=((1, 23), (1, 9)),  # 1024x512
            tuning_holdout=("jena", "ulm", "weimar", "zurich"),  # 478 of the 2,975 training images
        ),
        DatasetInfo(
            "streets", 19, CITYSCAPES_CLASSES, reader="cityscapes", layout=_CITYSCAPES_LAYOUT,
            synthetic=True, image_size=(64, 128),
            title="streets (synthetic, Cityscapes-like)", stands_for="Cityscapes", palette="cityscapes",
        ),
        DatasetInfo(
            "shapes", 21, VOC_CLASSES, reader="voc", layout=_voc_layout("train|val", "SegmentationClass"),
            voc_splits=_VOC_PLAIN_SPLITS, synthetic=True, image_size=(96, 96),
            title="shapes (synthetic, VOC-like)", stands_for="VOC", palette="voc",
        ),
    )
}  # fmt: skip


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """Register ``info`` under ``info.name`` (a second registration warns and replaces)."""
    if info.name in _DATASETS and _DATASETS[info.name] != info:
        warnings.warn(f"dataset {info.name!r} registered twice; the later definition wins", stacklevel=2)
    _DATASETS[info.name] = info
    return info


def _load_plugins() -> None:
    """The datasets of installed ``semeda_bench.datasets`` entry points, once per process (an
    entry point names a module that calls ``register_dataset``, or a ``DatasetInfo``)."""
    from methods import ENTRY_POINT_GROUPS, load_entry_points

    load_entry_points(ENTRY_POINT_GROUPS["datasets"], _accept)


def _accept(value) -> None:
    if isinstance(value, DatasetInfo) and _DATASETS.get(value.name) != value:
        register_dataset(value)


def list_datasets() -> list[str]:
    """Names of all known datasets, sorted."""
    _load_plugins()
    return sorted(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    _load_plugins()
    try:
        return _DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(list_datasets())}") from None


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


# --------------------------------------------------------------------------- label maps


def cityscapes_lut() -> np.ndarray:
    """int16 [256]: Cityscapes labelId -> train id (255 for void), -1 for values not in the table.

    Built from cityscapesscripts' ``id2label``; train ids 255 and -1 both mean void.
    """
    lut = np.full(256, -1, dtype=np.int16)
    for label_id, label in id2label.items():
        if 0 <= label_id < 256:
            lut[label_id] = label.trainId if 0 <= label.trainId < 255 else IGNORE_INDEX
    return lut


def voc_lut() -> np.ndarray:
    """int16 [256]: VOC mask value -> class id: 0..20 and 255 kept, every other value -1 (invalid)."""
    lut = np.full(256, -1, dtype=np.int16)
    lut[: len(VOC_CLASSES)] = np.arange(len(VOC_CLASSES))
    lut[IGNORE_INDEX] = IGNORE_INDEX
    return lut


def voc_palette() -> np.ndarray:
    """uint8 [256, 3]: the Pascal VOC colour map (index 255, void, is (224, 224, 192))."""
    idx = np.arange(256)
    palette = np.zeros((256, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((idx >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


def dataset_palette(name: str) -> np.ndarray:
    """uint8 [256, 3] colour per label of dataset ``name``: Cityscapes colours (trainIds), the
    VOC colour map, or a seaborn palette; 255 (void) is black."""
    info = dataset_info(name)
    if info.palette == "cityscapes":
        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[:19] = [trainId2label[t].color for t in range(19)]
    elif info.palette == "voc":
        pal = voc_palette().copy()
    else:
        import seaborn as sns

        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[: info.num_classes] = (np.array(sns.color_palette("husl", info.num_classes)) * 255).round().astype(np.uint8)
    pal[255] = 0
    return pal


def _valid_values_text(reader: str) -> str:
    if reader == "cityscapes":
        return "Cityscapes labelIds 0..33 of cityscapesscripts' label table"
    return f"VOC class ids 0..{len(VOC_CLASSES) - 1} or {IGNORE_INDEX}"


# --------------------------------------------------------------------------- file lists


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
class _Files:
    """The resolved files of one split: the reading source and its (image, mask) paths."""

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


def _voc_files(info: DatasetInfo, root: Path, split: str) -> _Files:
    list_name, mask_dir = {code: (stem, masks) for code, stem, masks in info.voc_splits}[split]
    layout = _voc_layout(list_name, mask_dir)
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
    return _Files(source, images, masks, ids, layout, voc_lut(), "voc", str(list_file))


_CS_IMAGE_SUFFIX = "_leftImg8bit.png"


def _cityscapes_files(info: DatasetInfo, root: Path, split: str) -> _Files:
    layout = _CITYSCAPES_LAYOUT
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
    return _Files(tv, list(tv.images), masks, ids, layout, cityscapes_lut(), "cityscapes")


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


def _tuning_files(info: DatasetInfo, root: Path, split: str) -> _Files:
    train = _cityscapes_files(info, root, "train") if info.reader == "cityscapes" else _voc_files(info, root, "train")
    held = tuning_indices(info, train.ids)
    if not held:
        raise DatasetError(f"no training image of {info.name} is held out for tuning ({info.tuning_holdout}) under {root}")
    keep = held if split == "tune" else sorted(set(range(len(train.ids))) - set(held))
    pick = lambda items: [items[i] for i in keep]  # noqa: E731
    return _Files(_Subset(train.source, keep), pick(train.images), pick(train.masks), pick(train.ids), train.layout, train.lut,
                  train.reader, train.list_file)  # fmt: skip


def _files(name: str, root: str | os.PathLike, split: str) -> _Files:
    info = dataset_info(name)
    _check_split(info, split)
    root = Path(root).expanduser()
    if split in TUNING_SPLITS:
        return _tuning_files(info, root, split)
    if info.reader == "cityscapes":
        return _cityscapes_files(info, root, split)
    return _voc_files(info, root, split)


# --------------------------------------------------------------------------- the dataset


class SegmentationDataset(Dataset):
    """One split of a dataset; items ``(image uint8 [3, H, W], target int64 [H, W])``.

    The target holds class (train) ids and ``info.ignore_index`` for void. With
    ``resize=(H, W)`` the image is resized bilinearly (antialiased) and the mask by
    nearest neighbour (pixel-centre aligned, ``NEAREST_EXACT``, so it stays on the
    image's grid). ``ids`` names the samples (file stems) for stored predictions.
    """

    def __init__(self, info: DatasetInfo, files: _Files, resize: tuple[int, int] | None = None):
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
                f"{_valid_values_text(self.files.reader)}"
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
    return SegmentationDataset(dataset_info(name), _files(name, root, split), resize)


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


# --------------------------------------------------------------------------- checking


def _check_pair(image_path: str, mask_path: str, files: _Files) -> str | None:
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
        return f"mask {mask_path} has values {bad[:8].tolist()} outside {_valid_values_text(files.reader)}"
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
    files = _files(name, root, split)
    pairs = list(zip(files.images, files.masks))
    pool = ThreadPoolExecutor(num_threads or min(16, (os.cpu_count() or 1) + 4))
    try:
        for problem in pool.map(lambda pair: _check_pair(*pair, files), pairs):
            if problem is not None:
                raise DatasetError(problem)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return len(pairs)

