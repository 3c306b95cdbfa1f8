"""The lesson's training: the small training set (Run's train_idx), batched = one by one, the variance
measurements and the recomputed statistics against independent computations."""

import numpy as np
import pytest
import torch

from bn_core.alternatives.config import NormsConfig
from bn_core.alternatives.training import (bn_inputs, plan, recompute_statistics,
                                           renorm_schedule, run_experiment, small_training_set,
                                           spec)
from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack
from bn_core.trainer import Run, TrainConfig

TINY = dict(seeds=2, depth=2, width=8)


def test_the_small_training_set_is_balanced_and_fixed():
    y = load_dataset("digits").y_train.numpy()
    idx = small_training_set(y, 300)
    assert len(idx) == len(set(idx)) == 300
    assert np.bincount(y[idx]).tolist() == [30] * 10
    assert np.array_equal(idx, small_training_set(y, 300))
    assert np.bincount(y[small_training_set(y, 105)]).tolist() == [11] * 5 + [10] * 5


def test_a_subset_run_draws_its_batches_from_the_subset_only():
    idx = np.arange(40, 90)
    config = TrainConfig(depth=1, width=8, batch_size=10, steps=12, record_every=4)
    run = Run(config, train_idx=idx, specs=[NetSpec("none", seed=1), NetSpec("none", seed=2)])
    x, y = run.train_set
    full = load_dataset("digits")
    assert np.array_equal(x, full.x_train.numpy()[idx]) and np.array_equal(y, full.y_train.numpy()[idx])
    seen = set()
    for _ in range(10):
        batch = run._next_batch()
        assert batch.shape == (2, 10) and batch.max() < len(idx)
        seen |= set(batch.ravel().tolist())
    assert seen == set(range(len(idx)))                  # 5 epochs of 50: every example


@pytest.mark.parametrize("experiment,extra", [
    ("regular", dict(batch_sizes=(8, 32), train_size=64, epochs=2)),
    ("batch", dict(batch_sizes=(2, 8), examples=200, norms=("batch", "renorm", "group", "rms"),
                   groups=2)),
    ("shift", dict(steps=15, batch_size=16)),
])
def test_batched_equals_one_by_one(experiment, extra):
    config = NormsConfig.default(experiment).replace(**TINY, **extra)
    a, b = run_experiment(config), run_experiment(config, batched=False)
    assert [r.member for r in a.networks] == [r.member for r in b.networks]
    for x, y in zip(a.networks, b.networks):
        for field in ("test_acc", "train_acc", "train_mode_acc", "recomputed_acc"):
            assert np.isclose(getattr(x, field), getattr(y, field), atol=2 / 360, equal_nan=True)
    assert len(a.networks) == sum(len(j.members) for j in plan(config))


def test_specs_put_each_network_where_the_lesson_says():
    r = NormsConfig.default("regular")
    kinds = {g: spec(r, type("M", (), {"group": g, "seed": 0})(), 0.1)
             for g in ("none", "dropout", "bn", "bn_dropout")}
    assert [(s.placement, s.dropout) for s in kinds.values()] == [
        ("none", 0.0), ("none", 0.5), ("before", 0.0), ("before", 0.5)]
    s = spec(NormsConfig.default("shift"), type("M", (), {"group": "last", "seed": 3})(), 0.1)
    assert (s.placement, s.dropout, s.dropout_layers, s.seed) == ("before", 0.5, "last", 3)


def test_renorm_schedule_is_the_papers_in_proportion():
    f = renorm_schedule(1000)                       # BN until 5%, d_max 5 at 25%, r_max 3 at 40%
    assert f(0) == (1.0, 0.0) and f(50) == (1.0, 0.0)
    assert f(250)[1] == pytest.approx(5.0) and f(400)[0] == pytest.approx(3.0)
    assert f(10) == (1.0, 0.0) and renorm_schedule(3)(2)[0] >= 1.0   # tiny runs still valid


def _trained_stack():
    specs = [NetSpec("before", seed=s, dropout=0.5) for s in range(2)]
    stack = Stack(64, (16, 12), 10, "relu", specs)
    d = load_dataset("digits")
    x, y = d.x_train.numpy(), d.y_train.numpy()
    for i in range(20):
        stack.train_step(x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32])
    return stack, x


def test_bn_inputs_are_the_engines_eval_mode_pass():
    stack, x = _trained_stack()
    pre = bn_inputs(stack, x[:50])
    stack.predict(x[:50])
    for l in range(2):
        bn = (pre[l] - stack.running_mean[l].numpy()[:, None]) / np.sqrt(
            stack.running_var[l].numpy()[:, None] + 1e-5)
        z = bn * stack.gamma[l].numpy()[:, None] + stack.beta[l].numpy()[:, None]
        np.testing.assert_allclose(z, stack.eval_z[l].numpy(), rtol=1e-4, atol=1e-4)


def test_recomputed_statistics_with_one_batch_are_that_batchs_statistics():
    stack, x = _trained_stack()
    fresh = recompute_statistics(stack, x[:200], batch_size=200, seed=0)
    assert torch.equal(fresh.flat, stack.flat) and not fresh.draws_from.drops[0]    # no dropout
    w = fresh.W[0].numpy()                                                     # (K, 16, 64)
    first = np.einsum("nd,kjd->knj", x[:200].astype(np.float64), w)            # BN 1's input
    np.testing.assert_allclose(fresh.running_var[0].numpy(), first.var(1, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(fresh.running_mean[0].numpy(), first.mean(1), atol=1e-5)
