"""The numbers the SEMEDA paper prints in its Tables 1 and 2, and nothing else.

Nothing here is read off a figure (Figure 5 has no printed values). Each value is stored
in the unit the paper prints it: Table 1 in % mIoU, Table 2 as a fraction (0.729 = 72.9 %).

Rows are keyed as the benchmark's suites key them, ``(method, lambdas, relu)``, so a
record finds its paper value through its spec alone.
"""

from __future__ import annotations

__all__ = ["TABLE1", "TABLE1_GROUPS", "TABLE2", "TABLE2_DATASETS", "TABLE2_INITS", "TABLE2_METHODS", "row_key"]

RowKey = tuple[str, tuple[float, ...], bool]


def row_key(method: str, lambdas=(), relu: bool = False) -> RowKey:
    """The key of a table row: method name, lambdas as a float tuple, SEMEDA's ReLU flag."""
    return (method, tuple(float(v) for v in (lambdas or ())), bool(relu))


#: Table 1: % mIoU on Cityscapes (DeepLab v2 pre-trained on ImageNet), in the paper's order.
#: The paper prints "1 0 -" and "5 0 -" as the lambdas of PPCE on edges although its caption
#: says that method has one coefficient, lambda_1; the benchmark's rows carry that one.
TABLE1: dict[RowKey, float] = {
    row_key("ppce"): 64.1,
    row_key("ubernet", (1,)): 64.6,
    row_key("ubernet", (0.5,)): 64.3,
    row_key("ubernet", (5,)): 64.3,
    row_key("ppce_edges", (1,)): 64.1,
    row_key("ppce_edges", (5,)): 64.7,
    row_key("semeda", (1, 0, 0), True): 65.5,
    row_key("semeda", (0, 0.5, 0), True): 65.9,
    row_key("semeda", (1, 0, 0)): 66.0,
    row_key("semeda", (0.5, 0, 0)): 65.6,
    row_key("semeda", (0, 1, 0)): 66.6,
    row_key("semeda", (0, 0, 1)): 65.6,
    row_key("semeda", (1, 0.5, 0.25)): 66.5,
    row_key("semeda", (0.25, 0.5, 1)): 66.3,
}

#: Table 1's "Loss" column: the name the paper gives each method group.
TABLE1_GROUPS: dict[tuple[str, bool], str] = {
    ("ppce", False): "PPCE",
    ("ubernet", False): "Ubernet-style multi-task",
    ("ppce_edges", False): "PPCE on edges",
    ("semeda", True): "SEMEDA (after ReLU)",
    ("semeda", False): "SEMEDA (before ReLU)",
}

#: Table 2's columns and row groups, in the paper's order.
TABLE2_DATASETS: tuple[str, ...] = ("VOC", "Cityscapes")
TABLE2_INITS: tuple[str, ...] = ("ImageNet", "ImageNet+MsCoco")

#: Table 2's method rows: the paper's name for each benchmark row.
TABLE2_METHODS: dict[RowKey, str] = {
    row_key("ppce"): "deepLab v2",
    row_key("ubernet", (1,)): "deepLab v2 + Edge Ubernet-style",
    row_key("semeda", (0, 1, 0)): "deepLab v2 + SEMEDA",
}

#: Table 2: mIoU as a fraction, keyed by (dataset column, pre-training, row).
TABLE2: dict[tuple[str, str, RowKey], float] = {
    ("VOC", "ImageNet", row_key("ppce")): 0.729,
    ("VOC", "ImageNet", row_key("ubernet", (1,))): 0.729,
    ("VOC", "ImageNet", row_key("semeda", (0, 1, 0))): 0.742,
    ("Cityscapes", "ImageNet", row_key("ppce")): 0.641,
    ("Cityscapes", "ImageNet", row_key("ubernet", (1,))): 0.646,
    ("Cityscapes", "ImageNet", row_key("semeda", (0, 1, 0))): 0.666,
    ("VOC", "ImageNet+MsCoco", row_key("ppce")): 0.753,
    ("VOC", "ImageNet+MsCoco", row_key("ubernet", (1,))): 0.756,
    ("VOC", "ImageNet+MsCoco", row_key("semeda", (0, 1, 0))): 0.765,
    ("Cityscapes", "ImageNet+MsCoco", row_key("ppce")): 0.658,
    ("Cityscapes", "ImageNet+MsCoco", row_key("ubernet", (1,))): 0.664,
    ("Cityscapes", "ImageNet+MsCoco", row_key("semeda", (0, 1, 0))): 0.678,
}
