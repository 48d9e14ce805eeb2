"""The leaderboard's weight search: the same budget for every loss, cut by a fixed rung rule.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import methods

__all__ = ["DEFAULT_GRID", "RUNG_SHARES", "SearchState", "grid_text", "is_tuned", "multiplier_of", "parse_grid", "rung_steps",
           "scaled_params", "search_state", "survivors"]  # fmt: skip

#: Multipliers on a method's default lambdas: 3^k, k = -3..3 (1/27x to 27x).
DEFAULT_GRID: tuple[float, ...] = tuple(3.0**k for k in range(-3, 4))
#: The rungs, as shares of the schedule; the best third goes on from each.
RUNG_SHARES: tuple[float, ...] = (0.25, 0.5, 1.0)
KEEP_SHARE = 3


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


def grid_text(multiplier: float) -> str:
    """``1/27``, ``1/3``, ``1``, ``9``: a grid value as a short fraction."""
    fraction = Fraction(multiplier).limit_denominator(1000)
    return str(fraction) if math.isclose(float(fraction), multiplier, rel_tol=1e-9) else f"{multiplier:g}"


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
    lacks there, or the selected multiplier once every rung is done."""

    rung: int | None
    step: int | None
    todo: tuple[float, ...]
    #: (multiplier, step) -> score of every trial the rule looked at, in the order it did.
    seen: dict
    selected: float | None


def _find(trials: dict[tuple[float, int], float | None], multiplier: float, step: int):
    for (m, s), score in trials.items():
        if s == step and math.isclose(m, multiplier, rel_tol=1e-9):
            return True, score
    return False, None


def search_state(trials: dict[tuple[float, int], float | None], grid: tuple[float, ...], rungs: tuple[int, ...]) -> SearchState:
    """Replay the rule over the trials done, ``(multiplier, step) -> score`` (None: failed)."""
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
