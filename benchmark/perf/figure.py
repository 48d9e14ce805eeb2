"""One reported figure (``Figure``) and the per-repeat ratios most figures are made of."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

__all__ = ["Figure", "ratios"]


@dataclass
class Figure:
    """One reported figure: its values over repeats, and the target it is held to."""

    section: str
    key: str
    label: str
    unit: str
    values: list[float]
    target: tuple[str, float] | None = None  # (">=" or "<=", bound)
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target
        return bool(self.median >= bound if op == ">=" else self.median <= bound)

    def to_dict(self) -> dict:
        return {
            "section": self.section, "label": self.label, "unit": self.unit,
            "median": self.median, "min": float(min(self.values)), "max": float(max(self.values)),
            "repeats": len(self.values), "values": [float(v) for v in self.values],
            "target": None if self.target is None else {"op": self.target[0], "value": self.target[1]},
            "met": self.met, **self.extra,
        }  # fmt: skip


def ratios(num: list[float], den: list[float]) -> list[float]:
    """Per-repeat ratios: each pair was measured in the same repeat."""
    return [a / b for a, b in zip(num, den)]
