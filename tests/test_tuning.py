"""The leaderboard's weight search: the rung rule, its extension beyond an edge, the selection,
the budget, the tuning split, stops and resumes."""

import json
import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import torch

from benchmark.data import load_split
from benchmark.leaderboard import Leaderboard, print_plan
from benchmark.records import write_record
from benchmark.report.leaderboard import budget_points, leaderboard_markdown, leaderboard_table
from benchmark.report.tidy import reported, tidy_records
from benchmark.search_definition import load_definitions, write_definition
from benchmark.spec import RunSpec, scale_settings
from benchmark.tuning import (
    DEFAULT_GRID,
    EXTENSION_BOUND,
    edge_side,
    extended_search,
    extension_chain,
    grid_text,
    multiplier_of,
    next_beyond,
    parse_grid,
    position_text,
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
    for seed, (ppce, dice, other) in enumerate([(0.20, 0.22, 0.90), (0.30, 0.34, 0.90)], start=1):  # the reported seeds: never the search's 0
        records.append(_record("ppce", {}, seed, ppce))
        records.append(_record("dice", scaled_params("dice", 1 / 3), seed, dice))
        records.append(_record("dice", scaled_params("dice", 1.0), seed, other))
    tidy = tidy_records(records)
    assert len(reported(tidy)) == 6  # the search's trials are not whole reported runs
    definitions = [Leaderboard(methods=("ppce", "dice"), datasets=("streets",), grid=grid, scale="smoke").definition("streets")]
    t = leaderboard_table(tidy, definitions)
    assert list(t["method"]) == ["dice", "ppce"]  # sorted by mIoU
    dice = t.iloc[0]
    assert dice["multiplier"] == "1/3 (grid edge)"  # the smallest of the grid: the best may lie below it
    # ... so the extension rule asks for 1/9 next; until it has run, the row shows 1/3 provisionally
    assert dice["search"] == "extending to 1/9: rung 1 of 3"
    assert (dice["trials_run"], dice["steps_spent"]) == (3, 12 + 3 + 3)
    assert dice["ours_mean"] == pytest.approx(28.0)
    assert dice["diff_mean"] == pytest.approx(3.0)
    # a selection inside the grid carries no mark
    inside = tidy_records([r for r in records if r["spec"].get("split") != "tune"] + [
        _record("dice", scaled_params("dice", m), 0, score, split="tune", step=3) for m, score in zip(grid, (0.20, 0.30, 0.25))
    ] + [_record("dice", scaled_params("dice", 1.0), 0, 0.40, split="tune", step=6), _record("dice", scaled_params("dice", 1.0), 0, 0.50, split="tune", step=12)])  # fmt: skip
    assert leaderboard_table(inside, definitions).set_index("method").loc["dice", ["multiplier", "search"]].tolist() == ["1", "interior"]
    # 7 trial-steps at rung 1, then 1 more trial to 6 and to 12: 9 + 3 + 6 steps
    points = budget_points(tidy, definitions)
    assert list(points["steps_spent"]) == [9, 12, 18]
    assert list(points["best_miou"]) == pytest.approx([30.0, 40.0, 50.0])


# ---------------------------------------------------------------------------- beyond the edge: the extension rule by hand

RUNGS = (3, 6, 12)


def _drive(score, grid, rungs=RUNGS):
    """Run a search as the driver does: every trial the rule asks for, scored ``score(m, step)``,
    until it selects. Returns the final state and every trial made."""
    trials = {}
    for _ in range(100):
        state = extended_search(trials, grid, rungs)
        if state.selected is not None:
            return state, trials
        assert state.todo
        for m in state.todo:
            trials[(m, state.step)] = score(m, state.step)
    raise AssertionError("the search did not end")


def _k(m: float) -> int:
    return round(math.log(m) / math.log(3))


def test_the_next_weight_lies_a_factor_of_three_beyond_the_edge_within_the_bound():
    assert (edge_side((1 / 3, 1.0, 3.0), 3.0), edge_side((1 / 3, 1.0, 3.0), 1 / 3), edge_side((1 / 3, 1.0, 3.0), 1.0)) == (1, -1, 0)
    assert edge_side((1.0,), 1.0) == 0  # a grid of one weight has no inside to leave
    assert next_beyond(DEFAULT_GRID, 1) == 81.0
    assert next_beyond(DEFAULT_GRID, -1) == parse_grid("1/81")[0]  # the float --grid 1/81 gives: one run id either way
    assert next_beyond((729.0, 2187.0), 1) is None and next_beyond((1 / 2187, 1.0), -1) is None
    assert EXTENSION_BOUND == (Fraction(1, 2187), Fraction(2187))
    assert [grid_text(m) for m in extension_chain(DEFAULT_GRID)] == ["1/2187", "1/729", "1/243", "1/81", "81", "243", "729", "2187"]


def test_an_edge_selection_asks_for_the_next_weight_and_the_grown_grid_is_searched_by_the_same_rule():
    grid = (1 / 3, 1.0, 3.0)
    # rung 1 (step 3): 3 best, ceil(3/3) = 1 goes on, alone to 6 and 12: 3 selected, the grid's largest
    trials = {(1 / 3, 3): 0.30, (1.0, 3): 0.35, (3.0, 3): 0.40, (3.0, 6): 0.50, (3.0, 12): 0.60}
    assert search_state(trials, grid, RUNGS).selected == 3.0
    state = extended_search(trials, grid, RUNGS)
    assert state.selected is None and state.provisional == 3.0
    assert (state.rung, state.step, state.todo, state.grid) == (0, 3, (9.0,), (1 / 3, 1.0, 3.0, 9.0))
    assert position_text(state, grid, RUNGS) == "extending to 9: rung 1 of 3"
    # 9 at rung 1 below 3, above 1: 4 weights keep ceil(4/3) = 2, 3 and 9; 9 lacks its step 6
    trials[(9.0, 3)] = 0.38
    state = extended_search(trials, grid, RUNGS)
    assert (state.rung, state.step, state.todo, state.provisional) == (1, 6, (9.0,), 3.0)
    # 9 at step 6 below 3's 0.50: 3 goes on alone and has its step 12: 3 selected, now inside the grid
    trials[(9.0, 6)] = 0.45
    state = extended_search(trials, grid, RUNGS)
    assert state.selected == 3.0 and not state.bound_reached and state.provisional is None
    assert position_text(state, grid, RUNGS) == "extended to 9"
    # budget: 4 trials, each to the furthest step it reached: 3 (1/3) + 3 (1) + 12 (3) + 6 (9) = 24
    assert (state.trials_run, state.steps_spent) == (4, 24)


def test_an_interior_selection_asks_for_nothing():
    grid = (1 / 3, 1.0, 3.0)
    trials = {(1 / 3, 3): 0.30, (1.0, 3): 0.40, (3.0, 3): 0.35, (1.0, 6): 0.5, (1.0, 12): 0.6}
    trials[(9.0, 3)] = 0.99  # a trial of another grid: neither looked at nor counted
    state = extended_search(trials, grid, RUNGS)
    assert state.selected == 1.0 and state.grid == grid and state.provisional is None and not state.bound_reached
    assert position_text(state, grid, RUNGS) == "interior"
    assert (state.trials_run, state.steps_spent) == (3, 3 + 12 + 3)


def test_the_bound_stops_the_extension_and_marks_the_selection():
    # the larger the weight the better, at every rung: the search climbs from 3 to 2187 = 3^7
    state, trials = _drive(lambda m, step: 0.5 + 0.01 * _k(m) + step / 100, (1 / 3, 1.0, 3.0))
    assert state.selected == 2187.0 and state.bound_reached
    assert [grid_text(m) for m in state.grid] == ["1/3", "1", "3", "9", "27", "81", "243", "729", "2187"]
    assert position_text(state, (1 / 3, 1.0, 3.0), RUNGS) == "bound reached at 2187"
    # each new weight leads every rung and runs to step 12; 1/3 and 1 stop at 3: 3 + 3 + 7 x 12 = 90
    assert (state.trials_run, state.steps_spent) == (9, 90)
    assert len(trials) == 2 + 3 * 7


def test_a_grown_grid_keeps_more_at_each_rung():
    # the smaller the better, from the default grid down to the bound, 1/2187:
    # 7 weights keep 3 then 1; 8 and 9 keep 3 then 1; 10 and 11 keep 4 then 2.
    state, trials = _drive(lambda m, step: 0.5 - 0.01 * _k(m) + step / 100, DEFAULT_GRID)
    assert state.selected == pytest.approx(1 / 2187) and state.bound_reached
    at = {step: sorted(_k(m) for m, s in trials if s == step) for step in RUNGS}
    assert at[3] == list(range(-7, 4))  # all 11 weights
    assert at[6] == list(range(-7, 0))  # 1/27..1/3 from the grid, then each weight added (10 and 11 keep 4)
    assert at[12] == [-7, -6, -5, -4, -3]  # 1/27, then each weight added (10 and 11 send 2 to the end)
    # 5 trials to 12, 1/9 and 1/3 to 6, four to 3: 60 + 12 + 12
    assert (state.trials_run, state.steps_spent) == (11, 84)
    assert position_text(state, DEFAULT_GRID, RUNGS) == "bound reached at 1/2187"


# ---------------------------------------------------------------------------- the driver and the report replay one choice


def _trial_record(lb, method, m, step, score, version="v", diverged=False):
    spec = lb.trial_spec(method, "streets", m, step)
    record = {"run_id": spec.run_id(version), "spec": spec.to_dict(), "status": "ok", "step": step, "metrics": {"miou": score},
              "label": spec.label(), "data_version": version}  # fmt: skip
    if diverged:  # its PPCE term above 10 log C: diverged by the suite's rule
        record["loss_curve"] = {"step": [step], "ppce": [100.0]}
    return record


def test_trials_already_made_keep_their_run_ids():
    # two trials of the committed streets search (results/runs): the grid's multipliers keep their specs
    lb = Leaderboard(methods=("ppce", "dice", "semeda"), datasets=("streets",))
    assert lb.trial_spec("dice", "streets", DEFAULT_GRID[-1], 500).run_id("streets-shapes-2") == "dice-streets-s0-31cd56ade2be"
    assert lb.trial_spec("semeda", "streets", DEFAULT_GRID[0], 500).run_id("streets-shapes-2") == "semeda-streets-s0-011c4f8327bc"


def test_the_report_replays_the_drivers_choice_with_its_position_and_budget(tmp_path):
    lb = Leaderboard(methods=("ppce", "boundary", "dice", "hausdorff_dt"), datasets=("streets",), scale="smoke")
    assert lb.rungs("streets") == RUNGS
    scores = {
        "boundary": lambda m, step: 0.5 - 0.01 * _k(m) ** 2 + step / 100,  # best at 1: inside the grid
        "dice": lambda m, step: 0.5 - 0.01 * (_k(m) - 4) ** 2 + step / 100,  # best at 81: one extension beyond 27 and one more
        "hausdorff_dt": lambda m, step: 0.5 - 0.01 * _k(m) + step / 100,  # the smaller the better, to the bound
    }
    driven = {}
    for method, score in scores.items():
        state, trials = _drive(score, DEFAULT_GRID)
        driven[method] = state
        for (m, step), value in trials.items():
            write_record(tmp_path, _trial_record(lb, method, m, step, value, diverged=method == "hausdorff_dt" and step == 12 and _k(m) == -7))
    # by hand: dice 27 -> 81 (selected at the edge) -> 243 joins, 81 stays best: inside the grown grid
    assert driven["dice"].selected == pytest.approx(81.0) and [grid_text(m) for m in driven["dice"].grid][-2:] == ["81", "243"]
    assert (driven["dice"].trials_run, driven["dice"].steps_spent) == (9, 4 * 3 + 2 * 6 + 12 + 12 + 6)
    assert (driven["boundary"].selected, driven["boundary"].trials_run, driven["boundary"].steps_spent) == (1.0, 7, 12 + 2 * 6 + 4 * 3)

    states = lb.states(tmp_path, {"streets": "v"})
    for method, state in driven.items():
        replayed = states[(method, "streets")]
        assert replayed.selected == pytest.approx(state.selected) and replayed.steps_spent == state.steps_spent

    from benchmark.records import load_records

    write_definition(tmp_path, lb.definition("streets"))
    t = leaderboard_table(tidy_records(load_records(tmp_path)[0]), load_definitions(tmp_path)).set_index("method")
    assert t.loc["boundary", ["multiplier", "search", "trials_run", "steps_spent"]].tolist() == ["1", "interior", 7, 36]
    assert t.loc["dice", ["multiplier", "search", "trials_run", "steps_spent"]].tolist() == ["81", "extended to 243", 9, 54]
    assert t.loc["hausdorff_dt", ["multiplier", "search", "trials_run", "steps_spent"]].tolist() == [
        "1/2187 (bound reached)", "bound reached at 1/2187; selection diverged", 11, 84]  # fmt: skip
    assert t.loc["ppce", ["search", "trials_run"]].tolist() == ["-", 0]
    board = leaderboard_markdown(t.reset_index())
    assert "| 1/2187 (bound reached) | bound reached at 1/2187; selection diverged | 11 trials, 84 steps |" in board


def test_an_extension_under_way_reads_the_same_in_the_driver_and_the_report(tmp_path):
    lb = Leaderboard(methods=("ppce", "dice", "focal"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    made = [("dice", 1 / 3, 3, 0.30), ("dice", 1.0, 3, 0.35), ("dice", 3.0, 3, 0.40), ("dice", 3.0, 6, 0.50), ("dice", 3.0, 12, 0.60),
            ("dice", 9.0, 3, 0.38),  # the extension's first trial: 9 joins 3 in the best two of four; its step 6 is not made yet
            ("focal", 1 / 3, 3, 0.30), ("focal", 1.0, 3, 0.40), ("focal", 3.0, 3, 0.35), ("focal", 1.0, 6, 0.5), ("focal", 1.0, 12, 0.6)]  # fmt: skip
    for method, m, step, value in made:
        write_record(tmp_path, _trial_record(lb, method, m, step, value))
    state = lb.states(tmp_path, {"streets": "v"})[("dice", "streets")]
    assert (state.selected, state.provisional, state.rung, state.todo) == (None, 3.0, 1, (9.0,))
    from benchmark.records import load_records

    write_definition(tmp_path, lb.definition("streets"))
    t = leaderboard_table(tidy_records(load_records(tmp_path)[0]), load_definitions(tmp_path)).set_index("method")
    assert t.loc["dice", ["multiplier", "search", "trials_run", "steps_spent"]].tolist() == ["3 (grid edge)", "extending to 9: rung 2 of 3", 4, 21]
    assert t.loc["focal", ["multiplier", "search"]].tolist() == ["1", "interior"]
    assert "1/3, 1, 3 (seed 0" in t.loc["dice", "note"]  # the grid given, without dice's extension


def test_trials_without_their_search_definition_are_left_out_with_a_warning(tmp_path):
    lb = Leaderboard(methods=("ppce", "dice", "focal"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    for method in ("dice", "focal"):
        for m, value in ((1 / 3, 0.3), (1.0, 0.4), (3.0, 0.35)):
            write_record(tmp_path, _trial_record(lb, method, m, 3, value))
    from benchmark.records import load_records

    tidy = tidy_records(load_records(tmp_path)[0])
    warnings = []
    assert leaderboard_table(tidy, [], warnings).empty
    assert len(warnings) == 2 and "no search definition" in warnings[0] and "dice" in warnings[0]
    # a definition naming dice alone: focal's trials stay out, with their warning
    only_dice = Leaderboard(methods=("ppce", "dice"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    write_definition(tmp_path, only_dice.definition("streets"))
    warnings = []
    t = leaderboard_table(tidy, load_definitions(tmp_path), warnings)
    assert sorted(t["method"]) == ["dice", "ppce"] and len(warnings) == 1 and "focal" in warnings[0]
    assert t.set_index("method").loc["dice", "multiplier"] == "rung 2 of 3"


def test_the_dry_run_lists_the_extension_trials_to_do(tmp_path, capsys):
    lb = Leaderboard(methods=("ppce", "dice"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke", seeds=1)
    # 3 leads every rung: selected at the grid's largest, so 9 is to run at rung 1
    for m, step, value in ((1 / 3, 3, 0.30), (1.0, 3, 0.35), (3.0, 3, 0.40), (3.0, 6, 0.50), (3.0, 12, 0.60)):
        write_record(tmp_path, _trial_record(lb, "dice", m, step, value))
    print_plan(lb, tmp_path, {"streets": "v"})
    out = capsys.readouterr().out
    nine = lb.trial_spec("dice", "streets", 9.0, 3).run_id("v")
    assert f"todo    {nine}  dice(9) s0 tune@3  streets  rung 1 (extension)" in out
    assert "extending to 9: rung 1 of 3, after 3x at the grid's edge; 3 trials, 18 steps" in out
    assert "4 search trials to do at their next rung" in out  # dice's 9, and PPCE's learning rate at 1/3, 1, 3


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
    from benchmark.data import layouts
    from benchmark.prepare import prepare
    from benchmark.train import train

    read = []
    real_files = layouts.split_files

    def spy(name, root, split):
        read.append((str(root), split))
        return real_files(name, root, split)

    monkeypatch.setattr(layouts, "split_files", spy)
    spec = RunSpec(**{**RunSpec.create("semeda", scale="smoke").__dict__, "split": "tune", "stop_at": 4})
    prepared = prepare(spec)
    train(spec, prepared=prepared, progress=False)
    main_root = str(prepared.root)
    assert (main_root, "train") in read
    assert (main_root, "val") not in read
    assert (str(prepared.eval_root), "val") in read and prepared.eval_root != prepared.root


def test_real_sets_hold_the_tuning_split_out_of_training(tmp_path):
    from test_data import CS_LABEL_IDS, write_cityscapes

    stems = {f"{city}_000000_{i:06d}": CS_LABEL_IDS for city in ("aachen", "jena", "zurich") for i in range(2)}
    write_cityscapes(tmp_path, "train", stems)
    tune = load_split("cityscapes", tmp_path, "tune")
    rest = load_split("cityscapes", tmp_path, "train-tune")
    assert sorted(tune.ids) == [s for s in sorted(stems) if not s.startswith("aachen")]
    assert rest.ids == [s for s in sorted(stems) if s.startswith("aachen")]
    assert torch.equal(tune[0][1], load_split("cityscapes", tmp_path, "train")[2][1])


def test_voc_holds_out_a_fixed_share_of_its_training_list():
    from benchmark.data import dataset_info
    from benchmark.data.layouts import tuning_indices

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


def test_the_trials_table_keeps_small_multipliers_apart(tmp_path):
    from benchmark.records import load_records
    from benchmark.report.leaderboard import weight_table

    lb = Leaderboard(methods=("ppce", "semeda"), datasets=("streets",), grid=(1 / 2187, 1 / 729), scale="smoke")
    for m, value in ((1 / 2187, 0.3), (1 / 729, 0.4)):
        write_record(tmp_path, _trial_record(lb, "semeda", m, 3, value))
    table = weight_table(tidy_records(load_records(tmp_path)[0]))
    assert sorted(table["multiplier"]) == ["1/2187", "1/729"]  # 0.000457 and 0.00137: both 0.000/0.001 at 3 decimals
