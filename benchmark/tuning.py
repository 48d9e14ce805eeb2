"""The leaderboard's weight search: the same rule for every loss, cut by a fixed rung rule,
widened beyond an edge selection by a fixed extension rule.

A method's loss weight is searched as a multiplier on its default lambdas (a method with
several lambdas keeps their ratios) over a grid, 3^k for k = -3..3 by default, with seed 0,
scored by mIoU on the tuning split. Trials are cut by synchronous successive halving: every
trial of the grid runs to the first rung (a quarter of the schedule); the best third (rounded
up) goes on to the next rung (half), the best third of those to the whole schedule, and the
best trial there is selected. A rung is decided only once all its trials have a score, so
which trials go on depends on the scores alone, never on the order they finish, and with the
same grid every method spends the same number of training steps (7 trials: 7/4 + 3/4 + 1/2 =
3 run lengths).

Ray Tune's ``HyperBandScheduler`` (synchronous) fixes its rungs by a reduction factor common
to trials and resources and keeps no record per rung that a restarted sweep can read; this
rule is small, and written here so that the report re-derives every selection from the
stored trial records alone. Ties (equal scores) go to the multiplier nearer 1, then the
smaller one. A failed trial scores below every other.

**Beyond the edge** (``extended_search``). A selection at the grid's smallest or largest
multiplier says only that the best weight lies there or beyond. So, with the grid's edge
selected, the next multiplier beyond it (the edge divided, or multiplied, by 3) joins the
grid, and the rule above is replayed on the grown grid; this repeats while the selection is
an edge of the grid and the next multiplier lies within ``EXTENSION_BOUND`` (3^-7 .. 3^7).
A selection at an edge with no multiplier left within the bound is marked "bound reached".

Why the new multiplier joins the whole search (enters at the first rung and competes with
every weight of the grid by the same rule) rather than opening a search of its own whose
winner meets the old one at the last rung:

* The outcome is the rule's on the final grid, whatever the order the grid grew in: a search
  widened from 1/27..27 to 1/27..81 selects what a search started on 1/27..81 selects.
  Replaying a search needs the grid it was given and its trials' scores, no record of which
  weight was added when (``benchmark.search_definition``), and a trial already made, of any
  multiplier, keeps its spec and run id.
* A separate search of the new weights alone would compare its winner with the old one at
  the last rung only, after each had been cut among different company; the union keeps one
  rule, one family of comparisons, and lets the new weight displace any survivor.
* One multiplier at a time, not a block: it is the least that can answer "does the best lie
  beyond the edge?", every grid the search passes through is one the replay can start from,
  and the search stops as soon as the selection moves inside.

The price: the keep counts follow the grid's size (10 weights keep 4, then 2), so an
extension can send a weight cut earlier on to the next rung; its trial resumes from the
state its rung left when that is still there, else trains again from step 0 (the same
numbers). Each search's spend is reported (``SearchState.trials_run``, ``steps_spent``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import methods

__all__ = ["DEFAULT_GRID", "DEFAULT_REPORTED_SEEDS", "EXTENSION_BOUND", "EXTENSION_FACTOR", "LR_SEARCHED", "RUNG_SHARES", "SEARCH_SEED", "SearchState", "distinct",
           "edge_side", "extended_search", "extension_chain", "folded_losses", "grid_budget_steps", "grid_text", "is_tuned", "lr_multiplier", "multiplier_of", "next_beyond",
           "parse_grid", "position_text", "reported_seeds", "rung_steps", "scaled_lr", "scaled_params", "search_state", "searched_hyperparameter",
           "survivors"]  # fmt: skip

#: Multipliers on a method's default lambdas: 3^k, k = -3..3 (1/27x to 27x).
DEFAULT_GRID: tuple[float, ...] = tuple(3.0**k for k in range(-3, 4))
#: The rungs, as shares of the schedule; the best third goes on from each.
RUNG_SHARES: tuple[float, ...] = (0.25, 0.5, 1.0)
KEEP_SHARE = 3
#: The step from a grid's edge to the next multiplier beyond it.
EXTENSION_FACTOR = 3
#: The smallest and largest multiplier an extension may reach: 3^-7 and 3^7 (1/2187x and
#: 2187x), four factors of 3 beyond the default grid on each side. A loss whose weight still
#: wants to go further is, at this scale, either PPCE (its term 2187 times weaker) or its term
#: alone; the row says "bound reached" rather than searching on.
EXTENSION_BOUND: tuple[Fraction, Fraction] = (Fraction(1, 3**7), Fraction(3**7))


#: The seed every search trial trains with. The reported runs never use it
#: (``reported_seeds``): the run that won the search is not one of the runs that report it.
SEARCH_SEED = 0
#: The methods whose learning rate is searched (by the same grid, rungs and extension as a
#: weight): PPCE, the baseline, which has no weight. A loss's weight multiplier scales its
#: gradient too, so the weight search is partly a step-size search that PPCE would not get.
LR_SEARCHED: tuple[str, ...] = ("ppce",)


def reported_seeds(count: int) -> tuple[int, ...]:
    """The seeds of the reported runs: the ``count`` seeds after ``SEARCH_SEED`` (1, 2, 3 for 3),
    the same for every row, so that rows stay paired by seed."""
    return tuple(range(SEARCH_SEED + 1, SEARCH_SEED + 1 + count))


#: The reported seeds of a search definition written before definitions named them: the
#: leaderboard suite's default, 3 seeds.
DEFAULT_REPORTED_SEEDS: tuple[int, ...] = reported_seeds(3)


def searched_hyperparameter(method: str) -> str | None:
    """What a method's search multiplies: ``"weight"`` (its lambdas), ``"lr"`` (the learning
    rate, for ``LR_SEARCHED``), or None (not searched)."""
    if is_tuned(method):
        return "weight"
    return "lr" if method in LR_SEARCHED else None


def scaled_lr(settings, multiplier: float):
    """``settings`` (a ``Settings``) with its learning rate times ``multiplier`` (the head's
    follows it: ``head_lr_mult`` is a ratio)."""
    return replace(settings, lr=multiplier * settings.lr)


def lr_multiplier(lr: float, base_lr: float) -> float:
    """The multiplier that turns ``base_lr`` into ``lr``."""
    return float(lr) / float(base_lr)


def folded_losses(names) -> dict[str, str]:
    """``{method: twin}`` for every registered method of ``names`` that equals another one of
    ``names`` at their default parameters (``StructureLoss.same_as``), so that its search and
    its row would repeat the twin's: Tversky (alpha = beta = 0.5) -> Dice. A multiplier on the
    lambdas scales both alike, so they stay equal at every weight a search tries."""
    from benchmark.spec import row_key

    names = list(names)
    folded = {}
    for name in names:
        try:
            cls = methods.method_class(name)
        except ValueError:  # a method this process does not know (a record's): nothing declared
            continue
        twin = cls.same_as(methods.build_method(name).params)
        if twin is not None and twin[0] in names and twin[0] != name and twin[0] not in folded and row_key(*twin) == row_key(twin[0]):
            folded[name] = twin[0]
    return folded


def grid_budget_steps(size: int, rungs: tuple[int, ...]) -> int:
    """Training steps a search of ``size`` weights spends on ``rungs`` before any extension: the
    common budget, the same for every search of one grid (7 weights, rungs 500, 1000, 2000:
    7 x 500 + 3 x 500 + 1 x 1000 = 6,000)."""
    alive, previous, total = size, 0, 0
    for step in rungs:
        total += alive * (step - previous)
        previous = step
        alive = math.ceil(alive / KEEP_SHARE)  # the best third, rounded up, goes on
    return total


def is_tuned(method: str) -> bool:
    """Whether ``method`` has a loss weight to search (PPCE has none)."""
    return methods.method_class(method).num_lambdas > 0


def scaled_params(method: str, multiplier: float) -> dict:
    """The method's default parameters with its lambdas times ``multiplier``."""
    defaults = methods.method_class(method).default_lambdas
    return {"lambdas": [multiplier * float(v) for v in defaults]}


def multiplier_of(method: str, params: dict, defaults=None) -> float | None:
    """The multiplier that turns the method's default lambdas into ``params["lambdas"]``;
    None when they are not a multiple of them (or the method has none). ``defaults``: the
    default lambdas of a method that is not registered in this process (the ``origin`` of
    its records holds them); the registered class's own come first."""
    try:
        defaults = methods.method_class(method).default_lambdas
    except ValueError:
        if defaults is None:
            return None
    lambdas = params.get("lambdas")
    if not defaults or not lambdas or len(lambdas) != len(defaults):
        return None
    ratios = [float(v) / d for v, d in zip(lambdas, defaults) if d]
    zero_where_default_is = all(float(v) == 0 for v, d in zip(lambdas, defaults) if not d)
    if not ratios or not zero_where_default_is or any(not math.isclose(r, ratios[0], rel_tol=1e-9) for r in ratios):
        return None
    return ratios[0]


def parse_grid(text: str) -> tuple[float, ...]:
    """``"1/27,1/9,1/3,1,3,9,27"`` -> the multipliers, sorted; ``ValueError`` saying what is
    expected for anything but distinct positive numbers or fractions."""
    values = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(Fraction(part))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError(f"--grid: {part!r} is not a number; give positive multipliers such as 1/27,1/9,1/3,1,3,9,27") from None
        if value <= 0:
            raise ValueError(f"--grid: multipliers must be > 0, got {part!r}")
        values.append(value)
    close = any(math.isclose(a, b, rel_tol=1e-9) for i, a in enumerate(values) for b in values[i + 1 :])
    if close or not values:
        raise ValueError(f"--grid: give distinct multipliers, got {text!r}")
    return tuple(sorted(values))


def _fraction(multiplier: float) -> Fraction:
    """The short fraction a multiplier stands for (1/2187 for 3.0**-7), else its exact value."""
    fraction = Fraction(multiplier).limit_denominator(10**6)
    return fraction if math.isclose(float(fraction), multiplier, rel_tol=1e-9) else Fraction(multiplier)


def grid_text(multiplier: float) -> str:
    """``1/27``, ``1/3``, ``1``, ``3``, ``1/2187``: a grid value as a short fraction."""
    fraction = Fraction(multiplier).limit_denominator(10**6)
    return str(fraction) if math.isclose(float(fraction), multiplier, rel_tol=1e-9) else f"{multiplier:g}"


def distinct(values) -> tuple[float, ...]:
    """``values`` sorted, without near-equal repeats (multipliers recovered from stored lambdas
    differ from the grid's in the last bits)."""
    out: list[float] = []
    for v in sorted(float(v) for v in values):
        if not out or not math.isclose(v, out[-1], rel_tol=1e-9):
            out.append(v)
    return tuple(out)


def rung_steps(steps: int) -> tuple[int, ...]:
    """The step of each rung in a schedule of ``steps`` (distinct, increasing, the last = ``steps``)."""
    return tuple(sorted({max(1, round(share * steps)) for share in RUNG_SHARES}))


def _rank_key(multiplier: float, score: float | None) -> tuple:
    finite = score is not None and score == score
    return (-(score if finite else -math.inf), abs(math.log(multiplier)), multiplier)


def survivors(scores: dict[float, float | None], keep: int | None = None) -> list[float]:
    """The multipliers that go on from a rung whose trials scored ``scores``: the best
    ``keep`` (default: a third, rounded up), in grid order."""
    keep = math.ceil(len(scores) / KEEP_SHARE) if keep is None else keep
    best = sorted(scores, key=lambda m: _rank_key(m, scores[m]))[:keep]
    return sorted(best)


@dataclass(frozen=True)
class SearchState:
    """Where one method's search stands: the rung to run next and the multipliers it still
    lacks there, or the selected multiplier once every rung is done.

    ``extended_search`` fills the rest: ``grid``, the multipliers searched (the grid given
    and its extensions); ``provisional``, while an extension is under way, what the search
    selected before it (the weight at the edge that asked for it); ``bound_reached``, the
    selection is an edge of the grid and no multiplier beyond it lies within the bound;
    ``trials_run`` and ``steps_spent``, the search's budget: every multiplier of the grid
    with a trial, and the furthest step each reached, summed (a trial going on to a rung
    resumes from the one before, so a trial costs the step it reached)."""

    rung: int | None
    step: int | None
    todo: tuple[float, ...]
    #: (multiplier, step) -> score of every trial the rule looked at, in the order it did.
    seen: dict
    selected: float | None
    grid: tuple[float, ...] = ()
    provisional: float | None = None
    bound_reached: bool = False
    trials_run: int = 0
    steps_spent: int = 0
    #: The selection on the grid given, before any extension: the search's choice at the
    #: common budget (every search of one grid spends the same steps on it), None until that
    #: grid's rungs are done. The report shows each row at it as well as at its selection.
    budget_selected: float | None = None


def _find(trials: dict[tuple[float, int], float | None], multiplier: float, step: int):
    for (m, s), score in trials.items():
        if s == step and math.isclose(m, multiplier, rel_tol=1e-9):
            return True, score
    return False, None


def search_state(trials: dict[tuple[float, int], float | None], grid: tuple[float, ...], rungs: tuple[int, ...]) -> SearchState:
    """Replay the rule over the trials done, ``(multiplier, step) -> score`` (None: failed),
    on ``grid`` as it stands (no extension; see ``extended_search``)."""
    alive = sorted(grid)
    seen = {}
    if not alive:
        return SearchState(0, rungs[0] if rungs else None, (), seen, None)
    for index, step in enumerate(rungs):
        scores = {}
        for m in alive:
            done, score = _find(trials, m, step)
            if done:
                scores[m] = score
                seen[(m, step)] = score
        missing = tuple(m for m in alive if m not in scores)
        if missing:
            return SearchState(index, step, missing, seen, None)
        alive = survivors(scores, 1 if index == len(rungs) - 1 else None)
    return SearchState(None, None, (), seen, alive[0])


def edge_side(grid: tuple[float, ...], selected: float) -> int:
    """-1 when ``selected`` is the grid's smallest multiplier, +1 its largest, 0 inside (and
    for a grid of one multiplier, which has no inside to leave)."""
    grid = distinct(grid)
    if len(grid) < 2:
        return 0
    if math.isclose(selected, grid[0], rel_tol=1e-9):
        return -1
    if math.isclose(selected, grid[-1], rel_tol=1e-9):
        return 1
    return 0


def next_beyond(grid: tuple[float, ...], side: int, bound=EXTENSION_BOUND) -> float | None:
    """The multiplier beyond the grid's edge on ``side`` (the edge / 3 or x 3), None when it
    lies outside ``bound``. Computed on fractions, so that 1/27 -> 1/81 is the same float as
    ``--grid 1/81`` gives, and a trial made either way has one run id."""
    grid = distinct(grid)
    if not side or not grid:
        return None
    edge = _fraction(grid[0] if side < 0 else grid[-1])
    beyond = edge / EXTENSION_FACTOR if side < 0 else edge * EXTENSION_FACTOR
    low, high = bound
    return float(beyond) if low <= beyond <= high else None


def extension_chain(grid: tuple[float, ...], bound=EXTENSION_BOUND) -> tuple[float, ...]:
    """Every multiplier an extension of ``grid`` can reach within ``bound``, on both sides
    (the candidates whose trial records a search may hold beyond its grid)."""
    out, grid = [], distinct(grid)
    for side in (-1, 1):
        edge = grid
        while (beyond := next_beyond(edge, side, bound)) is not None:
            out.append(beyond)
            edge = (beyond,)
    return distinct(out)


def extended_search(trials: dict[tuple[float, int], float | None], grid: tuple[float, ...], rungs: tuple[int, ...],
                    bound=EXTENSION_BOUND, base: tuple[float, ...] | None = None) -> SearchState:  # fmt: skip
    """The rule with its extension, replayed over the trials done (see the module docstring):
    the rung rule on ``grid``; while it selects an edge of the grid and the next multiplier
    beyond lies within ``bound``, that multiplier joins the grid and the rule is replayed.

    Returns the state on the last grid: a selection (interior, or at an edge with the bound
    reached), or the trials still to run, with ``provisional`` the selection that asked for
    the extension under way. ``trials`` may hold multipliers the search never reaches (another
    grid's): they are neither looked at nor counted.

    ``base``: the grid the search was given, when ``grid`` may already hold extension weights
    (the report starts from every multiplier a method ran at the first rung): an unfinished
    search whose outermost weight lies beyond ``base`` gets as ``provisional`` the edge
    selection of the grid without it, when that selection asked for exactly that weight."""
    grid = distinct(grid)
    provisional = None
    first = None
    while True:
        state = search_state(trials, grid, rungs)
        if first is None:
            first = (state.selected,)
        if state.selected is not None:
            side = edge_side(grid, state.selected)
            beyond = next_beyond(grid, side, bound) if side else None
            if beyond is not None:
                provisional = state.selected
                grid = distinct(grid + (beyond,))
                continue
            state = replace(state, bound_reached=bool(side))
            provisional = None
        elif provisional is None and base:
            provisional = _asked_for(trials, grid, rungs, bound, distinct(base))
        reached = {}
        for m, step in trials:
            for g in grid:
                if math.isclose(m, g, rel_tol=1e-9):
                    reached[g] = max(reached.get(g, 0), step)
        return replace(state, grid=grid, provisional=provisional, trials_run=len(reached), steps_spent=sum(reached.values()),
                       budget_selected=first[0])  # fmt: skip


def _asked_for(trials, grid, rungs, bound, base) -> float | None:
    """The edge selection of ``grid`` without its newest weight (its outermost one beyond
    ``base``), when that selection is what asked for it; else None."""
    for side, newest in ((-1, grid[0]), (1, grid[-1])):
        beyond_base = newest < base[0] if side < 0 else newest > base[-1]
        if not beyond_base or math.isclose(newest, base[0 if side < 0 else -1], rel_tol=1e-9) or len(grid) < 3:
            continue
        before = grid[1:] if side < 0 else grid[:-1]
        prior = search_state(trials, before, rungs).selected
        asked = next_beyond(before, side, bound) if prior is not None and edge_side(before, prior) == side else None
        if asked is not None and math.isclose(asked, newest, rel_tol=1e-9):
            return prior
    return None


def position_text(state: SearchState, base: tuple[float, ...], rungs: tuple[int, ...]) -> str:
    """Where the search's selection lies, for a table: ``interior`` (inside the grid given),
    ``extended to 81`` (inside a grid the rule widened, up to that multiplier), ``bound reached
    at 1/2187`` (an edge with nothing left within the bound), or how far an unfinished search
    is: ``rung 2 of 3``, ``extending to 1/81: rung 1 of 3``."""
    base = distinct(base)
    grid = distinct(state.grid or base)
    wider = ([grid_text(grid[0])] if base and grid[0] < base[0] and not math.isclose(grid[0], base[0], rel_tol=1e-9) else []) + (
        [grid_text(grid[-1])] if base and grid[-1] > base[-1] and not math.isclose(grid[-1], base[-1], rel_tol=1e-9) else [])  # fmt: skip
    if state.selected is None:
        where = f"rung {state.rung + 1} of {len(rungs)}"
        return f"extending to {' and '.join(wider)}: {where}" if state.provisional is not None and wider else where
    if state.bound_reached:
        return f"bound reached at {grid_text(state.selected)}"
    if len(grid) < 2:
        return "single weight"
    return f"extended to {' and '.join(wider)}" if wider else "interior"
