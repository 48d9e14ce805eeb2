"""Label maps and colours: the class names, the tables from mask values to class ids, and
the palettes of the qualitative figures."""

from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import id2label, trainId2label

from benchmark.data.registry import IGNORE_INDEX, dataset_info

__all__ = [
    "CITYSCAPES_CLASSES",
    "VOC_CLASSES",
    "cityscapes_lut",
    "dataset_palette",
    "valid_values_text",
    "voc_lut",
    "voc_palette",
]

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip

#: The 19 Cityscapes evaluation classes, indexed by train id.
CITYSCAPES_CLASSES = tuple(trainId2label[t].name for t in range(19))


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


def valid_values_text(reader: str) -> str:
    """The mask values a ``reader``'s look-up table accepts, for error messages.

    Says what a mask may hold (``"voc"``: class ids and 255; ``"cityscapes"``: labelIds),
    so that reading an item (``SegmentationDataset``) and checking every file
    (``check_dataset``) reject a bad mask with the same words.
    """
    if reader == "cityscapes":
        return "Cityscapes labelIds 0..33 of cityscapesscripts' label table"
    return f"VOC class ids 0..{len(VOC_CLASSES) - 1} or {IGNORE_INDEX}"
