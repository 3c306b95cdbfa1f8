"""The experiments' training (bn_core.experiments.training): a sweep network is the single
run with its seed, batched equals sequential, divergence, tiny sweeps of every experiment."""

import math

import numpy as np
import pytest

from bn_core.experiments import figures as F
from bn_core.experiments import training as T
from bn_core.experiments import verdicts as V
from bn_core.experiments.config import SweepConfig
from bn_core.trainer import Run, TrainConfig

TINY = dict(dataset="digits", depth=2, width=12, steps=30, seeds=2)


@pytest.mark.parametrize("placement", ["none", "before", "after"])
def test_a_sweep_network_equals_the_single_run_with_its_seed(placement):
    config = SweepConfig.default("lr").replace(
        **TINY, lr_min=0.05, lr_max=0.5, points=2, placement="after" if placement == "after" else "before",
        activation="tanh")
    result = T.run_sweep(config)
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
    batched = T.run_sweep(config)
    alone = T.run_sweep(config, batched=False)
    assert not alone.batched and len(batched.networks) == len(alone.networks) == 12
    for a, b in zip(batched.networks, alone.networks):
        assert a.member == b.member
        np.testing.assert_allclose(a.test_acc, b.test_acc, atol=1e-6)
        np.testing.assert_allclose(a.z_std_end, b.z_std_end, rtol=1e-4)


def test_divergence_is_marked_and_the_others_go_on():
    config = SweepConfig.default("lr").replace(**{**TINY, "width": 32, "seeds": 3},
                                               activation="relu", init_scale=1.0,
                                               lr_min=0.01, lr_max=10.0, points=2)
    result = T.run_sweep(config)
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
    text = " ".join(d for v in V.verdict(result) for d in [v.headline, *v.details])
    assert "diverged" in text


def test_lr_min_must_be_below_lr_max_and_huge_sweeps_are_refused():
    with pytest.raises(ValueError, match="^lr_min: expected less than lr_max"):
        SweepConfig(lr_min=1.0, lr_max=0.1)
    huge = SweepConfig.default("lr").replace(seeds=10, points=13, steps=5000, width=256, depth=8)
    with pytest.raises(ValueError, match="larger than allowed"):
        T.check(huge)
    T.check(SweepConfig.default("lr"))
    T.check(SweepConfig.default("batch"))
    with pytest.raises(ValueError, match="training steps"):            # batches of 2, equal examples
        T.check(SweepConfig.default("batch").replace(examples=100_000, seeds=2))


def test_plan_groups_by_activation_and_batch_size():
    p = T.plan(SweepConfig.default("placement").replace(seeds=2, activations=("tanh", "relu")))
    assert [(a, b, len(m)) for a, b, m in p] == [("tanh", 60, 6), ("relu", 60, 6)]
    assert [m.placement for m in p[0][2]] == ["none"] * 2 + ["before"] * 2 + ["after"] * 2
    p = T.plan(SweepConfig.default("batch").replace(seeds=2, batch_sizes=(2, 32)))
    assert [(b, len(m)) for _, b, m in p] == [(2, 4), (32, 4)]
    p = T.plan(SweepConfig.default("lr").replace(seeds=2, points=3))
    assert len(p) == 1 and len(p[0][2]) == 12


@pytest.mark.parametrize("experiment,changes", [
    ("placement", dict(activations=("sigmoid", "relu"))),
    ("lr", dict(points=3)),
    ("init", dict(points=3)),
    ("batch", dict(batch_sizes=(2, 16), examples=100)),
])
def test_tiny_sweeps_give_results_tables_figures_and_verdicts(experiment, changes):
    config = SweepConfig.default(experiment).replace(**TINY, **changes)
    seen = []
    result = T.run_sweep(config, progress=lambda f, what: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0) and all(0 <= f <= 1 for f in seen)
    assert len(result.networks) == len(T._all_members(config))
    for r in result.networks:
        steps = config.steps_for(int(r.member.setting)) if experiment == "batch" else config.steps
        assert r.steps[0] == 0 and r.steps[-1] == steps
        assert 0 <= r.final_acc <= 1 and r.z_std_start.shape == (2,)
    table = result.summary_frame()
    assert len(table) == len(result.networks) and "final_test_accuracy" in table
    curves = result.curves_frame()
    assert len(curves) == sum(len(r.steps) for r in result.networks)
    assert len(T.summary_table(result)) > 0
    verdicts = V.verdict(result)
    assert verdicts and all(v.headline for v in verdicts)
    for fig in F.figure(result):
        assert len(fig.to_json()) < 1_500_000
    if experiment == "batch":
        bn = result.select("before")
        assert all(0 <= r.train_mode_acc <= 1 for r in bn)
        plain = result.select("none")                    # no BN: training mode = eval mode
        assert all(r.train_mode_acc == pytest.approx(r.final_acc) for r in plain)


def test_train_mode_accuracy_uses_test_batches_of_the_training_size():
    chunks = T._test_chunks(11, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 11)]
    chunks = T._test_chunks(9, 4)                        # a last batch of one joins the one before
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 9)]
    assert [(c.start, c.stop) for c in T._test_chunks(5, 512)] == [(0, 5)]
