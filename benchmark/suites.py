"""Suites are data: named lists of runs (method + parameters, dataset, backbone, init, seed).

Every suite can be narrowed or widened from the command line (methods, datasets,
backbones, seeds, scale); ``expand`` turns a suite and those choices into RunSpecs.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.spec import RunSpec, scale_settings

__all__ = ["Row", "Suite", "SUITES", "expand", "get_suite", "inits", "list_suites", "TABLE1_ROWS", "TABLE2_ROWS"]


@dataclass(frozen=True)
class Row:
    """One table row: a method and its parameters."""

    method: str
    lambdas: tuple[float, ...] = ()
    relu: bool = False

    def params(self) -> dict:
        p = {}
        if self.lambdas:
            p["lambdas"] = self.lambdas
        if self.relu:
            p["relu"] = True
        return p


#: The 14 rows of the paper's Table 1, in its order.
TABLE1_ROWS: tuple[Row, ...] = (
    Row("ppce"),
    Row("ubernet", (1,)),
    Row("ubernet", (0.5,)),
    Row("ubernet", (5,)),
    Row("ppce_edges", (1,)),
    Row("ppce_edges", (5,)),
    Row("semeda", (1, 0, 0), relu=True),
    Row("semeda", (0, 0.5, 0), relu=True),
    Row("semeda", (1, 0, 0)),
    Row("semeda", (0.5, 0, 0)),
    Row("semeda", (0, 1, 0)),
    Row("semeda", (0, 0, 1)),
    Row("semeda", (1, 0.5, 0.25)),
    Row("semeda", (0.25, 0.5, 1)),
)

#: Table 2 and Figure 5: PPCE, Ubernet-style (lambda 1) and SEMEDA before ReLU (0, 1, 0),
#: the two Table 1 rows that are Table 2's Cityscapes ImageNet column.
TABLE2_ROWS: tuple[Row, ...] = (Row("ppce"), Row("ubernet", (1,)), Row("semeda", (0, 1, 0)))


@dataclass(frozen=True)
class Suite:
    name: str
    rows: tuple[Row, ...]
    #: Datasets per scale family: "embedded" (smoke, small) or "paper".
    datasets: dict
    inits: dict
    seeds: int = 3
    scale: str = "small"
    description: str = ""


SUITES: dict[str, Suite] = {
    "table1": Suite(
        "table1", TABLE1_ROWS, {"embedded": ("streets",), "paper": ("cityscapes",)},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="loss ablation (paper Table 1): 14 rows on the Cityscapes-like set",
    ),
    "table2": Suite(
        "table2", TABLE2_ROWS, {"embedded": ("streets", "shapes"), "paper": ("cityscapes", "voc")},
        {"embedded": ("scratch", "synthetic-pretrained"), "paper": ("imagenet", "imagenet+coco")},
        description="mIoU per dataset and initialisation (paper Table 2)",
    ),
    "trimap": Suite(
        "trimap", TABLE2_ROWS, {"embedded": ("streets", "shapes"), "paper": ("cityscapes", "voc")},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="boundary / non-boundary mIoU against band width (paper Figure 5); shares runs with table2",
    ),
    "smoke": Suite(
        "smoke", (Row("ppce"), Row("ubernet", (1,)), Row("ppce_edges", (1,)), Row("semeda", (0, 1, 0))),
        {"embedded": ("streets",), "paper": ("cityscapes",)}, {"embedded": ("scratch",), "paper": ("imagenet",)},
        seeds=1, scale="smoke", description="a handful of tiny runs for the tests",
    ),
}  # fmt: skip


def list_suites() -> list[str]:
    return list(SUITES)


def get_suite(name: str) -> Suite:
    """The suite called ``name``; ``ValueError`` listing the valid names otherwise."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(SUITES)}")
    return SUITES[name]


def inits(suite: str, scale: str | None = None) -> tuple[str, ...]:
    """The initialisations ``suite`` uses at ``scale``."""
    s = get_suite(suite)
    return s.inits["paper" if (scale or s.scale) == "paper" else "embedded"]


def expand(
    suite: str,
    *,
    scale: str | None = None,
    seeds: int | None = None,
    methods: list[str] | None = None,
    datasets: list[str] | None = None,
    backbone: str | None = None,
    weights: dict[str, str] | None = None,
    overrides: dict | None = None,
) -> list[RunSpec]:
    """The RunSpecs of ``suite``, narrowed or widened by the other arguments.

    ``weights`` maps an initialisation name to the weights file it loads, or to a dict
    dataset -> file (paper scale: ``imagenet``, ``imagenet+coco``; embedded:
    ``synthetic-pretrained``, which ``benchmark.pretrain`` creates). Initialisations
    without a file are left out.
    """
    s = get_suite(suite)
    scale = scale or s.scale
    family = "paper" if scale == "paper" else "embedded"
    if seeds is None:
        seeds = s.seeds
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"--seeds must be a positive integer, got {seeds!r}")
    rows = s.rows
    if methods:
        rows = tuple(r for r in rows if r.method in methods)
        if not rows:
            raise ValueError(f"suite {suite!r} has no row for methods {methods}; its methods: {sorted({r.method for r in s.rows})}")
    ds = tuple(datasets) if datasets else s.datasets[family]
    default_backbone = "deeplabv2_resnet101" if scale == "paper" else "deeplabv2_small"
    weights = weights or {}
    specs = []
    for dataset in ds:
        settings = scale_settings(scale, dataset, **(overrides or {}))
        for init in s.inits[family]:
            path = weights.get(init)
            if isinstance(path, dict):
                path = path.get(dataset)
            if init != "scratch" and path is None:
                continue  # e.g. no COCO file given: that column is left out
            for row in rows:
                for seed in range(seeds):
                    specs.append(
                        RunSpec(
                            method=row.method, params=tuple(row.params().items()), dataset=dataset,
                            backbone=backbone or default_backbone, scale=scale, seed=seed, init=init,
                            weights=path, settings=settings,
                        )
                    )  # fmt: skip
    return specs
