"""Writing the synthetic sets to disk, in official layouts and with their markers:
``generate`` (a whole set, atomically and idempotently) and ``render`` (one image, in
memory), both drawing image ``index`` of ``split`` from ``default_rng([seed, split, index])``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.data.labels import voc_palette
from benchmark.data.registry import DatasetError, dataset_info
from benchmark.data.synthetic.configs import GENERATOR_VERSION, ShapesConfig, StreetsConfig
from benchmark.data.synthetic.shapes import render_shapes
from benchmark.data.synthetic.streets import render_streets

__all__ = ["MARKER_FILE", "IMAGES_PER_PROCESS", "drawing_processes", "generate", "render", "synthetic_datasets"]

#: Written last into a generated folder: name, version, sizes, seed and config.
MARKER_FILE = "generator.json"

_SPLITS = ("train", "val")


@dataclass(frozen=True)
class _Generator:
    config_type: type
    render: object  # (rng, h, w, config) -> (image uint8 [H, W, 3], mask uint8 [H, W])
    write: object  # (root, split, index, image, mask, config) -> None


def _streets_path(split: str, index: int) -> tuple[str, str]:
    city = f"{split}city{index // 500:02d}"  # Cityscapes groups frames by city; no "_" in names
    stem = f"{city}_{index:06d}_000019"
    return (f"leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png", f"gtFine/{split}/{city}/{stem}_gtFine_labelIds.png")


def _write_streets(root: Path, split: str, index: int, image: np.ndarray, mask: np.ndarray, cfg) -> None:
    image_path, mask_path = (root / p for p in _streets_path(split, index))
    image_path.parent.mkdir(parents=True, exist_ok=True)
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    # Fast zlib level: noisy images barely compress further and saving dominates the time.
    Image.fromarray(image).save(image_path, compress_level=1)
    Image.fromarray(mask).save(mask_path, compress_level=6)


_VOC_PALETTE = voc_palette().tobytes()


def _shapes_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


def _write_shapes(root: Path, split: str, index: int, image: np.ndarray, mask: np.ndarray, cfg: ShapesConfig) -> None:
    voc = root / "VOCdevkit" / "VOC2012"
    stem = _shapes_id(split, index)
    Image.fromarray(image).save(voc / "JPEGImages" / f"{stem}.jpg", quality=cfg.jpeg_quality)
    palette_mask = Image.fromarray(mask)
    palette_mask.putpalette(_VOC_PALETTE)  # mode L -> P, as VOC's SegmentationClass PNGs
    palette_mask.save(voc / "SegmentationClass" / f"{stem}.png")


_GENERATORS = {
    "streets": _Generator(StreetsConfig, render_streets, _write_streets),
    "shapes": _Generator(ShapesConfig, render_shapes, _write_shapes),
}


def synthetic_datasets() -> list[str]:
    """Names of the datasets :func:`generate` can write."""
    return sorted(_GENERATORS)


def _generator(name: str) -> _Generator:
    if name not in _GENERATORS:
        raise ValueError(f"unknown synthetic dataset {name!r}; valid: {', '.join(synthetic_datasets())}")
    return _GENERATORS[name]


def _resolve(name: str, height, width, config):
    gen = _generator(dataset_info(name).generator or name)
    default_h, default_w = dataset_info(name).image_size
    height, width = height or default_h, width or default_w
    if int(height) != height or int(width) != width or height < 16 or width < 16:
        raise ValueError(f"height and width must be integers >= 16, got {height}x{width}")
    config = gen.config_type() if config is None else config
    if not isinstance(config, gen.config_type):
        raise TypeError(f"config for {name!r} must be a {gen.config_type.__name__}, got {type(config).__name__}")
    return gen, int(height), int(width), config


def render(
    name: str, index: int, *, split: str = "train", height: int | None = None, width: int | None = None,
    seed: int = 0, config: StreetsConfig | ShapesConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image as :func:`generate` would, without writing it.

    Returns (image uint8 [H, W, 3], mask uint8 [H, W]): Cityscapes labelIds for
    ``streets``, VOC class ids with 255 void for ``shapes`` (before JPEG encoding).
    """
    gen, height, width, config = _resolve(name, height, width, config)
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(_SPLITS)}")
    rng = np.random.default_rng([seed, _SPLITS.index(split), index])
    return gen.render(rng, height, width, config)


#: Images a process draws at least: a set smaller than twice this is drawn in this process
#: alone (a forked process costs about what a few dozen small images do).
IMAGES_PER_PROCESS = 250


def drawing_processes(images: int) -> int:
    """How many processes draw a set of ``images``: one per core this process may use, each
    drawing at least ``IMAGES_PER_PROCESS``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, images // IMAGES_PER_PROCESS))


def _draw(gen: _Generator, root: Path, jobs: list[tuple[int, int]], height: int, width: int, seed: int, config) -> None:
    """Draw and write the images ``jobs`` names ((split code, index) each) under ``root``."""
    for split_code, index in jobs:
        rng = np.random.default_rng([seed, split_code, index])
        image, mask = gen.render(rng, height, width, config)
        gen.write(root, _SPLITS[split_code], index, image, mask, config)


def _marker(name: str, n_train: int, n_val: int, height: int, width: int, seed: int, config) -> dict:
    return json.loads(json.dumps({
        "name": name,
        "generator_version": GENERATOR_VERSION,
        "params": {"n_train": n_train, "n_val": n_val, "height": height, "width": width, "seed": seed},
        "config": asdict(config),
    }))  # fmt: skip


def _flatten(marker: dict) -> dict:
    flat = {"name": marker.get("name"), "generator_version": marker.get("generator_version")}
    flat.update(marker.get("params", {}))
    flat.update({f"config.{k}": v for k, v in marker.get("config", {}).items()})
    return flat


def _compare(root: Path, existing: dict, wanted: dict) -> None:
    old, new = _flatten(existing), _flatten(wanted)
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {old.get(k)!r} on disk, {new.get(k)!r} requested" for k in keys if old.get(k) != new.get(k)]
    if diffs:
        raise DatasetError(
            f"{root} holds a different generated set ({'; '.join(diffs)}); delete it or generate into another folder"
        )


def _read_marker(root: Path) -> dict | None:
    path = root / MARKER_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"unreadable {path} ({err}); delete {root} and generate again") from err


def generate(
    name: str, root: str | os.PathLike, *, n_train: int, n_val: int, height: int | None = None,
    width: int | None = None, seed: int = 0, config: StreetsConfig | ShapesConfig | None = None,
) -> Path:
    """Write synthetic dataset ``name`` under ``root`` and return ``root``.

    ``streets`` follows the Cityscapes layout (``root/leftImg8bit``, ``root/gtFine``),
    ``shapes`` the VOC 2012 layout under ``root/VOCdevkit/VOC2012`` (lists ``train``,
    ``val``, ``trainval``); both are read by :func:`benchmark.data.load_split`.
    Height and width default to ``dataset_info(name).image_size``.

    Atomic: files are written into a temporary sibling folder renamed to ``root`` at
    the end. A large set is drawn by one forked process per core (``drawing_processes``).
    Idempotent: ``root/generator.json`` records name, version and every
    parameter; a second call with the same ones returns at once, a call with others
    raises :class:`DatasetError` naming the differences.
    """
    gen, height, width, config = _resolve(name, height, width, config)
    # n_train 0: a set drawn only to score on (the tuning split of a weight search).
    for label, n, least in (("n_train", n_train, 0), ("n_val", n_val, 1)):
        if int(n) != n or n < least:
            raise ValueError(f"{label} must be an integer >= {least}, got {n!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root = Path(root).expanduser()
    wanted = _marker(name, int(n_train), int(n_val), height, width, int(seed), config)
    existing = _read_marker(root)
    if existing is not None:
        _compare(root, existing, wanted)
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DatasetError(f"{root} exists and holds no {MARKER_FILE}; generate into a new or empty folder")

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        if dataset_info(name).reader == "voc":
            voc = tmp / "VOCdevkit" / "VOC2012"
            for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
                (voc / sub).mkdir(parents=True)
        counts = {"train": int(n_train), "val": int(n_val)}
        jobs = [(split_code, index) for split_code, split in enumerate(_SPLITS) for index in range(counts[split])]
        processes = drawing_processes(len(jobs))
        if processes == 1:
            _draw(gen, tmp, jobs, height, width, int(seed), config)
        else:  # each image has its own generator: the files are the same whichever process draws them
            with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
                parts = [pool.submit(_draw, gen, tmp, jobs[k::processes], height, width, int(seed), config) for k in range(processes)]
                for part in parts:
                    part.result()
        if dataset_info(name).reader == "voc":
            lists = {s: [_shapes_id(s, i) for i in range(counts[s])] for s in _SPLITS}
            lists["trainval"] = lists["train"] + lists["val"]
            for split, ids in lists.items():
                (voc / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        (tmp / MARKER_FILE).write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(tmp, root)  # replaces an empty folder; fails if another writer finished first
        except OSError:
            existing = _read_marker(root)
            if existing is None:
                raise
            _compare(root, existing, wanted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root

