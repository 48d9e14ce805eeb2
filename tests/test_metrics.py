"""Metrics against hand-computed values and against the Cityscapes evaluator."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from benchmark.metrics import (
    PAPER_WIDTHS,
    SMALL_WIDTHS,
    confusion_matrix,
    edge_distance,
    mean_iou,
    per_class_iou,
    trimap_confusion,
    trimap_miou,
)

V = 255  # void
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long)


# --------------------------------------------------------------------------- confusion


@pytest.mark.parametrize("device", DEVICES)
def test_confusion_matrix_by_hand(device):
    target = t([[0, 0, 1], [2, V, 1]]).to(device)
    pred = t([[0, 1, 1], [2, 0, 0]]).to(torch.uint8).to(device)
    # (gt, pred) pairs: (0,0) (0,1) (1,1) (2,2) [void skipped] (1,0)
    expected = t([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    conf = confusion_matrix(pred, target, num_classes=3)
    assert conf.dtype == torch.int64
    assert conf.device.type == device
    assert torch.equal(conf.cpu(), expected)


def test_confusion_matrix_3x3_custom_ignore():
    target = t([[0, 1, 2], [-1, 2, 2], [1, 1, -1]])
    pred = t([[0, 2, 2], [1, 1, 2], [1, 0, 0]])
    expected = t([[1, 0, 0], [1, 1, 1], [0, 1, 2]])
    assert torch.equal(confusion_matrix(pred, target, 3, ignore_index=-1), expected)


@pytest.mark.parametrize(
    "pred, target",
    [
        (t([[0, 3]]), t([[0, 1]])),  # prediction out of range
        (t([[0, 1]]), t([[0, 3]])),  # target out of range and not void
        (t([[0, -1]]), t([[0, 1]])),
        (torch.zeros(1, 2), t([[0, 1]])),  # logits instead of ids
        (t([[0, 1, 1]]), t([[0, 1]])),  # shape mismatch
    ],
)
def test_confusion_matrix_rejects_bad_input(pred, target):
    with pytest.raises(ValueError):
        confusion_matrix(pred, target, num_classes=3)


def test_per_class_iou_and_mean_iou_by_hand():
    # class 2: absent from GT and prediction -> NaN, left out of the mean;
    # class 3: predicted once but absent from GT -> IoU 0, counted.
    conf = t([[3, 1, 0, 0], [0, 2, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    iou = per_class_iou(conf)
    assert iou.dtype == np.float64
    np.testing.assert_allclose(iou[[0, 1, 3]], [3 / 4, 2 / 4, 0.0], rtol=0, atol=1e-15)
    assert math.isnan(iou[2])
    assert mean_iou(conf) == pytest.approx((3 / 4 + 2 / 4 + 0.0) / 3, abs=1e-15)
    assert mean_iou(conf.numpy()) == pytest.approx(mean_iou(conf), abs=0)


def test_mean_iou_of_empty_matrix_is_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(mean_iou(torch.zeros(3, 3, dtype=torch.long)))
        assert np.isnan(per_class_iou(np.zeros((3, 3)))).all()


def test_perfect_prediction_gives_one():
    target = t([[[0, 1], [2, V]]])
    assert mean_iou(confusion_matrix(target.clamp(max=2), target, 3)) == 1.0


# --------------------------------------------------------------------------- distance


@pytest.mark.parametrize("device", DEVICES)
def test_edge_distance_by_hand(device):
    vertical = t([[0, 0, 1, 1, 1]] * 5)  # edges: columns 1 and 2
    corner = torch.zeros(5, 5, dtype=torch.long)
    corner[0, 0] = 1  # edges: (0,0), (0,1), (1,0), (1,1)
    flat = torch.full((5, 5), 4, dtype=torch.long)  # no edge at all
    dist = edge_distance(torch.stack([vertical, corner, flat]).to(device))
    assert dist.dtype == torch.float32 and dist.shape == (3, 5, 5)
    assert dist.device.type == device
    dist = dist.cpu().double()

    expected_vertical = torch.tensor([[1.0, 0, 0, 1, 2]] * 5, dtype=torch.float64)
    r2, r5, r8, r13, r18 = (math.sqrt(v) for v in (2, 5, 8, 13, 18))
    expected_corner = torch.tensor(
        [
            [0, 0, 1, 2, 3],
            [0, 0, 1, 2, 3],
            [1, 1, r2, r5, math.sqrt(10)],
            [2, 2, r5, r8, r13],
            [3, 3, math.sqrt(10), r13, r18],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(dist[0], expected_vertical, rtol=0, atol=1e-6)
    torch.testing.assert_close(dist[1], expected_corner, rtol=0, atol=1e-6)
    assert torch.isinf(dist[2]).all() and (dist[2] > 0).all()


# --------------------------------------------------------------------------- trimap

# 6x6 mask: class 0 in columns 0-1, class 1 in columns 2-5, void in the bottom-right
# corner. Edges: columns 1 and 2, plus the three class-1 neighbours of the void pixel.
TRIMAP_TARGET = t(
    [
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, V],
    ]
)
# Distance to the nearest edge pixel (the void pixel's own value is irrelevant).
TRIMAP_DISTANCE = t(
    [
        [1, 0, 0, 1, 2, 3],
        [1, 0, 0, 1, 2, 3],
        [1, 0, 0, 1, 2, 2],
        [1, 0, 0, 1, 1, 1],
        [1, 0, 0, 1, 0, 0],
        [1, 0, 0, 1, 0, 1],
    ]
)
# Band masks (non-void pixels with distance < w) for widths 1, 2, 3.
TRIMAP_BANDS = {
    1: t(
        [
            [0, 1, 1, 0, 0, 0],
            [0, 1, 1, 0, 0, 0],
            [0, 1, 1, 0, 0, 0],
            [0, 1, 1, 0, 0, 0],
            [0, 1, 1, 0, 1, 1],
            [0, 1, 1, 0, 1, 0],
        ]
    ),
    2: t(
        [
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 0],
        ]
    ),
    3: t(
        [
            [1, 1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 0],
        ]
    ),
}
# Prediction: boundary one column too far right (column 2 predicted 0), one interior
# error at (0, 5), and a class at the void pixel that must not count anywhere.
TRIMAP_PRED = t(
    [
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 0],
    ]
)
TRIMAP_BOUNDARY = t([[[6, 0], [6, 3]], [[12, 0], [6, 11]], [[12, 0], [6, 15]]])
TRIMAP_INTERIOR = t([[[6, 0], [1, 13]], [[0, 0], [1, 5]], [[0, 0], [1, 1]]])
TRIMAP_PLAIN = t([[12, 0], [7, 16]])


def test_trimap_distance_and_band_masks_by_hand():
    dist = edge_distance(TRIMAP_TARGET[None])[0]
    non_void = TRIMAP_TARGET != V
    assert torch.equal(dist[non_void], TRIMAP_DISTANCE.float()[non_void])
    for w, band in TRIMAP_BANDS.items():
        assert torch.equal((dist < w) & non_void, band.bool()), f"width {w}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cached", [False, True])
# distances here are integers, so (0.5, 1.5, 2.5) selects the same bands as (1, 2, 3)
@pytest.mark.parametrize("widths", [(1, 2, 3), (0.5, 1.5, 2.5)])
@pytest.mark.parametrize("ignore", [V, -1])
def test_trimap_confusion_by_hand(device, cached, widths, ignore):
    target = TRIMAP_TARGET.masked_fill(TRIMAP_TARGET == V, ignore)[None].to(device)
    pred = TRIMAP_PRED[None].to(device)
    distance = edge_distance(target, ignore) if cached else None
    boundary, interior = trimap_confusion(
        pred, target, widths, 2, ignore_index=ignore, distance=distance
    )
    assert boundary.dtype == interior.dtype == torch.int64
    assert boundary.device.type == device
    assert torch.equal(boundary.cpu(), TRIMAP_BOUNDARY)
    assert torch.equal(interior.cpu(), TRIMAP_INTERIOR)
    assert torch.equal(confusion_matrix(pred, target, 2, ignore).cpu(), TRIMAP_PLAIN)

    band_miou, interior_miou = trimap_miou(boundary, interior)
    np.testing.assert_allclose(
        band_miou, [(1 / 2 + 1 / 3) / 2, (2 / 3 + 11 / 17) / 2, (2 / 3 + 5 / 7) / 2]
    )
    # interior at widths 2, 3: class 0 is predicted once but absent from GT -> IoU 0
    np.testing.assert_allclose(interior_miou, [(6 / 7 + 13 / 14) / 2, 5 / 12, 1 / 4])


def test_trimap_image_without_edges():
    target = torch.ones(1, 4, 4, dtype=torch.long)
    pred = t([[[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1]]])
    boundary, interior = trimap_confusion(pred, target, (1, 2, 3), 2)
    assert not boundary.any()
    expected = t([[0, 0], [3, 13]])
    assert torch.equal(interior, expected.expand(3, 2, 2))
    band_miou, interior_miou = trimap_miou(boundary, interior)
    assert np.isnan(band_miou).all()
    np.testing.assert_allclose(interior_miou, [(0 + 13 / 16) / 2] * 3)


@pytest.mark.parametrize("widths", [(1, 2), (1, 2.5)])  # integer and general widths
def test_trimap_uses_the_given_distance(widths):
    target = t([[[0, 1], [V, 1]]])
    pred = t([[[1, 1], [0, 0]]])
    distance = torch.tensor([[[0.99, 1.0], [0.0, 1.99]]])
    boundary, interior = trimap_confusion(pred, target, widths, 2, distance=distance)
    # width 1: pixel (0,0) only; second width: the three non-void pixels
    assert torch.equal(boundary, t([[[0, 1], [0, 0]], [[0, 1], [1, 1]]]))
    assert torch.equal(interior, t([[[0, 0], [1, 1]], [[0, 0], [0, 0]]]))


def test_trimap_huge_width_covers_every_pixel():
    target, pred = TRIMAP_TARGET[None], TRIMAP_PRED[None]
    boundary, interior = trimap_confusion(pred, target, (1, 10**7), 2)
    assert torch.equal(boundary[0], TRIMAP_BOUNDARY[0])
    assert torch.equal(boundary[1], TRIMAP_PLAIN)
    assert not interior[1].any()


def test_trimap_band_plus_interior_is_plain_matrix():
    gen = torch.Generator().manual_seed(0)
    # blocky labels (upsampled 8x) so there are regions and boundaries, plus void
    coarse = torch.randint(0, 5, (3, 12, 16), generator=gen)
    target = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    target[torch.rand(target.shape, generator=gen) < 0.05] = V
    pred = torch.randint(0, 5, target.shape, generator=gen)
    plain = confusion_matrix(pred, target, 5)
    for widths in (SMALL_WIDTHS, PAPER_WIDTHS, (0.5, 1.5)):
        boundary, interior = trimap_confusion(pred, target, widths, 5)
        assert boundary.shape == (len(widths), 5, 5)
        assert torch.equal(boundary + interior, plain.expand_as(boundary))
        # bands grow with the width
        assert (boundary.sum((1, 2)).diff() >= 0).all()
    assert boundary.sum() > 0 and interior.sum() > 0


@pytest.mark.parametrize(
    "widths", [(2, 1), (0, 1), (1, 1), (-1, 2), (), (1, math.inf), (math.nan, 2)]
)
def test_trimap_rejects_bad_widths(widths):
    target = torch.zeros(1, 3, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="width"):
        trimap_confusion(target, target, widths, 2)


def test_trimap_rejects_distance_of_wrong_shape():
    target = torch.zeros(1, 3, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="distance"):
        trimap_confusion(target, target, (1,), 2, distance=torch.zeros(1, 3, 4))


def test_default_widths():
    assert SMALL_WIDTHS == (1, 2, 3, 5, 8)
    assert PAPER_WIDTHS == (1, 2, 3, 5, 10, 20, 40)


# --------------------------------------------------------------------------- Cityscapes


def test_mean_iou_agrees_with_cityscapes_evaluator(tmp_path):
    """Same data through cityscapesscripts' evaluator (label ids) and ours (train ids)."""
    import cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling as ev
    from cityscapesscripts.helpers.labels import id2label, labels
    from PIL import Image

    # A private args object, so the module's global (built from env vars) is untouched;
    # no instance-level score, hence no *_instanceIds.png and no avgClassSize lookup.
    args = ev.CArgs()
    args.evalInstLevelScore = False
    args.evalPixelAccuracy = False
    eval_conf = ev.generateMatrix(args)  # sets args.evalLabels: every id >= 0

    all_ids = [lab.id for lab in labels if lab.id >= 0]
    evaluated = [lab for lab in labels if not lab.ignoreInEval]
    evaluated.sort(key=lambda lab: lab.trainId)
    eval_ids = [lab.id for lab in evaluated]  # label id of train id 0..18
    assert len(eval_ids) == 19
    lut = np.full(256, V, dtype=np.int64)
    for i in all_ids:
        train_id = id2label[i].trainId
        lut[i] = V if train_id in (255, -1) else train_id

    rng = np.random.default_rng(0)
    absent = id2label[31].id  # 'train': absent from GT and prediction -> NaN in both
    predicted_only = id2label[32].id  # 'motorcycle': predicted, never in GT -> IoU 0
    gt_ids = [i for i in all_ids if i not in (absent, predicted_only)]  # voids included
    pred_ids = [i for i in eval_ids if i != absent]
    ours = torch.zeros(19, 19, dtype=torch.long)
    for n in range(3):
        gt = rng.choice(gt_ids, size=(12, 20)).astype(np.uint8)
        gt[:4, :6] = 0  # an 'unlabeled' block
        gt[-2:, :] = id2label[3].id  # 'out of roi'
        pred = gt.copy()
        noise = rng.random(gt.shape) < 0.6
        pred[noise] = rng.choice(pred_ids, size=int(noise.sum()))
        pred[lut[pred] == V] = eval_ids[0]  # a network predicts evaluated classes only
        gt_file, pred_file = tmp_path / f"gt{n}.png", tmp_path / f"pred{n}.png"
        Image.fromarray(gt).save(gt_file)
        Image.fromarray(pred).save(pred_file)
        ev.evaluatePair(str(pred_file), str(gt_file), eval_conf, None, {}, args)
        ours += confusion_matrix(
            torch.from_numpy(lut[pred]), torch.from_numpy(lut[gt]), num_classes=19
        )

    # The evaluator's matrix restricted to evaluated classes is ours.
    assert eval_conf[0].sum() > 0 and eval_conf[3].sum() > 0  # void GT was evaluated
    reference = eval_conf[np.ix_(eval_ids, eval_ids)].astype(np.int64)
    np.testing.assert_array_equal(ours.numpy(), reference)
    scores = {
        id2label[i].name: ev.getIouScoreForLabel(i, eval_conf, args)
        for i in args.evalLabels
    }
    ref_iou = np.array([scores[lab.name] for lab in evaluated])
    iou = per_class_iou(ours)
    np.testing.assert_array_equal(np.isnan(iou), np.isnan(ref_iou))
    assert np.isnan(iou[id2label[absent].trainId])
    assert iou[id2label[predicted_only].trainId] == 0.0
    np.testing.assert_allclose(iou, ref_iou, rtol=0, atol=1e-12, equal_nan=True)
    assert abs(mean_iou(ours) - ev.getScoreAverage(scores, args)) < 1e-9
