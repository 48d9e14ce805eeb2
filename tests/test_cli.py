"""Bad input on the command line: one line naming the problem and the fix, exit 2, no traceback, no record."""

import numpy as np
import pytest
from PIL import Image
from test_data import CS_LABEL_IDS, write_cityscapes

from benchmark.run import main


def run_cli(capsys, tmp_path, *args):
    out = tmp_path / "runs"
    code = main([*args, "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.err.strip(), out


def assert_user_error(code, err, out, *needles):
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert not out.exists() or not list(out.glob("*.json"))


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--method", "semda"], ["unknown method 'semda'", "valid methods:", "semeda"]),
        (["--suite", "tabel1"], ["unknown suite 'tabel1'", "table1"]),
        (["--dataset", "kitti"], ["unknown dataset 'kitti'", "cityscapes"]),
        (["--backbone", "resnet9000"], ["unknown backbone 'resnet9000'", "deeplabv2_small"]),
        (["--backbone", "smp:Unet:nope"], ["unknown smp encoder 'nope'"]),
        (["--method", "semeda", "--lambdas", "1,-1,0"], [">= 0"]),
        (["--method", "semeda", "--lambdas", "1,0"], ["takes 3 lambdas, got 2"]),
        (["--method", "semeda", "--lambdas", "a,b,c"], ["'a' is not a number"]),
        (["--method", "ppce", "--lambdas", "1"], ["takes no parameter 'lambdas'"]),
        (["--method", "ppce", "--relu"], ["takes no parameter 'relu'"]),
        (["--suite", "table1", "--seeds", "0"], ["--seeds must be a positive integer"]),
        (["--weights", "/nonexistent/resnet101.pth"], ["weights file not found: /nonexistent/resnet101.pth"]),
        (["--dataset", "cityscapes"], ["pass --data-root"]),
        (["--set", "stepz=3"], ["unknown setting 'stepz'"]),
        (["--set", "steps"], ["--set takes KEY=VALUE"]),
        (["--suite", "leaderboard", "--grid", "1,x"], ["--grid: 'x' is not a number"]),
        (["--suite", "leaderboard", "--methods", "dize"], ["has no row for methods ['dize']"]),
        (["--suite", "table1", "--grid", "1,3"], ["--grid applies to a suite whose weights are searched"]),
        (["--grid", "1,3"], ["--grid applies to a suite whose weights are searched"]),
    ],
)
def test_bad_arguments(capsys, tmp_path, args, needles):
    assert_user_error(*run_cli(capsys, tmp_path, *args), *needles)


def test_weights_that_do_not_fit_the_model(capsys, tmp_path):
    path = tmp_path / "not_resnet.pt"
    import torch

    torch.save({"conv1.weight": torch.zeros(3, 3)}, path)
    code, err, out = run_cli(capsys, tmp_path, "--scale", "smoke", "--backbone", "deeplabv2_resnet101",
                             "--weights", str(path), "--init", "imagenet")  # fmt: skip
    assert_user_error(code, err, out, str(path))


@pytest.fixture
def cityscapes_root(tmp_path):
    root = tmp_path / "cityscapes"
    for split in ("train", "val"):
        write_cityscapes(root, split, {"bonn_000000_000019": CS_LABEL_IDS, "bonn_000001_000019": CS_LABEL_IDS})
    return root


def corrupt_png(root):
    path = root / "leftImg8bit/val/bonn/bonn_000001_000019_leftImg8bit.png"
    path.write_bytes(path.read_bytes()[:30])
    return path


def size_mismatch(root):
    path = root / "gtFine/train/bonn/bonn_000000_000019_gtFine_labelIds.png"
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(path)
    return path


def bad_values(root):
    path = root / "gtFine/val/bonn/bonn_000000_000019_gtFine_labelIds.png"
    Image.fromarray(np.full(CS_LABEL_IDS.shape, 200, dtype=np.uint8)).save(path)
    return path


def missing_image(root):
    path = root / "leftImg8bit/train/bonn/bonn_000001_000019_leftImg8bit.png"
    path.unlink()
    return path.with_name("bonn_000001_000019_gtFine_labelIds.png")


def wrong_layout(root):
    (root / "gtFine").rename(root / "gtCoarse")
    return root / "gtFine"


@pytest.mark.parametrize("damage", [corrupt_png, size_mismatch, bad_values, wrong_layout])
def test_damaged_dataset_names_the_first_bad_file(capsys, tmp_path, cityscapes_root, damage):
    bad = damage(cityscapes_root)
    code, err, out = run_cli(capsys, tmp_path, "--dataset", "cityscapes", "--data-root", str(cityscapes_root), "--scale", "smoke")
    assert_user_error(code, err, out, str(bad))


def test_missing_data_root(capsys, tmp_path):
    code, err, out = run_cli(capsys, tmp_path, "--dataset", "voc", "--data-root", str(tmp_path / "nowhere"))
    assert_user_error(code, err, out, "does not exist")


def test_single_run_writes_one_record_and_a_second_call_reuses_it(capsys, tmp_path):
    code, _, out = run_cli(capsys, tmp_path, "--scale", "smoke", "--set", "steps=2")
    assert code == 0 and len(list(out.glob("*.json"))) == 1
    code = main(["--scale", "smoke", "--set", "steps=2", "--out", str(out), "--no-progress"])
    assert code == 0 and "record exists" in capsys.readouterr().out
