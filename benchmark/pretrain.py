"""The embedded analogue of COCO pre-training for Table 2.

The paper fine-tunes DeepLab v2 from ImageNet weights and from ImageNet+COCO weights. No
weights can be fetched at the embedded scale, so its two initialisations are: from
scratch, and from a PPCE model pre-trained on a larger, separate synthetic set of the same
kind (same classes, generator seed 1, twice the images and steps). It is an analogue of
more pre-training data, not a reproduction of COCO.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.prepare import prepare
from benchmark.records import write_record
from benchmark.spec import RunSpec, scale_settings

__all__ = ["pretrain_spec", "ensure_pretrained"]

#: Seed of the separate pre-training set (the benchmark sets use 0).
PRETRAIN_DATA_SEED = 1


def pretrain_spec(dataset: str, scale: str, backbone: str | None = None) -> RunSpec:
    base = scale_settings(scale, dataset)
    overrides = {"data_seed": PRETRAIN_DATA_SEED, "n_train": 2 * base.n_train, "steps": 2 * base.steps}
    kwargs = {"backbone": backbone} if backbone else {}
    return RunSpec.create("ppce", scale=scale, dataset=dataset, overrides=overrides, **kwargs)


def ensure_pretrained(dataset: str, scale: str, out: str | os.PathLike, *, backbone: str | None = None, progress: bool = True) -> Path:
    """Weights of the pre-training run for ``dataset`` (trained here once, then reused).

    The weights and the pre-training run's record land in ``out/pretrained/``.
    """
    from benchmark.train import train

    spec = pretrain_spec(dataset, scale, backbone)
    prepared = prepare(spec, edge_net=False, progress=progress)
    folder = Path(out).resolve() / "pretrained"
    path = folder / f"{spec.run_id(prepared.data_version)}.pt"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f"pre-training {dataset} on a separate synthetic set ({spec.settings.n_train} images, {spec.settings.steps} steps)")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    record = train(spec, prepared=prepared, progress=progress, save_weights=tmp)
    if record["status"] != "ok":
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"pre-training on {dataset} failed: {record.get('reason')}")
    record["weights_file"] = str(path)
    os.replace(tmp, path)
    write_record(folder, record)
    return path
