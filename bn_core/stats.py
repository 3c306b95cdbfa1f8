"""Statistics of experiments across seeds: summaries, the exact paired sign-flip test, Welch's
t-test, and Holm's correction.

    s = summarize(values)                        # n, mean, sd, se, median, min, max
    s.interval()                                 # mean ± t · se, Student's t, 95%
    a_vs_b = paired_test(a, b)                   # per-seed differences a − b (same seeds), exact
    a_vs_b = paired_test(a, b, min_effect=δ)     # … clear only beyond a practical margin δ
    a_vs_b = welch_test(a, b)                    # independent groups, Welch's t
    tests = holm([t1, t2, …])                    # each gets its level, margin and `clear`
    seeds_needed(m)                              # seeds before anything of m tests can be clear

The paired test (two-sided, level α = 5% before the correction) is the sign-flip permutation
test, exact at any number of seeds n: d_k = a_k − b_k for seed k, d̄ = mean of d_k, and

    p = #{s ∈ {−1, +1}ⁿ : |mean(s_k · d_k)| ≥ |d̄|} / 2ⁿ

(all 2ⁿ ways of swapping a and b within seeds). Where a and b do not differ, swapping them within
a seed changes nothing in distribution, so P(p ≤ α) ≤ α whatever the values' distribution —
ties, equal gaps in every seed (zero spread) and outliers included. The identity and the full
flip both reach |d̄|, so p ≥ 2/2ⁿ: 0.5 with 2 seeds, 0.0625 with 5, 0.03125 with 6, 0.00195
with 10 (and 2^(z+1)/2ⁿ where z seeds show no difference at all). The margin at a level is the
(k+1)-th largest of the 2ⁿ values |mean(s·d)|, k = ⌊level · 2ⁿ⌋: clear ⟺ |d̄| > margin.

A minimum effect δ ≥ 0 (the smallest difference worth calling a difference, in the measure's
units) makes "clear" mean "clearly further from 0 than δ": the interval null |μ| ≤ δ against
|μ| > δ. With σ = the sign of d̄, the p-value is

    p = max(p(d), p(d − σδ))   where |d̄| > δ;   p = 1 where |d̄| ≤ δ

(p(·) the sign-flip p above; d − σδ: the differences beyond the margin). It is never below the
plain test's p, so under "a and b do not differ" P(p ≤ α) ≤ α still holds exactly (and Holm,
being monotone in the p-values, keeps the family's error); at |μ| = δ the shifted test is the
sign-flip test of its own null, valid where the per-seed differences are symmetric about μ.
The margin then is max(margin of d, δ + margin of d − σδ) (where |d̄| ≤ δ: max(margin of d, δ),
the bar it stays under): clear ⟺ |d̄| > margin still.

Welch:   d = mean_a − mean_b,  SE = √(sd_a²/n_a + sd_b²/n_b),
         df = (va + vb)² / (va²/(n_a − 1) + vb²/(n_b − 1)),  va = sd_a²/n_a, vb = sd_b²/n_b,
         t = d / SE,  p = 2 · P(T_df > |t|);  margin t_crit · SE.  A t-test needs spread: with
         SE = 0 (every value of each group equal) or one value in a group, p = 1 (untestable).

Paired where the runs are paired: the same seed gives the same initial weights and the same
mini-batches to the networks compared, so most of the seed-to-seed spread cancels in d_k.

Holm–Bonferroni (Holm 1979) across the m comparisons of one family (a page's whole Run): sort
the p-values, p(1) ≤ … ≤ p(m); the i-th is tested at level α/(m − i + 1), and the procedure stops
at the first that fails (it and all later ones are not clear). The chance that one or more of the
m is called clear when none differs (the family-wise error) stays ≤ α, whatever the dependence
between them. Each test records the level it was tested at (the level where the procedure
stopped, for the ones after it), so that clear ⟺ p ≤ level ⟺ |d| > margin at that level.
With the sign-flip test nothing of m tests can be clear unless 2/2ⁿ ≤ α/m: `seeds_needed(m)`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

__all__ = [
    "ALPHA", "Summary", "summarize", "t_critical", "welch_df", "critical_t",
    "TestArrays", "flip_means", "sign_flip_p", "min_effect_p", "sign_flip_margin", "smallest_p",
    "seeds_needed",
    "welch", "paired", "holm_levels", "MAX_EXACT",
    "Test", "welch_test", "paired_test", "holm", "separated", "Ranking", "rank",
]

ALPHA = 0.05            # the family-wise error each page's verdicts allow
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

MAX_EXACT = 16          # pairs: the exact sign-flip test enumerates 2ⁿ patterns (65,536 at most)
_TOL = 1e-9             # relative: flip means equal but for rounding count as equal


@dataclass(frozen=True)
class TestArrays:
    """Many tests at once; every field has the shape of the leading axes (...)."""

    diff: np.ndarray       # mean a − mean b
    se: np.ndarray         # its standard error (NaN where a group has one value)
    df: np.ndarray         # degrees of freedom (Welch; the paired test: n − 1, for reference)
    p: np.ndarray          # two-sided p-value (1 where untestable)


def _no_spread(se, scale):
    """SE of 0, or only float rounding (identical values averaged: sd ≈ 1e-16)."""
    return np.asarray(se) <= _ZERO * np.maximum(1.0, np.abs(scale))


@functools.lru_cache(maxsize=MAX_EXACT + 1)
def _signs(n: int) -> np.ndarray:
    """Every sign pattern of n seeds: (2ⁿ, n) of ±1, the identity first."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return 1.0 - 2.0 * bits


def flip_means(d) -> np.ndarray:
    """|mean(s · d)| over the last axis for every sign pattern s: (..., n) → (..., 2ⁿ)."""
    d = np.asarray(d, dtype=float)
    n = d.shape[-1]
    if not 1 <= n <= MAX_EXACT:
        raise ValueError(f"expected 1 to {MAX_EXACT} paired values for the exact sign-flip test, "
                         f"got {n}")
    return np.abs(d @ _signs(n).T) / n


def _tolerance(d) -> np.ndarray:
    return _TOL * np.abs(np.asarray(d, dtype=float)).mean(-1) + 1e-300


def sign_flip_p(d) -> np.ndarray:
    """The exact two-sided p-value of the sign-flip test of mean(d) = 0, over the last axis:
    #{s: |mean(s·d)| ≥ |d̄|} / 2ⁿ (the module doc). NaN in d: p = 1 (untestable)."""
    d = np.asarray(d, dtype=float)
    bad = ~np.all(np.isfinite(d), -1)
    d = np.where(np.isfinite(d), d, 0.0)
    flips = flip_means(d)
    observed = np.abs(d.mean(-1))
    p = (flips >= (observed - _tolerance(d))[..., None]).mean(-1)
    return np.where(bad, 1.0, p)


def sign_flip_margin(d, level) -> np.ndarray:
    """The margin of the sign-flip test at `level` (arrays broadcast over the leading axes): the
    (k+1)-th largest |mean(s·d)|, k = ⌊level · 2ⁿ⌋, so that p ≤ level ⟺ |d̄| > margin."""
    flips = -np.sort(-flip_means(d), axis=-1)                            # (..., 2ⁿ) descending
    k = np.floor(np.asarray(level, dtype=float) * flips.shape[-1] * (1 + _TOL)).astype(int)
    k = np.minimum(k, flips.shape[-1] - 1)
    out = np.take_along_axis(flips, np.broadcast_to(k, flips.shape[:-1])[..., None], -1)[..., 0]
    return float(out) if out.ndim == 0 else out


def smallest_p(n: int) -> float:
    """The smallest p-value the sign-flip test can give with n seeds: 2/2ⁿ (1 for n < 2)."""
    return 1.0 if n < 2 else 2.0 / 2**n


def seeds_needed(m: int, alpha: float = ALPHA) -> int:
    """The fewest seeds with which anything of a Holm family of m sign-flip tests can be clear:
    the smallest n with 2/2ⁿ ≤ α/m (6 for one test, 9 for 9 to 12, 10 for 13 to 25)."""
    if m < 1:
        raise ValueError(f"expected at least one test in the family, got {m}")
    return max(2, math.ceil(math.log2(2.0 * m / alpha) - 1e-12))


def welch(a, b) -> TestArrays:
    """Welch's t-test of a (..., n_a) against b (..., n_b), over the last axis; no spread in
    either group's values, or one value in a group: p = 1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n_a, n_b = a.shape[-1], b.shape[-1]
    diff = a.mean(-1) - b.mean(-1)                                       # (...)
    va = a.var(-1, ddof=1) / n_a if n_a > 1 else np.full(diff.shape, np.nan)
    vb = b.var(-1, ddof=1) / n_b if n_b > 1 else np.full(diff.shape, np.nan)
    va = np.where(_no_spread(np.sqrt(va), a.mean(-1)), 0.0, va)
    vb = np.where(_no_spread(np.sqrt(vb), b.mean(-1)), 0.0, vb)
    se = np.sqrt(va + vb)
    df = np.asarray(welch_df(va, vb, n_a, n_b))
    with np.errstate(all="ignore"):
        p = 2.0 * student_t.sf(np.abs(diff) / se, df)
    p = np.where((se == 0) | (min(n_a, n_b) < 2) | ~np.isfinite(p), 1.0, p)
    return TestArrays(diff, se, df, p)


def paired(a, b, min_effect: float = 0.0) -> TestArrays:
    """The exact sign-flip test of a (..., n) against b (..., n): the per-seed differences
    a − b over the last axis (`sign_flip_p`); se = sd(d)/√n, for reference. `min_effect` δ > 0:
    the test of |mean| > δ (the module doc: p = 1 where |d̄| ≤ δ)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"expected a and b of one shape (paired by seed), got {a.shape} and {b.shape}")
    d = a - b                                                            # (..., n)
    n = d.shape[-1]
    diff = d.mean(-1)
    se = d.std(-1, ddof=1) / math.sqrt(n) if n > 1 else np.full(diff.shape, np.nan)
    se = np.where(_no_spread(se, np.abs(a).max(-1)), 0.0, se)
    df = np.full(diff.shape, float(max(n - 1, 1)))
    return TestArrays(diff, se, df, min_effect_p(d, min_effect))


def _beyond(d, min_effect: float) -> np.ndarray:
    """d − σδ over the last axis (σ = the sign of the mean, + for 0): the differences beyond
    the margin on the side of their mean."""
    d = np.asarray(d, dtype=float)
    side = np.where(d.mean(-1) < 0, -1.0, 1.0)
    return d - side[..., None] * min_effect


def min_effect_p(d, min_effect: float = 0.0) -> np.ndarray:
    """The p-value of the sign-flip test of |mean(d)| > δ = `min_effect` over the last axis
    (the module doc): max(p(d), p(d − σδ)) where |d̄| > δ, 1 where |d̄| ≤ δ; δ = 0: `sign_flip_p`."""
    if min_effect < 0:
        raise ValueError(f"expected a minimum effect ≥ 0, got {min_effect}")
    p = sign_flip_p(d)
    if min_effect == 0:
        return p
    d = np.asarray(d, dtype=float)
    with np.errstate(invalid="ignore"):
        beyond = np.abs(d.mean(-1)) > min_effect * (1 + _TOL)       # NaN: False (p = 1)
    shifted = sign_flip_p(np.where(np.isfinite(d), _beyond(d, min_effect), np.nan))
    return np.where(beyond, np.maximum(p, shifted), 1.0)


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
    paired: bool              # True: the exact sign-flip test; False: Welch's t-test
    n: int                    # seeds (paired) or the smaller group
    level: float = ALPHA      # the level it was tested at
    clear: bool = False
    diffs: tuple[float, ...] = ()   # paired: the per-seed differences (for the margin)
    min_effect: float = 0.0   # paired: clear only beyond this (the module doc); 0: any difference

    @property
    def margin(self) -> float:
        """The difference is clear where |diff| exceeds it: the sign-flip margin at `level`
        (paired; with a minimum effect δ, the larger of it and δ + the margin of the differences
        beyond δ), t_crit · SE (Welch); NaN with fewer than 2 values."""
        if self.n < 2 or not math.isfinite(self.se):
            return math.nan
        if self.paired:
            d = np.asarray(self.diffs)
            plain = float(sign_flip_margin(d, self.level))
            if self.min_effect == 0:
                return plain
            if abs(self.diff) <= self.min_effect * (1 + _TOL):     # never clear: δ is the bar
                return max(plain, self.min_effect)
            return max(plain, self.min_effect
                       + float(sign_flip_margin(_beyond(d, self.min_effect), self.level)))
        return t_critical(self.level, self.df) * self.se

    @property
    def negligible(self) -> bool:
        """Paired with a minimum effect δ: whether diff ± the plain sign-flip margin at its level
        lies inside ±δ — whatever the difference is, the data put it below the margin that
        counts (a reading, not a test of the family: it says "about the same", never "clearly")."""
        if not (self.paired and self.min_effect > 0 and self.possible
                and math.isfinite(self.se)):
            return False
        plain = float(sign_flip_margin(np.asarray(self.diffs), self.level))
        return abs(self.diff) + plain <= self.min_effect

    @property
    def possible(self) -> bool:
        """Whether this test could be clear at its level with its seeds (2/2ⁿ ≤ level)."""
        return self.n >= 2 and (not self.paired or smallest_p(self.n) <= self.level * (1 + _TOL))

    @property
    def sign(self) -> int:
        """+1: a clearly larger; −1: b clearly larger; 0: not clear."""
        return 0 if not self.clear else (1 if self.diff > 0 else -1)


def _one(arrays: TestArrays, paired_: bool, n: int, diffs=(), min_effect: float = 0.0) -> Test:
    d, se, df, p = (float(np.asarray(v)) for v in (arrays.diff, arrays.se, arrays.df, arrays.p))
    return Test(d, se, df, p, paired_, n, ALPHA, p <= ALPHA, tuple(float(x) for x in diffs),
                float(min_effect))


def welch_test(a: Sequence[float], b: Sequence[float]) -> Test:
    """Welch's test of two independent groups of values (unadjusted, level α)."""
    return _one(welch(a, b), False, min(len(a), len(b)))


def paired_test(a: Sequence[float], b: Sequence[float], min_effect: float = 0.0) -> Test:
    """The exact sign-flip test of a[k] − b[k] over seeds k (unadjusted, level α); clear only
    beyond `min_effect` (the module doc) where it is > 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return _one(paired(a, b, min_effect), True, len(a), a - b, min_effect)


def holm(tests: Sequence[Test], alpha: float = ALPHA) -> list[Test]:
    """The same tests with Holm's levels and decisions (see `holm_levels`)."""
    if not tests:
        return []
    clear, level = holm_levels([t.p for t in tests], alpha)
    return [dataclasses.replace(t, level=float(lv), clear=bool(c))
            for t, c, lv in zip(tests, clear, level)]


def separated(a: Summary, b: Summary, level: float = ALPHA) -> bool:
    """True where a's mean beats b's by more than the seed-to-seed spread allows by chance:

        mean_a − mean_b > t · √(sd_a²/n_a + sd_b²/n_b)

    with t = `critical_t` at `level` (Welch's test, two-sided, one comparison: no correction).
    Never with fewer than 2 values in either group, nor without spread (a t-test needs it)."""
    if a.n < 2 or b.n < 2:
        return False
    se = math.sqrt(a.sd**2 / a.n + b.sd**2 / b.n)
    if _no_spread(se, max(abs(a.mean), abs(b.mean))):
        return False
    return a.mean - b.mean > critical_t(a, b, level) * se


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
