"""The estimates of BN's test-time statistics (`bn_core.inference.estimates`): the running-average
replay against the update written as a plain loop, Algorithm 2 layer by layer against the float64
reference network, and the paper's and the notes' factors written out."""

import numpy as np
import pytest
import torch

from bn_core.inference.estimates import (layerwise_statistics, momentum_conventions,
                                         running_estimates, variance_factors)
from bn_core.inference.lesson import METHODS
from bn_core.inference.training import epoch_batches, rebuild
from tests.inference.reference import CONFIG, accuracy, close_accuracy, forward, sigmoid


@pytest.mark.parametrize("momentum", [0.0, 0.01, 0.5, 1.0, None])
def test_replay_is_the_update_rule(momentum):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(30, 4))
    var = rng.uniform(0.5, 2.0, size=(30, 4))
    m = 8
    means, varis = running_estimates(mu, var, m, momentum)
    run_m, run_v = np.zeros(4), np.ones(4)
    for t in range(30):
        f = 1 / (t + 1) if momentum is None else momentum
        run_m = (1 - f) * run_m + f * mu[t]
        run_v = (1 - f) * run_v + f * var[t] * m / (m - 1)
        np.testing.assert_allclose(means[t + 1], run_m, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(varis[t + 1], run_v, rtol=1e-5, atol=1e-6)
    if momentum is None:   # the cumulative average is the plain mean of all batches
        np.testing.assert_allclose(means[-1], mu.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(varis[-1], var.mean(0) * m / (m - 1), rtol=1e-5)


def test_replay_of_several_momenta_equals_one_at_a_time():
    rng = np.random.default_rng(1)
    mu, var = rng.normal(size=(12, 3)), rng.uniform(size=(12, 3))
    both = running_estimates(mu, var, 4, [0.3, None])
    for k, mom in enumerate([0.3, None]):
        one = running_estimates(mu, var, 4, mom)
        np.testing.assert_array_equal(both[0][k], one[0])
        np.testing.assert_array_equal(both[1][k], one[1])
    with pytest.raises(ValueError, match="momentum"):
        running_estimates(mu, var, 4, 1.5)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        running_estimates(mu, var, 1, 0.1)


def test_layer_by_layer_statistics_come_through_eval_mode_layers_below(trained, lesson, weights, data):
    """Layer 1: Algorithm 2 itself. Layer 2: Algorithm 2 over the same epoch of batches, on the
    inputs layer 1 gives in eval mode with its layer-by-layer statistics (float64 reference)."""
    m = trained.batch_size
    batches = epoch_batches(data.x_train.shape[0], m, CONFIG.seed)
    means, varis = layerwise_statistics(rebuild(trained), data.x_train, batches)
    np.testing.assert_allclose(means[0], trained.epoch_means[0].mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(varis[0], m / (m - 1) * trained.epoch_vars[0].astype(float).mean(0),
                               rtol=1e-4)
    x = data.x_train[torch.cat(batches)].double().numpy()                      # (n_B·m, D)
    u = sigmoid(weights["gamma"][0] * (x @ weights["W"][0].T - means[0]) / np.sqrt(varis[0] + weights["eps"])
                + weights["beta"][0])
    z2 = (u @ weights["W"][1].T).reshape(len(batches), m, -1)                  # (n_B, m, W)
    np.testing.assert_allclose(means[1], z2.mean(1).mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(varis[1], m / (m - 1) * z2.var(1).mean(0), rtol=1e-4)
    np.testing.assert_allclose(lesson.vars_table["layer by layer"], varis[1], rtol=1e-6)
    logits, _, _ = forward(weights, data.x_test.numpy(), means, varis)
    close_accuracy(lesson.accuracy["test accuracy"][METHODS["layerwise"]],
                   accuracy(logits, data.y_test.numpy()), len(data.y_test))


def test_variance_factors_and_momentum_conventions():
    f = variance_factors(1437, sizes=(2, 32, 256))
    assert list(f["n_B"]) == [718, 44, 5]
    assert f.loc[2, "paper m/(m−1)"] == 2.0 and f.loc[256, "notes n_B/(n_B−1)"] == 1.25
    assert f.loc[32, "notes ÷ paper"] == pytest.approx((44 / 43) / (32 / 31))
    c = momentum_conventions(0.1)
    assert list(c["your momentum"]) == ["0.1", "0.9"]
    assert list(c["default ε"]) == ["1e-05", "0.001"]
    assert c.loc["Keras", "batch variance averaged in"].startswith("biased")
    assert "Keras" in momentum_conventions(None).loc["Keras", "your momentum"]
