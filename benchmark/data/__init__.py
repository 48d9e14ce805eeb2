"""Datasets of the benchmark: real ones read from disk, synthetic ones generated locally.

``load_split(name, root, split)`` reads any of them in its official layout;
``generate(name, root, ...)`` writes the synthetic ones; ``check_dataset`` checks every
file once; ``transforms`` holds the training augmentation and normalisation.
"""

from benchmark.data.datasets import (
    CITYSCAPES_CLASSES,
    IGNORE_INDEX,
    VOC_CLASSES,
    DatasetError,
    DatasetInfo,
    SegmentationDataset,
    as_tensors,
    check_dataset,
    dataset_info,
    dataset_palette,
    list_datasets,
    load_split,
    register_dataset,
)
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
    "dataset_info",
    "dataset_palette",
    "register_dataset",
    "generate",
    "list_datasets",
    "load_split",
    "normalize",
    "render",
]
