"""How large each loss term is here: its gradient against PPCE's at initialisation, measured once.

A lambda weighs a term whose size depends on this setting: SEMEDA's terms on the edge net
(a ReLU net can be rescaled, conv1 by k and conv2 by 1/k, with the same edge map and a
k-times larger embedding), the overlap losses on their normalisation. So "lambda = 1" is read
against the ratio |g_term| / |g_ppce|: the global L2 norm of the gradient of the term at
weight 1 over the model's parameters, divided by PPCE's, at initialisation (streets, 64 x 128,
3 batches of 4 training images, deeplabv2_small of width 32, seed 0, train mode; the edge net
of the small scale's streets preparation, fitted at peak 0.9, held-out F1 0.997). Measured by

    python examples/gradient_scale.py --terms --edge-net <data>/prepared/streets-dacdfacb2f6e/edge_net.pt

(609 s on the reference machine, under load); a reading of the order of magnitude at the first
step, not of the whole run (SEMEDA (0,1,0)'s median pre-clip norm over a run is 17.2 against
PPCE's 1.84).
"""

from __future__ import annotations

from benchmark.spec import RowKey, row_key, row_label

__all__ = ["TERM_SCALES", "TABLE1_TERMS", "scale_of", "table1_scales_text", "method_scales_text"]

#: (method, parameters at weight 1, |g_term| / |g_ppce|): Table 1's terms one at a time, then
#: every tuned method at its default weights (``examples/gradient_scale.py --terms``).
TERM_SCALES: tuple[tuple[str, dict, float], ...] = (
    ("semeda", {"lambdas": (1, 0, 0)}, 1.89),
    ("semeda", {"lambdas": (0, 1, 0)}, 35.3),
    ("semeda", {"lambdas": (0, 0, 1)}, 24.3),
    ("semeda", {"lambdas": (1, 0, 0), "relu": True}, 1.25),
    ("semeda", {"lambdas": (0, 1, 0), "relu": True}, 17.9),
    ("ubernet", {"lambdas": (1,)}, 0.997),
    ("ppce_edges", {"lambdas": (1,)}, 20.5),
    ("boundary", {}, 0.0634),
    ("boundary_dou", {}, 0.0167),
    ("cldice", {}, 0.0621),
    ("dice", {}, 0.0131),
    ("focal", {}, 0.111),
    ("hausdorff_dt", {}, 107),
    ("lovasz", {}, 0.0288),
    ("tversky", {}, 0.0131),
)
#: How Table 1's note names its terms.
TABLE1_TERMS: tuple[tuple[str, dict, str], ...] = (
    ("semeda", {"lambdas": (1, 0, 0)}, "SEMEDA psi^1 before ReLU"),
    ("semeda", {"lambdas": (0, 1, 0)}, "psi^2 before ReLU"),
    ("semeda", {"lambdas": (0, 0, 1)}, "psi^3"),
    ("semeda", {"lambdas": (1, 0, 0), "relu": True}, "psi^1 after ReLU"),
    ("semeda", {"lambdas": (0, 1, 0), "relu": True}, "psi^2 after ReLU"),
    ("ubernet", {"lambdas": (1,)}, "the Ubernet-style edge head"),
    ("ppce_edges", {"lambdas": (1,)}, "PPCE on edges"),
)
_BY_KEY: dict[RowKey, float] = {row_key(m, p): v for m, p, v in TERM_SCALES}


def scale_of(method: str, params: dict | None = None) -> float | None:
    """The measured ratio of ``method`` with ``params`` (its default weights when None), or None."""
    return _BY_KEY.get(row_key(method, params or {}))


def _number(v: float) -> str:
    return f"{v:.3g}"


def table1_scales_text() -> str:
    """Table 1's note on its terms' scales."""
    terms = ", ".join(f"{name} {_number(scale_of(m, p))}" for m, p, name in TABLE1_TERMS)
    return ("Term scales: each term's gradient at weight 1 against PPCE's, at initialisation (|g_term| / |g_ppce|, "
            f"benchmark/term_scales.py): {terms}; a lambda multiplies these.")  # fmt: skip


def method_scales_text() -> str:
    """The leaderboard's note on its methods' scales (at their default weights)."""
    from methods import list_methods, method_class

    known = [(m, scale_of(m)) for m in list_methods() if method_class(m).num_lambdas > 0]
    terms = ", ".join(f"{row_label(row_key(m, {}))} {_number(v)}" for m, v in known if v is not None)
    return ("Term scales: each method's extra term at its default weights against PPCE's gradient, at initialisation "
            f"(|g_term| / |g_ppce|, benchmark/term_scales.py): {terms}; the selected weight multiplies these.")  # fmt: skip
