"""Sweeps: batched networks equal single runs, the verdict rule, the config, tiny sweeps."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from bn_core import sweep as S
from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack
from bn_core.sweep import Member, NetworkResult, SweepConfig, SweepResult
from bn_core.trainer import BatchOrder, Run, TrainConfig

TINY = dict(dataset="digits", depth=2, width=12, steps=30, seeds=2)


# ------------------------------------------------------------------ batched = single

def test_a_stack_of_8_seeds_equals_8_stacks_of_one():
    """The engine keeps the K networks apart: per-network mini-batches x (K, N, D)."""
    d = load_dataset("digits")
    specs = [NetSpec("before", lr=0.5, init_scale=0.1, seed=s) for s in range(8)]
    n = d.x_train.shape[0]
    batched = Stack(64, (20, 20), 10, "sigmoid", specs)
    orders = [BatchOrder(n, 16, s.seed) for s in specs]
    for _ in range(15):
        idx = torch.stack([o.next() for o in orders])                  # (K, N)
        batched.train_step(d.x_train[idx], d.y_train[idx])
    for k, spec in enumerate(specs):
        alone = Stack(64, (20, 20), 10, "sigmoid", [spec])
        order = BatchOrder(n, 16, spec.seed)
        for _ in range(15):
            idx = order.next()
            alone.train_step(d.x_train[idx], d.y_train[idx])
        torch.testing.assert_close(batched.flat[k], alone.flat[0], rtol=1e-5, atol=1e-6)
        for l in range(2):
            torch.testing.assert_close(batched.running_var[l][k], alone.running_var[l][0],
                                       rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("placement", ["none", "before", "after"])
def test_a_sweep_network_equals_the_single_run_with_its_seed(placement):
    config = SweepConfig.default("lr").replace(
        **TINY, lr_min=0.05, lr_max=0.5, points=2, placement="after" if placement == "after" else "before",
        activation="tanh")
    result = S.run_sweep(config)
    for net in result.select(placement):
        m = net.member
        run = Run(TrainConfig(dataset="digits", depth=2, width=12, activation="tanh",
                              placement=placement, lr=m.setting, batch_size=config.batch_size,
                              steps=config.steps, seed=m.seed,
                              record_every=config.record_every), networks=[placement])
        frames = list(run.stream())
        steps = [f[placement].step for f in frames]
        assert steps == list(net.steps)
        np.testing.assert_allclose([f[placement].test_acc for f in frames], net.test_acc, atol=1e-6)
        std0 = [rec.std for rec in frames[0][placement].layers]
        std1 = [rec.std for rec in frames[-1][placement].layers]
        np.testing.assert_allclose(net.z_std_start, std0, rtol=1e-4)
        np.testing.assert_allclose(net.z_std_end, std1, rtol=1e-4)


def test_batched_and_sequential_sweeps_agree():
    config = SweepConfig.default("init").replace(**TINY, points=3, init_min=0.01, init_max=1.0)
    batched = S.run_sweep(config)
    alone = S.run_sweep(config, batched=False)
    assert not alone.batched and len(batched.networks) == len(alone.networks) == 12
    for a, b in zip(batched.networks, alone.networks):
        assert a.member == b.member
        np.testing.assert_allclose(a.test_acc, b.test_acc, atol=1e-6)
        np.testing.assert_allclose(a.z_std_end, b.z_std_end, rtol=1e-4)


def test_divergence_is_marked_and_the_others_go_on():
    config = SweepConfig.default("lr").replace(**{**TINY, "width": 32, "seeds": 3},
                                               activation="relu", init_scale=1.0,
                                               lr_min=0.01, lr_max=10.0, points=2)
    result = S.run_sweep(config)
    diverged = [r for r in result.networks if r.diverged]
    assert diverged and all(r.member.setting == 10.0 for r in diverged)
    for r in diverged:
        assert 0 <= r.diverged_at < config.steps and math.isnan(r.final_acc)
        after = r.steps > r.diverged_at
        assert np.all(np.isnan(r.test_acc[after])) and np.isfinite(r.test_acc[0])
        assert np.all(np.isnan(r.z_std_end))
    slow = result.select(setting=0.01)
    assert not any(r.diverged for r in slow) and all(np.isfinite(r.final_acc) for r in slow)
    # a diverged run counts as chance in the comparisons
    assert np.allclose(result.final(diverged), 0.1)
    text = " ".join(d for v in S.verdict(result) for d in [v.headline, *v.details])
    assert "diverged" in text


# ------------------------------------------------------------------ statistics and verdicts

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
    sig, relu = S.placement_verdict(_fake_result(config, finals))
    assert sig.winner == "before" and "BN before activation wins" in sig.headline
    assert "95.2% ± 0.8" in sig.headline and "5 seeds" in sig.headline
    assert relu.winner is None and "don't separate" in relu.headline


def test_one_seed_names_no_winner():
    config = SweepConfig.default("placement").replace(activations=("tanh",), seeds=1)
    finals = {("none", "tanh", math.nan): [0.5], ("before", "tanh", math.nan): [0.99],
              ("after", "tanh", math.nan): [0.7]}
    (v,) = S.placement_verdict(_fake_result(config, finals))
    assert v.winner is None and "One seed" in v.headline


def test_trainable_range_is_the_widest_run_reaching_the_target():
    settings = [0.001, 0.01, 0.1, 1.0, 10.0]
    accs = [[0.5, 0.5], [0.95, 0.2], [0.95, 0.96], [0.97, 0.9], [0.1, 0.1]]
    # medians: 0.5, 0.575, 0.955, 0.935, 0.1 → 0.1 … 1
    assert S.trainable_range(settings, accs, 0.9) == (0.1, 1.0)
    assert S.trainable_range(settings, accs, 0.99) is None


def test_lr_verdict_names_the_wider_range_and_divergence():
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=3)
    grid = config.settings                                     # 0.01, 0.1, 1, 10
    finals = {}
    for v, plain, bn in zip(grid, [0.3, 0.92, 0.93, None], [0.91, 0.95, 0.96, 0.94]):
        finals[("none", "", v)] = [plain] * 3
        finals[("before", "", v)] = [bn, bn + 0.01, bn - 0.01]
    (v,) = S.lr_verdict(_fake_result(config, finals))
    assert v.winner == "before" and "clearly better at 0.01, 10, where only it reached" in v.headline
    assert "without BN: 0.1 to 1 (a 10× range)" in v.headline
    # the BN range covers the whole grid: both ends are bounds, not ends
    assert ("BN before activation: 0.01 or below to at least 10 (at least 1,000×; the grid "
            "starts at 0.01; the grid ends at 10)") in v.headline
    assert any("diverged in 3 runs" in d for d in v.details)
    assert len(v.tests) == 4 and all(t.paired for t in v.tests)


def test_ranges_at_the_grids_edge_are_worded_as_lower_bounds():
    grid = [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0]
    assert S.describe_range(grid, (0.0316, 10.0)) == "0.0316 to at least 10 (at least 316×; the grid ends at 10)"
    assert S.describe_range(grid, (0.01, 1.0)) == "0.01 to 1 (a 100× range)"
    assert S.describe_range(grid, (10.0, 10.0)).startswith("only 10 (the grid ends at 10")
    assert S.range_ends(grid, (0.001, 0.1)) == (True, False)


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
    (v, _) = S.init_verdict(result)
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
    acc, _ = S.placement_tests(result)
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
    (sig, relu) = S.placement_verdict(result)
    assert sig.winner == "after" and "before − no BN +0.4" in sig.details[0]
    fig = S.placement_final_figure(result)
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
    head, gap = S.batch_verdict(result)
    assert "same 6,400 training examples" in head.details[0] and "3,200 steps with batches of 2" in head.details[0]
    assert "1 diverged run left out" in gap.headline
    assert [t.n for t in gap.tests] == [2, 3]                # the diverged seed is not paired
    steps = S.budget_sentence(_fake_result(config.replace(budget="steps"), finals))
    assert "32× more training examples" in steps and "equal examples" in steps
    rule = S.rule(result)
    assert "leaves diverged runs out" in rule and "Holm" in rule


def test_few_seeds_say_why_and_how_many():
    config = SweepConfig.default("lr").replace(lr_min=0.01, lr_max=10.0, points=4, seeds=2)
    finals = {(p, "", v): [0.5, 0.9] for p in ("none", "before") for v in config.settings}
    text = S.few_seeds(_fake_result(config, finals))
    assert "With 2 seeds" in text and "12.7" in text and "Use 5 or more seeds" in text
    assert S.few_seeds(_fake_result(config.replace(seeds=5), {
        k: v * 3 for k, v in finals.items()})) is None


# ------------------------------------------------------------------ config

def test_config_round_trips_through_the_url():
    c = SweepConfig.default("lr").replace(seeds=4, lr_min=0.003, init_scale=None, width=32)
    q = c.to_query()
    assert q["exp"] == "lr" and q["seeds"] == "4" and q["lr_min"] == "0.003" and "init_scale" not in q
    assert SweepConfig.from_dict(q) == c
    assert SweepConfig.from_query(q) == (c, [])
    b = SweepConfig.default("batch").replace(batch_sizes=(2, 64), activations=("relu",))
    assert SweepConfig.from_query(b.to_query())[0].batch_sizes == (2, 64)
    assert SweepConfig.default("placement").to_query() == {"exp": "placement"}


def test_from_query_falls_back_per_parameter_with_messages():
    c, problems = SweepConfig.from_query({"exp": "init", "seeds": "abc", "points": "99",
                                          "lr_min": "0.1", "width": "32", "colour": "red"})
    assert c.experiment == "init" and c.seeds == SweepConfig.default("init").seeds
    assert c.points == SweepConfig.default("init").points and c.width == 32
    assert [p.split(":")[0] for p in problems] == ["seeds", "points", "lr_min", "colour"]
    c, problems = SweepConfig.from_query({"exp": "sideways"})
    assert c.experiment == "placement" and problems[0].startswith("exp:")


@pytest.mark.parametrize("field,value", [
    ("seeds", 0), ("seeds", 11), ("depth", 9), ("lr", 100.0), ("points", 1), ("steps", 5),
    ("activations", ()), ("activations", ("gelu",)), ("batch_sizes", (3,)),
    ("batch_sizes", (64, 8)), ("dataset", "mnist"), ("placement", "none"), ("target", 1.5),
    ("lr_min", 20.0),
])
def test_invalid_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: expected"):
        SweepConfig(**{field: value})


def test_lr_min_must_be_below_lr_max_and_huge_sweeps_are_refused():
    with pytest.raises(ValueError, match="^lr_min: expected less than lr_max"):
        SweepConfig(lr_min=1.0, lr_max=0.1)
    huge = SweepConfig.default("lr").replace(seeds=10, points=13, steps=5000, width=256, depth=8)
    with pytest.raises(ValueError, match="larger than allowed"):
        S.check(huge)
    S.check(SweepConfig.default("lr"))
    S.check(SweepConfig.default("batch"))
    with pytest.raises(ValueError, match="training steps"):            # batches of 2, equal examples
        S.check(SweepConfig.default("batch").replace(examples=100_000))


def test_plan_groups_by_activation_and_batch_size():
    p = S.plan(SweepConfig.default("placement").replace(seeds=2, activations=("tanh", "relu")))
    assert [(a, b, len(m)) for a, b, m in p] == [("tanh", 60, 6), ("relu", 60, 6)]
    assert [m.placement for m in p[0][2]] == ["none"] * 2 + ["before"] * 2 + ["after"] * 2
    p = S.plan(SweepConfig.default("batch").replace(seeds=2, batch_sizes=(2, 32)))
    assert [(b, len(m)) for _, b, m in p] == [(2, 4), (32, 4)]
    p = S.plan(SweepConfig.default("lr").replace(seeds=2, points=3))
    assert len(p) == 1 and len(p[0][2]) == 12


def test_log_grid():
    assert S.log_grid(1e-3, 10, 9) == [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0]
    assert S.log_grid(1e-4, 1, 2) == [1e-4, 1.0]


# ------------------------------------------------------------------ tiny sweeps, every experiment

@pytest.mark.parametrize("experiment,changes", [
    ("placement", dict(activations=("sigmoid", "relu"))),
    ("lr", dict(points=3)),
    ("init", dict(points=3)),
    ("batch", dict(batch_sizes=(2, 16), examples=100)),
])
def test_tiny_sweeps_give_results_tables_figures_and_verdicts(experiment, changes):
    config = SweepConfig.default(experiment).replace(**TINY, **changes)
    seen = []
    result = S.run_sweep(config, progress=lambda f, what: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0) and all(0 <= f <= 1 for f in seen)
    assert len(result.networks) == len(S._all_members(config))
    for r in result.networks:
        steps = config.steps_for(int(r.member.setting)) if experiment == "batch" else config.steps
        assert r.steps[0] == 0 and r.steps[-1] == steps
        assert 0 <= r.final_acc <= 1 and r.z_std_start.shape == (2,)
    table = result.summary_frame()
    assert len(table) == len(result.networks) and "final_test_accuracy" in table
    curves = result.curves_frame()
    assert len(curves) == sum(len(r.steps) for r in result.networks)
    assert len(S.summary_table(result)) > 0
    verdicts = S.verdict(result)
    assert verdicts and all(v.headline for v in verdicts)
    for fig in S.figure(result):
        assert len(fig.to_json()) < 1_500_000
    if experiment == "batch":
        bn = result.select("before")
        assert all(0 <= r.train_mode_acc <= 1 for r in bn)
        plain = result.select("none")                    # no BN: training mode = eval mode
        assert all(r.train_mode_acc == pytest.approx(r.final_acc) for r in plain)


def test_train_mode_accuracy_uses_test_batches_of_the_training_size():
    chunks = S._test_chunks(11, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 11)]
    chunks = S._test_chunks(9, 4)                        # a last batch of one joins the one before
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 9)]
    assert [(c.start, c.stop) for c in S._test_chunks(5, 512)] == [(0, 5)]


def test_bn_cache_holds_the_batch_statistics():
    """The engine's caches, read as torch tensors, are the batch's own statistics."""
    stack = Stack(5, (7,), 3, "relu", [NetSpec("none"), NetSpec("before", seed=1),
                                       NetSpec("after", seed=2)])
    x = torch.randn(3, 9, 5, generator=torch.Generator().manual_seed(0))
    stack.forward(x)
    for place, inputs in (("before", None), ("after", stack.a[0])):
        xhat, inv, xmean, xvar = stack.bn_cache[0][place]
        if inputs is None:
            inputs = torch.bmm(x, stack.W[0].transpose(1, 2))          # W·u (b = 0 at the start)
        k = 1 if place == "before" else 2
        torch.testing.assert_close(xmean[k, 0], inputs[k].mean(0), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(xvar[k, 0], inputs[k].var(0, unbiased=False), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(xhat[k], (inputs[k] - xmean[k]) * inv[k], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(stack.z[0][1], stack.bn_cache[0]["before"][0][1])   # gamma 1, beta 0
