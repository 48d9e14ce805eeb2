"""The divergence rule: one test on a run's stored loss curve, the same for every method.

A run *diverged* when its PPCE term (the cross-entropy every method shares) either

- ever exceeds ``EXPLODE_FACTOR x log(C)`` in a logged window (it was thrown far beyond
  chance: a uniform prediction scores log(C)), or
- stays above ``STALL_FACTOR x log(C)`` over every logged window of the last
  ``TAIL_SHARE`` of its steps (it ended at or near chance),

C being the dataset's number of classes. A run that stopped on a non-finite loss diverged
too. Every method logs the shared cross-entropy as its ``ppce`` term; the rule reads it.
The stall test is against chance, not against the class prior: a run that collapses to
predicting the most frequent classes scores below log C without diverging by this rule,
and shows as a low mIoU instead. The report computes the mark from records alone, old records included, so that a
collapsed run is shown as such next to its mean, never averaged away unseen.
"""

from __future__ import annotations

import math

__all__ = ["EXPLODE_FACTOR", "RULE_TEXT", "STALL_FACTOR", "TAIL_SHARE", "diverged", "record_diverged"]

EXPLODE_FACTOR = 10.0
STALL_FACTOR = 0.9
TAIL_SHARE = 0.1
#: The rule in words, as the report's notes print it.
RULE_TEXT = (f"its PPCE term exceeded {EXPLODE_FACTOR:g} log C, or stayed above {STALL_FACTOR:g} log C "
             f"over the last {TAIL_SHARE:.0%} of training")  # fmt: skip


def diverged(steps, ppce, num_classes: int, total_steps: int | None = None) -> bool:
    """Whether the PPCE curve ``ppce`` (window means, logged at ``steps``) diverged.

    ``total_steps`` is the run's schedule length (the last logged step when None); the last
    tenth is the windows logged after ``0.9 * total_steps``.
    """
    values = [float(v) for v in ppce]
    if not values:
        return False
    chance = math.log(num_classes)
    if any(not math.isfinite(v) or v > EXPLODE_FACTOR * chance for v in values):
        return True
    end = total_steps if total_steps else steps[-1]
    tail = [v for s, v in zip(steps, values) if s > (1 - TAIL_SHARE) * end] or values[-1:]
    return all(v > STALL_FACTOR * chance for v in tail)


def record_diverged(record: dict, num_classes: int) -> bool | None:
    """The rule applied to a run record; None when the record holds no PPCE curve."""
    if record.get("status") == "failed" and (record.get("failure") == "non-finite" or "non-finite" in str(record.get("reason", ""))):
        return True  # ("failure" since 0.3.0; earlier records say so in their reason)
    curve = record.get("loss_curve") or {}
    if not curve.get("ppce"):
        return None
    spec = record.get("spec") or {}
    # the end of the run: a run stopped early (a weight search's cut trial) ends at its stop
    steps = record.get("step") or spec.get("stop_at") or spec.get("settings", {}).get("steps")
    return diverged(curve.get("step") or [], curve["ppce"], num_classes, steps)
