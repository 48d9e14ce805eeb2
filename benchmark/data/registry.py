"""The dataset registry: each dataset's ``DatasetInfo`` under its name (``register_dataset``,
``list_datasets``, ``dataset_info``), with the datasets of installed entry points.

Nothing here reads a file. The built-in datasets are registered by ``benchmark.data.builtin``,
once, when ``benchmark.data`` is imported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

__all__ = ["IGNORE_INDEX", "DatasetError", "DatasetInfo", "dataset_info", "list_datasets", "register_dataset", "unregister_dataset"]

#: The void label of every built-in dataset (the default ``DatasetInfo.ignore_index``).
IGNORE_INDEX = 255


class DatasetError(ValueError):
    """A dataset on disk is missing, incomplete or malformed (one-line message)."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the harness needs to know about a dataset, before reading any file.

    ``reader`` names the official layout (and loader) the files follow: ``"voc"`` or
    ``"cityscapes"``. ``image_size`` is the default (H, W) of a synthetic set. Everything
    the harness and the report read about a dataset is here; nothing else branches on a
    dataset's name. A new dataset is one ``register_dataset(DatasetInfo(...))``.
    """

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    ignore_index: int = IGNORE_INDEX
    layout: str = ""
    reader: str = "voc"
    synthetic: bool = False
    image_size: tuple[int, int] | None = None
    splits: tuple[str, ...] = ("train", "val")
    #: How the report names it, e.g. "streets (synthetic, Cityscapes-like)".
    title: str = ""
    #: The paper's dataset it stands for in Table 2 ("Cityscapes" or "VOC"); None: none.
    stands_for: str | None = None
    #: Colour map of the qualitative figures: "cityscapes", "voc", or None (a seaborn palette).
    palette: str | None = None
    #: (H, W) images and masks are resized to at paper scale (Cityscapes at half resolution).
    paper_resize: tuple[int, int] | None = None
    #: VOC layout: (list file stem, mask folder) per split.
    voc_splits: tuple[tuple[str, str, str], ...] = ()
    #: Synthetic sets: the name of the generator that draws them (default: the dataset's name).
    generator: str | None = None
    #: (Boundary IoU widths, boundary F tolerances) of the paper scale at the dataset's
    #: nominal size: 2% of the image diagonal rounded, 0.75% rounded up; None: the scale's.
    paper_boundary: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    #: Real sets: the images of the training split held out as the tuning split (the
    #: leaderboard's weight search is scored on them and trains on the rest): a number n (a
    #: fixed n of the training list, drawn with seed 0; a quarter of the list when it is
    #: shorter than 4n) or city names (Cityscapes: every image of those training cities).
    #: None: the set has no held-out tuning split (the synthetic sets draw a separate one).
    tuning_holdout: int | tuple[str, ...] | None = None


#: Every registered dataset by name, the built-in ones first.
_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """Register ``info`` under ``info.name`` (a second registration warns and replaces)."""
    if info.name in _DATASETS and _DATASETS[info.name] != info:
        warnings.warn(f"dataset {info.name!r} registered twice; the later definition wins", stacklevel=2)
    _DATASETS[info.name] = info
    return info


def _load_plugins() -> None:
    """The datasets of installed ``semeda_bench.datasets`` entry points, once per process (an
    entry point names a module that calls ``register_dataset``, or a ``DatasetInfo``)."""
    from methods import ENTRY_POINT_GROUPS, load_entry_points

    load_entry_points(ENTRY_POINT_GROUPS["datasets"], _accept)


def _accept(value) -> None:
    if isinstance(value, DatasetInfo) and _DATASETS.get(value.name) != value:
        register_dataset(value)


def unregister_dataset(name: str) -> None:
    """Remove the dataset ``name`` from the registry (one a test registered for a while); an
    unknown name is left alone."""
    _DATASETS.pop(name, None)


def list_datasets() -> list[str]:
    """Names of all known datasets, sorted."""
    _load_plugins()
    return sorted(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    _load_plugins()
    try:
        return _DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(list_datasets())}") from None
