"""Segmentation metrics: confusion matrices, IoU, trimap (boundary band), Boundary IoU and boundary F.

Every score is derived from int64 counts summed over a split (confusion matrices: rows =
ground truth, columns = prediction; Boundary IoU and boundary F: per class), so run records
can store the raw counts and tables can be re-aggregated without a run. Counts stay on the
device of their inputs, so a validation pass accumulates them there; the functions that
turn counts into scores accept tensors or arrays on any device and return NumPy.

Modules, each importing only those listed before it:

* ``checks``: the checks of the metrics' inputs (class count, class ids, widths);
* ``confusion``: confusion matrices, per-class IoU and mean IoU;
* ``trimap``: distance to the ground-truth edges, the trimap band's confusion matrices and
  mIoU, and its widths (``SMALL_WIDTHS``, ``PAPER_WIDTHS``);
* ``boundary``: Boundary IoU and boundary F, counts and scores, and the version of their
  definition (``BOUNDARY_DEFINITION``).
"""

from benchmark.metrics.boundary import (
    BOUNDARY_DEFINITION,
    boundary_f_counts,
    boundary_f_from_counts,
    boundary_iou_counts,
    boundary_iou_from_counts,
    void_where,
)
from benchmark.metrics.confusion import confusion_matrix, mean_iou, per_class_iou
from benchmark.metrics.trimap import PAPER_WIDTHS, SMALL_WIDTHS, edge_distance, trimap_confusion, trimap_miou

__all__ = [
    "BOUNDARY_DEFINITION",
    "PAPER_WIDTHS",
    "SMALL_WIDTHS",
    "boundary_f_counts",
    "boundary_f_from_counts",
    "boundary_iou_counts",
    "boundary_iou_from_counts",
    "confusion_matrix",
    "edge_distance",
    "mean_iou",
    "per_class_iou",
    "trimap_confusion",
    "trimap_miou",
    "void_where",
]
