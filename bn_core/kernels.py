"""The engine's elementwise hot spots as compiled loops (numba): BN's training-mode forward and
backward, the activation's derivative, the cross-entropy loss, the running averages.

The engine (`bn_core.engine`) works on small arrays, (K, N, D) = (networks, examples, units),
where numpy spends more time starting each of its dozen operations than computing them. Each
function here does the same arithmetic in one call, two or three passes over the data, compiled
once by numba (and cached on disk, next to this file): BN's forward and backward are 3–5× faster
than the numpy version on these sizes. The formulas (the paper's Algorithm 1 and its gradient):

    forward   xmean = Σ_i x_i / N          xvar = Σ_i (x_i − xmean)² / N     (biased)
              inv   = 1 / √(xvar + eps)     xhat = (x − xmean) · inv          y = gamma · xhat + beta
    backward  dbeta = Σ_i dy_i             dgamma = Σ_i dy_i · xhat_i
              dx    = gamma · inv · (dy − dbeta/N − xhat · dgamma/N)

for each network k and unit d separately (sums over the N examples of network k's batch).
`tests/test_kernels.py` checks each against numpy (`bn_core.engine._bn_train`, …), torch and
autograd; `tests/test_engine.py` checks the whole engine against autograd networks.

Where numba is not installed, `AVAILABLE` is False and the engine uses its numpy versions.
The loops do not check bounds: the wrappers below check every shape, and the labels' range.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:                                     # pragma: no cover - numba is required
    numba = None

__all__ = ["AVAILABLE", "bn_train", "bn_backward", "lerp", "act_backward", "cross_entropy",
           "unit_histograms", "order_statistics"]

AVAILABLE = numba is not None


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


def _unit_histograms_loops(z, edges, counts):
    """counts[k, w, b] += 1 for each finite z[k, p, w] in bin b of the evenly spaced `edges`
    (values beyond either end in the end bins; bin b holds edges[b] ≤ v < edges[b + 1])."""
    K, P, W = z.shape
    bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[bins]
    scale = bins / (hi - lo)
    for k in range(K):
        for p in range(P):
            for w in range(W):
                v = np.float64(z[k, p, w])
                if not np.isfinite(v):
                    continue
                v = min(max(v, lo), hi)
                b = min(int((v - lo) * scale), bins - 1)
                if v < edges[b]:                         # rounding: the edges decide
                    b -= 1
                elif b < bins - 1 and v >= edges[b + 1]:
                    b += 1
                counts[k, w, b] += 1


def _order_statistics_loops(values, ranks, out, fine):
    """out[k, i] = the ranks[i]-th smallest finite value of values[k] (0-based): a histogram of
    `fine` bins between the row's min and max says which bin holds each rank; one more pass
    collects the values of those bins, which are sorted (a few values each) and read."""
    K, M = values.shape
    R = ranks.shape[0]
    counts = np.zeros(fine + 1, np.int64)
    slot = np.full(fine + 1, -1, np.int64)              # bin → its place among the needed bins
    for k in range(K):
        lo, hi, n = np.inf, -np.inf, 0
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                lo, hi, n = min(lo, v), max(hi, v), n + 1
        if n == 0:
            for i in range(R):
                out[k, i] = np.nan
            continue
        span = np.float64(hi) - lo
        if not (span > 1e-300 and np.isfinite(span) and np.isfinite(fine / span)):
            ordered = np.empty(n, values.dtype)          # a range the bins cannot resolve
            j = 0                                        # (tiny, or overflowing): sort it all
            for m in range(M):
                if np.isfinite(values[k, m]):
                    ordered[j] = values[k, m]
                    j += 1
            ordered.sort()
            for i in range(R):
                out[k, i] = ordered[min(ranks[i], n - 1)]
            continue
        scale = fine / span
        counts[:] = 0
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                counts[min(int((np.float64(v) - lo) * scale), fine)] += 1
        bin_of = np.empty(R, np.int64)                   # where each rank is: bin, and how many
        below_of = np.empty(R, np.int64)                 # values lie in the bins before it
        for i in range(R):
            r = min(ranks[i], n - 1)
            b, below = 0, 0
            while below + counts[b] <= r:
                below += counts[b]
                b += 1
            bin_of[i], below_of[i] = b, below
        needed = np.unique(bin_of)
        start = np.zeros(needed.shape[0] + 1, np.int64)
        for j in range(needed.shape[0]):
            slot[needed[j]] = j
            start[j + 1] = start[j] + counts[needed[j]]
        inside = np.empty(start[-1], values.dtype)
        fill = start[:-1].copy()
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                j = slot[min(int((np.float64(v) - lo) * scale), fine)]
                if j >= 0:
                    inside[fill[j]] = v
                    fill[j] += 1
        for j in range(needed.shape[0]):
            inside[start[j]:start[j + 1]].sort()
            slot[needed[j]] = -1
        for i in range(R):
            j = np.searchsorted(needed, bin_of[i])
            out[k, i] = inside[start[j] + min(ranks[i], n - 1) - below_of[i]]


def _jit(function):
    """Compile with IEEE arithmetic (0/0 = NaN, no exception), cached on disk where a cache
    directory can be written (numba tries next to this file, then the user's cache directory),
    else in memory only (compiled again in each process)."""
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError:                                 # "no locator available": nowhere to write
        return numba.njit(nogil=True, error_model="numpy")(function)


if AVAILABLE:
    _bn_train_loops = _jit(_bn_train_loops)
    _bn_backward_loops = _jit(_bn_backward_loops)
    _lerp_loops = _jit(_lerp_loops)
    _act_backward_loops = _jit(_act_backward_loops)
    _cross_entropy_loops = _jit(_cross_entropy_loops)
    _unit_histograms_loops = _jit(_unit_histograms_loops)
    _order_statistics_loops = _jit(_order_statistics_loops)

ACT_KINDS = {"sigmoid": 0, "tanh": 1, "relu": 2}


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
    _lerp_loops(running, batch, f)


def act_backward(name, da, z, a):
    """∂ℓ/∂z = ∂ℓ/∂a · g'(z) for the activation `name`, as `bn_core.engine._act_backward`."""
    _expect("z", z, da.shape)
    _expect("a", a, da.shape)
    dz = np.empty_like(da)
    _act_backward_loops(ACT_KINDS[name], da, z, a, dz)
    return dz


def _expect(name, array, shape) -> None:
    """The loops do not check bounds: every array must have exactly the shape they assume."""
    if np.shape(array) != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {np.shape(array)}")


def bn_train(x, gamma, beta, eps):
    """Training-mode BN of each of the K stacked batches: (y, (xhat, inv, xmean, xvar)), the
    same results (to float rounding) as `bn_core.engine._bn_train`. x: (K, N, D) float32;
    gamma, beta: (K, 1, D); eps: (K, 1, 1)."""
    k, _, d = x.shape
    _expect("gamma", gamma, (k, 1, d))
    _expect("beta", beta, (k, 1, d))
    _expect("eps", eps, (k, 1, 1))
    y, xhat = np.empty_like(x), np.empty_like(x)
    inv, xmean, xvar = (np.empty((k, 1, d), np.float32) for _ in range(3))
    _bn_train_loops(x, gamma, beta, eps, y, xhat, inv, xmean, xvar)
    return y, (xhat, inv, xmean, xvar)


def bn_backward(dy, gamma, xhat, inv, dgamma=None, dbeta=None):
    """Backward of `bn_train`: (dx, dgamma, dbeta); dgamma, dbeta (K, 1, D) are written in
    place where given (views of the gradient buffer), as in `bn_core.engine._bn_backward`."""
    k, _, d = dy.shape
    _expect("xhat", xhat, dy.shape)
    for name, array in (("gamma", gamma), ("inv", inv), ("dgamma", dgamma), ("dbeta", dbeta)):
        if array is not None:
            _expect(name, array, (k, 1, d))
    dx = np.empty_like(dy)
    dgamma = np.empty((k, 1, d), np.float32) if dgamma is None else dgamma
    dbeta = np.empty((k, 1, d), np.float32) if dbeta is None else dbeta
    _bn_backward_loops(dy, gamma, xhat, inv, dx, dgamma, dbeta)
    return dx, dgamma, dbeta


def cross_entropy(logits, y):
    """(loss (K,), dlogits (K, N, C)) of the mean cross-entropy, as
    `bn_core.engine.Stack.loss_and_dlogits` computes them with numpy:

        logp = logits − log Σ_c exp(logits_c)      loss = −mean_i logp[i, y_i]
        ∂loss/∂logits = (softmax(logits) − onehot(y)) / N
    """
    k, n, c = logits.shape
    if y.ndim not in (1, 2) or y.shape[-1] != n or y.reshape(-1, n).shape[0] not in (1, k):
        raise ValueError(f"y: expected labels of shape ({n},), (1, {n}) or ({k}, {n}), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= c):        # the loops do not check bounds
        raise ValueError(f"expected labels in 0…{c - 1}, got {y.min()}…{y.max()}")
    loss = np.empty(k, np.float32)
    dlogits = np.empty_like(logits)
    _cross_entropy_loops(logits, y.reshape(-1, n), loss, dlogits)
    return loss, dlogits


# ----------------------------------------------------------------------------- snapshot statistics

def unit_histograms(z, edges):
    """Counts (K, W, bins) int32 of each unit's values z[k, :, w] (z: (K, P, W)) in the bins of
    the evenly spaced `edges` (bins + 1,): as np.histogram of the clipped values (values beyond
    either end in the end bins, the last bin closed), NaN and ±inf left out."""
    z = np.ascontiguousarray(z)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if z.ndim != 3 or edges.ndim != 1 or len(edges) < 2:
        raise ValueError(f"expected z (K, P, W) and edges (bins + 1,), got {z.shape}, {edges.shape}")
    counts = np.zeros((z.shape[0], z.shape[2], len(edges) - 1), np.int32)
    _unit_histograms_loops(z, edges, counts)
    return counts


def order_statistics(values, ranks, fine: int = 2048):
    """(K, R): the ranks[i]-th smallest finite value of each row of values (K, M), 0-based, as
    np.sort(row)[rank] (a rank past the finite values gives the largest; a row with none, NaN).
    One histogram pass instead of a sort: the values come out exactly, not binned."""
    values = np.ascontiguousarray(values)
    ranks = np.asarray(ranks, dtype=np.int64)
    if values.ndim != 2 or ranks.ndim != 1 or (ranks.size and (ranks.min() < 0 or ranks.max() >= values.shape[1])):
        raise ValueError(f"expected values (K, M) and ranks in 0…M − 1, got {values.shape}, {ranks}")
    out = np.empty((values.shape[0], len(ranks)), values.dtype)
    _order_statistics_loops(values, ranks, out, int(fine))
    return out
