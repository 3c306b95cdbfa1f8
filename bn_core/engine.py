"""K networks of the same shape, trained in lockstep with an explicit backward pass.

The lessons train tiny networks (a few hundred units), where a framework spends most of its time
dispatching operations, not computing. So instead of K separate `MLP`s with autograd, the
`Stack` holds the parameters of K networks stacked along a first axis and runs them together
with batched matrix products: K = 2 or 3 for the lab's with/without-BN pair, K = seeds × settings
for a sweep. Each network keeps its own BN batch statistics, running estimates, learning rate,
eps, momentum, BN placement, initial weights and mini-batches. A network that diverges does not
disturb the others (batched products keep the K slices apart).

Network k, hidden layer l (u: the layer's input, g: the activation):

    none:    z = W·u + b            h = g(z)
    before:  z = BN(W·u)            h = g(z)           (no b: BN's mean subtraction cancels it)
    after:   z = W·u + b            h = BN(g(z))
    BN(x) = gamma · (x − xmean)/√(xvar + eps) + beta   over the N examples of the mini-batch

then logits = Wo·h + bo and the mean cross-entropy loss. The backward pass is written out
(see `_bn_backward`), and `tests/test_engine.py` checks every gradient and every optimizer step
against `bn_core.layers.MLP` with autograd and `torch.optim`.

Speed: the parameters, gradients and BN buffers are torch tensors (the public interface), and
the hot path works on numpy views of the same memory (`tensor.numpy()` shares it, no copy). On
arrays this small an elementwise numpy operation costs about 2–3 µs against 6–10 µs for torch's
dispatch, and a training step is about a hundred of them; the matrix products (BLAS, one
thread) are the floor. BN's forward and backward, the activation's derivative, the loss and the
running averages run as compiled loops (`bn_core.kernels`, numba: one call instead of a dozen
numpy operations; the numpy versions here, `_bn_train`, `_bn_backward`, `_act_backward`, are the
reference and the fallback). The activations and caches of the last pass are kept as numpy arrays and
handed out as torch tensors, sharing memory, when read (`z`, `u`, `a`, `bn_cache`, `eval_z`). A
BN is computed only for the networks that have it, on their slice of the K axis: keep the
networks of one placement next to each other (as `Run` and the sweeps do), one slice each.
`benchmarks/bench_sweep.py` measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bn_core import kernels
from bn_core.layers import ACTIVATIONS, PLACEMENTS

__all__ = ["NetSpec", "Stack", "OPTIMIZERS"]

_t = torch.from_numpy                     # a torch tensor sharing the numpy array's memory

OPTIMIZERS = ("sgd", "momentum", "adam")
SGD_MOMENTUM = 0.9                        # the "momentum" optimizer: torch.optim.SGD(momentum=0.9)
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


@dataclass(frozen=True)
class NetSpec:
    """What may differ between the K networks of a stack."""

    placement: str = "none"             # none | before | after
    lr: float = 0.1
    eps: float = 1e-5
    momentum: float | None = 0.1        # BN momentum; None: cumulative average
    init_scale: float | None = None     # None: std 1/√fan_in
    seed: int = 0


def _flat_views(flat: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """Views of the (K, P) buffer `flat`, one (K, *shape) tensor per shape, in order."""
    views, off = [], 0
    k = flat.shape[0]
    for shape in shapes:
        n = math.prod(shape)
        views.append(flat[:, off:off + n].view(k, *shape))
        off += n
    return views


_BLAS_LIMITED = False


def _limit_blas_threads():
    """Let numpy's BLAS (OpenBLAS) use one thread, once per process: on these small products a
    second thread only adds synchronisation, and on a busy machine it waits for a free core
    (a (60, 100) @ (100, 100) product took 10× longer with two threads here)."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        _BLAS_LIMITED = True
        try:
            from threadpoolctl import threadpool_limits     # a scikit-learn dependency
            threadpool_limits(1, user_api="blas")
        except Exception:  # noqa: BLE001 - only a matter of speed
            pass


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Batched matrix product a @ b: (K, n, m) @ (K, m, p), or a 2-D operand broadcast over K.
    `out` may be a strided view (a slice of the gradient buffer): numpy writes into it directly."""
    return np.matmul(a, b, out=out)


_ONES: dict[int, np.ndarray] = {}


def _colsum(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Σ_i x_i over the N examples: (K, N, D) → (K, 1, D). A product with a row of ones: on these
    sizes BLAS sums columns about twice as fast as np.sum over the middle axis."""
    n = x.shape[-2]
    ones = _ONES.get(n)
    if ones is None:
        ones = _ONES[n] = np.ones((1, n), dtype=np.float32)
    return np.matmul(ones, x, out=out)


_MEAN_ROWS: dict[int, np.ndarray] = {}


def _colmean(x: np.ndarray) -> np.ndarray:
    """Σ_i x_i / N over the N examples: (K, N, D) → (K, 1, D), as `_colsum` with a row of 1/N."""
    n = x.shape[-2]
    row = _MEAN_ROWS.get(n)
    if row is None:
        row = _MEAN_ROWS[n] = np.full((1, n), 1.0 / n, dtype=np.float32)
    return np.matmul(row, x)


def _bn_train(x, gamma, beta, eps):
    """Training-mode BN of each of the K stacked batches. x: (K, N, D); gamma, beta: (K, 1, D).

        xmean = Σ_i x_i / N    xvar = Σ_i (x_i − xmean)² / N    (biased, over the N examples)
        xhat  = (x − xmean) / √(xvar + eps)        y = gamma · xhat + beta
    """
    xmean = _colmean(x)                                  # (K, 1, D)
    xc = x - xmean                                       # (K, N, D)
    xvar = _colmean(np.square(xc))                       # (K, 1, D) biased
    inv = xvar + eps
    np.sqrt(inv, out=inv)
    np.reciprocal(inv, out=inv)                          # (K, 1, D)  1/√(xvar + eps)
    xhat = xc
    xhat *= inv                                          # (K, N, D)
    y = xhat * gamma                                     # (K, N, D)  gamma·xhat + beta
    y += beta
    return y, (xhat, inv, xmean, xvar)


def _bn_backward(dy, gamma, xhat, inv, dgamma=None, dbeta=None):
    """Backward of `_bn_train` (dgamma, dbeta: where to write them, (K, 1, D), if given):
        dbeta  = Σ_i dy_i,   dgamma = Σ_i dy_i · xhat_i
        dx     = gamma/√(xvar+eps) · (dy − dbeta/N − xhat · dgamma/N)
    """
    n = dy.shape[1]
    dbeta = _colsum(dy, out=dbeta)                       # (K, 1, D)
    dx = dy * xhat                                       # (K, N, D), first for dgamma
    dgamma = _colsum(dx, out=dgamma)                     # (K, 1, D)
    np.multiply(xhat, dgamma * (-1.0 / n), out=dx)       # − xhat · dgamma/N
    dx += dy
    dx += dbeta * (-1.0 / n)                             # − dbeta/N
    dx *= gamma * inv                                    # · gamma/√(xvar+eps)
    return dx, dgamma, dbeta


if kernels.AVAILABLE:                     # compiled loops: the same formulas, 3–5× faster here
    bn_train, bn_backward = kernels.bn_train, kernels.bn_backward
else:                                     # numpy (numba not installed)
    bn_train, bn_backward = _bn_train, _bn_backward


def _act(name, z):
    """a = g(z) for the activation `name`, elementwise (sigmoid and tanh computed by torch)."""
    if name == "sigmoid":
        return torch.sigmoid(torch.from_numpy(z)).numpy()
    if name == "tanh":
        return torch.tanh(torch.from_numpy(z)).numpy()
    return np.maximum(z, 0.0)


def _act_backward(name, da, z, a):
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


act_backward = kernels.act_backward if kernels.AVAILABLE else _act_backward


def _ranges(mask) -> list[tuple[int, int]]:
    """The runs of consecutive True in a 1-D bool sequence, as (start, stop) slices."""
    runs, start = [], None
    for k, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = k
        elif not m and start is not None:
            runs.append((start, k))
            start = None
    return runs


def _put(whole, start, stop, part):
    """whole with networks start…stop−1 replaced by part (in place), or part where it is all K."""
    if start == 0 and stop == whole.shape[0]:
        return part
    whole[start:stop] = part
    return whole


def _running_update_numpy(running: np.ndarray, batch: np.ndarray, f: np.ndarray) -> None:
    """running ← (1 − f)·running + f·batch, in place (float32), with torch.lerp's formula:

        running + f·(batch − running)            where f < 0.5
        batch − (batch − running)·(1 − f)        where f ≥ 0.5   (so f = 1 gives batch exactly)

    running, batch: (k, D); f: (k, 1), the momentum of each network (1/t for a cumulative average).
    The numpy twin of `bn_core.kernels.lerp` (the same roundings: they agree bit for bit)."""
    diff = batch - running                                                       # (k, D)
    if f.max() < 0.5:
        diff *= f
        running += diff
    else:
        near = batch - diff * (np.float32(1.0) - f)
        diff *= f
        diff += running
        np.copyto(running, np.where(f < 0.5, diff, near))


running_update = kernels.lerp if kernels.AVAILABLE else _running_update_numpy


class Stack:
    """K networks `in_dim → hidden… → out_dim` with one activation, trained in lockstep.

    Parameters live in one (K, P) buffer `flat` (so an optimizer step is a few operations on
    the whole stack) and are seen through per-layer views: `W[l]` (K, out, in), `b[l]` (K, out),
    `gamma[l]`, `beta[l]` (K, out), `Wo` (K, C, H), `bo` (K, C). BN buffers per hidden layer:
    `running_mean[l]`, `running_var[l]` (K, width), and `num_batches_tracked`.
    Network k is initialised exactly as `MLP(..., init_scale=specs[k].init_scale,
    seed=specs[k].seed)`: the same W, zero biases, gamma = 1, beta = 0.
    """

    def __init__(self, in_dim, hidden, out_dim, activation, specs, optimizer="sgd"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"expected activation in {ACTIVATIONS}, got {activation!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"expected optimizer in {OPTIMIZERS}, got {optimizer!r}")
        if not specs:
            raise ValueError("expected at least one NetSpec, got none")
        for s in specs:
            if s.placement not in PLACEMENTS:
                raise ValueError(f"expected placement in {PLACEMENTS}, got {s.placement!r}")
        self.specs = list(specs)
        self.activation = activation
        self.optimizer = optimizer
        self.hidden = [int(w) for w in hidden]
        k = self.K = len(specs)
        dims = [int(in_dim), *self.hidden]
        self.dims, self.out_dim = dims, int(out_dim)
        L = len(self.hidden)

        shapes = []
        for l in range(L):
            shapes += [(dims[l + 1], dims[l]), (dims[l + 1],), (dims[l + 1],), (dims[l + 1],)]
        shapes += [(self.out_dim, dims[-1]), (self.out_dim,)]
        self.P = sum(math.prod(s) for s in shapes)
        self.flat = torch.zeros(k, self.P)                        # (K, P)
        views = _flat_views(self.flat, shapes)
        self.W = views[0:4 * L:4]
        self.b = views[1:4 * L:4]
        self.gamma = views[2:4 * L:4]
        self.beta = views[3:4 * L:4]
        self.Wo, self.bo = views[4 * L], views[4 * L + 1]
        for g in self.gamma:
            g.fill_(1.0)

        # per-network settings as (K, 1, 1) tensors, broadcast over (K, N, D)
        col = lambda v: torch.tensor(v, dtype=torch.float32).view(k, 1, 1)  # noqa: E731
        self.lr = col([s.lr for s in specs]).view(k, 1)                     # (K, 1)
        self.eps = col([s.eps for s in specs])
        self.is_before = col([s.placement == "before" for s in specs]).bool()      # (K, 1, 1)
        self.is_after = col([s.placement == "after" for s in specs]).bool()
        self.any_before, self.all_before = bool(self.is_before.any()), bool(self.is_before.all())
        self.any_after, self.all_after = bool(self.is_after.any()), bool(self.is_after.all())
        self.has_bias = col([s.placement != "before" for s in specs]).view(k, 1)  # (K, 1)
        self.cumulative = torch.tensor([s.momentum is None for s in specs]).view(k, 1)
        self.bn_momentum = torch.tensor(
            [0.0 if s.momentum is None else float(s.momentum) for s in specs]
        ).view(k, 1)
        self.running_mean = [torch.zeros(k, w) for w in self.hidden]
        self.running_var = [torch.ones(k, w) for w in self.hidden]
        self.num_batches_tracked = 0
        self.active = torch.ones(k, dtype=torch.bool)    # False once a network has diverged
        self.t = 0                                       # optimizer steps taken
        self.opt_state = [torch.zeros_like(self.flat) for _ in range(2 if optimizer == "adam" else 1)]
        self.grad = torch.zeros_like(self.flat)
        self._shapes = shapes
        self._init_weights()
        # the hot path's numpy side: masks as slices of K, per-network settings as arrays
        self._runs = {p: _ranges([s.placement == p for s in specs]) for p in PLACEMENTS}
        self._has_bias = self.has_bias.numpy()                             # (K, 1)
        self._eps = self.eps.numpy()                                       # (K, 1, 1)
        self._cumulative = self.cumulative.numpy()                         # (K, 1) bool
        self._bn_momentum = self.bn_momentum.numpy()                       # (K, 1)
        self._active = self.active.numpy()                                 # (K,) bool, a view
        self._np_cache = {}
        self._fwd = self._eval = None                  # numpy results of the last passes
        self._views = {}                               # torch views handed out: of the last pass, of grad
        _limit_blas_threads()

    @torch.no_grad()
    def _init_weights(self):
        for k, spec in enumerate(self.specs):
            gen = torch.Generator().manual_seed(int(spec.seed))
            for W in [*self.W, self.Wo]:
                fan_in = W.shape[2]
                std = (1.0 / math.sqrt(fan_in)) if spec.init_scale is None else float(spec.init_scale)
                W[k].copy_(torch.randn(W.shape[1:], generator=gen) * std)

    # ------------------------------------------------------------------ results as torch tensors

    def _arrays(self, buffer: torch.Tensor) -> list[np.ndarray]:
        """numpy views (same memory) of the per-layer parts of `flat` or `grad`, made once."""
        cached = self._np_cache.get(id(buffer))
        if cached is None or cached[0] is not buffer:
            arr, views, off = buffer.numpy(), [], 0
            for shape in self._shapes:
                n = math.prod(shape)
                views.append(arr[:, off:off + n].reshape(self.K, *shape))
                off += n
            cached = self._np_cache[id(buffer)] = (buffer, views)
        return cached[1]

    def _array(self, tensor: torch.Tensor) -> np.ndarray:
        """The numpy view of a buffer tensor (running_mean[l], …), made once per tensor."""
        cached = self._np_cache.get(id(tensor))
        if cached is None or cached[0] is not tensor:
            cached = self._np_cache[id(tensor)] = (tensor, tensor.numpy())
        return cached[1]

    def _torch(self, name, build):
        """The torch view of the last pass's numpy results `name`, made once per pass."""
        if name not in self._views:
            self._views[name] = build()
        return self._views[name]

    @property
    def z(self) -> list[torch.Tensor]:
        """Per hidden layer, the (K, N, width) input to the activation (last training forward)."""
        return self._torch("z", lambda: [torch.from_numpy(v) for v in self._fwd["z"]])

    @property
    def a(self) -> list[torch.Tensor]:
        """Per hidden layer, the (K, N, width) activation g(z) (last training forward)."""
        return self._torch("a", lambda: [torch.from_numpy(v) for v in self._fwd["a"]])

    @property
    def u(self) -> list[torch.Tensor]:
        """u[0] = the input x (K, N, in_dim); u[l + 1] = hidden layer l's output (K, N, width)."""
        def build():
            x = torch.from_numpy(self._fwd["u"][0])
            x = x if x.dim() == 3 else x.unsqueeze(0).expand(self.K, -1, -1)     # (K, N, D_in)
            return [x] + [torch.from_numpy(v) for v in self._fwd["u"][1:]]
        return self._torch("u", build)

    @property
    def bn_cache(self) -> list[dict]:
        """Per hidden layer {"before": c or None, "after": c or None}, c = (xhat, inv, xmean, xvar):
        xhat (K, N, W), the others (K, 1, W), for every network of the stack where any network
        has BN at that place. The networks with that BN hold what their BN computed; the others
        what it would have computed on their layer's values (unused; made only when read)."""
        def build():
            out = []
            eps = self._array(self.eps)
            for l, parts in enumerate(self._fwd["bn"]):
                entry = {"before": None, "after": None}
                for place, inputs in (("before", self._fwd["z"][l]), ("after", self._fwd["a"][l])):
                    if not parts[place]:
                        continue
                    if parts[place][0][:2] == (0, self.K):
                        full = parts[place][0][2]
                    else:
                        with np.errstate(all="ignore"):
                            full = _bn_train(inputs, 1.0, 0.0, eps)[1]
                        for start, stop, c in parts[place]:
                            for whole, used in zip(full, c):
                                whole[start:stop] = used
                    entry[place] = tuple(torch.from_numpy(v) for v in full)
                out.append(entry)
            return out
        return self._torch("bn_cache", build)

    @property
    def eval_z(self) -> list[torch.Tensor]:
        """Per hidden layer, the (K, N, width) activation input of the last eval-mode forward."""
        return self._torch("eval_z", lambda: [torch.from_numpy(v) for v in self._eval])

    # ------------------------------------------------------------------ forward / backward

    def forward(self, x, training=True, update_running=True):
        """Logits (K, N, C) for x (K, N, D_in) or (N, D_in) (the same inputs for every network).

        In training mode it keeps what the backward pass needs, among it `self.z[l]`, the
        (K, N, width) input to layer l's activation; BN uses the batch statistics and (if
        update_running) updates the running estimates. In eval mode BN uses the running
        estimates, and the activation inputs go to `self.eval_z` (the training caches stay).
        """
        if isinstance(x, np.ndarray) and x.dtype == np.float32:
            u = x                              # (N, D_in) broadcast over K, or (K, N, D_in)
        else:
            u = torch.as_tensor(x, dtype=torch.float32).detach().numpy()
        n = u.shape[-2]
        any_bn = self.any_before or self.any_after
        if training and n < 2 and any_bn:
            raise ValueError(
                f"expected more than 1 value per channel when training, got a batch of {n}"
            )
        updating = training and update_running and any_bn
        if updating:
            self.num_batches_tracked += 1
            f = self._momentum_now()                                              # (K, 1)
        p = self._arrays(self.flat)
        L = len(self.hidden)
        us, zs, acts, caches = [u], [], [], []
        runs_before, runs_after = self._runs["before"], self._runs["after"]
        with np.errstate(all="ignore"):        # a diverging network may overflow: it is reported
            for l in range(L):
                W, b = p[4 * l], p[4 * l + 1]                                     # (K, D, Din), (K, D)
                gamma, beta = p[4 * l + 2][:, None, :], p[4 * l + 3][:, None, :]  # (K, 1, D)
                z = _matmul(u, W.transpose(0, 2, 1))                              # (K, N, D)
                if not self.all_before:                       # BN before: no bias (b stays 0)
                    z += b[:, None, :]
                parts = {"before": [], "after": []}       # (start, stop, cache) per run of K
                for start, stop in runs_before:
                    y, c = self._bn(z[start:stop], gamma, beta, l, training, start, stop)
                    parts["before"].append((start, stop, c))
                    z = _put(z, start, stop, y)
                a = _act(self.activation, z)                                      # (K, N, D)
                h = a
                for start, stop in runs_after:
                    y, c = self._bn(a[start:stop], gamma, beta, l, training, start, stop)
                    parts["after"].append((start, stop, c))
                    h = _put(a.copy() if h is a else h, start, stop, y)
                if updating:
                    self._update_running(l, parts["before"] + parts["after"], f, n)
                zs.append(z)
                acts.append(a)
                caches.append(parts)
                u = h
                us.append(u)
            logits = _matmul(u, p[4 * L].transpose(0, 2, 1))                      # (K, N, C)
            logits += p[4 * L + 1][:, None, :]
        if training:
            self._fwd = {"n": n, "u": us, "z": zs, "a": acts, "bn": caches}
            for name in ("z", "a", "u", "bn_cache"):
                self._views.pop(name, None)
        else:
            self._eval = zs
            self._views.pop("eval_z", None)
        return torch.from_numpy(logits)

    def probe(self, x) -> list[np.ndarray]:
        """Per hidden layer, the (K, N, width) activation inputs z for the inputs x, with BN in
        training mode on x itself (x's own batch statistics) and nothing updated: neither the
        running estimates nor what the last training pass left for the backward pass."""
        kept = self._fwd, dict(self._views)
        try:
            self.forward(x, training=True, update_running=False)
            return self._fwd["z"]
        finally:
            self._fwd, self._views = kept

    def _momentum_now(self) -> np.ndarray:
        """Each network's BN momentum for this update (K, 1): its own, or 1/t for a cumulative
        average (momentum None) at the t-th update."""
        if not self._cumulative.any():
            return self._bn_momentum
        return np.where(self._cumulative, np.float32(1.0 / self.num_batches_tracked),
                        self._bn_momentum)

    def last_batch_statistics(self):
        """What the last training forward would fold into the running estimates: per layer the
        BN caches (xmean, xvar inside), and the batch size. For `fold_batch_statistics`."""
        return [p["before"] + p["after"] for p in self._fwd["bn"]], self._fwd["n"]

    def fold_batch_statistics(self, stats) -> None:
        """Update the running estimates with `last_batch_statistics()` exactly as a forward pass
        with update_running=True does: for a forward that was run with update_running=False."""
        if not (self.any_before or self.any_after):
            return
        parts, n = stats
        self.num_batches_tracked += 1
        f = self._momentum_now()
        for l, layer_parts in enumerate(parts):
            self._update_running(l, layer_parts, f, n)

    def _update_running(self, l, parts, f, n):
        """running ← (1 − f)·running + f·batch statistic (`running_update`, torch.lerp's formula, as
        torch.nn.BatchNorm1d), with the unbiased batch variance xvar·N/(N − 1), for the networks
        with BN in layer l (a network without BN keeps running_mean 0, running_var 1)."""
        rm, rv = self._array(self.running_mean[l]), self._array(self.running_var[l])   # (K, D)
        for start, stop, c in parts:
            running_update(rm[start:stop], c[2][:, 0], f[start:stop])
            running_update(rv[start:stop], c[3][:, 0] * (n / (n - 1)), f[start:stop])

    def _bn(self, x, gamma, beta, l, training, start, stop):
        """BN of networks start…stop−1 of layer l: x (k, N, D) → (y, cache or None)."""
        gamma, beta = gamma[start:stop], beta[start:stop]                         # (k, 1, D)
        eps = self._eps[start:stop]                                               # (k, 1, 1)
        if training:
            return bn_train(x, gamma, beta, eps)
        # eval mode: the fixed affine map of the paper's Algorithm 2,
        #   y = gamma/√(running_var + eps) · x + (beta − gamma · running_mean/√(running_var + eps))
        inv = self._array(self.running_var[l])[start:stop, None, :] + eps         # (k, 1, D)
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        scale = gamma * inv                                                       # (k, 1, D)
        shift = beta - self._array(self.running_mean[l])[start:stop, None, :] * scale
        y = x * scale
        y += shift
        return y, None

    def loss_and_dlogits(self, logits, y):
        """Per-network mean cross-entropy (K,) and ∂loss/∂logits (K, N, C):

            logp = logits − log Σ_c exp(logits_c)      loss = −mean_i logp[i, y_i]
            ∂loss/∂logits = (softmax(logits) − onehot(y)) / N
        """
        logits = torch.as_tensor(logits).detach().numpy()
        k, n, c = logits.shape
        y = torch.as_tensor(y).detach().numpy()
        if kernels.AVAILABLE:
            loss, dlogits = kernels.cross_entropy(logits, y)
            return torch.from_numpy(loss), torch.from_numpy(dlogits)
        picks = self._picks(k, n, c) + y.reshape(-1, n)          # (K, N) flat index of [k, i, y_i]
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
        return torch.from_numpy(loss), torch.from_numpy(dlogits)

    def _picks(self, k, n, c) -> np.ndarray:
        """Flat indices of [k, i, 0] in a (K, N, C) array, (K, N); add y to pick [k, i, y_i]."""
        key = ("picks", k, n, c)
        if key not in self._np_cache:
            self._np_cache[key] = (np.arange(k)[:, None] * n + np.arange(n)[None, :]) * c
        return self._np_cache[key]

    def backward(self, dlogits):
        """Fill `self.grad` (K, P) with ∂loss/∂parameters, from the last training forward.
        (The BN parameters of networks without BN and the biases before BN keep gradient 0.)"""
        L = len(self.hidden)
        dl = torch.as_tensor(dlogits).detach().numpy()                           # (K, N, C)
        p, g = self._arrays(self.flat), self._arrays(self.grad)                  # views
        fwd = self._fwd
        with np.errstate(all="ignore"):
            _matmul(dl.transpose(0, 2, 1), fwd["u"][L], out=g[4 * L])           # dWo (K, C, H)
            _colsum(dl, out=g[4 * L + 1][:, None, :])                            # dbo (K, C)
            dh = _matmul(dl, p[4 * L])                                           # (K, N, H)
            for l in reversed(range(L)):
                gamma = p[4 * l + 2][:, None, :]                                 # (K, 1, D)
                parts = fwd["bn"][l]
                dgamma, dbeta = g[4 * l + 2], g[4 * l + 3]                       # (K, D) views
                da = dh
                for start, stop, c in parts["after"]:
                    dx, _, _ = bn_backward(dh[start:stop], gamma[start:stop], c[0], c[1],
                                            dgamma[start:stop, None], dbeta[start:stop, None])
                    da = _put(da, start, stop, dx)
                dz = act_backward(self.activation, da, fwd["z"][l], fwd["a"][l])   # (K, N, D)
                for start, stop, c in parts["before"]:
                    dx, _, _ = bn_backward(dz[start:stop], gamma[start:stop], c[0], c[1],
                                            dgamma[start:stop, None], dbeta[start:stop, None])
                    dz = _put(dz, start, stop, dx)
                _matmul(dz.transpose(0, 2, 1), fwd["u"][l], out=g[4 * l])         # dW (K, D, Din)
                if not self.all_before:
                    db_l = g[4 * l + 1]
                    _colsum(dz, out=db_l[:, None, :])                            # db (K, D)
                    for start, stop in self._runs["before"]:
                        db_l[start:stop] = 0.0                                   # no bias
                if l > 0:
                    dh = _matmul(dz, p[4 * l])                                   # (K, N, Din)
        return self.grad

    def grads(self) -> dict:
        """Views of the last backward's gradients, laid out like the parameters:
        {"W": [(K, out, in)…], "b": […], "gamma": […], "beta": […], "Wo": (K, C, H), "bo": (K, C)}."""
        if self._views.get("grads", (None,))[0] is not self.grad:
            self._views["grads"] = (self.grad, _flat_views(self.grad, self._shapes))
        v = self._views["grads"][1]
        L = len(self.hidden)
        return {"W": v[0:4 * L:4], "b": v[1:4 * L:4], "gamma": v[2:4 * L:4],
                "beta": v[3:4 * L:4], "Wo": v[4 * L], "bo": v[4 * L + 1]}

    # ------------------------------------------------------------------ optimizer

    def optimizer_step(self):
        """One step of the optimizer on every active network, exactly as torch.optim does:

            sgd:      p ← p − lr·g
            momentum: buf ← 0.9·buf + g (buf = g at the first step);  p ← p − lr·buf
            adam:     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
                      p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + 1e-8)
        """
        self.t += 1
        g = self.grad
        lr = self.lr
        if not self._active.all():
            g = torch.nan_to_num_(g, nan=0.0, posinf=0.0, neginf=0.0)
            lr = lr * self.active.view(-1, 1)
        if self.optimizer == "sgd":
            self.flat.addcmul_(g, lr, value=-1.0)
        elif self.optimizer == "momentum":
            buf = self.opt_state[0]
            if self.t == 1:
                buf.copy_(g)
            else:
                buf.mul_(SGD_MOMENTUM).add_(g)
            self.flat.addcmul_(buf, lr, value=-1.0)
        else:
            b1, b2 = ADAM_BETAS
            m, v = self.opt_state
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
            denom = (v.sqrt() / math.sqrt(bc2)).add_(ADAM_EPS)
            self.flat.addcdiv_(m * (lr / bc1), denom, value=-1.0)

    def train_step(self, x, y):
        """Forward, backward and update on one mini-batch per network. Returns the loss (K,)."""
        logits = self.forward(x, training=True)
        loss, dlogits = self.loss_and_dlogits(logits, y)
        self.backward(dlogits)
        self.optimizer_step()
        return loss

    @torch.no_grad()
    def predict(self, x):
        """Eval-mode logits (K, N, C): BN uses the running estimates; nothing is updated."""
        return self.forward(x, training=False, update_running=False)
