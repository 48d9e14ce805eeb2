"""The leaderboard's fairness rules on the suite side: reported seeds the search never trained,
PPCE's learning rate searched by the weights' rule, one row for two names of one loss, and
the runs the budget rule asks for."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from benchmark.leaderboard import Leaderboard
from benchmark.records import load_records, write_record
from benchmark.report.leaderboard import TUNED_PPCE_LABEL, leaderboard_markdown, leaderboard_table
from benchmark.report.tidy import CONTEXT as CONTEXT_COLUMNS
from benchmark.report.tidy import tidy_records
from benchmark.search_definition import load_definitions, write_definition
from benchmark.spec import RunSpec
from benchmark.tuning import SEARCH_SEED, SearchState, folded_losses, grid_budget_steps, reported_seeds, searched_hyperparameter


def _lb(**kw) -> Leaderboard:
    return Leaderboard(**{"methods": ("ppce", "dice", "tversky", "focal"), "datasets": ("streets",), "grid": (1 / 3, 1.0, 3.0),
                          "scale": "smoke", **kw})  # fmt: skip


def test_reported_seeds_are_never_the_searchs():
    assert SEARCH_SEED == 0 and reported_seeds(3) == (1, 2, 3) and reported_seeds(5) == (1, 2, 3, 4, 5)
    lb = _lb()
    trials = {lb.trial_spec(m, "streets", 1.0, 3).seed for m, _ in lb.searches()}
    seeds = {(s.method, s.seed) for s in lb.seed_specs("dice", "streets", 3.0) + lb.seed_specs("ppce", "streets", None)}
    assert trials == {0}
    assert seeds == {(m, s) for m in ("dice", "ppce") for s in (1, 2, 3)}  # every row, PPCE's too: paired by seed


def test_ppce_is_searched_on_its_learning_rate_by_the_same_rule():
    lb = _lb()
    assert searched_hyperparameter("ppce") == "lr" and searched_hyperparameter("dice") == "weight"
    assert ("ppce", "streets") in lb.searches()
    base = lb.settings("streets")
    trial = lb.trial_spec("ppce", "streets", 3.0, 6)
    assert (trial.params, trial.split, trial.stop_at, trial.seed) == ((), "tune", 6, 0)
    assert trial.settings.lr == pytest.approx(3 * base.lr) and trial.settings.head_lr_mult == base.head_lr_mult
    # the default PPCE is the tuned one's 1x: the same run
    assert lb.seed_specs("ppce", "streets", 1.0)[0].run_id("v") == lb.seed_specs("ppce", "streets", None)[0].run_id("v")
    at_one = lb.final_specs({("ppce", "streets"): SearchState(None, None, (), {}, 1.0)})
    assert [(s.method, s.seed) for s in at_one] == [("ppce", 1), ("ppce", 2), ("ppce", 3)]  # listed once
    # a weight's trial keeps the scale's learning rate
    assert lb.trial_spec("dice", "streets", 3.0, 6).settings.lr == base.lr
    definition = lb.definition("streets")
    assert (definition.methods, definition.lr_methods) == (("dice", "focal"), ("ppce",))


def test_a_loss_equal_to_another_is_one_row_and_not_searched():
    assert folded_losses(("ppce", "dice", "tversky")) == {"tversky": "dice"}
    assert folded_losses(("ppce", "tversky")) == {}  # alone, it is its own row
    lb = _lb()
    assert lb.losses() == ("ppce", "dice", "focal")
    assert not [s for s in lb.searches() if s[0] == "tversky"]


def _trial(lb, method, m, step, score):
    spec = lb.trial_spec(method, "streets", m, step)
    return {"run_id": spec.run_id("v"), "spec": spec.to_dict(), "status": "ok", "step": step, "metrics": {"miou": score},
            "label": spec.label(), "data_version": "v"}  # fmt: skip


def test_the_budget_rule_adds_the_seed_runs_of_the_common_budgets_selection(tmp_path):
    # dice: 3 leads the grid given (its edge); 9 joins and wins, 27 joins and loses: the extension moved the selection
    lb = _lb(methods=("ppce", "dice"), seeds=2)
    for m, step, score in ((1 / 3, 3, 0.30), (1.0, 3, 0.35), (3.0, 3, 0.40), (3.0, 6, 0.50), (3.0, 12, 0.60),
                           (9.0, 3, 0.45), (9.0, 6, 0.55), (9.0, 12, 0.70), (27.0, 3, 0.20)):  # fmt: skip
        write_record(tmp_path, _trial(lb, "dice", m, step, score))
    state = lb.states(tmp_path, {"streets": "v"})[("dice", "streets")]
    assert (state.selected, state.budget_selected) == (9.0, 3.0)
    finals = lb.final_specs({("dice", "streets"): state})
    weights = sorted({round(s.method_params()["lambdas"][0], 6) for s in finals if s.method == "dice"})
    assert weights == [3.0, 9.0] and {s.seed for s in finals} == {1, 2}
    assert lb.budget_steps("streets") == 3 * 3 + 1 * 3 + 1 * 6  # 3 trials to 3, 1 on to 6, 1 on to 12
    assert grid_budget_steps(7, (500, 1000, 2000)) == 6000


# ---------------------------------------------------------------------------- the report's rows


def _seed_run(lb, method, multiplier, seed, miou):
    spec = next(s for s in lb.seed_specs(method, "streets", multiplier) if s.seed == 1)
    spec = RunSpec(**{**spec.__dict__, "seed": seed})
    return {"run_id": spec.run_id("v"), "spec": spec.to_dict(), "status": "ok", "step": spec.settings.steps, "metrics": {"miou": miou},
            "label": spec.label(), "data_version": "v"}  # fmt: skip


def test_the_report_shows_the_tuned_ppce_one_row_per_loss_and_only_seeds_the_search_never_saw(tmp_path):
    lb = _lb(seeds=2)
    interior = ((1 / 3, 3, 0.30), (1.0, 3, 0.40), (3.0, 3, 0.35), (1.0, 6, 0.5), (1.0, 12, 0.6))  # 1 selected, inside
    for method in ("dice", "tversky"):
        for m, step, score in interior:
            write_record(tmp_path, _trial(lb, method, m, step, score))
    # PPCE's learning rate: 3 leads the grid given (its edge), 9 joins and loses: 3, inside 1/3..9
    for m, step, score in ((1 / 3, 3, 0.30), (1.0, 3, 0.35), (3.0, 3, 0.40), (3.0, 6, 0.50), (3.0, 12, 0.60), (9.0, 3, 0.20), (1.0, 6, 0.45)):
        write_record(tmp_path, _trial(lb, "ppce", m, step, score))
    # PPCE's seed 5: a run another suite added (Table 1's seed rule); the section reads the definition's seeds 1, 2 alone
    for method, multiplier, by_seed in (("ppce", None, {0: 0.50, 1: 0.50, 2: 0.52, 5: 0.99}), ("ppce", 3.0, {1: 0.55, 2: 0.56}),
                                        ("dice", 1.0, {0: 0.90, 1: 0.60, 2: 0.63}), ("tversky", 1.0, {1: 0.60, 2: 0.63})):  # fmt: skip
        for seed, miou in by_seed.items():
            write_record(tmp_path, _seed_run(lb, method, multiplier, seed, miou))
    # the folder's definition still names tversky (a search made before the two were one row)
    write_definition(tmp_path, replace(lb.definition("streets"), methods=("dice", "focal", "tversky")))
    t = leaderboard_table(tidy_records(load_records(tmp_path)[0]), load_definitions(tmp_path))
    assert list(t["label"]) == ["dice(1)", TUNED_PPCE_LABEL, "ppce"]  # focal has no trial; tversky is dice's row
    rows = t.set_index("label")
    dice, tuned, ppce = rows.loc["dice(1)"], rows.loc[TUNED_PPCE_LABEL], rows.loc["ppce"]
    assert lb.definition("streets").seeds == (1, 2)
    # seed 0 (the search's) is in no row: dice's 0.90 would have lifted its mean; nor PPCE's seed 5
    assert (dice["seeds"], dice["n"], dice["ours_mean"]) == ("1 2", 2, pytest.approx(61.5))
    assert (ppce["seeds"], tuned["seeds"], ppce["missing_seeds"], dice["missing_seeds"]) == ("1 2", "1 2", "", "")
    assert dice["diff_mean"] == pytest.approx(10.5) and dice["tuned_diff_mean"] == pytest.approx(6.0)  # (+5, +7)
    assert ppce["tuned_diff_mean"] == pytest.approx(-4.5) and tuned["diff_mean"] == pytest.approx(4.5)
    assert tuned["tuned_diff_note"] == "baseline" and ppce["diff_note"] == "baseline"
    assert (tuned["multiplier"], tuned["search"], tuned["trials_run"]) == ("3 (lr)", "extended to 9", 4)
    assert dice["same_as"] == "tversky" and "tversky is dice term for term" in dice["note"]
    assert (dice["budget_multiplier"], ppce["budget_multiplier"]) == ("=", "-")
    # Holm: one test per loss (tversky none), and the tuned PPCE's against the default
    assert t["holm"].notna().sum() == 2 and t["tuned_holm"].notna().sum() == 2
    board = leaderboard_markdown(t)
    assert "| dice(1) | dice = tversky | 1 |" in board and "| ppce, tuned learning rate | ppce | 3 (lr) | extended to 9 |" in board
    assert "seeds 1, 2, never a seed the search trained" in board


def test_a_tuned_ppce_at_1x_is_the_default_ppces_runs_and_no_test(tmp_path):
    lb = _lb(methods=("ppce", "dice"), seeds=2)
    interior = ((1 / 3, 3, 0.30), (1.0, 3, 0.40), (3.0, 3, 0.35), (1.0, 6, 0.5), (1.0, 12, 0.6))
    for method in ("dice", "ppce"):
        for m, step, score in interior:
            write_record(tmp_path, _trial(lb, method, m, step, score))
    for method, multiplier, by_seed in (("ppce", None, {1: 0.50, 2: 0.52}), ("dice", 1.0, {1: 0.60, 2: 0.63})):
        for seed, miou in by_seed.items():
            write_record(tmp_path, _seed_run(lb, method, multiplier, seed, miou))
    write_definition(tmp_path, lb.definition("streets"))
    rows = leaderboard_table(tidy_records(load_records(tmp_path)[0]), load_definitions(tmp_path)).set_index("label")
    tuned, dice = rows.loc[TUNED_PPCE_LABEL], rows.loc["dice(1)"]
    assert (tuned["multiplier"], tuned["ours_mean"], tuned["diff_note"], tuned["tuned_diff_note"]) == ("1 (lr)", pytest.approx(51.0), "baseline", "baseline")
    assert dice["tuned_diff_mean"] == pytest.approx(dice["diff_mean"]) == pytest.approx(10.5)
    assert rows["holm"].notna().sum() == 1 and "selected 1x: it is the default PPCE" in dice["note"]  # dice's test alone


def test_an_unfinished_learning_rate_search_is_the_tuned_ppces_row_waiting(tmp_path):
    lb = _lb(methods=("ppce", "dice"), seeds=2)
    for m, step, score in ((1 / 3, 3, 0.30), (1.0, 3, 0.40), (3.0, 3, 0.35)):
        write_record(tmp_path, _trial(lb, "ppce", m, step, score))
    write_definition(tmp_path, lb.definition("streets"))
    rows = leaderboard_table(tidy_records(load_records(tmp_path)[0]), load_definitions(tmp_path)).set_index("label")
    tuned = rows.loc[TUNED_PPCE_LABEL]
    assert (tuned["multiplier"], tuned["diff_note"], tuned["budget_multiplier"]) == ("rung 2 of 3", "search not finished", "-")


# ---------------------------------------------------------------------------- the committed leaderboard

REPORT = Path(__file__).resolve().parents[1] / "results" / "report"


def _committed() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not (REPORT / "leaderboard.csv").is_file():
        pytest.skip("no committed leaderboard")
    board, trials = pd.read_csv(REPORT / "leaderboard.csv", dtype={"seeds": str}), pd.read_csv(REPORT / "leaderboard_trials.csv")
    trials = trials.assign(seed=trials["run_id"].str.extract(r"-s(\d+)-", expand=False).astype(int))
    return board, trials


def _seeds(text) -> set[int]:
    return {int(s) for s in str(text).split()} if text == text else set()


def test_committed_reported_runs_never_share_a_seed_with_their_search():
    """Over the committed report (``--check`` ties it to the records in results/runs): no
    leaderboard row's reported seeds include a seed its search trained (PPCE's rows: any
    search of the section)."""
    board, trials = _committed()
    overlaps = []
    for keys, rows in board.groupby(CONTEXT_COLUMNS, dropna=False, sort=False):
        mine = trials[(trials[CONTEXT_COLUMNS].fillna("") == pd.Series(keys, index=CONTEXT_COLUMNS).fillna("")).all(axis=1)]
        for _, row in rows.iterrows():
            searched = set(mine["seed"]) if row["method"] == "ppce" else set(mine.loc[mine["method"] == row["method"], "seed"])
            if _seeds(row["seeds"]) & searched:
                overlaps.append(f"{keys[0]} {row['label']}: reported seeds {sorted(_seeds(row['seeds']))}, search seeds {sorted(searched)}")
    assert not overlaps, "; ".join(overlaps)


def test_committed_leaderboard_is_complete_on_every_set():
    """Every set has its tuned PPCE, one Dice row (Tversky folded into it), and every row with
    runs holds the suite's reported seeds (1, 2, 3), all rows paired on them."""
    board, _ = _committed()
    for dataset, rows in board.groupby("dataset"):
        assert (rows["label"] == TUNED_PPCE_LABEL).sum() == 1, f"{dataset}: no tuned PPCE row"
        assert (rows["method"] == "tversky").sum() == 0 and (rows["method"] == "dice").sum() == 1, f"{dataset}: Dice and Tversky are two rows"
        short = [r["label"] for _, r in rows.iterrows() if _seeds(r["seeds"]) != set(reported_seeds(3))]
        assert not short, f"{dataset}: rows without seeds 1, 2, 3: {short}"
