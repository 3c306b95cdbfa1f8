"""The depth experiment (#27): the slope of log drift on the layer index, the trend test against
constructed cases (drift growing by design is detected; drift equal across layers gives a false
"clear" on the page in at most 5 % of null Runs, through the real verdict code, at every seed
count the page allows), a real tiny sweep's drifts against the lab's measures, the figures."""

import math

import numpy as np
import pytest

from bn_core.experiments import depth as D
from bn_core.experiments import figures as F
from bn_core.experiments import training as T
from bn_core.experiments import verdicts as V
from bn_core.experiments.config import SweepConfig
from bn_core.experiments.drift import DRIFT_FLOOR, layer_drifts, log_slope
from bn_core.experiments.training import Member, NetworkResult, SweepResult
from bn_core.lab.measures import drift, noise_floor
from bn_core.stats import seeds_needed
from bn_core.trainer import Run, TrainConfig
from tests.null_data import (N_TEST, assert_page_controls_its_error, fwer_bound, levels,
                             null_accuracies, words)

DEFAULT = SweepConfig.default("depth")


def test_log_slope_is_the_growth_per_layer_in_log10():
    assert log_slope([0.01, 0.1, 1.0]) == pytest.approx(1.0)
    assert log_slope([1.0, 1.0, 1.0, 1.0]) == pytest.approx(0.0)
    assert log_slope([0.0, 0.0, 1e-2]) == pytest.approx(                 # zeros read as the floor
        np.polyfit([1, 2, 3], np.log10([DRIFT_FLOOR, DRIFT_FLOOR, 1e-2]), 1)[0])
    # a collapsed layer is left out: the slope of the others
    assert log_slope([0.01, 0.1, 1e6], [False, False, True]) == pytest.approx(1.0)
    assert math.isnan(log_slope([0.01, np.nan])) and math.isnan(log_slope([0.5]))


def test_default_family_and_seeds():
    assert D.depth_family_size(DEFAULT) == 5 * 4 + 2 == V.family_size(DEFAULT)
    assert DEFAULT.seeds == seeds_needed(22) == 10                 # its tests can be clear
    assert DEFAULT.depths == (2, 4, 6, 8) and DEFAULT.activation == "sigmoid"
    with pytest.raises(ValueError, match="depths: expected at least one depth of 2"):
        DEFAULT.replace(depths=(1,))


# ----------------------------------------------------------------------------- constructed data

def constructed(config: SweepConfig, rng, growth: dict[str, float], accuracy=None) -> SweepResult:
    """Networks whose late and early drift at layer l is 0.01 · growth[network]^l times a
    log-normal factor drawn for each layer (independent across layers: with growth 1 no layer
    differs from another), and whose accuracies are null (tests/null_data.py: no depth or
    network differs) unless accuracy(network, depth) gives them."""
    nets = []
    level = levels(rng, 1, config.seeds)
    for p in config.networks:
        accs = null_accuracies(rng, np.repeat(level, len(config.depths), axis=0))  # (depths, seeds)
        for i, d in enumerate(config.depths):
            for seed in range(config.seeds):
                a = accs[i][seed] if accuracy is None else accuracy(p, d)
                div = None if a is not None else 5
                layers = np.arange(1, d + 1)

                def draw():
                    return 0.01 * growth[p] ** layers * rng.lognormal(0.0, 0.5, d)
                late, early, noise = draw(), draw(), 0.002 * rng.lognormal(0.0, 0.3, d)
                flat = rng.random(d) < 0.03
                nan = np.full(d, np.nan)
                nets.append(NetworkResult(
                    Member("", p, float(d), seed), np.array([0, config.steps]),
                    np.array([0.1, math.nan if a is None else a]),
                    math.nan if a is None else a, math.nan, div, np.ones(d), np.ones(d),
                    drift_early=nan if div else early, drift_late=nan if div else late,
                    noise=nan if div else noise, collapsed=np.zeros(d, bool) if div else flat))
    return SweepResult(config, nets, n_classes=10, n_test=N_TEST)


def test_drift_growing_by_design_is_detected_and_bn_flat_is_not():
    rng = np.random.default_rng(7)
    result = constructed(DEFAULT, rng, {"none": 3.0, "before": 1.0},
                         accuracy=lambda p, d: 0.95 if p == "before" or d == 2 else 0.1)
    tests = D.depth_tests(result)
    assert len(tests) == 22
    for d in (4, 6, 8):
        for w in D.WINDOWS:
            assert tests[("trend", w, "none", d)].sign == 1, (w, d)
    # two layers give a noisy slope (one seed here −0.09): clear beyond the factor-1.1 margin
    # in at least one window, which is what the verdict's "grows" asks
    assert any(tests[("trend", w, "none", 2)].sign == 1 for w in D.WINDOWS)
    for d in (4, 6, 8):                  # two layers give a noisy slope: flattening not asked
        assert tests[("flatten", d)].sign == 1
    assert tests[("depth", "none")].sign == 1 and tests[("depth", "before")].sign == 0
    said = V.verdict(result)
    text = words(said)
    assert said[0].headline.startswith("**Without BN, drift clearly grows from layer to layer**")
    assert "×3 per layer" in said[0].details[-1]                     # 10^slope ≈ the growth
    assert "clearly grows" not in said[1].headline
    assert "Without BN, the 4, 6 and 8-layer networks did not learn" in said[2].headline
    assert "**Without BN, training clearly suffers with depth**" in said[2].headline
    assert "The data agree with the notes' description" in said[3].headline
    assert "BN stops it" in text and "(/why)" in text


def test_equal_drift_across_layers_does_not_support_the_notes():
    rng = np.random.default_rng(11)
    result = constructed(DEFAULT, rng, {"none": 1.0, "before": 1.0})
    said = V.verdict(result)
    assert "the data don't show drift growing" in said[0].headline
    assert said[3].headline.startswith("**The data do not support the notes here**")
    assert "Santurkar" in said[3].details[-1] and "(/why)" in said[3].details[-1]


WORDS = ("clearly", "agree with the notes", "Half of the notes", "BN stops it")


def null_result(config, rng):
    return constructed(config, rng, {p: 1.0 for p in config.networks})


def check(config, said, tests):
    assert len(tests) == V.family_size(config)
    claims = any(w in words(said) for w in WORDS)
    assert claims <= any(t.clear for t in tests)


def test_null_runs_show_a_false_clear_in_at_most_5_percent():
    """Equal drift across layers (and no network or depth differing in accuracy): at every seed
    count 2 to 10, the share of Runs with any "clear" stays within 5 % + 3 Monte-Carlo SEs."""
    rates = assert_page_controls_its_error(V.verdict, null_result, DEFAULT,
                                           seeds_needed(V.family_size(DEFAULT)), check)
    print("depth: false-clear rate by seeds", rates)
    assert rates[10] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200)


def test_drift_growing_by_exactly_the_margin_is_clear_in_at_most_5_percent():
    """Drift truly growing by a factor 1.1 per layer (the margin, bn_core.verdicts) in both
    networks, so BN flattens nothing, and accuracies null, 10 seeds: the page shows a "clear"
    in ≤ 5 % of Runs (before the margins, 59 % of these Runs showed a "clear")."""
    config, draws = DEFAULT.replace(seeds=10), 200
    rng = np.random.default_rng(23)
    hits = 0
    for _ in range(draws):
        said = V.verdict(constructed(config, rng, {p: 10 ** V.RATIO_MARGIN
                                                   for p in config.networks}))
        tests = [t for v in said for t in v.tests]
        check(config, said, tests)
        hits += any(t.clear for t in tests)
    assert hits / draws <= fwer_bound(draws)



# ----------------------------------------------------------------------------- a real sweep

def test_a_real_sweeps_drifts_are_the_labs_measures_of_the_same_network():
    config = DEFAULT.replace(seeds=2, steps=40, depths=(1, 3), width=12)
    result = T.run_sweep(config)
    assert len(result.networks) == 2 * 2 * 2
    net = result.select("before", setting=3.0)[1]
    run = Run(TrainConfig(dataset="digits", depth=3, width=12, activation="sigmoid",
                          placement="before", lr=config.lr, batch_size=config.batch_size,
                          steps=40, seed=net.member.seed, record_every=config.record_every),
              networks=["before"], early=False)
    for _ in run.stream():
        pass
    h = run.history
    early, late, noise, flat = layer_drifts(h, "before", 3, 40)
    assert [s.step for s in h.snapshots("before")][:6] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(net.drift_late, late, rtol=1e-4)
    np.testing.assert_allclose(net.drift_early, early, rtol=1e-4)
    np.testing.assert_allclose(net.noise, noise, rtol=1e-4)
    # early: step 0 → 4 (the first snapshot at 10 % of 40 steps), late: 4 → the end
    assert late[2] == pytest.approx(drift(h, "before", 2, start=4).moved)
    assert early[0] == pytest.approx(drift(h, "before", 0, end=4).moved)
    assert noise[1] == pytest.approx(noise_floor(h, "before", 1))
    assert net.drift_late.shape == (3,) and result.select("none", setting=1.0)[0].drift_late.shape == (1,)
    frame = result.summary_frame()
    assert {"depth", "layer3_drift_late", "layer1_noise_floor"} <= set(frame.columns)
    figs = F.figure(result)
    assert len(figs) == 2
    assert figs[1].layout.xaxis.title.text == "hidden layers"
    lines = [t for t in figs[0].data if t.name is None and t.mode and "text" in t.mode]
    assert len(lines) == 2 * 2 * 2                       # per network, depth and window


def test_the_last_over_first_factor_reads_plainly():
    """A first layer that hardly moved makes the factor huge: said as "more than 1,000×"."""
    assert [D._times(x) for x in (1.94, 12.3, 340.4, 999.4, 620_083.0, math.nan)] == [
        "1.9×", "12×", "340×", "999×", "more than 1,000×", "—"]


def test_the_drift_figure_leaves_collapsed_layers_out_and_titles_read_as_sentences():
    rng = np.random.default_rng(3)
    result = constructed(DEFAULT, rng, {"none": 1.5, "before": 1.0},
                         accuracy=lambda p, d: 0.1 if p == "before" and d == 8 else 0.95)
    for r in result.select("none", setting=8.0):       # the last layer collapsed in every seed
        r.collapsed = np.zeros(8, bool)
        r.collapsed[-1] = True
        r.drift_late[-1] = r.drift_early[-1] = r.noise[-1] = 1e4
    assert D.broke_text(result).startswith("With BN before activation, the 8-layer network did "
                                           "not learn")
    fig = F.depth_drift_figure(result)
    ys = [y for t in fig.data for y in (t.y or ()) if y is not None]
    assert max(ys) < 1e3                                  # the collapsed layer's 10⁴ not drawn
    assert any("collapsed layers left out" in (t.name or "") for t in fig.data)
    assert "With BN before activation, the 8-layer" in fig.layout.title.text
