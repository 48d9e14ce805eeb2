"""Datasets: synthetic generation, official layouts, checking, and the augmentation.

Expected values are written by hand: label tables from cityscapesscripts' documentation
(labelId -> trainId), the VOC colour map, and tiny arrays worked through on paper.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import Cityscapes, VOCSegmentation

from benchmark.data import (
    DatasetError,
    DatasetInfo,
    ShapesConfig,
    StreetsConfig,
    as_tensors,
    check_dataset,
    dataset_info,
    generate,
    list_datasets,
    load_split,
    render,
    voc_palette,
)
from benchmark.data.transforms import (
    MEAN_PIXEL,
    Augmented,
    TrainAugment,
    augment_batch,
    normalize,
    pad_to,
    rescale,
)

# Train ids of the nine classes streets draws: road 0, sidewalk 1, building 2, pole 5,
# traffic sign 7, vegetation 8, sky 10, person 11, car 13; plus void.
STREETS_TRAIN_IDS = {0, 1, 2, 5, 7, 8, 10, 11, 13, 255}
# VOC ids of the shapes classes: aeroplane 1, bicycle 2, boat 4, bottle 5, sheep 17,
# tvmonitor 20; plus background 0 and void 255.
SHAPES_IDS = {0, 1, 2, 4, 5, 17, 20, 255}


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- registry


def test_registry_lists_datasets_and_rejects_unknown_names():
    assert list_datasets() == ["cityscapes", "shapes", "streets", "voc"]
    info = dataset_info("cityscapes")
    assert isinstance(info, DatasetInfo)
    assert (info.num_classes, info.ignore_index, info.class_names[0], info.class_names[13]) == (19, 255, "road", "car")
    voc = dataset_info("voc")
    assert (voc.num_classes, voc.class_names[0], voc.class_names[20]) == (21, "background", "tvmonitor")
    assert dataset_info("streets").image_size == (64, 128)
    with pytest.raises(ValueError, match="unknown dataset 'kitti'; valid: cityscapes, shapes, streets, voc"):
        dataset_info("kitti")
    with pytest.raises(AttributeError):
        info.num_classes = 3  # frozen
    with pytest.raises(ValueError, match="unknown split 'test'"):
        load_split("voc", "/nonexistent", "test")


# --------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def streets_root(tmp_path_factory) -> Path:
    return generate("streets", tmp_path_factory.mktemp("gen") / "streets", n_train=4, n_val=2, height=32, width=64)


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory) -> Path:
    return generate("shapes", tmp_path_factory.mktemp("gen") / "shapes", n_train=4, n_val=2, height=48, width=48)


def test_streets_cityscapes_layout_read_back(streets_root):
    images = sorted((streets_root / "leftImg8bit" / "train").rglob("*.png"))
    assert len(images) == 4
    for path in images:
        assert re.fullmatch(r"[a-z0-9]+_\d{6}_\d{6}_leftImg8bit\.png", path.name)
        stem = path.name[: -len("_leftImg8bit.png")]
        assert (streets_root / "gtFine" / "train" / path.parent.name / f"{stem}_gtFine_labelIds.png").is_file()
    train, val = load_split("streets", streets_root, "train"), load_split("streets", streets_root, "val")
    assert isinstance(train.files.source, Cityscapes)  # read through torchvision's loader
    assert (len(train), len(val)) == (4, 2)
    seen = set()
    for image, target in list(train) + list(val):
        assert image.dtype == torch.uint8 and image.shape == (3, 32, 64)
        assert target.dtype == torch.int64 and target.shape == (32, 64)
        values = set(target.unique().tolist())
        assert values <= STREETS_TRAIN_IDS
        assert {0, 10} <= values  # road and sky are in every scene
        seen |= values
    assert len(seen) >= 6
    assert check_dataset("streets", streets_root, "train") == 4


def test_shapes_voc_layout_palette_and_void_band(shapes_root):
    voc = shapes_root / "VOCdevkit" / "VOC2012"
    assert (voc / "ImageSets" / "Segmentation" / "train.txt").read_text().split() == [
        "train_000000", "train_000001", "train_000002", "train_000003",
    ]  # fmt: skip
    with Image.open(voc / "SegmentationClass" / "train_000000.png") as mask:
        assert mask.mode == "P"
        palette = np.array(mask.getpalette()).reshape(-1, 3)
    # VOC colour map: 1 aeroplane (128, 0, 0), 15 person (192, 128, 128), 255 void (224, 224, 192).
    assert palette[1].tolist() == [128, 0, 0] and palette[15].tolist() == [192, 128, 128]
    assert palette[255].tolist() == [224, 224, 192]
    assert voc_palette()[20].tolist() == [0, 64, 128]
    train = load_split("shapes", shapes_root, "train")
    assert isinstance(train.files.source, VOCSegmentation)  # read through torchvision's loader
    images, targets = as_tensors(train)
    assert images.dtype == torch.uint8 and images.shape == (4, 3, 48, 48)
    assert targets.dtype == torch.int64 and targets.shape == (4, 48, 48)
    assert set(targets.unique().tolist()) <= SHAPES_IDS
    assert (targets == 255).any() and ((targets != 0) & (targets != 255)).any()
    # The void band separates every two different labels: no two 8-neighbours carry
    # different non-void labels.
    t = targets
    for a, b in (
        (t[:, :, :-1], t[:, :, 1:]), (t[:, :-1, :], t[:, 1:, :]),
        (t[:, :-1, :-1], t[:, 1:, 1:]), (t[:, :-1, 1:], t[:, 1:, :-1]),
    ):  # fmt: skip
        assert not ((a != b) & (a != 255) & (b != 255)).any()


def test_void_band_width_follows_the_knob():
    wide = ShapesConfig(void_width=2, objects=(1, 1))
    _, mask = render("shapes", 0, height=48, width=48, config=wide)
    _, no_band = render("shapes", 0, height=48, width=48, config=ShapesConfig(void_width=0, objects=(1, 1)))
    assert not (no_band == 255).any()
    # Same object, so the band is exactly the pixels within Chebyshev distance 2 of a
    # pixel of the other side of the outline in the band-free mask.
    obj = no_band != 0
    pad = np.pad(obj, 2, mode="edge")
    near_in = np.zeros_like(obj)
    near_out = np.zeros_like(obj)
    for dy in range(5):
        for dx in range(5):
            near_in |= pad[dy : dy + 48, dx : dx + 48]
            near_out |= ~pad[dy : dy + 48, dx : dx + 48]
    assert np.array_equal(mask == 255, near_in & near_out)


def test_generation_is_deterministic_and_seed_dependent(tmp_path):
    kwargs = dict(n_train=3, n_val=1, height=32, width=48)
    for name in ("streets", "shapes"):
        a = _tree_digest(generate(name, tmp_path / f"{name}_a", seed=7, **kwargs))
        b = _tree_digest(generate(name, tmp_path / f"{name}_b", seed=7, **kwargs))
        c = _tree_digest(generate(name, tmp_path / f"{name}_c", seed=8, **kwargs))
        assert a == b
        data_files = [k for k in a if k.endswith((".png", ".jpg"))]
        assert len(data_files) == 8 and all(a[k] != c[k] for k in data_files)
    # Leftover temporary folders would show up beside the roots.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}_{s}" for n in ("streets", "shapes") for s in "abc"
    )


def test_a_set_drawn_by_several_processes_is_the_set_one_process_draws(tmp_path, monkeypatch):
    import benchmark.data.synthetic.writing as writing

    kwargs = dict(n_train=9, n_val=3, height=32, width=48, seed=3)
    for name in ("streets", "shapes"):
        monkeypatch.setattr(writing, "IMAGES_PER_PROCESS", 10**9)
        assert writing.drawing_processes(12) == 1
        alone = _tree_digest(generate(name, tmp_path / f"{name}_alone", **kwargs))
        monkeypatch.setattr(writing, "IMAGES_PER_PROCESS", 4)
        assert writing.drawing_processes(12) == min(3, len(os.sched_getaffinity(0)))
        several = _tree_digest(generate(name, tmp_path / f"{name}_several", **kwargs))
        assert len([k for k in alone if k.endswith((".png", ".jpg"))]) == 24 and several == alone


def test_generate_is_idempotent_and_rejects_other_params(tmp_path):
    root = generate("shapes", tmp_path / "s", n_train=2, n_val=1, height=32, width=32)
    marker = root / "generator.json"
    before = marker.stat().st_mtime_ns, (root / "VOCdevkit/VOC2012/JPEGImages/train_000000.jpg").stat().st_mtime_ns
    assert generate("shapes", tmp_path / "s", n_train=2, n_val=1, height=32, width=32) == root
    after = marker.stat().st_mtime_ns, (root / "VOCdevkit/VOC2012/JPEGImages/train_000000.jpg").stat().st_mtime_ns
    assert before == after
    with pytest.raises(DatasetError, match=r"holds a different generated set \(n_train: 2 on disk, 5 requested\)"):
        generate("shapes", root, n_train=5, n_val=1, height=32, width=32)
    with pytest.raises(DatasetError, match="config.noise_std: 8.0 on disk, 1.0 requested"):
        generate("shapes", root, n_train=2, n_val=1, height=32, width=32, config=ShapesConfig(noise_std=1.0))
    with pytest.raises(DatasetError, match="name: 'shapes' on disk, 'streets' requested"):
        generate("streets", root, n_train=2, n_val=1, height=32, width=32)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="exists and holds no generator.json"):
        generate("shapes", tmp_path / "full", n_train=1, n_val=1)
    with pytest.raises(ValueError, match="unknown synthetic dataset 'voc'"):
        generate("voc", tmp_path / "v", n_train=1, n_val=1)
    with pytest.raises(TypeError, match="must be a StreetsConfig"):
        generate("streets", tmp_path / "t", n_train=1, n_val=1, config=ShapesConfig())
    with pytest.raises(ValueError, match="cars must be a"):
        StreetsConfig(cars=(3, 1))


# --------------------------------------------------------------------------- real layouts

# Cityscapes labelIds and the train ids cityscapesscripts' table gives them:
# 7 road -> 0, 26 car -> 13, 0 unlabeled -> 255, 4 static -> 255, 8 sidewalk -> 1,
# 11 building -> 2, 24 person -> 11, 33 bicycle -> 18, 23 sky -> 10,
# 21 vegetation -> 8, 1 ego vehicle -> 255, 17 pole -> 5.
CS_LABEL_IDS = np.array([[7, 26, 0, 4], [8, 11, 24, 33], [23, 21, 1, 17]], dtype=np.uint8)
CS_TRAIN_IDS = np.array([[0, 13, 255, 255], [1, 2, 11, 18], [10, 8, 255, 5]])


def write_cityscapes(root: Path, split: str, stems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One image per stem with the given labelIds; returns the RGB arrays written."""
    written = {}
    for k, (stem, label_ids) in enumerate(stems.items()):
        city = stem.split("_")[0]
        image = (np.arange(label_ids.size * 3).reshape(*label_ids.shape, 3) * (k + 3) % 256).astype(np.uint8)
        for folder, suffix, array in (
            ("leftImg8bit", "leftImg8bit", image), ("gtFine", "gtFine_labelIds", label_ids),
        ):  # fmt: skip
            path = root / folder / split / city / f"{stem}_{suffix}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(path)
        written[stem] = image
    return written


def test_cityscapes_layout_maps_label_ids_to_train_ids(tmp_path):
    written = write_cityscapes(
        tmp_path, "val",
        {"zurich_000001_000019": CS_LABEL_IDS, "aachen_000000_000019": CS_LABEL_IDS[::-1].copy()},
    )  # fmt: skip
    ds = load_split("cityscapes", tmp_path, "val")
    assert ds.ids == ["aachen_000000_000019", "zurich_000001_000019"]  # sorted, not os.listdir order
    image, target = ds[1]
    assert torch.equal(target, torch.from_numpy(CS_TRAIN_IDS))
    assert torch.equal(image, torch.from_numpy(written["zurich_000001_000019"]).permute(2, 0, 1))
    assert torch.equal(ds[0][1], torch.from_numpy(CS_TRAIN_IDS[::-1].copy()))
    assert check_dataset("cityscapes", tmp_path, "val") == 2


def test_cityscapes_resize_uses_nearest_at_pixel_centres(tmp_path):
    label_ids = np.array([[7, 8, 11, 17], [21, 23, 24, 26]], dtype=np.uint8).repeat(2, axis=0).repeat(2, axis=1)
    label_ids[1::2, 1::2] = [[26, 24, 23, 21], [17, 11, 8, 7]]  # the pixels NEAREST_EXACT keeps at scale 1/2
    write_cityscapes(tmp_path, "train", {"bonn_000000_000019": label_ids})
    image, target = load_split("cityscapes", tmp_path, "train", resize=(2, 4))[0]
    assert image.shape == (3, 2, 4)
    assert target.tolist() == [[13, 11, 10, 8], [5, 2, 1, 0]]


def _write_voc(base: Path) -> dict[str, np.ndarray]:
    """A tiny VOC 2012 aug layout under base; returns the mask arrays (class ids)."""
    masks = {
        "2007_000032": np.array([[0, 0, 15, 15], [0, 255, 15, 1], [20, 20, 255, 1]], dtype=np.uint8),
        "2007_000039": np.array([[5, 5, 5, 0], [255, 0, 0, 0], [0, 0, 12, 12]], dtype=np.uint8),
        "2007_000033": np.array([[0, 3, 3, 0], [0, 3, 255, 0], [7, 7, 7, 7]], dtype=np.uint8),
    }
    for sub in ("JPEGImages", "SegmentationClassAug", "SegmentationClass", "ImageSets/Segmentation"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for stem, mask in masks.items():
        Image.fromarray(np.full((*mask.shape, 3), 90, dtype=np.uint8)).save(base / "JPEGImages" / f"{stem}.jpg")
    for stem in ("2007_000032", "2007_000039"):  # aug masks: single-channel PNGs
        Image.fromarray(masks[stem]).save(base / "SegmentationClassAug" / f"{stem}.png")
    palette_mask = Image.fromarray(masks["2007_000033"])
    palette_mask.putpalette(voc_palette().tobytes())
    palette_mask.save(base / "SegmentationClass" / "2007_000033.png")
    (base / "ImageSets/Segmentation/train_aug.txt").write_text("2007_000032\n2007_000039\n")
    (base / "ImageSets/Segmentation/val.txt").write_text("2007_000033\n")
    return masks


@pytest.mark.parametrize(
    "where, root, torchvision_val",
    [
        ("VOCdevkit/VOC2012", ".", True),  # the folder holding VOCdevkit
        ("VOCdevkit/VOC2012", "VOCdevkit/VOC2012", True),
        ("VOC2012", "VOC2012", False),  # a lone VOC2012 folder: torchvision's class does not fit
    ],
)
def test_voc_aug_and_val_read_back(tmp_path, where, root, torchvision_val):
    voc = tmp_path / where
    masks = _write_voc(voc)
    root = tmp_path / root
    train = load_split("voc", root, "train")
    assert train.ids == ["2007_000032", "2007_000039"]
    for k, stem in enumerate(train.ids):
        image, target = train[k]
        assert image.dtype == torch.uint8 and image.shape == (3, 3, 4)
        assert abs(image.float().mean().item() - 90) < 3  # JPEG is lossy
        assert torch.equal(target, torch.from_numpy(masks[stem].astype(np.int64)))
    val = load_split("voc", root, "val")
    assert torch.equal(val[0][1], torch.from_numpy(masks["2007_000033"].astype(np.int64)))
    with Image.open(voc / "SegmentationClass" / "2007_000033.png") as m:
        assert m.mode == "P"
    assert isinstance(val.files.source, VOCSegmentation) == torchvision_val
    assert not isinstance(train.files.source, VOCSegmentation)  # the aug split has its own reader
    assert check_dataset("voc", root, "train") == 2 and check_dataset("voc", root, "val") == 1


# --------------------------------------------------------------------------- check_dataset


def _one_line_error(name: str, root: Path, split: str) -> str:
    with pytest.raises(DatasetError) as info:
        check_dataset(name, root, split)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_check_dataset_bad_cases_each_have_one_clear_line(tmp_path):
    assert "does not exist" in _one_line_error("voc", tmp_path / "nowhere", "train")

    voc = tmp_path / "VOC2012"
    _write_voc(voc)
    assert check_dataset("voc", voc, "train") == 2

    (voc / "SegmentationClassAug").rename(voc / "Aug")
    msg = _one_line_error("voc", voc, "train")
    assert msg.startswith(f"wrong layout: {voc / 'SegmentationClassAug'} not found; expected VOC layout")
    (voc / "Aug").rename(voc / "SegmentationClassAug")

    lst = voc / "ImageSets/Segmentation/train_aug.txt"
    lst.write_text("2007_000032\n2007_999999\n2007_000039\n")
    msg = _one_line_error("voc", voc, "train")
    assert msg.startswith(f"missing image {voc / 'JPEGImages' / '2007_999999.jpg'} (listed in {lst});")
    assert "<root>/SegmentationClassAug, <root>/ImageSets/Segmentation/train_aug.txt" in msg
    lst.write_text("2007_000032\n2007_000033\n")  # image present, no aug mask
    assert _one_line_error("voc", voc, "train").startswith(
        f"missing mask {voc / 'SegmentationClassAug' / '2007_000033.png'}"
    )
    lst.write_text("2007_000032\n2007_000039\n")

    mask_39 = voc / "SegmentationClassAug" / "2007_000039.png"
    good = mask_39.read_bytes()
    mask_39.write_bytes(good[:40])  # truncated PNG
    assert _one_line_error("voc", voc, "train").startswith(f"unreadable mask {mask_39} (")
    Image.fromarray(np.zeros((3, 5), dtype=np.uint8)).save(mask_39)
    msg = _one_line_error("voc", voc, "train")
    assert msg.startswith("size mismatch: image") and "is 4x3 (WxH)" in msg and "is 5x3" in msg
    Image.fromarray(np.array([[0, 21, 0, 0], [0, 0, 0, 0], [254, 0, 0, 0]], dtype=np.uint8)).save(mask_39)
    msg = _one_line_error("voc", voc, "train")
    assert msg == f"mask {mask_39} has values [21, 254] outside VOC class ids 0..20 or 255"
    with pytest.raises(DatasetError, match=r"has values \[21, 254\]"):
        load_split("voc", voc, "train")[1]  # the loader refuses them too
    Image.fromarray(np.zeros((3, 4, 3), dtype=np.uint8)).save(mask_39)
    assert "has mode RGB (not an index image); expected an 8-bit single-channel index PNG" in _one_line_error("voc", voc, "train")
    # The first bad file in list order is named, whatever the thread pool finishes first.
    (voc / "JPEGImages" / "2007_000032.jpg").write_bytes(b"not a jpeg")
    assert _one_line_error("voc", voc, "train").startswith(f"unreadable image {voc / 'JPEGImages' / '2007_000032.jpg'}")


def test_check_dataset_cityscapes_cases(tmp_path):
    assert _one_line_error("cityscapes", tmp_path, "train").startswith(
        f"wrong layout: {tmp_path / 'leftImg8bit' / 'train'} not found; expected Cityscapes layout"
    )
    bad = CS_LABEL_IDS.copy()
    bad[0, 0] = 34  # one past the last labelId (33 bicycle)
    write_cityscapes(tmp_path, "train", {"bonn_000000_000019": CS_LABEL_IDS, "bonn_000001_000019": bad})
    mask = tmp_path / "gtFine/train/bonn/bonn_000001_000019_gtFine_labelIds.png"
    assert _one_line_error("cityscapes", tmp_path, "train") == (
        f"mask {mask} has values [34] outside Cityscapes labelIds 0..33 of cityscapesscripts' label table"
    )
    os.remove(mask)
    assert _one_line_error("cityscapes", tmp_path, "train").startswith(f"missing mask {mask};")
    (tmp_path / "leftImg8bit/train/bonn/readme.txt").write_text("x")
    assert "unexpected file" in _one_line_error("cityscapes", tmp_path, "train")


# --------------------------------------------------------------------------- transforms


def _tiny() -> tuple[torch.Tensor, torch.Tensor]:
    """Image [3, 2, 3] with channel c holding 10 * c + pixel index; target 0..5."""
    pixel = torch.arange(6, dtype=torch.uint8).reshape(2, 3)
    return torch.stack([pixel, pixel + 10, pixel + 20]), pixel.long()


def test_mirror_flips_image_and_mask_together():
    image, target = _tiny()
    flip = TrainAugment(crop_size=(2, 3), scale_range=(1.0, 1.0), mirror_prob=1.0)
    out_image, out_target = flip(image, target, np.random.default_rng(0))
    assert out_target.tolist() == [[2, 1, 0], [5, 4, 3]]
    assert out_image[1].tolist() == [[12, 11, 10], [15, 14, 13]]
    keep = TrainAugment(crop_size=(2, 3), scale_range=(1.0, 1.0), mirror_prob=0.0)
    assert keep(image, target, np.random.default_rng(0))[1].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_crop_padding_uses_ignore_label_and_mean_pixel():
    image, target = _tiny()
    padded_image, padded = pad_to(image, target, (3, 4))
    assert padded.tolist() == [[0, 1, 2, 255], [3, 4, 5, 255], [255, 255, 255, 255]]
    assert padded_image[:, 2, 0].tolist() == list(MEAN_PIXEL) == [124, 116, 104]
    assert padded_image[2, :2, :3].tolist() == [[20, 21, 22], [23, 24, 25]]
    # A crop larger than the image after scaling: everything outside it is void.
    aug = TrainAugment(crop_size=(4, 5), scale_range=(1.0, 1.0), mirror_prob=0.0)
    out_image, out = aug(image, target, np.random.default_rng(1))
    assert out.shape == (4, 5) and out_image.shape == (3, 4, 5)
    assert (out == 255).sum() == 20 - 6 and sorted(out[out != 255].tolist()) == [0, 1, 2, 3, 4, 5]


def test_rescale_and_normalize_by_hand():
    image = torch.zeros(3, 1, 2, dtype=torch.uint8)
    up_image, up = rescale(image, torch.tensor([[1, 2]]), 2.0)
    assert up.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2]] and up_image.shape == (3, 2, 4)
    pixels = torch.tensor(MEAN_PIXEL, dtype=torch.uint8).reshape(3, 1, 1).repeat(1, 1, 2)
    pixels[0, 0, 1] = 255
    out = normalize(pixels)
    assert out.dtype == torch.float32
    assert out[:, 0, 0].abs().max() < 0.01  # the mean pixel maps to ~0
    assert out[0, 0, 1].item() == pytest.approx((1 - 0.485) / 0.229, abs=1e-5)


def test_augmentation_is_reproducible_per_seed_epoch_index():
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.integers(0, 256, (3, 20, 30), dtype=np.uint8))
    target = torch.from_numpy(rng.integers(0, 19, (20, 30)))
    base = [(image, target)] * 6  # the same sample everywhere: differences come from the RNG
    aug = TrainAugment(crop_size=(12, 12), scale_range=(0.5, 1.5))
    data = Augmented(base, aug, seed=3)
    torch.manual_seed(0)
    first = data[2]
    torch.manual_seed(1)
    torch.rand(100)  # the global RNG does not matter
    again = data[2]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], data[3][1])
    data.set_epoch(1)
    assert not torch.equal(first[1], data[2][1])
    assert not torch.equal(first[1], Augmented(base, aug, seed=4)[2][1])
    # Batched on tensors and through DataLoader workers: the same samples.
    data.set_epoch(0)
    images, targets = augment_batch(image[None].repeat(6, 1, 1, 1), target[None].repeat(6, 1, 1), [2, 3], aug,
                                    seed=3, epoch=0)  # fmt: skip
    assert torch.equal(images[0], first[0]) and torch.equal(targets[1], data[3][1])
    loaded = torch.cat([t for _, t in DataLoader(data, batch_size=2, num_workers=2)])
    assert torch.equal(loaded, torch.stack([data[i][1] for i in range(6)]))
