"""The lab's setups do what the page says they do: the Paper setup shows Figure 1 (a shortened
run here; benchmarks/bench_figure1.py measures the full one), "ε = 0" breaks only the BN network
and ε = 1e-5 mends it; and the view's layer and unit choices map to valid indices."""

import pytest

from bn_core.lab.measures import drift, late_start
from bn_core.lab.presets import EPS_ZERO, PAPER_SETUP, LabView, record_every_for
from bn_core.lab.reading import first_reached
from bn_core.trainer import Run


def trained(config):
    run = Run(config.replace(record_every=record_every_for(config)))
    list(run.stream())
    return run.history


def test_a_shortened_paper_setup_shows_figure_one():
    h = trained(PAPER_SETUP.replace(steps=3000))
    # (a): the BN network reaches 90 % test accuracy long before the plain one
    bn, plain = first_reached(h, "before", 0.9), first_reached(h, "none", 0.9)
    assert bn is not None and bn <= 300
    assert plain is None or plain > 3 * bn
    # (b, c): from 2 % of the run on, the last layer's typical unit drifts several times more
    # without BN; measured against the drift's own jitter (the noise floor), both drifts are
    # real, and the difference between them is many floors: the contrast is not noise
    start = late_start(h)
    d = {n: drift(h, n, 2, start=start) for n in ("none", "before")}
    assert d["none"].moved >= 3 * d["before"].moved
    assert all(x.moved > 3 * x.noise for x in d.values())   # 3,000 steps: 10× and 4× measured
    assert d["none"].moved - d["before"].moved > 5 * max(x.noise for x in d.values())   # 8×


def test_eps_zero_breaks_only_the_bn_network_and_the_default_eps_mends_it():
    broken = trained(EPS_ZERO.replace(steps=600))
    assert set(broken.divergence) == {"after"}
    assert broken.divergence["after"].what == "output (after BN)"
    mended = trained(EPS_ZERO.replace(steps=600, eps=1e-5))
    assert not mended.divergence


@pytest.mark.parametrize("layer,depth,expected", [(0, 3, 2), (1, 3, 0), (3, 3, 2), (5, 3, 2),
                                                  (5, 8, 4)])
def test_the_view_picks_the_last_layer_unless_a_valid_one_is_chosen(layer, depth, expected):
    assert LabView(layer=layer).layer_index(depth) == expected


def test_the_view_unit_stays_among_the_recorded_units():
    assert LabView(unit=16).unit_index(100) == 15
    assert LabView(unit=16).unit_index(8) == 7
    with pytest.raises(ValueError, match="unit: expected a value from 1 to 16"):
        LabView(unit=17)
