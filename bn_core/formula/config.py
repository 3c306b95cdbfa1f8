"""Every knob of the formula page, declared once (bn_core.controls): the mini-batch, ε, γ and β,
and the backward pass's upstream gradient. Also its URL query.

Notation of the paper (Ioffe & Szegedy 2015): a mini-batch B of m examples x_1 … x_m (here each
with D features, normalised one feature at a time), μ_B its mean, σ²_B its biased variance,
x̂ the normalised values, y = γ x̂ + β the output, ε the small constant under the square root.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bn_core.batchnorm import PYTORCH_EPS
from bn_core.controls import Config, knob

__all__ = ["FormulaConfig", "EPS_CHOICES", "SPREAD_CHOICES", "SCALE_CHOICES", "UPSTREAM",
           "MAX_BATCH", "MAX_FEATURES", "MAX_SEED", "format_eps", "latex_eps"]

EPS_CHOICES = (0.0,) + tuple(10.0**k for k in range(-12, 1))       # 0, 1e-12 … 1
SPREAD_CHOICES = (0.0, 1e-4, 1e-3, 1e-2)                             # the constant feature's δ
SCALE_CHOICES = (0.01, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 100.0)
UPSTREAM = {
    "random": "random (seeded)",
    "ones": "∂ℓ/∂y = 1 for every example (ℓ = Σ y)",
    "y": "∂ℓ/∂y = y (ℓ = ½ Σ y²)",
    "first": "only example 1 matters (ℓ = y₁)",
}
MAX_BATCH, MAX_FEATURES = 32, 4
MAX_SEED = 1_000_000


def format_eps(eps: float) -> str:
    """'0', '1e-05', '0.001', '1': how the page labels an ε."""
    if eps == 0:
        return "0"
    return f"{eps:g}"


def latex_eps(eps: float) -> str:
    """ε for st.latex: 0, 10^{-5}, 1."""
    if eps == 0:
        return "0"
    k = math.log10(eps)
    return f"10^{{{int(round(k))}}}" if abs(k - round(k)) < 1e-9 and eps != 1 else f"{eps:g}"


@dataclass(frozen=True)
class FormulaConfig(Config):
    """Every control of the formula page (also its URL query); invalid values raise ValueError
    naming the field. ε, the scale and the spread take only their listed values."""

    batch_size: int = knob(8, "Batch size m", lo=2, hi=MAX_BATCH)                       # m
    features: int = knob(3, "Features D", lo=1, hi=MAX_FEATURES)                        # D
    shift: float = knob(5.0, "Shift (added to every value)", lo=-50.0, hi=50.0,
                        help="Moves the batch away from mean 0.")
    scale: float = knob(3.0, "Scale (multiplies every value)", choices=SCALE_CHOICES,
                        ladder=SCALE_CHOICES, help="Moves the batch away from variance 1.")
    constant: bool = knob(False, "Constant feature 1",
                          help="Makes feature 1 almost the same for every example, to see what "
                          "ε is for.")
    spread: float = knob(1e-3, "its spread δ", choices=SPREAD_CHOICES, ladder=SPREAD_CHOICES,
                         labels=lambda v: "0 (exactly constant)" if v == 0 else f"{v:g}",
                         help="Feature 1 becomes k + δ·z: its values differ only by about δ.")
    eps: float = knob(PYTORCH_EPS, "ε", choices=EPS_CHOICES, ladder=EPS_CHOICES,
                      labels=format_eps,
                      help="PyTorch uses 1e-5, Keras 1e-3. 0 is allowed: see *Why ε?* below.")
    gamma: float = knob(1.0, "γ (scale)", lo=-5.0, hi=5.0)                  # every feature
    beta: float = knob(0.0, "β (shift)", lo=-10.0, hi=10.0)
    identity: bool = knob(False, "Undo it: γ = √σ²_B, β = μ_B",
                          help="Per feature: γ = the batch standard deviation, β = the batch "
                          "mean.")
    upstream: str = knob("random", "Upstream gradient dy = ∂ℓ/∂y", choices=tuple(UPSTREAM),
                         labels=UPSTREAM)             # the ∂ℓ/∂y of the backward pass
    feature: int = knob(1, "Feature to split into paths", lo=1, hi=MAX_FEATURES,
                        widget="select", labels=lambda j: f"feature {j}")   # 1-based
    seed: int = knob(0, "Seed", lo=0, hi=MAX_SEED, widget="number")

    def check(self) -> None:
        if self.feature > self.features:
            raise ValueError(f"feature: expected a feature from 1 to {self.features}, "
                             f"got {self.feature}")
