"""The experiments' verdicts and figures on results with known answers: paired tests, Holm
across each question, ranges at the grid's edge, few seeds, the batch budget."""

import math

import numpy as np
from scipy import stats

from bn_core.experiments import figures as F
from bn_core.experiments import ranges as R
from bn_core.experiments import verdicts as V
from bn_core.experiments.config import SweepConfig
from bn_core.experiments.training import Member, NetworkResult, SweepResult


def _fake_result(config, finals, **extra):
    """A SweepResult whose network (placement, group, setting, seed) ended at finals[...]."""
    nets = []
    for (placement, group, setting), values in finals.items():
        for seed, acc in enumerate(values):
            div = None if acc is not None else 5
            nets.append(NetworkResult(
                Member(group, placement, setting, seed), np.array([0, 10]),
                np.array([0.1, math.nan if acc is None else acc]),
                math.nan if acc is None else acc,
                10.0 if acc is not None and acc >= config.target else math.nan, div,
                np.ones(config.depth), np.ones(config.depth), **extra))
    return SweepResult(config, nets, n_classes=10)


def test_placement_verdict_clear_winner_and_overlap():
    config = SweepConfig.default("placement").replace(activations=("sigmoid", "relu"), target=0.9)
    finals = {
        ("none", "sigmoid", math.nan): [0.60, 0.62, 0.58, 0.61, 0.59],
        ("before", "sigmoid", math.nan): [0.95, 0.96, 0.95, 0.94, 0.96],
        ("after", "sigmoid", math.nan): [0.91, 0.90, 0.92, 0.91, 0.90],
        ("none", "relu", math.nan): [0.95, 0.90, 0.97, 0.93, 0.96],
        ("before", "relu", math.nan): [0.94, 0.96, 0.91, 0.95, 0.93],
        ("after", "relu", math.nan): [0.93, 0.95, 0.94, 0.92, 0.97],
    }
    sig, relu = V.placement_verdict(_fake_result(config, finals))
    assert sig.winner == "before" and "BN before activation wins" in sig.headline
    assert "95.2% ± 0.8" in sig.headline and "5 seeds" in sig.headline
    assert relu.winner is None and "don't separate" in relu.headline


def test_one_seed_names_no_winner():
    config = SweepConfig.default("placement").replace(activations=("tanh",), seeds=1)
    finals = {("none", "tanh", math.nan): [0.5], ("before", "tanh", math.nan): [0.99],
              ("after", "tanh", math.nan): [0.7]}
    (v,) = V.placement_verdict(_fake_result(config, finals))
    assert v.winner is None and "One seed" in v.headline


def test_trainable_range_is_the_widest_run_reaching_the_target():
    settings = [0.001, 0.01, 0.1, 1.0, 10.0]
    accs = [[0.5, 0.5], [0.95, 0.2], [0.95, 0.96], [0.97, 0.9], [0.1, 0.1]]
    # medians: 0.5, 0.575, 0.955, 0.935, 0.1 → 0.1 … 1
    assert R.trainable_range(settings, accs, 0.9) == (0.1, 1.0)
    assert R.trainable_range(settings, accs, 0.99) is None


def test_lr_verdict_names_the_wider_range_and_divergence():
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=3)
    grid = config.settings                                     # 0.01, 0.1, 1, 10
    finals = {}
    for v, plain, bn in zip(grid, [0.3, 0.92, 0.93, None], [0.91, 0.95, 0.96, 0.94]):
        finals[("none", "", v)] = [plain] * 3
        finals[("before", "", v)] = [bn, bn + 0.01, bn - 0.01]
    (v,) = V.lr_verdict(_fake_result(config, finals))
    assert v.winner == "before" and "clearly better at 0.01, 10, where only it reached" in v.headline
    assert "without BN: 0.1 to 1 (a 10× range)" in v.headline
    # the BN range covers the whole grid: both ends are bounds, not ends
    assert ("BN before activation: 0.01 or below to at least 10 (at least 1,000×; the grid "
            "starts at 0.01; the grid ends at 10)") in v.headline
    assert any("diverged in 3 runs" in d for d in v.details)
    assert len(v.tests) == 4 and all(t.paired for t in v.tests)


def test_ranges_at_the_grids_edge_are_worded_as_lower_bounds():
    grid = [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0]
    assert R.describe_range(grid, (0.0316, 10.0)) == "0.0316 to at least 10 (at least 316×; the grid ends at 10)"
    assert R.describe_range(grid, (0.01, 1.0)) == "0.01 to 1 (a 100× range)"
    assert R.describe_range(grid, (10.0, 10.0)).startswith("only 10 (the grid ends at 10")
    assert R.range_ends(grid, (0.001, 0.1)) == (True, False)


def test_a_range_is_a_bound_where_the_other_runs_into_the_grid_and_low_ends_say_why():
    """Without BN trains at the grid's top end, so 'wider' can't be told; BN's low end sits next
    to a setting just under the target and still rising: set by the budget and the cutoff."""
    config = SweepConfig.default("init").replace(init_min=0.001, init_max=1.0, points=4, seeds=3,
                                                 steps=100)
    grid = config.settings                                     # 0.001, 0.01, 0.1, 1
    finals = {}
    for v, plain, bn in zip(grid, [0.2, 0.2, 0.95, 0.96], [0.898, 0.95, 0.96, 0.95]):
        finals[("none", "", v)] = [plain, plain + 0.01, plain - 0.01]
        finals[("before", "", v)] = [bn, bn + 0.001, bn - 0.001]
    result = _fake_result(config, finals)
    for r in result.select("before", setting=0.001):            # rising over the last quarter
        r.test_acc = np.array([0.1, 0.5, 0.8, 0.85, r.final_acc])
        r.steps = np.array([0, 25, 50, 75, 100])
    (v, _) = V.init_verdict(result)
    assert v.winner is None
    assert "runs into the grid's end: widen the grid to compare" in v.headline
    assert "0.1 to at least 1" in v.headline
    text = " ".join(v.details)
    assert "at 0.001 the median reached 89.8%, still rising when the 100 steps ran out" in text
    assert "set by the 100-step budget and the 90.0% target" in text


def test_placement_comparisons_are_paired_and_corrected_across_activations():
    """Three pairs × two activations: one Holm family of paired tests (scipy's ttest_rel)."""
    config = SweepConfig.default("placement").replace(activations=("sigmoid", "relu"), seeds=4)
    start = np.array([0.85, 0.90, 0.88, 0.93])               # each seed's shared start
    finals = {}
    for act in config.activations:
        finals[("none", act, math.nan)] = list(start)
        finals[("before", act, math.nan)] = list(start + [0.004, 0.001, 0.006, 0.003])
        finals[("after", act, math.nan)] = list(start + 0.03 + np.array([0.001, -0.001, 0.002, 0]))
    result = _fake_result(config, finals)
    acc, _ = V.placement_tests(result)
    keys = list(acc)
    assert len(keys) == 6
    p_values = [stats.ttest_rel(finals[(a, act, math.nan)], finals[(b, act, math.nan)]).pvalue
                for act, a, b in keys]
    np.testing.assert_allclose([acc[k].p for k in keys], p_values, rtol=1e-9)
    # before − none: p ≈ 0.044, under 5% alone but not after Holm over the six comparisons
    for act in config.activations:
        t = acc[(act, "before", "none")]
        assert 0.05 / 2 < t.p < 0.05 and not t.clear and abs(t.diff) < t.margin
        assert acc[(act, "after", "none")].clear and acc[(act, "before", "after")].sign == -1
    (sig, relu) = V.placement_verdict(result)
    assert sig.winner == "after" and "before − no BN +0.4" in sig.details[0]
    fig = F.placement_final_figure(result)
    bars = [tr for tr in fig.data if tr.error_y is not None and tr.error_y.array is not None]
    np.testing.assert_allclose([tr.error_y.array[0] for tr in bars],
                               [100 * acc[k].margin for k in keys], rtol=1e-9)


def test_batch_verdict_budget_and_eval_vs_training_mode_leave_diverged_runs_out():
    config = SweepConfig.default("batch").replace(batch_sizes=(2, 64), seeds=3, examples=6400)
    assert [config.steps_for(b) for b in (2, 64)] == [3200, 100]
    assert config.replace(budget="steps").steps_for(2) == config.steps
    finals = {("none", "", 2.0): [0.5, 0.52, 0.51], ("before", "", 2.0): [0.6, None, 0.62],
              ("none", "", 64.0): [0.9, 0.91, 0.92], ("before", "", 64.0): [0.95, 0.96, 0.97]}
    result = _fake_result(config, finals, train_mode_acc=0.3)
    result.n_train = 1437
    head, gap = V.batch_verdict(result)
    assert "same 6,400 training examples" in head.details[0] and "3,200 steps with batches of 2" in head.details[0]
    assert "1 diverged run left out" in gap.headline
    assert [t.n for t in gap.tests] == [2, 3]                # the diverged seed is not paired
    steps = V.budget_sentence(_fake_result(config.replace(budget="steps"), finals))
    assert "32× more training examples" in steps and "equal examples" in steps
    rule = V.rule(result)
    assert "leaves diverged runs out" in rule and "Holm" in rule


def test_few_seeds_say_why_and_how_many():
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=2)
    finals = {(p, "", v): [0.5, 0.9] for p in ("none", "before") for v in config.settings}
    text = V.few_seeds(_fake_result(config, finals))
    assert "With 2 seeds" in text and "12.7" in text and "Use 5 or more seeds" in text
    assert V.few_seeds(_fake_result(config.replace(seeds=5), {
        k: v * 3 for k, v in finals.items()})) is None
