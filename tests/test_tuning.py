"""The leaderboard's weight search: the rung rule, the selection, the tuning split, stops and resumes."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmark.data import load_split
from benchmark.leaderboard import Leaderboard
from benchmark.report.leaderboard import budget_points, leaderboard_table
from benchmark.report.tidy import reported, tidy_records
from benchmark.spec import RunSpec, scale_settings
from benchmark.tuning import (
    DEFAULT_GRID,
    grid_text,
    multiplier_of,
    parse_grid,
    rung_steps,
    scaled_params,
    search_state,
    survivors,
)

# ---------------------------------------------------------------------------- the rule by hand


def test_default_grid_is_powers_of_three_and_rungs_are_quarter_half_whole():
    assert [grid_text(m) for m in DEFAULT_GRID] == ["1/27", "1/9", "1/3", "1", "3", "9", "27"]
    assert rung_steps(2000) == (500, 1000, 2000)
    assert rung_steps(12) == (3, 6, 12)


def test_survivors_keep_the_best_third_rounded_up_failed_last_ties_nearer_one():
    scores = {1 / 27: 0.10, 1 / 9: 0.30, 1 / 3: 0.50, 1.0: 0.40, 3.0: None, 9.0: 0.45, 27.0: float("nan")}
    # 7 trials -> ceil(7/3) = 3 go on: 0.50 (1/3), 0.45 (9), 0.40 (1); in grid order.
    assert survivors(scores) == [1 / 3, 1.0, 9.0]
    # equal scores: the multiplier nearer 1 (|log m|), then the smaller one
    assert survivors({1 / 3: 0.2, 3.0: 0.2, 1.0: 0.1}, keep=1) == [1 / 3]
    assert survivors({9.0: 0.2, 1 / 3: 0.2, 1.0: 0.1}, keep=1) == [1 / 3]
    # a failed trial scores below every other, even a zero
    assert survivors({1.0: None, 3.0: 0.0}, keep=1) == [3.0]


def test_search_state_replays_the_rungs_and_selects_the_best_at_the_last():
    grid, rungs = DEFAULT_GRID, (500, 1000, 2000)
    first = dict(zip(grid, [0.1, 0.3, 0.5, 0.4, 0.2, 0.45, 0.0]))
    trials = {(m, 500): s for m, s in first.items()}
    state = search_state(trials, grid, rungs)
    assert (state.rung, state.step, state.todo) == (1, 1000, (1 / 3, 1.0, 9.0))
    trials.update({(1 / 3, 1000): 0.52, (1.0, 1000): 0.61, (9.0, 1000): 0.55})
    state = search_state(trials, grid, rungs)
    assert (state.rung, state.step, state.todo) == (2, 2000, (1.0,))
    trials[(1.0, 2000)] = 0.64
    # a trial the rule cut (9 at step 2000) is never looked at, whatever its score
    trials[(9.0, 2000)] = 0.99
    state = search_state(trials, grid, rungs)
    assert state.rung is None and state.selected == 1.0
    assert (9.0, 2000) not in state.seen
    # the order the trials finished in does not matter
    shuffled = dict(reversed(list(trials.items())))
    assert search_state(shuffled, grid, rungs).selected == 1.0


def test_multiplier_keeps_the_ratios_of_several_lambdas():
    assert scaled_params("semeda", 3.0) == {"lambdas": [0.0, 3.0, 0.0]}
    assert scaled_params("boundary", 1 / 3)["lambdas"] == pytest.approx([0.01 / 3])
    assert multiplier_of("semeda", {"lambdas": [0, 3, 0]}) == pytest.approx(3.0)
    assert multiplier_of("boundary", {"lambdas": [0.01 / 27]}) == pytest.approx(1 / 27)
    assert multiplier_of("semeda", {"lambdas": [1, 0.5, 0.25]}) is None  # not a multiple of (0, 1, 0)
    assert multiplier_of("ppce", {}) is None


@pytest.mark.parametrize("text, message", [("1,x", "not a number"), ("1,-3", "> 0"), ("1,1", "distinct"), ("1/0", "not a number")])
def test_parse_grid_errors_say_what_is_expected(text, message):
    with pytest.raises(ValueError, match=message):
        parse_grid(text)
    assert parse_grid("1/27, 1 ,9") == pytest.approx((1 / 27, 1.0, 9.0))


def test_every_method_spends_the_same_steps():
    lb = Leaderboard(methods=("ppce", "dice", "semeda"), datasets=("streets",))
    # 7 trials to 500, 3 more to 1000, 1 more to 2000: 3,500 + 1,500 + 1,000 = 3 run lengths
    assert lb.budget_steps("streets") == 6000


# ---------------------------------------------------------------------------- run identity


def test_split_and_stop_leave_the_ids_of_whole_reported_runs_unchanged():
    spec = RunSpec.create("dice", scale="smoke")
    assert "split" not in spec.to_dict() and "stop_at" not in spec.to_dict()
    tune = replace(spec, split="tune")
    stopped = RunSpec(**{**spec.__dict__, "split": "tune", "stop_at": 3})
    assert len({spec.run_id("v"), tune.run_id("v"), stopped.run_id("v")}) == 3
    assert stopped.schedule_id("v") == tune.run_id("v")
    # stopping at the last step is the whole schedule: one spelling, one id
    whole = RunSpec(**{**spec.__dict__, "split": "tune", "stop_at": spec.settings.steps})
    assert whole.stop_at is None and whole.run_id("v") == tune.run_id("v")
    assert RunSpec.from_dict(stopped.to_dict()) == stopped
    with pytest.raises(ValueError, match="stop_at must be a step in 1..12"):
        RunSpec(**{**spec.__dict__, "stop_at": 13})
    with pytest.raises(ValueError, match="split must be one of val, tune"):
        RunSpec(**{**spec.__dict__, "split": "test"})


# ---------------------------------------------------------------------------- the selection from records


def _record(method, params, seed, miou, *, split="val", step=12, ctx_steps=12):
    spec = {"method": method, "params": params, "dataset": "streets", "backbone": "deeplabv2_small", "scale": "smoke",
            "seed": seed, "init": "scratch", "weights": None, "settings": {**scale_settings("smoke").__dict__}}  # fmt: skip
    spec["settings"] = json.loads(json.dumps(spec["settings"]))
    if split != "val":
        spec["split"] = split
    if step != ctx_steps:
        spec["stop_at"] = step
    return {"run_id": f"{method}-{split}-{step}-{seed}-{json.dumps(params)}", "spec": spec, "status": "ok", "step": step,
            "metrics": {"miou": miou}, "label": method}  # fmt: skip


def test_leaderboard_selects_the_weight_of_the_best_tuning_miou():
    grid = (1 / 3, 1.0, 3.0)
    records = []
    # rung 1 (step 3): 3 best; rung 2 (step 6): ceil(3/3) = 1 goes on, here 1/3 (0.30 > 0.25 > 0.20)
    for m, score in zip(grid, (0.30, 0.20, 0.25)):
        records.append(_record("dice", scaled_params("dice", m), 0, score, split="tune", step=3))
    records.append(_record("dice", scaled_params("dice", 1 / 3), 0, 0.40, split="tune", step=6))
    records.append(_record("dice", scaled_params("dice", 1 / 3), 0, 0.50, split="tune", step=12))
    # seed runs on the reported split: dice at 1/3 beats PPCE by 2 and 4 points; dice at 1x (not selected) is ignored
    for seed, (ppce, dice, other) in enumerate([(0.20, 0.22, 0.90), (0.30, 0.34, 0.90)]):
        records.append(_record("ppce", {}, seed, ppce))
        records.append(_record("dice", scaled_params("dice", 1 / 3), seed, dice))
        records.append(_record("dice", scaled_params("dice", 1.0), seed, other))
    tidy = tidy_records(records)
    assert len(reported(tidy)) == 6  # the search's trials are not whole reported runs
    t = leaderboard_table(tidy)
    assert list(t["method"]) == ["dice", "ppce"]  # sorted by mIoU
    dice = t.iloc[0]
    assert dice["multiplier"] == "1/3 (grid edge)"  # the smallest of the grid: the best may lie below it
    assert dice["ours_mean"] == pytest.approx(28.0)
    assert dice["diff_mean"] == pytest.approx(3.0)
    # a selection inside the grid carries no mark
    inside = tidy_records([r for r in records if r["spec"].get("split") != "tune"] + [
        _record("dice", scaled_params("dice", m), 0, score, split="tune", step=3) for m, score in zip(grid, (0.20, 0.30, 0.25))
    ] + [_record("dice", scaled_params("dice", 1.0), 0, 0.40, split="tune", step=6), _record("dice", scaled_params("dice", 1.0), 0, 0.50, split="tune", step=12)])  # fmt: skip
    assert leaderboard_table(inside).set_index("method").loc["dice", "multiplier"] == "1"
    # 7 trial-steps at rung 1, then 1 more trial to 6 and to 12: 9 + 3 + 6 steps
    points = budget_points(tidy)
    assert list(points["steps_spent"]) == [9, 12, 18]
    assert list(points["best_miou"]) == pytest.approx([30.0, 40.0, 50.0])


# ---------------------------------------------------------------------------- stops, resumes, the tuning split


def test_a_run_stopped_and_resumed_equals_the_whole_run(tmp_path):
    from benchmark.train import train

    whole = RunSpec.create("dice", scale="smoke").__dict__
    spec = RunSpec(**{**whole, "split": "tune"})
    straight = train(spec, progress=False)
    states = []
    first = train(RunSpec(**{**whole, "split": "tune", "stop_at": 5}), progress=False, checkpoint=states.append)
    assert first["step"] == 5 and states[-1]["final"] and states[-1]["step"] == 5
    resumed = train(spec, progress=False, resume=states[-1])
    assert resumed["resumed_from_step"] == 5
    assert resumed["metrics"]["miou"] == straight["metrics"]["miou"]
    assert resumed["loss_curve"] == straight["loss_curve"]


def test_tuning_never_reads_the_reported_split(monkeypatch):
    import benchmark.data.datasets as datasets
    from benchmark.prepare import prepare
    from benchmark.train import train

    read = []
    real_files = datasets._files

    def spy(name, root, split):
        read.append((str(root), split))
        return real_files(name, root, split)

    monkeypatch.setattr(datasets, "_files", spy)
    spec = RunSpec(**{**RunSpec.create("semeda", scale="smoke").__dict__, "split": "tune", "stop_at": 4})
    prepared = prepare(spec)
    train(spec, prepared=prepared, progress=False)
    main_root = str(prepared.root)
    assert (main_root, "train") in read
    assert (main_root, "val") not in read
    assert (str(prepared.eval_root), "val") in read and prepared.eval_root != prepared.root


def test_real_sets_hold_the_tuning_split_out_of_training(tmp_path):
    from test_data import CS_LABEL_IDS, _write_cityscapes

    stems = {f"{city}_000000_{i:06d}": CS_LABEL_IDS for city in ("aachen", "jena", "zurich") for i in range(2)}
    _write_cityscapes(tmp_path, "train", stems)
    tune = load_split("cityscapes", tmp_path, "tune")
    rest = load_split("cityscapes", tmp_path, "train-tune")
    assert sorted(tune.ids) == [s for s in sorted(stems) if not s.startswith("aachen")]
    assert rest.ids == [s for s in sorted(stems) if s.startswith("aachen")]
    assert torch.equal(tune[0][1], load_split("cityscapes", tmp_path, "train")[2][1])


def test_voc_holds_out_a_fixed_share_of_its_training_list():
    from benchmark.data.datasets import dataset_info, tuning_indices

    info = dataset_info("voc")
    ids = [f"2008_{i:06d}" for i in range(10_582)]
    held = tuning_indices(info, ids)
    assert len(held) == 500 and held == sorted(set(held)) and held == tuning_indices(info, ids)
    assert len(tuning_indices(info, ids[:40])) == 10  # a quarter of a short list
    with pytest.raises(ValueError, match="has no held-out tuning split"):
        load_split("streets", "/nowhere", "tune")


def test_a_cut_trial_is_judged_on_the_tail_of_its_own_run():
    from benchmark.divergence import record_diverged

    steps = list(range(10, 501, 10))
    ppce = [1.0] * (len(steps) - 1) + [3.0]  # only the very last window above 0.9 log 19 = 2.65
    record = {"status": "ok", "step": 500, "loss_curve": {"step": steps, "ppce": ppce},
              "spec": {"stop_at": 500, "settings": {"steps": 2000}}}  # fmt: skip
    # the last tenth of the 500 steps it ran (460-500) is mostly below the stall line: healthy
    assert record_diverged(record, 19) is False
    record["loss_curve"]["ppce"] = [1.0] * 44 + [3.0] * 6  # the whole tail above it
    assert record_diverged(record, 19) is True


def test_the_tuning_seed_is_not_a_data_seed():
    from benchmark.prepare import TUNING_DATA_SEED, prepare

    spec = RunSpec(**{**RunSpec.create("ppce", scale="smoke", overrides={"data_seed": TUNING_DATA_SEED}).__dict__, "split": "tune"})
    with pytest.raises(ValueError, match="draws the tuning split"):
        prepare(spec)
