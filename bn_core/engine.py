"""K networks of the same shape, trained in lockstep with an explicit backward pass.

The lessons train tiny networks (a few hundred units), where PyTorch spends most of its time
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from bn_core.layers import ACTIVATIONS, PLACEMENTS

__all__ = ["NetSpec", "Stack", "OPTIMIZERS"]

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


def _bn_train(x, gamma, beta, eps):
    """Training-mode BN of each of the K stacked batches. x: (K, N, D); gamma, beta: (K, 1, D)."""
    n = x.shape[1]
    xmean = x.sum(1, keepdim=True).mul_(1.0 / n)         # (K, 1, D)
    xc = x - xmean                                       # (K, N, D)
    xvar = (xc * xc).sum(1, keepdim=True).mul_(1.0 / n)  # (K, 1, D) biased
    inv = torch.rsqrt(xvar + eps)                        # (K, 1, D)  1/√(xvar + eps)
    xhat = xc.mul_(inv)                                  # (K, N, D)
    y = torch.addcmul(beta, gamma, xhat)                 # (K, N, D)  gamma·xhat + beta
    return y, (xhat, inv, xmean, xvar)


def _bn_backward(dy, gamma, xhat, inv):
    """Backward of `_bn_train`:
        dbeta  = Σ_i dy_i,   dgamma = Σ_i dy_i · xhat_i
        dx     = gamma/√(xvar+eps) · (dy − dbeta/N − xhat · dgamma/N)
    """
    n = dy.shape[1]
    dbeta = dy.sum(1, keepdim=True)                      # (K, 1, D)
    dgamma = (dy * xhat).sum(1, keepdim=True)            # (K, 1, D)
    mean_terms = torch.addcmul(dbeta * (1.0 / n), xhat, dgamma * (1.0 / n))  # (K, N, D)
    dx = (dy - mean_terms).mul_(gamma * inv)             # (K, N, D)
    return dx, dgamma, dbeta


def _act(name, z):
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    return torch.relu(z)


def _act_backward(name, da, z, a):
    """∂ℓ/∂z from ∂ℓ/∂a for a = g(z): sigmoid g' = a(1 − a), tanh g' = 1 − a², relu g' = [z > 0]."""
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward(da, a)
    if name == "tanh":
        return torch.ops.aten.tanh_backward(da, a)
    return torch.ops.aten.threshold_backward(da, z, 0.0)


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

    @torch.no_grad()
    def _init_weights(self):
        for k, spec in enumerate(self.specs):
            gen = torch.Generator().manual_seed(int(spec.seed))
            for W in [*self.W, self.Wo]:
                fan_in = W.shape[2]
                std = (1.0 / math.sqrt(fan_in)) if spec.init_scale is None else float(spec.init_scale)
                W[k].copy_(torch.randn(W.shape[1:], generator=gen) * std)

    # ------------------------------------------------------------------ forward / backward

    def forward(self, x, training=True, update_running=True):
        """Logits (K, N, C) for x (K, N, D_in) or (N, D_in) (the same inputs for every network).

        In training mode it keeps what the backward pass needs, among it `self.z[l]`, the
        (K, N, width) input to layer l's activation; BN uses the batch statistics and (if
        update_running) updates the running estimates. In eval mode BN uses the running
        estimates, and the activation inputs go to `self.eval_z` (the training caches stay).
        """
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.K, -1, -1)
        if training and x.shape[1] < 2 and (self.any_before or self.any_after):
            raise ValueError(
                f"expected more than 1 value per channel when training, got a batch of {x.shape[1]}"
            )
        if training and update_running and (self.any_before or self.any_after):
            self.num_batches_tracked += 1
            f = torch.where(self.cumulative, 1.0 / self.num_batches_tracked, self.bn_momentum)
            n = x.shape[1]
        us, zs, acts, caches = [x], [], [], []
        u = x
        for l in range(len(self.hidden)):
            gamma, beta = self.gamma[l].unsqueeze(1), self.beta[l].unsqueeze(1)   # (K, 1, D)
            z = torch.bmm(u, self.W[l].transpose(1, 2)).add_(self.b[l].unsqueeze(1))  # (K, N, D)
            cache = {"before": None, "after": None}
            if self.any_before:
                y, cache["before"] = self._bn(z, gamma, beta, l, training)
                z = y if self.all_before else torch.where(self.is_before, y, z)
            a = _act(self.activation, z)                                          # (K, N, D)
            h = a
            if self.any_after:
                y, cache["after"] = self._bn(a, gamma, beta, l, training)
                h = y if self.all_after else torch.where(self.is_after, y, a)
            if training and update_running and (self.any_before or self.any_after):
                xmean, xvar = self._batch_stats(cache)
                self.running_mean[l].lerp_(xmean, f)
                self.running_var[l].lerp_(xvar * (n / (n - 1)), f)
            zs.append(z)
            acts.append(a)
            caches.append(cache)
            u = h
            us.append(u)
        if training:
            self.u, self.z, self.a, self.bn_cache = us, zs, acts, caches
        else:
            self.eval_z = zs
        return torch.bmm(u, self.Wo.transpose(1, 2)).add_(self.bo.unsqueeze(1))  # (K, N, C)

    def _bn(self, x, gamma, beta, l, training):
        if training:
            return _bn_train(x, gamma, beta, self.eps)
        inv = torch.rsqrt(self.running_var[l].unsqueeze(1) + self.eps)            # (K, 1, D)
        xhat = (x - self.running_mean[l].unsqueeze(1)) * inv
        return torch.addcmul(beta, gamma, xhat), None

    def _batch_stats(self, cache):
        """(xmean, xvar) of the BN each network uses in this layer, each (K, D)."""
        before, after = cache["before"], cache["after"]
        if before is not None and after is not None:
            mean = torch.where(self.is_before[:, 0], before[2][:, 0], after[2][:, 0])
            var = torch.where(self.is_before[:, 0], before[3][:, 0], after[3][:, 0])
            return mean, var
        used = before if before is not None else after
        return used[2][:, 0], used[3][:, 0]

    def loss_and_dlogits(self, logits, y):
        """Per-network mean cross-entropy (K,) and ∂loss/∂logits (K, N, C)."""
        n = logits.shape[1]
        logp = torch.log_softmax(logits, dim=2)                                  # (K, N, C)
        idx = y.unsqueeze(-1) if y.dim() == 2 else y.view(1, -1, 1).expand(self.K, -1, 1)
        loss = -logp.gather(2, idx).squeeze(2).mean(1)                           # (K,)
        dlogits = logp.exp_()                                                    # softmax
        dlogits.scatter_add_(2, idx, torch.full(idx.shape, -1.0))
        return loss, dlogits.mul_(1.0 / n)

    def backward(self, dlogits):
        """Fill `self.grad` (K, P) with ∂loss/∂parameters, from the last training forward."""
        L = len(self.hidden)
        grads = [None] * (4 * L + 2)
        h = self.u[L]
        grads[4 * L] = torch.bmm(dlogits.transpose(1, 2), h)                     # dWo (K, C, H)
        grads[4 * L + 1] = dlogits.sum(1)                                         # dbo (K, C)
        dh = torch.bmm(dlogits, self.Wo)                                          # (K, N, H)
        for l in reversed(range(L)):
            gamma = self.gamma[l].unsqueeze(1)
            before_c, after_c = self.bn_cache[l]["before"], self.bn_cache[l]["after"]
            dgamma = dbeta = None
            da = dh
            if after_c is not None:
                dx, dg, db = _bn_backward(dh, gamma, after_c[0], after_c[1])
                if self.all_after:
                    da, dgamma, dbeta = dx, dg, db
                else:
                    da = torch.where(self.is_after, dx, dh)
                    dgamma = torch.where(self.is_after, dg, 0.0)   # not dg·mask: NaN·0 = NaN
                    dbeta = torch.where(self.is_after, db, 0.0)
            dz = _act_backward(self.activation, da, self.z[l], self.a[l])        # (K, N, D)
            if before_c is not None:
                dx, dg, db = _bn_backward(dz, gamma, before_c[0], before_c[1])
                if self.all_before:
                    dz, dgamma, dbeta = dx, dg, db
                else:
                    dz = torch.where(self.is_before, dx, dz)
                    dg, db = torch.where(self.is_before, dg, 0.0), torch.where(self.is_before, db, 0.0)
                    dgamma = dg if dgamma is None else dgamma + dg
                    dbeta = db if dbeta is None else dbeta + db
            u = self.u[l]
            grads[4 * l] = torch.bmm(dz.transpose(1, 2), u)                       # dW (K, D, Din)
            grads[4 * l + 1] = dz.sum(1) * self.has_bias                          # db (K, D)
            zeros = None
            if dgamma is None:
                zeros = torch.zeros(self.K, self.dims[l + 1])
            grads[4 * l + 2] = zeros if dgamma is None else dgamma.squeeze(1)
            grads[4 * l + 3] = zeros if dbeta is None else dbeta.squeeze(1)
            if l > 0:
                dh = torch.bmm(dz, self.W[l])                                     # (K, N, Din)
        torch.cat([g.reshape(self.K, -1) for g in grads], dim=1, out=self.grad)
        return self.grad

    def grads(self) -> dict:
        """Views of the last backward's gradients, laid out like the parameters:
        {"W": [(K, out, in)…], "b": […], "gamma": […], "beta": […], "Wo": (K, C, H), "bo": (K, C)}."""
        v = _flat_views(self.grad, self._shapes)
        L = len(self.hidden)
        return {"W": v[0:4 * L:4], "b": v[1:4 * L:4], "gamma": v[2:4 * L:4],
                "beta": v[3:4 * L:4], "Wo": v[4 * L], "bo": v[4 * L + 1]}

    # ------------------------------------------------------------------ optimizer

    @torch.no_grad()
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
        if not bool(self.active.all()):
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
