"""Statistics of experiments across seeds: summaries, t-tests, and Holm's correction.

    s = summarize(values)                        # n, mean, sd, se, median, min, max
    s.interval()                                 # mean ± t · se, Student's t, 95%
    a_vs_b = paired_test(a, b, resolution=1/360) # per-seed differences a − b (same seeds)
    a_vs_b = welch_test(a, b, resolution=1/360)  # independent groups
    tests = holm([t1, t2, …])                    # each gets its level, critical t and `clear`

The tests (two-sided, level α = 5% before the correction):

    Welch:   d = mean_a − mean_b,  SE = √(sd_a²/n_a + sd_b²/n_b),
             df = (va + vb)² / (va²/(n_a − 1) + vb²/(n_b − 1)),  va = sd_a²/n_a, vb = sd_b²/n_b
    paired:  d_k = a_k − b_k for seed k,  d = mean of d_k,  SE = sd(d_k)/√n,  df = n − 1
    both:    t = d / SE,  p = 2 · P(T_df > |t|);  "clear" where |d| > t_crit · SE

Paired where the runs are paired: the same seed gives the same initial weights and the same
mini-batches to the networks compared, so most of the seed-to-seed spread cancels in d_k.

Holm–Bonferroni (Holm 1979) across the m comparisons of one question: sort the p-values,
p(1) ≤ … ≤ p(m); the i-th is tested at level α/(m − i + 1), and the procedure stops at the
first that fails (it and all later ones are not clear). The chance that one or more of the m
is called clear when none differs (the family-wise error) stays ≤ α, whatever the dependence
between them. Each test records the level it was tested at and t_crit, Student's quantile at
1 − level/2 (the level where the procedure stopped, for the ones after it), so that
clear ⟺ |d| > t_crit · SE: an interval d ± t_crit · SE that misses 0 is exactly a clear one.

Zero spread. Accuracies on a test set of n_test examples move in steps of 1/n_test; seeds
that all agree (SE = 0) prove nothing about a gap smaller than that. A gap with SE = 0 counts
as clear only where |d| exceeds one test example (`resolution` = 1/n_test); without a
resolution it never does. A group of one value has no spread to compare with: never clear.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

__all__ = [
    "ALPHA", "Summary", "summarize", "t_critical", "welch_df", "critical_t",
    "TestArrays", "welch", "paired", "holm_levels",
    "Test", "welch_test", "paired_test", "holm", "separated", "Ranking", "rank",
]

ALPHA = 0.05            # the family-wise error each verdict allows
_TOL = 1e-9             # relative: a gap of exactly one test example is not "more than one"
_ZERO = 1e-12           # a standard error this small (against the values) is rounding: no spread


# ----------------------------------------------------------------------------- summaries

def t_critical(level, df):
    """Student's t quantile at 1 − level/2 for df degrees of freedom (two-sided test at
    `level`): 12.7 for df = 1, 4.30 for 2, 2.78 for 4, → 1.96. Arrays broadcast."""
    out = student_t.ppf(1.0 - np.asarray(level, dtype=float) / 2.0, np.asarray(df, dtype=float))
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class Summary:
    """Statistics of one group's values over seeds."""

    n: int
    mean: float
    sd: float            # sample standard deviation (n − 1); 0 for one value
    median: float
    lo: float            # min
    hi: float            # max

    @property
    def se(self) -> float:
        """Standard error of the mean, sd/√n."""
        return self.sd / math.sqrt(self.n) if self.n else math.nan

    def half_width(self, level: float = ALPHA) -> float:
        """t · SE with Student's t at n − 1 degrees of freedom: the interval mean ± this
        covers the true mean in 1 − level of repeats. NaN for one value."""
        return t_critical(level, self.n - 1) * self.se if self.n > 1 else math.nan

    def interval(self, level: float = ALPHA) -> tuple[float, float]:
        h = self.half_width(level)
        return self.mean - h, self.mean + h


def summarize(values: Sequence[float]) -> Summary:
    """Summary of finite values (NaN values raise: count a diverged run as chance first)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("expected at least one value, got none")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"expected finite values, got {v.tolist()}")
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return Summary(int(v.size), float(v.mean()), sd, float(np.median(v)), float(v.min()),
                   float(v.max()))


def welch_df(va, vb, n_a, n_b):
    """Welch–Satterthwaite degrees of freedom from the squared standard errors va = sd_a²/n_a,
    vb = sd_b²/n_b (arrays broadcast): (va + vb)² / (va²/(n_a − 1) + vb²/(n_b − 1)).
    Where both are 0: n_a + n_b − 2 (the value is then not used for a test)."""
    va, vb = np.asarray(va, dtype=float), np.asarray(vb, dtype=float)
    with np.errstate(all="ignore"):
        denom = (np.where(va > 0, va**2 / np.maximum(n_a - 1, 1), 0.0)
                 + np.where(vb > 0, vb**2 / np.maximum(n_b - 1, 1), 0.0))
        df = np.where(denom > 0, (va + vb) ** 2 / denom, float(n_a + n_b - 2))
    df = np.maximum(df, 1.0)
    return float(df) if df.ndim == 0 else df


def critical_t(a: Summary, b: Summary, level: float = ALPHA) -> float:
    """Student's t quantile at 1 − level/2 for Welch's degrees of freedom of a against b
    (≈ 2.31 for 5 seeds against 5 with equal spreads, 4.30 for 2 against 2; level 5%)."""
    return t_critical(level, welch_df(a.sd**2 / a.n, b.sd**2 / b.n, a.n, b.n))


# ----------------------------------------------------------------------------- tests, vectorised

@dataclass(frozen=True)
class TestArrays:
    """Many tests at once; every field has the shape of the leading axes (...)."""

    diff: np.ndarray       # mean a − mean b
    se: np.ndarray         # its standard error (NaN where a group has one value)
    df: np.ndarray         # degrees of freedom
    p: np.ndarray          # two-sided p-value (1 where untestable)


def _no_spread(se, scale):
    """SE of 0, or only float rounding (identical values averaged: sd ≈ 1e-16)."""
    return np.asarray(se) <= _ZERO * np.maximum(1.0, np.abs(scale))


def _p_values(diff, se, df, n_min, resolution):
    """p = 2·P(T_df > |d|/SE); SE = 0: 0 where |d| > resolution, else 1; fewer than 2 values: 1."""
    zero = se == 0
    with np.errstate(all="ignore"):
        t = np.abs(diff) / se
        p = 2.0 * student_t.sf(t, df)
    beyond = np.abs(diff) > resolution * (1.0 + _TOL)
    p = np.where(zero, np.where(beyond, 0.0, 1.0), p)
    p = np.where(n_min < 2, 1.0, p)
    return np.where(np.isfinite(p), p, 1.0)


def welch(a, b, resolution: float = math.inf) -> TestArrays:
    """Welch's t-test of a (..., n_a) against b (..., n_b), over the last axis."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n_a, n_b = a.shape[-1], b.shape[-1]
    diff = a.mean(-1) - b.mean(-1)                                       # (...)
    va = a.var(-1, ddof=1) / n_a if n_a > 1 else np.full(diff.shape, np.nan)
    vb = b.var(-1, ddof=1) / n_b if n_b > 1 else np.full(diff.shape, np.nan)
    va = np.where(_no_spread(np.sqrt(va), a.mean(-1)), 0.0, va)
    vb = np.where(_no_spread(np.sqrt(vb), b.mean(-1)), 0.0, vb)
    se = np.sqrt(va + vb)
    df = np.asarray(welch_df(va, vb, n_a, n_b))
    return TestArrays(diff, se, df, _p_values(diff, se, df, min(n_a, n_b), resolution))


def paired(a, b, resolution: float = math.inf) -> TestArrays:
    """Paired t-test of a (..., n) against b (..., n): the per-seed differences a − b, last axis."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"expected a and b of one shape (paired by seed), got {a.shape} and {b.shape}")
    d = a - b                                                            # (..., n)
    n = d.shape[-1]
    diff = d.mean(-1)
    se = d.std(-1, ddof=1) / math.sqrt(n) if n > 1 else np.full(diff.shape, np.nan)
    se = np.where(_no_spread(se, np.abs(a).max(-1)), 0.0, se)
    df = np.full(diff.shape, float(max(n - 1, 1)))
    return TestArrays(diff, se, df, _p_values(diff, se, df, n, resolution))


def holm_levels(p, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down procedure over the last axis of p (..., m).

    Returns (clear, level), both (..., m): level is α/(m − i + 1) for the i-th smallest p up to
    where the procedure stops, and the stopping level for all after it; clear ⟺ p ≤ level
    and every smaller p was clear (so clear ⟺ p ≤ level, by the choice of the levels)."""
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")                        # (..., m)
    sorted_p = np.take_along_axis(p, order, -1)
    step_levels = alpha / (m - np.arange(m))                             # (m,) α/m … α
    passed = np.cumprod(sorted_p <= step_levels, axis=-1).astype(bool)   # (..., m)
    stop = passed.sum(-1, keepdims=True)                                 # (..., 1) first failure
    at = np.minimum(np.arange(m), stop)                                  # (..., m)
    sorted_levels = step_levels[np.minimum(at, m - 1)]
    level = np.empty_like(sorted_levels)
    clear = np.empty_like(passed)
    np.put_along_axis(level, order, sorted_levels, -1)
    np.put_along_axis(clear, order, passed, -1)
    return clear, level


# ----------------------------------------------------------------------------- tests, one at a time

@dataclass(frozen=True)
class Test:
    """One comparison of a against b (a − b), before (level α) or after `holm`."""

    diff: float               # mean a − mean b (paired: the mean per-seed difference)
    se: float                 # standard error of diff; NaN where a group has one value
    df: float
    p: float                  # two-sided p-value
    paired: bool
    n: int                    # seeds (paired) or the smaller group
    resolution: float = math.inf   # one test example, 1/n_test (the zero-spread rule)
    level: float = ALPHA      # the level it was tested at
    t_crit: float = math.nan  # Student's t at 1 − level/2, df
    clear: bool = False

    @property
    def margin(self) -> float:
        """t_crit · SE: the difference is clear where |diff| exceeds it (SE > 0)."""
        return self.t_crit * self.se

    @property
    def sign(self) -> int:
        """+1: a clearly larger; −1: b clearly larger; 0: not clear."""
        return 0 if not self.clear else (1 if self.diff > 0 else -1)


def _one(arrays: TestArrays, paired_: bool, n: int, resolution: float) -> Test:
    d, se, df, p = (float(np.asarray(v)) for v in (arrays.diff, arrays.se, arrays.df, arrays.p))
    return Test(d, se, df, p, paired_, n, resolution, ALPHA, t_critical(ALPHA, df), p <= ALPHA)


def welch_test(a: Sequence[float], b: Sequence[float], resolution: float = math.inf) -> Test:
    """Welch's test of two independent groups of values (unadjusted, level α)."""
    return _one(welch(a, b, resolution), False, min(len(a), len(b)), resolution)


def paired_test(a: Sequence[float], b: Sequence[float], resolution: float = math.inf) -> Test:
    """The paired test of a[k] − b[k] over seeds k (unadjusted, level α)."""
    return _one(paired(a, b, resolution), True, len(a), resolution)


def holm(tests: Sequence[Test], alpha: float = ALPHA) -> list[Test]:
    """The same tests with Holm's levels, critical values and decisions (see `holm_levels`)."""
    if not tests:
        return []
    clear, level = holm_levels([t.p for t in tests], alpha)
    return [dataclasses.replace(t, level=float(lv), t_crit=t_critical(float(lv), t.df), clear=bool(c))
            for t, c, lv in zip(tests, clear, level)]


def separated(a: Summary, b: Summary, level: float = ALPHA, resolution: float | None = None) -> bool:
    """True where a's mean beats b's by more than the seed-to-seed spread allows by chance:

        mean_a − mean_b > t · √(sd_a²/n_a + sd_b²/n_b)

    with t = `critical_t` at `level` (Welch's test, two-sided, one comparison: no correction).
    Never with fewer than 2 values in either group; with zero spread in both, only where the gap
    exceeds `resolution` (one test example), and never without one."""
    if a.n < 2 or b.n < 2:
        return False
    se = math.sqrt(a.sd**2 / a.n + b.sd**2 / b.n)
    diff = a.mean - b.mean
    if _no_spread(se, max(abs(a.mean), abs(b.mean))):
        return resolution is not None and diff > resolution * (1.0 + _TOL)
    return diff > critical_t(a, b, level) * se


# ----------------------------------------------------------------------------- ranking

@dataclass(frozen=True)
class Ranking:
    """Groups ranked by mean; `winner` is the best where it beats every other group."""

    order: list[str]                   # best first
    summaries: dict[str, Summary]
    winner: str | None
    tied: list[str]                    # the groups the best is not separated from (and itself)
    beaten: list[str]                  # the groups every one of `tied` beats
    within: list[tuple[str, str]]      # (x, y) in `tied` where x clearly beats y all the same


def rank(groups: Mapping[str, Sequence[float]],
         beats: Callable[[str, str], bool] | None = None) -> Ranking:
    """Rank groups by mean. beats(x, y): True where x is clearly better than y (default: the
    unadjusted `separated`; a verdict passes the decisions of its Holm-corrected family)."""
    summaries = {name: summarize(v) for name, v in groups.items()}
    if beats is None:
        def beats(x, y):
            return separated(summaries[x], summaries[y])
    order = sorted(summaries, key=lambda n: -summaries[n].mean)
    best = order[0]
    tied = [best] + [n for n in order[1:] if not beats(best, n)]
    beaten = [n for n in order if n not in tied and all(beats(t, n) for t in tied)]
    winner = best if len(tied) == 1 and len(order) > 1 else None
    within = [(x, y) for x in tied for y in tied if x != y and beats(x, y)]
    return Ranking(order, summaries, winner, tied, beaten, within)
