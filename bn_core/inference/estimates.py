"""BN's test-time statistics, estimated: the running averages (replayed for any momentum),
Algorithm 2 layer by layer, and the formulas of the paper, the course notes, PyTorch and Keras.

    running_estimates(batch_means, batch_vars, m, momentum)   the EMA of every step, float32
    layerwise_statistics(stack, x, batches)                     Algorithm 2, one layer at a time
    predict_with(stack, means, vars, x)                         eval mode with given statistics
    variance_factors(n_train), momentum_conventions(momentum)   the formulas side by side

Why layer by layer: in training mode the layer-1 x̂ of every batch has within-batch variance
exactly 1, where m eval-mode examples would have (m−1)/m on average; so layer 2's
training-batch variance is already too large by about m/(m−1), and Algorithm 2's m/(m−1)
overcorrects it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from bn_core.batchnorm import (KERAS_EPS, KERAS_MOMENTUM, PYTORCH_EPS, PYTORCH_MOMENTUM,
                               population_statistics)
from bn_core.engine import Stack, running_update
from bn_core.inference.config import format_momentum

__all__ = ["running_estimates", "layerwise_statistics", "predict_with", "variance_factors",
           "momentum_conventions", "NOTES_SOURCE", "KERAS_SOURCE"]

ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}   # g, by name
NOTES_SOURCE = "the course notes' “Batch Normalization” revision page, section “Inference”"
KERAS_SOURCE = ("keras/src/layers/normalization/batch_normalization.py, BatchNormalization.call; "
                "the variance comes from ops.moments, e.g. keras/src/backend/numpy/nn.py: "
                "mean(x²) − mean(x)²")


def running_estimates(batch_means, batch_vars, batch_size: int, momentum):
    """Replay the running averages a BN layer keeps (PyTorch's convention), in float32:

        running_mean ← (1 − momentum) · running_mean + momentum · μ_B
        running_var  ← (1 − momentum) · running_var  + momentum · σ²_B · m/(m − 1)

    from running_mean = 0, running_var = 1; momentum None: momentum = 1/t at the t-th update
    (the cumulative average of all t batches). Keras writes the same update with
    momentum_keras = 1 − momentum. The update is the engine's own (`running_update`), so the result
    equals the engine's running estimates to the last bit.

    batch_means, batch_vars: (S, W), μ_B and biased σ²_B of the S training steps, batch size m.
    momentum: a value, None, or a list of them (replayed side by side).
    Returns (means, vars), each (S + 1, W) (for a list: (K, S + 1, W)): the estimates before
    any update, then after each.
    """
    momenta = list(momentum) if isinstance(momentum, (list, tuple)) else [momentum]
    mu = np.asarray(batch_means, dtype=np.float32)                        # (S, W)
    var = np.asarray(batch_vars, dtype=np.float32)                        # (S, W)
    if mu.shape != var.shape or mu.ndim != 2:
        raise ValueError(f"expected batch_means and batch_vars of one shape (S, W), got "
                         f"{tuple(mu.shape)} and {tuple(var.shape)}")
    m = int(batch_size)
    if m < 2:
        raise ValueError(f"expected batch_size >= 2, got {batch_size}")
    for mom in momenta:
        if mom is not None and not (0.0 <= mom <= 1.0):
            raise ValueError(f"expected momentum in [0, 1] or None, got {mom}")
    (steps, width), k = mu.shape, len(momenta)
    cumulative = np.array([mom is None for mom in momenta]).reshape(k, 1)             # (K, 1)
    fixed = np.array([0.0 if mom is None else mom for mom in momenta], np.float32).reshape(k, 1)
    unbiased = var * (m / (m - 1))                                                   # (S, W)
    means = np.empty((steps + 1, k, width), np.float32)
    varis = np.empty((steps + 1, k, width), np.float32)
    means[0], varis[0] = 0.0, 1.0
    for t in range(steps):
        f = np.where(cumulative, np.float32(1.0 / (t + 1)), fixed)                   # (K, 1)
        means[t + 1], varis[t + 1] = means[t], varis[t]
        running_update(means[t + 1], np.broadcast_to(mu[t], (k, width)), f)
        running_update(varis[t + 1], np.broadcast_to(unbiased[t], (k, width)), f)
    means, varis = means.transpose(1, 0, 2), varis.transpose(1, 0, 2)                # (K, S+1, W)
    if isinstance(momentum, (list, tuple)):
        return means, varis
    return means[0], varis[0]


def predict_with(stack: Stack, means, varis, x) -> torch.Tensor:
    """Eval-mode logits (N, C) with the given per-layer statistics as the running estimates
    (of the stack's one network; they stay there)."""
    for l in range(len(stack.hidden)):
        stack.running_mean[l][0] = torch.as_tensor(np.asarray(means[l], dtype=np.float32))
        stack.running_var[l][0] = torch.as_tensor(np.asarray(varis[l], dtype=np.float32))
    return stack.predict(x)[0]


@torch.no_grad()
def layerwise_statistics(stack: Stack, x: torch.Tensor, batches: list[torch.Tensor]):
    """Algorithm 2 one layer at a time (the remedy for deeper layers): for l = 1 … L,

        x_l = W_l · g(BN_eval(x_{l−1})) + b_l   for every example of the n_B batches of m
        E[x_l] = mean of μ_B,   Var[x_l] = m/(m−1) · mean of σ²_B      (population_statistics)

    where BN_eval uses the statistics already found for the layers below: each layer's
    statistics describe the inputs it gets in eval mode, not the training-mode ones (whose
    layer-1 x̂ has within-batch variance exactly 1 instead of (m−1)/m). Layer 1's input does
    not depend on BN: its statistics are Algorithm 2's.

    batches: n_B index tensors of one size m. Returns (means, vars): per layer (W,) float64.
    """
    idx = torch.stack(list(batches))                                      # (n_B, m)
    n_b, m = idx.shape
    xb = x[idx.reshape(-1)]                                               # (n_B·m, D)
    means, varis = [], []
    for l in range(len(stack.hidden)):
        if l == 0:
            u = xb                                                        # (n_B·m, D)
        else:
            rest = [np.zeros(w, np.float32) for w in stack.hidden[l:]]
            predict_with(stack, means + rest, varis + [r + 1 for r in rest], xb)
            u = ACT[stack.activation](stack.eval_z[l - 1][0])             # (n_B·m, W) eval mode
        z = u @ stack.W[l][0].T                                           # (n_B·m, W)
        if not stack.all_before:                     # as the engine: BN before drops the bias
            z = z + stack.b[l][0]
        z = z.reshape(n_b, m, -1)                                         # (n_B, m, W)
        mean, var = population_statistics(z.mean(1).numpy(), z.var(1, unbiased=False).numpy(), m)
        means.append(mean)
        varis.append(var)
    return means, varis


def variance_factors(n_train: int, sizes=(2, 4, 8, 16, 32, 64, 128, 256)) -> pd.DataFrame:
    """What each formula multiplies the average batch variance by, for batch sizes m:
    the paper m/(m−1); the notes Σσ²_B/(n_B−1) = n_B/(n_B−1) · mean σ²_B with n_B = N // m."""
    rows = []
    for m in sizes:
        n_b = n_train // m
        rows.append({"m": m, "n_B": n_b,
                     "paper m/(m−1)": m / (m - 1),
                     "notes n_B/(n_B−1)": n_b / (n_b - 1) if n_b > 1 else math.inf,
                     "notes ÷ paper": (n_b / (n_b - 1)) / (m / (m - 1)) if n_b > 1 else math.inf})
    return pd.DataFrame(rows).set_index("m")


def momentum_conventions(momentum: float | None) -> pd.DataFrame:
    """PyTorch and Keras write the running-average update with opposite momenta, and average
    different batch variances into it: PyTorch the unbiased σ²_B·m/(m−1) (torch.nn.BatchNorm1d),
    Keras the biased σ²_B it normalised with (KERAS_SOURCE)."""
    p = momentum
    keras = "none (Keras has no cumulative mode)" if p is None else f"{1 - p:g}"
    return pd.DataFrame({
        "update": ["running ← (1 − momentum)·running + momentum·batch",
                   "moving ← momentum·moving + (1 − momentum)·batch"],
        "default momentum": [f"{PYTORCH_MOMENTUM:g} (= Keras {1 - PYTORCH_MOMENTUM:g})",
                             f"{KERAS_MOMENTUM:g} (= PyTorch {1 - KERAS_MOMENTUM:g})"],
        "default ε": [f"{PYTORCH_EPS:g}", f"{KERAS_EPS:g}"],
        "batch variance averaged in": ["unbiased: σ²_B · m/(m−1)", "biased: σ²_B (divides by m)"],
        "your momentum": [format_momentum(p), keras],
    }, index=pd.Index(["PyTorch (this app)", "Keras"], name="framework"))
