"""Deep linear networks (DLN), K of them stacked: the second model of Santurkar et al. (2018),
where they found that with BN the gradients G and G′ of their Definition 2.1 are "almost
uncorrelated" while the network trains much better.

Network k has `depth` layers of square weights (dim × dim) and no nonlinearity:

    u_0 = x                      (N, dim)
    z_l = u_{l−1} W_lᵀ           l = 1 … depth − 1
    u_l = BN(z_l)  with BN ("before": on W·u, no bias),   or   u_l = z_l  without ("none")
    ŷ   = u_{depth−1} W_depthᵀ
    loss = (1/N) Σ_n ‖ŷ_n − A x_n‖²                 the squared error, mean over the N examples

trained by full-batch gradient descent on one fixed regression problem (`problem`): x ~ N(0, I),
A with i.i.d. N(0, 1/dim) entries (so that A·x has unit variance per output). The paper: 25
layers, 10 × 10, 1,000 examples, Glorot initialisation (Gaussian, std √(2/(fan_in + fan_out)) =
1/√dim here). BN always uses the batch's own statistics (the batch is the whole training set),
so the network keeps no running estimates.

`DeepLinear` has the engine's public interface (as `bn_core.engine.Stack`): `forward`,
`loss_and_dlogits`, `backward`, `grads()`, the (K, P) buffers `flat` and `grad` with named views
`W`, `gamma`, `beta`, `lr`, `optimizer_step`, `snapshot`/`restore`; so the probes of
`bn_core.why.probes` measure it as they measure a Stack. tests/why/test_linear.py checks the
gradients against autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from bn_core import optim
from bn_core.kernels import bn_backward, bn_train

__all__ = ["DeepLinear", "LinearParams", "Problem", "problem"]


class LinearParams(NamedTuple):
    """Views of one (K, P) buffer: W per layer (K, dim, dim), γ and β per BN layer (K, dim)."""

    W: list
    gamma: list
    beta: list


def _views(buffer, depth: int, dim: int, out_dim: int) -> LinearParams:
    k, off, W, gamma, beta = buffer.shape[0], 0, [], [], []
    for l in range(depth):
        rows = out_dim if l == depth - 1 else dim
        W.append(buffer[:, off:off + rows * dim].reshape(k, rows, dim))
        off += rows * dim
        if l < depth - 1:
            gamma.append(buffer[:, off:off + dim])
            beta.append(buffer[:, off + dim:off + 2 * dim])
            off += 2 * dim
    return LinearParams(W, gamma, beta)


@dataclass(frozen=True)
class Problem:
    """A regression problem: inputs x (N, dim) and targets A·x (N, dim)."""

    x: np.ndarray
    target: np.ndarray
    A: np.ndarray


def problem(dim: int = 10, n: int = 1000, seed: int = 0) -> Problem:
    """x ~ N(0, I) (n, dim), A with i.i.d. N(0, 1/dim) entries, targets A·x, from `seed`."""
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(n, dim, generator=gen)
    A = torch.randn(dim, dim, generator=gen) / math.sqrt(dim)
    return Problem(x.numpy(), (x @ A.T).numpy(), A.numpy())


class DeepLinear:
    """K deep linear networks of one shape (module doc); specs: `bn_core.engine.NetSpec`s, of
    which placement ("none" or "before"), lr, eps and seed are used; SGD, full batch."""

    def __init__(self, dim: int, depth: int, specs, out_dim: int | None = None):
        if depth < 2 or dim < 1:
            raise ValueError(f"expected depth ≥ 2 and dim ≥ 1, got {depth}, {dim}")
        for s in specs:
            if s.placement not in ("none", "before"):
                raise ValueError(f"expected placement 'none' or 'before', got {s.placement!r}")
        self.specs, self.dim, self.depth = list(specs), int(dim), int(depth)
        self.out_dim = int(out_dim or dim)
        k = self.K = len(self.specs)
        self.P = (depth - 1) * (dim * dim + 2 * dim) + self.out_dim * dim
        self.flat = torch.zeros(k, self.P)                                    # (K, P)
        self.grad = torch.zeros_like(self.flat)
        self.W, self.gamma, self.beta = _views(self.flat, depth, dim, self.out_dim)
        self._p = _views(self.flat.numpy(), depth, dim, self.out_dim)
        self._g = _views(self.grad.numpy(), depth, dim, self.out_dim)
        for g in self.gamma:
            g.fill_(1.0)
        self.lr = torch.tensor([[s.lr] for s in self.specs], dtype=torch.float32)   # (K, 1)
        self._eps = np.array([s.eps for s in self.specs], np.float32).reshape(k, 1, 1)
        bn = [s.placement == "before" for s in self.specs]
        self._bn = [(a, b) for a, b in _runs(bn)]            # contiguous runs of BN networks
        self.active = torch.ones(k, dtype=torch.bool)
        self.t = 0
        self.opt_state = optim.state("sgd", self.flat)
        for i, s in enumerate(self.specs):
            gen = torch.Generator().manual_seed(int(s.seed))
            for W in self.W:                                 # Glorot: √(2/(fan_in + fan_out))
                std = math.sqrt(2.0 / (W.shape[1] + W.shape[2]))
                W[i].copy_(torch.randn(W.shape[1:], generator=gen) * std)
        self._fwd = None

    # -------------------------------------------------------------- the engine's interface

    def forward(self, x, training: bool = True, update_running: bool = False) -> torch.Tensor:
        """ŷ (K, N, out) for x (N, dim) or (K, N, dim); BN on the batch's own statistics."""
        u = np.asarray(x.numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
        us, caches = [u], []
        with np.errstate(all="ignore"):
            for l in range(self.depth - 1):
                z = np.matmul(u, self._p.W[l].transpose(0, 2, 1))               # (K, N, dim)
                parts = []
                for a, b in self._bn:
                    gamma = self._p.gamma[l][a:b, None, :]                       # (k, 1, dim)
                    beta = self._p.beta[l][a:b, None, :]
                    y, c = bn_train(np.ascontiguousarray(z[a:b]), gamma, beta, self._eps[a:b])
                    z[a:b] = y
                    parts.append((a, b, c))
                caches.append(parts)
                u = z
                us.append(u)
            out = np.matmul(u, self._p.W[-1].transpose(0, 2, 1))                # (K, N, out)
        self._fwd = (us, caches)
        return torch.from_numpy(out)

    def loss_and_dlogits(self, out, target):
        """Per-network loss (K,) = (1/N) Σ_n ‖ŷ_n − y_n‖² and its gradient 2(ŷ − y)/N."""
        out = torch.as_tensor(out).numpy()
        target = np.asarray(torch.as_tensor(target).numpy(), dtype=np.float32)
        n = out.shape[1]
        with np.errstate(all="ignore"):
            err = out - target                                                  # (K, N, out)
            loss = (np.square(err, dtype=np.float64).sum((1, 2)) / n).astype(np.float32)
            return torch.from_numpy(loss), torch.from_numpy(err * np.float32(2 / n))

    def backward(self, dout) -> torch.Tensor:
        """Fill `grad` (K, P) from the last forward: dW_l = dz_lᵀ u_{l−1}, BN's backward between."""
        us, caches = self._fwd
        g, p = self._g, self._p
        d = torch.as_tensor(dout).numpy()
        with np.errstate(all="ignore"):
            np.matmul(d.transpose(0, 2, 1), us[-1], out=g.W[-1])
            du = np.matmul(d, p.W[-1])                                          # (K, N, dim)
            for l in reversed(range(self.depth - 1)):
                for a, b, c in caches[l]:
                    gamma = p.gamma[l][a:b, None, :]
                    dx, dgamma, dbeta = bn_backward(np.ascontiguousarray(du[a:b]), gamma,
                                                    c.xhat, c.inv)
                    du[a:b] = dx
                    g.gamma[l][a:b] = dgamma[:, 0]
                    g.beta[l][a:b] = dbeta[:, 0]
                np.matmul(du.transpose(0, 2, 1), us[l], out=g.W[l])
                if l > 0:
                    du = np.matmul(du, p.W[l])
        return self.grad

    def grads(self) -> LinearParams:
        return _views(self.grad, self.depth, self.dim, self.out_dim)

    def optimizer_step(self) -> None:
        """One SGD step of every active network (`bn_core.optim.step`)."""
        self.t += 1
        optim.step("sgd", self.flat, self.grad, self.lr, self.opt_state, self.t,
                   None if bool(self.active.all()) else self.active)

    def snapshot(self) -> dict:
        return {"flat": self.flat.clone(), "t": self.t, "active": self.active.clone()}

    def restore(self, snap: dict) -> None:
        self.flat.copy_(snap["flat"])
        self.t = snap["t"]
        self.active.copy_(snap["active"])

    @property
    def b(self) -> list:
        """No biases (the DLN is W_depth ⋯ W_1 x; its BN layers need none): an empty list, for
        the probes that step every layer's parameters."""
        return []


def _runs(mask) -> list[tuple[int, int]]:
    """(start, stop) of each run of consecutive True."""
    runs, start = [], None
    for k, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = k
        elif not m and start is not None:
            runs.append((start, k))
            start = None
    return runs
