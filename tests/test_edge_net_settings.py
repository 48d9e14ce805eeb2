"""The edge net's fitting settings: the embedded scales' runs and edge nets stay what they were.

``edge_net_sampling`` and ``edge_net_balance`` came after records began. At their field
defaults (today's fit) they are left out of the run id and of the preparation key, and the
fit gives the same weights bit for bit; the paper scale turns both on. The pinned strings
and digests below were computed with the code as it was before these settings existed (a
digest of weights on each kind of CPU it ran on: their last bits follow the CPU's kernels).
"""

import hashlib
from dataclasses import fields

import pytest
import torch

import methods
from benchmark.data import load_split
from benchmark.perf.machine import machine
from benchmark.prepare import PREPARATION_SETTINGS, prepare, preparation_key
from benchmark.spec import SCALES, UNSTATED_SETTINGS, RunSpec, Settings, scale_settings

NEW = ("edge_net_sampling", "edge_net_balance")


def digest(tensors) -> str:
    h = hashlib.sha256()
    for name, t in tensors:
        h.update(name.encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


#: The CPUs the earlier code's fits were digested on, as ``cpu_kind`` names them: the last bits
#: of a fit's weights follow the CPU's convolution kernels, so each kind has its own digest.
AMD_AVX512, INTEL_AVX512 = ("AMD", "AVX512"), ("Intel(R)", "AVX512")


def cpu_kind() -> tuple[str, str]:
    """(the first word of the CPU's model name, torch's CPU capability), e.g. ("AMD", "AVX512")."""
    return machine()["cpu"].split()[0], torch.backends.cpu.get_cpu_capability()


def pinned_for_this_cpu(digests: dict) -> str:
    """The digest ``digests`` pins for this CPU's kind; skips the test on a kind the earlier code
    never ran on (its digest there is unknown, not wrong)."""
    kind = cpu_kind()
    if kind not in digests:
        pytest.skip(f"no earlier fit digested on a {kind[0]} CPU with {kind[1]} (known: {sorted(digests)})")
    return digests[kind]


def test_the_new_settings_are_unstated_at_today_s_fit_and_on_at_paper_scale():
    defaults = {f.name: f.default for f in fields(Settings)}
    assert (defaults["edge_net_sampling"], defaults["edge_net_balance"]) == ("uniform", False)
    assert set(NEW) <= set(UNSTATED_SETTINGS) and set(NEW) <= set(PREPARATION_SETTINGS)
    for scale in ("smoke", "small"):
        assert (SCALES[scale].edge_net_sampling, SCALES[scale].edge_net_balance) == ("uniform", False)
    paper = scale_settings("paper", "cityscapes")
    assert (paper.edge_net_sampling, paper.edge_net_balance) == ("edges", True)
    with pytest.raises(ValueError, match="edge_net_sampling must be uniform or edges"):
        scale_settings("small", edge_net_sampling="centred")


@pytest.mark.parametrize(
    "method, scale, dataset, run_id, with_data, key",
    [
        ("ppce", "small", "streets", "ppce-streets-s0-3b7acfe74913", "ppce-streets-s0-88ef74c43468", "streets-ff9f3d4874dd"),
        ("semeda", "small", "streets", "semeda-streets-s0-d1dd882cb677", "semeda-streets-s0-e16f44718d28", "streets-ff9f3d4874dd"),
        ("semeda", "smoke", "streets", "semeda-streets-s0-44155098277e", "semeda-streets-s0-c3cd8fd3779e", "streets-5b6849db2dd8"),
        ("semeda", "small", "cityscapes", "semeda-cityscapes-s0-125d91342063", None, "cityscapes-7ba856e3afa9"),
    ],
)
def test_embedded_run_ids_and_preparation_keys_are_those_before_the_settings(method, scale, dataset, run_id, with_data, key):
    spec = RunSpec.create(method, scale=scale, dataset=dataset)
    assert spec.run_id() == run_id and preparation_key(spec) == key
    if with_data:
        assert spec.run_id("g1") == with_data
    assert not set(NEW) & set(spec.to_dict()["settings"])


def test_turning_a_setting_on_changes_the_run_id_and_the_preparation():
    base = RunSpec.create("semeda", scale="small")
    for override in ({"edge_net_sampling": "edges"}, {"edge_net_balance": True}):
        other = RunSpec.create("semeda", scale="small", overrides=override)
        assert other.run_id() != base.run_id() and preparation_key(other) != preparation_key(base)
        assert RunSpec.from_dict(other.to_dict()) == other


def fit_through_prepare(monkeypatch, tmp_path, overrides):
    """Run ``prepare``'s edge-net fit, recording what it hands ``fit_edge_net`` and the net."""
    seen = {}
    fit = methods.fit_edge_net

    def recording_fit(masks, num_classes, **kwargs):
        seen.update(masks=masks, kwargs=kwargs)
        return fit(masks, num_classes, **kwargs)

    monkeypatch.setattr(methods, "fit_edge_net", recording_fit)
    monkeypatch.setattr(methods, "save_edge_net", lambda net, path: seen.setdefault("net", net))
    spec = RunSpec.create("semeda", scale="smoke", overrides={"edge_net_steps": 30, "image_size": (80, 96), **overrides})
    seen["prepared"] = prepare(spec, edge_net=True, cache_dir=tmp_path)
    return seen


def test_the_default_fit_in_prepare_is_bit_for_bit_the_earlier_one(monkeypatch, tmp_path, one_thread):
    seen = fit_through_prepare(monkeypatch, tmp_path, {})
    masks = seen["masks"]
    assert masks.shape == (24, 64, 64) and masks.dtype == torch.int64  # one 64x64 patch of each of the 24 masks
    assert digest([("", masks)]) == "156f051fc8cfa31cae2afafc38cfe9bdb1997159bb55eb34e56edfd029f31927"
    assert "val_masks" not in seen["kwargs"] and seen["kwargs"]["balance"] is False
    net = seen["net"]
    expected = pinned_for_this_cpu({AMD_AVX512: "b07a17d6a13a86515e0920866e70e805c3afbb89a871c6c0b273b82fe5d3dc64",
                                    INTEL_AVX512: "730dc859e2df14f866dd1a6c68f0ae227a354236c8f2072df881a763dc63e7da"})  # fmt: skip
    assert digest(net.state_dict().items()) == expected
    assert net.info.f1 == 0.3671335981601505


def test_the_paper_fit_in_prepare_holds_out_whole_masks(monkeypatch, tmp_path):
    seen = fit_through_prepare(monkeypatch, tmp_path, {"edge_net_sampling": "edges", "edge_net_balance": True, "edge_net_steps": 2})
    held = seen["kwargs"]["val_masks"]
    # 24 training masks: the last fifth (round(4.8) = 5) held out whole, 512 patches of the other 19
    assert [tuple(m.shape) for m in held] == [(80, 96)] * 5 and all(m.dtype == torch.int64 for m in held)
    assert seen["masks"].shape == (512, 64, 64) and seen["kwargs"]["balance"] is True
    train = [target for _, target in load_split("streets", *seen["prepared"].train_source)]
    wholes = {digest([("", t.long())]) for t in train}
    assert len({digest([("", m)]) for m in held} & wholes) == 5  # five distinct training masks, unchanged
    patches = {digest([("", p)]) for p in seen["masks"]}
    for mask in held:  # none fitted on: none of their 64x64 windows with an edge is a patch
        windows = mask.unfold(0, 64, 1).unfold(1, 64, 1).reshape(-1, 64, 64)
        windows = windows[methods.semantic_edges(windows).flatten(1).any(1)]
        assert len(windows) and not patches & {digest([("", w)]) for w in windows}


def test_the_literal_input_takes_the_paper_fit_too(monkeypatch, tmp_path):
    # fit_literal_edge_net hands the whole held-out masks and the balanced loss on to each
    # sigma's fit; two steps pass no F1 floor, so every sigma is tried and the last kept
    seen = fit_through_prepare(monkeypatch, tmp_path, {"edge_net_sampling": "edges", "edge_net_balance": True,
                                                       "edge_net_steps": 2, "edge_net_peak": "literal"})  # fmt: skip
    net = seen["net"]
    assert net.info.peak == "literal" and net.info.alpha == 1.0 and net.info.sigma == min(methods.edge_net.LITERAL_SIGMAS)
    assert 0 <= net.info.f1 < methods.MIN_F1
