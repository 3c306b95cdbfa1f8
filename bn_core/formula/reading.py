"""The formula lesson's numbers in plain sentences (markdown), as the page shows them.

    normalised(lesson)    step 3's caption: x̂'s mean 0 and variance σ²_B/(σ²_B + ε), feature
                          by feature where that is not about 1
    pair(lesson)          step 3's note at m = 2: the two values become −1 and +1, or why not
    scaled(lesson)        step 4's caption: y's mean β and standard deviation |γ|, or why not
    paths_sum(lesson, j)  the caption of feature j's three paths' Σ row
    undo(lesson)          how close γ = √σ²_B, β = μ_B brings y back to x, and why not exactly
    feature_one(lesson)   where the page's feature 1 sits against ε

Every sentence is about the numbers on screen: a feature whose x̂ is NaN (ε = 0 on a constant
feature) is named as such (NAN), never described as −1 and +1 or as rounding.
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.formula.lesson import FormulaLesson

__all__ = ["normalised", "pair", "scaled", "paths_sum", "undo", "feature_one", "number", "NAN"]

NAN = "with ε = 0 and a constant feature x̂ is 0/0 = NaN"
CLOSE = 0.01            # a relative gap under 1 % reads “up to ε”


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


def _names(features: list[int]) -> str:
    """[1] → "feature 1", [1, 3] → "features 1 and 3" (1-based)."""
    if len(features) == 1:
        return f"feature {features[0]}"
    return f"features {', '.join(map(str, features[:-1]))} and {features[-1]}"


def _finite(lesson: FormulaLesson) -> list[int]:
    """0-based features whose x̂ is a number."""
    return [j for j in range(lesson.x.shape[1]) if j + 1 not in lesson.nonfinite]


def _nan_part(lesson: FormulaLesson, lead: str = "Not") -> str:
    return f" {lead} {_names(lesson.nonfinite)}: {NAN}: see above." if lesson.nonfinite else ""


def normalised(lesson: FormulaLesson) -> str:
    """Step 3's caption: x̂'s mean and variance, with the features where the variance is not
    about 1 (σ²_B not far above ε) and those whose x̂ is NaN."""
    text = "x̂, with its mean and variance per feature."
    finite = _finite(lesson)
    if not finite:
        return text + _nan_part(lesson, "For")
    every = "Every feature whose x̂ is a number" if lesson.nonfinite else "Every feature"
    text += (f" {every} now has mean 0 and variance σ²_B/(σ²_B + ε): 1 up to ε, whatever its "
             "shift and scale were.")
    for j in finite:
        var, xvar = float(lesson.xhat_var[j]), float(lesson.xvar[j])
        if xvar == 0:
            text += (f" Feature {j + 1} is constant (σ²_B = 0): x̂ = 0/√ε = 0, variance 0.")
        elif var < 1 - CLOSE:
            text += (f" Feature {j + 1}'s variance is {number(var)}: its σ²_B ({number(xvar)}) "
                     "is not far above ε, which damps it.")
    return text + _nan_part(lesson)


def pair(lesson: FormulaLesson) -> str:
    """Step 3's note at m = 2: two values that differ become −1 and +1 (up to ε); what the
    features here that do not do so become instead."""
    text = ("With m = 2 two values that differ always become −1 and +1 (up to ε): x̂ keeps "
            "only which of the two is larger.")
    for j in _finite(lesson):
        size = float(np.abs(lesson.xhat[:, j]).max())
        if lesson.xvar[j] == 0:
            text += f" Feature {j + 1}'s two values are equal: both become 0."
        elif size < 1 - CLOSE:
            text += (f" Feature {j + 1}'s become ±{number(size)}: its σ²_B "
                     f"({number(float(lesson.xvar[j]))}) is not far above ε.")
    return text + _nan_part(lesson, "Here, for")


def scaled(lesson: FormulaLesson) -> str:
    """Step 4's caption: y's mean β and standard deviation |γ| (up to ε), or why not."""
    text = "The output y of every example, with its mean (β) and standard deviation"
    finite = _finite(lesson)
    if not finite:
        return text + "." + _nan_part(lesson, "For")
    text += " (|γ|, up to ε)."
    for j in finite:
        std, gamma = float(lesson.y_std[j]), abs(float(lesson.gamma[j]))
        if lesson.xvar[j] == 0:
            text += f" Feature {j + 1} is constant (σ²_B = 0): y = β, standard deviation 0."
        elif abs(std - gamma) > CLOSE * gamma:
            text += (f" Feature {j + 1}'s is {number(std)}, not |γ| = {number(gamma)}: its "
                     f"σ²_B ({number(float(lesson.xvar[j]))}) is not far above ε.")
    return text + _nan_part(lesson, "Its y is NaN for")


def paths_sum(lesson: FormulaLesson, feature: int) -> str:
    """The caption of the paths table's Σ row (feature 1-based)."""
    if feature in lesson.nonfinite:
        return f"Every path of feature {feature} is NaN or infinite: {NAN}: see above."
    return ("The Σ row: the path through μ_B cancels the sum of the direct path, and the path "
            "through σ²_B adds nothing to it (Σ x̂ = 0).")


def undo(lesson: FormulaLesson) -> str:
    """γ and β give back what normalising took away: the largest |y − x| over the features
    whose x̂ is finite, with γ = √σ²_B and with γ = √(σ²_B + ε)."""
    finite = _finite(lesson)
    err = number(max(lesson.identity_error[finite], default=math.nan))
    err_exact = number(max(lesson.identity_error_exact[finite], default=math.nan))
    if not finite:
        why = f"not in this batch, though: {NAN}, and so is y (see above)."
    elif lesson.config.eps > 0:
        why = (f"the largest |y − x| in this batch is **{err}**, not exactly 0 because ε stays "
               "under the square root (y = √(σ²_B/(σ²_B+ε))·(x − μ_B) + μ_B); with "
               f"γ = √(σ²_B + ε) it is **{err_exact}** (rounding only).")
    else:
        why = f"the largest |y − x| in this batch is **{err}** (rounding only, as ε = 0)."
    if lesson.nonfinite and finite:
        why += " (Not for the constant feature at ε = 0: its x̂ is NaN.)"
    return ("**γ and β give back what normalising took away.** With γ = √σ²_B and β = μ_B (turn "
            f"on the toggle), y returns the input{': ' if finite else ', '}{why} So BN can always represent “no "
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
