"""The verdicts (bn_core.why.verdicts) on results whose answer is known: built here with a
clear effect, the reverse effect, or none, paired by seed."""

import re

import numpy as np
import pytest

from bn_core.why import verdicts
from bn_core.why.config import WhyConfig
from bn_core.why.training import WhyResult, members

SEEDS, C, J = 6, 4, 5


def result(experiment, scale, seeds=SEEDS, **config):
    """A WhyResult whose with-BN networks' probe numbers are the plain ones × scale (plus seed
    noise of a few per cent), with flat accuracy curves."""
    cfg = WhyConfig.default(experiment).replace(seeds=seeds, **config)
    group = members(cfg)
    rng = np.random.default_rng(0)
    M, steps = len(group), np.arange(C) * 10
    factor = np.array([scale if m.kind == "before" else 1.0 for m in group])
    jitter = lambda *shape: np.exp(0.03 * rng.standard_normal((M, *shape)))
    r = WhyResult(cfg, group, steps, np.full((M, C), 0.9), np.full((M, C), 0.3),
                  np.full(M, -1), n_test=360, n_classes=10)
    if experiment == "landscape":
        base = np.linspace(1.0, 2.0, J)
        r.check_steps, r.factors = steps, np.geomspace(0.5, 4, J)
        r.land_loss = base * factor[:, None, None] * jitter(C, J)
        r.land_change = factor[:, None, None] * jitter(C, J)
        r.land_distance = np.ones((M, C, J))
        r.land_loss0 = np.ones((M, C))
    else:
        r.check_steps, r.ics_layers = steps, [1, 2]
        r.ics_diff = factor[:, None, None] * jitter(C, 2)
        r.ics_cos = np.clip(1.0 - 0.2 * factor[:, None, None] * jitter(C, 2), -1, 1)
        r.ics_gnorm = np.ones((M, C, 2))
    return r


@pytest.mark.parametrize("scale,says,reproduces", [(0.3, "**Reproduces**", "yes"),
                                                   (3.0, "**Does not reproduce here**", "no"),
                                                   (1.0, "**Not settled by 6 seeds**", None)])
def test_landscape_verdict(scale, says, reproduces):
    v = verdicts.verdict(result("landscape", scale))[0]
    assert v.headline.startswith(says) and v.reproduces == reproduces
    assert len(v.tests) == 3 and all(t.paired for t in v.tests)
    if scale != 1.0:
        assert all(t.clear and (t.diff < 0) == (scale < 1) for t in v.tests)
        ratios = [float(x) for x in re.findall(r"BN's is ([0-9.]+)×", " ".join(v.details))]
        assert len(ratios) == 3 and np.allclose(ratios, scale, rtol=0.1)   # "BN's is 0.3×"


@pytest.mark.parametrize("scale,says", [(3.0, "**Reproduces**"), (0.3, "**Does not reproduce")])
def test_ics_verdict_larger_shift_with_bn_is_the_papers_result(scale, says):
    v = verdicts.verdict(result("ics", scale))[0]
    assert v.headline.startswith(says)


def test_one_seed_is_never_a_verdict_and_the_rule_names_holm():
    r = result("landscape", 0.3, seeds=1)
    said = verdicts.verdict(r)
    assert said[0].headline.startswith("**One seed") and said[0].reproduces is None
    assert "use 5 or more" in verdicts.few_seeds(r, said)
    text = verdicts.rule(result("landscape", 0.3), verdicts.verdict(result("landscape", 0.3)))
    assert "Holm's correction" in text and "5 degrees of freedom" in text
