"""RunSpec: everything that defines one run, frozen; its hash is the run id.

A spec is plain data (a frozen dataclass of JSON-able values) so that Ray Tune, the CLI and
the tests build and pass it the same way, and a record can re-create it exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from functools import lru_cache
from dataclasses import asdict, dataclass, field, fields, replace

import methods
from benchmark import arithmetic
from benchmark.data import dataset_info
from benchmark.models import check_backbone

__all__ = ["MAX_SEED", "RunSpec", "RowKey", "Settings", "SCALES", "scale_settings", "row_key", "row_label", "VERSION"]

#: Version of the harness. Bump it when a change alters the numbers a spec produces; it
#: enters every run id, so old records are not mistaken for new ones.
VERSION = "0.3.0"



@dataclass(frozen=True)
class Settings:
    """Training and evaluation settings; the scale gives defaults, any field can be overridden.

    Values the paper does not give take DeepLab v2's published defaults (momentum 0.9,
    weight decay 5e-4, poly power 0.9, 20k iterations).
    """

    steps: int
    batch_size: int
    lr: float
    head_lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    #: Random crop (H, W), padded with the ignore label; None keeps the whole image.
    crop: tuple[int, int] | None = None
    #: Random scaling range before cropping; (1, 1) disables it.
    scale_range: tuple[float, float] = (1.0, 1.0)
    mirror: bool = True
    frozen_bn: bool = False
    #: Channel width of ``deeplabv2_small`` (ignored by other backbones).
    width: int | None = None
    #: Synthetic sets: images per split and their size (H, W).
    n_train: int = 0
    n_val: int = 0
    image_size: tuple[int, int] = (64, 128)
    #: Seed of the synthetic generator: 0 for the benchmark sets; the pre-training set of
    #: the embedded Table 2 (the analogue of COCO) is a separate set drawn with another seed.
    data_seed: int = 0
    #: Real sets: (H, W) to which images are resized (Cityscapes at half resolution).
    resize: tuple[int, int] | None = None
    trimap_widths: tuple[float, ...] = (1, 2, 3, 5, 8)
    #: Boundary IoU band widths d and boundary F tolerances t (pixels); tables show the
    #: last of each. At paper scale they follow the image size, so the dataset's
    #: ``DatasetInfo.paper_boundary`` gives them (2% of the diagonal, 0.75% rounded up).
    boundary_widths: tuple[float, ...] = (1, 3)
    boundary_tolerances: tuple[float, ...] = (1, 2)
    edge_net_steps: int = 1000
    eval_batch_size: int = 16
    #: How many validation images keep their prediction in the record (qualitative figures).
    stored_predictions: int = 4
    log_every: int = 10
    #: Largest global L2 norm of the gradient over all trainable parameters; the whole
    #: gradient is rescaled to it when larger. None: no clipping (the paper says nothing).
    grad_clip: float | None = None
    #: Arithmetic of the training step, the same on every device (``benchmark.arithmetic``):
    #: "fp32" (TF32 off on CUDA), "tf32" (CUDA), "bf16" (the forward under autocast, CPU or
    #: CUDA), "fp16" (autocast with loss scaling, CUDA). Evaluation runs in fp32 (TF32 under tf32).
    precision: str = "fp32"
    #: The edge net's fitting input: softmax(alpha * onehot + sigma * noise) with alpha set
    #: so that the true class gets this peak probability on average; a single number is
    #: a fixed peak, a (low, high) pair draws one peak per mask uniformly in that range, and
    #: "literal" is the paper's words taken literally (alpha 1, sigma by the rule of
    #: ``methods.fit_literal_edge_net``).
    edge_net_peak: float | tuple[float, float] | str = methods.DEFAULT_PEAK
    #: What the edge net is fitted on. "uniform": one uniformly placed 64x64 patch of each
    #: training mask (at most 512), the last fifth of the patches held out. "edges": the
    #: last fifth of the masks held out whole (at most 32), 512 patches drawn from the
    #: others, half of them centred on an edge pixel (``methods.edge_net_inputs``). Where
    #: edges are about 1% of the pixels and the masks few (Cityscapes at 1024x512),
    #: "uniform" gives the fit too few edge pixels and it learns "no edge".
    edge_net_sampling: str = "uniform"
    #: Weigh the edge net's loss by class (HED: an edge pixel by the share of non-edge
    #: pixels; ``methods.balanced_edge_cross_entropy``) rather than the plain mean.
    edge_net_balance: bool = False
    #: How the edge net reads past the image border (``methods.EDGE_NET_BORDERS``): "zeros"
    #: (zero padding, the fixed-peak and drawn-peak nets'), "reflect" (mirrored pixels: the
    #: border looks like more of the image, in fitting and in training alike) or "uncounted"
    #: (zero padding; the fit leaves the loss within 3 px of its inputs' border out).
    edge_net_border: str = "zeros"
    #: Speed lever: the memory layout of the network's weights and of its input batches, in
    #: training and evaluation: "contiguous" (NCHW, PyTorch's default) or "channels_last"
    #: (NHWC, ``torch.channels_last``). Not bit-identical to the default (oneDNN sums a
    #: convolution in another order); ``benchmark.step.apply_levers``.
    memory_format: str = "contiguous"
    #: Speed lever: ``torch.compile`` (inductor) of the method's loss terms in the training
    #: step; the network stays eager. The compilation is part of the run's wall time. Not
    #: bit-identical to eager (fused kernels sum in another order); ``benchmark.step.apply_levers``.
    compile: bool = False


SCALES: dict[str, Settings] = {
    "smoke": Settings(
        steps=12, batch_size=4, lr=0.02, width=8, n_train=24, n_val=8, image_size=(32, 64),
        trimap_widths=(1, 2, 3), edge_net_steps=300, eval_batch_size=8, stored_predictions=2, log_every=2,
        boundary_widths=(1, 2), boundary_tolerances=(1, 2),
    ),
    "small": Settings(
        steps=2000, batch_size=4, lr=0.005, width=32, n_train=2000, n_val=500, image_size=(64, 128),
        scale_range=(0.75, 1.25), trimap_widths=(1, 2, 3, 5, 8), edge_net_steps=1000,
        # The rule, fixed on PPCE alone before any other method ran with it: the largest
        # global gradient norm PPCE shows over its first 100 steps (streets, seed 0, no
        # clipping: 23.1), rounded up to one significant figure.
        grad_clip=30.0,
        boundary_widths=(1, 3), boundary_tolerances=(1, 2),
    ),
    "paper": Settings(
        steps=20000, batch_size=6, lr=5e-4, crop=(321, 321), scale_range=(0.5, 1.5), frozen_bn=True,
        trimap_widths=(1, 2, 3, 5, 10, 20, 40), edge_net_steps=3000, eval_batch_size=4, log_every=50,
        boundary_widths=(1, 23), boundary_tolerances=(1, 9),  # Cityscapes at 1024x512
        # Edges are about 1% of the pixels at 1024x512: patches centred on edges, balanced loss.
        edge_net_sampling="edges", edge_net_balance=True,
    ),
}


#: The network of each scale when none is named.
DEFAULT_BACKBONES: dict[str, str] = {"smoke": "deeplabv2_small", "small": "deeplabv2_small", "paper": "deeplabv2_resnet101"}


def scale_settings(scale: str, dataset: str | None = None, **overrides) -> Settings:
    """The settings of ``scale`` with ``overrides`` applied (unknown names raise ``ValueError``)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    base = SCALES[scale]
    if scale == "paper" and dataset is not None and dataset_info(dataset).paper_resize:
        base = replace(base, resize=dataset_info(dataset).paper_resize)
    if scale == "paper" and dataset is not None and dataset_info(dataset).paper_boundary is not None:
        widths, tolerances = dataset_info(dataset).paper_boundary
        base = replace(base, boundary_widths=widths, boundary_tolerances=tolerances)
    valid = {f.name for f in fields(Settings)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; valid settings: {', '.join(sorted(valid))}")
    return replace(base, **check_setting_values(overrides))


def check_setting_values(overrides: dict) -> dict:
    """``overrides`` checked against the types of the ``Settings`` fields, lists as tuples.

    int, float (an int is accepted, and kept, so that ``lr=1`` and the scale's own ints keep
    their run ids), bool, str, None, ``tuple[T, T]`` and ``tuple[T, ...]`` (a single number
    is a 1-tuple), and unions of these. A value of another type raises ``ValueError``, e.g.
    ``setting steps must be an integer, got 'abc'``, before any run is built.
    """
    import types
    import typing

    hints = typing.get_type_hints(Settings)
    words = {int: ("an integer", "integers"), float: ("a number", "numbers"), bool: ("true or false",) * 2, str: ("a string", "strings")}
    pairs = {int: "64,64", float: "0.75,1.25"}

    def conform(value, tp):
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            for arg in args:
                try:
                    return conform(value, arg)
                except TypeError:
                    pass
            raise TypeError
        if tp is type(None):
            if value is None:
                return None
            raise TypeError
        if origin is tuple:
            variable = len(args) == 2 and args[1] is Ellipsis
            if variable and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (value,)
            if not isinstance(value, (list, tuple)) or (not variable and len(value) != len(args)):
                raise TypeError
            return tuple(conform(v, t) for v, t in zip(value, [args[0]] * len(value) if variable else args))
        ok = {int: lambda v: isinstance(v, int) and not isinstance(v, bool),
              float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              bool: lambda v: isinstance(v, bool), str: lambda v: isinstance(v, str)}.get(tp)  # fmt: skip
        if ok is not None and not ok(value):
            raise TypeError
        return value

    def text(tp) -> str:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            return " or ".join(text(arg) for arg in args)
        if tp is type(None):
            return "none"
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return f"{words.get(args[0], ('', 'values'))[1]} separated by commas"
            example = f" (e.g. {pairs[args[0]]})" if len(args) == 2 and args[0] in pairs else ""
            return f"{len(args)} {words.get(args[0], ('', 'values'))[1]}{example}"
        return words.get(tp, (getattr(tp, "__name__", str(tp)),))[0]

    checked = {}
    for key, value in overrides.items():
        try:
            checked[key] = conform(value, hints[key])
        except TypeError:
            raise ValueError(f"setting {key} must be {text(hints[key])}, got {value!r}") from None
        rule = _VALUE_RULES.get(key)
        if rule is not None and not rule[0](checked[key]):
            raise ValueError(f"setting {key} must be {rule[1]}, got {value!r}")
    return checked


#: The largest seed a run takes. The data order seeds torch's 64-bit generator with
#: ``seed * 1_000_003 + epoch`` (``train.epoch_batches``), which overflows beyond about
#: 2**44; 2**32 - 1 (a 32-bit unsigned seed, as most tools take) keeps far below that.
MAX_SEED = 2**32 - 1
#: Arithmetic of a run (``Settings.precision``; what each means: ``benchmark.arithmetic``).
PRECISIONS = arithmetic.PRECISIONS
#: What the edge net is fitted on (``Settings.edge_net_sampling``).
EDGE_NET_SAMPLINGS = ("uniform", "edges")
#: Memory layouts of the network and its batches (``Settings.memory_format``), the default first.
MEMORY_FORMATS = ("contiguous", "channels_last")


def _positive(v) -> bool:
    return math.isfinite(v) and v > 0


def _at_least_zero(v) -> bool:
    return math.isfinite(v) and v >= 0


def _sizes(v) -> bool:
    """None, or a (height, width) of positive sizes."""
    return v is None or all(x >= 1 for x in v)


def _peak(v) -> bool:
    if isinstance(v, str):
        return v == methods.LITERAL
    low, high = (v, v) if isinstance(v, (int, float)) else v
    return 0 < low <= high < 1


#: Values a setting's type admits but a run cannot use: (test, what is expected). Each is
#: refused where the settings are made (``scale_settings``), before any data is prepared:
#: a zero crop, ``log_every=0`` or an infinite learning rate would otherwise fail, or
#: record nonsense, only once a run has started.
_VALUE_RULES = {
    "grad_clip": (lambda v: v is None or _positive(v), "a number > 0, or none for no clipping"),
    "precision": (lambda v: v in PRECISIONS, " or ".join(PRECISIONS)),
    "steps": (lambda v: v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "lr": (_positive, "a finite number > 0"),
    "head_lr_mult": (_positive, "a finite number > 0"),
    "momentum": (_at_least_zero, "a finite number >= 0"),
    "weight_decay": (_at_least_zero, "a finite number >= 0"),
    "poly_power": (_at_least_zero, "a finite number >= 0"),
    "crop": (_sizes, "2 integers >= 1 (e.g. 64,64), or none for the whole image"),
    "scale_range": (lambda v: all(map(_positive, v)) and v[0] <= v[1], "a range low,high of finite numbers with 0 < low <= high"),
    "width": (lambda v: v is None or v >= 1, "an integer >= 1, or none"),
    "n_train": (lambda v: v >= 0, "an integer >= 0"),
    "n_val": (lambda v: v >= 0, "an integer >= 0"),
    "image_size": (_sizes, "2 integers >= 1 (e.g. 64,128)"),
    "data_seed": (lambda v: v >= 0, "an integer >= 0"),
    "resize": (_sizes, "2 integers >= 1 (e.g. 512,1024), or none"),
    "trimap_widths": (lambda v: len(v) > 0 and all(map(_positive, v)), "finite numbers > 0 separated by commas"),
    "boundary_widths": (lambda v: len(v) > 0 and all(map(_positive, v)), "finite numbers > 0 separated by commas"),
    "boundary_tolerances": (lambda v: len(v) > 0 and all(map(_positive, v)), "finite numbers > 0 separated by commas"),
    "edge_net_steps": (lambda v: v >= 1, "an integer >= 1"),
    "eval_batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "stored_predictions": (lambda v: v >= 0, "an integer >= 0"),
    "log_every": (lambda v: v >= 1, "an integer >= 1 (the loss curve keeps one point per log_every steps)"),
    "edge_net_peak": (_peak, f"a number in (0, 1), a range low,high or {methods.LITERAL}"),
    "edge_net_sampling": (lambda v: v in EDGE_NET_SAMPLINGS, " or ".join(EDGE_NET_SAMPLINGS)),
    "edge_net_border": (lambda v: v in methods.EDGE_NET_BORDERS, " or ".join(methods.EDGE_NET_BORDERS)),
    "memory_format": (lambda v: v in MEMORY_FORMATS, " or ".join(MEMORY_FORMATS)),
}



@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 (16 hex digits) of a file's content, cached per (path, size, mtime)."""
    try:
        st = os.stat(path)
    except OSError:
        raise FileNotFoundError(f"weights file not found: {path}") from None
    return _digest(os.fspath(path), st.st_size, st.st_mtime_ns)


def _canonical(value):
    """Tuples for lists (hashable, JSON round-trip safe) and plain floats for numbers."""
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    return value


def _origin_items(origin: dict | None) -> tuple[tuple[str, object], ...] | None:
    """A method's origin as sorted (key, value) pairs (hashable, as a frozen spec needs)."""
    if origin is None:
        return None
    return tuple(sorted((k, _canonical(v)) for k, v in dict(origin).items()))


#: The identity of a table row: a method's name and *all* its parameters, canonical (as the
#: registry completes and normalises them) and written as sorted JSON. Row settings (a row
#: run without clipping, say) are not in it: they enter a table cell's context, beside the
#: user's own overrides, as every setting that differs from the scale's default does.
RowKey = tuple[str, str]


@lru_cache(maxsize=4096)
def _canonical_params_text(method: str, params_text: str) -> str:
    try:
        built = methods.build_method(method, **json.loads(params_text))
    except ValueError:  # a method or parameter this version no longer knows: keep it as stored
        return params_text
    return json.dumps(json.loads(json.dumps(built.params)), sort_keys=True)


def row_key(method: str, params: dict | None = None) -> RowKey:
    """The row key of ``method`` with ``params`` (defaults filled in by the registry), e.g.
    ``row_key("semeda", {"lambdas": [0, 1, 0]})``; equal for every spelling of one run."""
    text = json.dumps(json.loads(json.dumps(dict(params or {}), default=list)), sort_keys=True)
    return (method, _canonical_params_text(method, text))


def row_label(key: RowKey) -> str:
    """Human label of a row, as its method class writes it (``semeda(0,1,0) before ReLU``)."""
    method, params_text = key
    params = json.loads(params_text)
    try:
        return methods.method_class(method).describe(params)
    except ValueError:
        return f"{method} {params_text}" if params else method


#: The splits a run can be scored on: the reported one, and the tuning split of a weight search.
SPLITS = ("val", "tune")
#: Spec fields left out of the record's spec (and so of the run id) at these values.
_UNSTATED = (("split", "val"), ("stop_at", None), ("origin", None))
#: The keys of a method's origin that enter the run id: its code, not where it lies on disk
#: (the same file in another folder, or on another machine, is the same run).
ORIGIN_IDENTITY = ("sha256", "distribution", "version")
#: Settings added after records began: left out of a spec's settings (and so of its run id)
#: while they hold their field default, which must be the behaviour before they existed, so
#: every earlier run keeps its id. A new setting adds its name here.
UNSTATED_SETTINGS: tuple[str, ...] = ("edge_net_sampling", "edge_net_balance", "memory_format", "compile", "edge_net_border")


@dataclass(frozen=True)
class RunSpec:
    """One run: a method with its parameters, on a dataset and backbone, at a scale, with a seed.

    ``init`` names the initialisation: ``scratch`` (random), or a pre-training whose
    weights come from the file ``weights`` (``imagenet``, ``imagenet+coco`` at paper scale;
    ``synthetic-pretrained`` at the embedded scale).

    ``split`` is the split the run is scored on: ``val`` (the reported split) or ``tune``
    (the tuning split of a weight search, never the reported one; see ``benchmark.prepare``).
    ``stop_at`` ends the run at that step of its schedule (the learning-rate schedule still
    spans ``settings.steps``), as a weight search does with the trials it cuts; None runs
    the whole schedule. Both enter the run id only when they differ from these defaults, so
    the ids of whole runs on the reported split are those of the versions before them.

    ``origin`` is where the code of a method from outside the package came from
    (``methods.method_origin``: module, file, content hash, distribution and version),
    filled in from the registry when not given; None for the package's own methods, so
    their specs and run ids are those they always had. A spec rebuilt from a record keeps
    the record's origin (the code that made it), which ``check_code`` compares with the
    code registered in this process.
    """

    method: str = "ppce"
    params: tuple[tuple[str, object], ...] = ()
    dataset: str = "streets"
    backbone: str = "deeplabv2_small"
    scale: str = "small"
    seed: int = 0
    init: str = "scratch"
    weights: str | None = None
    settings: Settings = field(default=None)  # resolved from scale in __post_init__
    split: str = "val"
    stop_at: int | None = None
    origin: tuple[tuple[str, object], ...] | None = None

    def __post_init__(self):
        # Validate and canonicalise the method parameters through the registry itself, so a
        # spec can never hold parameters its method would reject.
        built = methods.build_method(self.method, **dict(self.params))
        object.__setattr__(self, "params", tuple(sorted((k, _canonical(v)) for k, v in built.params.items())))
        if self.origin is None:
            object.__setattr__(self, "origin", _origin_items(methods.method_origin(self.method)))
        elif isinstance(self.origin, dict):
            object.__setattr__(self, "origin", _origin_items(self.origin))
        if self.settings is None:
            object.__setattr__(self, "settings", scale_settings(self.scale, self.dataset))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer from 0 to {MAX_SEED}, got {self.seed!r}")
        dataset_info(self.dataset)  # unknown names raise, listing the valid ones
        check_backbone(self.backbone)
        if self.init != "scratch" and not self.weights:
            raise ValueError(f"initialisation {self.init!r} needs a weights file (--weights)")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.stop_at is not None:
            if not isinstance(self.stop_at, int) or not 1 <= self.stop_at <= self.settings.steps:
                raise ValueError(f"stop_at must be a step in 1..{self.settings.steps}, got {self.stop_at!r}")
            if self.stop_at == self.settings.steps:
                object.__setattr__(self, "stop_at", None)  # the whole schedule: one spelling, one run id

    @classmethod
    def create(cls, method="ppce", *, params=None, scale="small", dataset="streets", overrides=None, **kwargs) -> "RunSpec":
        """Build a spec from a method name, its parameters and setting overrides."""
        settings = scale_settings(scale, dataset, **(overrides or {}))
        return cls(method=method, params=tuple((params or {}).items()), scale=scale, dataset=dataset, settings=settings, **kwargs)

    def method_params(self) -> dict:
        return dict(self.params)

    def to_dict(self) -> dict:
        """JSON-able form (the record's ``spec``)."""
        d = asdict(self)
        d["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}
        if self.origin is not None:
            d["origin"] = dict(self.origin)
        for name, default in _UNSTATED:
            if d[name] == default:
                del d[name]  # a whole run on the reported split keeps the spec (and run id) it always had
        defaults = {f.name: f.default for f in fields(Settings)}
        for name in UNSTATED_SETTINGS:
            if d["settings"][name] == defaults[name]:
                del d["settings"][name]
        return json.loads(json.dumps(d))

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        d = dict(d)
        settings = {k: _canonical(v) for k, v in d.pop("settings").items()}
        origin = d.pop("origin", None)
        return cls(params=tuple(d.pop("params").items()), settings=Settings(**settings), origin=_origin_items(origin), **d)

    def run_id(self, data_version: str = "") -> str:
        """``<method>-<dataset>-s<seed>-<hash>``: the hash covers the whole spec, the harness
        version and ``data_version`` (the synthetic generator's), everything that changes numbers.
        A weights file enters by its content, not its path, so the same run on another machine
        keeps its id. A method from outside the package enters by its code (``ORIGIN_IDENTITY``),
        so a changed loss never reuses a record of its earlier code; the package's own
        methods add nothing (their code is the harness version's)."""
        spec = self.to_dict()
        if self.weights:
            spec["weights"] = file_digest(self.weights)
        if "origin" in spec:
            spec["origin"] = {k: spec["origin"][k] for k in ORIGIN_IDENTITY if spec["origin"].get(k) is not None}
        payload = json.dumps({"spec": spec, "version": VERSION, "data": data_version}, sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
        return f"{self.method}-{self.dataset}-s{self.seed}-{digest}"

    def check_code(self) -> None:
        """``ValueError`` when the method's code registered in this process is not the code
        the spec names (a Ray worker whose node holds another version of the loss than the
        driver): its numbers would be filed under the other code's run id."""
        here = _origin_items(methods.method_origin(self.method))
        if dict(here or ()).get("sha256") != dict(self.origin or ()).get("sha256"):
            where = dict(here or ()).get("file") or "the package"
            raise ValueError(f"method {self.method!r}: the code here ({where}, sha256 {dict(here or ()).get('sha256')}) is not the code "
                             f"the run was made with (sha256 {dict(self.origin or ()).get('sha256')}); ship the same file to every node")

    def check_trainable(self) -> None:
        """``ValueError`` (one line) for a spec that is valid but cannot train: frozen batch
        norm (the paper scale's) without pre-trained weights, where there is nothing to freeze
        (a randomly initialised ResNet-101 with its initial statistics frozen diverges at its
        second step). Checked before any preparation by the command line and by ``train``."""
        if self.settings.frozen_bn and not self.weights:
            raise ValueError("frozen batch norm (frozen_bn, the paper scale's) has nothing to freeze in a network without pre-trained "
                             "weights: give them (--weights-imagenet FILE for a suite, --weights FILE for one run; "
                             "docs/datasets.md#real-data-paper-scale), or train batch norm with --set frozen_bn=false")

    @property
    def last_step(self) -> int:
        """The step the run ends at: ``stop_at``, or the end of the schedule."""
        return self.stop_at or self.settings.steps

    def schedule_id(self, data_version: str = "") -> str:
        """The run id of the whole schedule this run is part of (its own id when it is not
        stopped early): a training state of one stopped run resumes every later stop of it."""
        return replace(self, stop_at=None).run_id(data_version)

    def row_key(self) -> RowKey:
        """The key of this run's table row (method and all its parameters; see ``row_key``)."""
        return row_key(self.method, self.method_params())

    def label(self) -> str:
        """Short human label, e.g. ``semeda(0,1,0) before ReLU``."""
        return row_label(self.row_key())
