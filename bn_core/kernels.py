"""The engine's elementwise hot spots, each twice: as a compiled loop (numba) and as its numpy
twin: BN's training-mode forward and backward, the activation's derivative, the cross-entropy
loss, the running averages.

The engine (`bn_core.engine`) works on small arrays, (K, N, D) = (networks, examples, units),
where numpy spends more time starting each of its dozen operations than computing them. Each
function here does the same arithmetic in one call, two or three passes over the data, compiled
once by numba (and cached on disk, next to this file): on these sizes several times faster than
the numpy twin. The formulas (the paper's Algorithm 1 and its gradient):

    forward   xmean = Σ_i x_i / N          xvar = Σ_i (x_i − xmean)² / N     (biased)
              inv   = 1 / √(xvar + eps)     xhat = (x − xmean) · inv          y = gamma · xhat + beta
    backward  dbeta = Σ_i dy_i             dgamma = Σ_i dy_i · xhat_i
              dx    = gamma · inv · (dy − dbeta/N − xhat · dgamma/N)

for each network k and unit d separately (sums over the N examples of network k's batch).
`tests/test_kernels.py` checks each loop against its numpy twin, torch and autograd;
`tests/test_engine.py` checks the whole engine against autograd networks.

The engine calls `bn_train`, `bn_backward`, `act_backward`, `lerp` and `cross_entropy`: the
compiled loops where numba is installed (`AVAILABLE`) and `compiled()` says so, else the numpy
twins. The loops do not check bounds: those functions check every shape, and the labels' range,
first.

Compiling every loop takes seconds (once: numba caches the machine code on disk). A server calls
`warm_up()` when it starts (`bn_core.warm`): a background thread has the loops compiled (in a
child process, then loaded here) while the requests use the numpy twins, the same arithmetic (to
float32 rounding); once every loop is ready, `compiled()` turns true. A `bn_core.trainer.Run`
chooses at each snapshot (`using`): the twins while `compiled()` is false, then the loops.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from typing import NamedTuple

import numpy as np
import torch

try:
    import numba
except ImportError:                                     # pragma: no cover - numba is required
    numba = None

__all__ = ["AVAILABLE", "compiled", "using", "warm_up", "BNCache", "act", "one_blas_thread",
           "bn_train", "bn_backward", "lerp", "act_backward", "cross_entropy", "jit", "colsum",
           "colmean", "bn_train_numpy", "bn_backward_numpy", "act_backward_numpy", "lerp_numpy",
           "cross_entropy_numpy"]

AVAILABLE = numba is not None
_WARMING = threading.Event()             # set by warm_up until its thread has compiled every loop
_CHOSEN = contextvars.ContextVar("bn_core.kernels.chosen", default=None)


def compiled() -> bool:
    """Whether the compiled loops serve now: numba is installed, and no `warm_up` is still
    compiling (or `using` chose for the current context)."""
    chosen = _CHOSEN.get()
    if chosen is not None:
        return chosen and AVAILABLE
    return AVAILABLE and not _WARMING.is_set()


@contextlib.contextmanager
def using(compiled_loops: bool):
    """Within the block, the compiled loops (True, where numba is installed) or the numpy twins."""
    token = _CHOSEN.set(bool(compiled_loops))
    try:
        yield
    finally:
        _CHOSEN.reset(token)


_WARM_THREAD: list[threading.Thread] = []     # warm_up's thread, once per process


def warm_up(background: bool = True, child: bool = True) -> threading.Thread | None:
    """Compile every loop off the request path, once per process: see `bn_core.warm`. Until it
    is done, `compiled()` is False (the numpy twins serve). Returns its thread (the same one on
    later calls), or None where numba is missing."""
    from bn_core import warm
    return warm.warm_up(background, child)


class BNCache(NamedTuple):
    """What BN's training forward keeps for its backward pass, per network and unit."""

    xhat: np.ndarray      # (K, N, D) the normalised inputs
    inv: np.ndarray       # (K, 1, D) 1/√(xvar + eps)
    xmean: np.ndarray     # (K, 1, D) the batch mean
    xvar: np.ndarray      # (K, 1, D) the batch variance (biased)


def _bn_train_loops(x, gamma, beta, eps, y, xhat, inv, xmean, xvar):
    """x (K, N, D); gamma, beta (K, 1, D); eps (K, 1, 1) → y, xhat (K, N, D); inv, xmean, xvar (K, 1, D)."""
    K, N, D = x.shape
    one = np.float32(1.0)
    for k in range(K):
        mean = np.zeros(D, np.float64)                   # sums in float64: exact enough for
        var = np.zeros(D, np.float64)                    # ill-conditioned batches too
        for n in range(N):                               # xmean = Σ_i x_i / N
            for d in range(D):
                mean[d] += x[k, n, d]
        centre = np.empty(D, np.float32)
        for d in range(D):
            centre[d] = mean[d] / N
        for n in range(N):                               # xvar = Σ_i (x_i − xmean)² / N
            for d in range(D):
                c = x[k, n, d] - centre[d]
                xhat[k, n, d] = c
                var[d] += c * c
        scale = np.empty(D, np.float32)
        for d in range(D):
            v = np.float32(var[d] / N)
            xmean[k, 0, d] = centre[d]
            xvar[k, 0, d] = v
            inv[k, 0, d] = one / np.sqrt(v + eps[k, 0, 0])
            scale[d] = inv[k, 0, d]
        for n in range(N):                               # xhat, y = gamma · xhat + beta
            for d in range(D):
                h = xhat[k, n, d] * scale[d]
                xhat[k, n, d] = h
                y[k, n, d] = gamma[k, 0, d] * h + beta[k, 0, d]


def _bn_backward_loops(dy, gamma, xhat, inv, dx, dgamma, dbeta):
    """dy, xhat (K, N, D); gamma, inv (K, 1, D) → dx (K, N, D); dgamma, dbeta (K, 1, D)."""
    K, N, D = dy.shape
    rn = np.float32(1.0 / N)
    for k in range(K):
        sb = np.zeros(D, np.float64)                     # sums in float64, as in the forward
        sg = np.zeros(D, np.float64)
        for n in range(N):                               # dbeta = Σ dy, dgamma = Σ dy · xhat
            for d in range(D):
                sb[d] += dy[k, n, d]
                sg[d] += dy[k, n, d] * xhat[k, n, d]
        scale = np.empty(D, np.float32)
        mb = np.empty(D, np.float32)
        mg = np.empty(D, np.float32)
        for d in range(D):
            dbeta[k, 0, d] = sb[d]
            dgamma[k, 0, d] = sg[d]
            scale[d] = gamma[k, 0, d] * inv[k, 0, d]
            mb[d] = sb[d] * rn
            mg[d] = sg[d] * rn
        for n in range(N):                               # dx = gamma·inv·(dy − dbeta/N − xhat·dgamma/N)
            for d in range(D):
                dx[k, n, d] = scale[d] * (dy[k, n, d] - mb[d] - xhat[k, n, d] * mg[d])


def _lerp_loops(running, batch, f):
    """running (K, D) ← lerp(running, batch, f), f (K, 1); in place."""
    K, D = running.shape
    one = np.float32(1.0)
    for k in range(K):
        w = f[k, 0]
        for d in range(D):
            diff = batch[k, d] - running[k, d]
            if w < 0.5:
                running[k, d] = running[k, d] + w * diff
            else:
                running[k, d] = batch[k, d] - diff * (one - w)


def _act_backward_loops(kind, da, z, a, dz):
    """dz = da · g'(z), (K, N, D): kind 0 sigmoid a(1 − a), 1 tanh 1 − a², 2 relu [z > 0]."""
    K, N, D = da.shape
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for k in range(K):
        for n in range(N):
            for d in range(D):
                if kind == 0:
                    dz[k, n, d] = da[k, n, d] * ((one - a[k, n, d]) * a[k, n, d])
                elif kind == 1:
                    dz[k, n, d] = da[k, n, d] * (one - a[k, n, d] * a[k, n, d])
                else:                                    # as torch's threshold_backward:
                    dz[k, n, d] = zero if z[k, n, d] <= zero else da[k, n, d]   # NaN passes da


def _cross_entropy_loops(logits, y, loss, dlogits):
    """Mean cross-entropy loss (K,) and its gradient dlogits (K, N, C) of logits (K, N, C) for
    labels y (K or 1, N), row by row with the max subtracted before exp (no overflow)."""
    K, N, C = logits.shape
    rn = np.float32(1.0 / N)
    for k in range(K):
        total = np.float32(0.0)
        ky = k if y.shape[0] > 1 else 0
        for n in range(N):
            top = logits[k, n, 0]
            for c in range(1, C):
                top = max(top, logits[k, n, c])
            s = np.float32(0.0)
            for c in range(C):
                e = np.exp(logits[k, n, c] - top)
                dlogits[k, n, c] = e
                s += e
            label = y[ky, n]
            total += logits[k, n, label] - top - np.log(s)      # log softmax at the label
            for c in range(C):
                dlogits[k, n, c] = dlogits[k, n, c] / s * rn
            dlogits[k, n, label] -= rn
        loss[k] = -total * rn


def jit(function):
    """Compile with IEEE arithmetic (0/0 = NaN, no exception), cached on disk where a cache
    directory can be written (numba tries next to this file, then the user's cache directory),
    else in memory only (compiled again in each process)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError:                                 # "no locator available": nowhere to write
        return numba.njit(nogil=True, error_model="numpy")(function)


if AVAILABLE:
    _bn_train_loops = jit(_bn_train_loops)
    _bn_backward_loops = jit(_bn_backward_loops)
    _lerp_loops = jit(_lerp_loops)
    _act_backward_loops = jit(_act_backward_loops)
    _cross_entropy_loops = jit(_cross_entropy_loops)

ACT_KINDS = {"sigmoid": 0, "tanh": 1, "relu": 2}


# ----------------------------------------------------------------------------- numpy twins

_BLAS_LIMITED = False


def one_blas_thread():
    """Let numpy's BLAS (OpenBLAS) use one thread, once per process: on these small products a
    second thread only adds synchronisation, and on a busy machine it waits for a free core."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        _BLAS_LIMITED = True
        try:
            from threadpoolctl import threadpool_limits     # a scikit-learn dependency
            threadpool_limits(1, user_api="blas")
        except Exception:  # noqa: BLE001 - only a matter of speed
            pass


def act(name, z):
    """a = g(z) for the activation `name`, elementwise (sigmoid and tanh computed by torch)."""
    if name == "sigmoid":
        return torch.sigmoid(torch.from_numpy(z)).numpy()
    if name == "tanh":
        return torch.tanh(torch.from_numpy(z)).numpy()
    return np.maximum(z, 0.0)


_ONES: dict[int, np.ndarray] = {}
_MEAN_ROWS: dict[int, np.ndarray] = {}


def colsum(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Σ_i x_i over the N examples: (K, N, D) → (K, 1, D). A product with a row of ones: on these
    sizes BLAS sums columns about twice as fast as np.sum over the middle axis."""
    n = x.shape[-2]
    ones = _ONES.get(n)
    if ones is None:
        ones = _ONES[n] = np.ones((1, n), dtype=np.float32)
    return np.matmul(ones, x, out=out)


def colmean(x: np.ndarray) -> np.ndarray:
    """Σ_i x_i / N over the N examples: (K, N, D) → (K, 1, D), as `colsum` with a row of 1/N."""
    n = x.shape[-2]
    row = _MEAN_ROWS.get(n)
    if row is None:
        row = _MEAN_ROWS[n] = np.full((1, n), 1.0 / n, dtype=np.float32)
    return np.matmul(row, x)


def bn_train_numpy(x, gamma, beta, eps) -> tuple[np.ndarray, BNCache]:
    """Training-mode BN of each of the K stacked batches, with numpy. x: (K, N, D); gamma, beta:
    (K, 1, D); eps: (K, 1, 1) or a number.

        xmean = Σ_i x_i / N    xvar = Σ_i (x_i − xmean)² / N    (biased, over the N examples)
        xhat  = (x − xmean) / √(xvar + eps)        y = gamma · xhat + beta
    """
    xmean = colmean(x)                                   # (K, 1, D)
    xc = x - xmean                                       # (K, N, D)
    xvar = colmean(np.square(xc))                        # (K, 1, D) biased
    inv = xvar + eps
    np.sqrt(inv, out=inv)
    np.reciprocal(inv, out=inv)                          # (K, 1, D)  1/√(xvar + eps)
    xhat = xc
    xhat *= inv                                          # (K, N, D)
    y = xhat * gamma                                     # (K, N, D)  gamma·xhat + beta
    y += beta
    return y, BNCache(xhat, inv, xmean, xvar)


def bn_backward_numpy(dy, gamma, xhat, inv, dgamma=None, dbeta=None):
    """Backward of `bn_train` (dgamma, dbeta: where to write them, (K, 1, D), if given):
        dbeta  = Σ_i dy_i,   dgamma = Σ_i dy_i · xhat_i
        dx     = gamma/√(xvar+eps) · (dy − dbeta/N − xhat · dgamma/N)
    """
    n = dy.shape[1]
    dbeta = colsum(dy, out=dbeta)                        # (K, 1, D)
    dx = dy * xhat                                       # (K, N, D), first for dgamma
    dgamma = colsum(dx, out=dgamma)                      # (K, 1, D)
    np.multiply(xhat, dgamma * (-1.0 / n), out=dx)       # − xhat · dgamma/N
    dx += dy
    dx += dbeta * (-1.0 / n)                             # − dbeta/N
    dx *= gamma * inv                                    # · gamma/√(xvar+eps)
    return dx, dgamma, dbeta


def act_backward_numpy(name, da, z, a):
    """∂ℓ/∂z from ∂ℓ/∂a for a = g(z): sigmoid g' = a(1 − a), tanh g' = 1 − a², relu g' = [z > 0]."""
    if name == "sigmoid":
        dz = 1.0 - a
        dz *= a
        dz *= da
        return dz
    if name == "tanh":
        dz = np.square(a)
        np.subtract(1.0, dz, out=dz)
        dz *= da
        return dz
    return np.where(z <= 0.0, np.float32(0.0), da)      # as torch's threshold_backward


def lerp_numpy(running: np.ndarray, batch: np.ndarray, f: np.ndarray) -> None:
    """`lerp` with numpy (the same roundings: the two agree bit for bit)."""
    diff = batch - running                                                       # (k, D)
    if f.max() < 0.5:
        diff *= f
        running += diff
    else:
        near = batch - diff * (np.float32(1.0) - f)
        diff *= f
        diff += running
        np.copyto(running, np.where(f < 0.5, diff, near))


def cross_entropy_numpy(logits, y):
    """`cross_entropy` with numpy: (loss (K,), dlogits (K, N, C)) for labels y (K or 1, N)."""
    k, n, c = logits.shape
    picks = (np.arange(k)[:, None] * n + np.arange(n)[None, :]) * c + y.reshape(-1, n)  # (K, N)
    with np.errstate(all="ignore"):
        shifted = logits - np.maximum.reduce(logits, 2, keepdims=True)       # (K, N, C)
        e = np.exp(shifted)
        s = np.add.reduce(e, 2)                                              # (K, N)
        picked = shifted.reshape(-1).take(picks)                             # (K, N)
        picked -= np.log(s)                                                  # logp[i, y_i]
        loss = np.add.reduce(picked, 1)
        loss *= -1.0 / n                                                     # (K,)
        dlogits = e
        dlogits /= s[:, :, None]                                             # softmax
        dlogits.reshape(-1)[picks] -= 1.0
        dlogits *= 1.0 / n
    return loss, dlogits


# ----------------------------------------------------------------------------- what the engine calls

def _expect(name, array, shape) -> None:
    """The loops do not check bounds: every array must have exactly the shape they assume."""
    if np.shape(array) != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {np.shape(array)}")


def lerp(running, batch, f) -> None:
    """running ← (1 − f)·running + f·batch, in place, with torch.lerp's formula:

        running + f·(batch − running)            where f < 0.5
        batch − (batch − running)·(1 − f)        where f ≥ 0.5   (so f = 1 gives batch exactly)

    running, batch: (K, D) float32; f: (K, 1), each network's momentum (1/t for a cumulative
    average). torch's CPU kernel fuses each multiply-add (one rounding instead of two), so about
    one value in ten differs from torch.lerp's in the last bit. The engine's running estimates
    and the lessons' replay of them both use this function, so those two agree bit for bit."""
    _expect("batch", batch, running.shape)
    _expect("f", f, (running.shape[0], 1))
    (_lerp_loops if compiled() else lerp_numpy)(running, batch, f)


def act_backward(name, da, z, a):
    """∂ℓ/∂z = ∂ℓ/∂a · g'(z) for the activation `name` (see `act_backward_numpy`)."""
    _expect("z", z, da.shape)
    _expect("a", a, da.shape)
    if not compiled():
        return act_backward_numpy(name, da, z, a)
    dz = np.empty_like(da)
    _act_backward_loops(ACT_KINDS[name], da, z, a, dz)
    return dz


def bn_train(x, gamma, beta, eps) -> tuple[np.ndarray, BNCache]:
    """Training-mode BN of each of the K stacked batches: (y, BNCache), see `bn_train_numpy`.
    x: (K, N, D) float32; gamma, beta: (K, 1, D); eps: (K, 1, 1)."""
    k, _, d = x.shape
    _expect("gamma", gamma, (k, 1, d))
    _expect("beta", beta, (k, 1, d))
    _expect("eps", eps, (k, 1, 1))
    if not compiled():
        return bn_train_numpy(x, gamma, beta, eps)
    y, xhat = np.empty_like(x), np.empty_like(x)
    inv, xmean, xvar = (np.empty((k, 1, d), np.float32) for _ in range(3))
    _bn_train_loops(x, gamma, beta, eps, y, xhat, inv, xmean, xvar)
    return y, BNCache(xhat, inv, xmean, xvar)


def bn_backward(dy, gamma, xhat, inv, dgamma=None, dbeta=None):
    """Backward of `bn_train`: (dx, dgamma, dbeta); dgamma, dbeta (K, 1, D) are written in
    place where given (views of the gradient buffer); see `bn_backward_numpy`."""
    k, _, d = dy.shape
    _expect("xhat", xhat, dy.shape)
    for name, array in (("gamma", gamma), ("inv", inv), ("dgamma", dgamma), ("dbeta", dbeta)):
        if array is not None:
            _expect(name, array, (k, 1, d))
    if not compiled():
        return bn_backward_numpy(dy, gamma, xhat, inv, dgamma, dbeta)
    dx = np.empty_like(dy)
    dgamma = np.empty((k, 1, d), np.float32) if dgamma is None else dgamma
    dbeta = np.empty((k, 1, d), np.float32) if dbeta is None else dbeta
    _bn_backward_loops(dy, gamma, xhat, inv, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


def cross_entropy(logits, y):
    """(loss (K,), dlogits (K, N, C)) of the mean cross-entropy of logits (K, N, C), labels y
    (N,), (1, N) or (K, N):

        logp = logits − log Σ_c exp(logits_c)      loss = −mean_i logp[i, y_i]
        ∂loss/∂logits = (softmax(logits) − onehot(y)) / N
    """
    k, n, c = logits.shape
    if y.ndim not in (1, 2) or y.shape[-1] != n or y.reshape(-1, n).shape[0] not in (1, k):
        raise ValueError(f"y: expected labels of shape ({n},), (1, {n}) or ({k}, {n}), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= c):        # the loops do not check bounds
        raise ValueError(f"expected labels in 0…{c - 1}, got {y.min()}…{y.max()}")
    if not compiled():
        return cross_entropy_numpy(logits, y)
    loss = np.empty(k, np.float32)
    dlogits = np.empty_like(logits)
    _cross_entropy_loops(logits, y.reshape(-1, n), loss, dlogits)
    return loss, dlogits
