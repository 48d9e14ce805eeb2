"""The training protocol: the one step with clipping, the divergence rule, the choices the paper
leaves open (channel reading, edge-net fitting input), the sensitivity study and one run identity
that carries any loss and any dataset to the tables."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import methods
from benchmark import report
from benchmark.data import registry as data_registry
from benchmark.data import DatasetInfo, CITYSCAPES_CLASSES
from benchmark.divergence import diverged, record_diverged
from benchmark.records import write_record
from benchmark.spec import RunSpec, row_key, row_label
from benchmark.step import read_back, train_step
from benchmark.suites import SENSITIVITY_CHOICES, SUITES, expand
from methods._functional import pixel_cross_entropy
from methods.registry import unregister_method
from methods.semeda import difference_l1


# --------------------------------------------------------------------------- the step


class _Two(nn.Module):
    """Two parameters; the 'logits' are w broadcast over a 1x1 image."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 2.0]))

    def forward(self, x):
        return {"logits": self.w.view(1, 2, 1, 1)}


class _Linear(nn.Module):
    """total = 3 w0 + 4 w1: the gradient is (3, 4), its norm 5, whatever w is."""

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        total = 3 * logits[0, 0, 0, 0] + 4 * logits[0, 1, 0, 0]
        return {"total": total}


def _step(clip):
    model = _Two()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    images, target = torch.zeros(1, 3, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long)
    result = train_step(model, _Linear(), opt, None, scaler, images, target, None, grad_clip=clip, normalise=False)
    return model.w.detach(), result


def test_clipping_applies_exactly_the_clipped_update():
    w, result = _step(1.0)
    # gradient (3, 4), norm 5, rescaled to norm 1: (0.6, 0.8); SGD lr 0.1
    assert w.tolist() == pytest.approx([1.0 - 0.06, 2.0 - 0.08], abs=1e-6)
    assert result.grad_norm == pytest.approx(5.0) and result.clipped
    w, result = _step(10.0)  # above the norm: untouched
    assert w.tolist() == pytest.approx([0.7, 1.6], abs=1e-6) and not result.clipped
    w, result = _step(None)  # off: the plain step
    assert w.tolist() == pytest.approx([0.7, 1.6], abs=1e-6) and result.grad_norm == pytest.approx(5.0)


def test_a_non_finite_loss_stops_before_any_change():
    class NaNLoss(nn.Module):
        def forward(self, logits, target, **_):
            return {"total": logits.sum() * float("nan")}

    model = _Two()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError):
        train_step(model, NaNLoss(), opt, None, torch.amp.GradScaler("cuda", enabled=False), torch.zeros(1, 3, 1, 1),
                   torch.zeros(1, 1, 1, dtype=torch.long), None, normalise=False)  # fmt: skip
    assert model.w.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_one_read_back_gives_the_floats_item_gives(dtype):
    g = torch.Generator().manual_seed(0)
    special = torch.tensor([0.0, -0.0, 1e-40, -1e-45, 3.4e38, math.inf, -math.inf, 1 / 3, 0.1, 65504.0])
    values = torch.cat([special, torch.randn(200, generator=g) * 10 ** torch.randint(-30, 30, (200,), generator=g).float()]).to(dtype)
    terms = {f"t{i}": v for i, v in enumerate(values[:-1])}
    read, norm = read_back(terms, values[-1])
    assert list(read) == list(terms)
    for name, v in terms.items():
        assert read[name] == v.item() and math.copysign(1, read[name]) == math.copysign(1, v.item()), (name, v)
    assert norm == values[-1].item()
    nan, _ = read_back({"total": torch.tensor(math.nan, dtype=dtype)}, torch.zeros(()))
    assert math.isnan(nan["total"])


def test_small_scale_clips_and_paper_scale_does_not():
    assert RunSpec.create(scale="small").settings.grad_clip == 30.0
    assert RunSpec.create(scale="paper", dataset="cityscapes", backbone="deeplabv2_resnet101").settings.grad_clip is None


# --------------------------------------------------------------------------- divergence


LOG19 = math.log(19)  # 2.944


def test_divergence_rule_on_hand_written_curves():
    steps = list(range(10, 101, 10))
    healthy = [3.0, 2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    explodes = [3.0, 31.0, 2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6]  # 31 > 10 log 19 = 29.4 once
    never_learns = [3.0, 3.0, 2.9, 2.9, 2.8, 2.9, 2.8, 2.8, 2.7, 2.7]  # last tenth 2.7 > 0.9 log 19 = 2.65
    recovers = [3.0, 3.0, 2.9, 2.9, 2.8, 2.9, 2.8, 2.8, 2.7, 2.6]  # last window 2.6 < 2.65
    assert not diverged(steps, healthy, 19, 100)
    assert diverged(steps, explodes, 19, 100)
    assert diverged(steps, never_learns, 19, 100)
    assert not diverged(steps, recovers, 19, 100)
    assert record_diverged({"status": "failed", "reason": "non-finite loss at step 3: {}"}, 19) is True
    assert record_diverged({"status": "ok", "loss_curve": {}}, 19) is None
    record = {"status": "ok", "spec": {"settings": {"steps": 100}}, "loss_curve": {"step": steps, "ppce": explodes}}
    assert record_diverged(record, 19) is True


# --------------------------------------------------------------------------- the paper's open choices


def test_channels_mean_is_sum_over_channel_count():
    # two channels, two pixels: |d| per pixel summed over channels = 3 and 7; mean of both = 5
    d = torch.tensor([[[[1.0, -3.0]], [[2.0, 4.0]]]])  # [1, 2, 1, 2]
    valid = torch.ones(1, 1, 2, dtype=torch.bool)
    assert difference_l1(d, valid, "sum").item() == pytest.approx(5.0)
    assert difference_l1(d, valid, "mean").item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="channels must be one of sum, mean"):
        methods.build_method("semeda", channels="max")
    assert "channels=mean" in row_label(row_key("semeda", {"lambdas": (0, 1, 0), "channels": "mean"}))


def test_edge_net_peaks_are_drawn_in_the_range():
    from methods.edge_net import alpha_for_peak, check_peak, draw_alphas

    g = torch.Generator().manual_seed(0)
    alphas = draw_alphas(2000, (0.3, 0.99), 19, g)
    peaks = alphas.double().exp() / (alphas.double().exp() + 18)  # softmax peak of alpha * onehot
    assert peaks.min() >= 0.3 - 1e-6 and peaks.max() <= 0.99 + 1e-6
    assert peaks.min() < 0.35 and peaks.max() > 0.95  # the whole range is drawn
    assert abs(peaks.mean().item() - 0.645) < 0.02  # uniform: the mean is the midpoint
    assert draw_alphas(5, 0.9, 19, g) == pytest.approx(alpha_for_peak(0.9, 19))
    with pytest.raises(ValueError, match="0 < low <= high < 1"):
        check_peak((0.5, 1.0))


def test_edge_net_fitted_on_a_range_keeps_its_range():
    masks = torch.zeros(8, 16, 16, dtype=torch.long)
    masks[:, 4:12, 4:12] = 1
    net = methods.fit_edge_net(masks, 3, peak=(0.4, 0.95), steps=5)
    assert net.info.peak == (0.4, 0.95) and math.isnan(net.info.alpha)


def test_preparation_is_keyed_by_its_settings():
    from benchmark.prepare import preparation_key

    a = RunSpec.create("semeda", scale="smoke")
    b = RunSpec.create("semeda", scale="smoke", overrides={"edge_net_peak": (0.3, 0.99)})
    c = RunSpec.create("ppce", scale="smoke", overrides={"steps": 5})
    assert preparation_key(a) != preparation_key(b)  # two fitting inputs never share an edge net
    assert preparation_key(a) == preparation_key(c)  # the schedule does not change the preparation


# --------------------------------------------------------------------------- suites


def test_suite_rows_carry_their_own_overrides():
    specs = expand("sensitivity", seeds=1)
    by_label = {}
    for s in specs:
        by_label.setdefault(s.label(), []).append(s.settings)
    ppce = by_label["ppce"]
    assert sorted((st.grad_clip is None, st.lr) for st in ppce) == [(False, 0.005), (True, 0.0005), (True, 0.005)]
    assert [st.edge_net_peak for st in by_label["ppce_edges(1)"]].count((0.3, 0.99)) == 1
    assert "semeda(0,1,0) before ReLU channels=mean" in by_label
    assert "ppce channels=mean" not in by_label  # a choice applies to the rows it means something for
    # choices x rows: clipping's default (5 rows and SEMEDA (0,0,1)), clipping off, the learning rate, the channel
    # reading (3 SEMEDA rows), the fitting input (4 edge-net rows), the distance (2 rows), psi^3 (1 row)
    assert len(specs) == 6 + 5 + 5 + 3 + 4 + 2 + 1
    # a user's --set applies to every row; a row's own override wins over it
    clipped = expand("sensitivity", seeds=1, overrides={"grad_clip": 5.0, "steps": 7})
    assert {(s.settings.grad_clip, s.settings.steps) for s in clipped} == {(5.0, 7), (None, 7)}


# --------------------------------------------------------------------------- a new loss, a new dataset


@pytest.fixture
def toy_loss():
    @methods.register_method
    class ScaledCE(methods.StructureLoss):
        """PPCE + lambda * tau * PPCE: a loss with a float parameter of its own."""

        name = "toy_scaled"
        num_lambdas = 1
        default_lambdas = (1.0,)

        def __init__(self, *, lambdas=None, tau: float = 1.0, ignore_index: int = 255):
            super().__init__(lambdas=lambdas, ignore_index=ignore_index)
            self.tau = float(tau)

        @property
        def params(self):
            return {**super().params, "tau": self.tau}

        def forward(self, logits, target, *, edges=None, edge_logits=None):
            ppce = pixel_cross_entropy(logits, target, self.ignore_index)
            return {"ppce": ppce, "total": ppce + self.lambdas[0] * self.tau * ppce}

    yield ScaledCE
    unregister_method("toy_scaled")


@pytest.fixture
def toy_dataset():
    info = DatasetInfo(
        "toy_streets", 19, CITYSCAPES_CLASSES, reader="cityscapes", layout="Cityscapes layout", synthetic=True,
        image_size=(32, 64), title="toy streets", stands_for="Cityscapes", palette="cityscapes", generator="streets",
    )  # fmt: skip
    data_registry.register_dataset(info)
    yield info
    data_registry.unregister_dataset("toy_streets")


def test_a_loss_with_its_own_parameter_gets_two_rows(toy_loss, tmp_path):
    from benchmark.train import train

    torch.set_num_threads(1)
    for tau in (0.5, 2.0):
        spec = RunSpec.create("toy_scaled", params={"tau": tau}, scale="smoke")
        write_record(tmp_path, train(spec, progress=False))
    write_record(tmp_path, train(RunSpec.create("ppce", scale="smoke"), progress=False))
    tidy, warnings = report.load_tidy(tmp_path)
    assert set(tidy["label"]) == {"ppce", "toy_scaled(1) tau=0.5", "toy_scaled(1) tau=2"}
    t2 = report.table2(tidy, warnings)
    rows = t2[t2["method"] == "toy_scaled"]
    assert sorted(set(rows["method_name"])) == ["toy_scaled(1) tau=0.5", "toy_scaled(1) tau=2"]
    assert rows["n"].max() == 1 and not any("2 records" in w for w in warnings)


def test_a_registered_dataset_reaches_a_table(toy_dataset, tmp_path):
    from benchmark.train import train

    torch.set_num_threads(1)
    for method in ("ppce", "ubernet"):
        write_record(tmp_path, train(RunSpec.create(method, scale="smoke", dataset="toy_streets"), progress=False))
    tidy, warnings = report.load_tidy(tmp_path)
    t2 = report.table2(tidy, warnings)
    ours = t2[(t2["dataset"] == "toy_streets") & (t2["n"] == 1)]
    assert set(ours["column"]) == {"Cityscapes"} and len(ours) == 2
    assert "toy streets stands for Cityscapes" in report.table_markdown("table2", t2)


# --------------------------------------------------------------------------- the sensitivity table


def _record(method, params, seed, miou, overrides=None, curve=None):
    spec = RunSpec.create(method, params=params, scale="smoke", seed=seed, overrides=overrides)
    rid = f"{spec.run_id()}"
    return {"run_id": rid, "spec": spec.to_dict(), "status": "ok", "label": spec.label(), "metrics": {"miou": miou},
            "loss_curve": curve or {"step": [10, 12], "ppce": [2.0, 1.0]}}  # fmt: skip


def test_sensitivity_table_pairs_under_the_same_choice(tmp_path):
    paper_lr = {"grad_clip": None, "lr": 5e-4}
    exploded = {"step": [10, 12], "ppce": [99.0, 3.0]}  # 99 > 10 log 19: diverged
    for seed, (base, semeda, base_lr, semeda_lr, mean) in enumerate(((0.50, 0.53, 0.40, 0.30, 0.52), (0.52, 0.53, 0.42, 0.34, 0.55))):
        write_record(tmp_path, _record("ppce", {}, seed, base))
        write_record(tmp_path, _record("semeda", {"lambdas": (0, 1, 0)}, seed, semeda))
        write_record(tmp_path, _record("ppce", {}, seed, base_lr, paper_lr))
        write_record(tmp_path, _record("semeda", {"lambdas": (0, 1, 0)}, seed, semeda_lr, paper_lr, curve=exploded))
        write_record(tmp_path, _record("semeda", {"lambdas": (0, 1, 0), "channels": "mean"}, seed, mean))
    tidy, _ = report.load_tidy(tmp_path)
    from benchmark.report.sensitivity import sensitivity_markdown, sensitivity_table

    t = sensitivity_table(tidy)
    semeda = "semeda(0,1,0) before ReLU"

    def cell(value, column=semeda):
        return t[(t["value"] == value) & (t["column"] == column)].iloc[0]

    assert cell("default")["ours_mean"] == pytest.approx(53.0) and cell("default")["diff_mean"] == pytest.approx(2.0)  # 3, 1
    lr = cell("paper's (5e-4, x10 head), no clipping")
    # paired with PPCE under the same learning rate: 30 - 40 and 34 - 42
    assert lr["diff_mean"] == pytest.approx(-9.0) and lr["n_diverged"] == 2
    assert cell("paper's (5e-4, x10 head), no clipping", "ppce")["ours_mean"] == pytest.approx(41.0)
    # the channel reading cannot change PPCE: paired with the default PPCE, 2 and 3
    assert cell("mean over channels")["diff_mean"] == pytest.approx(2.5)
    # the smoke scale does not clip: "clipping off" is its default protocol
    assert cell("off")["ours_mean"] == pytest.approx(53.0)
    text = sensitivity_markdown(t)
    assert "| gradient clipping | default |" in text and "diverged 2/2" in text


def test_sensitivity_dry_run_lists_its_runs(capsys, tmp_path):
    from benchmark.run import main

    assert main(["--suite", "sensitivity", "--dry-run", "--out", str(tmp_path / "runs"), "--seeds", "1", "--scale", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "channels=mean" in out and "21 runs" in out  # the smoke scale does not clip: "clipping off" is its default
    assert SUITES["sensitivity"].seeds == 3 and len(SENSITIVITY_CHOICES) == 7
    assert "norm=l2" in out and "third=softmax" in out


def test_freed_memory_stays_in_the_process():
    import ctypes
    import sys

    from benchmark.allocator import keep_freed_memory

    try:
        ctypes.CDLL("libc.so.6").mallopt
        glibc = sys.platform.startswith("linux")
    except (OSError, AttributeError):
        glibc = False
    assert keep_freed_memory() is glibc and keep_freed_memory() is glibc  # idempotent


def test_holm_and_paired_p_by_hand():
    from benchmark.report.stats import holm, paired_p_value

    # sorted 0.01 <= 0.05/3; 0.03 > 0.05/2 stops the procedure
    assert holm({"a": 0.01, "b": 0.03, "c": 0.04}) == {"a": True, "b": False, "c": False}
    assert holm({"a": 0.01, "b": 0.02, "c": 0.04}) == {"a": True, "b": True, "c": True}
    assert holm({"a": float("nan"), "b": 0.01}) == {"a": False, "b": True}  # NaN left out of the family
    # differences 3, 4, 5: t = 4 / (1 / sqrt 3) = 6.928 on 2 df; for 2 df the tail is
    # 1/2 - t / (2 sqrt(t^2 + 2)), so p = 1 - t / sqrt(t^2 + 2) = 0.020204
    t = 4 * math.sqrt(3)
    assert paired_p_value([3.0, 4.0, 5.0]) == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9)
    assert paired_p_value([3.0, 4.0, 5.0]) == pytest.approx(0.020204, abs=1e-6)
    assert math.isnan(paired_p_value([1.0]))


def test_gradient_norm_statistics():
    from benchmark.train import GradNorms

    norms = GradNorms(clip=30.0)
    for value, clipped in ((5.0, False), (1.0, False), (40.0, True), (float("inf"), True)):
        norms.add(value, clipped)  # the inf of a step the loss scaler skipped is left out
    assert norms.summary() == {"clip": 30.0, "median": 5.0, "max": 40.0, "first_100_max": 40.0, "clipped_share": 1 / 3}
