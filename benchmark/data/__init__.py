"""Datasets of the benchmark: real ones read from disk, synthetic ones generated locally.

``load_split(name, root, split)`` reads any of them in its official layout;
``generate(name, root, ...)`` writes the synthetic ones; ``check_dataset`` checks every
file once; ``transforms`` holds the training augmentation and normalisation. Nothing is
downloaded.

Modules, each importing only those listed before it:

* ``registry``: ``DatasetInfo``, ``DatasetError`` and the registry of datasets by name;
* ``labels``: class names, the tables from mask values to class ids, and palettes;
* ``layouts``: the files of a split in the VOC and Cityscapes layouts, and the tuning split;
* ``builtin``: the built-in datasets, registered once, when this package is imported;
* ``dataset``: ``SegmentationDataset``, ``load_split`` and ``as_tensors``;
* ``checks``: ``check_dataset``, every file of a split checked once;
* ``synthetic``: the generators of the synthetic sets;
* ``transforms``: the training augmentation and normalisation.
"""

from benchmark.data.registry import IGNORE_INDEX, DatasetError, DatasetInfo, dataset_info, list_datasets, register_dataset
from benchmark.data.labels import (
    CITYSCAPES_CLASSES,
    VOC_CLASSES,
    cityscapes_lut,
    dataset_palette,
    voc_lut,
    voc_palette,
)
from benchmark.data import builtin  # noqa: F401  (registers the built-in datasets)
from benchmark.data.dataset import SegmentationDataset, as_tensors, load_split
from benchmark.data.checks import check_dataset
from benchmark.data.synthetic import GENERATOR_VERSION, ShapesConfig, StreetsConfig, generate, render
from benchmark.data.transforms import Augmented, TrainAugment, augment_batch, normalize

__all__ = [
    "CITYSCAPES_CLASSES",
    "GENERATOR_VERSION",
    "IGNORE_INDEX",
    "VOC_CLASSES",
    "Augmented",
    "DatasetError",
    "DatasetInfo",
    "SegmentationDataset",
    "ShapesConfig",
    "StreetsConfig",
    "TrainAugment",
    "as_tensors",
    "augment_batch",
    "check_dataset",
    "cityscapes_lut",
    "dataset_info",
    "dataset_palette",
    "register_dataset",
    "generate",
    "list_datasets",
    "load_split",
    "normalize",
    "render",
    "voc_lut",
    "voc_palette",
]
