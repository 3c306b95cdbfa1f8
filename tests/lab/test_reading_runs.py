"""The lab's reading of real runs of the trainer that break (issue #23, items 1, 2 and 4): the
"ε = 0 breaks it" setup, learning rate 10 on the default setup, and ε = 0 on the default
sigmoid setup, which changes nothing. Each fact is checked against the run's own records."""

import math

import numpy as np
import pytest

from bn_core.lab.measures import late_start
from bn_core.lab.presets import DEFAULT, EPS_ZERO, record_every_for
from bn_core.lab.reading import read_history
from bn_core.trainer import Run


def trained(config):
    run = Run(config.replace(record_every=record_every_for(config)))
    list(run.stream())
    return run.history


@pytest.fixture(scope="module")
def eps_zero():
    return trained(EPS_ZERO)


@pytest.fixture(scope="module")
def lr_ten():
    return trained(DEFAULT.replace(lr=10.0))


def test_a_diverged_network_leads_the_reading_and_is_reported_only_before_it_diverged(eps_zero):
    h = eps_zero
    div = h.divergence["after"]                      # the BN network dies; the plain one trains on
    assert set(h.divergence) == {"after"}
    last_good = h.snapshots("after")[-1]
    assert last_good.step < div.step
    reading = read_history(h)
    assert reading.broken == {"after": "diverged"}
    assert reading.lines[0].startswith(f"**The network with BN after activation broke: it "
                                       f"diverged at step {div.step:,}**")
    assert f"before it diverged (its last good snapshot, step {last_good.step:,})" in \
        reading.lines[0]
    # its drift is not compared as if it were training: the comparison line names only "none"
    compare = next(x for x in reading.lines if x.startswith("**Layer 3"))
    assert "without BN" in compare and "after activation" not in compare
    left = next(x for x in reading.lines if "left out of this comparison" in x)
    assert left.startswith("The network with BN after activation is left out of this "
                           "comparison: it diverged. Before it diverged")
    # its accuracy only as "before it diverged", at its last good snapshot
    acc = next(x for x in reading.lines if x.startswith("Test accuracy"))
    assert (f"BN after activation **{last_good.test_acc:.1%}** (at step {last_good.step:,}, "
            "before it diverged)") in acc
    assert not any("≈ noise" in x for x in reading.lines)


def test_a_network_stuck_near_chance_leads_the_reading_with_its_saturation(lr_ten):
    h = lr_ten
    snaps = h.snapshots("none")
    recent = float(np.median([s.test_acc for s in snaps[1:][-10:]]))
    sats = [rec.saturation for rec in snaps[-1].layers]
    assert not h.divergence and recent < 0.2 and max(sats) > 0.9     # independent: stuck, saturated
    assert snaps[-1].layers[2].p50 < -10                               # the last layer's z jumped far
    reading = read_history(h)
    assert reading.broken == {"none": "stuck"} and "none" in reading.stalled
    worst = int(np.argmax(sats))
    assert reading.lines[0] == (
        f"**The network without BN is stuck near chance**: test accuracy {recent:.1%} (median of "
        f"its last 10 snapshots; guessing scores 10%), with {sats[worst]:.0%} of layer "
        f"{worst + 1}'s inputs saturated (on the flat ends).")
    compare = next(x for x in reading.lines if x.startswith("**Layer 3"))
    assert "without BN" not in compare and "with BN before activation" in compare
    assert any(x.startswith("The network without BN is left out of this comparison: it is stuck")
               for x in reading.lines)


def test_the_noise_floor_is_the_jitter_of_the_same_examples(lr_ten):
    """Computed here from the records: the median over units of the median |Δ median| between
    the last 10 pairs of neighbouring snapshots, over the final spread."""
    h, layer = lr_ten, 2
    reading = read_history(h)
    d = reading.drifts["before"]
    snaps = [s for s in h.snapshots("before") if s.step >= late_start(h)][-11:]
    p50 = np.array([s.layers[layer].unit_percentiles[1] for s in snaps], np.float64)
    spread = np.float64(snaps[-1].layers[layer].unit_spread)
    want = np.median(np.median(np.abs(np.diff(p50, axis=0)), axis=0) / spread)
    assert d.noise == pytest.approx(want, rel=1e-12)
    assert d.moved > 3 * d.noise                   # BN's own late drift is real, not noise
    compare = next(x for x in reading.lines if x.startswith("**Layer 3"))
    assert "so this move is real, not noise" in compare and "two halves" not in compare


def test_eps_zero_in_the_default_sigmoid_setup_changes_nothing_and_says_why():
    zero, default = trained(DEFAULT.replace(eps=0.0)), trained(DEFAULT)
    a, b = zero.snapshots("before")[-1], default.snapshots("before")[-1]
    assert not zero.divergence and abs(a.test_acc - b.test_acc) <= 1 / 360    # one test digit
    reading = read_history(zero)
    note = next(x for x in reading.lines if x.startswith("**ε = 0 changed nothing here**"))
    assert "only where a unit's variance over a mini-batch is about 0" in note
    assert not any("ε = 0" in x for x in read_history(default).lines)
    assert not any(x.startswith("**ε = 0 changed") for x in read_history(eps_zero_history()).lines)


def eps_zero_history():
    return trained(EPS_ZERO.replace(steps=400))
