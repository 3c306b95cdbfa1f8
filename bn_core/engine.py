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

then logits = Wo·h + bo and the mean cross-entropy loss. `NetSpec.norm` puts LayerNorm, GroupNorm,
RMSNorm or Batch Renorm in BN's place (bn_core.normalizers; the first three keep b), and in
training mode `NetSpec.noise` adds noise after it and `NetSpec.dropout` drops units of h. The
backward pass is written out in `Stack.backward`; `tests/test_engine.py` checks every gradient
and every optimizer step against autograd networks (`tests/torch_reference.py`) and `torch.optim`.

The parameters, gradients and BN buffers are torch tensors (the public interface); the hot path
works on numpy views of the same memory (numpy's operations start faster on arrays this small).
BN's forward and backward, the activation's derivative, the loss and the running averages are
`bn_core.kernels` (compiled loops, or their numpy twins). A BN is computed only for the networks
that have it, on their slice of the K axis: keep the networks of one placement and normaliser
next to each other (as `Run` and the sweeps do), one slice each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from bn_core import normalizers as norms
from bn_core import optim
from bn_core.kernels import BNCache, act, act_backward, colsum, cross_entropy, one_blas_thread
from bn_core.normalizers import running_update
from bn_core.optim import OPTIMIZERS

__all__ = ["NetSpec", "Stack", "Params", "ACTIVATIONS", "PLACEMENTS", "OPTIMIZERS",
           "running_update"]

ACTIVATIONS = ("sigmoid", "tanh", "relu")
PLACEMENTS = norms.PLACEMENTS


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
    norm: str = "batch"                 # the normaliser at the placement: batch | layer | group |
                                        # rms | renorm (bn_core.normalizers.NORMS)
    groups: int = 1                     # GroupNorm's groups of consecutive units
    dropout: float = 0.0                # drop probability p of inverted dropout on h, training
    dropout_layers: str = "all"         # all hidden layers, or only after the "last"
    noise: float = 0.0                  # noisy-BN strength s (0: off; 1: Santurkar et al.'s)


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
        for name, value, allowed in (("activation", activation, ACTIVATIONS),
                                     ("optimizer", optimizer, OPTIMIZERS)):
            if value not in allowed:
                raise ValueError(f"expected {name} in {allowed}, got {value!r}")
        if not specs:
            raise ValueError("expected at least one NetSpec, got none")
        self.hidden = [int(w) for w in hidden]
        for s in specs:
            norms.check_spec(s, self.hidden)
        self.specs, self.activation, self.optimizer = list(specs), activation, optimizer
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
        self._runs = {p: norms.runs(specs, p) for p in ("before", "after")}
        self.any_before, self.any_after = bool(self._runs["before"]), bool(self._runs["after"])
        self.all_before = all(s.placement == "before" for s in specs)
        self._running = any(r.norm in norms.RUNNING for p in self._runs.values() for r in p)
        self._no_bias = [r[:2] for r in self._runs["before"] if r.norm in norms.RUNNING]
        self._has_bias = sum(b - a for a, b in self._no_bias) < k  # BN before: (a, b) have none
        self.draws_from = norms.TrainingNoise(specs, len(self.hidden))    # dropout and noisy BN
        self.r_max, self.d_max = np.ones((k, 1, 1), np.float32), np.zeros((k, 1, 1), np.float32)
        self.renorm_schedule = None                       # t → (r_max, d_max): set_renorm_limits
        self.running_mean = [torch.zeros(k, w) for w in self.hidden]
        self.running_var = [torch.ones(k, w) for w in self.hidden]
        self._running_mean, self._running_var = ([t.numpy() for t in ts] for ts in
                                                 (self.running_mean, self.running_var))
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
        has BN (or Batch Renorm) at that place: the networks with it hold what their BN computed
        (Batch Renorm: its BN part, before r and d), the others what BN would have computed on
        their layer's values (unused; made only when read)."""
        def build():
            out = []
            for l, parts in enumerate(self._fwd["bn"]):
                entry = {"before": None, "after": None}
                for place, inputs in (("before", self._fwd["z"][l]), ("after", self._fwd["a"][l])):
                    if parts[place]:
                        full = norms.full_bn_cache(parts[place], inputs, self._eps)
                        entry[place] = BNCache(*(torch.from_numpy(v) for v in full))
                out.append(entry)
            return out
        return self._torch("bn_cache", build)

    @property
    def draws(self) -> list[dict]:
        """The last training forward's random draws, per hidden layer: {"dropout": {k: mask
        (N, width)}, "before": {k: (m, n)}, "after": {k: (m, n)}} (numpy, network k's only)."""
        return [{"dropout": dict(lay["drop"]), "before": lay["before"][1],
                 "after": lay["after"][1]} for lay in self._fwd["layers"]]

    @property
    def eval_z(self) -> list[torch.Tensor]:
        """Per hidden layer, the (K, N, width) activation input of the last eval-mode forward."""
        return self._torch("eval_z", lambda: [torch.from_numpy(v) for v in self._eval])

    # ------------------------------------------------------------------ forward / backward

    def forward(self, x, training=True, update_running=True):
        """Logits (K, N, C) for x (K, N, D_in) or (N, D_in) (the same inputs for every network).

        In training mode it keeps what the backward pass needs, among it `self.z[l]`, the
        (K, N, width) input to layer l's activation; BN uses the batch statistics and (if
        update_running) updates the running estimates; the networks with dropout or noise draw
        them. In eval mode BN uses the running estimates, there is no dropout and no noise, and
        the activation inputs go to `self.eval_z` (the training caches stay).
        """
        if isinstance(x, np.ndarray) and x.dtype == np.float32:
            u = x                              # (N, D_in) broadcast over K, or (K, N, D_in)
        else:
            u = torch.as_tensor(x, dtype=torch.float32).detach().numpy()
        n = u.shape[-2]
        if training and n < 2 and self._running:
            raise ValueError(
                f"expected more than 1 value per channel when training, got a batch of {n}")
        updating = training and update_running and self._running
        if updating:
            self.num_batches_tracked += 1
            f = norms.momentum_now(self._bn_momentum, self._cumulative, self.num_batches_tracked)
        if training and self.renorm_schedule is not None:
            self.set_renorm_limits(*self.renorm_schedule(self.t))
        p = self._p
        us, zs, acts, caches, layers = [u], [], [], [], []
        with np.errstate(all="ignore"):        # a diverging network may overflow: it is reported
            for l in range(len(self.hidden)):
                z = np.matmul(u, p.W[l].transpose(0, 2, 1))                       # (K, N, D)
                if self._has_bias:                   # (a network without one keeps b = 0)
                    z += p.b[l][:, None, :]
                args = (p.gamma[l][:, None, :], p.beta[l][:, None, :], self._eps,
                        self._running_mean[l], self._running_var[l], self.r_max, self.d_max)
                lay = {"drop": []}
                z, *lay["before"] = norms.forward_runs(self._runs["before"], z, *args, training,
                                                       self.draws_from)
                a = act(self.activation, z)                                      # (K, N, D)
                h, *lay["after"] = norms.forward_runs(self._runs["after"], a, *args, training,
                                                      self.draws_from, keep_input=True)
                if training and self.draws_from.drops[l]:
                    h = a.copy() if h is a else h
                    lay["drop"] = self.draws_from.dropout(l, h)
                bn = {place: [BNPart(r.start, r.stop, c) for r, c in lay[place][0]
                              if r.norm in norms.RUNNING] for place in ("before", "after")}
                if updating:
                    norms.update_running(self._running_mean[l], self._running_var[l],
                                         bn["before"] + bn["after"], f, n)
                for kept, value in ((zs, z), (acts, a), (caches, bn), (layers, lay), (us, h)):
                    kept.append(value)
                u = h
            logits = np.matmul(u, p.Wo.transpose(0, 2, 1))                        # (K, N, C)
            logits += p.bo[:, None, :]
        if training:
            self._fwd = {"n": n, "u": us, "z": zs, "a": acts, "bn": caches, "layers": layers}
            for name in ("z", "a", "u", "bn_cache"):
                self._views.pop(name, None)
        else:
            self._eval = zs
            self._views.pop("eval_z", None)
        return torch.from_numpy(logits)

    def probe(self, x) -> list[np.ndarray]:
        """Per hidden layer, the (K, N, width) activation inputs z for the inputs x, with BN in
        training mode on x itself (x's own batch statistics; noise and dropout as the next
        training step would draw them) and nothing updated: neither the running estimates, nor
        the generators, nor what the last training pass left for the backward pass."""
        kept = self._fwd, dict(self._views), self.draws_from.state()
        try:
            self.forward(x, training=True, update_running=False)
            return self._fwd["z"]
        finally:
            self._fwd, self._views = kept[:2]
            self.draws_from.set_state(kept[2])

    # ------------------------------------------------------------------ state

    def set_renorm_limits(self, r_max, d_max) -> None:
        """Batch Renorm's limits for the next training forwards, numbers or one per network (K,):
        r = clip(σ_B/σ, 1/r_max, r_max), d = clip((μ_B − μ)/σ, −d_max, d_max). A new stack has
        r_max = 1, d_max = 0: BN exactly. For a schedule, set `stack.renorm_schedule` to a
        function t → (r_max, d_max) (e.g. `bn_core.norms.batchrenorm_limits`): every training
        forward calls it first with t, the optimizer steps taken so far."""
        r = np.broadcast_to(np.asarray(r_max, np.float32).reshape(-1, 1, 1), self.r_max.shape)
        d = np.broadcast_to(np.asarray(d_max, np.float32).reshape(-1, 1, 1), self.d_max.shape)
        if not (np.all(r >= 1.0) and np.all(d >= 0.0)):
            raise ValueError(f"expected r_max ≥ 1 and d_max ≥ 0, got {r_max!r} and {d_max!r}")
        self.r_max[...], self.d_max[...] = r, d

    def snapshot(self) -> dict:
        """A copy of everything training changes: parameters, last gradients, optimizer buffers
        and step count t, running statistics and num_batches_tracked, the active mask, Batch
        Renorm's limits, the dropout/noise generators' states, and the last passes' results
        (never changed in place)."""
        with torch.no_grad():
            return {"flat": self.flat.clone(), "grad": self.grad.clone(), "t": self.t,
                    "opt": [b.clone() for b in self.opt_state], "active": self.active.clone(),
                    "running": [t.clone() for t in self.running_mean + self.running_var],
                    "tracked": self.num_batches_tracked, "gens": self.draws_from.state(),
                    "limits": (self.r_max.copy(), self.d_max.copy()),
                    "passes": (self._fwd, self._eval, dict(self._views))}

    def restore(self, snapshot: dict) -> None:
        """Bring the stack back to `snapshot()`, bit for bit, in place (every view stays valid);
        a snapshot can be restored any number of times."""
        with torch.no_grad():
            for mine, saved in [(self.flat, snapshot["flat"]), (self.grad, snapshot["grad"]),
                                (self.active, snapshot["active"]),
                                *zip(self.opt_state, snapshot["opt"]),
                                *zip(self.running_mean + self.running_var, snapshot["running"])]:
                mine.copy_(saved)
        self.t, self.num_batches_tracked = snapshot["t"], snapshot["tracked"]
        self.r_max[...], self.d_max[...] = snapshot["limits"]
        self.draws_from.set_state(snapshot["gens"])
        self._fwd, self._eval, views = snapshot["passes"]
        self._views = dict(views)

    def last_batch_statistics(self):
        """What the last training forward would fold into the running estimates: per layer its
        BNParts (xmean, xvar in their caches), and the batch size. For `fold_batch_statistics`."""
        return [p["before"] + p["after"] for p in self._fwd["bn"]], self._fwd["n"]

    def fold_batch_statistics(self, stats) -> None:
        """Update the running estimates with `last_batch_statistics()` exactly as a forward pass
        with update_running=True does: for a forward that was run with update_running=False."""
        if not self._running:
            return
        parts, n = stats
        self.num_batches_tracked += 1
        f = norms.momentum_now(self._bn_momentum, self._cumulative, self.num_batches_tracked)
        for l, layer_parts in enumerate(parts):
            norms.update_running(self._running_mean[l], self._running_var[l], layer_parts, f, n)

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
        (The normalisers' parameters of networks without one, RMSNorm's beta and the biases
        before BN keep gradient 0.) Dropout masks and noise multipliers n are constants."""
        dl = torch.as_tensor(dlogits).detach().numpy()                           # (K, N, C)
        p, g, fwd = self._p, self._g, self._fwd
        with np.errstate(all="ignore"):
            np.matmul(dl.transpose(0, 2, 1), fwd["u"][-1], out=g.Wo)             # dWo (K, C, H)
            colsum(dl, out=g.bo[:, None, :])                                     # dbo (K, C)
            dh = np.matmul(dl, p.Wo)                                             # (K, N, H)
            for l in reversed(range(len(self.hidden))):
                lay = fwd["layers"][l]
                for k, mask in lay["drop"]:
                    dh[k] *= mask                                                # dropout
                grads = (p.gamma[l][:, None, :], g.gamma[l][:, None, :], g.beta[l][:, None, :])
                da = norms.backward_runs(*lay["after"], dh, *grads)
                dz = act_backward(self.activation, da, fwd["z"][l], fwd["a"][l])   # (K, N, D)
                dz = norms.backward_runs(*lay["before"], dz, *grads)
                np.matmul(dz.transpose(0, 2, 1), fwd["u"][l], out=g.W[l])        # dW (K, D, Din)
                if self._has_bias:
                    colsum(dz, out=g.b[l][:, None, :])                           # db (K, D)
                    for start, stop in self._no_bias:
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
