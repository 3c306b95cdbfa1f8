"""The inference lesson's training (`bn_core.inference.training`): what it records while the shared
trainer runs and what it measures after, against the float64 reference network
(tests/inference/reference.py), BatchOrder's own batches, and the engine's own running estimates
(the replay must equal them bit for bit)."""

import math

import numpy as np
import torch

from bn_core.engine import NetSpec, Stack
from bn_core.inference import training
from bn_core.inference.config import WIDTH, InferenceConfig
from bn_core.inference.estimates import running_estimates
from bn_core.inference.training import train_network
from bn_core.trainer import BatchOrder
from tests.inference.reference import CONFIG, forward


def test_replay_equals_the_engines_running_estimates_bit_for_bit(trained):
    m = trained.batch_size
    for l in range(len(trained.batch_means)):
        assert trained.batch_means[l].shape == (CONFIG.steps, WIDTH)
        means, varis = running_estimates(trained.batch_means[l], trained.batch_vars[l], m, 0.1)
        np.testing.assert_array_equal(means[-1], trained.engine_running_mean[l])
        np.testing.assert_array_equal(varis[-1], trained.engine_running_var[l])


def test_recorded_batch_statistics_are_the_training_batches(trained, data):
    """The first step's μ_B, σ²_B: the first mini-batch of BatchOrder through the initial network."""
    config = CONFIG.train_config()
    stack = Stack(data.n_features, config.hidden, data.n_classes, config.activation,
                  [NetSpec("before", config.lr, config.eps, config.momentum, None, config.seed)])
    w0 = {"W": [stack.W[l][0].double().numpy() for l in range(2)],
          "b": [np.zeros(WIDTH)] * 2, "gamma": [np.ones(WIDTH)] * 2,
          "beta": [np.zeros(WIDTH)] * 2, "Wo": stack.Wo[0].double().numpy(),
          "bo": np.zeros(10), "eps": config.eps}
    idx = BatchOrder(data.x_train.shape[0], config.batch_size, config.seed).next()
    _, mus, vs = forward(w0, data.x_train[idx].numpy())
    for l in range(2):
        np.testing.assert_allclose(trained.batch_means[l][0], mus[l], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(trained.batch_vars[l][0], vs[l], rtol=1e-4, atol=1e-6)


def test_exact_statistics_are_the_whole_training_set(trained, weights, data):
    _, mus, vs = forward(weights, data.x_train.numpy())
    for l in range(2):
        np.testing.assert_allclose(trained.exact_mean[l], mus[l], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(trained.exact_var[l], vs[l], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(trained.exact_means_path[l][-1], trained.exact_mean[l])
    assert trained.checkpoint_steps[0] == 0 and trained.checkpoint_steps[-1] == CONFIG.steps


def test_test_batches_never_leave_a_batch_of_one():
    for n, m in [(360, 7), (360, 359), (17, 2), (9, 4)]:
        batches = training.test_batches(n, m, 0)
        assert min(len(b) for b in batches) >= 2
        assert sorted(torch.cat(batches).tolist()) == list(range(n))


def test_train_network_reports_progress():
    seen = []
    train_network(InferenceConfig(batch_size=64, steps=200, seed=1).train_config(),
                     progress=lambda f, text: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 5
    assert math.isclose(seen[0], 0.0)
