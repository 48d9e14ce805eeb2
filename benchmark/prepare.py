"""Per-dataset preparation, done once and shared by every run on the dataset.

- the synthetic sets are generated (deterministically, from the settings' data seed) into the data folder;
- the distance maps of the masks a run is scored on are computed and cached;
- the edge net g_phi is fitted on training masks and saved (refused below its F1 bar);
- a real set's training and scored images and masks are decoded once, at the read
  resolution, into memory-mapped uint8 files (``benchmark.data.decoded``) that the trainer
  and the evaluation read instead of the PNGs (the synthetic sets are held in memory).

A run scored on the tuning split (``spec.split == "tune"``) never reads the reported split:
a synthetic set's tuning split is the validation split of a separate set, drawn with its
own generator seed (``TUNING_DATA_SEED``) and as many images as the validation split, so
the training split, the validation split and their data version stay what they are; a
real set's is the ``tune`` split held out of its training split, and such a run trains on
the rest (``train-tune``; see ``DatasetInfo.tuning_holdout``).

Everything lands under ``cache_dir`` keyed by what it depends on, written atomically, so
concurrent trials on one machine never see half a file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import torch
from torch.utils.data import Dataset

import methods
from benchmark import metrics
from benchmark.allocator import keep_freed_memory
from benchmark.data import as_tensors, check_dataset, dataset_info, load_split
from benchmark.data.decoded import DecodedSplit, decoded_exists, write_decoded
from benchmark.data.fingerprint import fingerprint
from benchmark.data.synthetic import GENERATOR_VERSION, generate
from benchmark.spec import UNSTATED_SETTINGS, RunSpec, Settings

__all__ = ["Prepared", "prepare", "ensure_edge_net", "data_version_of", "preparation_key", "default_data_dir", "decode_splits", "decodable", "is_real", "TUNING_DATA_SEED",
           "REAL_PREFIX"]

#: The data version of a real dataset: this prefix and the fingerprint of its files
#: (``benchmark.data.fingerprint``); a synthetic set's is its generator's version.
REAL_PREFIX = "real-"

#: Generator seed of the synthetic sets' tuning split (0 draws the benchmark sets, 1 the
#: pre-training set of the embedded Table 2).
TUNING_DATA_SEED = 2

#: Masks (and random patches of them) used to fit the edge net: its receptive field is
#: 7x7, so patches carry all it learns from, at a fraction of the cost of whole images.
FIT_MASKS = 512
FIT_PATCH = 64
#: Held-out masks scored whole when fitting patches are drawn where edges lie
#: (``Settings.edge_net_sampling == "edges"``): at most this many (32 Cityscapes masks at
#: 1024x512 are 17M pixels, about 170k of them edges).
FIT_HELD_OUT = 32


def default_data_dir() -> Path:
    """Where synthetic sets and prepared artefacts live: ``$SEMEDA_DATA`` or ``./data``."""
    return Path(os.environ.get("SEMEDA_DATA", "data")).resolve()


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Prepared:
    """Paths of a prepared dataset. Plain data: it travels to Ray workers as is."""

    dataset: str
    root: Path
    cache: Path
    data_version: str
    in_memory: bool
    #: The split trained on, and the (root, split) scored on (the root: ``root`` when None).
    train_split: str = "train"
    eval_root: Path | None = None
    eval_split: str = "val"

    @property
    def train_source(self) -> tuple[Path, str]:
        return self.root, self.train_split

    @property
    def eval_source(self) -> tuple[Path, str]:
        return self.eval_root or self.root, self.eval_split

    @property
    def edge_net_path(self) -> Path:
        return self.cache / "edge_net.pt"

    @property
    def distance_path(self) -> Path:
        return self.cache / f"{self.eval_split}_distance.pt"

    def decoded_stem(self, split: str) -> Path:
        """Where split ``split`` is decoded (``benchmark.data.decoded``; real sets only)."""
        return self.cache / f"{split}_decoded"

    def read(self, part: str, resize: tuple[int, int] | None = None) -> Dataset:
        """The split trained on (``part="train"``) or scored on (``"eval"``), items (image uint8
        [3, H, W], target int64 [H, W]) at ``resize`` (the preparation's): from its decoded
        files when preparation wrote them, else from the dataset's own files."""
        root, split = self.train_source if part == "train" else self.eval_source
        files = load_split(self.dataset, root, split, resize=resize)
        stem = self.decoded_stem(split)
        return DecodedSplit(stem, files.ids) if not self.in_memory and decoded_exists(stem) else files

    def edge_net(self, device="cpu") -> methods.EdgeNet:
        return methods.load_edge_net(self.edge_net_path, device)

    def distances(self) -> torch.Tensor | list[torch.Tensor]:
        """Cached distance maps of the masks scored on (see ``_distances``): uint8 [N, H, W]
        when every mask has one size, else a list of N uint8 [H_i, W_i]. Memory-mapped: a
        pass over the split reads each map from disk as it scores it."""
        return torch.load(self.distance_path, weights_only=True, mmap=True)


def _synthetic_root(spec: RunSpec, data_dir: Path, *, tuning: bool = False) -> Path:
    """The spec's synthetic set, generated when missing; with ``tuning``, its tuning set
    (no training images, ``n_val`` scored ones, seed ``TUNING_DATA_SEED``)."""
    s = spec.settings
    h, w = s.image_size
    n_train, seed = (0, TUNING_DATA_SEED) if tuning else (s.n_train, s.data_seed)
    suffix = f"-seed{seed}" if seed else ""
    root = data_dir / f"{spec.dataset}-{GENERATOR_VERSION}-{n_train}x{s.n_val}-{h}x{w}{suffix}"
    return generate(spec.dataset, root, n_train=n_train, n_val=s.n_val, height=h, width=w, seed=seed)


#: The settings a dataset's preparation depends on (data, distance maps, edge net): two
#: specs that agree on these (and on the dataset) share one preparation.
PREPARATION_SETTINGS = ("n_train", "n_val", "image_size", "data_seed", "resize", "trimap_widths", "edge_net_steps", "edge_net_peak",
                        "edge_net_sampling", "edge_net_balance", "edge_net_border")  # fmt: skip


def preparation_key(spec: RunSpec) -> str:
    """``<dataset>-<hash>`` of the dataset and its preparation settings (see ``PREPARATION_SETTINGS``)."""
    s = spec.settings
    payload = {"dataset": spec.dataset, **{k: getattr(s, k) for k in PREPARATION_SETTINGS}}
    defaults = {f.name: f.default for f in fields(Settings)}
    for name in UNSTATED_SETTINGS:  # left out at their field default, as in the run id: earlier keys stay
        if name in payload and payload[name] == defaults[name]:
            del payload[name]
    if spec.split != "val":
        payload["split"] = spec.split
    return f"{spec.dataset}-" + hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def is_real(data_version: str) -> bool:
    """Whether ``data_version`` is a real dataset's (read from a root, not generated)."""
    return data_version == "real" or data_version.startswith(REAL_PREFIX)


def _cache_key(spec: RunSpec, root: Path, data_version: str) -> str:
    """The preparation folder's key: the preparation settings and the data, which a real set's
    fingerprint names wherever its root lies (a synthetic set's folder is part of its key)."""
    payload = {"preparation": preparation_key(spec), "data": data_version}
    if not is_real(data_version):
        payload["root"] = str(root)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def decodable(dataset: str) -> bool:
    """True when a set's class ids and void label fit the decoded files' byte."""
    info = dataset_info(dataset)
    return info.num_classes <= 255 and 0 <= info.ignore_index <= 255


@contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path`` (created): one process of a machine at a time
    decodes a split (trials of one node that all lack it wait for the first one's)."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def decode_splits(prepared: Prepared, resize, progress: bool = False) -> None:
    """Decode the splits ``prepared`` trains and is scored on into its cache (real sets whose
    ids fit a byte; idempotent). Costs ``decoded_bytes`` on disk: 4 bytes a pixel."""
    if prepared.in_memory or not decodable(prepared.dataset):
        return
    for root, split in (prepared.train_source, prepared.eval_source):
        stem = prepared.decoded_stem(split)
        if decoded_exists(stem):
            continue
        with _locked(stem.with_name(stem.name + ".lock")):
            if not decoded_exists(stem):
                write_decoded(load_split(prepared.dataset, root, split, resize=resize), stem, progress=progress)


def _distances(prepared: Prepared, resize) -> None:
    """Distance of every pixel scored on to the nearest ground-truth edge, floored and
    capped at 255, as uint8. For an integer width w, d < w iff floor(d) < w, so the floored
    map gives the exact bands for every integer width (all the suite uses) at a quarter of
    the memory of float32. One map per mask at the mask's own size (labels are never
    resized for scoring): stacked [N, H, W] when all share a size, else a list; one byte
    per pixel on disk (1,449 VOC val masks: about 270 MB; 500 Cityscapes masks at
    1024x512: 262 MB), memory-mapped when read."""
    val = prepared.read("eval", resize)
    info = dataset_info(prepared.dataset)
    maps = [metrics.edge_distance(target[None], info.ignore_index)[0].clamp(max=255).floor().to(torch.uint8) for _, target in val]
    one_size = len({tuple(m.shape) for m in maps}) <= 1
    _atomic_save(torch.stack(maps) if one_size and maps else maps, prepared.distance_path)


def _fit_edge_net(prepared: Prepared, spec: RunSpec, progress: bool, stop=None) -> None:
    """Fit the edge net on up to ``FIT_MASKS`` training masks as the settings say, and save it.

    ``edge_net_sampling`` "uniform": one uniform patch per mask, the last fifth of the
    patches held out. "edges": the masks' last fifth (at most ``FIT_HELD_OUT``) held out
    whole, ``FIT_MASKS`` patches of the others, half centred on edges
    (``methods.edge_net_inputs``). ``edge_net_balance`` weighs the loss by class;
    ``edge_net_border`` says how the net reads past the border (``methods.EDGE_NET_BORDERS``);
    ``stop``: asked before every step (``methods.fit_edge_net``).
    """
    keep_freed_memory()
    s = spec.settings
    info = dataset_info(prepared.dataset)
    train = prepared.read("train", s.resize)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(train), generator=g)[:FIT_MASKS].tolist()
    fit = dict(steps=s.edge_net_steps, ignore_index=info.ignore_index, seed=0, progress=progress, balance=s.edge_net_balance)
    if s.edge_net_border != "zeros":  # the default's call stays the one that fitted every earlier net
        fit["border"] = s.edge_net_border
    if stop is not None:
        fit["stop"] = stop
    if s.edge_net_sampling == "uniform":
        patches = []
        for i in order:
            mask = train[i][1]
            h, w = mask.shape
            ph, pw = min(h, FIT_PATCH), min(w, FIT_PATCH)
            y = int(torch.randint(h - ph + 1, (1,), generator=g))
            x = int(torch.randint(w - pw + 1, (1,), generator=g))
            patches.append(mask[y : y + ph, x : x + pw])
        inputs = torch.stack(patches)
    else:  # label maps kept as uint8 (a quarter of a gigabyte for 512 masks at 1024x512)
        masks = [train[i][1].to(torch.uint8) for i in order]
        inputs, fit["val_masks"] = methods.edge_net_inputs(masks, patches=FIT_MASKS, size=FIT_PATCH, max_held_out=FIT_HELD_OUT,
                                                           ignore_index=info.ignore_index, generator=g)  # fmt: skip
    if s.edge_net_peak == methods.LITERAL:
        net = methods.fit_literal_edge_net(inputs, info.num_classes, **fit)
    else:
        net = methods.fit_edge_net(inputs, info.num_classes, peak=s.edge_net_peak, **fit)
    methods.save_edge_net(net, prepared.edge_net_path)


def data_version_of(spec: RunSpec, data_root: str | os.PathLike | None = None) -> str:
    """The data version of ``spec``'s dataset without preparing it: a synthetic set's
    generator version (nothing drawn), a real set's fingerprint of the files under
    ``data_root`` (required for the real sets)."""
    if dataset_info(spec.dataset).synthetic:
        return GENERATOR_VERSION
    if data_root is None:
        raise ValueError(f"dataset {spec.dataset!r} is read from disk: pass --data-root with its official layout")
    return REAL_PREFIX + fingerprint(spec.dataset, Path(data_root).resolve())


def prepare(
    spec: RunSpec,
    *,
    data_root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    edge_net: bool | None = None,
    check: bool = True,
    progress: bool = False,
    data_dir: str | os.PathLike | None = None,
    stop=None,
) -> Prepared:
    """Prepare ``spec``'s dataset (idempotent; cheap when already done).

    ``data_root`` is required for the real datasets and ignored by the synthetic ones,
    which are generated under the data folder (``data_dir``, default ``default_data_dir()``).
    ``edge_net`` forces (or skips) fitting the edge net; by default it is fitted when the
    spec's method needs it (``ensure_edge_net``; ``stop`` is its).
    """
    data_dir = Path(data_dir).resolve() if data_dir is not None else default_data_dir()
    synthetic = dataset_info(spec.dataset).synthetic
    data_version = data_version_of(spec, data_root)
    root = _synthetic_root(spec, data_dir) if synthetic else Path(data_root).resolve()
    sources = {}
    if spec.split == "tune":
        if synthetic and spec.settings.data_seed == TUNING_DATA_SEED:
            raise ValueError(f"data_seed {TUNING_DATA_SEED} draws the tuning split of the synthetic sets; give the data another seed")
        if synthetic:
            sources = {"eval_root": _synthetic_root(spec, data_dir, tuning=True)}
        else:
            sources = {"train_split": "train-tune", "eval_split": "tune"}
    cache = Path(cache_dir).resolve() if cache_dir else data_dir / "prepared"
    cache = cache / f"{spec.dataset}-{_cache_key(spec, root, data_version)}"
    cache.mkdir(parents=True, exist_ok=True)
    prepared = Prepared(spec.dataset, root, cache, data_version, in_memory=synthetic, **sources)
    if check and not (cache / "checked").exists():
        for source in (prepared.train_source, prepared.eval_source):
            check_dataset(spec.dataset, *source)
        (cache / "checked").touch()
    decode_splits(prepared, spec.settings.resize, progress)
    if not prepared.distance_path.exists():
        _distances(prepared, spec.settings.resize)
    if edge_net is None:
        edge_net = methods.method_class(spec.method).needs_edge_net
    if edge_net:
        ensure_edge_net(prepared, spec, progress=progress, stop=stop)
    return prepared


def ensure_edge_net(prepared: Prepared, spec: RunSpec, *, progress: bool = False, stop=None) -> Prepared:
    """``prepared`` with its edge net, fitted on its training masks as ``spec``'s settings say
    and saved when missing (a preparation made with ``edge_net=False``); ``stop`` (a
    callable) ends a fit early with ``methods.FitStopped`` when it returns True."""
    if not prepared.edge_net_path.exists():
        _fit_edge_net(prepared, spec, progress, stop)
    return prepared
