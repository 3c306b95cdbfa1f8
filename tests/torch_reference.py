"""The tests' PyTorch reference: BN and the lessons' network written with autograd, to check
the engine (bn_core.engine.Stack) against. The app never runs it.

`BatchNorm1d` computes the same formulas as `bn_core.batchnorm` with tensor operations, and
autograd does the backward pass. It has the defaults, parameter and buffer names, state_dict
keys and train/eval behaviour of `torch.nn.BatchNorm1d` for (N, C) input.

`MLP` is the network the engine trains (K of them at once): fully connected hidden layers with a
chosen activation and BN placed nowhere, before the activation (the paper: on W·u, with the
linear bias dropped) or after it (on g(W·u + b)). `norm` puts another normaliser in BN's place:
torch's own `F.layer_norm`, `F.group_norm`, `F.rms_norm`, or `BatchRenorm1d` (autograd, r and d
detached). Dropout and Santurkar's noise take the engine's draws (`forward(x, masks, noise)`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bn_core.batchnorm import check_eps, check_momentum

from bn_core.engine import ACTIVATIONS, PLACEMENTS

__all__ = ["BatchNorm1d", "BatchRenorm1d", "PerExampleNorm", "MLP"]


class BatchNorm1d(nn.Module):
    """BN over a mini-batch of shape (N, C), one normalisation per feature (channel).

    Training mode (Algorithm 1), with the running estimates updated as PyTorch does:

        xmean = x.mean(0)                                  # μ_B  (C,)
        xvar  = ((x − xmean)²).mean(0)                     # σ²_B (C,) biased
        y     = weight · (x − xmean) / √(xvar + eps) + bias
        running_mean ← (1 − momentum) · running_mean + momentum · xmean
        running_var  ← (1 − momentum) · running_var  + momentum · xvar · N/(N − 1)

    momentum=None: cumulative average (momentum = 1/num_batches_tracked).
    Eval mode: y = weight · (x − running_mean) / √(running_var + eps) + bias.
    Unlike torch, eps = 0 is allowed (a lesson shows what it does on a constant feature).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__()
        if int(num_features) < 1:
            raise ValueError(f"expected num_features >= 1, got {num_features}")
        self.num_features = int(num_features)
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum)
        self.weight = nn.Parameter(torch.ones(self.num_features))   # gamma
        self.bias = nn.Parameter(torch.zeros(self.num_features))    # beta
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(
                f"expected a 2-D input of shape (N, C) (N examples, C features), got shape "
                f"{tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"expected {self.num_features} features (input shape (N, {self.num_features})), "
                f"got {x.shape[1]} (input shape {tuple(x.shape)})"
            )
        if not self.training:
            xhat = (x - self.running_mean) / torch.sqrt(self.running_var + self.eps)
            return self.weight * xhat + self.bias
        n = x.shape[0]
        if n < 2:
            raise ValueError(
                "expected more than 1 value per channel when training, got input shape "
                f"{tuple(x.shape)}: batch statistics need at least 2 examples"
            )
        xmean = x.mean(0)                          # (C,)
        xc = x - xmean                             # (N, C)
        xvar = (xc * xc).mean(0)                   # (C,) biased
        xhat = xc / torch.sqrt(xvar + self.eps)    # (N, C)
        with torch.no_grad():
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
            else:
                factor = self.momentum
            self.running_mean.mul_(1 - factor).add_(xmean.detach(), alpha=factor)
            self.running_var.mul_(1 - factor).add_(xvar.detach() * (n / (n - 1)), alpha=factor)
        return self.weight * xhat + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchRenorm1d(BatchNorm1d):
    """Batch Renormalization (Ioffe 2017) with autograd, for (N, C) input; BN's buffers and eval.

        sigma = √(running_var + eps)
        r = clip(√(xvar + eps)/sigma, 1/r_max, r_max)          detached: constants in backprop
        d = clip((xmean − running_mean)/sigma, −d_max, d_max)  detached
        y = weight · ((x − xmean)/√(xvar + eps) · r + d) + bias
    with r, d from the running statistics before this batch's update (as BN's update).
    """

    r_max, d_max = 1.0, 0.0

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        n = x.shape[0]
        xmean = x.mean(0)
        xc = x - xmean
        xvar = (xc * xc).mean(0)
        std = torch.sqrt(xvar + self.eps)
        sigma = torch.sqrt(self.running_var + self.eps)
        r = torch.clamp(std.detach() / sigma, 1.0 / self.r_max, self.r_max).detach()
        d = torch.clamp((xmean.detach() - self.running_mean) / sigma, -self.d_max, self.d_max).detach()
        xhat = xc / std * r + d
        with torch.no_grad():
            self.num_batches_tracked += 1
            f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.mul_(1 - f).add_(xmean.detach(), alpha=f)
            self.running_var.mul_(1 - f).add_(xvar.detach() * (n / (n - 1)), alpha=f)
        return self.weight * xhat + self.bias


class PerExampleNorm(nn.Module):
    """LayerNorm, GroupNorm (groups of consecutive channels) or RMSNorm of (N, C) input, by
    torch's functional ops; weight 1, bias 0 at the start (RMSNorm: no bias). No running
    statistics: the same in training and eval mode."""

    def __init__(self, kind, num_features, eps=1e-5, groups=1):
        super().__init__()
        self.kind, self.eps, self.groups = kind, eps, groups
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = None if kind == "rms" else nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        if self.kind == "layer":
            return F.layer_norm(x, (x.shape[1],), self.weight, self.bias, self.eps)
        if self.kind == "group":
            return F.group_norm(x, self.groups, self.weight, self.bias, self.eps)
        return F.rms_norm(x, (x.shape[1],), self.weight, self.eps)


def make_norm(norm, num_features, eps, momentum, groups):
    if norm == "batch":
        return BatchNorm1d(num_features, eps=eps, momentum=momentum)
    if norm == "renorm":
        return BatchRenorm1d(num_features, eps=eps, momentum=momentum)
    return PerExampleNorm(norm, num_features, eps, groups)


_ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class HiddenLayer(nn.Module):
    """One hidden layer: linear → [bn] → activation → [bn], by placement.

        none:   h = g(W·u + b)
        before: h = g(BN(W·u))          (b dropped: the mean subtraction cancels it; β takes its role)
        after:  h = BN(g(W·u + b))

    `forward` returns (h, z) where z is the input to the activation g. With another `norm` it
    takes BN's place (`bn`); the bias is dropped only before BN or Batch Renorm, whose centring
    cancels it. noise (m, n): y ← n·y + m after the normaliser; mask: h ← h·mask.
    """

    def __init__(self, in_dim, out_dim, activation, placement, eps, momentum, norm="batch",
                 groups=1):
        super().__init__()
        self.placement = placement
        bias = not (placement == "before" and norm in ("batch", "renorm"))
        self.linear = nn.Linear(in_dim, out_dim, bias=bias)
        if placement == "before":
            self.bn = make_norm(norm, out_dim, eps, momentum, groups)
        self.act = _ACT[activation]()
        if placement == "after":
            self.bn = make_norm(norm, out_dim, eps, momentum, groups)

    def forward(self, u, mask=None, noise=None):
        z = self.linear(u)                          # (N, out)
        if self.placement == "before":
            z = self.bn(z)
            if noise is not None:
                z = noise[1] * z + noise[0]
        h = self.act(z)
        if self.placement == "after":
            h = self.bn(h)
            if noise is not None:
                h = noise[1] * h + noise[0]
        if mask is not None:
            h = h * mask
        return h, z


class MLP(nn.Module):
    """Fully connected network: hidden layers (see `HiddenLayer`) and a linear output (logits).

    Weights are drawn from one `torch.Generator(seed)` in the same order whatever the placement,
    so networks built from the same seed start from the same W in every layer:
    init_scale=None → Gaussian with std 1/√fan_in (a standard fan-in init);
    init_scale=s    → Gaussian with std s (the paper's "small random Gaussian values").
    Linear biases start at 0; BN starts at γ = 1, β = 0.

    After each forward, `activation_inputs[l]` is the (N, width) input to layer l's activation,
    so a trainer can record it without a second forward pass.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int] = (100, 100, 100),
        out_dim: int = 10,
        activation: str = "sigmoid",
        placement: str = "none",
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        init_scale: float | None = None,
        seed: int = 0,
        norm: str = "batch",
        groups: int = 1,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"expected activation in {ACTIVATIONS}, got {activation!r}")
        if placement not in PLACEMENTS:
            raise ValueError(f"expected placement in {PLACEMENTS}, got {placement!r}")
        hidden = [int(w) for w in hidden]
        if not hidden or min(hidden) < 1 or int(in_dim) < 1 or int(out_dim) < 1:
            raise ValueError(
                f"expected positive sizes (in_dim, hidden widths, out_dim), got {in_dim}, "
                f"{hidden}, {out_dim}"
            )
        if init_scale is not None and not (float(init_scale) > 0 and math.isfinite(init_scale)):
            raise ValueError(f"expected init_scale > 0 or None, got {init_scale}")
        self.activation = activation
        self.placement = placement
        dims = [int(in_dim), *hidden]
        self.hidden = nn.ModuleList(
            HiddenLayer(dims[i], dims[i + 1], activation, placement, eps, momentum, norm, groups)
            for i in range(len(hidden))
        )
        self.out = nn.Linear(dims[-1], int(out_dim))
        self.activation_inputs: list[torch.Tensor] = []
        self.reset_parameters(init_scale, seed)

    @torch.no_grad()
    def reset_parameters(self, init_scale: float | None, seed: int) -> None:
        gen = torch.Generator().manual_seed(int(seed))
        for linear in [layer.linear for layer in self.hidden] + [self.out]:
            fan_in = linear.in_features
            std = (1.0 / math.sqrt(fan_in)) if init_scale is None else float(init_scale)
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=gen) * std)
            if linear.bias is not None:
                linear.bias.zero_()

    def forward(self, x: torch.Tensor, masks=None, noise=None) -> torch.Tensor:
        """masks[l]: layer l's dropout multiplier (N, width) or None; noise[l]: its (m, n)."""
        self.activation_inputs = []
        h = x
        for l, layer in enumerate(self.hidden):
            h, z = layer(h, None if masks is None else masks[l], None if noise is None else noise[l])
            self.activation_inputs.append(z)
        return self.out(h)

    def bn_layers(self) -> list[BatchNorm1d | None]:
        """The BN layer of each hidden layer (None where there is none)."""
        return [getattr(layer, "bn", None) for layer in self.hidden]

    def layer_order(self) -> list[list[str]]:
        """Names of each hidden layer's operations in order, e.g. ['linear', 'bn', 'sigmoid']."""
        return [
            [self.activation if name == "act" else name for name, _ in layer.named_children()]
            for layer in self.hidden
        ]
