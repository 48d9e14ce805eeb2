"""The evaluator protocol: one file per metric, counts in the record, metrics from counts."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from benchmark import metrics as metrics_module

from benchmark import evaluators
from benchmark.evaluators import (
    EVALUATORS,
    BoundaryF,
    BoundaryIoU,
    ConfusionMatrix,
    Evaluator,
    Trimap,
    build_evaluators,
    evaluate_sidecar,
    record_settings,
    summarize_record,
)
from benchmark.records import PREDICTIONS_KEY, predictions_path, read_predictions, write_predictions
from benchmark.spec import RunSpec, scale_settings

V = 255


class PixelAccuracy(Evaluator):
    """A toy metric: the share of non-void pixels predicted right."""

    name = "pixel_accuracy"

    def reset(self):
        self.right = self.total = 0

    def process(self, pred, target, *, distance=None):
        valid = target != self.ignore_index
        self.right += int(((pred == target) & valid).sum())
        self.total += int(valid.sum())

    def counts(self):
        return {"right": self.right, "total": self.total}

    @classmethod
    def summarize(cls, counts, settings):
        if counts is None:
            return {"pixel_accuracy": math.nan}
        return {"pixel_accuracy": counts["right"] / counts["total"] if counts["total"] else math.nan}


def _spec_dict(scale="smoke", **drop_settings) -> dict:
    d = RunSpec.create("ppce", scale=scale).to_dict()
    for name in drop_settings:
        d["settings"].pop(name)
    return d


#: Two classes on a 4x4 map with one void pixel, and a prediction with two errors.
TARGET = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [0, V, 1, 1], [0, 0, 1, 1]]])
PRED = torch.tensor([[[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1]]])


def _record(batches, evaluator_list=None, scale="smoke") -> dict:
    settings = scale_settings(scale)
    run = [cls(settings, 2, V) for cls in (evaluator_list or evaluators.EVALUATORS)]
    for pred, target in batches:
        for ev in run:
            ev.process(pred, target)
    return {"run_id": "r", "status": "ok", "spec": _spec_dict(scale), "counts": {ev.name: ev.counts() for ev in run}}


# --------------------------------------------------------------------------- the registry


def test_every_evaluator_has_a_unique_name_and_json_counts():
    import json

    names = [cls.name for cls in EVALUATORS]
    assert names == ["confusion", "trimap", "boundary_iou", "boundary_f", "boundary_f_image"]
    record = _record([(PRED, TARGET)])
    assert json.loads(json.dumps(record["counts"])) == record["counts"]


def test_flat_metric_names_follow_the_settings():
    metrics = summarize_record(_record([(PRED, TARGET)], scale="small"))
    s = scale_settings("small")
    assert s.boundary_widths == (1, 3) and s.boundary_tolerances == (1, 2)
    expected = {"miou", *(f"{r}_miou_w{w:g}" for r in ("boundary", "interior") for w in s.trimap_widths),
                "biou_d1", "biou_d3", "bf_t1", "bf_t2", "bfi_t1", "bfi_t2"}  # fmt: skip
    assert set(metrics) == expected


def test_counts_summed_over_batches_equal_one_pass():
    first, second = (PRED, TARGET), (TARGET.clamp(max=1), TARGET)
    two = _record([first, second])
    one = _record([(torch.cat([PRED, TARGET.clamp(max=1)]), torch.cat([TARGET, TARGET]))])
    assert two["counts"] == one["counts"]


def test_summarize_record_by_hand():
    # Confusion (rows = ground truth): class 0: 6 right, 1 predicted 1; class 1: 7 right,
    # 1 predicted 0. IoU_0 = 6 / 8, IoU_1 = 7 / 9.
    metrics = summarize_record(_record([(PRED, TARGET)]))
    assert metrics["miou"] == pytest.approx((6 / 8 + 7 / 9) / 2)
    # Contours (8-neighbour; the void pixel (2,1) is void in the prediction too, and "not c"
    # on both sides):
    #   Bg_0 = (0,1) (1,0) (1,1) (2,0) (3,0) (3,1)     Bp_0 = (0,0) (0,1) (1,0) (2,0) (3,0) (3,1) (3,2)
    #   Bg_1 = (0,2) (1,2) (2,2) (3,2)                 Bp_1 = (0,2) (1,1) (1,2) (2,2) (2,3) (3,3)
    # Every pixel of each lies within 1 px of the other contour: F = 1 at t = 1 and t = 2.
    assert metrics["bf_t1"] == pytest.approx(1.0) and metrics["bf_t2"] == pytest.approx(1.0)
    # Boundary IoU at d = 1 (the contours themselves, where prediction and ground truth
    # agree): class 0 5 / (6 + 7 - 5), class 1 3 / (4 + 6 - 3).
    assert metrics["biou_d1"] == pytest.approx((5 / 8 + 3 / 7) / 2)
    # t = 0: exact overlaps 5 (class 0) and 3 (class 1)
    counts = metrics_module.boundary_f_counts(PRED, TARGET, 2, (0,), V)
    assert counts[0].tolist() == [[5, 3], [7, 6], [5, 3], [6, 4]]


def test_a_new_evaluator_reaches_summarize_record(monkeypatch):
    monkeypatch.setattr(evaluators, "EVALUATORS", [*EVALUATORS, PixelAccuracy])
    built = build_evaluators(scale_settings("smoke"), 2, V)
    assert [type(e) for e in built][-1] is PixelAccuracy
    record = _record([(PRED, TARGET)])
    assert record["counts"]["pixel_accuracy"] == {"right": 13, "total": 15}
    metrics = summarize_record(record)
    assert metrics["pixel_accuracy"] == pytest.approx(13 / 15)
    assert math.isfinite(metrics["miou"])
    # a record written before the new evaluator existed: NaN, the other metrics intact
    del record["counts"]["pixel_accuracy"]
    old = summarize_record(record)
    assert math.isnan(old["pixel_accuracy"]) and old["miou"] == metrics["miou"]


def test_a_new_evaluator_reaches_the_tidy_table(monkeypatch):
    from benchmark.report.tidy import tidy_records

    monkeypatch.setattr(evaluators, "EVALUATORS", [*EVALUATORS, PixelAccuracy])
    df = tidy_records([_record([(PRED, TARGET)])])
    assert df["pixel_accuracy"].iloc[0] == pytest.approx(13 / 15)
    assert "biou_d2" in df.columns and "bf_t2" in df.columns


# --------------------------------------------------------------------------- records of earlier versions


def _old_record() -> dict:
    """A record as version 0.2.0 wrote it: no counts section, no boundary settings."""
    conf = [[6, 1], [1, 7]]
    boundary = [[[2, 1], [1, 3]], [[4, 1], [1, 5]]]
    interior = [[[4, 0], [0, 4]], [[2, 0], [0, 2]]]
    return {
        "run_id": "old", "status": "ok",
        "spec": _spec_dict("smoke", boundary_widths=1, boundary_tolerances=1),
        "confusion": conf,
        "trimap_confusion": {"boundary": boundary, "interior": interior},
        "metrics": {"miou": 0.0, "per_class_iou": [], "trimap": {"widths": [1, 2], "boundary_miou": [], "interior_miou": []}},
    }  # fmt: skip


def test_old_record_gives_old_metrics_and_nan_for_new_ones():
    metrics = summarize_record(_old_record())
    assert metrics["miou"] == pytest.approx((6 / 8 + 7 / 9) / 2)
    # width 1: IoU_0 = 2 / 4, IoU_1 = 3 / 5; width 2: 4 / 6, 5 / 7; interior: 4 / 4 = 1
    assert metrics["boundary_miou_w1"] == pytest.approx((2 / 4 + 3 / 5) / 2)
    assert metrics["boundary_miou_w2"] == pytest.approx((4 / 6 + 5 / 7) / 2)
    assert metrics["interior_miou_w1"] == metrics["interior_miou_w2"] == 1.0
    # the boundary metrics take their names from the smoke scale's defaults: NaN
    for key in ("biou_d1", "biou_d2", "bf_t1", "bf_t2", "bfi_t1", "bfi_t2"):
        assert math.isnan(metrics[key])
    assert set(metrics) == {"miou", "boundary_miou_w1", "boundary_miou_w2", "interior_miou_w1",
                            "interior_miou_w2", "biou_d1", "biou_d2", "bf_t1", "bf_t2", "bfi_t1", "bfi_t2"}  # fmt: skip


def test_failed_record_gives_nan_everywhere():
    record = {"run_id": "f", "status": "failed", "spec": _spec_dict("small")}
    metrics = summarize_record(record)
    assert metrics and all(math.isnan(v) for v in metrics.values())
    assert "biou_d3" in metrics and "bf_t2" in metrics


def test_record_settings_fill_in_what_an_old_record_lacks():
    settings = record_settings(_old_record())
    assert settings.boundary_widths == (1, 2) and settings.trimap_widths == (1, 2, 3)
    d = _spec_dict("small")
    d["settings"]["boundary_widths"] = [1, 4]
    assert record_settings({"spec": d}).boundary_widths == (1, 4)


def test_paper_scale_boundary_settings_follow_the_dataset():
    city, voc = scale_settings("paper", "cityscapes"), scale_settings("paper", "voc")
    assert (city.boundary_widths, city.boundary_tolerances) == ((1, 23), (1, 9))
    assert (voc.boundary_widths, voc.boundary_tolerances) == ((1, 13), (1, 5))
    # 2% of the diagonal, rounded half up (VOC: 12.5); 0.75% rounded up
    for (w, h), d, t in (((1024, 512), 23, 9), ((500, 375), 13, 5)):
        assert math.floor(0.02 * math.hypot(w, h) + 0.5) == d and math.ceil(0.0075 * math.hypot(w, h)) == t
    smoke = scale_settings("smoke")
    assert (smoke.boundary_widths, smoke.boundary_tolerances) == ((1, 2), (1, 2))


def test_boundary_f_per_image_against_pooled_by_hand():
    # 4x4 images, class 0 on the left half, class 1 on the right: contours are column 1 (class 0)
    # and column 2 (class 1), 4 pixels each. Image A predicted perfectly: F = 1 for both classes.
    # Image B predicted all class 0: no predicted contour, P = R = 0, F = 0 for both classes.
    halves = torch.tensor([[[0, 0, 1, 1]] * 4])
    target = torch.cat([halves, halves])
    pred = torch.cat([halves, torch.zeros_like(halves)])
    # a third image of one class everywhere, in both maps, has no contour: no score
    target, pred = torch.cat([target, torch.zeros_like(halves)]), torch.cat([pred, torch.zeros_like(halves)])
    metrics = summarize_record(_record([(pred, target)]))
    assert metrics["bfi_t1"] == pytest.approx((1.0 + 0.0) / 2)  # per image: A 1, B 0; the third not scored
    # pooled over the split, per class: P = 4 / 4 (A's), R = 4 / 8 (A's and B's contour): F = 2/3
    assert metrics["bf_t1"] == pytest.approx(2 / 3)
    counts = _record([(pred, target)])["counts"]["boundary_f_image"]
    assert counts["images"] == [2, 2] and counts["f_sum"] == [1.0, 1.0]
    assert evaluators.definition_of("bfi_t2") == ("boundary_f_image", 2)


# --------------------------------------------------------------------------- a trained run


@pytest.fixture(scope="module")
def smoke_record():
    from benchmark.train import train

    torch.set_num_threads(1)
    return train(RunSpec.create("ppce", scale="smoke"), progress=False)


def test_smoke_run_stores_the_counts_of_every_evaluator(smoke_record):
    r = smoke_record
    assert r["status"] == "ok"
    assert set(r["counts"]) == {"confusion", "trimap", "boundary_iou", "boundary_f", "boundary_f_image"}
    assert r["counts"]["boundary_iou"]["widths"] == [1, 2]
    assert r["counts"]["boundary_f"]["tolerances"] == [1, 2]
    assert np.shape(r["counts"]["boundary_iou"]["union"]) == (2, 19)
    assert np.shape(r["counts"]["boundary_f"]["matched_gt"]) == (2, 19)
    # the counts are kept once, under "counts" (not again in the layout of earlier versions)
    assert "confusion" not in r and "trimap_confusion" not in r
    m = r["metrics"]
    assert {"miou", "per_class_iou", "trimap", "biou_d1", "biou_d2", "bf_t1", "bf_t2"} <= set(m)
    assert len(m["boundary_iou"]["per_class"]) == 2 and len(m["boundary_f"]["per_class"][0]) == 19
    assert m["trimap"]["widths"] == [1, 2, 3] and len(m["trimap"]["boundary_miou"]) == 3
    summary = summarize_record(r)
    assert all(summary[k] == m[k] for k in summary)
    assert 0 < m["bf_t1"] <= m["bf_t2"] <= 1 and 0 < m["biou_d1"] <= 1
    assert PREDICTIONS_KEY not in r


def test_summarize_record_reads_the_old_layout_of_a_new_record(smoke_record):
    old = copy.deepcopy(smoke_record)
    counts = old.pop("counts")  # as version 0.2.0 stored the same counts
    old["confusion"] = counts["confusion"]["matrix"]
    old["trimap_confusion"] = {"boundary": counts["trimap"]["boundary"], "interior": counts["trimap"]["interior"]}
    metrics = summarize_record(old)
    assert metrics["miou"] == smoke_record["metrics"]["miou"]
    assert metrics["boundary_miou_w3"] == smoke_record["metrics"]["boundary_miou_w3"]
    assert math.isnan(metrics["biou_d2"]) and math.isnan(metrics["bf_t1"])


# --------------------------------------------------------------------------- kept predictions


def test_predictions_sidecar_round_trip(tmp_path):
    preds = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_predictions(tmp_path, "run-1", preds)
    assert path == predictions_path(tmp_path, "run-1") and path.name == "run-1.pred.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-1.pred.npz"]  # no temporary left
    np.testing.assert_array_equal(read_predictions(path), preds)
    with pytest.raises(ValueError, match="uint8"):
        write_predictions(tmp_path, "run-2", preds.astype(np.int64))


def test_a_new_evaluator_from_kept_predictions(tmp_path):
    from benchmark.data import dataset_info
    from benchmark.models import build_model
    from benchmark.prepare import prepare
    from benchmark.train import evaluate

    torch.set_num_threads(1)
    spec = RunSpec.create("ppce", scale="smoke")
    prepared = prepare(spec)
    torch.manual_seed(0)
    model = build_model(spec.backbone, dataset_info(spec.dataset).num_classes, width=spec.settings.width)
    out = evaluate(model, spec, prepared, torch.device("cpu"), keep_predictions=True)
    kept = out.pop(PREDICTIONS_KEY)
    assert kept.dtype == np.uint8 and kept.shape == (spec.settings.n_val, *spec.settings.image_size)
    record = {"run_id": "r", "status": "ok", "spec": spec.to_dict(), "data_version": prepared.data_version, **out}
    path = write_predictions(tmp_path, record["run_id"], kept)
    for cls in (BoundaryF, BoundaryIoU, ConfusionMatrix, Trimap):
        assert evaluate_sidecar(record, path, cls) == record["counts"][cls.name]
    record["counts"]["pixel_accuracy"] = evaluate_sidecar(record, path, PixelAccuracy)
    assert record["counts"]["pixel_accuracy"]["total"] == sum(map(sum, record["counts"]["confusion"]["matrix"]))
    wrong = {**record, "data_version": "another"}
    with pytest.raises(ValueError, match="data version"):
        evaluate_sidecar(wrong, path, PixelAccuracy)


def test_a_metric_added_later_from_the_command_line(tmp_path, monkeypatch, capsys):
    """--keep-predictions writes the sidecar; the report fills a newer evaluator's counts from it."""
    from benchmark import report
    from benchmark.records import read_record
    from benchmark.run import main

    runs = tmp_path / "runs"
    assert main(["--method", "ppce", "--scale", "smoke", "--out", str(runs), "--keep-predictions", "--no-progress", "--threads", "1"]) == 0
    (sidecar,) = runs.glob("*.pred.npz")
    (path,) = runs.glob("*.json")
    assert "pixel_accuracy" not in read_record(path)["counts"]
    monkeypatch.setattr(evaluators, "EVALUATORS", [*EVALUATORS, PixelAccuracy])
    rep = report.build_report(runs, tmp_path / "report", "table1", from_predictions=True)
    assert len(rep.updated) == 1 and "pixel_accuracy" in rep.updated[0]
    counts = read_record(path)["counts"]
    assert counts["pixel_accuracy"]["total"] == sum(map(sum, counts["confusion"]["matrix"]))
    assert 0 < rep.tidy["pixel_accuracy"].iloc[0] <= 1


def test_pass_batches_keep_split_order_and_one_size_per_batch():
    from benchmark.evaluators import pass_batches

    sizes = [(4, 5), (4, 5), (5, 4), (4, 5), (4, 5), (4, 5), (3, 5)]
    assert pass_batches(sizes, 2) == [[0, 1], [2], [3, 4], [5], [6]]
    assert pass_batches([(4, 5)] * 5, 2) == [[0, 1], [2, 3], [4]]  # one size: plain consecutive batches
    assert pass_batches([], 4) == []


def test_take_stacks_maps_of_one_size_from_a_tensor_or_a_list():
    from benchmark.evaluators import take

    maps = torch.arange(24).view(4, 2, 3)
    assert torch.equal(take(maps, [1, 2]), maps[1:3])
    assert torch.equal(take(maps, [3, 0]), maps[[3, 0]])
    mixed = [torch.zeros(2, 3), torch.ones(3, 2), torch.full((3, 2), 2.0)]
    assert torch.equal(take(mixed, [1, 2]), torch.stack([mixed[1], mixed[2]]))


def test_kept_predictions_of_several_sizes_round_trip(tmp_path):
    preds = [np.full((3, 4), 1, np.uint8), np.arange(10, dtype=np.uint8).reshape(5, 2), np.zeros((0, 3), np.uint8)]
    path = write_predictions(tmp_path, "run-a", preds)
    back = read_predictions(path)
    assert isinstance(back, list) and [b.shape for b in back] == [(3, 4), (5, 2), (0, 3)]
    for a, b in zip(preds, back):
        np.testing.assert_array_equal(a, b)


def test_counts_of_an_earlier_definition_are_rescored_from_kept_predictions(tmp_path):
    """A record whose boundary counts were made under definition 1 gets them again, under
    today's definition, from its kept predictions: no training."""
    from benchmark import report
    from benchmark.records import read_record, write_record
    from benchmark.run import main

    runs = tmp_path / "runs"
    assert main(["--method", "ppce", "--scale", "smoke", "--out", str(runs), "--keep-predictions", "--no-progress", "--threads", "1"]) == 0
    (path,) = runs.glob("*.json")
    record = read_record(path)
    today = record["counts"]["boundary_f"]
    assert today["definition"] == 2
    record["counts"]["boundary_f"] = {k: v for k, v in today.items() if k != "definition"} | {"gt": [[0] * 19] * 2}
    write_record(runs, record)
    assert evaluators.outdated_evaluators(read_record(path)) == ["boundary_f"]
    rep = report.build_report(runs, tmp_path / "report", "table1", from_predictions=True)
    assert len(rep.updated) == 1 and "boundary_f" in rep.updated[0]
    assert read_record(path)["counts"]["boundary_f"] == today
