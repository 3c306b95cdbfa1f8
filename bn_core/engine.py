"""K networks of the same shape, trained in lockstep with an explicit backward pass.

The lessons train tiny networks (a few hundred units), where a framework spends most of its time
dispatching operations, not computing. So instead of K separate networks with autograd, the
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

then logits = Wo·h + bo and the mean cross-entropy loss. The backward pass is written out in
`Stack.backward`; `tests/test_engine.py` checks every gradient and every optimizer step against
autograd networks (`tests/torch_reference.py`) and `torch.optim`.

The parameters, gradients and BN buffers are torch tensors (the public interface); the hot path
works on numpy views of the same memory (numpy's operations start faster on arrays this small).
BN's forward and backward, the activation's derivative, the loss and the running averages are
`bn_core.kernels` (compiled loops, or their numpy twins). A BN is computed only for the networks
that have it, on their slice of the K axis: keep the networks of one placement next to each
other (as `Run` and the sweeps do), one slice each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from bn_core import optim
from bn_core.kernels import (BNCache, act, act_backward, bn_backward, bn_train, colsum,
                             cross_entropy, one_blas_thread)
from bn_core.kernels import lerp as running_update
from bn_core.optim import OPTIMIZERS

__all__ = ["NetSpec", "Stack", "Params", "ACTIVATIONS", "PLACEMENTS", "OPTIMIZERS",
           "running_update"]

ACTIVATIONS = ("sigmoid", "tanh", "relu")
PLACEMENTS = ("none", "before", "after")


@dataclass(frozen=True)
class NetSpec:
    """What may differ between the K networks of a stack."""

    placement: str = "none"             # none | before | after
    lr: float = 0.1
    eps: float = 1e-5
    momentum: float | None = 0.1        # BN momentum; None: cumulative average
    init_scale: float | None = None     # None: std 1/√fan_in
    seed: int = 0
    weight_decay: float = 0.0           # L2 on every parameter, as torch.optim's weight_decay


class Params(NamedTuple):
    """Views of one (K, P) buffer (the parameters, or their gradients), named as in the math."""

    W: list          # per hidden layer: (K, out, in)
    b: list          # (K, out)
    gamma: list      # (K, out)
    beta: list       # (K, out)
    Wo: object       # (K, C, H)
    bo: object       # (K, C)


class BNPart(NamedTuple):
    """One BN of a layer's forward pass: networks start…stop − 1, and what their BN kept."""

    start: int
    stop: int
    cache: BNCache


def _shapes(dims: list[int], out_dim: int) -> list[tuple[int, ...]]:
    """The parameter shapes in buffer order: per hidden layer W, b, gamma, beta; then Wo, bo."""
    shapes = []
    for l in range(len(dims) - 1):
        shapes += [(dims[l + 1], dims[l]), (dims[l + 1],), (dims[l + 1],), (dims[l + 1],)]
    return shapes + [(out_dim, dims[-1]), (out_dim,)]


def _views(buffer, shapes) -> Params:
    """`Params` of views of the (K, P) buffer (torch tensor or numpy array): no copies."""
    k, views, off = buffer.shape[0], [], 0
    for shape in shapes:
        n = math.prod(shape)
        views.append(buffer[:, off:off + n].reshape(k, *shape))
        off += n
    return Params(views[0:-2:4], views[1:-2:4], views[2:-2:4], views[3:-2:4], views[-2],
                  views[-1])


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


class Stack:
    """K networks `in_dim → hidden… → out_dim` with one activation, trained in lockstep.

    Parameters live in one (K, P) buffer `flat` (so an optimizer step is a few operations on
    the whole stack) and are seen through per-layer views: `W[l]` (K, out, in), `b[l]` (K, out),
    `gamma[l]`, `beta[l]` (K, out), `Wo` (K, C, H), `bo` (K, C). BN buffers per hidden layer:
    `running_mean[l]`, `running_var[l]` (K, width), and `num_batches_tracked`.
    Network k is initialised exactly as the autograd reference `MLP(..., init_scale=
    specs[k].init_scale, seed=specs[k].seed)`: the same W, zero biases, gamma = 1, beta = 0.
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
        self.specs, self.activation, self.optimizer = list(specs), activation, optimizer
        self.hidden = [int(w) for w in hidden]
        k = self.K = len(specs)
        self.dims, self.out_dim = [int(in_dim), *self.hidden], int(out_dim)
        self._shapes = _shapes(self.dims, self.out_dim)
        self.P = sum(math.prod(s) for s in self._shapes)
        self.flat = torch.zeros(k, self.P)                        # (K, P)
        self.grad = torch.zeros_like(self.flat)
        self.W, self.b, self.gamma, self.beta, self.Wo, self.bo = _views(self.flat, self._shapes)
        for g in self.gamma:
            g.fill_(1.0)
        self._p = _views(self.flat.numpy(), self._shapes)         # numpy views: the hot path
        self._g = _views(self.grad.numpy(), self._shapes)

        # per-network settings: (K, 1) tensors, and numpy views of them for the hot path
        col = lambda v: torch.tensor(v, dtype=torch.float32).view(k, 1)  # noqa: E731
        self.lr = col([s.lr for s in specs])                                  # (K, 1)
        self.weight_decay = col([s.weight_decay for s in specs])              # (K, 1)
        self._decay = bool((self.weight_decay != 0).any())
        self.eps = col([s.eps for s in specs]).view(k, 1, 1)                   # (K, 1, 1)
        self.bn_momentum = col([0.0 if s.momentum is None else float(s.momentum) for s in specs])
        self.cumulative = torch.tensor([s.momentum is None for s in specs]).view(k, 1)
        self._eps, self._bn_momentum = self.eps.numpy(), self.bn_momentum.numpy()
        self._cumulative = self.cumulative.numpy()
        self._runs = {p: _ranges([s.placement == p for s in specs]) for p in PLACEMENTS}
        self.any_before, self.any_after = bool(self._runs["before"]), bool(self._runs["after"])
        self.all_before = self._runs["before"] == [(0, k)]
        self.running_mean = [torch.zeros(k, w) for w in self.hidden]
        self.running_var = [torch.ones(k, w) for w in self.hidden]
        self._running_mean = [t.numpy() for t in self.running_mean]
        self._running_var = [t.numpy() for t in self.running_var]
        self.num_batches_tracked = 0
        self.active = torch.ones(k, dtype=torch.bool)    # False once a network has diverged
        self._active = self.active.numpy()               # a view
        self.t = 0                                       # optimizer steps taken
        self.opt_state = optim.state(optimizer, self.flat)
        self._init_weights()
        self._fwd = self._eval = None                  # numpy results of the last passes
        self._views = {}                               # torch views of the last pass, handed out
        one_blas_thread()

    @torch.no_grad()
    def _init_weights(self):
        for k, spec in enumerate(self.specs):
            gen = torch.Generator().manual_seed(int(spec.seed))
            for W in [*self.W, self.Wo]:
                fan_in = W.shape[2]
                std = (1.0 / math.sqrt(fan_in)) if spec.init_scale is None else float(spec.init_scale)
                W[k].copy_(torch.randn(W.shape[1:], generator=gen) * std)

    # ------------------------------------------------------------------ the last pass, as torch

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
        """Per hidden layer {"before": BNCache or None, "after": …} of torch tensors (xhat
        (K, N, W); inv, xmean, xvar (K, 1, W)) for every network of the stack where any network
        has BN at that place: the networks with that BN hold what their BN computed, the others
        what it would have computed on their layer's values (unused; made only when read)."""
        def build():
            out = []
            for l, parts in enumerate(self._fwd["bn"]):
                entry = {"before": None, "after": None}
                for place, inputs in (("before", self._fwd["z"][l]), ("after", self._fwd["a"][l])):
                    if not parts[place]:
                        continue
                    if parts[place][0][:2] == (0, self.K):
                        full = parts[place][0].cache
                    else:
                        with np.errstate(all="ignore"):
                            ones = np.ones((self.K, 1, inputs.shape[2]), np.float32)
                            full = bn_train(inputs, ones, 0 * ones, self._eps)[1]
                        for part in parts[place]:
                            for whole, used in zip(full, part.cache):
                                whole[part.start:part.stop] = used
                    entry[place] = BNCache(*(torch.from_numpy(v) for v in full))
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
        if training and n < 2 and (self.any_before or self.any_after):
            raise ValueError(
                f"expected more than 1 value per channel when training, got a batch of {n}")
        updating = training and update_running and (self.any_before or self.any_after)
        if updating:
            self.num_batches_tracked += 1
            f = self._momentum_now()                                              # (K, 1)
        p = self._p
        us, zs, acts, caches = [u], [], [], []
        with np.errstate(all="ignore"):        # a diverging network may overflow: it is reported
            for l in range(len(self.hidden)):
                gamma, beta = p.gamma[l][:, None, :], p.beta[l][:, None, :]      # (K, 1, D)
                z = np.matmul(u, p.W[l].transpose(0, 2, 1))                       # (K, N, D)
                if not self.all_before:                       # BN before: no bias (b stays 0)
                    z += p.b[l][:, None, :]
                parts = {"before": [], "after": []}           # BNPart per run of K
                for start, stop in self._runs["before"]:
                    y, c = self._bn(z[start:stop], gamma, beta, l, training, start, stop)
                    parts["before"].append(BNPart(start, stop, c))
                    z = _put(z, start, stop, y)
                a = act(self.activation, z)                                      # (K, N, D)
                h = a
                for start, stop in self._runs["after"]:
                    y, c = self._bn(a[start:stop], gamma, beta, l, training, start, stop)
                    parts["after"].append(BNPart(start, stop, c))
                    h = _put(a.copy() if h is a else h, start, stop, y)
                if updating:
                    self._update_running(l, parts["before"] + parts["after"], f, n)
                zs.append(z)
                acts.append(a)
                caches.append(parts)
                u = h
                us.append(u)
            logits = np.matmul(u, p.Wo.transpose(0, 2, 1))                        # (K, N, C)
            logits += p.bo[:, None, :]
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
        """What the last training forward would fold into the running estimates: per layer its
        BNParts (xmean, xvar in their caches), and the batch size. For `fold_batch_statistics`."""
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
        rm, rv = self._running_mean[l], self._running_var[l]                     # (K, D)
        for start, stop, c in parts:
            running_update(rm[start:stop], c.xmean[:, 0], f[start:stop])
            running_update(rv[start:stop], c.xvar[:, 0] * (n / (n - 1)), f[start:stop])

    def _bn(self, x, gamma, beta, l, training, start, stop):
        """BN of networks start…stop−1 of layer l: x (k, N, D) → (y, BNCache or None)."""
        gamma, beta = gamma[start:stop], beta[start:stop]                         # (k, 1, D)
        eps = self._eps[start:stop]                                               # (k, 1, 1)
        if training:
            return bn_train(x, gamma, beta, eps)
        # eval mode: the fixed affine map of the paper's Algorithm 2,
        #   y = gamma/√(running_var + eps) · x + (beta − gamma · running_mean/√(running_var + eps))
        inv = self._running_var[l][start:stop, None, :] + eps                     # (k, 1, D)
        np.sqrt(inv, out=inv)
        np.reciprocal(inv, out=inv)
        scale = gamma * inv                                                       # (k, 1, D)
        y = x * scale
        y += beta - self._running_mean[l][start:stop, None, :] * scale
        return y, None

    def loss_and_dlogits(self, logits, y):
        """Per-network mean cross-entropy (K,) and ∂loss/∂logits (K, N, C) (`kernels.cross_entropy`):

            logp = logits − log Σ_c exp(logits_c)      loss = −mean_i logp[i, y_i]
            ∂loss/∂logits = (softmax(logits) − onehot(y)) / N
        """
        logits = torch.as_tensor(logits).detach().numpy()
        loss, dlogits = cross_entropy(logits, torch.as_tensor(y).detach().numpy())
        return torch.from_numpy(loss), torch.from_numpy(dlogits)

    def backward(self, dlogits):
        """Fill `self.grad` (K, P) with ∂loss/∂parameters, from the last training forward.
        (The BN parameters of networks without BN and the biases before BN keep gradient 0.)"""
        dl = torch.as_tensor(dlogits).detach().numpy()                           # (K, N, C)
        p, g, fwd = self._p, self._g, self._fwd
        with np.errstate(all="ignore"):
            np.matmul(dl.transpose(0, 2, 1), fwd["u"][-1], out=g.Wo)             # dWo (K, C, H)
            colsum(dl, out=g.bo[:, None, :])                                     # dbo (K, C)
            dh = np.matmul(dl, p.Wo)                                             # (K, N, H)
            for l in reversed(range(len(self.hidden))):
                gamma = p.gamma[l][:, None, :]                                   # (K, 1, D)
                dgamma, dbeta = g.gamma[l][:, None, :], g.beta[l][:, None, :]    # (K, 1, D) views
                da = dh
                for start, stop, c in fwd["bn"][l]["after"]:
                    dx, _, _ = bn_backward(dh[start:stop], gamma[start:stop], c.xhat, c.inv,
                                           dgamma[start:stop], dbeta[start:stop])
                    da = _put(da, start, stop, dx)
                dz = act_backward(self.activation, da, fwd["z"][l], fwd["a"][l])   # (K, N, D)
                for start, stop, c in fwd["bn"][l]["before"]:
                    dx, _, _ = bn_backward(dz[start:stop], gamma[start:stop], c.xhat, c.inv,
                                           dgamma[start:stop], dbeta[start:stop])
                    dz = _put(dz, start, stop, dx)
                np.matmul(dz.transpose(0, 2, 1), fwd["u"][l], out=g.W[l])        # dW (K, D, Din)
                if not self.all_before:
                    colsum(dz, out=g.b[l][:, None, :])                           # db (K, D)
                    for start, stop in self._runs["before"]:
                        g.b[l][start:stop] = 0.0                                 # no bias
                if l > 0:
                    dh = np.matmul(dz, p.W[l])                                   # (K, N, Din)
        return self.grad

    def grads(self) -> Params:
        """The last backward's gradients as torch views, laid out like the parameters:
        .W […(K, out, in)], .b, .gamma, .beta […(K, out)], .Wo (K, C, H), .bo (K, C)."""
        if "grads" not in self._views:
            self._views["grads"] = _views(self.grad, self._shapes)
        return self._views["grads"]

    # ------------------------------------------------------------------ optimizer

    def optimizer_step(self):
        """One step of the stack's optimizer on every active network (`bn_core.optim.step`)."""
        self.t += 1
        optim.step(self.optimizer, self.flat, self.grad, self.lr, self.opt_state, self.t,
                   None if self._active.all() else self.active,
                   self.weight_decay if self._decay else None)

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
