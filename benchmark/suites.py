"""Suites are data: named lists of runs (method + parameters, dataset, backbone, init, seed).

Every suite can be narrowed or widened from the command line (methods, datasets,
backbones, seeds, scale); ``expand`` turns a suite and those choices into RunSpecs.

A suite of one's own is registered with ``register_suite`` from a Python file given to
``--import`` (or an installed ``semeda_bench.suites`` entry point), or written as TOML and
given to ``--import`` as well (``load_suite_file``); ``--suite`` then takes its name.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import methods as methods_registry
from benchmark import paper
from benchmark.seed_rule import SEED_STEPS
from benchmark.spec import DEFAULT_BACKBONES, RowKey, RunSpec, row_key, scale_settings

__all__ = ["Choice", "Row", "Suite", "SUITES", "expand", "get_suite", "inits", "list_suites", "load_suite_file", "register_suite",
           "suite_from_dict", "TABLE1_ROWS", "TABLE2_ROWS",
           "SENSITIVITY_CHOICES", "SENSITIVITY_ROWS", "SEMEDA_FORM_ROWS", "choice_rows", "MULTIVERSE_AXES", "Protocol", "multiverse_grid", "multiverse_protocols",
           "protocol_row", "FAST_SETTINGS", "AGREEMENT_ROWS"]  # fmt: skip


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True)
class Row:
    """One table row: a method, its parameters, and setting overrides of its own.

    ``params`` and ``overrides`` are sorted (name, value) pairs so that a row is hashable;
    build rows with ``Row.of``. The row's own overrides (a row run without gradient
    clipping, say) apply on top of the suite's and the user's ``--set``.
    """

    method: str
    params: tuple[tuple[str, object], ...] = ()
    overrides: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, method: str, overrides: dict | None = None, **params) -> "Row":
        return cls(method, tuple(sorted((k, _frozen(v)) for k, v in params.items())),
                   tuple(sorted((k, _frozen(v)) for k, v in (overrides or {}).items())))  # fmt: skip

    def params_dict(self) -> dict:
        return dict(self.params)

    def overrides_dict(self) -> dict:
        return dict(self.overrides)

    def key(self) -> RowKey:
        return row_key(self.method, self.params_dict())


#: The 14 rows of the paper's Table 1, in its order.
TABLE1_ROWS: tuple[Row, ...] = tuple(Row.of(method, **params) for _, method, params, _ in paper.TABLE1_ENTRIES)

#: Table 2 and Figure 5: PPCE, Ubernet-style (lambda 1) and SEMEDA before ReLU (0, 1, 0),
#: the two Table 1 rows that are Table 2's Cityscapes ImageNet column.
TABLE2_ROWS: tuple[Row, ...] = tuple(Row.of(method, **params) for _, method, params in paper.TABLE2_ENTRIES)


@dataclass(frozen=True)
class Choice:
    """One value of a protocol choice the paper leaves open, varied alone around the default.

    ``overrides`` are settings, ``params`` method parameters; ``applies`` says which rows
    the value means something for (e.g. SEMEDA's channel reading: SEMEDA rows only).
    """

    choice: str
    value: str
    overrides: tuple[tuple[str, object], ...] = ()
    params: tuple[tuple[str, object], ...] = ()
    applies: str = "all"  # "all" | "edge_net" (methods using the edge net) | a method name
    #: Why the value has no runs, when it cannot have any (its protocols stay in the grid
    #: and in the report, as missing); None for a value that runs.
    unrunnable: str | None = None
    #: The rows the value is measured on in the sensitivity study; () for ``SENSITIVITY_ROWS``.
    rows: tuple["Row", ...] = ()

    def applies_to(self, method: str) -> bool:
        if self.applies == "all":
            return True
        if self.applies == "edge_net":
            return methods_registry.method_class(method).needs_edge_net
        return method == self.applies

    @property
    def is_default(self) -> bool:
        return not self.overrides and not self.params


#: The sensitivity study: its methods and, per choice, the default first.
SENSITIVITY_ROWS: tuple[Row, ...] = (
    Row.of("ppce"),
    Row.of("semeda", lambdas=(1, 0, 0)),
    Row.of("semeda", lambdas=(0, 1, 0)),
    Row.of("semeda", lambdas=(1, 0.5, 0.25)),
    Row.of("ppce_edges", lambdas=(1,)),
)
#: The rows the choices of SEMEDA's distance and third layer are measured on: (0,0,1), whose
#: only term is the third layer, and (0,1,0), the paper's best row (the third layer's reading
#: cannot change it: its lambda_3 is 0).
SEMEDA_FORM_ROWS: tuple[Row, ...] = (Row.of("semeda", lambdas=(0, 0, 1)), Row.of("semeda", lambdas=(0, 1, 0)))
SENSITIVITY_CHOICES: tuple[Choice, ...] = (
    Choice("gradient clipping", "default", rows=SENSITIVITY_ROWS + SEMEDA_FORM_ROWS[:1]),
    Choice("gradient clipping", "off", overrides=(("grad_clip", None),)),
    Choice("learning rate", "paper's (5e-4, x10 head), no clipping", overrides=(("grad_clip", None), ("lr", 5e-4))),
    Choice("SEMEDA |.| of Eq. (6)", "mean over channels", params=(("channels", "mean"),), applies="semeda"),
    Choice("edge-net fitting input", "peaks drawn in [0.3, 0.99]", overrides=(("edge_net_peak", (0.3, 0.99)),), applies="edge_net"),
    Choice("SEMEDA distance of Eq. (6)", "squared L2", params=(("norm", "l2"),), applies="semeda", rows=SEMEDA_FORM_ROWS),
    Choice("SEMEDA psi^3", "the edge net's softmax output", params=(("third", "softmax"),), applies="semeda",
           rows=SEMEDA_FORM_ROWS[:1]),
)  # fmt: skip


def choice_rows(choice: Choice) -> tuple[Row, ...]:
    """The rows ``choice`` is measured on in the sensitivity study (those it applies to)."""
    return tuple(row for row in (choice.rows or SENSITIVITY_ROWS) if choice.applies_to(row.method))


def _with_choices(row: Row, choices) -> Row:
    """``row`` with every choice of ``choices`` that applies to its method (settings and parameters)."""
    overrides, params = row.overrides_dict(), row.params_dict()
    for choice in choices:
        if choice.applies_to(row.method):
            overrides.update(choice.overrides)
            params.update(choice.params)
    return Row.of(row.method, overrides, **params)


def _sensitivity_rows() -> tuple[Row, ...]:
    return tuple(dict.fromkeys(_with_choices(row, (choice,)) for choice in SENSITIVITY_CHOICES for row in choice_rows(choice)))


#: The multiverse: every choice the paper leaves open that the sensitivity study found to
#: move its verdicts, each axis with the default protocol's value first. Every combination
#: of one value per axis is a protocol; a value applies only to the methods it means
#: something for, so PPCE varies with clipping alone and PPCE on edges with clipping and
#: the edge net's input. The default protocol is the rule's (clipping at 30, the fixed-peak
#: edge net, the sum over channels) whatever the multiverse shows.
MULTIVERSE_AXES: tuple[tuple[str, tuple[Choice, ...]], ...] = (
    ("gradient clipping", (
        Choice("gradient clipping", "30 (the rule)"),
        Choice("gradient clipping", "10", overrides=(("grad_clip", 10.0),)),
        Choice("gradient clipping", "off", overrides=(("grad_clip", None),)),
    )),
    ("edge-net fitting input", (
        Choice("edge-net fitting input", "fixed peak 0.9", applies="edge_net"),
        Choice("edge-net fitting input", "peaks in [0.3, 0.99]", overrides=(("edge_net_peak", (0.3, 0.99)),), applies="edge_net"),
        # Measured on streets before any run of it: the rule finds no sigma, F1 0.779 at best
        # (sigma 0.0625) and 0.744 without noise, against the floor of 0.95.
        Choice("edge-net fitting input", "literal", overrides=(("edge_net_peak", methods_registry.LITERAL),), applies="edge_net",
               unrunnable="no sigma of the rule's grid gives an edge net that passes the F1 floor of 0.95 (held-out F1 0.78 "
                          "at best; 0.90 fitted on whole masks, 0.89 with reflect padding: docs/protocol.md)"),
    )),
    ("SEMEDA |.| of Eq. (6)", (
        Choice("SEMEDA |.| of Eq. (6)", "sum over channels", applies="semeda"),
        Choice("SEMEDA |.| of Eq. (6)", "mean over channels", params=(("channels", "mean"),), applies="semeda"),
    )),
)  # fmt: skip
#: The multiverse's methods: PPCE (the baseline of every protocol) and the edge-net losses.
MULTIVERSE_ROWS: tuple[Row, ...] = SENSITIVITY_ROWS


@dataclass(frozen=True)
class Protocol:
    """One combination of the multiverse's choices: one value per axis of ``MULTIVERSE_AXES``."""

    choices: tuple[Choice, ...]

    @property
    def is_default(self) -> bool:
        return all(c.is_default for c in self.choices)

    def values(self) -> dict[str, str]:
        """{axis: value text}, in the axes' order."""
        return {c.choice: c.value for c in self.choices}


def multiverse_protocols() -> list[Protocol]:
    """Every protocol of the multiverse, the default first (axes varied last-fastest)."""
    return [Protocol(tuple(combo)) for combo in itertools.product(*(values for _, values in MULTIVERSE_AXES))]


def protocol_row(row: Row, protocol: Protocol) -> Row:
    """``row`` run under ``protocol`` (the choices that apply to its method)."""
    return _with_choices(row, protocol.choices)


def multiverse_grid() -> tuple[Row, ...]:
    """Every (protocol, method) row of the multiverse's grid, those that cannot run included."""
    return tuple(dict.fromkeys(protocol_row(row, p) for p in multiverse_protocols() for row in MULTIVERSE_ROWS))


def _multiverse_rows() -> tuple[Row, ...]:
    """The suite's rows: the grid without the rows a value that cannot run applies to."""
    runnable = {protocol_row(row, p) for p in multiverse_protocols() for row in MULTIVERSE_ROWS
                if not any(c.unrunnable and c.applies_to(row.method) for c in p.choices)}  # fmt: skip
    return tuple(row for row in multiverse_grid() if row in runnable)


#: The fastest settings of the training step that train (``benchmark.perf.levers``: about 0.8x
#: the default step's time at the small scale), none of them bit-identical to the default.
FAST_SETTINGS: tuple[tuple[str, object], ...] = (("compile", True), ("memory_format", "channels_last"), ("precision", "bf16"))
#: The paired agreement check (``benchmark.perf.agreement``): PPCE and SEMEDA (0,1,0) before ReLU on
#: each lever of ``FAST_SETTINGS`` alone and on all of them, each beside its run at the default
#: settings with the same seed (the default rows are Table 1's, whose runs exist). Each lever alone,
#: because a lever that only reorders a sum may agree where bf16's coarser arithmetic does not.
AGREEMENT_ROWS: tuple[Row, ...] = tuple(
    Row.of(method, overrides, **params)
    for method, params in (("ppce", {}), ("semeda", {"lambdas": (0, 1, 0)}))
    for overrides in (None, *({name: value} for name, value in FAST_SETTINGS), dict(FAST_SETTINGS))
)


@dataclass(frozen=True)
class Suite:
    """A named list of rows, run on its datasets and initialisations with ``seeds`` seeds,
    e.g. ``Suite("softiou_weights", (Row.of("ppce"), Row.of("softiou", lambdas=(3,))), seeds=5)``."""

    name: str
    rows: tuple[Row, ...]
    #: Datasets per scale family: "embedded" (smoke, small) or "paper".
    datasets: dict = field(default_factory=lambda: {"embedded": ("streets",), "paper": ("cityscapes",)})
    inits: dict = field(default_factory=lambda: {"embedded": ("scratch",), "paper": ("imagenet",)})
    seeds: int = 3
    scale: str = "small"
    description: str = ""
    #: The rows' loss weights are searched first (``benchmark.leaderboard``); the rows are the
    #: methods at their default weights, which the search multiplies.
    tuned: bool = False
    #: The rows are every registered method at its default weights, taken when the suite is
    #: looked up (``get_suite``), so that a method of ``--import`` or an entry point is one.
    every_method: bool = False
    #: Seeds added where a verdict hinges (``benchmark.seed_rule``): the seed counts a row may
    #: reach, the first being ``seeds``; () for a suite whose rows all keep ``seeds``.
    seed_steps: tuple[int, ...] = ()


SUITES: dict[str, Suite] = {
    "table1": Suite(
        "table1", TABLE1_ROWS, {"embedded": ("streets",), "paper": ("cityscapes",)},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="loss ablation (paper Table 1): 14 rows on the Cityscapes-like set; seeds 3, 5, 10 where a verdict hinges",
        seed_steps=SEED_STEPS,
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
    "sensitivity": Suite(
        "sensitivity", _sensitivity_rows(), {"embedded": ("streets",), "paper": ("cityscapes",)},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="each protocol choice the paper leaves open, varied alone around the default",
    ),
    "multiverse": Suite(
        "multiverse", _multiverse_rows(), {"embedded": ("streets",), "paper": ("cityscapes",)},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="every combination of the open choices (clipping, the edge net's input, Eq. (6)'s reading), 3 seeds",
    ),
    "leaderboard": Suite(
        "leaderboard", (),
        {"embedded": ("streets", "shapes"), "paper": ("cityscapes", "voc")}, {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="every registered loss at the weight an equal search budget selected on the tuning split, then seeds",
        tuned=True, every_method=True,
    ),
    "agreement": Suite(
        "agreement", AGREEMENT_ROWS, {"embedded": ("streets",), "paper": ("cityscapes",)},
        {"embedded": ("scratch",), "paper": ("imagenet",)},
        description="PPCE and SEMEDA (0,1,0) on each fast step setting alone and on all of them, beside the default ones, 3 seeds, paired",
    ),
    "smoke": Suite(
        "smoke", (Row.of("ppce"), Row.of("ubernet", lambdas=(1,)), Row.of("ppce_edges", lambdas=(1,)), Row.of("semeda", lambdas=(0, 1, 0))),
        {"embedded": ("streets",), "paper": ("cityscapes",)}, {"embedded": ("scratch",), "paper": ("imagenet",)},
        seeds=1, scale="smoke", description="a handful of tiny runs for the tests",
    ),
}  # fmt: skip


def _load_plugins() -> None:
    methods_registry.load_entry_points(methods_registry.ENTRY_POINT_GROUPS["suites"], _accept)


def _accept(value) -> None:
    if isinstance(value, Suite) and SUITES.get(value.name) is not value:
        register_suite(value)


def register_suite(suite: Suite) -> Suite:
    """Register ``suite`` under its name (a second, different definition warns and replaces)."""
    if not isinstance(suite, Suite):
        raise ValueError(f"register_suite takes a Suite, got {type(suite).__name__}")
    if not suite.rows and not suite.every_method:
        raise ValueError(f"suite {suite.name!r} has no rows")
    if suite.name in SUITES and SUITES[suite.name] != suite:
        warnings.warn(f"suite {suite.name!r} registered twice; the later definition wins", stacklevel=2)
    SUITES[suite.name] = suite
    return suite


def list_suites() -> list[str]:
    _load_plugins()
    return list(SUITES)


def get_suite(name: str) -> Suite:
    """The suite called ``name``; ``ValueError`` listing the valid names otherwise."""
    _load_plugins()
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(SUITES)} (a suite of your own: --import its file)")
    suite = SUITES[name]
    if suite.every_method:
        suite = replace(suite, rows=tuple(Row.of(m) for m in methods_registry.list_methods()))
    return suite


#: The keys of a suite written as data (TOML, or a dict), and of each of its rows.
SUITE_KEYS = ("rows", "datasets", "inits", "seeds", "scale", "description", "tuned")
ROW_KEYS = ("method", "overrides")  # every other key of a row is a parameter of its method


def _families(name: str, key: str, value, default: dict) -> dict:
    """``["streets"]`` (the datasets at every scale) or ``{embedded = [...], paper = [...]}``."""
    if value is None:
        return default
    if isinstance(value, (list, tuple)):
        return {"embedded": tuple(value), "paper": tuple(value)}
    if isinstance(value, dict) and set(value) <= {"embedded", "paper"}:
        return {**default, **{k: tuple(v) for k, v in value.items()}}
    raise ValueError(f"suite {name!r}: {key} must be a list of names, or a table with embedded and/or paper, got {value!r}")


def suite_from_dict(name: str, data: dict) -> Suite:
    """A suite from plain data, as a TOML table holds it::

        [softiou_weights]
        description = "soft IoU at three weights beside PPCE"
        seeds = 5
        datasets = ["streets"]
        rows = [
          { method = "ppce" },
          { method = "softiou", lambdas = [0.3] },
          { method = "softiou", lambdas = [1] },
          { method = "softiou", lambdas = [3], overrides = { grad_clip = 10 } },
        ]

    A row is a method, its parameters and ``overrides`` (settings of its own); methods and
    parameters are checked when the suite is expanded. ``ValueError`` for unknown keys.
    """
    if not isinstance(data, dict):
        raise ValueError(f"suite {name!r} must be a table, got {data!r}")
    unknown = sorted(set(data) - set(SUITE_KEYS))
    if unknown:
        raise ValueError(f"suite {name!r}: unknown key {unknown[0]!r}; valid keys: {', '.join(SUITE_KEYS)}")
    rows = []
    for row in data.get("rows") or []:
        if not isinstance(row, dict) or not isinstance(row.get("method"), str):
            raise ValueError(f"suite {name!r}: each row is a table with a method name, got {row!r}")
        row = dict(row)
        method, overrides = row.pop("method"), row.pop("overrides", None)
        if overrides is not None and not isinstance(overrides, dict):
            raise ValueError(f"suite {name!r}: overrides of a row must be a table of settings, got {overrides!r}")
        rows.append(Row.of(method, overrides, **row))
    if not rows:
        raise ValueError(f"suite {name!r} has no rows; give rows = [{{ method = \"ppce\" }}, ...]")
    defaults = Suite(name, ())
    seeds = data.get("seeds", defaults.seeds)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise ValueError(f"suite {name!r}: seeds must be a positive integer, got {seeds!r}")
    return Suite(
        name, tuple(rows), datasets=_families(name, "datasets", data.get("datasets"), defaults.datasets),
        inits=_families(name, "inits", data.get("inits"), defaults.inits), seeds=seeds, scale=str(data.get("scale", defaults.scale)),
        description=str(data.get("description", "")), tuned=bool(data.get("tuned", False)),
    )  # fmt: skip


def load_suite_file(path: str) -> list[Suite]:
    """Register every suite of the TOML file ``path`` (one table per suite, named by its key);
    ``ValueError`` (``cannot import suites.toml: ...``) for a missing or malformed file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError(f"cannot import {path}: reading TOML needs Python 3.11 or the tomli package") from None
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"cannot import {path}: no such file")
    try:
        data = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot import {path}: not valid TOML ({err})") from None
    if not data:
        raise ValueError(f"cannot import {path}: it holds no suite (one table per suite, e.g. [my_suite] with rows = [...])")
    try:
        return [register_suite(suite_from_dict(name, table)) for name, table in data.items()]
    except ValueError as err:
        raise ValueError(f"cannot import {path}: {err}") from None


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
        # Every name must be a row's: a typo would otherwise drop that method without a word.
        missing = [m for m in dict.fromkeys(methods) if m not in {r.method for r in rows}]
        if missing:
            raise ValueError(f"suite {suite!r} has no row for methods {missing}; its methods: {sorted({r.method for r in s.rows})}")
        rows = tuple(r for r in rows if r.method in methods)
    ds = tuple(datasets) if datasets else s.datasets[family]
    default_backbone = DEFAULT_BACKBONES[scale]
    weights = weights or {}
    specs = []
    for dataset in ds:
        for init in s.inits[family]:
            path = weights.get(init)
            if isinstance(path, dict):
                path = path.get(dataset)
            if init != "scratch" and path is None:
                continue  # e.g. no COCO file given: that column is left out
            for row in rows:
                settings = scale_settings(scale, dataset, **{**(overrides or {}), **row.overrides_dict()})
                for seed in range(seeds):
                    specs.append(
                        RunSpec(
                            method=row.method, params=row.params, dataset=dataset,
                            backbone=backbone or default_backbone, scale=scale, seed=seed, init=init,
                            weights=path, settings=settings,
                        )
                    )  # fmt: skip
    # A choice equal to the scale's default (no clipping to turn off at a scale that does not
    # clip) gives the same run as the default row: run it once.
    return list(dict.fromkeys(specs))
