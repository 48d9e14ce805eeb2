"""``--suite leaderboard``: every registered loss given the same weight-search rule, then seeds.

1. Tuning. For each tuned method and dataset, the multiplier on its default lambdas is
   searched over the grid with seed 0, scored on the tuning split and cut rung by rung by
   the rule of ``benchmark.tuning``; a selection at the grid's edge widens the grid by the
   next multiplier beyond it (the extension rule there) until the selection is inside or
   the bound is reached. Each pass runs one rung of every search standing at it as one Ray
   Tune sweep; its trials are run records (``split: tune``, ``stop_at``: the rung's step),
   so a second command repeats no finished rung, and a trial going on to the next rung
   resumes from the training state its previous rung left (``<out>/states``).
   PPCE, which has no weight, has its learning rate searched by the same rule (a multiplier
   on the scale's learning rate, the same grid, rungs and extension): the tuned baseline.
2. Seeds. Each method at its selected multiplier, PPCE at its default settings (the paper's
   baseline) and PPCE at its selected learning rate, on the reported split with the seeds
   after the search's (``tuning.reported_seeds``: 1, 2, 3), paired by seed: no reported run
   is a run the search selected on. These are ordinary runs: one that another suite made
   (PPCE, SEMEDA (0,1,0) at 1x) is its record.

A loss that declares itself another registered loss at its default parameters
(``StructureLoss.same_as``: Tversky at alpha = beta = 0.5 is Dice) is not searched: its row
would repeat its twin's numbers at twice the compute, and the report shows the pair as one
row, one test.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import methods
from benchmark.records import load_records
from benchmark.search_definition import SearchDefinition, replay, trial_score, write_definition
from benchmark.spec import RunSpec, scale_settings
from benchmark.sweep.options import SweepOptions
from benchmark.tuning import (
    DEFAULT_GRID,
    EXTENSION_BOUND,
    SEARCH_SEED,
    SearchState,
    distinct,
    extension_chain,
    folded_losses,
    grid_budget_steps,
    grid_text,
    is_tuned,
    position_text,
    reported_seeds,
    rung_steps,
    scaled_lr,
    scaled_params,
    searched_hyperparameter,
)

__all__ = ["Leaderboard", "run_leaderboard"]


@dataclass(frozen=True)
class Leaderboard:
    """What one leaderboard command covers: methods, datasets, grid, scale and seeds."""

    methods: tuple[str, ...]
    datasets: tuple[str, ...]
    grid: tuple[float, ...] = DEFAULT_GRID
    scale: str = "small"
    backbone: str = "deeplabv2_small"
    seeds: int = 3
    overrides: tuple[tuple[str, object], ...] = ()
    #: The initialisation of every run, and its weights file (paper scale: ImageNet).
    init: str = "scratch"
    weights: str | None = None

    def settings(self, dataset: str):
        return scale_settings(self.scale, dataset, **dict(self.overrides))

    def rungs(self, dataset: str) -> tuple[int, ...]:
        return rung_steps(self.settings(dataset).steps)

    def losses(self) -> tuple[str, ...]:
        """The methods that make a row: ``methods`` less those that equal another of them
        (``folded_losses``)."""
        folded = folded_losses(self.methods)
        return tuple(m for m in self.methods if m not in folded)

    def searches(self) -> list[tuple[str, str]]:
        """(method, dataset) of every search: the losses with a weight, and PPCE's learning
        rate (``tuning.searched_hyperparameter``), on every dataset."""
        return [(m, d) for d in self.datasets for m in self.losses() if searched_hyperparameter(m)]

    def point(self, method: str, dataset: str, multiplier: float | None) -> tuple[dict, object]:
        """The parameters and settings of ``method`` at ``multiplier`` of its searched
        hyperparameter (None: its defaults): the lambdas times it, or for PPCE the learning rate."""
        settings = self.settings(dataset)
        if multiplier is None:
            return {}, settings
        if searched_hyperparameter(method) == "lr":
            return {}, scaled_lr(settings, multiplier)
        return scaled_params(method, multiplier), settings

    def trial_spec(self, method: str, dataset: str, multiplier: float, step: int) -> RunSpec:
        """A search trial: seed ``SEARCH_SEED`` (0), scored on the tuning split, stopped at ``step``."""
        params, settings = self.point(method, dataset, multiplier)
        return RunSpec(method=method, params=tuple(params.items()), dataset=dataset, backbone=self.backbone, scale=self.scale,
                       seed=SEARCH_SEED, init=self.init, weights=self.weights, settings=settings, split="tune", stop_at=step)  # fmt: skip

    def seed_specs(self, method: str, dataset: str, multiplier: float | None) -> list[RunSpec]:
        """The method at ``multiplier`` (None: its own parameters and settings, the default PPCE)
        on the reported split, with every reported seed (``reported_seeds``: never the search's)."""
        params, settings = self.point(method, dataset, multiplier)
        return [RunSpec(method=method, params=tuple(params.items()), dataset=dataset, backbone=self.backbone, scale=self.scale,
                        seed=seed, init=self.init, weights=self.weights, settings=settings) for seed in reported_seeds(self.seeds)]  # fmt: skip

    def definition(self, dataset: str) -> SearchDefinition:
        """What the searches on ``dataset`` cover, as written beside their trials."""
        spec = self.seed_specs("ppce", dataset, None)[0].to_dict()  # the settings every run of the context shares
        searched = [m for m, d in self.searches() if d == dataset]
        return SearchDefinition(dataset=dataset, backbone=self.backbone, scale=self.scale, init=self.init, settings=spec["settings"],
                                grid=distinct(self.grid), rungs=self.rungs(dataset),
                                methods=tuple(m for m in searched if searched_hyperparameter(m) == "weight"),
                                lr_methods=tuple(m for m in searched if searched_hyperparameter(m) == "lr"),
                                seeds=reported_seeds(self.seeds))  # fmt: skip

    def states(self, out: Path, versions: dict[str, str], retry_failed: bool = False) -> dict[tuple[str, str], SearchState]:
        """Where each search stands, replayed from the trial records in ``out`` with the
        extension rule (``search_definition.replay``, as the report replays them). A trial whose loss became
        non-finite scores below every other; one that failed otherwise (a lost node, a crash)
        counts as missing with ``retry_failed``, so that it runs again. Records are looked up
        for the grid and every multiplier an extension of it can reach."""
        by_id = {r.get("run_id"): r for r in load_records(out)[0]} if out.is_dir() else {}
        candidates = distinct(self.grid + extension_chain(self.grid))
        states = {}
        for method, dataset in self.searches():
            trials = {}
            for step in self.rungs(dataset):
                for m in candidates:
                    record = by_id.get(self.trial_spec(method, dataset, m, step).run_id(versions[dataset]))
                    if record is not None and retry_failed and record.get("status") != "ok" and record.get("failure") != "non-finite":
                        continue
                    if record is not None:
                        trials[(m, step)] = trial_score(record.get("status"), (record.get("metrics") or {}).get("miou"))
            states[(method, dataset)] = replay(self.definition(dataset), trials)
        return states

    def rung_specs(self, states: dict, rung: int) -> list[RunSpec]:
        """The trials still to run at rung ``rung`` (index) of every search standing there."""
        return [self.trial_spec(method, dataset, m, state.step)
                for (method, dataset), state in states.items() if state.rung == rung for m in state.todo]  # fmt: skip

    def final_specs(self, states: dict) -> list[RunSpec]:
        """The seed runs of every finished search (PPCE's learning rate among them), and the
        default PPCE's."""
        specs = []
        for dataset in self.datasets:
            if "ppce" in self.methods:
                specs += self.seed_specs("ppce", dataset, None)
            for method in self.losses():
                state = states.get((method, dataset))
                if state is not None and state.selected is not None:
                    specs += self.seed_specs(method, dataset, state.selected)
                    # The budget rule: where an extension moved the selection, the row is
                    # also reported at the common budget's (the grid given's) selection.
                    common = state.budget_selected
                    if common is not None and not math.isclose(common, state.selected, rel_tol=1e-9):
                        specs += self.seed_specs(method, dataset, common)
        return list(dict.fromkeys(specs))  # the tuned PPCE at 1x is the default PPCE: one run each

    def budget_steps(self, dataset: str) -> int:
        """Training steps one search of the grid spends before any extension (the same for every method)."""
        return grid_budget_steps(len(self.grid), self.rungs(dataset))


def describe(lb: Leaderboard) -> str:
    rungs = lb.rungs(lb.datasets[0])
    tuned = sum(is_tuned(m) for m in lb.losses())
    lr = [m for m in lb.losses() if searched_hyperparameter(m) == "lr"]
    budget = lb.budget_steps(lb.datasets[0]) / rungs[-1]
    low, high = EXTENSION_BOUND
    folded = folded_losses(lb.methods)
    return (f"leaderboard: {tuned} losses x {len(lb.datasets)} datasets, each searched over {len(lb.grid)} weights "
            f"({', '.join(grid_text(m) for m in lb.grid)} x default)" + (f", and {', '.join(lr)}'s learning rate over the same multipliers" if lr else "")
            + f", with rungs at steps {', '.join(map(str, rungs))} "
            f"({budget:g} run lengths each; a selection at the grid's edge adds the next weight beyond it, "
            f"a factor of 3, within {grid_text(float(low))}..{grid_text(float(high))}), seed {SEARCH_SEED}; then seeds "
            f"{', '.join(map(str, reported_seeds(lb.seeds)))} at the selection"
            + "".join(f"; {m} is {t} at its defaults: one row, not searched" for m, t in folded.items()))  # fmt: skip


def budget_text(state: SearchState) -> str:
    """``8 trials, 6,500 steps``: what a search has spent so far."""
    return f"{state.trials_run} trials, {state.steps_spent:,} steps"


def print_plan(lb: Leaderboard, out: Path, versions: dict[str, str], *, redo_outdated: bool = False) -> None:
    """The dry run: where every search stands (its grid position and budget), the trials its
    next rung still lacks (an extension's among them), and the seed runs."""
    from benchmark.sweep import pending, run_name

    print(describe(lb))
    states = lb.states(out, versions)
    for (method, dataset), state in states.items():
        rungs = lb.rungs(dataset)
        where = position_text(state, lb.grid, rungs)
        if state.selected is not None:
            where = f"selected {grid_text(state.selected)}x ({where})"
        elif state.provisional is not None:
            where += f", after {grid_text(state.provisional)}x at the grid's edge"
        print(f"search  {dataset:10s} {method:14s} {where}; {budget_text(state)}")
        for m in state.todo:
            spec = lb.trial_spec(method, dataset, m, state.step)
            # an extension's trials: the new weight, and any weight the grown grid sends on
            print(f"todo    {spec.run_id(versions[dataset])}  {run_name(spec)}  {dataset}  rung {state.rung + 1}"
                  + (" (extension)" if state.provisional is not None else ""))  # fmt: skip
    finals = lb.final_specs(states)
    todo, _ = pending(finals, out, versions, redo_outdated=redo_outdated)
    todo_ids = {id(s) for s in todo}
    for spec in finals:
        print(f"{'todo' if id(spec) in todo_ids else 'exists':6s}  {spec.run_id(versions[spec.dataset])}  {run_name(spec)}  {spec.dataset}")
    waiting = sum(s.selected is None for s in states.values())
    trials = sum(len(s.todo) for s in states.values())
    print(f"{trials} search trials to do at their next rung; {len(finals)} seed runs listed, {len(todo)} to do"
          + (f"; {waiting} searches not finished (their seed runs are listed once they are)" if waiting else ""))


def run_leaderboard(lb: Leaderboard, options: SweepOptions, *, versions: dict[str, str]) -> int:
    """Run the searches rung by rung, then the seed runs, all on one executor (``options.executor``)
    into ``options.out``. Returns 0 when no run failed."""
    from benchmark.sweep import STATES_FOLDER, executor_session, pending, run_specs

    started = time.time()
    out = Path(options.out).resolve()
    print(describe(lb), flush=True)
    failed = 0
    retry = options.retry_failed
    for dataset in lb.datasets:
        write_definition(out, lb.definition(dataset))
    with executor_session(options) as executor:
        passes = 0
        while True:
            # One pass: the lowest rung any search stands at, for every search standing there.
            # A search whose selection lies at its grid's edge stands at rung 1 again, with the
            # next weight beyond it to run (benchmark.tuning.extended_search), so extensions
            # are passes like any other, until every search has its selection.
            states = lb.states(out, versions, retry)
            waiting = [state.rung for state in states.values() if state.rung is not None and state.todo]
            if not waiting:
                break
            rung = min(waiting)
            passes += 1
            specs = lb.rung_specs(states, rung)
            extending = sum(1 for state in states.values() if state.rung == rung and state.provisional is not None)
            print(f"tuning, rung {rung + 1}: {len(specs)} trials" + (f" ({extending} searches extended beyond an edge)" if extending else ""),
                  flush=True)  # fmt: skip
            summary = run_specs(specs, options, name=f"leaderboard-pass{passes}-rung{rung + 1}", executor=executor)
            print(summary.line(), flush=True)
            for line in summary.failures:
                print(f"  failed: {line}", flush=True)
            failed += summary.failed
            ran = {spec.run_id(versions[spec.dataset]) for spec in specs}
            left = [s for s in lb.rung_specs(lb.states(out, versions, retry), rung) if s.run_id(versions[s.dataset]) in ran]
            if left:
                # Interrupted (Ctrl-C), or trials that left no record: the next rung must
                # not be decided without them.
                print(f"stopped: {len(left)} trials of rung {rung + 1} have no record; run the same command again to "
                      "continue where it stopped", flush=True)  # fmt: skip
                return 1
        states = lb.states(out, versions)
        for (method, dataset), state in states.items():
            if state.selected is not None:
                where = position_text(state, lb.grid, lb.rungs(dataset))
                print(f"selected  {dataset:10s} {method:14s} {grid_text(state.selected)}x default ({where}; {budget_text(state)})", flush=True)
        if all(state.selected is not None for state in states.values()):
            # Every search is done: the states its cut trials left are of no further use.
            for (method, dataset), state in states.items():
                for m in state.grid:
                    schedule = lb.trial_spec(method, dataset, m, lb.rungs(dataset)[-1]).schedule_id(versions[dataset])
                    for path in (out / STATES_FOLDER).glob(f"{schedule}-*.pt"):
                        path.unlink(missing_ok=True)
        finals = lb.final_specs(states)
        print(f"seeds: {len(finals)} runs", flush=True)
        summary = run_specs(finals, options, name="leaderboard-seeds", executor=executor)
        print(summary.line(), flush=True)
        failed += summary.failed
        for line in summary.failures:
            print(f"  failed: {line}", flush=True)
        left, _ = pending(finals, out, versions)
        if left:  # interrupted (Ctrl-C): not done, and not a success
            print(f"stopped: {len(left)} seed runs have no record; run the same command again to continue where it stopped", flush=True)
            return 1
    print(f"leaderboard done in {time.time() - started:.0f} s", flush=True)
    return 0 if failed == 0 else 1


def all_methods() -> tuple[str, ...]:
    """Every registered method, PPCE (the baseline) first."""
    names = methods.list_methods()
    return ("ppce",) + tuple(n for n in names if n != "ppce")
