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
