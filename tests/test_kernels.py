"""The compiled loops of bn_core.kernels against numpy, torch and autograd, and the engine with
and without them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import kernels
from bn_core.engine import NetSpec, Stack

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")

RNG = np.random.default_rng(0)


def batch(k=3, n=20, d=7, loc=2.0, scale=3.0):
    return (RNG.normal(loc, scale, (k, n, d))).astype(np.float32)


def params(k=3, d=7):
    gamma = RNG.uniform(0.5, 2.0, (k, 1, d)).astype(np.float32)
    beta = RNG.normal(0, 1, (k, 1, d)).astype(np.float32)
    eps = np.array([1e-5, 1e-3, 0.1], np.float32)[:k].reshape(k, 1, 1)
    return gamma, beta, eps


def test_bn_train_matches_the_numpy_formulas():
    x = batch()
    gamma, beta, eps = params()
    y, cache = kernels.bn_train(x, gamma, beta, eps)
    y_ref, cache_ref = kernels.bn_train_numpy(x.copy(), gamma, beta, eps)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    for got, ref in zip(cache, cache_ref):                       # xhat, inv, xmean, xvar
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    # and what the formulas say, in float64
    x64 = x.astype(np.float64)
    xhat = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + eps)
    np.testing.assert_allclose(y, gamma * xhat + beta, rtol=1e-4, atol=1e-5)


def test_bn_backward_matches_autograd_and_numpy():
    x = batch()
    gamma, beta, eps = params()
    dy = RNG.normal(0, 1, x.shape).astype(np.float32)
    _, (xhat, inv, _, _) = kernels.bn_train(x, gamma, beta, eps)
    dx, dgamma, dbeta = kernels.bn_backward(dy, gamma, xhat, inv)

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    gt = torch.tensor(gamma, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(beta, dtype=torch.float64, requires_grad=True)
    mean, var = xt.mean(1, keepdim=True), xt.var(1, unbiased=False, keepdim=True)
    out = gt * (xt - mean) / torch.sqrt(var + torch.tensor(eps, dtype=torch.float64)) + bt
    out.backward(torch.tensor(dy, dtype=torch.float64))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(dgamma, gt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dbeta, bt.grad.numpy(), rtol=1e-4, atol=1e-4)

    ref = kernels.bn_backward_numpy(dy, gamma, xhat.copy(), inv)
    for got, want in zip((dx, dgamma, dbeta), ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_bn_backward_writes_into_given_views():
    x = batch(k=2)
    gamma, beta, eps = params(k=2)
    _, (xhat, inv, _, _) = kernels.bn_train(x, gamma, beta, eps)
    grad = np.zeros((2, 3, 7), np.float32)                      # a strided buffer, as the engine's
    dx, dgamma, dbeta = kernels.bn_backward(np.ones_like(x), gamma, xhat, inv,
                                            grad[:, 0:1, :], grad[:, 2:3, :])
    np.testing.assert_allclose(grad[:, 2], x.shape[1])          # dbeta = Σ 1 = N
    assert np.abs(grad[:, 0]).max() < 1e-4                      # Σ xhat = 0
    assert not grad[:, 1].any()


def test_eps_zero_on_a_constant_unit_gives_nan_not_an_error():
    x = batch(k=1)
    x[0, :, 3] = 1.5                                            # zero variance
    y, _ = kernels.bn_train(x, *[a[:1] for a in params(k=1)[:2]], np.zeros((1, 1, 1), np.float32))
    assert np.isnan(y[0, :, 3]).all() and np.isfinite(np.delete(y, 3, axis=2)).all()


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_act_backward_matches_numpy(name):
    z = batch(d=9)
    z[0, 0, 0] = 0.0                                            # relu's kink: gradient 0, as torch
    z[0, 0, 1] = np.nan                                         # NaN lets da through, as torch
    a = kernels.act(name, z)
    da = RNG.normal(0, 1, z.shape).astype(np.float32)
    np.testing.assert_allclose(kernels.act_backward(name, da, z, a),
                               kernels.act_backward_numpy(name, da, z, a), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shared_labels", [True, False])
def test_cross_entropy_matches_torch(shared_labels):
    logits = (RNG.normal(0, 5, (3, 16, 10)) + np.array([0, 0, 80])[:, None, None]).astype(np.float32)
    y = RNG.integers(0, 10, (1, 16) if shared_labels else (3, 16))
    loss, dlogits = kernels.cross_entropy(logits, y)
    lt = torch.tensor(logits, requires_grad=True)
    yt = torch.tensor(np.broadcast_to(y, (3, 16)))
    ref = torch.stack([F.cross_entropy(lt[k], yt[k]) for k in range(3)])
    ref.sum().backward()
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_cross_entropy_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match="expected labels in 0…9"):
        kernels.cross_entropy(np.zeros((1, 4, 10), np.float32), np.array([[0, 1, 10, 2]]))


@pytest.mark.parametrize("call", [
    lambda: kernels.cross_entropy(np.zeros((3, 4, 10), np.float32), np.zeros((2, 4), np.int64)),
    lambda: kernels.cross_entropy(np.zeros((3, 4, 10), np.float32), np.zeros(5, np.int64)),
    lambda: kernels.lerp(np.zeros((3, 5), np.float32), np.ones((3, 5), np.float32),
                         np.full((1, 1), 0.1, np.float32)),
    lambda: kernels.lerp(np.zeros((3, 5), np.float32), np.ones((3, 4), np.float32),
                         np.full((3, 1), 0.1, np.float32)),
    lambda: kernels.bn_train(batch(k=3), np.ones((1, 1, 7), np.float32), np.zeros((3, 1, 7), np.float32),
                             np.full((3, 1, 1), 1e-5, np.float32)),
    lambda: kernels.bn_backward(batch(k=2), np.ones((2, 1, 7), np.float32), batch(k=2, d=6),
                                np.ones((2, 1, 7), np.float32)),
    lambda: kernels.act_backward("relu", batch(k=2), batch(k=1), batch(k=2)),
])
def test_loops_refuse_arrays_of_the_wrong_shape(call):
    """The loops do not check bounds: a wrong shape must be a ValueError, not a crash."""
    with pytest.raises(ValueError, match="expected"):
        call()


def test_bn_sums_in_float64_on_an_ill_conditioned_batch():
    x = (40.0 + RNG.normal(0, 1.4e-3, (1, 512, 5))).astype(np.float32)   # mean ≫ spread
    gamma, beta, eps = np.ones((1, 1, 5), np.float32), np.zeros((1, 1, 5), np.float32), \
        np.full((1, 1, 1), 1e-12, np.float32)
    _, (xhat, inv, xmean, xvar) = kernels.bn_train(x, gamma, beta, eps)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(xmean[0, 0], x64.mean(1)[0], rtol=1e-7)
    np.testing.assert_allclose(xvar[0, 0], x64.var(1)[0], rtol=1e-3)


def test_engine_without_numba_trains_the_same(monkeypatch):
    """The numpy fallback (where numba is missing) and the compiled loops: the same steps."""
    specs = [NetSpec(p, 0.3, seed=s) for s, p in enumerate(["none", "before", "after"])]
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 32, 12, generator=g), torch.randint(0, 5, (4, 32), generator=g)

    def train():
        stack = Stack(12, (16, 16), 5, "tanh", specs, "momentum")
        for t in range(4):
            stack.train_step(x[t], y[t])
        return stack

    compiled = train()
    monkeypatch.setattr(kernels, "AVAILABLE", False)      # every kernel: its numpy twin
    plain = train()
    torch.testing.assert_close(compiled.flat, plain.flat, rtol=1e-4, atol=1e-5)
    for l in range(2):
        torch.testing.assert_close(compiled.running_var[l], plain.running_var[l], rtol=1e-4, atol=1e-5)
