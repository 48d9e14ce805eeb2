"""train(spec) -> record at the smoke scale: contents, determinism, failures, the results gate."""

import math

import pytest
import torch

import methods
from benchmark.records import decode_mask
from benchmark.spec import RunSpec
from benchmark.train import train
from methods._functional import pixel_cross_entropy
from methods.registry import unregister_method

#: Results gate (as detectron2's verify_results): a fixed smoke spec and its expected mIoU
#: on CPU. The tolerance absorbs floating-point differences across CPUs and library
#: versions; a change in the trainer, data or metrics that moves the number beyond it
#: must update the value deliberately.
GATE_SPEC = dict(method="ppce", scale="smoke", seed=0)
GATE_MIOU = 0.2208
GATE_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def ppce_record():
    torch.set_num_threads(1)
    return train(RunSpec.create(**GATE_SPEC), progress=False)


def test_record_holds_everything_a_table_needs(ppce_record):
    r = ppce_record
    assert r["status"] == "ok" and r["run_id"].startswith("ppce-streets-s0-")
    m = r["metrics"]
    assert 0 <= m["miou"] <= 1
    counts = r["counts"]
    assert len(m["per_class_iou"]) == 19 and len(counts["confusion"]["matrix"]) == 19
    assert m["trimap"]["widths"] == [1, 2, 3]
    assert len(counts["trimap"]["boundary"]) == 3
    # The confusion matrix counts every non-void validation pixel once.
    assert sum(map(sum, counts["confusion"]["matrix"])) == sum(map(sum, counts["trimap"]["boundary"][0])) + sum(
        map(sum, counts["trimap"]["interior"][0])
    )
    assert r["loss_curve"]["step"] == list(range(2, 13, 2)) and len(r["loss_curve"]["total"]) == 6
    assert len(r["predictions"]) == 2
    pred = decode_mask(next(iter(r["predictions"].values()))["pred"])
    assert pred.shape == (32, 64)
    assert r["threads"] == 1 and r["device"] == "cpu" and r["versions"]["torch"] == torch.__version__
    assert r["versions"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_same_spec_and_threads_give_identical_metrics(ppce_record):
    again = train(RunSpec.create(**GATE_SPEC), progress=False)
    assert again["counts"] == ppce_record["counts"]
    assert again["loss_curve"] == ppce_record["loss_curve"]


def test_results_gate(ppce_record):
    assert GATE_MIOU is not None
    assert ppce_record["metrics"]["miou"] == pytest.approx(GATE_MIOU, abs=GATE_TOLERANCE)


@pytest.mark.parametrize("name", ["ubernet", "ppce_edges", "semeda"])
def test_every_paper_method_trains(name):
    record = train(RunSpec.create(name, scale="smoke", overrides={"steps": 3}), progress=False)
    assert record["status"] == "ok" and math.isfinite(record["metrics"]["miou"])
    if methods.method_class(name).needs_edge_net:
        assert record["edge_net"]["f1"] >= methods.MIN_F1


class _NaNAfterTwoSteps(methods.StructureLoss):
    """PPCE that turns NaN at its third call: a loss that blows up mid-run."""

    name = "test_nan_after_two"

    def __init__(self, *, ignore_index: int = 255):
        super().__init__(ignore_index=ignore_index)
        self.calls = 0

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        self.calls += 1
        loss = pixel_cross_entropy(logits, target, self.ignore_index)
        return {"total": loss * float("nan") if self.calls >= 3 else loss}


def test_non_finite_loss_fails_the_run_with_its_step():
    methods.register_method(_NaNAfterTwoSteps)  # registered only for this test
    try:
        record = train(RunSpec.create("test_nan_after_two", scale="smoke"), progress=False)
    finally:
        unregister_method("test_nan_after_two")
    assert record["status"] == "failed" and record["failed_step"] == 3
    assert "non-finite loss at step 3" in record["reason"]


def test_resumed_run_equals_an_uninterrupted_one(ppce_record):
    import copy

    saved = []
    spec = RunSpec.create(**GATE_SPEC)
    train(spec, progress=False, checkpoint=lambda state: saved.append(copy.deepcopy(state)), checkpoint_every=5)
    assert [s["step"] for s in saved] == [5, 10]
    resumed = train(spec, progress=False, resume=saved[0])
    assert resumed["resumed_from_step"] == 5
    assert resumed["counts"] == ppce_record["counts"]
    assert resumed["loss_curve"] == ppce_record["loss_curve"]
    other = RunSpec.create(**{**GATE_SPEC, "seed": GATE_SPEC.get("seed", 0) + 1})
    with pytest.raises(ValueError, match="cannot resume run"):
        train(other, progress=False, resume=saved[0])


# --------------------------------------------------------------------------- speed levers

#: The fast step settings of the agreement suite, and channels-last alone (no compilation).
LEVERS = [{"memory_format": "channels_last"}, {"memory_format": "channels_last", "compile": True, "precision": "bf16"}]


@pytest.mark.timeout(600)  # compiling the loss takes tens of seconds on a busy 2-core CPU
@pytest.mark.parametrize("levers", LEVERS, ids=lambda levers: "+".join(f"{k}={v}" for k, v in levers.items()))
def test_a_run_on_the_speed_levers_trains_and_resumes(levers):
    import copy

    from benchmark.models import build_model

    spec = RunSpec.create("semeda", scale="smoke", overrides=levers)
    saved = []
    record = train(spec, progress=False, checkpoint=lambda state: saved.append(copy.deepcopy(state)), checkpoint_every=5)
    assert record["status"] == "ok" and all(math.isfinite(v) for v in record["loss_curve"]["total"])
    assert math.isfinite(record["metrics"]["miou"]) and record["spec"]["settings"].items() >= levers.items()
    # the network's state dict is an uncompiled network's, so checkpoints and weights load anywhere
    plain = build_model("deeplabv2_small", 19, width=spec.settings.width).state_dict()
    assert {k: v.shape for k, v in saved[0]["model"].items()} == {k: v.shape for k, v in plain.items()}
    resumed = train(spec, progress=False, resume=saved[0])
    assert resumed["counts"] == record["counts"] and resumed["loss_curve"] == record["loss_curve"]


def test_levers_leave_the_evaluation_uncompiled_at_every_image_size():
    """Evaluation runs the network, never the compiled loss: images of several sizes (VOC's
    have many) compile nothing, and channels-last scores match the default layout's."""
    from torch._dynamo.utils import counters

    from benchmark.models import build_model
    from benchmark.step import apply_levers, in_memory_format

    torch.manual_seed(0)
    model = build_model("deeplabv2_small", 19, width=8).eval()
    fast = build_model("deeplabv2_small", 19, width=8).eval()
    fast.load_state_dict(model.state_dict())
    apply_levers(fast, methods.build_method("ppce"), memory_format="channels_last", compile=True)
    graphs = counters["stats"]["unique_graphs"]
    with torch.inference_mode():
        for h, w in ((32, 64), (37, 50), (50, 37), (64, 64)):
            images = torch.rand(2, 3, h, w)
            ours = fast(in_memory_format(images, "channels_last"))["logits"]
            assert ours.shape == (2, 19, h, w) and ours.is_contiguous()
            torch.testing.assert_close(ours, model(images)["logits"], rtol=1e-4, atol=1e-5)
    assert counters["stats"]["unique_graphs"] == graphs
    with pytest.raises(ValueError, match="memory_format must be one of contiguous, channels_last"):
        apply_levers(fast, methods.build_method("ppce"), memory_format="nhwc")
