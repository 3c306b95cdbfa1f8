"""bn_core.lab.measures on hand-built histories with known answers (values chosen to be exact in
float32: the expected numbers below are worked out by hand from the module's formulas), and one
sanity check on a real short run."""

import math
import statistics
import warnings

import numpy as np
import pytest

from bn_core.lab import measures
from bn_core.lab.measures import Drift, collapsed, drift, late_start, noise_floor, shift_rates
from bn_core.records import Divergence, History, LayerRecord, Snapshot
from bn_core.trainer import Run, TrainConfig


def record(p50, spread, mean=None, std=None) -> LayerRecord:
    """A LayerRecord with these per-unit medians and 15–85 % spreads (p15 = p50 − spread/2,
    p85 = p50 + spread/2) and unit means/stds."""
    p50, spread = np.asarray(p50, np.float64), np.asarray(spread, np.float64)
    w = len(p50)
    return LayerRecord(
        mean=0.0, std=1.0, p15=-1.0, p50=0.0, p85=1.0, hist=np.zeros(8, np.int32),
        unit_percentiles=np.stack([p50 - spread / 2, p50, p50 + spread / 2]).astype(np.float32),
        unit_mean=np.asarray(p50 if mean is None else mean, np.float32),
        unit_std=np.asarray(spread if std is None else std, np.float32),
        unit_hists=np.zeros((w, 8), np.int16),
        saturation=0.0)


def history(snaps_by_network, steps=1000, width=5) -> History:
    """A History whose frames hold the given snapshots (network → list of Snapshot), by step."""
    config = TrainConfig(steps=steps, width=max(width, 4))
    by_step = {}
    for snaps in snaps_by_network.values():
        for s in snaps:
            by_step.setdefault(s.step, {})[s.network] = s
    h = History(config, list(snaps_by_network))
    h.frames = [by_step[step] for step in sorted(by_step)]
    for snaps in snaps_by_network.values():
        for s in snaps:
            if s.divergence is not None:
                h.divergence[s.network] = s.divergence
    return h


def snap(network, step, *layers, divergence=None) -> Snapshot:
    return Snapshot(network, step, 1.0, 0.5, list(layers), divergence)


# Layer 0 of "none": W = 5 units.
#   step 0     p50 0, 0, 0, 0, 0        spread 1, 1, 2, 2, 4
#   step 10    p50 2, 2, 2, 2, 2        spread 1, 1, 1, 1, 1
#   step 100   p50 1, −3, 0.5, 4, 0     spread 4, 2, 1, 1, 2
#   step 150   diverged: NaN everywhere
START = record([0] * 5, [1, 1, 2, 2, 4])
MIDDLE = record([2] * 5, [1] * 5)
END_P50 = np.array([1, -3, 0.5, 4, 0])
END = record(END_P50, [4, 2, 1, 1, 2])
BROKEN = record([np.nan] * 5, [np.nan] * 5)


@pytest.fixture
def known():
    return history({"none": [snap("none", 0, START), snap("none", 10, MIDDLE),
                             snap("none", 100, END),
                             snap("none", 150, BROKEN, divergence=Divergence(150, 0, "loss"))]})


def test_drift_from_the_first_to_the_last_finite_snapshot(known):
    # moved_j = |Δp50| / spread(end) = 1/4, 3/2, 0.5/1, 4/1, 0/2 → median 0.5
    # noise: two pairs of neighbouring snapshots (0–10, 10–100) are too few: NaN
    d = drift(known, "none", 0)
    assert (d.network, d.layer, d.step_start, d.step_end, d.moved, d.spread_start, d.spread_end,
            d.collapsed) == ("none", 0, 0, 100, 0.5, 2.0, 2.0, False)
    assert math.isnan(d.noise) and math.isnan(d.over_noise)
    assert d.spread_factor == 1.0 and not d.within_noise


def test_drift_between_chosen_snapshots(known):
    # from step 10: |p50 − 2| / spread(100) = 1/4, 5/2, 1.5/1, 2/1, 2/2 → median 1.5
    d = drift(known, "none", 0, start=10)
    assert (d.step_start, d.step_end, d.moved, d.spread_start) == (10, 100, 1.5, 1.0)
    assert d.spread_factor == 2.0
    # up to step 10: |2 − 0| / 1 for every unit
    d = drift(known, "none", 0, end=10)
    assert (d.step_start, d.step_end, d.moved, d.spread_end) == (0, 10, 2.0, 1.0)
    a, b = drift(known, "none", 0, start=0, end=100), drift(known, "none", 0)
    assert (a.step_start, a.step_end, a.moved) == (b.step_start, b.step_end, b.moved)


@pytest.mark.parametrize("start,end", [(10, 10), (100, 10), (5, None), (None, 7), (0, 150),
                                       (150, None)])
def test_drift_is_none_without_two_snapshots_in_order(known, start, end):
    """A missing step, the same one twice, the wrong order, or the divergence snapshot."""
    assert drift(known, "none", 0, start=start, end=end) is None


def test_drift_of_a_network_not_recorded_and_of_a_bad_layer(known):
    assert drift(known, "before", 0) is None
    with pytest.raises(ValueError, match="^layer: expected 0 to 0, got 1$"):
        drift(known, "none", 1)


def test_drift_leaves_out_units_without_a_spread_at_the_end():
    end = record([1, 3, 8, np.nan], [2, 0, 0, 1])             # only unit 0 counts: 1/2
    h = history({"none": [snap("none", 0, record([0] * 4, [1, 1, 1, 1])), snap("none", 5, end)]})
    assert drift(h, "none", 0).moved == 0.5
    flat = record([1, 3], [0, 0])
    h = history({"none": [snap("none", 0, record([0, 0], [1, 1])), snap("none", 5, flat)]})
    assert drift(h, "none", 0) is None


def jitter_history(p50s, spreads, steps=None, network="none"):
    """One network whose layer 0 has these per-unit medians (T, W) and spreads (T, W)."""
    steps = steps or [10 * t for t in range(len(p50s))]
    return history({network: [snap(network, st, record(p, sp))
                              for st, p, sp in zip(steps, p50s, spreads)]})


def test_spread_factor_and_within_noise():
    # unit medians 0, .25, 0, .25, 0.25 at steps 0…40, spread 1 at the end (0 at the start):
    # neighbour changes .25, .25, .25, 0 → the last 3 pairs' median .25 = the move 0.25
    h = jitter_history([[0] * 3, [0.25] * 3, [0] * 3, [0.25] * 3, [0.25] * 3],
                       [[0] * 3] + [[1] * 3] * 4)
    d = drift(h, "none", 0)
    assert (d.moved, d.noise, d.spread_start) == (0.25, 0.25, 0.0)
    assert d.spread_factor == math.inf and d.within_noise and d.over_noise == 1.0


def test_noise_floor_is_the_jitter_between_neighbouring_snapshots():
    """Per unit j, median over the last NOISE_PAIRS pairs of |Δp50_j| / spread_j(end), then the
    median over the units; worked out by hand (values exact in float32)."""
    # 3 units; medians at 6 snapshots (steps 0, 10, …, 50); spreads 2, 4, 0.5 at the end
    p50 = np.array([[0, 0, 0], [1, 0.5, 0], [0, 1, 0.25], [1, 1.5, 0], [0, 2, 0.25], [1, 2.5, 0]])
    spread = np.tile([2.0, 4.0, 0.5], (6, 1))
    h = jitter_history(p50.tolist(), spread.tolist())
    # |Δ| per pair: unit 0 always 1 → 1/2; unit 1 always 0.5 → 0.125; unit 2: 0, .25, .25, .25,
    # .25 → median .25 → 0.5; over the units: median(0.5, 0.125, 0.5) = 0.5
    assert noise_floor(h, "none", 0) == 0.5
    # the last 3 pairs only (steps 20…50): unit 2's |Δ| .25, .25, .25 → the same medians
    assert noise_floor(h, "none", 0, pairs=3) == 0.5
    # from step 10 to 40: pairs 10–20, 20–30, 30–40; spreads at 40: unit 0 1/2, unit 1 .5/4,
    # unit 2 .25/.5 → 0.5
    assert noise_floor(h, "none", 0, start=10, end=40) == 0.5
    # a unit whose median only drifts steadily has its per-pair drift as its jitter (0.125)
    assert noise_floor(h, "none", 0, start=10, end=40) >= drift(h, "none", 0, 10, 40).moved / 3
    assert math.isnan(noise_floor(h, "none", 0, start=20, end=40))          # 2 pairs: too few
    flat = jitter_history([[1, 2]] * 5, [[0, 0]] * 5)
    assert math.isnan(noise_floor(flat, "none", 0))                          # no spread at the end
    with pytest.raises(ValueError, match="^layer: expected 0 to 0, got 1$"):
        noise_floor(h, "none", 1)


def test_noise_floor_and_drift_of_a_steady_layer_are_zero():
    steady = [record([1, 2, 3], [1, 1, 1]) for _ in range(5)]
    h = history({"none": [snap("none", 10 * t, r) for t, r in enumerate(steady)]})
    assert noise_floor(h, "none", 0) == 0.0 and drift(h, "none", 0).moved == 0.0


@pytest.mark.parametrize("p50,spread,expected", [
    ([8, 8, -8], [2 ** -7] * 3, True),          # 0.0078 < 1e-3 · 8
    ([8, 8, -8], [2 ** -6] * 3, False),         # 0.0156 > 0.008
    ([0, 0, 0], [2 ** -18] * 3, True),          # 3.8e-6 < 1e-3 · 0.01 (the floor for |z|)
    ([0, 0, 0], [2 ** -16] * 3, False),         # 1.5e-5 > 1e-5
    ([0, 0, 0], [0, 0, 0], True),
    ([100, 100, 100], [1, 0.01, 0.001], True),  # the median unit: 0.01 < 1e-3 · 100
    ([1, 1, 1], [np.nan] * 3, False),
])
def test_collapsed(p50, spread, expected):
    assert collapsed(record(p50, spread)) is expected
    assert measures.COLLAPSED == 1e-3


def test_collapse_shows_in_the_drift():
    h = history({"none": [snap("none", 0, record([0, 0, 0], [1, 1, 1])),
                          snap("none", 5, record([8, 8, 8], [2 ** -7] * 3))]})
    assert drift(h, "none", 0).collapsed


def test_late_start():
    steps = [0, 1, 2, 5, 10, 25, 50, 1000]
    h = history({"none": [snap("none", s, START) for s in steps]}, steps=1000)
    assert measures.LATE_FROM == 0.02 and late_start(h) == 25            # 2 % of 1,000 = 20
    h = history({"none": [snap("none", s, START) for s in (0, 20, 40)]}, steps=1000)
    assert late_start(h) == 20                                           # at the goal itself
    h = history({"none": [snap("none", s, START) for s in (0, 1, 2, 3)]}, steps=10)
    assert late_start(h) == 1                                            # at least step 1
    h = history({"none": [snap("none", s, START) for s in (0, 1, 2)]}, steps=1000)
    assert late_start(h) == 2                                            # none that late: the last
    assert late_start(history({}, steps=1000)) == 0
    # every network's steps count (one stopped early)
    h = history({"none": [snap("none", s, START) for s in (0, 10)],
                 "before": [snap("before", s, START) for s in (0, 10, 30)]}, steps=1000)
    assert late_start(h) == 30


def shift_history():
    # W = 3; steps 0, 50, 150 (and a divergence snapshot at 200 that must not count)
    #   t=0    mean 0, 0, 0   std 1, 1, 1
    #   t=50   mean 3, 0, 1   std 5, 2, 0   Δ = (3, 4), (0, 1), (1, −1) → 5/5, 1/2, — (std 0)
    #          median 0.75 → 100 · 0.75 / 50 = 1.5
    #   t=150  mean 3, 6, 1   std 5, 10, 4  Δ = (0, 0), (6, 8), (0, 4) → 0, 10/10, 4/4
    #          median 1 → 100 · 1 / 100 = 1.0
    layers = [record([0, 0, 0], [1, 1, 1], mean=[0, 0, 0], std=[1, 1, 1]),
              record([0, 0, 0], [1, 1, 1], mean=[3, 0, 1], std=[5, 2, 0]),
              record([0, 0, 0], [1, 1, 1], mean=[3, 6, 1], std=[5, 10, 4]),
              record([0, 0, 0], [1, 1, 1], mean=[np.nan] * 3, std=[np.inf] * 3)]
    other = record([0, 0, 0], [1, 1, 1], mean=[9, 9, 9], std=[9, 9, 9])
    snaps = [snap("none", s, other, rec) for s, rec in zip((0, 50, 150), layers)]
    snaps.append(snap("none", 200, other, layers[3], divergence=Divergence(200, 1, "loss")))
    return history({"none": snaps})


def test_shift_rates_known_values():
    steps, rates = shift_rates(shift_history(), "none", 1)
    np.testing.assert_array_equal(steps, [50, 150])
    np.testing.assert_array_equal(rates, [1.5, 1.0])
    steps, rates = shift_rates(shift_history(), "none", 0)               # nothing moved
    np.testing.assert_array_equal(rates, [0.0, 0.0])
    with pytest.raises(ValueError, match="^layer: expected 0 to 1, got 2$"):
        shift_rates(shift_history(), "none", 2)


def test_shift_rates_without_two_snapshots():
    h = history({"none": [snap("none", 0, START)]})
    steps, rates = shift_rates(h, "none", 0)
    assert steps.shape == rates.shape == (0,)
    steps, rates = shift_rates(h, "before", 0)
    assert steps.shape == rates.shape == (0,)


def test_shift_rate_of_an_interval_where_no_unit_has_a_spread_is_nan():
    layers = [record([0, 0], [1, 1], mean=[0, 0], std=[1, 1]),
              record([0, 0], [1, 1], mean=[1, 1], std=[0, 0]),
              record([0, 0], [1, 1], mean=[1, 1], std=[2, 2])]       # Δ (0, 2) / 2 = 1 per 10
    h = history({"none": [snap("none", s, r) for s, r in zip((0, 10, 20), layers)]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)             # numpy: all-NaN slice
        steps, rates = shift_rates(h, "none", 0)
    assert np.isnan(rates[0]) and rates[1] == 10.0


def test_shift_rates_against_a_direct_computation():
    rng = np.random.default_rng(0)
    steps = [0, 1, 3, 10, 30, 100, 1000]
    w = 7
    means = rng.normal(0, 2, (len(steps), w)).astype(np.float32)
    stds = rng.uniform(0.1, 3, (len(steps), w)).astype(np.float32)
    stds[2, 3] = 0.0                                                 # ignored in that interval
    snaps = [snap("none", s, record([0] * w, [1] * w, mean=m, std=sd))
             for s, m, sd in zip(steps, means, stds)]
    got_steps, rates = shift_rates(history({"none": snaps}), "none", 0)
    np.testing.assert_array_equal(got_steps, steps[1:])
    for t in range(1, len(steps)):
        shifts = [math.hypot(float(means[t, j]) - float(means[t - 1, j]),
                             float(stds[t, j]) - float(stds[t - 1, j])) / float(stds[t, j])
                  for j in range(w) if stds[t, j] > 0]
        want = 100 * statistics.median(shifts) / (steps[t] - steps[t - 1])
        assert rates[t - 1] == pytest.approx(want, rel=1e-12)


# ----------------------------------------------------------------------------- a real run

@pytest.fixture(scope="module")
def real_run():
    run = Run(TrainConfig(depth=2, width=16, steps=300, record_every=10))
    for _ in run.stream():
        pass
    return run


def test_real_run_late_drift_is_larger_without_bn(real_run):
    h = real_run.history
    start = late_start(h)
    assert 6 <= start <= 10                                   # 2 % of 300 → the first step ≥ 6
    none = drift(h, "none", 1, start=start)
    bn = drift(h, "before", 1, start=start)
    assert none.step_end == bn.step_end == 300
    assert none.moved > bn.moved > 0
    assert math.isfinite(none.noise) and not none.collapsed and not bn.collapsed


def test_real_run_shift_rates(real_run):
    h = real_run.history
    for net in ("none", "before"):
        steps, rates = shift_rates(h, net, 0)
        np.testing.assert_array_equal(steps, [s.step for s in h.snapshots(net)][1:])
        assert np.isfinite(rates).all() and (rates >= 0).all()


def test_jitter_does_not_depend_on_how_often_the_run_was_recorded():
    """#23 item 10: noisy BN's noise is fresh at every step, so a change divided by the steps
    between snapshots (the shift rate) made it look 4–10× faster at closer snapshots. The jitter
    around the trend divides by nothing: the same run recorded every 200 and every 2,000 steps
    gives the same noisy-BN-to-BN factor within 20 %, where the shift rate's factor does not."""
    from bn_core.engine import NetSpec
    from bn_core.lab.measures import jitter_and_drift, shift_rates

    def factors(every):
        c = TrainConfig(depth=2, width=16, lr=0.5, batch_size=16, steps=10_000,
                        record_every=every)
        specs = [NetSpec("before", 0.5, seed=0), NetSpec("before", 0.5, seed=0, noise=1.0)]
        r = Run(c, networks=["before", "noisy"], specs=specs, early=False)
        list(r.stream())
        jit = {n: np.mean([jitter_and_drift(r.history, n, l)[0] for l in range(2)])
               for n in r.networks}
        rate = {n: np.mean([np.median(shift_rates(r.history, n, l)[1]) for l in range(2)])
                for n in r.networks}
        return jit["noisy"] / jit["before"], rate["noisy"] / rate["before"]

    (j200, r200), (j2000, r2000) = factors(200), factors(2000)
    assert j200 > 1.5 and j2000 > 1.5                         # noisy BN does jitter more
    assert abs(j200 / j2000 - 1) <= 0.2, (j200, j2000)
    assert abs(r200 / r2000 - 1) > 0.5, (r200, r2000)         # the old measure did depend on it


def test_jitter_and_drift_of_a_constructed_path():
    """A unit whose mean moves on a straight line, plus noise of known size: the drift is the
    line's slope, the jitter the noise's size (both in units of the unit's std)."""
    from types import SimpleNamespace

    from bn_core.lab.measures import jitter_and_drift

    rng = np.random.default_rng(0)
    steps = np.arange(0, 10_001, 100)
    slope, noise, std = 0.002, 0.05, 2.0                        # per step, in stds
    snaps = [SimpleNamespace(step=int(s), divergence=None, layers=[SimpleNamespace(
        unit_mean=np.array([std * (slope * s + noise * rng.standard_normal())]),
        unit_std=np.array([std]))]) for s in steps]
    history = SimpleNamespace(snapshots=lambda n: snaps, config=SimpleNamespace(steps=10_000))
    jitter, drift = jitter_and_drift(history, "x", 0, start=0.0)
    assert drift == pytest.approx(100 * slope, rel=0.05)
    assert jitter == pytest.approx(noise, rel=0.15)
