"""The paper scale end to end on files with the real sets' properties (``realistic_data``).

VOC validation images of four sizes (portrait among them) with void bands; Cityscapes at
2048x1024 read at 1024x512, with void regions, thin poles, sparse edges and most classes
absent. Everything runs at the paper scale's own settings except what a CPU cannot
afford: two training steps, 65x65 crops, batches of two and the small network (whose
pre-trained weights the tests write), so the checks reach every path a GPU run takes:
preparation, the edge-net fit where edges are sparse, training crops of mixed sizes,
scoring at each image's own size, the suites through Ray and the report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from realistic_data import VOC_VAL_SIZES, write_cityscapes, write_voc

import methods
from benchmark.models import build_model
from benchmark.records import load_records, predictions_path, read_predictions
from benchmark.run import main

pytestmark = pytest.mark.timeout(900)

#: What a CPU can afford of the paper scale (everything else is the scale's own); the edge-net
#: fit passes its F1 floor from about 150 steps where edges are sparse (methods.edge_net).
CPU_SIZED = ["--set", "steps=2", "--set", "crop=65,65", "--set", "batch_size=2", "--set", "eval_batch_size=2",
             "--set", "edge_net_steps=300"]
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
#: A run of the paper scale without pre-trained weights trains its batch norm (frozen, it would
#: have nothing to freeze: ``RunSpec.check_trainable``).
SCRATCH = ["--set", "frozen_bn=false"]


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("voc")
    write_voc(root)
    return root


@pytest.fixture(scope="module")
def cityscapes_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cityscapes")
    write_cityscapes(root)
    return root


def _weights(path: Path, num_classes: int) -> str:
    """A small pre-trained weights file: a whole small network's state dict."""
    torch.manual_seed(0)
    torch.save(build_model("deeplabv2_small", num_classes).state_dict(), path)
    return str(path)


def test_a_voc_run_scores_every_validation_image_at_its_own_size(voc_root, tmp_path):
    out = tmp_path / "runs"
    code = main(["--method", "ppce", "--scale", "paper", "--dataset", "voc", "--data-root", str(voc_root),
                 "--backbone", "deeplabv2_small", *CPU_SIZED, *SCRATCH, "--keep-predictions", "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    (record,), _ = load_records(out)
    predictions = read_predictions(predictions_path(out, record["run_id"]))
    assert [p.shape for p in predictions] == list(VOC_VAL_SIZES)  # labels never resized
    # The confusion matrix from the files themselves: each palette PNG read as its class
    # ids at its own size, against the kept prediction of that image.
    voc = voc_root / "VOCdevkit" / "VOC2012"
    stems = (voc / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    expected = np.zeros((21, 21), dtype=np.int64)
    for stem, pred in zip(stems, predictions):
        mask = np.array(Image.open(voc / "SegmentationClass" / f"{stem}.png"))
        valid = mask != 255
        expected += np.bincount(mask[valid].astype(np.int64) * 21 + pred[valid], minlength=21 * 21).reshape(21, 21)
    assert np.array_equal(np.array(record["counts"]["confusion"]["matrix"]), expected)
    assert expected.sum() == sum(int((np.array(Image.open(voc / "SegmentationClass" / f"{s}.png")) != 255).sum()) for s in stems)


def test_every_method_runs_at_paper_scale_on_cityscapes(cityscapes_root, tmp_path):
    out = tmp_path / "runs"
    for method in methods.list_methods():
        code = main(["--method", method, "--scale", "paper", "--dataset", "cityscapes", "--data-root", str(cityscapes_root),
                     "--backbone", "deeplabv2_small", *CPU_SIZED, *SCRATCH, "--out", str(out), "--no-progress"])  # fmt: skip
        assert code == 0, method
    records, problems = load_records(out)
    assert not problems and sorted(r["spec"]["method"] for r in records) == sorted(methods.list_methods())
    for r in records:
        assert r["status"] == "ok", (r["spec"]["method"], r.get("reason"))
        assert r["spec"]["settings"]["resize"] == [512, 1024]
        if methods.method_class(r["spec"]["method"]).needs_edge_net:
            assert r["edge_net"]["f1"] >= methods.MIN_F1


def _suite(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **LOCAL_RAY_ENV}
    cmd = [sys.executable, "-m", "benchmark.run", *args, "--scale", "paper", "--backbones", "deeplabv2_small", "--seeds", "1",
           *CPU_SIZED, "--no-progress", "--no-report", "--max-concurrent", "2"]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=800)


def test_table1_and_table2_suites_at_paper_scale_and_their_report(voc_root, cityscapes_root, tmp_path):
    out = tmp_path / "runs"
    voc_weights = _weights(tmp_path / "voc.pt", 21)
    done = _suite("--suite", "table2", "--datasets", "voc", "--data-root", str(voc_root), "--out", str(out),
                  "--weights-imagenet", voc_weights, "--weights-coco", voc_weights)  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    done = _suite("--suite", "table1", "--datasets", "cityscapes", "--data-root", str(cityscapes_root), "--out", str(out),
                  "--weights-imagenet", _weights(tmp_path / "cityscapes.pt", 19))  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    records, problems = load_records(out)
    assert not problems and all(r["status"] == "ok" for r in records)
    by_dataset = {d: [r for r in records if r["spec"]["dataset"] == d] for d in ("voc", "cityscapes")}
    assert len(by_dataset["voc"]) == 3 * 2 and len(by_dataset["cityscapes"]) == 14  # table2's rows x inits, table1's rows
    for r in records:
        if methods.method_class(r["spec"]["method"]).needs_edge_net:
            assert r["edge_net"]["f1"] >= methods.MIN_F1
    report = tmp_path / "report"
    code = subprocess.run([sys.executable, "-m", "benchmark.report", "--records", str(out), "--out", str(report)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert code.returncode == 0, code.stderr[-2000:]
    table1 = (report / "table1.md").read_text()
    assert "Table 1: Cityscapes, paper scale, deeplabv2_small, pre-trained on ImageNet" in table1
    table2 = (report / "table2.md").read_text()
    for column in ("Cityscapes", "VOC"):
        assert f"| {column} |" in table2 or f"| {column} (" in table2, column
    assert "ImageNet+MsCoco" in table2
    # Every paper row of Table 2 that these suites make has its run: VOC under both
    # initialisations (table2), Cityscapes under ImageNet (table1's rows; its COCO cells are
    # table2's on Cityscapes, not run here).
    cells = pd.read_csv(report / "table2.csv")
    made = cells[(cells["dataset"] == "voc") | ((cells["dataset"] == "cityscapes") & (cells["init"] == "imagenet"))]
    assert len(made) == 3 * 2 + 3 and (made["n"] == 1).all()
