"""The engine's normalisers, batched over K networks, and its two sources of training noise.

Each normaliser computes  y = gamma · xhat + beta  on x of shape (k, N, D) (k networks, N
examples, D units), with gamma, beta (k, 1, D) and eps (k, 1, 1); they differ in the set of
numbers each mean and variance is taken over (numpy references of one network: bn_core.norms):

    batch    BN: a column, one unit over the N examples                (bn_core.kernels)
    layer    LayerNorm: a row, one example over its D units
    group    GroupNorm: a block of a row, one example over a group of D/G consecutive units
    rms      RMSNorm: a row, not centred, xhat = x / √(mean of x² + eps); no beta
    renorm   Batch Renormalization: BN, then corrected towards the running statistics:
             xhat = (x − xmean)/√(xvar + eps) · r + d, with σ = √(running_var + eps),
             r = clip(√(xvar + eps)/σ, 1/r_max, r_max), d = clip((xmean − running_mean)/σ, ±d_max),
             r and d constants in backprop (Ioffe 2017)

`train(norm, …)` is the training-mode forward → (y, cache); `backward(norm, dy, gamma, cache,
dgamma, dbeta)` → dx, writing dgamma, dbeta (k, 1, D) in place; `evaluate(norm, …)` is eval
mode: BN and Batch Renorm use the running statistics (the paper's Algorithm 2); LayerNorm,
GroupNorm and RMSNorm compute the same as in training (they keep no running statistics).

Noise, training mode only, drawn per network from its own seeded generator (`generator`):

    dropout   inverted dropout: h ← h · mask/(1 − p), mask ~ Bernoulli(1 − p) per element
    noisy BN  Santurkar et al. (2018, appendix A.2.1), with strength s: per unit and step
              μ_t ~ U(−0.5, 0.5)·s and σ_t ~ U(1, 1 + 0.25·s); per element (example, unit)
              m ~ U(μ_t − 0.1·s, μ_t + 0.1·s), n ~ N(σ_t, 0.1·s);  y ← n ⊙ y + m
              (s = 1: the paper's values; backward multiplies the gradient by n)
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from bn_core.kernels import BNCache, bn_backward, bn_train, colsum
from bn_core.kernels import lerp as running_update

__all__ = ["NORMS", "RUNNING", "NormRun", "GroupCache", "RMSCache", "RenormCache", "train",
           "backward", "evaluate", "generator", "dropout_mask", "noise_draw", "check_spec",
           "as_cache", "runs", "full_bn_cache", "TrainingNoise", "forward_runs", "backward_runs",
           "momentum_now", "update_running", "running_update"]

NORMS = ("batch", "layer", "group", "rms", "renorm")
RUNNING = ("batch", "renorm")           # keep running statistics (and need N ≥ 2 to train)
DROPOUT_LAYERS = ("all", "last")
_DROPOUT_STREAM, _NOISE_STREAM = 1, 2   # the two generators' streams of one network's seed


class NormRun(NamedTuple):
    """Networks start … stop − 1: one placement, one normaliser (and one number of groups)."""

    start: int
    stop: int
    norm: str
    groups: int


def runs(specs, place) -> list[NormRun]:
    """The runs of consecutive networks with placement `place` and one (norm, groups)."""
    out = []
    for k, s in enumerate(specs):
        key = (s.norm, int(s.groups) if s.norm == "group" else 1)
        if s.placement != place:
            continue
        if out and out[-1].stop == k and out[-1][2:] == key:
            out[-1] = out[-1]._replace(stop=k + 1)
        else:
            out.append(NormRun(k, k + 1, *key))
    return out


class GroupCache(NamedTuple):
    """LayerNorm (G = 1) and GroupNorm: what the backward pass needs."""

    xhat: np.ndarray     # (k, N, D)
    inv: np.ndarray      # (k, N, G, 1)  1/√(xvar + eps), per example and group


class RMSCache(NamedTuple):
    xhat: np.ndarray     # (k, N, D)
    inv: np.ndarray      # (k, N, 1)  1/√(mean of x² + eps), per example


class RenormCache(NamedTuple):
    """Batch Renorm: BN's cache (its first four fields, as a BNCache), then r and d."""

    xhat: np.ndarray     # (k, N, D) BN's xhat, (x − xmean)·inv, before r and d
    inv: np.ndarray      # (k, 1, D)
    xmean: np.ndarray    # (k, 1, D) the batch mean
    xvar: np.ndarray     # (k, 1, D) the batch variance (biased)
    r: np.ndarray        # (k, 1, D)
    d: np.ndarray        # (k, 1, D)


PLACEMENTS = ("none", "before", "after")


def check_spec(spec, hidden) -> None:
    """ValueError naming the field where a NetSpec's placement, normaliser, dropout or noise is
    invalid (hidden: the widths of the hidden layers)."""
    if spec.placement not in PLACEMENTS:
        raise ValueError(f"expected placement in {PLACEMENTS}, got {spec.placement!r}")
    if spec.norm not in NORMS:
        raise ValueError(f"norm: expected one of {NORMS}, got {spec.norm!r}")
    if isinstance(spec.groups, bool) or int(spec.groups) != spec.groups or spec.groups < 1:
        raise ValueError(f"groups: expected a whole number ≥ 1, got {spec.groups!r}")
    if spec.norm == "group":
        bad = [w for w in hidden if w % int(spec.groups)]
        if bad:
            raise ValueError(f"groups: expected a divisor of every hidden width {list(hidden)} "
                             f"(groups of consecutive units), got {spec.groups}")
    if not 0.0 <= float(spec.dropout) < 1.0:
        raise ValueError(f"dropout: expected a drop probability in [0, 1), got {spec.dropout!r}")
    if spec.dropout_layers not in DROPOUT_LAYERS:
        raise ValueError(f"dropout_layers: expected one of {DROPOUT_LAYERS}, got "
                         f"{spec.dropout_layers!r}")
    if not (float(spec.noise) >= 0.0 and np.isfinite(spec.noise)):
        raise ValueError(f"noise: expected a strength ≥ 0, got {spec.noise!r}")
    if spec.noise > 0 and spec.placement == "none":
        raise ValueError("noise: expected a network with a normaliser (placement before or "
                         "after): the noise goes after it, got placement 'none'")


# ----------------------------------------------------------------------------- forward, training

def _mean(x):
    """The mean over the last axis, kept (np.mean's Python wrapper costs more than the sum)."""
    out = np.add.reduce(x, -1, keepdims=True)
    out *= 1.0 / x.shape[-1]
    return out


def _group_stats(x, eps, groups):
    """Mean and 1/√(var + eps) over each example's groups of D/G consecutive units."""
    k, n, d = x.shape
    xg = x.reshape(k, n, groups, d // groups)                    # (k, N, G, m)
    xc = xg - _mean(xg)                                          # (k, N, G, m)
    xvar = _mean(np.square(xc))                                  # (k, N, G, 1) biased
    inv = xvar + eps[..., None]
    np.sqrt(inv, out=inv)
    np.reciprocal(inv, out=inv)
    xc *= inv
    return xc.reshape(k, n, d), inv                              # xhat (k, N, D), inv


def _renorm(x, gamma, beta, eps, running_mean, running_var, r_max, d_max):
    """Batch Renorm, training mode (module doc): BN's statistics from `bn_train`, then r, d."""
    k, _, dim = x.shape
    ones = np.ones((k, 1, dim), np.float32)
    xbn, c = bn_train(x, ones, 0 * ones, eps)                    # xbn = BN's xhat (k, N, D)
    std = np.sqrt(c.xvar + eps)                                  # (k, 1, D) σ_B
    sigma = np.sqrt(running_var[:, None, :] + eps)               # (k, 1, D) σ
    r = np.clip(std / sigma, 1.0 / r_max, r_max).astype(np.float32)
    d = np.clip((c.xmean - running_mean[:, None, :]) / sigma, -d_max, d_max).astype(np.float32)
    xhat = xbn * r
    xhat += d
    y = xhat * gamma
    y += beta
    return y, RenormCache(xbn, c.inv, c.xmean, c.xvar, r, d)


def train(norm, x, gamma, beta, eps, groups=1, running_mean=None, running_var=None,
          r_max=None, d_max=None):
    """Training-mode normalisation of x (k, N, D): (y, cache). gamma, beta (k, 1, D); eps
    (k, 1, 1); running_mean, running_var (k, D) and r_max, d_max (k, 1, 1): Batch Renorm only.
    BN's cache is a `BNCache`; the batch statistics are not folded into the running ones here."""
    if norm == "batch":
        return bn_train(x, gamma, beta, eps)
    if norm == "renorm":
        return _renorm(x, gamma, beta, eps, running_mean, running_var, r_max, d_max)
    if norm in ("layer", "group"):
        xhat, inv = _group_stats(x, eps, groups if norm == "group" else 1)
        y = xhat * gamma
        y += beta
        return y, GroupCache(xhat, inv)
    if norm == "rms":
        inv = _mean(np.square(x))                                # (k, N, 1) mean square
        inv += eps
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        xhat = x * inv                                           # (k, N, D)
        return xhat * gamma, RMSCache(xhat, inv)
    raise ValueError(f"norm: expected one of {NORMS}, got {norm!r}")


# ----------------------------------------------------------------------------- backward

def backward(norm, dy, gamma, cache, dgamma, dbeta):
    """dx (k, N, D) from dy = ∂ℓ/∂y; writes dgamma, dbeta (k, 1, D) in place:

        all      dbeta = Σ_i dy_i (rms: 0, no beta)      dgamma = Σ_i dy_i · xhat_i
        batch    dx = gamma·inv·(dy − dbeta/N − xhat·dgamma/N)            (sums over examples)
        renorm   BN's dx with gamma·r for gamma; dgamma = r·Σ dy·xbn + d·Σ dy
        layer, group   dxhat = dy·gamma, per example and group of m units:
                 dx = inv·(dxhat − mean_j dxhat_j − xhat · mean_j dxhat_j·xhat_j)
        rms      dx = inv·(dxhat − xhat · mean_j dxhat_j·xhat_j)   (no centring term)
    """
    if norm == "batch":
        return bn_backward(dy, gamma, cache.xhat, cache.inv, dgamma, dbeta)[0]
    if norm == "renorm":
        dx = bn_backward(dy, gamma * cache.r, cache.xhat, cache.inv, dgamma, dbeta)[0]
        dgamma *= cache.r                                        # Σ dy·(xbn·r + d)
        dgamma += cache.d * dbeta
        return dx
    xhat = cache.xhat
    colsum(dy * xhat, out=dgamma)
    dxhat = dy * gamma                                           # (k, N, D)
    if norm == "rms":
        dbeta[...] = 0.0
        dx = dxhat - xhat * _mean(dxhat * xhat)
        dx *= cache.inv
        return dx
    colsum(dy, out=dbeta)
    k, n, d = dy.shape
    g = cache.inv.shape[2]
    dxh, xh = dxhat.reshape(k, n, g, d // g), xhat.reshape(k, n, g, d // g)
    dx = dxh - _mean(dxh)
    dx -= xh * _mean(dxh * xh)
    dx *= cache.inv
    return dx.reshape(k, n, d)


# ----------------------------------------------------------------------------- eval mode

def evaluate(norm, x, gamma, beta, eps, groups=1, running_mean=None, running_var=None):
    """Eval-mode normalisation of x (k, N, D). BN and Batch Renorm: the fixed affine map of the
    paper's Algorithm 2, with running_mean, running_var (k, D),

        y = gamma/√(running_var + eps) · x + (beta − gamma · running_mean/√(running_var + eps));

    LayerNorm, GroupNorm, RMSNorm: as in training (each example on its own)."""
    if norm in RUNNING:
        inv = running_var[:, None, :] + eps                      # (k, 1, D)
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        scale = gamma * inv                                      # (k, 1, D)
        y = x * scale
        y += beta - running_mean[:, None, :] * scale
        return y
    return train(norm, x, gamma, beta, eps, groups)[0]


# ----------------------------------------------------------------------------- a layer's runs

def forward_runs(runs, x, gamma, beta, eps, running_mean, running_var, r_max, d_max,
                 training, noise, keep_input=False):
    """The normalisers of one layer and place, run by run (`NormRun`), on x (K, N, D) of all K
    networks; gamma, beta (K, 1, D), eps (K, 1, 1), running_mean, running_var (K, D), r_max,
    d_max (K, 1, 1); noise: the stack's `TrainingNoise`. Returns (out, parts, drawn): out with
    the runs' networks normalised (x changed in place unless keep_input, or a run covers all
    K), and in training mode parts [(run, cache)] and the noise drawn {network: (m, n)}."""
    out, parts, drawn = x, [], {}
    for run in runs:
        i, j = run.start, run.stop
        args = (x[i:j], gamma[i:j], beta[i:j], eps[i:j], run.groups, running_mean[i:j],
                running_var[i:j])
        if not training:
            y = evaluate(run.norm, *args)
        else:
            y, c = train(run.norm, *args, r_max[i:j], d_max[i:j])
            parts.append((run, c))
            drawn.update(noise.add_noise(y, i))
        if (i, j) == (0, x.shape[0]):
            out = y
        else:
            out = x.copy() if out is x and keep_input else out
            out[i:j] = y
    return out, parts, drawn


def backward_runs(parts, drawn, dy, gamma, dgamma, dbeta):
    """The gradient through `forward_runs` (its parts and noise drawn): dy (K, N, D) → dx (in
    place where a run does not cover all K); writes dgamma, dbeta (K, 1, D) of the runs."""
    for k, (_, n) in drawn.items():
        dy[k] *= n                                               # y = n ⊙ y + m
    for run, c in parts:
        i, j = run.start, run.stop
        dx = backward(run.norm, dy[i:j], gamma[i:j], c, dgamma[i:j], dbeta[i:j])
        if (i, j) == (0, dy.shape[0]):
            dy = dx
        else:
            dy[i:j] = dx
    return dy


# ----------------------------------------------------------------------------- noise

def generator(seed: int, stream: str) -> np.random.Generator:
    """Network `seed`'s generator for `stream` ("dropout" or "noise"): independent streams, the
    same draws whatever the other networks of the stack are."""
    tag = _DROPOUT_STREAM if stream == "dropout" else _NOISE_STREAM
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), tag])))


def dropout_mask(gen: np.random.Generator, p: float, shape) -> np.ndarray:
    """Inverted dropout's multiplier (float32, `shape`): 1/(1 − p) where kept (probability
    1 − p), 0 where dropped, so E[mask] = 1 and eval mode needs no rescaling."""
    keep = gen.random(shape) >= p                                # float64: faster to draw
    return np.multiply(keep, np.float32(1.0 / (1.0 - p)), dtype=np.float32)


def noise_draw(gen: np.random.Generator, s: float, shape) -> tuple[np.ndarray, np.ndarray]:
    """One layer's noisy-BN draw for one network and step (module doc), shape (N, D): (m, n),
    float32, with μ_t and σ_t drawn for each of the D units, as the paper does."""
    units = shape[-1]
    mu = (gen.random(units) - 0.5) * s                           # μ_t ~ U(−0.5, 0.5)·s, (D,)
    sigma = 1.0 + 0.25 * s * gen.random(units)                   # σ_t ~ U(1, 1 + 0.25·s), (D,)
    m = gen.random(shape)                                        # float64: faster to draw
    m *= 0.2 * s
    m += mu - 0.1 * s                                            # U(μ_t − 0.1·s, μ_t + 0.1·s)
    n = gen.standard_normal(shape)
    n *= 0.1 * s
    n += sigma                                                   # N(σ_t, 0.1·s)
    return m.astype(np.float32), n.astype(np.float32)


class TrainingNoise:
    """The dropout masks and noisy-BN draws of a stack's K networks (module doc), from one
    generator per network and kind, seeded by the network's seed."""

    def __init__(self, specs, depth: int):
        self.drops = [[(k, float(s.dropout)) for k, s in enumerate(specs) if s.dropout > 0 and
                       (s.dropout_layers == "all" or l == depth - 1)]
                      for l in range(depth)]                     # per layer: (network, p)
        self.strength = [float(s.noise) for s in specs]
        self.gens = {(k, kind): generator(s.seed, kind) for k, s in enumerate(specs)
                     for kind, on in (("dropout", s.dropout > 0), ("noise", s.noise > 0)) if on}

    def dropout(self, l: int, h: np.ndarray) -> list:
        """Drop units of h (K, N, D) in place for the networks that drop after layer l:
        [(network, mask (N, D))]."""
        out = []
        for k, p in self.drops[l]:
            mask = dropout_mask(self.gens[(k, "dropout")], p, h.shape[1:])
            h[k] *= mask
            out.append((k, mask))
        return out

    def add_noise(self, y: np.ndarray, start: int) -> dict:
        """y ← n ⊙ y + m in place, y (k, N, D) of networks start…, for those with noise:
        {network: (m, n)}."""
        out = {}
        for k in range(start, start + y.shape[0]):
            if self.strength[k] > 0:
                m, n = noise_draw(self.gens[(k, "noise")], self.strength[k], y.shape[1:])
                y[k - start] *= n
                y[k - start] += m
                out[k] = (m, n)
        return out

    def state(self) -> dict:
        return {key: copy.deepcopy(g.bit_generator.state) for key, g in self.gens.items()}

    def set_state(self, state: dict) -> None:
        for key, value in state.items():
            self.gens[key].bit_generator.state = copy.deepcopy(value)


# ----------------------------------------------------------------------------- BN's state

def momentum_now(momentum, cumulative, num_batches_tracked) -> np.ndarray:
    """Each network's BN momentum for this update (K, 1): its own, or 1/t for a cumulative
    average (momentum None, `cumulative` True) at the t-th update."""
    if not cumulative.any():
        return momentum
    return np.where(cumulative, np.float32(1.0 / num_batches_tracked), momentum)


def update_running(running_mean, running_var, parts, f, n) -> None:
    """running ← (1 − f)·running + f·batch statistic (`running_update`, torch.lerp's formula, as
    torch.nn.BatchNorm1d), with the unbiased batch variance xvar·N/(N − 1), for the networks
    of the BN parts (start, stop, cache) of one layer; running_mean, running_var (K, D), f
    (K, 1). (A network without BN keeps running_mean 0, running_var 1.)"""
    for start, stop, c in parts:
        running_update(running_mean[start:stop], c.xmean[:, 0], f[start:stop])
        running_update(running_var[start:stop], c.xvar[:, 0] * (n / (n - 1)), f[start:stop])


def as_cache(cache) -> BNCache:
    """The BN part of a BN or Batch Renorm cache, as a BNCache."""
    return BNCache(*cache[:4])


def full_bn_cache(parts, inputs, eps) -> BNCache:
    """One layer's BNCache (numpy) for all K networks from its BN parts (start, stop, cache) at
    one place: the networks of the parts hold what their BN computed, the others what BN would
    compute on their `inputs` (K, N, D)."""
    k = inputs.shape[0]
    if parts[0][:2] == (0, k):
        return as_cache(parts[0].cache)
    with np.errstate(all="ignore"):
        ones = np.ones((k, 1, inputs.shape[2]), np.float32)
        full = bn_train(inputs, ones, 0 * ones, eps)[1]
    for part in parts:
        for whole, used in zip(full, as_cache(part.cache)):
            whole[part.start:part.stop] = used
    return full
