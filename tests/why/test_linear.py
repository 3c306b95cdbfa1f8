"""The deep linear network of bn_core.why.linear against autograd."""

import numpy as np
import pytest
import torch

from bn_core.engine import NetSpec
from bn_core.why.linear import DeepLinear, problem

DIM, DEPTH, N = 4, 5, 12
SPECS = [NetSpec("none", lr=0.01, seed=1), NetSpec("none", lr=0.02, seed=2),
         NetSpec("before", lr=0.01, seed=1, eps=1e-3), NetSpec("before", lr=0.03, seed=3)]


def autograd_loss(net, k, x, target):
    """Network k's loss, built from its parameters with torch operations (F.batch_norm)."""
    W = [w[k].detach().clone().requires_grad_() for w in net.W]
    gamma = [g[k].detach().clone().requires_grad_() for g in net.gamma]
    beta = [b[k].detach().clone().requires_grad_() for b in net.beta]
    u = torch.as_tensor(x)
    for l in range(DEPTH - 1):
        u = u @ W[l].T
        if net.specs[k].placement == "before":
            u = torch.nn.functional.batch_norm(u, None, None, gamma[l], beta[l], training=True,
                                               eps=net.specs[k].eps)
    out = u @ W[-1].T
    loss = ((out - torch.as_tensor(target)) ** 2).sum(1).mean()
    loss.backward()
    return loss, W, gamma, beta


def test_loss_and_every_gradient_match_autograd():
    data = problem(DIM, N, seed=5)
    net = DeepLinear(DIM, DEPTH, SPECS)
    loss, d = net.loss_and_dlogits(net.forward(data.x), data.target)
    net.backward(d)
    g = net.grads()
    for k, spec in enumerate(SPECS):
        ref, W, gamma, beta = autograd_loss(net, k, data.x, data.target)
        assert loss[k].item() == pytest.approx(ref.item(), rel=1e-5)
        for l in range(DEPTH):
            torch.testing.assert_close(g.W[l][k], W[l].grad, rtol=1e-4, atol=1e-6)
        for l in range(DEPTH - 1):
            expect_g = gamma[l].grad if spec.placement == "before" else torch.zeros(DIM)
            torch.testing.assert_close(g.gamma[l][k], expect_g, rtol=1e-4, atol=1e-6)
            expect_b = beta[l].grad if spec.placement == "before" else torch.zeros(DIM)
            torch.testing.assert_close(g.beta[l][k], expect_b, rtol=1e-4, atol=1e-6)


def test_sgd_steps_as_torch_and_glorot_initialisation():
    data = problem(DIM, N, seed=6)
    net = DeepLinear(DIM, DEPTH, SPECS)
    k = 2
    W = [w[k].detach().clone().requires_grad_() for w in net.W]
    params = W + [t[k].detach().clone().requires_grad_() for t in net.gamma + net.beta]
    opt = torch.optim.SGD(params, lr=SPECS[k].lr)
    assert np.std(net.W[0][k].numpy()) == pytest.approx(np.sqrt(2 / (2 * DIM)), rel=0.6)
    for _ in range(3):
        _, d = net.loss_and_dlogits(net.forward(data.x), data.target)
        net.backward(d)
        net.optimizer_step()
        opt.zero_grad()
        u = torch.as_tensor(data.x)
        gam, bet = params[DEPTH:DEPTH + DEPTH - 1], params[2 * DEPTH - 1:]
        for l in range(DEPTH - 1):
            u = torch.nn.functional.batch_norm(u @ W[l].T, None, None, gam[l], bet[l],
                                               training=True, eps=SPECS[k].eps)
        ((u @ W[-1].T - torch.as_tensor(data.target)) ** 2).sum(1).mean().backward()
        opt.step()
    for l in range(DEPTH):
        torch.testing.assert_close(net.W[l][k], W[l].detach(), rtol=1e-4, atol=1e-6)


def test_the_problem_is_a_fixed_linear_map():
    a, b = problem(10, 50, seed=1), problem(10, 50, seed=1)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.target, b.target)
    np.testing.assert_allclose(a.target, a.x @ a.A.T, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="placement"):
        DeepLinear(3, 3, [NetSpec("after")])
