"""Independent references for the inference lesson's tests: the lesson's network written out in
float64 numpy (from the trained weights), and the config the tests train once."""

import numpy as np

from bn_core.inference.config import InferenceConfig

CONFIG = InferenceConfig(batch_size=16, steps=200, seed=3, momentum=0.05, layer=2, unit=5, example=11)


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
