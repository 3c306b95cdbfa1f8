"""Batch Normalization in plain numpy: the reference the lessons show on screen.

Ioffe & Szegedy 2015, Algorithm 1 (training) and Algorithm 2 (inference), for an input
x of shape (N, D): N examples in the mini-batch, D features, each normalised on its own.

    xmean = 1/N Σ_i x_i                       # μ_B,  (D,)
    xvar  = 1/N Σ_i (x_i − xmean)²            # σ²_B, (D,)  biased: divides by N
    xhat  = (x − xmean) / √(xvar + eps)       # (N, D)
    y     = gamma · xhat + beta               # (N, D)

`BatchNorm1d` wraps these with PyTorch's semantics and attribute names, so a learner can
compare it line by line with `torch.nn.BatchNorm1d`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PYTORCH_EPS",
    "KERAS_EPS",
    "PYTORCH_MOMENTUM",
    "KERAS_MOMENTUM",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_inference",
    "population_statistics",
    "BatchNorm1d",
]


# The frameworks' defaults, which the lessons compare with.
PYTORCH_EPS = 1e-5          # torch.nn.BatchNorm1d(eps=1e-5)
KERAS_EPS = 1e-3            # keras.layers.BatchNormalization(epsilon=1e-3)
PYTORCH_MOMENTUM = 0.1      # running ← (1 − 0.1)·running + 0.1·batch
KERAS_MOMENTUM = 0.99       # moving ← 0.99·moving + (1 − 0.99)·batch: PyTorch's 0.01


# ----------------------------------------------------------------------------- checks

def check_input(x, num_features: int | None = None, training: bool = True) -> np.ndarray:
    """Return x as a float array of shape (N, D), or raise ValueError saying what is wrong."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"expected a 2-D input of shape (N, D) (N examples, D features), got shape {x.shape}"
        )
    if num_features is not None and x.shape[1] != num_features:
        raise ValueError(
            f"expected {num_features} features (input shape (N, {num_features})), "
            f"got {x.shape[1]} (input shape {x.shape})"
        )
    if training and x.shape[0] < 2:
        raise ValueError(
            "expected more than 1 value per channel when training, got input shape "
            f"{x.shape}: batch statistics need at least 2 examples (the variance of a single "
            "value is 0, so every output would be beta); use eval mode for single inputs"
        )
    return x


def check_eps(eps: float) -> float:
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"expected eps >= 0 (a small positive number such as 1e-5), got {eps}")
    return eps


def check_momentum(momentum: float | None) -> float | None:
    if momentum is None:
        return None
    momentum = float(momentum)
    if not (0.0 <= momentum <= 1.0):
        raise ValueError(
            f"expected momentum in [0, 1] (or None for a cumulative average), got {momentum}"
        )
    return momentum


# ----------------------------------------------------------------------------- functions

def batchnorm_forward(x, gamma, beta, eps: float = 1e-5):
    """Training-mode BN over a mini-batch (Algorithm 1).

        xmean = 1/N Σ_i x_i
        xvar  = 1/N Σ_i (x_i − xmean)²        (biased variance)
        xhat  = (x − xmean) / √(xvar + eps)
        y     = gamma · xhat + beta

    x: (N, D) with N >= 2; gamma, beta: (D,).
    Returns (y, cache); cache holds what `batchnorm_backward` needs.
    """
    x = check_input(x)
    eps = check_eps(eps)
    xmean = x.mean(axis=0)                    # (D,)
    xc = x - xmean                            # (N, D) centred
    xvar = (xc**2).mean(axis=0)               # (D,)  biased
    std = np.sqrt(xvar + eps)                 # (D,)
    with np.errstate(divide="ignore", invalid="ignore"):
        xhat = xc / std                       # (N, D)
    y = gamma * xhat + beta                   # (N, D)
    cache = {"xhat": xhat, "gamma": gamma, "std": std, "xmean": xmean, "xvar": xvar, "eps": eps}
    return y, cache


def batchnorm_backward(dy, cache):
    """Backward pass of `batchnorm_forward`: gradients of the loss ℓ given dy = ∂ℓ/∂y.

        dbeta  = Σ_i dy_i
        dgamma = Σ_i dy_i · xhat_i
        dxhat  = dy · gamma
        dx     = 1/(N·√(xvar+eps)) · (N·dxhat − Σ_i dxhat_i − xhat · Σ_i dxhat_i · xhat_i)

    The last line gathers the paper's three paths (through xhat, through xmean and through
    xvar). It makes Σ_i dx_i = 0 per feature: shifting a feature of the input does not change
    BN's output, so the gradient has no such component. Likewise Σ_i dx_i · xhat_i = 0 exactly
    when eps = 0 (scaling a feature changes nothing); with eps > 0 it is
    eps/(xvar + eps) · Σ_i dxhat_i · xhat_i / √(xvar + eps), tiny while eps ≪ xvar.

    dy: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    dy = np.asarray(dy)
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    if dy.shape != xhat.shape:
        raise ValueError(f"expected dy of shape {xhat.shape} (the forward output), got {dy.shape}")
    n = dy.shape[0]
    dbeta = dy.sum(axis=0)                                        # (D,)
    dgamma = (dy * xhat).sum(axis=0)                              # (D,)
    dxhat = dy * gamma                                            # (N, D)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * std)
    return dx, dgamma, dbeta


def batchnorm_inference(x, gamma, beta, mean, var, eps: float = 1e-5):
    """Inference-mode BN with fixed statistics (Algorithm 2, last line).

        y = gamma · (x − mean) / √(var + eps) + beta

    Each example is normalised on its own, so it may be a batch of one.
    x: (N, D); gamma, beta, mean, var: (D,).
    """
    x = check_input(x, training=False)
    eps = check_eps(eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return gamma * (x - mean) / np.sqrt(var + eps) + beta


def population_statistics(batch_means, batch_vars, batch_size: int):
    """Algorithm 2: the population statistics from the n_B training mini-batches of size m.

        E[x]   = 1/n_B Σ_B μ_B
        Var[x] = m/(m − 1) · 1/n_B Σ_B σ²_B      (the unbiased estimate)

    batch_means, batch_vars: (n_B, D) (or (n_B,)), the biased σ²_B of each batch.
    Returns (mean, var), each (D,).
    """
    batch_means = np.asarray(batch_means, dtype=float)
    batch_vars = np.asarray(batch_vars, dtype=float)
    if batch_means.shape != batch_vars.shape or batch_means.ndim not in (1, 2) or len(batch_means) == 0:
        raise ValueError(
            "expected batch_means and batch_vars of the same shape (n_B, D) with n_B >= 1, "
            f"got {batch_means.shape} and {batch_vars.shape}"
        )
    m = int(batch_size)
    if m < 2:
        raise ValueError(f"expected batch_size >= 2 (m/(m-1) needs m > 1), got {batch_size}")
    mean = batch_means.mean(axis=0)                   # (D,)
    var = m / (m - 1) * batch_vars.mean(axis=0)       # (D,)
    return mean, var


# ----------------------------------------------------------------------------- layer

class BatchNorm1d:
    """A numpy BN layer with the semantics and attribute names of `torch.nn.BatchNorm1d`.

    Parameters `weight` (γ, starts at 1) and `bias` (β, starts at 0); buffers `running_mean`
    (starts at 0), `running_var` (starts at 1) and `num_batches_tracked`.

    Training mode (`train()`, the default) normalises with the batch's own statistics, using
    the *biased* batch variance, and then updates the running estimates with the *unbiased*
    batch variance N/(N−1)·xvar, exactly as PyTorch does:

        running_mean = (1 − momentum) · running_mean + momentum · xmean
        running_var  = (1 − momentum) · running_var  + momentum · xvar · N/(N − 1)

    momentum=None uses a cumulative average instead: momentum = 1/num_batches_tracked.
    (Keras writes the same update with the opposite convention: its momentum 0.99 is 0.01 here.)

    Eval mode (`eval()`) normalises with running_mean and running_var.

    `backward(dy)`, after a training-mode call, returns dx and stores the parameter gradients
    in `weight_grad` (∂ℓ/∂γ) and `bias_grad` (∂ℓ/∂β), overwriting (not accumulating) them.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        if int(num_features) < 1:
            raise ValueError(f"expected num_features >= 1, got {num_features}")
        self.num_features = int(num_features)
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum)
        self.weight = np.ones(self.num_features)        # gamma
        self.bias = np.zeros(self.num_features)         # beta
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self.num_batches_tracked = 0
        self.training = True
        self.weight_grad = None
        self.bias_grad = None
        self._cache = None

    def train(self, mode: bool = True) -> "BatchNorm1d":
        self.training = bool(mode)
        return self

    def eval(self) -> "BatchNorm1d":
        return self.train(False)

    def __call__(self, x):
        x = check_input(x, self.num_features, self.training)
        if not self.training:
            self._cache = None
            return batchnorm_inference(
                x, self.weight, self.bias, self.running_mean, self.running_var, self.eps
            )
        y, self._cache = batchnorm_forward(x, self.weight, self.bias, self.eps)
        n = x.shape[0]
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        xvar_unbiased = self._cache["xvar"] * n / (n - 1)                    # (D,)
        self.running_mean = (1 - factor) * self.running_mean + factor * self._cache["xmean"]
        self.running_var = (1 - factor) * self.running_var + factor * xvar_unbiased
        return y

    forward = __call__

    def backward(self, dy):
        """dx for the last training-mode forward; sets `weight_grad` and `bias_grad`."""
        if self._cache is None:
            raise ValueError("expected a training-mode forward call before backward(), got none")
        dx, self.weight_grad, self.bias_grad = batchnorm_backward(dy, self._cache)
        return dx

    def __repr__(self) -> str:
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"training={self.training})")
