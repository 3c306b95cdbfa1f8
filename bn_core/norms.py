"""BN's relatives in plain numpy: LayerNorm, GroupNorm, RMSNorm and Batch Renormalization.

They all compute  y = gamma · xhat + beta  and differ in *which numbers* the mean and the
variance of xhat are taken over. For an input x of shape (N, D) (N examples, D features):

    BatchNorm   a column: one feature over the N examples     (bn_core.batchnorm)
    LayerNorm   a row: one example over its D features        (Ba, Kiros & Hinton 2016)
    GroupNorm   a block of a row: one example over a group of consecutive features
                                                              (Wu & He 2018)
    RMSNorm     a row, not centred: x / √(mean of x² + eps)   (Zhang & Sennrich 2019)
    Batch Renormalization   a column, like BN, then corrected towards the running
                statistics that inference will use            (Ioffe 2017)

LayerNorm, GroupNorm and RMSNorm normalise each example on its own: an example's output does
not depend on the other examples in the batch, they keep no running statistics, and training
and evaluation compute the same thing (a batch of one is fine).

Same conventions as bn_core.batchnorm: `*_forward` returns (y, cache); `*_backward(dy, cache)`
returns (dx, dgamma, dbeta) (RMSNorm has no beta: (dx, dgamma)). Names follow PyTorch's
`F.layer_norm`, `F.group_norm` and `F.rms_norm`, which these match in float64.
"""

from __future__ import annotations

import numpy as np

from bn_core.batchnorm import (
    batchnorm_backward,
    batchnorm_inference,
    check_eps,
    check_input,
)

__all__ = [
    "layernorm_forward",
    "layernorm_backward",
    "groupnorm_forward",
    "groupnorm_backward",
    "rmsnorm_forward",
    "rmsnorm_backward",
    "batchrenorm_forward",
    "batchrenorm_backward",
    "batchrenorm_inference",
    "batchrenorm_limits",
]


# ----------------------------------------------------------------------------- checks

def check_param(name: str, value, num_features: int) -> np.ndarray:
    """Return a per-feature parameter (gamma, beta, a running statistic) as a (D,) array."""
    value = np.asarray(value)
    if value.shape != (num_features,):
        raise ValueError(
            f"expected {name} of shape ({num_features},) (one value per feature of the input), "
            f"got shape {value.shape}"
        )
    return value


def check_features(x) -> np.ndarray:
    """x of shape (N, D) with D >= 1; any N, since each example is normalised on its own."""
    x = check_input(x, training=False)
    if x.shape[1] < 1:
        raise ValueError(f"expected at least 1 feature per example, got input shape {x.shape}")
    return x


def check_dy(dy, shape) -> np.ndarray:
    dy = np.asarray(dy)
    if dy.shape != shape:
        raise ValueError(f"expected dy of shape {shape} (the forward output), got {dy.shape}")
    return dy


# ----------------------------------------------------------------------------- LayerNorm

def layernorm_forward(x, gamma, beta, eps: float = 1e-5):
    """Layer Normalization: BN's formulas along the other axis, over the D features of a row.

        xmean_i = 1/D Σ_j x_ij                     (one mean per example)
        xvar_i  = 1/D Σ_j (x_ij − xmean_i)²        (biased, as BN)
        xhat_ij = (x_ij − xmean_i) / √(xvar_i + eps)
        y_ij    = gamma_j · xhat_ij + beta_j       (gamma, beta still one per feature)

    x: (N, D), any N >= 0; gamma, beta: (D,). Returns (y, cache), as `F.layer_norm(x, (D,))`.
    """
    x = check_features(x)
    eps = check_eps(eps)
    gamma = check_param("gamma", gamma, x.shape[1])
    beta = check_param("beta", beta, x.shape[1])
    xmean = x.mean(axis=1, keepdims=True)     # (N, 1)
    xc = x - xmean                            # (N, D) centred row by row
    xvar = (xc**2).mean(axis=1, keepdims=True)  # (N, 1) biased
    std = np.sqrt(xvar + eps)                 # (N, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xhat = xc / std                       # (N, D)
    y = gamma * xhat + beta                   # (N, D)
    cache = {"xhat": xhat, "gamma": gamma, "std": std, "xmean": xmean, "xvar": xvar, "eps": eps}
    return y, cache


def layernorm_backward(dy, cache):
    """Backward pass of `layernorm_forward`, given dy = ∂ℓ/∂y.

        dbeta  = Σ_i dy_i                          (over the batch, as in BN)
        dgamma = Σ_i dy_i · xhat_i
        dxhat  = dy · gamma
        dx_i   = 1/(D·√(xvar_i+eps)) · (D·dxhat_i − Σ_j dxhat_ij
                                         − xhat_i · Σ_j dxhat_ij·xhat_ij)

    BN's dx formula with the sums taken along each row instead of each column.
    dy: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    dy = check_dy(dy, xhat.shape)
    d = dy.shape[1]
    dbeta = dy.sum(axis=0)                                              # (D,)
    dgamma = (dy * xhat).sum(axis=0)                                    # (D,)
    dxhat = dy * gamma                                                  # (N, D)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = (d * dxhat - dxhat.sum(axis=1, keepdims=True)
              - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (d * std)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------- GroupNorm

def groupnorm_forward(x, gamma, beta, num_groups: int, eps: float = 1e-5):
    """Group Normalization: LayerNorm within each group of C/G consecutive channels.

    Group g holds channels g·m … g·m + m − 1, with m = C/G (as `F.group_norm`):

        xmean_ig = 1/m Σ_{j in g} x_ij             (one mean per example and group)
        xvar_ig  = 1/m Σ_{j in g} (x_ij − xmean_ig)²
        xhat_ij  = (x_ij − xmean_ig) / √(xvar_ig + eps)     for j in group g
        y_ij     = gamma_j · xhat_ij + beta_j      (gamma, beta one per channel)

    num_groups = 1 is LayerNorm. num_groups = C puts one value in each group: its xhat is
    0, so y = beta whatever x is (and dx = 0): nothing of the input passes (with eps = 0,
    0/0 gives nan). In between, num_groups sets how many features share a mean and variance.

    x: (N, C) with C divisible by num_groups; gamma, beta: (C,). Returns (y, cache).
    """
    x = check_features(x)
    eps = check_eps(eps)
    n, c = x.shape
    g = check_num_groups(num_groups, c)
    gamma = check_param("gamma", gamma, c)
    beta = check_param("beta", beta, c)
    xg = x.reshape(n, g, c // g)              # (N, G, m) one row per example and group
    xmean = xg.mean(axis=2, keepdims=True)    # (N, G, 1)
    xc = xg - xmean                           # (N, G, m)
    xvar = (xc**2).mean(axis=2, keepdims=True)  # (N, G, 1) biased
    std = np.sqrt(xvar + eps)                 # (N, G, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xhat = (xc / std).reshape(n, c)       # (N, C)
    y = gamma * xhat + beta                   # (N, C)
    cache = {"xhat": xhat, "gamma": gamma, "std": std, "xmean": xmean, "xvar": xvar,
             "num_groups": g, "eps": eps}
    return y, cache


def groupnorm_backward(dy, cache):
    """Backward pass of `groupnorm_forward`: LayerNorm's, group by group (m = C/G values each).

        dbeta  = Σ_i dy_i,   dgamma = Σ_i dy_i · xhat_i,   dxhat = dy · gamma
        dx_ig  = 1/(m·√(xvar_ig+eps)) · (m·dxhat_ig − Σ_{j in g} dxhat_ij
                                          − xhat_ig · Σ_{j in g} dxhat_ij·xhat_ij)

    dy: (N, C). Returns (dx (N, C), dgamma (C,), dbeta (C,)).
    """
    xhat, gamma, std, g = cache["xhat"], cache["gamma"], cache["std"], cache["num_groups"]
    dy = check_dy(dy, xhat.shape)
    n, c = dy.shape
    m = c // g
    dbeta = dy.sum(axis=0)                                              # (C,)
    dgamma = (dy * xhat).sum(axis=0)                                    # (C,)
    dxhat = (dy * gamma).reshape(n, g, m)                               # (N, G, m)
    xhat_g = xhat.reshape(n, g, m)                                      # (N, G, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = (m * dxhat - dxhat.sum(axis=2, keepdims=True)
              - xhat_g * (dxhat * xhat_g).sum(axis=2, keepdims=True)) / (m * std)
    return dx.reshape(n, c), dgamma, dbeta


def check_num_groups(num_groups, num_channels: int) -> int:
    if isinstance(num_groups, bool) or not float(num_groups).is_integer() or num_groups < 1:
        raise ValueError(f"expected num_groups to be a whole number >= 1, got {num_groups!r}")
    g = int(num_groups)
    if num_channels % g:
        divisors = [k for k in range(1, num_channels + 1) if num_channels % k == 0]
        raise ValueError(
            f"expected the number of channels C = {num_channels} to be divisible by num_groups "
            f"(groups of C/G consecutive channels), got num_groups = {g}; "
            f"possible values: {divisors}"
        )
    return g


# ----------------------------------------------------------------------------- RMSNorm

def rmsnorm_forward(x, gamma, eps: float | None = None):
    """RMSNorm: divide each example by its root mean square; no centring and no beta.

        rms_i   = √(1/D Σ_j x_ij² + eps)
        xhat_ij = x_ij / rms_i
        y_ij    = gamma_j · xhat_ij

    eps=None means eps = the machine epsilon of x's floating type, np.finfo(x.dtype).eps
    (2.2e-16 in float64, 1.2e-7 in float32), as `F.rms_norm` and `torch.nn.RMSNorm` do;
    float64 for inputs that are not floating point.
    x: (N, D); gamma: (D,). Returns (y, cache).
    """
    x = check_features(x)
    if eps is None:
        eps = np.finfo(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64).eps
    eps = check_eps(eps)
    gamma = check_param("gamma", gamma, x.shape[1])
    ms = (x**2).mean(axis=1, keepdims=True)   # (N, 1) mean square
    rms = np.sqrt(ms + eps)                   # (N, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xhat = x / rms                        # (N, D)
    y = gamma * xhat                          # (N, D)
    cache = {"xhat": xhat, "gamma": gamma, "rms": rms, "eps": eps}
    return y, cache


def rmsnorm_backward(dy, cache):
    """Backward pass of `rmsnorm_forward`, given dy = ∂ℓ/∂y.

        dgamma = Σ_i dy_i · xhat_i
        dxhat  = dy · gamma
        dx_i   = 1/(D·rms_i) · (D·dxhat_i − xhat_i · Σ_j dxhat_ij·xhat_ij)

    LayerNorm's formula without the Σ_j dxhat_ij term: that term came from the mean,
    which RMSNorm does not subtract. dy: (N, D). Returns (dx (N, D), dgamma (D,)).
    """
    xhat, gamma, rms = cache["xhat"], cache["gamma"], cache["rms"]
    dy = check_dy(dy, xhat.shape)
    d = dy.shape[1]
    dgamma = (dy * xhat).sum(axis=0)                                    # (D,)
    dxhat = dy * gamma                                                  # (N, D)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = (d * dxhat - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (d * rms)
    return dx, dgamma


# ----------------------------------------------------------------------------- Batch Renorm

def batchrenorm_forward(x, gamma, beta, running_mean, running_var, r_max: float,
                        d_max: float, eps: float = 1e-5, momentum: float = 0.1):
    """Training-mode Batch Renormalization (Ioffe 2017, Algorithm 1, top).

        xmean = 1/N Σ_i x_i,  xvar = 1/N Σ_i (x_i − xmean)²     μ_B, σ²_B: as in BN
        std   = √(xvar + eps)                                    σ_B
        sigma = √(running_var + eps)                             σ, from the running estimate
        r     = clip(std / sigma, 1/r_max, r_max)                constants in backprop:
        d     = clip((xmean − running_mean) / sigma, −d_max, d_max)   no gradient through them
        xhat  = (x − xmean) / std · r + d
        y     = gamma · xhat + beta

    Where r and d are not clipped, xhat = (x − running_mean) / sigma: the output inference
    will give. r_max = 1, d_max = 0 force r = 1, d = 0: that is BN, exactly.

    The running statistics are then updated with the batch's, as BN's in this app and torch:

        running_mean ← (1 − momentum) · running_mean + momentum · xmean
        running_var  ← (1 − momentum) · running_var  + momentum · xvar · N/(N − 1)

    The paper's update of the mean, μ := μ + α(μ_B − μ), is the first line with α = momentum.
    For the spread it averages the standard deviation, σ := σ + α(σ_B − σ), with σ_B from the
    biased xvar (eps inside). Here the unbiased *variance* is averaged instead and
    sigma = √(running_var + eps) derived from it, so that Batch Renorm keeps BN's state and
    inference: during the warm-up (r_max = 1, d_max = 0) it is BN in every respect, running
    statistics included, and a network can switch between the two. The two estimates differ
    most at small batches: for Gaussian data with N = 2 and eps = 0, E[σ_B] = σ/√π ≈ 0.56·σ,
    while E[xvar · N/(N − 1)] = σ² at every N.

    x: (N, D) with N >= 2; gamma, beta, running_mean, running_var: (D,); momentum in [0, 1].
    Returns (y, cache, new_running_mean, new_running_var); the inputs are not modified.
    """
    x = check_input(x)
    eps = check_eps(eps)
    r_max, d_max = check_limits(r_max, d_max)
    momentum = float(momentum) if momentum is not None else None
    if momentum is None or not 0.0 <= momentum <= 1.0:
        raise ValueError(
            f"expected momentum in [0, 1] (this function keeps no batch count, so None, "
            f"a cumulative average, is not available), got {momentum}"
        )
    n, num_features = x.shape
    gamma = check_param("gamma", gamma, num_features)
    beta = check_param("beta", beta, num_features)
    running_mean = check_param("running_mean", running_mean, num_features)
    running_var = check_param("running_var", running_var, num_features)
    if not np.all(running_var >= 0) or not np.all(running_var + eps > 0):
        raise ValueError(
            f"expected running_var >= 0 and running_var + eps > 0, got {running_var} (eps={eps})"
        )

    xmean = x.mean(axis=0)                    # (D,) μ_B
    xc = x - xmean                            # (N, D)
    xvar = (xc**2).mean(axis=0)               # (D,) σ²_B, biased
    std = np.sqrt(xvar + eps)                 # (D,) σ_B
    with np.errstate(divide="ignore", invalid="ignore"):
        xbn = xc / std                        # (N, D) BN's xhat
    sigma = np.sqrt(running_var + eps)        # (D,) σ
    r = np.clip(std / sigma, 1.0 / r_max, r_max)                        # (D,)
    d = np.clip((xmean - running_mean) / sigma, -d_max, d_max)          # (D,)
    xhat = xbn * r + d                        # (N, D)
    y = gamma * xhat + beta                   # (N, D)

    xvar_unbiased = xvar * n / (n - 1)                                  # (D,)
    new_running_mean = (1 - momentum) * running_mean + momentum * xmean
    new_running_var = (1 - momentum) * running_var + momentum * xvar_unbiased
    cache = {"xhat": xhat, "xbn": xbn, "gamma": gamma, "std": std, "r": r, "d": d,
             "xmean": xmean, "xvar": xvar, "eps": eps}
    return y, cache, new_running_mean, new_running_var


def batchrenorm_backward(dy, cache):
    """Backward pass of `batchrenorm_forward`, with r and d held constant.

        dbeta  = Σ_i dy_i
        dgamma = Σ_i dy_i · xhat_i                 (xhat includes r and d)
        dx     = BN's dx for the upstream gradient dy · r

    since y = gamma · (xbn · r + d) + beta, with xbn = (x − xmean)/std BN's own xhat: the
    gradient reaching xbn is dy · gamma · r, and from there on it is BN's backward pass,
    through xmean and std (so Σ_i dx_i = 0 per feature, as in BN).

    dy: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    xhat, r = cache["xhat"], cache["r"]
    dy = check_dy(dy, xhat.shape)
    dbeta = dy.sum(axis=0)                                              # (D,)
    dgamma = (dy * xhat).sum(axis=0)                                    # (D,)
    bn_cache = {"xhat": cache["xbn"], "gamma": cache["gamma"], "std": cache["std"]}
    dx, _, _ = batchnorm_backward(dy * r, bn_cache)                     # (N, D)
    return dx, dgamma, dbeta


def batchrenorm_inference(x, gamma, beta, running_mean, running_var, eps: float = 1e-5):
    """Inference-mode Batch Renormalization (Algorithm 1, bottom): BN's inference.

        y = gamma · (x − running_mean) / √(running_var + eps) + beta

    x: (N, D), any N; gamma, beta, running_mean, running_var: (D,).
    """
    return batchnorm_inference(x, gamma, beta, running_mean, running_var, eps)


def check_limits(r_max, d_max) -> tuple[float, float]:
    r_max, d_max = float(r_max), float(d_max)
    if not r_max >= 1.0:
        raise ValueError(f"expected r_max >= 1 (r is clipped to [1/r_max, r_max]), got {r_max}")
    if not d_max >= 0.0:
        raise ValueError(f"expected d_max >= 0 (d is clipped to [-d_max, d_max]), got {d_max}")
    return r_max, d_max


def batchrenorm_limits(step: int, warmup_steps: int = 5000, r_max_at: int = 40000,
                       d_max_at: int = 25000, r_max_final: float = 3.0,
                       d_max_final: float = 5.0) -> tuple[float, float]:
    """The r_max, d_max schedule of the paper's ImageNet experiment (Ioffe 2017).

    Plain BN (r_max = 1, d_max = 0) for the first `warmup_steps` steps; then the limits are
    relaxed to reach r_max = 3 at step `r_max_at` and d_max = 5 at step `d_max_at` (the
    paper's 5,000, 40k and 25k steps), and stay there:

        r_max(t) = 1 + (r_max_final − 1) · clip((t − warmup) / (r_max_at − warmup), 0, 1)
        d_max(t) =      d_max_final      · clip((t − warmup) / (d_max_at − warmup), 0, 1)

    The paper says only "gradually relaxed"; the straight ramp is this app's choice. For a
    shorter run, scale the three step counts together. step counts from 0.
    """
    if step < 0:
        raise ValueError(f"expected step >= 0, got {step}")
    if not 0 <= warmup_steps < min(r_max_at, d_max_at):
        raise ValueError(
            f"expected 0 <= warmup_steps < r_max_at and d_max_at, got warmup_steps="
            f"{warmup_steps}, r_max_at={r_max_at}, d_max_at={d_max_at}"
        )
    check_limits(r_max_final, d_max_final)
    r_frac = min(max((step - warmup_steps) / (r_max_at - warmup_steps), 0.0), 1.0)
    d_frac = min(max((step - warmup_steps) / (d_max_at - warmup_steps), 0.0), 1.0)
    return 1.0 + (r_max_final - 1.0) * r_frac, d_max_final * d_frac
