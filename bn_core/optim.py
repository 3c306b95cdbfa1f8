"""The optimizers of the lessons, on a (K, P) buffer of K networks' parameters at once, exactly as
torch.optim computes them (tests/test_engine.py checks every step against torch.optim):

    weight decay (L2, as torch.optim's weight_decay): g ← g + wd·p, first
    sgd:      p ← p − lr·g
    momentum: buf ← 0.9·buf + g (buf = g at the first step);  p ← p − lr·buf
    adam:     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
              p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + 1e-8)        (β1, β2 = 0.9, 0.999)

lr and wd are per network, (K, 1). A network that diverged (not active) takes no step: its gradient's
NaNs are set to 0 and its lr to 0, so they cannot reach the others' state.
"""

from __future__ import annotations

import math

import torch

__all__ = ["OPTIMIZERS", "state", "step", "SGD_MOMENTUM", "ADAM_BETAS", "ADAM_EPS"]

OPTIMIZERS = ("sgd", "momentum", "adam")
SGD_MOMENTUM = 0.9                        # the "momentum" optimizer: torch.optim.SGD(momentum=0.9)
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


def state(optimizer: str, flat: torch.Tensor) -> list[torch.Tensor]:
    """The optimizer's buffers, zero, shaped like the parameters: momentum's buf, Adam's m and v."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"expected optimizer in {OPTIMIZERS}, got {optimizer!r}")
    return [torch.zeros_like(flat) for _ in range(2 if optimizer == "adam" else 1)]


def step(optimizer: str, flat: torch.Tensor, grad: torch.Tensor, lr: torch.Tensor,
         buffers: list[torch.Tensor], t: int, active: torch.Tensor | None = None,
         weight_decay: torch.Tensor | None = None) -> None:
    """The t-th step (t ≥ 1) of `optimizer` on flat (K, P) in place, from grad (K, P), lr and
    weight_decay (K, 1); active (K,) bool: the networks that still train (None: all). Weight
    decay applies to every parameter, as torch.optim's does on `net.parameters()`."""
    g = grad
    if active is not None:
        g = torch.nan_to_num_(g, nan=0.0, posinf=0.0, neginf=0.0)
        lr = lr * active.view(-1, 1)
    if weight_decay is not None:
        g = g.addcmul(flat, weight_decay)                   # g + wd·p (a new tensor: grad stays)
    if optimizer == "sgd":
        flat.addcmul_(g, lr, value=-1.0)
    elif optimizer == "momentum":
        buf = buffers[0]
        if t == 1:
            buf.copy_(g)
        else:
            buf.mul_(SGD_MOMENTUM).add_(g)
        flat.addcmul_(buf, lr, value=-1.0)
    else:
        b1, b2 = ADAM_BETAS
        m, v = buffers
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        denom = (v.sqrt() / math.sqrt(bc2)).add_(ADAM_EPS)
        flat.addcdiv_(m * (lr / bc1), denom, value=-1.0)
