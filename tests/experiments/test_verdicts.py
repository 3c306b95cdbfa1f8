"""The experiments' verdicts and figures on results with known answers: paired tests, Holm
across each question, ranges at the grid's edge, few seeds, the batch budget."""

import math

import numpy as np
import pytest
from scipy import stats

from bn_core.experiments import figures as F
from bn_core.experiments import ranges as R
from bn_core.experiments import verdicts as V
from bn_core.experiments.config import SweepConfig
from bn_core.experiments.training import Member, NetworkResult, SweepResult
from bn_core.stats import seeds_needed


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


NOISE = np.array([0.004, -0.003, 0.001, -0.002, 0.0, 0.003, -0.001, 0.002, -0.004, 0.001])


def test_placement_verdict_clear_winner_and_overlap():
    config = SweepConfig.default("placement").replace(activations=("sigmoid", "relu"), target=0.9)
    assert config.seeds == 10
    rng = np.random.default_rng(3)
    finals = {
        ("none", "sigmoid", math.nan): list(0.60 + NOISE),
        ("before", "sigmoid", math.nan): list(0.95 + NOISE[::-1]),
        ("after", "sigmoid", math.nan): list(0.91 + NOISE),
        ("none", "relu", math.nan): list(0.94 + rng.normal(0, 0.02, 10)),
        ("before", "relu", math.nan): list(0.94 + rng.normal(0, 0.02, 10)),
        ("after", "relu", math.nan): list(0.94 + rng.normal(0, 0.02, 10)),
    }
    sig, relu = V.placement_verdict(_fake_result(config, finals))
    assert sig.winner == "before" and "BN before activation wins" in sig.headline
    assert "95.0% ± 0.3" in sig.headline and "10 seeds" in sig.headline
    assert relu.winner is None and "don't separate" in relu.headline


def test_too_few_seeds_for_the_page_say_so_instead_of_not_separated():
    """#23 item 8: with 3 seeds nothing can be clear, so no sentence may read as if the data
    had been tested and found equal, and no sentence names a winner."""
    config = SweepConfig.default("placement").replace(activations=("sigmoid",), seeds=3)
    finals = {("none", "sigmoid", math.nan): [0.6, 0.61, 0.59],
              ("before", "sigmoid", math.nan): [0.95, 0.96, 0.95],
              ("after", "sigmoid", math.nan): [0.91, 0.90, 0.92]}
    (v,) = V.placement_verdict(_fake_result(config, finals))
    assert v.winner is None and v.headline.startswith("Sigmoid — **Not testable with 3 seeds**")
    assert "no difference can be clear (use 8 or more)" in v.headline
    assert "don't separate" not in v.headline + " ".join(v.details)


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
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4)
    grid = config.settings                                     # 0.01, 0.1, 1, 10
    finals = {}
    for v, plain, bn in zip(grid, [0.3, 0.92, 0.93, None], [0.91, 0.95, 0.96, 0.94]):
        finals[("none", "", v)] = [plain] * 10
        finals[("before", "", v)] = list(bn + NOISE)
    (v,) = V.lr_verdict(_fake_result(config, finals))
    assert v.winner == "before"
    assert "clearly better at 0.01, 10, where only its median reached" in v.headline
    assert "without BN: 0.1 to 1 (a 10× range)" in v.headline
    # the BN range covers the whole grid: both ends are bounds, not ends
    assert ("BN before activation: 0.01 or below to at least 10 (at least 1,000×; the grid "
            "starts at 0.01; the grid ends at 10)") in v.headline
    assert any("diverged in 10 runs" in d for d in v.details)
    assert len(v.tests) == 4 and all(t.paired for t in v.tests)


def test_lr_headline_and_settings_line_agree_where_the_seeds_disagree():
    """#23 item 8: BN's median reaches the target at 10 and without BN's sits at chance, but
    three of BN's ten seeds diverged there: the headline must not count 10 as clearly better,
    and it says why, in agreement with the line that lists the settings; with 3 seeds, the
    settings line says nothing can be clear instead of 'the data don't separate them'."""
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4)
    grid = config.settings
    finals = {}
    for v, plain, bn in zip(grid, [0.3, 0.92, 0.93, 0.103], [0.91, 0.95, 0.96, 0.94]):
        finals[("none", "", v)] = [plain] * 10
        finals[("before", "", v)] = list(bn + NOISE)
    # at 10, BN diverged (chance) in the 4 seeds where the network without BN got to 70%
    finals[("none", "", 10.0)][:4] = [0.7] * 4
    finals[("before", "", 10.0)][:4] = [None] * 4
    (v,) = V.lr_verdict(_fake_result(config, finals))
    assert "clearly better at 0.01, where only its median reached 90.0%; at 10 only its median " \
           "did too, but there the seeds disagree too much" in v.headline
    assert "the data don't separate them at 10" in v.details[-2]
    few = config.replace(seeds=3)
    (v3,) = V.lr_verdict(_fake_result(few, {k: x[:3] for k, x in finals.items()}))
    assert "with 3 seeds no difference can be clear (use 8 or more): not settled" in v3.headline
    line = next(d for d in v3.details if "learning rate by learning rate" in d)
    assert "with 3 seeds no difference can be clear" in line and "don't separate" not in line
    assert "clearly" not in v3.headline + " ".join(v3.details)


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


def test_placement_comparisons_are_paired_and_one_family_for_the_page():
    """Three pairs × two activations, in accuracy and in speed: one Holm family of exact paired
    tests (checked against scipy's exact permutation test) for all the page shows."""
    config = SweepConfig.default("placement").replace(activations=("sigmoid", "relu"))
    start = 0.85 + np.linspace(0, 0.08, 10)                    # each seed's shared start
    finals = {}
    for act in config.activations:
        finals[("none", act, math.nan)] = list(start)
        finals[("before", act, math.nan)] = list(start + np.array([4, 1, 6, 3, 2, 5, 1, 3, -2, 2]) / 1000)
        finals[("after", act, math.nan)] = list(start + 0.03 + NOISE / 4)
    result = _fake_result(config, finals)
    acc, speed = V.placement_tests(result)
    keys = list(acc)
    assert len(keys) == 6 and len(speed) == 6
    def exact(d):
        return stats.permutation_test((d,), np.mean, permutation_type="samples",
                                      n_resamples=np.inf).pvalue

    for act, a, b in keys:
        d = np.subtract(finals[(a, act, math.nan)], finals[(b, act, math.nan)])
        # clear only beyond the 1-point margin: p = 1 within it, else the larger of the plain
        # p and the p of the gaps shifted toward 0 by the margin
        side = 1 if d.mean() > 0 else -1
        ref = (1.0 if abs(d.mean()) <= V.ACCURACY_MARGIN else
               max(exact(d), exact(d - side * V.ACCURACY_MARGIN)))
        assert acc[(act, a, b)].p == pytest.approx(ref, abs=1e-12)
    # before − none: +0.25 points, 9 seeds of 10 ahead (plain p ≈ 0.014): a gap no chart shows,
    # within the margin, so p = 1 and not clear
    levels = sorted(t.level for t in [*acc.values(), *speed.values()])
    assert levels[0] == pytest.approx(0.05 / 12)
    for act in config.activations:
        t = acc[(act, "before", "none")]
        d = np.subtract(finals[("before", act, math.nan)], finals[("none", act, math.nan)])
        assert 0.01 < exact(d) < 0.05 and t.p == 1 and not t.clear and abs(t.diff) <= t.margin
        assert acc[(act, "after", "none")].clear and acc[(act, "before", "after")].sign == -1
    (sig, relu) = V.placement_verdict(result)
    assert sig.winner == "after" and "before − no BN +0.3" in sig.details[0]
    assert len(sig.tests) + len(relu.tests) == V.family_size(config) == 12
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
    assert "same 6,400 training examples" in head.details[1] and "3,200 steps with batches of 2" in head.details[1]
    assert "1 diverged run left out" in gap.headline
    assert [t.n for t in gap.tests] == [2, 3]                # the diverged seed is not paired
    steps = V.budget_sentence(_fake_result(config.replace(budget="steps"), finals))
    assert "32× more training examples" in steps and "equal examples" in steps
    rule = V.rule(result)
    assert "leaves diverged runs out" in rule and "Holm" in rule and "4 comparisons" in rule


def test_batch_lesson_says_what_batch_size_changes_and_its_legend_is_unambiguous():
    """#23 item 8: the batch verdict says what changed with the batch size (each network's best
    and worst), and the eval-mode gap per size; the figure's legend has no two entries alike."""
    config = SweepConfig.default("batch").replace(batch_sizes=(2, 16, 256))
    finals = {}
    for b, plain, bn in ((2.0, 0.3, 0.4), (16.0, 0.96, 0.97), (256.0, 0.7, 0.85)):
        finals[("none", "", b)] = list(plain + NOISE)
        finals[("before", "", b)] = list(bn + NOISE[::-1])
    result = _fake_result(config, finals, train_mode_acc=0.5)
    head, gap = V.batch_verdict(result)
    assert ("without BN did best with batches of 16 (96.0%) and worst with 2 (30.0%); BN before "
            "activation did best with batches of 16 (97.0%) and worst with 2 (40.1%)") in head.details[0]
    assert "clearly better at 2" in head.headline and "256" in head.headline
    assert "clearly different at batch size 2 (−10.0 ± 8.2 points), 16" in gap.details[0]
    legend = [(tr.line.color, tr.line.dash, tr.marker.symbol) for tr in F.batch_figure(result).data
              if tr.showlegend is not False and tr.name]
    assert len(legend) == len(set(legend)) == 3


def test_rule_says_the_verdicts_are_above_it_and_the_defaults_can_say_something():
    """#23 items 7 and 8: the rule is shown under the verdicts (no 'below'); every experiment's
    default seeds can make its page's family clear, and the family size is what the verdicts
    test."""
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=2)
    finals = {(p, "", v): [0.5, 0.9] for p in ("none", "before") for v in config.settings}
    assert "below" not in V.rule(_fake_result(config, finals))
    for experiment in ("placement", "lr", "init", "batch"):
        default = SweepConfig.default(experiment)
        assert default.seeds >= seeds_needed(V.family_size(default)), experiment


def test_few_seeds_say_why_and_how_many():
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=2)
    finals = {(p, "", v): [0.5, 0.9] for p in ("none", "before") for v in config.settings}
    text = V.few_seeds(_fake_result(config, finals))
    assert "With 2 seeds nothing on this page can be clear" in text
    assert "2/2^2 = 0.5" in text and "4 comparisons at 5%/4 = 0.0125" in text
    assert "Use 8 or more seeds (2/2^8 = 0.0078)" in text
    assert V.few_seeds(_fake_result(config.replace(seeds=8), {
        k: v * 4 for k, v in finals.items()})) is None


def test_a_consistent_tenth_of_a_point_is_not_clear_and_three_points_are():
    """The practical margins (bn_core.verdicts): every seed of BN before the activation 0.1
    point ahead of the network without BN is a gap no chart shows — reported, about the same,
    never "clearly" (before the margins it was clear: p = 2/2^10); 3 points ahead (BN after)
    is clear. In speed, 5 % fewer steps in every seed is within the factor 1.1; 1.5× is not."""
    config = SweepConfig.default("placement").replace(activations=("sigmoid",))
    start = 0.90 + np.linspace(0, 0.05, 10)
    finals = {("none", "sigmoid", math.nan): list(start),
              ("before", "sigmoid", math.nan): list(start + 0.001 + NOISE / 40),
              ("after", "sigmoid", math.nan): list(start + 0.03 + NOISE / 4)}
    result = _fake_result(config, finals)
    speed = {"none": 100.0, "before": 95.0, "after": 60.0}
    for r in result.networks:
        r.steps_to_target = speed[r.member.placement] + (r.member.seed % 3)
    acc, fast = V.placement_tests(result)
    t = acc[("sigmoid", "before", "none")]
    assert not t.clear and t.negligible and t.margin >= V.ACCURACY_MARGIN
    assert acc[("sigmoid", "after", "none")].clear and acc[("sigmoid", "before", "after")].sign < 0
    assert not fast[("sigmoid", "before", "none")].clear         # 95 against 100 steps
    assert fast[("sigmoid", "after", "none")].sign > 0           # 60 against 100: 1.7×
    (sig,) = V.placement_verdict(result)
    assert sig.winner == "after"
    assert "BN before − no BN +0.1 ± 1.0 points (about the same)" in sig.details[0]
    assert "BN after − no BN +3.0" in sig.details[0] and "(clear)" in sig.details[0]
    assert "1 point in accuracy and a factor 1.1 in steps to the target" in V.rule(result)
    # lr, one setting by one: the same gaps, BN's 0.1 point about the same, 3 points clear
    config = SweepConfig.default("lr").replace(lr_min=0.1, lr_max=1.0, points=2)
    finals = {("none", "", 0.1): list(start), ("before", "", 0.1): list(start + 0.001),
              ("none", "", 1.0): list(start), ("before", "", 1.0): list(start + 0.03 + NOISE)}
    (v,) = V.lr_verdict(_fake_result(config, finals))
    line = [d for d in v.details if "learning rate by learning rate" in d][0]
    assert "clearly better at 1 (" in line and "about the same at 0.1 (within 1 point)" in line
    assert "clearly better at 0.1" not in line


def test_eval_and_training_mode_a_tenth_of_a_point_apart_are_about_the_same():
    """BN's eval- and training-mode accuracy 0.1 point apart in every seed: about the same,
    not "clearly different" (it was, before the margins); 5 points apart: clearly."""
    config = SweepConfig.default("batch").replace(batch_sizes=(2, 64))
    finals = {(p, "", b): list(0.9 + NOISE) for p in ("none", "before") for b in (2.0, 64.0)}
    result = _fake_result(config, finals)
    for r in result.networks:
        r.train_mode_acc = r.final_acc - (0.001 if r.member.setting == 64.0 else 0.05)
    head, gap = V.batch_verdict(result)
    assert "clearly different at batch size 2 (" in gap.details[0]
    assert "64 (" not in gap.details[0]
    assert "About the same (within 1 point) at batch size 64" in gap.details[0]
    assert "about the same at 2, 64 (within 1 point)" in head.headline
