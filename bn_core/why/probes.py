"""Measurements of K networks at one point of their training that change nothing: Santurkar et
al.'s (2018) internal covariate shift (their Definition 2.1) and their loss landscape along the
gradient (§3.2), both on one mini-batch (x, y), batched over the K networks.

They work on any object with the engine's public interface (`bn_core.engine.Stack`, or the deep
linear network of `bn_core.why.linear`): `forward(x, training=True, update_running=False)`,
`loss_and_dlogits`, `backward`, the (K, P) buffers `flat` and `grad`, the named views `W`, `b`,
`gamma`, `beta` (and `Wo`, `bo` for a Stack), `grads()`, `lr` (K, 1), `optimizer_step()` and
`snapshot()` / `restore(snap)`. Every probe starts from `save` and ends with `restore`, so the
parameters, the optimizer state, BN's running statistics, the counters, the RNG states and the
last gradient come back bit for bit (tests/why/test_probes.py).

Internal covariate shift (ICS). Write θ = (W_1, …, W_k) for the k layers' parameters at step t
and L for the loss on the batch. Then, for layer i,

    G_i  = ∇_{W_i} L(W_1, …, W_k)                              the gradient of a normal step
    G′_i = ∇_{W_i} L(W_1⁺, …, W_{i−1}⁺, W_i, …, W_k)           after layers 1 … i−1 have taken
                                                                their step (θ⁺ = one optimizer
                                                                step from G on the same batch)
    ICS_i = ‖G_i − G′_i‖,   cos(G_i, G′_i) = ⟨G_i, G′_i⟩ / (‖G_i‖ ‖G′_i‖)

A layer's parameters are all of it (W, b, γ, β); the first layer has G′ = G by definition and is
not measured; a Stack's output layer (Wo, bo) is measured as the last layer.

Landscape along the gradient. With g = ∇L(θ) (all parameters), for step sizes η_j = c_j · lr:

    loss_j   = L(θ − η_j g)                                  "variation of the loss": their range
    change_j = ‖∇L(θ − η_j g) − ∇L(θ)‖                       "gradient predictiveness"
    beta_eff = max_j change_j / ‖η_j g‖                      "effective β-smoothness"

The paper steps 1/2 … 4 times the learning rate for its VGG (its appendix A.2.2): STEP_FACTORS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "STEP_FACTORS",
    "IcsSample",
    "LandscapeSample",
    "ics",
    "landscape",
    "layer_parts",
    "loss_and_grad",
    "restore",
    "save",
    "step_factors",
]

STEP_FACTORS = (0.5, 4.0)        # the paper's range of step sizes, × the learning rate


def step_factors(points: int = 8, lo: float = STEP_FACTORS[0], hi: float = STEP_FACTORS[1]):
    """`points` step-size factors from lo to hi, evenly spaced on a log scale (0.5 … 4:
    each ×1.35 the one before for 8 points)."""
    if points < 2 or not 0 < lo < hi:
        raise ValueError(f"expected at least 2 points and 0 < lo < hi, got {points}, {lo}, {hi}")
    return np.geomspace(lo, hi, int(points))


# ----------------------------------------------------------------------------- state

@dataclass
class _Saved:
    snap: object                  # the network's own snapshot (parameters, optimizer, BN, RNG)
    grad: torch.Tensor            # (K, P) the last backward's gradient (not in a snapshot)


def save(net) -> _Saved:
    """Everything a probe may change: the network's snapshot and its gradient buffer."""
    return _Saved(net.snapshot(), net.grad.clone())


def restore(net, saved: _Saved) -> None:
    net.restore(saved.snap)
    net.grad.copy_(saved.grad)


def loss_and_grad(net, x, y) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss (K,), gradient (K, P)) of the networks at their parameters on the batch (x, y), BN
    in training mode on the batch itself, the running statistics not updated. Both copies."""
    logits = net.forward(x, training=True, update_running=False)
    loss, dlogits = net.loss_and_dlogits(logits, y)
    net.backward(dlogits)
    return loss.clone(), net.grad.clone()


def layer_parts(net) -> list[tuple[list[torch.Tensor], callable]]:
    """Per layer (in order): its parameter views (W, and b, γ, β where it has them) and a function
    giving its weight-gradient view from `net.grads()`. A Stack's output layer comes last."""
    parts = []
    for l in range(len(net.W)):
        tensors = [t[l] for t in (net.W, getattr(net, "b", []), net.gamma, net.beta)
                   if len(t) > l]
        parts.append((tensors, lambda g, l=l: g.W[l]))
    if hasattr(net, "Wo"):
        parts.append(([net.Wo, net.bo], lambda g: g.Wo))
    return parts


def _norm(t: torch.Tensor) -> np.ndarray:
    """(K,) the l2 norm of each network's slice, in float64."""
    return np.linalg.norm(t.reshape(t.shape[0], -1).double().numpy(), axis=1)


# ----------------------------------------------------------------------------- ICS

@dataclass
class IcsSample:
    """ICS of layers 2 … k (rows, in order) of K networks at one step (module doc)."""

    layers: list[int]          # the measured layers, 0-based (1 … k − 1)
    diff: np.ndarray           # (layers, K) ‖G − G′‖
    cos: np.ndarray            # (layers, K) cos(G, G′)
    g_norm: np.ndarray         # (layers, K) ‖G‖
    loss: np.ndarray           # (K,) the loss on the batch at θ


def ics(net, x, y) -> IcsSample:
    """G and G′ of every layer but the first (module doc), on the batch (x, y)."""
    parts = layer_parts(net)
    saved = save(net)
    try:
        loss, g = loss_and_grad(net, x, y)
        G = [get(net.grads()).clone() for _, get in parts]             # each (K, out, in)
        net.grad.copy_(g)
        net.optimizer_step()                                           # θ⁺: every layer's step
        stepped = [[t.clone() for t in tensors] for tensors, _ in parts]
        restore(net, saved)
        rows = []
        for i in range(1, len(parts)):
            for t, new in zip(parts[i - 1][0], stepped[i - 1]):       # layers 1 … i−1 stepped
                t.copy_(new)
            loss_and_grad(net, x, y)
            G2 = parts[i][1](net.grads())
            d = G[i].double() - G2.double()
            dot = (G[i].double() * G2.double()).reshape(G2.shape[0], -1).sum(1).numpy()
            n1, n2 = _norm(G[i]), _norm(G2)
            with np.errstate(all="ignore"):
                cos = np.where((n1 > 0) & (n2 > 0), dot / (n1 * n2), np.nan)
            rows.append((_norm(d), cos, n1))
    finally:
        restore(net, saved)
    diff, cos, g_norm = (np.array([r[j] for r in rows]).reshape(len(rows), -1) for j in range(3))
    return IcsSample(list(range(1, len(parts))), diff, cos, g_norm, loss.double().numpy())


# ----------------------------------------------------------------------------- landscape

@dataclass
class LandscapeSample:
    """The loss and the gradient along −g of K networks at one step (module doc)."""

    factors: np.ndarray        # (J,) c_j: step η_j = c_j · lr
    loss0: np.ndarray          # (K,) L(θ)
    loss: np.ndarray           # (K, J) L(θ − η_j g)
    change: np.ndarray         # (K, J) ‖∇L(θ − η_j g) − ∇L(θ)‖
    distance: np.ndarray       # (K, J) ‖η_j g‖
    g_norm: np.ndarray         # (K,) ‖g‖

    @property
    def loss_range(self) -> tuple[np.ndarray, np.ndarray]:
        """(K,), (K,): the smallest and the largest loss along the steps."""
        return np.nanmin(self.loss, axis=1), np.nanmax(self.loss, axis=1)

    @property
    def beta(self) -> np.ndarray:
        """(K,) the effective β-smoothness, max_j change_j / distance_j."""
        with np.errstate(all="ignore"):
            return np.nanmax(np.where(self.distance > 0, self.change / self.distance, np.nan), 1)


def landscape(net, x, y, factors=None) -> LandscapeSample:
    """Steps of η_j = factors_j · lr along −∇L on the batch (x, y) (module doc)."""
    factors = step_factors() if factors is None else np.asarray(factors, dtype=np.float64)
    saved = save(net)
    try:
        loss0, g = loss_and_grad(net, x, y)
        theta = net.flat.clone()                                       # (K, P)
        g_norm = _norm(g)
        lr = net.lr.double().numpy()[:, 0]                             # (K,)
        k, J = g.shape[0], len(factors)
        loss, change, dist = np.empty((k, J)), np.empty((k, J)), np.empty((k, J))
        for j, c in enumerate(factors):
            eta = torch.from_numpy((c * lr).astype(np.float32)).view(k, 1)
            net.flat.copy_(theta - eta * g)
            loss_j, g_j = loss_and_grad(net, x, y)
            loss[:, j] = loss_j.double().numpy()
            change[:, j] = _norm(g_j - g)
            dist[:, j] = c * lr * g_norm
    finally:
        restore(net, saved)
    return LandscapeSample(factors, loss0.double().numpy(), loss, change, dist, g_norm)
