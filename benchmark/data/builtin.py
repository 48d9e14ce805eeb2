"""The built-in datasets (``voc``, ``cityscapes``, ``streets``, ``shapes``), registered once,
when ``benchmark.data`` imports this module."""

from __future__ import annotations

from benchmark.data.labels import CITYSCAPES_CLASSES, VOC_CLASSES
from benchmark.data.layouts import CITYSCAPES_LAYOUT, voc_layout
from benchmark.data.registry import DatasetInfo, register_dataset

__all__ = ["BUILTIN_DATASETS"]

#: (split, list file stem, mask folder) of each VOC-layout dataset. The paper trains on the
#: augmented set (10,582 images, SBD masks converted to index PNGs) and evaluates on the
#: official 1,449 val images.
_VOC_AUG_SPLITS = (("train", "train_aug", "SegmentationClassAug"), ("val", "val", "SegmentationClass"))
_VOC_PLAIN_SPLITS = (("train", "train", "SegmentationClass"), ("val", "val", "SegmentationClass"))

BUILTIN_DATASETS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        "voc", 21, VOC_CLASSES, reader="voc",
        layout="; ".join(voc_layout(stem, masks) for _, stem, masks in _VOC_AUG_SPLITS), voc_splits=_VOC_AUG_SPLITS,
        title="Pascal VOC 2012", stands_for="VOC", palette="voc",
        paper_boundary=((1, 13), (1, 5)),  # nominal 500x375
        tuning_holdout=500,
    ),
    DatasetInfo(
        "cityscapes", 19, CITYSCAPES_CLASSES, reader="cityscapes", layout=CITYSCAPES_LAYOUT,
        title="Cityscapes", stands_for="Cityscapes", palette="cityscapes", paper_resize=(512, 1024),
        paper_boundary=((1, 23), (1, 9)),  # 1024x512
        tuning_holdout=("jena", "ulm", "weimar", "zurich"),  # 478 of the 2,975 training images
    ),
    DatasetInfo(
        "streets", 19, CITYSCAPES_CLASSES, reader="cityscapes", layout=CITYSCAPES_LAYOUT,
        synthetic=True, image_size=(64, 128),
        title="streets (synthetic, Cityscapes-like)", stands_for="Cityscapes", palette="cityscapes",
    ),
    DatasetInfo(
        "shapes", 21, VOC_CLASSES, reader="voc", layout=voc_layout("train|val", "SegmentationClass"),
        voc_splits=_VOC_PLAIN_SPLITS, synthetic=True, image_size=(96, 96),
        title="shapes (synthetic, VOC-like)", stands_for="VOC", palette="voc",
    ),
)  # fmt: skip

for _info in BUILTIN_DATASETS:
    register_dataset(_info)
