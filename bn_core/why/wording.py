"""How the /why page's verdicts (bn_core.why.verdicts) write what they found: numbers that are
never shown as 0 where they aren't (`num`, `mean_sd`), a difference with the margin it had to
pass (`signed`), a test's outcome in words (`says`), factors and geometric means, and the
sentence that names each experiment's margins (`margins_sentence`, bn_core.verdicts' margins).

    num(0.0047, 2)          '0.0047'        (not '0.00')
    mean_sd([...], 100)     '96.8 ± 0.5'
    signed(test, 100, " points")    '−0.1 ± 1.0 points'
    says(test, "1 point")   'clear' | 'not clear' | 'not clear: within 1 point, about the same'
"""

from __future__ import annotations

import math

import numpy as np

from bn_core import verdicts as shared
from bn_core.stats import Test

__all__ = ["num", "mean_sd", "accuracy", "signed", "ratio", "says", "geo", "against_run",
           "norm_reading", "margins_sentence", "MARGIN_WORDS"]


def num(x: float, digits: int, significant: int = 2) -> str:
    """x with `digits` decimals, or, where those would show a non-zero x as 0 (0.0047 at 2
    decimals: "0.00"), with `significant` digits: 0.0047, and 4.7e-06 past 5 decimals."""
    if x == 0 or not math.isfinite(x) or round(abs(x), digits) > 0:
        return f"{x:.{digits}f}"
    decimals = significant - 1 - math.floor(math.log10(abs(x)))
    return f"{x:.{decimals}f}" if decimals <= 5 else f"{x:.{significant - 1}e}"


def mean_sd(values: np.ndarray, scale: float = 1.0, digits: int = 1) -> str:
    """'0.23 ± 0.01': the mean and the standard deviation over seeds with `digits` decimals,
    neither shown as 0 where it isn't (`num`: 'BN 0.0047 ± 0.00007', not '0.00 ± 0.00')."""
    v = np.asarray(values, dtype=float) * scale
    mean = num(float(np.mean(v)), digits)
    if len(v) < 2:
        return mean
    sd = float(np.std(v, ddof=1))
    sd = 0.0 if sd <= 1e-12 * max(1.0, abs(float(np.mean(v)))) else sd    # equal values: rounding
    return f"{mean} ± {num(sd, digits, significant=1)}"


def accuracy(values) -> str:
    return mean_sd(values, 100.0) + "%"


def signed(t: Test, scale: float = 1.0, unit: str = "", digits: int = 1) -> str:
    margin = t.margin if t.possible else math.nan    # a margin no difference can pass: left out
    if math.isfinite(margin) and 0 < scale * margin < 10 ** -digits * 5:
        digits += 1                                   # "+0.4 ± 0.4" would hide a clear gap
    d = f"{scale * t.diff:+.{digits}f}".replace("-", "−")
    if not math.isfinite(margin):
        return f"{d}{unit}"
    return f"{d} ± {scale * margin:.{digits}f}{unit}"


def ratio(t: Test) -> str:
    """A difference of log10 values as a factor: '3.2×'."""
    return f"{10 ** t.diff:.3g}×"


def says(t: Test, margin: str = "its margin") -> str:
    """'clear', 'not clear', or where the data put the difference inside its margin (diff ± the
    test's margin at its level within ±margin, `Test.negligible`): 'not clear: within 1 point,
    about the same' (a reading, never a "clear")."""
    if t.n == 0:
        return "no seed to compare"
    if not math.isfinite(t.se) or t.n < 2:
        return "one seed: not testable"
    if not t.possible:
        return f"can't be clear with {t.n} seeds"
    if t.clear:
        return "clear"
    return f"not clear: within {margin}, about the same" if t.negligible else "not clear"


def geo(logs) -> str:
    v = 10 ** np.asarray(logs, dtype=float)
    v = v[np.isfinite(v)]
    return f"{np.exp(np.mean(np.log(v))):.3g}" if v.size else "—"


def against_run(tau: float, steps: int) -> str:
    """', longer than the run' where the time scale is; ', over half the run' where it is only
    that long (#23: the old wording said 'longer' from half the run on)."""
    if tau > steps:
        return ", longer than the run"
    return ", over half the run" if tau > steps / 2 else ""


def norm_reading(decay: float, lr: float, steps: int, steady: bool, stalled: bool) -> str:
    """What a weight decay's ‖W‖ did (the scale verdict). Without decay: 'nearly constant' only
    where the growth stalled (`stalled`: the last quarter grew well below the run's pace; a
    short run still rising changes little over its last few steps, yet is "still growing").
    With decay λ, ‖W‖² relaxes to its equilibrium over τ = 1/(2ηλ) steps (decay alone shrinks
    ‖W‖² by (1 − ηλ)² per step; near the equilibrium a deviation fades as e^(−2t/τ)): a run
    shorter than τ can't have reached it, however little ‖W‖ changed over its last quarter."""
    if decay == 0:
        return ("nearly constant: the growth stalls as the gradients shrink (nothing pulls ‖W‖ "
                "back)" if stalled else "still growing")
    tau = 1.0 / (2.0 * lr * decay)
    if steady and tau > steps:
        return (f"still moving towards its equilibrium (the time scale, 1/(2ηλ) = {tau:,.0f} "
                f"steps, is longer than the run: ‖W‖ changed little over its last quarter only "
                f"because the run is short)")
    return (f"an equilibrium: the decay's pull and the gradient steps' push balance (time scale "
            f"1/(2ηλ) = {tau:,.0f} steps)" if steady else
            f"still moving towards its equilibrium (time scale 1/(2ηλ) = {tau:,.0f} "
            f"steps{against_run(tau, steps)})")


MARGIN_WORDS = {"noise": [("1 point", "in accuracy"), ("a factor 1.1", "in jitter")],
                 "landscape": [("a factor 1.1", "in each of the three measures")]}


def margins_sentence(config) -> str:
    """What a difference must exceed to count, per measure of this experiment (`MARGINS`)."""
    if config.experiment == "ics":
        words = [("0.01", "in cos(G, G′)"), ("a factor 1.1", "in ‖G − G′‖")] + (
            [("a factor 1.1", "in training loss")] if config.network == "linear"
            else [("1 point", "in accuracy")])
    elif config.experiment == "scale":
        words = [("a factor 1.1", "in ‖W‖")] + (
            [("0.01", "in mean training loss")] if config.multiply else [])
    else:
        words = MARGIN_WORDS[config.experiment]
    return shared.margins_sentence(words)


