"""The probes of bn_core.why.probes against autograd (tests/torch_reference.MLP): the loss and
the gradient at points along the gradient, G′ after the partial update of layers 1 … i−1, and
that a probe leaves weights, optimizer state and running statistics bit for bit unchanged."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.engine import NetSpec, Stack
from bn_core.why import probes
from tests.torch_reference import MLP

IN, HIDDEN, OUT, N = 5, (7, 6, 4), 3, 16
SPECS = [NetSpec("none", lr=0.3, seed=1), NetSpec("before", lr=0.2, seed=2, eps=1e-3),
         NetSpec("after", lr=0.1, seed=3)]


def batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(N, IN, generator=gen) * 1.5 + 0.5, torch.randint(0, OUT, (N,), generator=gen)


def trained_stack(activation="tanh", optimizer="sgd", steps=3):
    stack = Stack(IN, HIDDEN, OUT, activation, SPECS, optimizer)
    for s in range(steps):
        stack.train_step(*batch(100 + s))
    return stack


def params_of(stack, k):
    """Network k's parameters as torch's MLP names them, as leaf tensors: name → tensor."""
    out = {}
    for l, spec_layer in enumerate(HIDDEN):
        out[f"hidden.{l}.linear.weight"] = stack.W[l][k]
        if SPECS[k].placement != "before":
            out[f"hidden.{l}.linear.bias"] = stack.b[l][k]
        if SPECS[k].placement != "none":
            out[f"hidden.{l}.bn.weight"] = stack.gamma[l][k]
            out[f"hidden.{l}.bn.bias"] = stack.beta[l][k]
    out["out.weight"], out["out.bias"] = stack.Wo[k], stack.bo[k]
    return {name: t.detach().clone() for name, t in out.items()}


def autograd(k, activation, params, x, y):
    """(loss, name → gradient) of network k at `params` on (x, y), BN in training mode."""
    net = MLP(IN, HIDDEN, OUT, activation, SPECS[k].placement, SPECS[k].eps, SPECS[k].momentum)
    net.load_state_dict(params, strict=False)
    loss = F.cross_entropy(net(x), y)
    net.zero_grad()
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in net.named_parameters()}


def flat_norm(grads):
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads.values())))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_losses_and_gradients_along_the_gradient_match_autograd(activation):
    stack = trained_stack(activation)
    x, y = batch(7)
    factors = probes.step_factors(4)
    sample = probes.landscape(stack, x, y, factors)
    for k, spec in enumerate(SPECS):
        theta = params_of(stack, k)
        loss0, g = autograd(k, activation, theta, x, y)
        assert sample.loss0[k] == pytest.approx(loss0, rel=1e-5)
        assert sample.g_norm[k] == pytest.approx(flat_norm(g), rel=1e-4)
        for j, c in enumerate(factors):
            moved = {n: theta[n] - c * spec.lr * g[n] for n in theta}
            loss_j, g_j = autograd(k, activation, moved, x, y)
            assert sample.loss[k, j] == pytest.approx(loss_j, rel=1e-4, abs=1e-6)
            change = flat_norm({n: g_j[n] - g[n] for n in g})
            assert sample.change[k, j] == pytest.approx(change, rel=2e-3, abs=1e-6)
            assert sample.distance[k, j] == pytest.approx(c * spec.lr * flat_norm(g), rel=1e-4)
        assert sample.beta[k] == pytest.approx(np.max(sample.change[k] / sample.distance[k]))


def test_g_prime_after_the_partial_update_matches_autograd():
    activation = "sigmoid"
    stack = trained_stack(activation)
    x, y = batch(8)
    sample = probes.ics(stack, x, y)
    assert sample.layers == [1, 2, 3]                           # hidden 2, 3 and the output
    layer_of = lambda name: len(HIDDEN) if name.startswith("out") else int(name.split(".")[1])
    weight = [f"hidden.{l}.linear.weight" for l in range(len(HIDDEN))] + ["out.weight"]
    for k, spec in enumerate(SPECS):
        theta = params_of(stack, k)
        _, G = autograd(k, activation, theta, x, y)
        stepped = {n: theta[n] - spec.lr * G[n] for n in theta}           # plain SGD
        for row, i in enumerate(sample.layers):
            mixed = {n: stepped[n] if layer_of(n) < i else theta[n] for n in theta}
            _, G2 = autograd(k, activation, mixed, x, y)
            a, b = G[weight[i]].double(), G2[weight[i]].double()
            assert sample.diff[row, k] == pytest.approx(float((a - b).norm()), rel=2e-3, abs=1e-7)
            cos = float((a * b).sum() / (a.norm() * b.norm()))
            assert sample.cos[row, k] == pytest.approx(cos, abs=1e-5)
            assert sample.g_norm[row, k] == pytest.approx(float(a.norm()), rel=1e-4)
            assert not torch.equal(a, b) or i == 0                  # the update changed G


def state_of(stack):
    return ([stack.flat.clone(), stack.grad.clone()] + [b.clone() for b in stack.opt_state]
            + [t.clone() for t in stack.running_mean + stack.running_var],
            (stack.num_batches_tracked, stack.t))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_a_probe_changes_nothing_bit_for_bit(optimizer):
    probed, plain = trained_stack("relu", optimizer), trained_stack("relu", optimizer)
    before, counters = state_of(probed)
    probes.ics(probed, *batch(9))
    probes.landscape(probed, *batch(9))
    after, counters_after = state_of(probed)
    assert counters == counters_after
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    for s in range(3):                                   # and training goes on exactly as without
        probes.landscape(probed, *batch(20 + s))
        probed.train_step(*batch(30 + s))
        plain.train_step(*batch(30 + s))
    assert all(torch.equal(a, b) for a, b in zip(state_of(probed)[0], state_of(plain)[0]))


def test_step_factors_are_the_papers_range():
    f = probes.step_factors(8)
    assert f[0] == pytest.approx(0.5) and f[-1] == pytest.approx(4.0) and len(f) == 8
    assert np.allclose(f[1:] / f[:-1], f[1] / f[0])
    with pytest.raises(ValueError):
        probes.step_factors(1)


def test_probes_leave_the_noise_generators_alone():
    """A noisy-BN network draws its noise from its own generator: a probe draws too (its
    forward passes are training passes), and must put the generator back."""
    specs = [NetSpec("before", lr=0.2, seed=4), NetSpec("before", lr=0.2, seed=5, noise=1.0)]
    probed, plain = (Stack(IN, HIDDEN, OUT, "relu", specs) for _ in range(2))
    for s in range(3):
        probes.ics(probed, *batch(40 + s))
        probes.landscape(probed, *batch(40 + s), factors=[0.5, 2.0])
        for stack in (probed, plain):
            stack.train_step(*batch(50 + s))
    assert torch.equal(probed.flat, plain.flat)
    assert not torch.equal(probed.flat[0], probed.flat[1])
