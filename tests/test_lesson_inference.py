"""The inference lesson's core (`bn_core.lesson_inference`) against independent references.

References: the network's forward pass written out in float64 numpy in this file (from the
trained weights), the running-average update written as a plain Python loop, the engine's own
running estimates (the replay must equal them bit for bit), the paper's and the notes'
formulas written out, and torch's own error for a batch of one.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from bn_core import lesson_inference as li
from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack
from bn_core.lesson_inference import InferenceConfig
from bn_core.trainer import BatchOrder

CONFIG = InferenceConfig(batch_size=16, steps=200, seed=3, momentum=0.05, layer=2, unit=5, example=11)


@pytest.fixture(scope="module")
def trained():
    return li.train_network(CONFIG.train_config())


@pytest.fixture(scope="module")
def lesson(trained):
    return li.inference_lesson(trained, CONFIG)


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def weights(trained):
    """The trained parameters as float64 numpy arrays, per layer."""
    stack = li.rebuild(trained)
    L = len(stack.hidden)
    return {
        "W": [stack.W[l][0].double().numpy() for l in range(L)],
        "b": [stack.b[l][0].double().numpy() for l in range(L)],
        "gamma": [stack.gamma[l][0].double().numpy() for l in range(L)],
        "beta": [stack.beta[l][0].double().numpy() for l in range(L)],
        "Wo": stack.Wo[0].double().numpy(), "bo": stack.bo[0].double().numpy(),
        "eps": CONFIG.train_config().eps,
    }


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(w, x, means=None, varis=None):
    """The network in float64: BN before each sigmoid. With means/varis: eval mode with those
    statistics; without: training mode (the batch's own, biased). Returns (logits, μ, σ² per layer)."""
    u = np.asarray(x, dtype=np.float64)
    mus, vs = [], []
    for l in range(len(w["W"])):
        z = u @ w["W"][l].T + w["b"][l]
        mu = z.mean(0) if means is None else np.asarray(means[l], dtype=np.float64)
        var = ((z - z.mean(0)) ** 2).mean(0) if varis is None else np.asarray(varis[l], dtype=np.float64)
        mus.append(mu)
        vs.append(var)
        u = sigmoid(w["gamma"][l] * (z - mu) / np.sqrt(var + w["eps"]) + w["beta"][l])
    return u @ w["Wo"].T + w["bo"], mus, vs


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, 1) == np.asarray(y)))


def close_accuracy(a, b, n):
    """Accuracies from float32 and float64 forward passes: equal up to a near-tie or two."""
    assert abs(a - b) <= 2 / n + 1e-12, (a, b)


# ------------------------------------------------------------------ running averages

def test_replay_equals_the_engines_running_estimates_bit_for_bit(trained):
    m = trained.batch_size
    for l in range(len(trained.batch_means)):
        assert trained.batch_means[l].shape == (CONFIG.steps, li.WIDTH)
        means, varis = li.running_estimates(trained.batch_means[l], trained.batch_vars[l], m, 0.1)
        np.testing.assert_array_equal(means[-1], trained.engine_running_mean[l])
        np.testing.assert_array_equal(varis[-1], trained.engine_running_var[l])


@pytest.mark.parametrize("momentum", [0.0, 0.01, 0.5, 1.0, None])
def test_replay_is_the_update_rule(momentum):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(30, 4))
    var = rng.uniform(0.5, 2.0, size=(30, 4))
    m = 8
    means, varis = li.running_estimates(mu, var, m, momentum)
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
    both = li.running_estimates(mu, var, 4, [0.3, None])
    for k, mom in enumerate([0.3, None]):
        one = li.running_estimates(mu, var, 4, mom)
        np.testing.assert_array_equal(both[0][k], one[0])
        np.testing.assert_array_equal(both[1][k], one[1])
    with pytest.raises(ValueError, match="momentum"):
        li.running_estimates(mu, var, 4, 1.5)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        li.running_estimates(mu, var, 1, 0.1)


def test_recorded_batch_statistics_are_the_training_batches(trained, data):
    """The first step's μ_B, σ²_B: the first mini-batch of BatchOrder through the initial network."""
    config = CONFIG.train_config()
    stack = Stack(data.n_features, config.hidden, data.n_classes, config.activation,
                  [NetSpec("before", config.lr, config.eps, config.momentum, None, config.seed)])
    w0 = {"W": [stack.W[l][0].double().numpy() for l in range(2)],
          "b": [np.zeros(li.WIDTH)] * 2, "gamma": [np.ones(li.WIDTH)] * 2,
          "beta": [np.zeros(li.WIDTH)] * 2, "Wo": stack.Wo[0].double().numpy(),
          "bo": np.zeros(10), "eps": config.eps}
    idx = BatchOrder(data.x_train.shape[0], config.batch_size, config.seed).next()
    _, mus, vs = forward(w0, data.x_train[idx].numpy())
    for l in range(2):
        np.testing.assert_allclose(trained.batch_means[l][0], mus[l], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(trained.batch_vars[l][0], vs[l], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ the four ways

def test_exact_statistics_are_the_whole_training_set(trained, weights, data):
    _, mus, vs = forward(weights, data.x_train.numpy())
    for l in range(2):
        np.testing.assert_allclose(trained.exact_mean[l], mus[l], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(trained.exact_var[l], vs[l], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(trained.exact_means_path[l][-1], trained.exact_mean[l])
    assert trained.checkpoint_steps[0] == 0 and trained.checkpoint_steps[-1] == CONFIG.steps


def test_algorithm_2_and_the_notes_are_their_formulas(trained, lesson, weights, data):
    m, n = trained.batch_size, data.x_train.shape[0]
    n_b = n // m
    assert trained.epoch_means[0].shape == (n_b, li.WIDTH)
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
    close_accuracy(acc[li.METHODS["exact"]], accuracy(exact_logits, y), n)
    paper = [(trained.epoch_means[l].mean(0), m / (m - 1) * trained.epoch_vars[l].astype(float).mean(0)) for l in range(L)]
    logits, _, _ = forward(weights, x, [p[0] for p in paper], [p[1] for p in paper])
    close_accuracy(acc[li.METHODS["paper"]], accuracy(logits, y), n)
    ema = [li.running_estimates(trained.batch_means[l], trained.batch_vars[l], m, CONFIG.momentum) for l in range(L)]
    logits, _, _ = forward(weights, x, [e[0][-1] for e in ema], [e[1][-1] for e in ema])
    close_accuracy(acc[li.METHODS["running"]], accuracy(logits, y), n)
    # training mode: every test batch of m normalised with its own statistics
    correct = 0
    for idx in li.test_batches(n, m, CONFIG.seed):
        assert len(idx) >= 2
        logits, _, _ = forward(weights, x[idx.numpy()])
        correct += int(np.sum(np.argmax(logits, 1) == y[idx.numpy()]))
    close_accuracy(acc[li.METHODS["batch"]], correct / n, n)
    assert sorted(torch.cat(li.test_batches(n, m, CONFIG.seed)).tolist()) == list(range(n))


def test_layer_by_layer_statistics_come_through_eval_mode_layers_below(trained, lesson, weights, data):
    """Layer 1: Algorithm 2 itself. Layer 2: Algorithm 2 over the same epoch of batches, on the
    inputs layer 1 gives in eval mode with its layer-by-layer statistics (float64 reference)."""
    m = trained.batch_size
    batches = li.epoch_batches(data.x_train.shape[0], m, CONFIG.seed)
    means, varis = li.layerwise_statistics(li.rebuild(trained), data.x_train, batches)
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
    close_accuracy(lesson.accuracy["test accuracy"][li.METHODS["layerwise"]],
                   accuracy(logits, data.y_test.numpy()), len(data.y_test))


def test_at_m_2_algorithm_2_overcorrects_layer_2_and_the_layer_by_layer_remedy_does_not():
    config = InferenceConfig(batch_size=2, steps=200, seed=0)
    two = li.inference_lesson(li.train_network(config.train_config()), config)
    r = two.notes["ratios"]
    assert r.loc[1, "paper"] == pytest.approx(1, abs=0.02) == r.loc[1, "layer by layer"]
    assert r.loc[1, "notes"] == pytest.approx(0.5, abs=0.02)            # the missing m/(m−1)
    assert r.loc[2, "paper"] > 2                     # x̂ of layer 1 has batch variance 1, not ½
    assert r.loc[2, "layer by layer"] == pytest.approx(1, abs=0.05)
    assert abs(two.notes["acc_layerwise"] - two.notes["acc_exact"]) <= 2 / 360


def test_test_batches_never_leave_a_batch_of_one():
    for n, m in [(360, 7), (360, 359), (17, 2), (9, 4)]:
        batches = li.test_batches(n, m, 0)
        assert min(len(b) for b in batches) >= 2
        assert sorted(torch.cat(batches).tolist()) == list(range(n))


def test_convergence_paths_and_table(trained, lesson):
    conv = lesson.convergence
    assert set(conv["paths"]) == {"0.01", "0.1", "0.5", "None (cumulative)", "0.05"}
    means, varis = li.running_estimates(trained.batch_means[1], trained.batch_vars[1], 16, 0.5)
    np.testing.assert_array_equal(conv["paths"]["0.5"][0], means[:, 4])
    np.testing.assert_array_equal(conv["exact_var"], trained.exact_vars_path[1][:, 4])
    table = lesson.convergence_table
    assert list(table.index) == ["0.01", "0.1", "0.5", "None (cumulative)", "0.05 ← yours"]
    assert list(table["Keras momentum"]) == ["0.99", "0.9", "0.5", "—", "0.95"]
    expected = np.mean(np.abs(means[-1] - trained.exact_mean[1]) / np.sqrt(trained.exact_var[1]))
    assert table.loc["0.5", "mean |running mean − exact| ÷ exact sd"] == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------ one input

def test_single_input_eval_is_batch_independent_and_training_mode_is_not(trained, lesson, weights, data):
    info = lesson.single_info
    e = CONFIG.example
    x, y = data.x_test.numpy(), data.y_test.numpy()
    assert info["label"] == y[e]
    m = trained.batch_size
    ema = [li.running_estimates(trained.batch_means[l], trained.batch_vars[l], m, CONFIG.momentum) for l in range(2)]
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


# ------------------------------------------------------------------ tables, config, sweep

def test_variance_factors_and_momentum_conventions():
    f = li.variance_factors(1437, sizes=(2, 32, 256))
    assert list(f["n_B"]) == [718, 44, 5]
    assert f.loc[2, "paper m/(m−1)"] == 2.0 and f.loc[256, "notes n_B/(n_B−1)"] == 1.25
    assert f.loc[32, "notes ÷ paper"] == pytest.approx((44 / 43) / (32 / 31))
    c = li.momentum_conventions(0.1)
    assert list(c["your momentum"]) == ["0.1", "0.9"]
    assert list(c["default ε"]) == ["1e-05", "0.001"]
    assert c.loc["Keras", "batch variance averaged in"].startswith("biased")
    assert "Keras" in li.momentum_conventions(None).loc["Keras", "your momentum"]


def test_config_url_and_checks(trained):
    config = InferenceConfig(momentum=None, batch_size=2, layer=1)
    back, problems = InferenceConfig.from_query(config.to_query())
    assert back == config and problems == [] and config.to_query()["momentum"] == "none"
    parsed, problems = InferenceConfig.from_query({"momentum": "0.33", "layer": "5", "steps": "600"})
    assert parsed == InferenceConfig() and len(problems) == 2
    tc = InferenceConfig(batch_size=8, steps=200, seed=4, momentum=None).train_config()
    assert (tc.batch_size, tc.steps, tc.seed, tc.placement, tc.momentum) == (8, 200, 4, "before", 0.1)
    with pytest.raises(ValueError, match="expected the network trained for this config"):
        li.inference_lesson(trained, CONFIG.replace(batch_size=32))
    with pytest.raises(ValueError, match="^example: expected a test example"):
        li.inference_lesson(trained, CONFIG.replace(example=5000))


def test_momentum_only_changes_the_running_column(trained, lesson):
    other = li.inference_lesson(trained, CONFIG.replace(momentum=None))
    pd.testing.assert_series_equal(other.means_table["exact"], lesson.means_table["exact"])
    assert "running (cumulative)" in other.means_table.columns
    assert not np.allclose(other.means_table["running (cumulative)"], lesson.means_table["running (0.05)"])


def test_batch_size_sweep_small(data):
    assert list(li.batch_size_sweep(seed=1, sizes=(2, 8), examples=40)["steps"]) == [20, 5]
    frame = li.batch_size_sweep(seed=1, sizes=(2, 8), steps=15)
    assert list(frame.index) == [2, 8] and list(frame["steps"]) == [15, 15]
    assert frame[["eval mode", "training mode"]].stack().between(0, 1).all()
    pd.testing.assert_frame_equal(frame, li.batch_size_sweep(seed=1, sizes=(2, 8), steps=15))


def test_sweep_sentence_reads_the_numbers():
    frame = pd.DataFrame({"eval mode": [0.30, 0.80, 0.95, 0.96], "training mode": [0.20, 0.60, 0.94, 0.97]},
                         index=pd.Index([2, 4, 16, 64], name="batch size m"))
    text = li.sweep_sentence(frame)
    assert text.startswith("With batches of 2, the network scores 30% in eval mode and 20% in training mode")
    assert "from m = 16 up" in text and "20 points, is at m = 4, where eval mode does better" in text
    never = li.sweep_sentence(frame.assign(**{"training mode": [0.1, 0.1, 0.1, 0.1]}))
    assert "never agree within 2 points" in never


def test_figures_build(lesson):
    fig = li.convergence_figure(lesson.convergence)
    assert len(fig.data) == 2 * (len(lesson.convergence["paths"]) + 1)
    frame = pd.DataFrame({"eval mode": [0.5, 0.9], "training mode": [0.4, 0.9]}, index=[2, 4])
    assert len(li.sweep_figure(frame).data) == 2


def test_train_network_reports_progress():
    seen = []
    li.train_network(InferenceConfig(batch_size=64, steps=200, seed=1).train_config(),
                     progress=lambda f, text: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 5
    assert math.isclose(seen[0], 0.0)


def test_convergence_figure_draws_long_runs_at_most_max_points_exactly():
    steps = np.arange(5001)
    mean, var = np.sin(steps / 300.0), 1 + np.cos(steps / 700.0)
    conv = {"steps": steps, "paths": {"0.1": (mean, var)}, "checkpoints": [0, 5000],
            "exact_mean": [0.0, 0.1], "exact_var": [1.0, 1.1]}
    fig = li.convergence_figure(conv)
    line = fig.data[0]
    assert len(line.x) == li.MAX_POINTS and line.x[0] == 0 and line.x[-1] == 5000
    np.testing.assert_array_equal(line.y, mean[np.asarray(line.x)])      # values at those steps
    short = li.convergence_figure({**conv, "steps": steps[:300],
                                   "paths": {"0.1": (mean[:300], var[:300])}})
    assert list(short.data[0].x) == list(range(300))                       # short runs: every step
