"""The leaderboard's fairness rules on the suite side: reported seeds the search never trained,
PPCE's learning rate searched by the weights' rule, one row for two names of one loss, and
the runs the budget rule asks for."""

import math

import pytest

from benchmark.leaderboard import Leaderboard, folded_losses
from benchmark.records import write_record
from benchmark.tuning import SEARCH_SEED, reported_seeds, searched_hyperparameter


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
    # dice: 3 leads the grid given (its edge); 9 joins and wins: the extension moved the selection
    lb = _lb(methods=("ppce", "dice"), seeds=2)
    for m, step, score in ((1 / 3, 3, 0.30), (1.0, 3, 0.35), (3.0, 3, 0.40), (3.0, 6, 0.50), (3.0, 12, 0.60),
                           (9.0, 3, 0.45), (1.0, 6, 0.1), (9.0, 6, 0.55), (9.0, 12, 0.70)):  # fmt: skip
        write_record(tmp_path, _trial(lb, "dice", m, step, score))
    state = lb.states(tmp_path, {"streets": "v"})[("dice", "streets")]
    assert (state.selected, state.budget_selected) == (9.0, 3.0)
    finals = lb.final_specs({("dice", "streets"): state})
    weights = sorted({round(s.method_params()["lambdas"][0], 6) for s in finals if s.method == "dice"})
    assert weights == [3.0, 9.0] and {s.seed for s in finals} == {1, 2}
    assert math.isclose(lb.budget_steps("streets"), 3 * 3 + 1 * 3 + 1 * 6)  # 3 trials to 3, 1 on to 6, 1 on to 12
