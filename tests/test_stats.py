"""bn_core.stats against scipy's own tests, Holm's procedure written out, and simulations of
sweeps where nothing differs (the family-wise error the verdicts promise)."""

import math

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


def test_welch_and_paired_tests_equal_scipys():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n_a, n_b = rng.integers(2, 8, size=2)
        a = rng.normal(0.9 + rng.normal(0, 0.02), rng.uniform(0.001, 0.03), n_a)
        b = rng.normal(0.9, rng.uniform(0.001, 0.03), n_b)
        w = S.welch_test(a, b)
        ref = sp.ttest_ind(a, b, equal_var=False)
        assert w.p == pytest.approx(ref.pvalue, rel=1e-9) and w.diff == pytest.approx(a.mean() - b.mean())
        assert w.clear == (ref.pvalue <= 0.05) and not w.paired
        # separated: a beats b by Welch's two-sided 5% test, i.e. one-sided at 2.5%
        one_sided = sp.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert S.separated(S.summarize(a), S.summarize(b)) == (one_sided < 0.025)
        b = b[:1].repeat(n_a) + rng.normal(0, 0.01, n_a)
        pt = S.paired_test(a, b)
        ref = sp.ttest_rel(a, b)
        assert pt.p == pytest.approx(ref.pvalue, rel=1e-9) and pt.df == n_a - 1 and pt.paired
    # the vectorised forms give the same numbers over leading axes
    a, b = rng.normal(size=(4, 6, 5)), rng.normal(size=(4, 6, 5))
    np.testing.assert_allclose(S.paired(a, b).p, sp.ttest_rel(a, b, axis=-1).pvalue, rtol=1e-9)
    np.testing.assert_allclose(S.welch(a, b).p, sp.ttest_ind(a, b, axis=-1, equal_var=False).pvalue,
                               rtol=1e-9)


def test_paired_test_uses_the_shared_seed():
    """The same seed: the same start, so most of the spread cancels in the per-seed difference."""
    seed_effect = np.array([0.80, 0.90, 0.85, 0.95, 0.88])
    a = seed_effect + 0.02 + np.array([0.001, -0.002, 0.0, 0.002, -0.001])
    b = seed_effect
    paired, welch = S.paired_test(a, b), S.welch_test(a, b)
    assert paired.clear and paired.sign == 1 and paired.diff == pytest.approx(0.02)
    assert not welch.clear                                  # the seed spread hides it
    assert paired.p == pytest.approx(sp.ttest_rel(a, b).pvalue)
    with pytest.raises(ValueError, match="paired by seed"):
        S.paired(a, b[:4])


def test_zero_spread_counts_only_beyond_one_test_example():
    same_a, same_b = S.summarize([0.95] * 3), S.summarize([0.94] * 3)
    assert not S.separated(same_a, same_b)                  # no resolution given: never
    assert S.separated(same_a, same_b, resolution=1 / 360)  # 0.01 > one example of 360
    assert not S.separated(same_a, same_b, resolution=1 / 100)   # exactly one example of 100
    assert not S.separated(same_b, same_a, resolution=1 / 360)
    for test in (S.paired_test, S.welch_test):
        assert not test([0.95] * 3, [0.94] * 3).clear
        assert test([0.95] * 3, [0.94] * 3, resolution=1 / 360).clear
        t = test([0.95] * 3, [0.94] * 3, resolution=1 / 100)
        assert not t.clear and t.se == 0
    # one value per group: nothing to compare the gap with
    assert not S.paired_test([0.99], [0.1], resolution=1 / 360).clear
    assert not S.separated(S.summarize([0.99]), S.summarize([0.1, 0.11, 0.12]), resolution=0.001)


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


def test_holm_tests_are_clear_exactly_where_the_interval_misses_zero():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(8, 5))
    tests = [S.paired_test(base[k] + shift + rng.normal(0, 0.3, 5), base[k])
             for k, shift in enumerate([0, 0.1, 0.3, 0.5, 0.8, 1.2, 2.0, -1.5])]
    family = S.holm(tests)
    assert [t.clear for t in family] == holm_reference([t.p for t in tests])
    for t in family:
        assert t.clear == (abs(t.diff) > t.margin)
        assert t.t_crit == pytest.approx(sp.t.ppf(1 - t.level / 2, t.df))
        assert 0.05 / len(tests) <= t.level <= 0.05
    assert any(t.clear for t in family) and not all(t.clear for t in family)


# ------------------------------------------------------------------ sweeps with no real difference

MC_SWEEPS = 20_000


def fwer_bound(alpha=0.05, n=MC_SWEEPS):
    """α plus three Monte-Carlo standard errors."""
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / n)


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_null_sweeps_name_a_false_winner_at_most_5_percent_of_the_time(seeds):
    """20,000 simulated 9-point grids, BN and no BN paired by seed (a shared seed effect) and no
    real difference: the Holm-corrected rule calls something clear in ≤ 5% of sweeps (within
    Monte-Carlo error); the uncorrected rule does in about 1 − 0.95⁹ = 37%."""
    rng = np.random.default_rng(seeds)
    seed_effect = rng.normal(0.9, 0.03, size=(MC_SWEEPS, 9, seeds))
    a = seed_effect + rng.normal(0, 0.01, size=(MC_SWEEPS, 9, seeds))     # (sweeps, settings, seeds)
    b = seed_effect + rng.normal(0, 0.01, size=(MC_SWEEPS, 9, seeds))
    p = S.paired(a, b, resolution=1 / 360).p                                # (sweeps, settings)
    clear, _ = S.holm_levels(p)
    fwer = clear.any(-1).mean()
    assert fwer <= fwer_bound()
    assert fwer >= 0.03                                      # not conservative to uselessness
    assert (p <= 0.05).any(-1).mean() == pytest.approx(1 - 0.95**9, abs=0.02)


def test_null_placement_sweeps_with_dependent_comparisons():
    """Three placements × three activations, all pairs (each group in two comparisons), and
    Welch's test as well: still ≤ 5% of sweeps with a false 'clear'."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.95, 0.01, size=(MC_SWEEPS, 3, 3, 5))          # (sweeps, activation, placement, seeds)
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
