"""The figures' captions (bn_core.why.figures) say what this run's numbers show."""

import numpy as np

from bn_core.why import figures
from tests.why.test_verdicts import noise_result


def test_the_noise_caption_claims_a_steady_band_only_where_the_jitter_is_small():
    """QA /why, noise ×5, 1 seed: the caption said the noisy band "can look nearly as steady as
    BN's … by a small part of its spread" beside a panel that visibly jitters (0.77 std, 168×
    BN's). The caption reads the panels' own network (first seed) and layer."""
    r = noise_result(0.0)                                     # noisy 0.23, BN 0.0047 (×1)
    steady = figures.noise_caption(r, 2)
    assert "nearly as steady as BN's" in steady and "0.23 of their standard deviation" in steady
    noisy = r.index("noisy")
    r.jitter[noisy[0], 2] = 0.77                              # the first seed's layer 3 shakes
    shaken = figures.noise_caption(r, 2)
    assert "nearly as steady" not in shaken and "visibly jitters" in shaken
    assert "0.77 of their standard deviation" in shaken and "BN's (0.0047)" in shaken
    assert "nearly as steady as BN's" in figures.noise_caption(r, 1)     # another layer: small
    r.config = r.config.replace(noise=0.0)
    assert figures.noise_caption(r, 2).startswith("With noise ×0 the noisy network is the BN")


def test_one_seed_has_no_mean_of_1_seed_nor_a_range():
    """QA, 1 seed: "mean of 1 seed (line) and the range from the lowest to the highest seed
    (band)" beside a chart with no band (one seed has no range)."""
    from tests.why.test_verdicts import scale_result
    r = scale_result(10, lambda x: 1 + 0.04 * x)
    r.config = r.config.replace(seeds=1)
    keep = [r.index(k)[0] for k in r.config.kinds]
    r.members = [r.members[i] for i in keep]
    for name in ("test_acc", "loss", "diverged_at", "norms"):
        setattr(r, name, getattr(r, name)[keep])
    captions = [c for _, c in figures.figures(r)] + [figures._curves(r)[1]]
    for c in captions:
        assert "1 seed " not in c and "range" not in c and "no band" in c
