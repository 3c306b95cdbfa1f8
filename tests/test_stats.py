"""bn_core.stats against scipy's own tests, the exact sign-flip test against brute-force
enumeration, Holm's procedure written out, and simulations of sweeps where nothing differs (the
family-wise error the verdicts promise)."""

import dataclasses
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sp

from bn_core import stats as S


def holm_reference(p, alpha=0.05):
    """Holm 1979 as a textbook loop: reject the i-th smallest while p(i) ≤ α/(m − i + 1)."""
    m = len(p)
    reject = [False] * m
    for i, k in enumerate(sorted(range(m), key=lambda k: p[k])):
        if p[k] > alpha / (m - i):
            break
        reject[k] = True
    return reject


# ------------------------------------------------------------------ summaries and single tests

def test_summary_and_its_t_interval():
    v = [0.9, 0.92, 0.95, 0.91]
    s = S.summarize(v)
    assert s.n == 4 and s.mean == pytest.approx(np.mean(v)) and s.sd == pytest.approx(np.std(v, ddof=1))
    assert (s.median, s.lo, s.hi) == pytest.approx((np.median(v), 0.9, 0.95))
    assert s.se == pytest.approx(np.std(v, ddof=1) / 2)
    assert s.interval() == pytest.approx(sp.t.interval(0.95, 3, loc=s.mean, scale=s.se))
    assert math.isnan(S.summarize([0.5]).half_width())
    with pytest.raises(ValueError, match="finite"):
        S.summarize([0.9, float("nan")])
    assert S.t_critical(0.05, 1) == pytest.approx(12.706, abs=1e-3)
    assert S.t_critical(0.05, 4) == pytest.approx(2.776, abs=1e-3)


def sign_flip_reference(d):
    """The sign-flip p-value by brute force: every pattern of signs written out, in fractions
    (exact: no rounding decides a tie)."""
    d = [Fraction(x).limit_denominator(10**6) for x in d]
    observed = abs(sum(d))
    hits = sum(abs(sum(s * x for s, x in zip(signs, d))) >= observed
               for signs in itertools.product((1, -1), repeat=len(d)))
    return hits / 2 ** len(d)


def test_sign_flip_p_equals_brute_force_and_scipys_exact_permutation_test():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 9))
        # accuracies on 360 test examples: differences in steps of 1/360, with ties and zeros
        d = rng.integers(-3, 4, size=n) / 360
        assert S.sign_flip_p(d) == pytest.approx(sign_flip_reference(d), abs=1e-12)
        if n > 1 and np.any(d):
            ref = sp.permutation_test((d,), np.mean, permutation_type="samples",
                                      n_resamples=np.inf).pvalue
            assert S.sign_flip_p(d) == pytest.approx(ref, abs=1e-12)
    # many at once over the leading axes
    d = rng.normal(size=(4, 3, 6))
    np.testing.assert_allclose(S.sign_flip_p(d), [[sign_flip_reference(row) for row in m] for m in d])


def test_the_smallest_sign_flip_p_is_two_over_two_to_the_n():
    for n, smallest in ((2, 0.5), (5, 0.0625), (6, 0.03125), (10, 2 / 1024)):
        assert S.sign_flip_p(np.full(n, 0.02)) == S.smallest_p(n) == smallest
    # a seed with no difference at all doubles it: 2^(z+1)/2^n
    assert S.sign_flip_p([0.02, 0.03, 0.0, 0.01, 0.05, 0.02]) == 4 / 64
    assert [S.seeds_needed(m) for m in (1, 3, 9, 12, 13, 25, 26)] == [6, 7, 9, 9, 10, 10, 11]
    for m in range(1, 40):          # the fewest seeds whose smallest p passes Holm's first level
        n = S.seeds_needed(m)
        assert 2 / 2**n <= 0.05 / m < 2 / 2 ** (n - 1)


def test_welch_test_equals_scipys_and_the_paired_test_is_exact():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n_a, n_b = rng.integers(2, 8, size=2)
        a = rng.normal(0.9 + rng.normal(0, 0.02), rng.uniform(0.001, 0.03), n_a)
        b = rng.normal(0.9, rng.uniform(0.001, 0.03), n_b)
        w = S.welch_test(a, b)
        ref = sp.ttest_ind(a, b, equal_var=False)
        assert w.p == pytest.approx(ref.pvalue, rel=1e-9) and w.diff == pytest.approx(a.mean() - b.mean())
        assert w.clear == (ref.pvalue <= 0.05) and not w.paired
        assert w.margin == pytest.approx(sp.t.ppf(0.975, w.df) * w.se)
        # separated: a beats b by Welch's two-sided 5% test, i.e. one-sided at 2.5%
        one_sided = sp.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert S.separated(S.summarize(a), S.summarize(b)) == (one_sided < 0.025)
        b = b[:1].repeat(n_a) + rng.normal(0, 0.01, n_a)
        pt = S.paired_test(a, b)
        assert pt.p == pytest.approx(sign_flip_reference(a - b)) and pt.paired and pt.n == n_a
        assert pt.clear == (pt.p <= 0.05)
    # the vectorised forms give the same numbers over leading axes
    a, b = rng.normal(size=(4, 6, 5)), rng.normal(size=(4, 6, 5))
    np.testing.assert_allclose(S.paired(a, b).p, S.sign_flip_p(a - b))
    np.testing.assert_allclose(S.welch(a, b).p, sp.ttest_ind(a, b, axis=-1, equal_var=False).pvalue,
                               rtol=1e-9)


def test_paired_test_uses_the_shared_seed():
    """The same seed: the same start, so most of the spread cancels in the per-seed difference."""
    seed_effect = np.array([0.80, 0.90, 0.85, 0.95, 0.88, 0.83])
    a = seed_effect + 0.02 + np.array([0.001, -0.002, 0.0, 0.002, -0.001, 0.0])
    b = seed_effect
    paired, welch = S.paired_test(a, b), S.welch_test(a, b)
    assert paired.clear and paired.sign == 1 and paired.diff == pytest.approx(0.02)
    assert paired.p == 2 / 64                               # every seed agrees: the smallest p
    assert not welch.clear                                  # the seed spread hides it
    with pytest.raises(ValueError, match="paired by seed"):
        S.paired(a, b[:4])
    with pytest.raises(ValueError, match="1 to 16 paired values"):
        S.paired_test(np.zeros(17), np.ones(17))


def test_zero_spread_proves_nothing_by_itself():
    """#23 item 5: every seed showing the same gap (no spread) used to give p = 0. The exact
    test gives it what it is worth: 2/2^n, so with 2 seeds p = 0.5 and with 5 still 0.0625."""
    for n, clear in ((2, False), (3, False), (5, False), (6, True)):
        t = S.paired_test([0.95] * n, [0.94] * n)
        assert t.se == 0 and t.p == pytest.approx(2 / 2**n) and t.clear == clear
        assert t.possible == clear
    # a t-test needs spread: Welch on groups without any is untestable, not certain
    w = S.welch_test([0.95] * 3, [0.94] * 3)
    assert w.p == 1 and not w.clear
    same_a, same_b = S.summarize([0.95] * 3), S.summarize([0.94] * 3)
    assert not S.separated(same_a, same_b)
    # one value per group: nothing to compare the gap with
    assert not S.paired_test([0.99], [0.1]).clear and math.isnan(S.paired_test([0.99], [0.1]).margin)
    assert not S.separated(S.summarize([0.99]), S.summarize([0.1, 0.11, 0.12]))


# ------------------------------------------------------------------ Holm

def test_holm_is_the_step_down_procedure():
    clear, level = S.holm_levels([0.01, 0.04, 0.03, 0.005])
    assert clear.tolist() == [True, False, False, True]
    # tested at 0.05/4, 0.05/3, then stopped at 0.05/2 (where 0.03 failed) for the rest
    np.testing.assert_allclose(level, [0.05 / 3, 0.05 / 2, 0.05 / 2, 0.05 / 4])
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.06, size=(500, 7)) ** 1.5
    clear, level = S.holm_levels(p)
    assert clear.tolist() == [holm_reference(list(row)) for row in p]
    assert np.array_equal(clear, p <= level)                 # the levels make it one comparison


def test_holm_tests_are_clear_exactly_where_the_difference_passes_its_margin():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(8, 9))
    tests = [S.paired_test(base[k] + shift + rng.normal(0, 0.3, 9), base[k])
             for k, shift in enumerate([0, 0.1, 0.3, 0.5, 0.8, 1.2, 2.0, -1.5])]
    family = S.holm(tests)
    assert [t.clear for t in family] == holm_reference([t.p for t in tests])
    for t in family:
        assert t.clear == (abs(t.diff) > t.margin) == (t.p <= t.level)
        assert 0.05 / len(tests) <= t.level <= 0.05
    assert any(t.clear for t in family) and not all(t.clear for t in family)
    # the margin, at any level, is where the exact p crosses it (discrete differences, ties)
    for _ in range(200):
        n = int(rng.integers(2, 9))
        d = rng.integers(-4, 6, size=n) / 360
        for level in (0.5, 0.2, 0.05, 0.0125, 0.004):
            margin = S.sign_flip_margin(d, level)
            assert (sign_flip_reference(d) <= level) == (abs(d.mean()) > margin + 1e-12)


def min_effect_reference(d, delta):
    """The minimum-effect p-value written out: 1 unless |mean d| > δ, else the larger of the
    brute-force sign-flip p of d and of d shifted towards 0 by δ (exact fractions)."""
    d = [Fraction(x).limit_denominator(10**6) for x in d]
    delta = Fraction(delta).limit_denominator(10**6)
    mean = sum(d) / len(d)
    if abs(mean) <= delta:
        return 1.0
    side = 1 if mean > 0 else -1
    return max(sign_flip_reference(d), sign_flip_reference([x - side * delta for x in d]))


def test_a_minimum_effect_makes_clear_mean_beyond_the_margin():
    """The why page's noisy BN against BN (QA, default Run): every seed 0.05 to 0.15 points
    behind, mean −0.09. The plain test calls it clear (every seed agrees); with a 1-point
    minimum effect it is not, and its margin is over a point. A gap of 3 points is still clear;
    the p-value equals the one written out, and clear ⟺ |diff| > margin at every level."""
    rng = np.random.default_rng(5)
    bn = rng.uniform(0.92, 0.93, size=10)
    noisy = bn - rng.uniform(0.0005, 0.0015, size=10)
    assert S.paired_test(noisy, bn).clear
    t = S.paired_test(noisy, bn, min_effect=0.01)
    assert not t.clear and t.p == 1.0 and t.margin >= 0.01 and t.negligible
    far = S.paired_test(bn - 0.03 + rng.normal(0, 0.003, 10), bn, min_effect=0.01)
    assert far.clear and far.p == S.smallest_p(10) and far.margin < 0.03 and not far.negligible
    for _ in range(300):
        n = int(rng.integers(2, 9))
        d = rng.integers(-6, 9, size=n) / 360
        delta = float(rng.choice([1 / 360, 0.005, 0.01]))
        p = float(S.min_effect_p(d, delta))
        assert p == pytest.approx(min_effect_reference(d, delta), abs=1e-12)
        t = S.paired_test(d, np.zeros(n), min_effect=delta)
        assert t.p == p
        for level in (0.5, 0.2, 0.05, 0.0125, 0.004):
            at = dataclasses.replace(t, level=level)
            assert (p <= level) == (abs(t.diff) > at.margin + 1e-12)
            if at.negligible:
                assert abs(t.diff) < delta and not p <= level


@pytest.mark.parametrize("seeds", [6, 10])
def test_a_minimum_effect_keeps_the_error_at_the_margin_and_below(seeds):
    """True differences of exactly δ (symmetric seed noise about it), and none at all: the test
    of |μ| > δ says clear in ≤ 5% of draws (within Monte-Carlo error), and never more often than
    the plain test where nothing differs."""
    rng = np.random.default_rng(seeds)
    delta = 0.01
    noise = rng.normal(0, 0.01, size=(MC_SWEEPS, seeds))
    at_margin = S.min_effect_p(np.round((delta + noise) * 360) / 360, delta)
    assert (at_margin <= 0.05).mean() <= fwer_bound()
    null = np.round(noise * 360) / 360
    plain, beyond = S.sign_flip_p(null), S.min_effect_p(null, delta)
    assert np.all(beyond >= plain) and (beyond <= 0.05).mean() <= (plain <= 0.05).mean()


# ------------------------------------------------------------------ sweeps with no real difference

MC_SWEEPS = 4_000


def fwer_bound(alpha=0.05, n=MC_SWEEPS):
    """α plus three Monte-Carlo standard errors."""
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / n)


@pytest.mark.parametrize("seeds", [2, 5, 9, 10])
def test_null_sweeps_name_a_false_winner_at_most_5_percent_of_the_time(seeds):
    """4,000 simulated 9-point grids, BN and no BN paired by seed (a shared seed effect),
    accuracies on 360 test examples (so ties) and no real difference: the Holm-corrected rule
    calls something clear in ≤ 5% of sweeps (within Monte-Carlo error), never with fewer seeds
    than `seeds_needed(9)`; the uncorrected rule (where it can be clear at all) far more often."""
    rng = np.random.default_rng(seeds)
    seed_effect = rng.normal(0.9, 0.03, size=(MC_SWEEPS, 9, seeds))
    a = np.round((seed_effect + rng.normal(0, 0.01, size=seed_effect.shape)) * 360) / 360
    b = np.round((seed_effect + rng.normal(0, 0.01, size=seed_effect.shape)) * 360) / 360
    p = S.paired(a, b).p                                                    # (sweeps, settings)
    clear, _ = S.holm_levels(p)
    fwer = clear.any(-1).mean()
    assert fwer <= fwer_bound()
    if seeds < S.seeds_needed(9):
        assert fwer == 0
    else:
        assert fwer >= 0.01                                  # not conservative to uselessness
    if seeds >= S.seeds_needed(1):
        assert (p <= 0.05).any(-1).mean() > 0.2


def test_null_placement_sweeps_with_dependent_comparisons():
    """Three placements × three activations, all pairs (each group in two comparisons), and
    Welch's test as well: still ≤ 5% of sweeps with a false 'clear'."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.95, 0.01, size=(MC_SWEEPS, 3, 3, 9))   # (sweeps, activation, placement, seeds)
    pairs = [(0, 1), (0, 2), (1, 2)]
    for test in (S.paired, S.welch):
        p = np.concatenate([test(x[:, :, i], x[:, :, j]).p for i, j in pairs], axis=-1)   # (sweeps, 9)
        clear, _ = S.holm_levels(p)
        assert clear.any(-1).mean() <= fwer_bound()


# ------------------------------------------------------------------ ranking

def test_rank_names_a_clear_winner_or_none():
    r = S.rank({"none": [0.80, 0.82, 0.81, 0.79, 0.80],
                "before": [0.95, 0.96, 0.95, 0.94, 0.96],
                "after": [0.90, 0.91, 0.89, 0.90, 0.91]})
    assert r.winner == "before" and r.order == ["before", "after", "none"]
    assert r.tied == ["before"] and r.beaten == ["after", "none"]
    r = S.rank({"before": [0.95, 0.90, 0.97, 0.93, 0.96],
                "after": [0.94, 0.96, 0.91, 0.95, 0.93],
                "none": [0.50, 0.52, 0.49, 0.51, 0.50]})
    assert r.winner is None and set(r.tied) == {"before", "after"} and r.beaten == ["none"]
    # the decisions come from the caller (a verdict's corrected family)
    never = S.rank({"a": [0.9, 0.91], "b": [0.1, 0.11]}, beats=lambda x, y: False)
    assert never.winner is None and never.tied == ["a", "b"] and never.within == []


def test_rank_reports_separated_pairs_inside_a_tie():
    # best "a" is not separated from "b" or "c", but "b" clearly beats "c": a tie of three
    # that is not "all equal"
    clear = {("b", "c")}
    r = S.rank({"a": [0.93], "b": [0.92], "c": [0.90]}, beats=lambda x, y: (x, y) in clear)
    assert r.winner is None and r.tied == ["a", "b", "c"] and r.beaten == []
    assert r.within == [("b", "c")]
    from bn_core.experiments.prose import within_sentence
    names = {"a": "BN + dropout", "b": "BN", "c": "neither"}
    assert within_sentence(r, names) == " Among them, BN is clearly ahead of neither."
    assert within_sentence(S.rank({"a": [0.9], "b": [0.8]}, beats=lambda x, y: False), names) == ""
