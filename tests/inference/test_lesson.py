"""The inference lesson (`bn_core.inference.lesson`) against independent references: the float64
reference network (tests/inference/reference.py), the paper's and the notes' formulas written
out, and torch's own error for a batch of one."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from bn_core.inference import training
from bn_core.inference.config import WIDTH, InferenceConfig
from bn_core.inference.estimates import running_estimates
from bn_core.inference.lesson import METHODS, inference_lesson
from bn_core.inference.training import train_network
from bn_core.trainer import BatchOrder
from tests.inference.reference import CONFIG, accuracy, close_accuracy, forward, sigmoid


def test_algorithm_2_and_the_notes_are_their_formulas(trained, lesson, weights, data):
    m, n = trained.batch_size, data.x_train.shape[0]
    n_b = n // m
    assert trained.epoch_means[0].shape == (n_b, WIDTH)
    # the epoch's batch statistics with the final weights
    order = BatchOrder(n, m, CONFIG.seed)
    first = order.next()
    _, mus, vs = forward(weights, data.x_train[first].numpy())
    np.testing.assert_allclose(trained.epoch_means[1][0], mus[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(trained.epoch_vars[1][0], vs[1], rtol=1e-4, atol=1e-6)
    l = CONFIG.layer - 1
    means, varis = trained.epoch_means[l].astype(float), trained.epoch_vars[l].astype(float)
    np.testing.assert_allclose(lesson.means_table["Algorithm 2"], means.mean(0), rtol=1e-6)
    np.testing.assert_allclose(lesson.vars_table["Algorithm 2"], m / (m - 1) * varis.mean(0), rtol=1e-6)
    np.testing.assert_allclose(lesson.vars_table["notes"], varis.sum(0) / (n_b - 1), rtol=1e-6)
    np.testing.assert_allclose(lesson.vars_table["mean σ²_B"], varis.mean(0), rtol=1e-6)
    np.testing.assert_allclose(lesson.vars_table["exact"], trained.exact_var[l])
    assert lesson.notes["paper_factor"] == m / (m - 1) and lesson.notes["notes_factor"] == n_b / (n_b - 1)
    ratios = lesson.notes["ratios"]
    exact = trained.exact_var[0].astype(float)
    assert ratios.loc[1, "paper"] == pytest.approx(np.mean(m / (m - 1) * trained.epoch_vars[0].mean(0) / exact), rel=1e-6)
    # in layer 1 (input independent of BN) the paper's estimate is the closest of the three
    assert abs(ratios.loc[1, "paper"] - 1) < abs(ratios.loc[1, "notes"] - 1)
    assert abs(ratios.loc[1, "paper"] - 1) < abs(ratios.loc[1, "mean σ²_B"] - 1)


def test_test_accuracy_under_each_statistic(trained, lesson, weights, data):
    x, y = data.x_test.numpy(), data.y_test.numpy()
    n = len(y)
    m = trained.batch_size
    acc = lesson.accuracy["test accuracy"]
    L = 2
    exact_logits, _, _ = forward(weights, x, trained.exact_mean, trained.exact_var)
    close_accuracy(acc[METHODS["exact"]], accuracy(exact_logits, y), n)
    paper = [(trained.epoch_means[l].mean(0), m / (m - 1) * trained.epoch_vars[l].astype(float).mean(0)) for l in range(L)]
    logits, _, _ = forward(weights, x, [p[0] for p in paper], [p[1] for p in paper])
    close_accuracy(acc[METHODS["paper"]], accuracy(logits, y), n)
    ema = [running_estimates(trained.batch_means[l], trained.batch_vars[l], m, CONFIG.momentum) for l in range(L)]
    logits, _, _ = forward(weights, x, [e[0][-1] for e in ema], [e[1][-1] for e in ema])
    close_accuracy(acc[METHODS["running"]], accuracy(logits, y), n)
    # training mode: every test batch of m normalised with its own statistics
    correct = 0
    for idx in training.test_batches(n, m, CONFIG.seed):
        assert len(idx) >= 2
        logits, _, _ = forward(weights, x[idx.numpy()])
        correct += int(np.sum(np.argmax(logits, 1) == y[idx.numpy()]))
    close_accuracy(acc[METHODS["batch"]], correct / n, n)
    assert sorted(torch.cat(training.test_batches(n, m, CONFIG.seed)).tolist()) == list(range(n))


def test_at_m_2_algorithm_2_overcorrects_layer_2_and_the_layer_by_layer_remedy_does_not():
    config = InferenceConfig(batch_size=2, steps=200, seed=0)
    two = inference_lesson(train_network(config.train_config()), config)
    r = two.notes["ratios"]
    assert r.loc[1, "paper"] == pytest.approx(1, abs=0.02) == r.loc[1, "layer by layer"]
    assert r.loc[1, "notes"] == pytest.approx(0.5, abs=0.02)            # the missing m/(m−1)
    assert r.loc[2, "paper"] > 2                     # x̂ of layer 1 has batch variance 1, not ½
    assert r.loc[2, "layer by layer"] == pytest.approx(1, abs=0.05)
    assert abs(two.notes["acc_layerwise"] - two.notes["acc_exact"]) <= 2 / 360


def test_convergence_paths_and_table(trained, lesson):
    conv = lesson.convergence
    assert set(conv["paths"]) == {"0.01", "0.1", "0.5", "None (cumulative)", "0.05"}
    means, varis = running_estimates(trained.batch_means[1], trained.batch_vars[1], 16, 0.5)
    np.testing.assert_array_equal(conv["paths"]["0.5"][0], means[:, 4])
    np.testing.assert_array_equal(conv["exact_var"], trained.exact_vars_path[1][:, 4])
    table = lesson.convergence_table
    assert list(table.index) == ["0.01", "0.1", "0.5", "None (cumulative)", "0.05 ← yours"]
    assert list(table["Keras momentum"]) == ["0.99", "0.9", "0.5", "—", "0.95"]
    expected = np.mean(np.abs(means[-1] - trained.exact_mean[1]) / np.sqrt(trained.exact_var[1]))
    assert table.loc["0.5", "mean |running mean − exact| ÷ exact sd"] == pytest.approx(expected, rel=1e-5)


def test_single_input_eval_is_batch_independent_and_training_mode_is_not(trained, lesson, weights, data):
    info = lesson.single_info
    e = CONFIG.example
    x, y = data.x_test.numpy(), data.y_test.numpy()
    assert info["label"] == y[e]
    m = trained.batch_size
    ema = [running_estimates(trained.batch_means[l], trained.batch_vars[l], m, CONFIG.momentum) for l in range(2)]
    logits, _, _ = forward(weights, x[e:e + 1], [r[0][-1] for r in ema], [r[1][-1] for r in ema])
    probs = np.exp(logits[0] - logits[0].max())
    probs /= probs.sum()
    assert info["eval_prediction"] == int(np.argmax(probs))
    assert lesson.single.iloc[0]["P(prediction)"] == pytest.approx(probs.max(), abs=1e-5)
    assert info["eval_change_across_batches"] < 1e-4
    p_true = []
    for idx in info["batches"]:
        assert idx[0] == e and len(idx) == m and len(set(idx)) == m
        logits, _, _ = forward(weights, x[idx])
        p = np.exp(logits[0] - logits[0].max())
        p_true.append(p[y[e]] / p.sum())
    np.testing.assert_allclose(info["train_p_true"], p_true, atol=1e-5)
    assert np.ptp(p_true) > 1e-3              # the batch-mates change the example's output


def test_batch_of_one(lesson, weights, data):
    one = lesson.batch_of_one
    table = one["table"]
    np.testing.assert_array_equal(table["y = γ·x̂ + β"], table["β"])
    np.testing.assert_array_equal(table["β"], weights["beta"][0][:6].astype(np.float32).astype(float))
    z1 = data.x_test[CONFIG.example].double().numpy() @ weights["W"][0].T
    np.testing.assert_allclose(table["x (layer 1 input)"], z1[:6], rtol=1e-4, atol=1e-5)
    assert one["max_abs_y_minus_beta"] == 0.0
    assert set(one["errors"]) == {"bn_core.batchnorm.BatchNorm1d", "bn_core.engine.Stack.forward",
                                  "torch.nn.BatchNorm1d"}
    for message in one["errors"].values():
        assert "more than 1 value per channel when training" in message
    # every layer outputs β, so the logits are Wo·g(β_last) + bo for every input
    constant = weights["Wo"] @ sigmoid(weights["beta"][-1]) + weights["bo"]
    p = np.exp(constant - constant.max())
    p /= p.sum()
    net = one["network"]
    assert (net["prediction (batch of one, by the formula)"] == int(np.argmax(p))).all()
    np.testing.assert_allclose(net["P(prediction)"], p.max(), atol=1e-5)


def test_momentum_only_changes_the_running_column(trained, lesson):
    other = inference_lesson(trained, CONFIG.replace(momentum=None))
    pd.testing.assert_series_equal(other.means_table["exact"], lesson.means_table["exact"])
    assert "running (cumulative)" in other.means_table.columns
    assert not np.allclose(other.means_table["running (cumulative)"], lesson.means_table["running (0.05)"])


def test_the_lesson_refuses_another_network_or_an_example_outside_its_test_set(trained):
    with pytest.raises(ValueError, match="expected the network trained for this config"):
        inference_lesson(trained, CONFIG.replace(batch_size=32))
    with pytest.raises(ValueError, match="^example: expected a test example from 0 to 10"):
        inference_lesson(dataclasses.replace(trained, n_test=11), CONFIG)       # example 11
