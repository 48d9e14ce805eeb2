"""The numbers the SEMEDA paper prints in its Tables 1 and 2, and nothing else.

Nothing here is read off a figure (Figure 5 has no printed values). Each value is stored
in the unit the paper prints it: Table 1 in % mIoU, Table 2 as a fraction (0.729 = 72.9 %).

Rows name methods as data (a registry name and its parameters) and are keyed by the
suite's one run identity, ``benchmark.spec.row_key``, so a record finds its paper value
through its spec alone.
"""

from __future__ import annotations

from benchmark.spec import RowKey, row_key

__all__ = ["TABLE1", "TABLE1_ENTRIES", "TABLE1_GROUPS", "TABLE2", "TABLE2_DATASETS", "TABLE2_ENTRIES", "TABLE2_INITS",
           "TABLE2_METHODS"]  # fmt: skip

#: Table 1, in the paper's order: (the paper's "Loss" group, method, parameters, % mIoU on
#: Cityscapes with DeepLab v2 pre-trained on ImageNet). The paper prints "1 0 -" and "5 0 -"
#: as the lambdas of PPCE on edges although its caption says that method has one
#: coefficient, lambda_1; the benchmark's rows carry that one.
TABLE1_ENTRIES: tuple[tuple[str, str, dict, float], ...] = (
    ("PPCE", "ppce", {}, 64.1),
    ("Ubernet-style multi-task", "ubernet", {"lambdas": (1,)}, 64.6),
    ("Ubernet-style multi-task", "ubernet", {"lambdas": (0.5,)}, 64.3),
    ("Ubernet-style multi-task", "ubernet", {"lambdas": (5,)}, 64.3),
    ("PPCE on edges", "ppce_edges", {"lambdas": (1,)}, 64.1),
    ("PPCE on edges", "ppce_edges", {"lambdas": (5,)}, 64.7),
    ("SEMEDA (after ReLU)", "semeda", {"lambdas": (1, 0, 0), "relu": True}, 65.5),
    ("SEMEDA (after ReLU)", "semeda", {"lambdas": (0, 0.5, 0), "relu": True}, 65.9),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (1, 0, 0)}, 66.0),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (0.5, 0, 0)}, 65.6),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (0, 1, 0)}, 66.6),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (0, 0, 1)}, 65.6),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (1, 0.5, 0.25)}, 66.5),
    ("SEMEDA (before ReLU)", "semeda", {"lambdas": (0.25, 0.5, 1)}, 66.3),
)  # fmt: skip

TABLE1: dict[RowKey, float] = {row_key(m, p): v for _, m, p, v in TABLE1_ENTRIES}
#: Table 1's "Loss" column: the name the paper gives each row's method group.
TABLE1_GROUPS: dict[RowKey, str] = {row_key(m, p): g for g, m, p, _ in TABLE1_ENTRIES}

#: Table 2's columns and row groups, in the paper's order.
TABLE2_DATASETS: tuple[str, ...] = ("VOC", "Cityscapes")
TABLE2_INITS: tuple[str, ...] = ("ImageNet", "ImageNet+MsCoco")

#: Table 2's method rows: the paper's name, method and parameters, in its order.
TABLE2_ENTRIES: tuple[tuple[str, str, dict], ...] = (
    ("deepLab v2", "ppce", {}),
    ("deepLab v2 + Edge Ubernet-style", "ubernet", {"lambdas": (1,)}),
    ("deepLab v2 + SEMEDA", "semeda", {"lambdas": (0, 1, 0)}),
)
TABLE2_METHODS: dict[RowKey, str] = {row_key(m, p): name for name, m, p in TABLE2_ENTRIES}

_PPCE, _UBERNET, _SEMEDA = (row_key(m, p) for _, m, p in TABLE2_ENTRIES)

#: Table 2: mIoU as a fraction, keyed by (dataset column, pre-training, row).
TABLE2: dict[tuple[str, str, RowKey], float] = {
    ("VOC", "ImageNet", _PPCE): 0.729,
    ("VOC", "ImageNet", _UBERNET): 0.729,
    ("VOC", "ImageNet", _SEMEDA): 0.742,
    ("Cityscapes", "ImageNet", _PPCE): 0.641,
    ("Cityscapes", "ImageNet", _UBERNET): 0.646,
    ("Cityscapes", "ImageNet", _SEMEDA): 0.666,
    ("VOC", "ImageNet+MsCoco", _PPCE): 0.753,
    ("VOC", "ImageNet+MsCoco", _UBERNET): 0.756,
    ("VOC", "ImageNet+MsCoco", _SEMEDA): 0.765,
    ("Cityscapes", "ImageNet+MsCoco", _PPCE): 0.658,
    ("Cityscapes", "ImageNet+MsCoco", _UBERNET): 0.664,
    ("Cityscapes", "ImageNet+MsCoco", _SEMEDA): 0.678,
}
