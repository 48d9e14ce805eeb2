"""Real sets decoded once (``benchmark.data.decoded``): the same samples as the PNG and JPEG
files, read by offset; the trainer's loader with workers started once for a whole run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from realistic_data import VOC_TRAIN_SIZES, VOC_VAL_SIZES, write_cityscapes, write_voc
from torch.utils.data import TensorDataset

from benchmark.data import Augmented, TrainAugment, load_split
from benchmark.data.decoded import DecodedSplit, decoded_bytes, decoded_exists, write_decoded
from benchmark.prepare import prepare
from benchmark.spec import RunSpec
from benchmark.train import train_batches, train_set


@pytest.fixture(scope="module")
def cityscapes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cityscapes")
    write_cityscapes(root, n_train=4, n_val=2)
    return root


def _same_items(a, b) -> None:
    assert len(a) == len(b)
    for i in range(len(a)):
        (image_a, target_a), (image_b, target_b) = a[i], b[i]
        assert image_a.dtype == image_b.dtype == torch.uint8 and target_a.dtype == target_b.dtype == torch.int64
        assert torch.equal(image_a, image_b) and torch.equal(target_a, target_b)


def test_voc_images_of_many_sizes_decode_to_the_same_samples(tmp_path):
    write_voc(tmp_path / "voc")
    for split, sizes in (("train", VOC_TRAIN_SIZES), ("val", VOC_VAL_SIZES)):
        files = load_split("voc", tmp_path / "voc", split)
        stem = tmp_path / "cache" / f"{split}_decoded"
        assert not decoded_exists(stem)
        write_decoded(files, stem, threads=2)
        assert decoded_exists(stem) and not list(stem.parent.glob(".*tmp"))
        decoded = DecodedSplit(stem, files.ids)
        _same_items(decoded, files)
        # 3 image bytes and 1 mask byte a pixel, and the index: [N, 3] int64 in an .npy file.
        on_disk = sum(p.stat().st_size for p in stem.parent.glob(f"{split}_decoded.*"))
        assert on_disk == decoded_bytes(list(sizes))
        assert sum(p.stat().st_size for p in stem.parent.glob(f"{split}_decoded.*") if p.suffix != ".npy") == 4 * sum(
            h * w for h, w in sizes
        )


def test_cityscapes_decoded_at_the_read_resolution_gives_the_png_paths_training_samples(cityscapes_root, tmp_path):
    spec = RunSpec.create("ppce", scale="smoke", dataset="cityscapes", overrides={"resize": (128, 256), "crop": (64, 64),
                                                                                  "scale_range": (0.5, 1.5)})  # fmt: skip
    prepared = prepare(spec, data_root=cityscapes_root, cache_dir=tmp_path, edge_net=False)
    assert decoded_exists(prepared.decoded_stem("train")) and decoded_exists(prepared.decoded_stem("val"))
    assert isinstance(prepared.read("train", (128, 256)), DecodedSplit)
    _same_items(prepared.read("eval", (128, 256)), load_split("cityscapes", cityscapes_root, "val", resize=(128, 256)))
    drawn = train_set(spec, prepared)
    from_png = Augmented(load_split("cityscapes", cityscapes_root, "train", resize=(128, 256)), drawn.augment, seed=spec.seed)
    for key in [(0, 0), (0, 3), (1, 2), (7, 1)]:
        (image, target), (image_png, target_png) = drawn[key], from_png[key]
        assert image.shape == (3, 64, 64) and torch.equal(image, image_png) and torch.equal(target, target_png)
    # Read by two loader processes started once: the batches of the PNG path, epoch after epoch.
    batches = train_batches(drawn, 2, spec.seed, 1, workers=2)
    png = train_batches(from_png, 2, spec.seed, 1, workers=0)
    for _ in range(5):  # steps 2..6: two epochs of two batches and one more
        (images, targets), (images_png, targets_png) = next(batches), next(png)
        assert torch.equal(images, images_png) and torch.equal(targets, targets_png)
    batches.close()


def test_persistent_loader_workers_follow_the_epochs_of_the_in_process_path():
    """A step's batch is the same with workers started once and with no worker at all, on
    every side of an epoch's end (each key carries its epoch)."""
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (6, 3, 20, 30), dtype=np.uint8))
    targets = torch.from_numpy(rng.integers(0, 19, (6, 20, 30)))
    data = Augmented(TensorDataset(images, targets), TrainAugment(crop_size=(12, 12), scale_range=(0.5, 1.5)), seed=3)
    inline, workers = train_batches(data, 2, 3, 2, workers=0), train_batches(data, 2, 3, 2, workers=2)
    seen = []
    for _ in range(7):  # from step 3: the last batch of epoch 0, then epochs 1 and 2
        (a, ta), (b, tb) = next(inline), next(workers)
        assert torch.equal(a, b) and torch.equal(ta, tb)
        seen.append(ta)
    assert not torch.equal(seen[1], seen[4])  # epochs 1 and 2 draw other crops of the same order
    workers.close()
    with pytest.raises(ValueError, match="batch size 7 exceeds the 6 training images"):
        next(train_batches(data, 7, 3, 0, workers=0))


def test_labels_resized_as_bytes_equal_the_int64_resize():
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    from benchmark.data.transforms import resize_labels

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 19, (37, 53), generator=g)
    ids[ids == 3] = 255
    wide = ids * 1000  # ids past a byte take the int64 path
    for target in (ids, wide, ids[None]):
        for size in ((74, 106), (20, 31), (37, 60)):
            expected = F.resize_mask(target, list(size), interpolation=InterpolationMode.NEAREST_EXACT)
            got = resize_labels(target, size)
            assert got.dtype == torch.int64 and torch.equal(got, expected)
