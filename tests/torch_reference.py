"""The tests' PyTorch reference: BN and the lessons' network written with autograd, to check
the engine (bn_core.engine.Stack) against. The app never runs it.

`BatchNorm1d` computes the same formulas as `bn_core.batchnorm` with tensor operations, and
autograd does the backward pass. It has the defaults, parameter and buffer names, state_dict
keys and train/eval behaviour of `torch.nn.BatchNorm1d` for (N, C) input.

`MLP` is the network the engine trains (K of them at once): fully connected hidden layers with a
chosen activation and BN placed nowhere, before the activation (the paper: on W·u, with the
linear bias dropped) or after it (on g(W·u + b)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from bn_core.batchnorm import check_eps, check_momentum

from bn_core.engine import ACTIVATIONS, PLACEMENTS

__all__ = ["BatchNorm1d", "MLP"]


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


_ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class HiddenLayer(nn.Module):
    """One hidden layer: linear → [bn] → activation → [bn], by placement.

        none:   h = g(W·u + b)
        before: h = g(BN(W·u))          (b dropped: the mean subtraction cancels it; β takes its role)
        after:  h = BN(g(W·u + b))

    `forward` returns (h, z) where z is the input to the activation g.
    """

    def __init__(self, in_dim, out_dim, activation, placement, eps, momentum):
        super().__init__()
        self.placement = placement
        self.linear = nn.Linear(in_dim, out_dim, bias=(placement != "before"))
        if placement == "before":
            self.bn = BatchNorm1d(out_dim, eps=eps, momentum=momentum)
        self.act = _ACT[activation]()
        if placement == "after":
            self.bn = BatchNorm1d(out_dim, eps=eps, momentum=momentum)

    def forward(self, u):
        z = self.linear(u)                          # (N, out)
        if self.placement == "before":
            z = self.bn(z)
        h = self.act(z)
        if self.placement == "after":
            h = self.bn(h)
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
            HiddenLayer(dims[i], dims[i + 1], activation, placement, eps, momentum)
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.activation_inputs = []
        h = x
        for layer in self.hidden:
            h, z = layer(h)
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
