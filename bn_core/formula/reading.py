"""The formula lesson's numbers in plain sentences (markdown), as the page shows them.

    undo(lesson)          how close γ = √σ²_B, β = μ_B brings y back to x, and why not exactly
    feature_one(lesson)   where the page's feature 1 sits against ε
"""

from __future__ import annotations

import math

from bn_core.formula.lesson import FormulaLesson

__all__ = ["undo", "feature_one", "number"]


def number(value: float, thousands: bool = False) -> str:
    """A number for a sentence: 3 significant digits (with `thousands`, from 1,000 to 10⁹ whole
    with separators); NaN and ∞ spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if thousands and 1e3 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return "0" if value == 0 else f"{value:.3g}"


def undo(lesson: FormulaLesson) -> str:
    """γ and β give back what normalising took away: the largest |y − x| over the features
    whose x̂ is finite, with γ = √σ²_B and with γ = √(σ²_B + ε)."""
    finite = [j for j in range(lesson.x.shape[1]) if j + 1 not in lesson.nonfinite]
    err = number(max(lesson.identity_error[finite], default=math.nan))
    err_exact = number(max(lesson.identity_error_exact[finite], default=math.nan))
    if lesson.config.eps > 0:
        why = (f"the largest |y − x| in this batch is **{err}**, not exactly 0 because ε stays "
               "under the square root (y = √(σ²_B/(σ²_B+ε))·(x − μ_B) + μ_B); with "
               f"γ = √(σ²_B + ε) it is **{err_exact}** (rounding only).")
    else:
        why = f"the largest |y − x| in this batch is **{err}** (rounding only, as ε = 0)."
    if lesson.nonfinite:
        why += " (Not for the constant feature at ε = 0: its x̂ is NaN.)"
    return ("**γ and β give back what normalising took away.** With γ = √σ²_B and β = μ_B (turn "
            f"on the toggle), y returns the input: {why} So BN can always represent “no "
            "normalisation”, and the network learns how much of it to keep.")


def feature_one(lesson: FormulaLesson) -> str:
    """Feature 1 against ε: exactly constant, nearly constant, or an ordinary feature."""
    c, var = lesson.config, float(lesson.xvar[0])
    if c.constant and c.spread == 0:
        return ("Your feature 1 is **exactly constant**: x − μ_B = 0 and σ²_B = 0, so "
                "x̂ = 0/√ε = 0 for every ε > 0. At ε = 0 the formula is 0/0 = **NaN**: what a "
                "framework without ε would produce.")
    if c.constant:
        return (f"Your feature 1 is **nearly constant** (δ = {c.spread:g}, σ²_B = "
                f"{number(var)}). With ε well below σ²_B its gain reaches 1/σ_B ≈ "
                f"{number(1 / math.sqrt(var), thousands=True)} and x̂ spreads to about ±1 like any other "
                "feature: differences of about δ are amplified as if they were signal.")
    return (f"Your feature 1 has σ²_B = {number(var)}, far above any usual ε. Turn on "
            "**Constant feature 1** above to put it where ε matters.")
