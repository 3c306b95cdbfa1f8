"""Dropout before BN (issue #23, item 9): the variance-shift prediction against independent
references: Li et al.'s one-unit formula (facts.md, corrected: drop rate p, keep 1 − p) against
simulated dropout, and the prediction through the trained weights against the ratio measured in
a real run of the lesson's experiment."""

import numpy as np

from bn_core.alternatives import verdicts
from bn_core.alternatives.config import NormsConfig
from bn_core.alternatives.training import run_experiment


def test_one_unit_with_a_nonzero_mean_gets_more_extra_variance_not_less():
    """Simulated inverted dropout on one unit h ~ N(c, v): train-time variance ÷ v against
    1/(1 − p) + (c²/v)(1/(1 − p) − 1); the mean raises the ratio above 1/(1 − p)."""
    rng = np.random.default_rng(0)
    p, n = 0.5, 2_000_000
    for c, v in ((0.0, 1.0), (1.0, 1.0), (2.0, 0.5)):
        h = rng.normal(c, np.sqrt(v), n)
        dropped = h * (rng.random(n) >= p) / (1 - p)
        want = 1 / (1 - p) + c ** 2 / v * (1 / (1 - p) - 1)
        assert abs(dropped.var() / h.var() / want - 1) < 0.01
    assert 1 / (1 - p) + 1.0 * (1 / (1 - p) - 1) > 1 / (1 - p)


def test_the_prediction_through_the_trained_weights_matches_the_measured_ratio():
    r = run_experiment(NormsConfig.default("shift"))
    ks = [k for k, n in enumerate(r.networks) if n.member.group == "all"]
    running, evaluated = r.variances[1]                                   # layer 2's BN
    measured = float(np.nanmedian((running / evaluated)[ks]))
    predicted = float(np.nanmedian(r.predicted[0][ks]))
    p = r.config.dropout
    assert 1 < measured < 1 / (1 - p) and abs(predicted / measured - 1) < 0.10
    assert abs(float(np.nanmedian(r.predicted[1][ks])) - 1) < 1 / (1 - p) - 1   # layer 3 too
    text = " ".join(d for v in verdicts.verdict(r) for d in v.details)
    assert "more* for a nonzero mean" in text and "less extra variance" not in text
    assert f"layer 2: {predicted:.2f}×" in text
