"""The numpy reference (`bn_core.batchnorm`) against independent references.

References used here: `torch.nn.BatchNorm1d` / `torch.nn.functional.batch_norm` in float64,
torch autograd, central-difference numerical gradients, and direct one-line numpy formulas
written out in this file (not imported from bn_core).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.batchnorm import (
    BatchNorm1d,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_inference,
    population_statistics,
)
from tests.numeric import assert_close, rel_error


def direct_train(x, gamma, beta, eps):
    """Algorithm 1 written out independently."""
    mu = np.sum(x, axis=0) / x.shape[0]
    var = np.sum((x - mu) ** 2, axis=0) / x.shape[0]
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def torch_bn(d, eps, momentum, weight, bias):
    m = torch.nn.BatchNorm1d(d, eps=eps, momentum=momentum).double()
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(weight))
        m.bias.copy_(torch.from_numpy(bias))
    return m


def make_batches(rng, n, d, count=4):
    """Several different batches, with different per-feature offsets and scales."""
    out = []
    for k in range(count):
        loc = rng.normal(size=d) * 3
        scale = rng.uniform(0.2, 4.0, size=d)
        out.append(rng.normal(size=(n, d)) * scale + loc + k)
    return out


SHAPES = [(2, 1), (2, 5), (3, 3), (5, 1), (7, 10), (16, 4), (33, 2), (64, 10)]


# ------------------------------------------------------------------ layer vs torch.nn

@pytest.mark.parametrize("n,d", [(2, 1), (3, 3), (7, 10), (16, 4), (64, 10)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, None])
@pytest.mark.parametrize("eps", [1e-5, 1e-1])
def test_layer_matches_torch_train_then_eval(n, d, momentum, eps):
    rng = np.random.default_rng(1000 * n + d)
    weight, bias = rng.normal(size=d) * 2, rng.normal(size=d)
    ours = BatchNorm1d(d, eps=eps, momentum=momentum)
    ours.weight, ours.bias = weight.copy(), bias.copy()
    ref = torch_bn(d, eps, momentum, weight, bias)
    ref.train()
    for x in make_batches(rng, n, d):
        y = ours(x)
        with torch.no_grad():
            y_ref = ref(torch.from_numpy(x)).numpy()
        assert_close(y, y_ref)
        assert_close(y, direct_train(x, weight, bias, eps))
        assert_close(ours.running_mean, ref.running_mean.numpy())
        assert_close(ours.running_var, ref.running_var.numpy())
        assert ours.num_batches_tracked == int(ref.num_batches_tracked)
    assert ours.num_batches_tracked == 4
    # the running estimates have moved away from their initial (0, 1)
    assert not np.allclose(ours.running_mean, 0)

    ours.eval()
    ref.eval()
    x = rng.normal(size=(n, d)) * 2 + 1
    with torch.no_grad():
        y_ref = ref(torch.from_numpy(x)).numpy()
    assert_close(ours(x), y_ref)
    # eval mode does not update the running statistics
    assert ours.num_batches_tracked == 4
    assert_close(ours.running_mean, ref.running_mean.numpy())


def test_layer_batch_sizes_may_vary_between_batches():
    rng = np.random.default_rng(7)
    d = 3
    weight, bias = rng.normal(size=d), rng.normal(size=d)
    ours = BatchNorm1d(d, momentum=0.3)
    ours.weight, ours.bias = weight.copy(), bias.copy()
    ref = torch_bn(d, 1e-5, 0.3, weight, bias)
    for n in (2, 9, 4, 31):
        x = rng.normal(size=(n, d)) * 5 - 2
        with torch.no_grad():
            y_ref = ref(torch.from_numpy(x)).numpy()
        assert_close(ours(x), y_ref)
    assert_close(ours.running_var, ref.running_var.numpy())
    assert_close(ours.running_mean, ref.running_mean.numpy())


def test_layer_large_values_relative():
    """Large offsets and scales: compare relative to the magnitude."""
    rng = np.random.default_rng(8)
    d = 4
    weight, bias = rng.normal(size=d) * 100, rng.normal(size=d) * 1e3
    ours = BatchNorm1d(d, momentum=None)
    ours.weight, ours.bias = weight.copy(), bias.copy()
    ref = torch_bn(d, 1e-5, None, weight, bias)
    for _ in range(3):
        x = rng.normal(size=(20, d)) * 1e3 + 1e4
        with torch.no_grad():
            y_ref = ref(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours(x), y_ref, rtol=1e-10, atol=1e-10 * np.abs(y_ref).max())
    np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-10)


def test_layer_defaults_match_torch():
    ours, ref = BatchNorm1d(6), torch.nn.BatchNorm1d(6)
    assert ours.eps == ref.eps and ours.momentum == ref.momentum
    assert_close(ours.weight, ref.weight.detach().numpy())
    assert_close(ours.bias, ref.bias.detach().numpy())
    assert_close(ours.running_mean, ref.running_mean.numpy())
    assert_close(ours.running_var, ref.running_var.numpy())
    assert ours.num_batches_tracked == 0 and ours.training


def test_layer_momentum_none_is_cumulative_average():
    """momentum=None: after k batches the running stats are plain averages of the batch stats."""
    rng = np.random.default_rng(9)
    bn = BatchNorm1d(3, momentum=None)
    batches = make_batches(rng, 8, 3, count=5)
    for x in batches:
        bn(x)
    assert_close(bn.running_mean, np.mean([x.mean(0) for x in batches], axis=0))
    assert_close(bn.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0))


def test_layer_momentum_one_keeps_last_batch():
    rng = np.random.default_rng(10)
    bn = BatchNorm1d(3, momentum=1.0)
    for x in make_batches(rng, 6, 3):
        bn(x)
    assert_close(bn.running_mean, x.mean(0))
    assert_close(bn.running_var, x.var(0, ddof=1))


# ------------------------------------------------------------------ eps = 0

# torch refuses eps=0 in training ("batch_norm eps must be positive during training"), so
# eps=0 is compared (a) with torch using eps=1e-300, which is below one ulp of any variance
# used here, so var + 1e-300 == var exactly in float64, and (b) with the direct numpy formula.
@pytest.mark.parametrize("n,d", [(2, 3), (5, 1), (17, 6), (64, 10)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_eps_zero_nonconstant_data(n, d, momentum):
    rng = np.random.default_rng(n * 31 + d)
    weight, bias = rng.normal(size=d), rng.normal(size=d)
    ours = BatchNorm1d(d, eps=0.0, momentum=momentum)
    ours.weight, ours.bias = weight.copy(), bias.copy()
    ref = torch_bn(d, 1e-300, momentum, weight, bias)
    for x in make_batches(rng, n, d, count=3):
        y = ours(x)
        assert np.all(np.isfinite(y))
        assert_close(y, direct_train(x, weight, bias, 0.0))
        with torch.no_grad():
            assert_close(y, ref(torch.from_numpy(x)).numpy())
    assert_close(ours.running_var, ref.running_var.numpy())
    ours.eval()
    ref.eval()
    x = rng.normal(size=(n, d))
    with torch.no_grad():
        assert_close(ours(x), ref(torch.from_numpy(x)).numpy())
    assert_close(ours(x), weight * (x - ours.running_mean) / np.sqrt(ours.running_var) + bias)


def test_eps_zero_constant_feature_gives_nan():
    """The teaching case: a constant feature has variance 0, and with eps=0 its xhat is 0/0."""
    x = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])   # feature 1 is constant
    y, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), eps=0.0)
    assert np.all(np.isnan(cache["xhat"][:, 1]))
    assert np.all(np.isnan(y[:, 1]))
    assert np.all(np.isfinite(y[:, 0]))
    assert_close(y[:, 0], (x[:, 0] - 3.0) / np.sqrt(8.0 / 3.0))
    # the layer gives the same
    assert np.all(np.isnan(BatchNorm1d(2, eps=0.0)(x)[:, 1]))
    # with eps > 0 the constant feature is mapped to beta instead
    y_eps, cache_eps = batchnorm_forward(x, np.ones(2), np.array([0.0, 0.7]), eps=1e-5)
    assert np.all(cache_eps["xhat"][:, 1] == 0)
    assert_close(y_eps[:, 1], np.full(3, 0.7))


# ------------------------------------------------------------------ functions

@pytest.mark.parametrize("n,d", SHAPES)
def test_forward_matches_functional_and_formula(n, d):
    rng = np.random.default_rng(n + 100 * d)
    for eps in (0.0, 1e-5, 1e-1):
        x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + rng.normal(size=d)
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        y, cache = batchnorm_forward(x, gamma, beta, eps)
        assert_close(y, direct_train(x, gamma, beta, eps))
        # torch refuses eps = 0 in training: 1e-300 is below one ulp of these variances
        y_ref = F.batch_norm(torch.from_numpy(x), None, None, torch.from_numpy(gamma),
                             torch.from_numpy(beta), training=True, eps=max(eps, 1e-300)).numpy()
        assert_close(y, y_ref)
        assert_close(cache["xmean"], x.mean(0))
        assert_close(cache["xvar"], x.var(0))          # biased: ddof=0


def torch_grads(x, gamma, beta, dy, eps):
    """Autograd through F.batch_norm (eps > 0) or through the formulas (eps = 0)."""
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.tensor(beta, requires_grad=True)
    if eps > 0:
        y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    else:
        mu = xt.mean(0)
        var = ((xt - mu) ** 2).mean(0)
        y = gt * (xt - mu) / torch.sqrt(var) + bt
    (y * torch.from_numpy(dy)).sum().backward()
    return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


# Central differences on the scalar loss sum(y * R). In float64 the rounding noise of the loss
# divided by 2h (about 1e-16·|loss|/h) alone would give relative errors above 1e-7 on small
# gradient entries, so the loss is evaluated in extended precision (np.longdouble, 64-bit
# mantissa on x86) with h = 1e-6. Where longdouble is only float64, a 4th-order stencil with a
# larger h keeps both rounding and truncation error small.
EXTENDED = np.finfo(np.longdouble).eps < 1e-18


def numerical_grads(x, gamma, beta, R, eps):
    dtype = np.longdouble if EXTENDED else np.float64
    h = 1e-6 if EXTENDED else 1e-3
    x, gamma, beta, R = (np.array(a, dtype=dtype) for a in (x, gamma, beta, R))

    def loss():
        return np.sum(direct_train(x, gamma, beta, dtype(eps)) * R)

    def num(arr):
        g = np.zeros(arr.shape)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            values = []
            for step in ((-2, -1, 1, 2) if not EXTENDED else (-1, 1)):
                arr[i] = old + step * dtype(h)
                values.append(loss())
            arr[i] = old
            if EXTENDED:
                g[i] = float((values[1] - values[0]) / (2 * dtype(h)))
            else:
                g[i] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
        return g

    return num(x), num(gamma), num(beta)


# N = 2 with eps = 0 is left out: dx is identically 0 there, see the next test
@pytest.mark.parametrize("n,d,eps", [
    (n, d, eps)
    for n, d in [(2, 1), (3, 2), (5, 3), (10, 4), (16, 2)]
    for eps in (0.0, 1e-5, 1e-1)
    if not (n == 2 and eps == 0)
])
def test_backward_matches_numerical_gradient(n, d, eps):
    rng = np.random.default_rng(7 * n + d)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 2, size=d) + rng.normal(size=d)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    R = rng.normal(size=(n, d))
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta = batchnorm_backward(R, cache)
    ndx, ndgamma, ndbeta = numerical_grads(x, gamma, beta, R, eps)
    assert rel_error(dx, ndx) < 1e-7, rel_error(dx, ndx)
    assert rel_error(dgamma, ndgamma) < 1e-7, rel_error(dgamma, ndgamma)
    assert rel_error(dbeta, ndbeta) < 1e-7, rel_error(dbeta, ndbeta)


def test_two_examples_eps_zero_gradient_is_zero():
    """With N = 2 and eps = 0, xhat = ±1 whatever x is, so y does not depend on x at all."""
    rng = np.random.default_rng(21)
    x = rng.normal(size=(2, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    y, cache = batchnorm_forward(x, gamma, beta, 0.0)
    assert_close(np.abs(cache["xhat"]), np.ones((2, 4)))
    dx, _, _ = batchnorm_backward(rng.normal(size=(2, 4)), cache)
    assert_close(dx, np.zeros((2, 4)))
    x2 = x * 3.7 + 1.2
    assert_close(batchnorm_forward(x2, gamma, beta, 0.0)[0], y)


@pytest.mark.parametrize("n,d", SHAPES)
def test_backward_matches_autograd(n, d):
    rng = np.random.default_rng(3 * n + 11 * d)
    for eps in (0.0, 1e-5, 1e-1):
        x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + rng.normal(size=d) * 2
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        dy = rng.normal(size=(n, d))
        _, cache = batchnorm_forward(x, gamma, beta, eps)
        dx, dgamma, dbeta = batchnorm_backward(dy, cache)
        tdx, tdgamma, tdbeta = torch_grads(x, gamma, beta, dy, eps)
        assert_close(dx, tdx)
        assert_close(dgamma, tdgamma)
        assert_close(dbeta, tdbeta)


@pytest.mark.parametrize("n,d", SHAPES)
def test_backward_gradient_orthogonal_to_shift_and_scale(n, d):
    """eps = 0: BN(a·x + b) = BN(x), so Σ_i dx_i = 0 and Σ_i dx_i · xhat_i = 0 per feature."""
    rng = np.random.default_rng(n * d + 5)
    x = rng.normal(size=(n, d)) * 3 + 2
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    _, cache = batchnorm_forward(x, gamma, beta, 0.0)
    dx, _, _ = batchnorm_backward(rng.normal(size=(n, d)) * 5, cache)
    if n > 2:
        assert np.max(np.abs(dx)) > 1e-2            # not trivially zero
    assert_close(dx.sum(axis=0), np.zeros(d))
    assert_close((dx * cache["xhat"]).sum(axis=0), np.zeros(d))


@pytest.mark.parametrize("n,d", SHAPES)
@pytest.mark.parametrize("eps", [1e-5, 1e-1])
def test_backward_sums_with_positive_eps(n, d, eps):
    """eps > 0: the shift invariance stays exact (Σ_i dx_i = 0), but scaling x now changes xhat,
    so Σ_i dx_i·xhat_i = eps/(xvar+eps) · Σ_i dxhat_i·xhat_i / √(xvar+eps), which is only ≈ 0."""
    rng = np.random.default_rng(n * d + 6)
    x = rng.normal(size=(n, d)) * 3 + 2
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    dy = rng.normal(size=(n, d)) * 5
    dx, _, _ = batchnorm_backward(dy, cache)
    xhat, xvar = cache["xhat"], x.var(0)
    assert_close(dx.sum(axis=0), np.zeros(d))
    expected = eps / (xvar + eps) * (dy * gamma * xhat).sum(0) / np.sqrt(xvar + eps)
    assert_close((dx * xhat).sum(axis=0), expected)


def test_backward_rejects_wrong_dy_shape():
    _, cache = batchnorm_forward(np.arange(6.0).reshape(3, 2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"expected dy of shape \(3, 2\)"):
        batchnorm_backward(np.ones((2, 3)), cache)


@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e-1])
def test_layer_backward_stores_parameter_gradients(eps):
    rng = np.random.default_rng(12)
    n, d = 9, 4
    bn = BatchNorm1d(d, eps=eps)
    bn.weight, bn.bias = rng.normal(size=d), rng.normal(size=d)
    assert bn.weight_grad is None and bn.bias_grad is None
    for _ in range(2):   # gradients are overwritten, not accumulated
        x = rng.normal(size=(n, d)) * 2 + 1
        dy = rng.normal(size=(n, d))
        bn(x)
        dx = bn.backward(dy)
        tdx, tdgamma, tdbeta = torch_grads(x, bn.weight, bn.bias, dy, eps)
        assert_close(dx, tdx)
        assert_close(bn.weight_grad, tdgamma)
        assert_close(bn.bias_grad, tdbeta)


def test_layer_backward_before_training_forward_raises():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="training-mode forward"):
        bn.backward(np.ones((4, 3)))
    # an eval-mode forward does not enable backward either
    bn(np.random.default_rng(0).normal(size=(4, 3)))
    bn.eval()
    bn(np.ones((4, 3)))
    with pytest.raises(ValueError, match="training-mode forward"):
        bn.backward(np.ones((4, 3)))


@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e-1])
def test_identity_recovered(eps):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(12, 5)) * rng.uniform(0.1, 10, size=5) + rng.normal(size=5) * 10
    xmean, xvar = x.mean(0), x.var(0)
    y, _ = batchnorm_forward(x, np.sqrt(xvar + eps), xmean, eps)
    assert_close(y, x)


# ------------------------------------------------------------------ inference

@pytest.mark.parametrize("n", [1, 2, 7, 40])
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e-1])
def test_inference_matches_formula_and_torch_eval(n, eps):
    rng = np.random.default_rng(n + 17)
    d = 5
    x = rng.normal(size=(n, d)) * 3
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    mean, var = rng.normal(size=d), rng.uniform(0.1, 4, size=d)
    y = batchnorm_inference(x, gamma, beta, mean, var, eps)
    assert y.shape == (n, d)
    scale = gamma / np.sqrt(var + eps)
    assert_close(y, scale * x + (beta - scale * mean))      # the paper's fixed affine map
    y_ref = F.batch_norm(torch.from_numpy(x), torch.from_numpy(mean), torch.from_numpy(var),
                         torch.from_numpy(gamma), torch.from_numpy(beta),
                         training=False, eps=eps).numpy()
    assert_close(y, y_ref)


def test_layer_eval_batch_of_one():
    rng = np.random.default_rng(14)
    bn = BatchNorm1d(3)
    bn.weight, bn.bias = rng.normal(size=3), rng.normal(size=3)
    for _ in range(3):
        bn(rng.normal(size=(8, 3)) + 4)
    bn.eval()
    x = rng.normal(size=(1, 3))
    y = bn(x)
    assert y.shape == (1, 3)
    assert_close(y, bn.weight * (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + bn.bias)
    # each example is normalised on its own: a row gives the same in a batch of one or of many
    xs = np.vstack([x, rng.normal(size=(4, 3))])
    assert_close(bn(xs)[:1], y)


# ------------------------------------------------------------------ population statistics

@pytest.mark.parametrize("m,n_b,d", [(2, 1, 3), (5, 4, 1), (16, 10, 6)])
def test_population_statistics_direct(m, n_b, d):
    rng = np.random.default_rng(m * n_b + d)
    batches = rng.normal(size=(n_b, m, d)) * 2 + 1
    means = batches.mean(axis=1)                     # (n_B, D)
    vars_ = batches.var(axis=1)                      # biased
    mean, var = population_statistics(means, vars_, m)
    assert mean.shape == (d,) and var.shape == (d,)
    assert_close(mean, np.sum(means, axis=0) / n_b)
    assert_close(var, m / (m - 1) * np.sum(vars_, axis=0) / n_b)
    # the same thing: the average of the unbiased batch variances
    assert_close(var, batches.var(axis=1, ddof=1).mean(axis=0))


def test_population_statistics_partition_gives_data_mean():
    rng = np.random.default_rng(15)
    data = rng.normal(size=(60, 4)) * [1, 2, 3, 4] + [0, -1, 5, 10]
    m = 12
    batches = data.reshape(5, m, 4)                  # 5 equal batches partitioning the data
    mean, var = population_statistics(batches.mean(1), batches.var(1), m)
    assert_close(mean, data.mean(0))
    # every batch drawn from the same distribution: the estimate is near the data variance
    np.testing.assert_allclose(var, data.var(0, ddof=1), rtol=0.35)


def test_population_statistics_equal_cumulative_running_stats():
    """momentum=None running stats (ours and torch's) equal Algorithm 2's estimate."""
    rng = np.random.default_rng(16)
    m, d = 10, 3
    batches = make_batches(rng, m, d, count=6)
    bn = BatchNorm1d(d, momentum=None)
    ref = torch.nn.BatchNorm1d(d, momentum=None).double()
    for x in batches:
        bn(x)
        with torch.no_grad():
            ref(torch.from_numpy(x))
    mean, var = population_statistics([x.mean(0) for x in batches],
                                      [x.var(0) for x in batches], m)
    assert_close(bn.running_mean, mean)
    assert_close(bn.running_var, var)
    assert_close(ref.running_mean.numpy(), mean)
    assert_close(ref.running_var.numpy(), var)


def test_population_statistics_one_dimensional():
    mean, var = population_statistics([1.0, 3.0], [2.0, 4.0], 4)
    assert mean == pytest.approx(2.0)
    assert var == pytest.approx(4 / 3 * 3.0)


# ------------------------------------------------------------------ errors

def test_errors_input_not_2d():
    bn = BatchNorm1d(3)
    for bad in (np.ones(3), np.ones((2, 3, 1)), np.float64(1.0)):
        with pytest.raises(ValueError, match=r"expected a 2-D input of shape \(N, D\)"):
            bn(bad)
        with pytest.raises(ValueError, match="expected a 2-D input"):
            batchnorm_forward(bad, np.ones(3), np.zeros(3))
        with pytest.raises(ValueError, match="expected a 2-D input"):
            batchnorm_inference(bad, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))
    bn.eval()
    with pytest.raises(ValueError, match="expected a 2-D input"):
        bn(np.ones(3))


def test_errors_feature_count_mismatch():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 3 features .* got 4"):
        bn(np.ones((5, 4)))
    bn.eval()
    with pytest.raises(ValueError, match=r"expected 3 features .* got 2"):
        bn(np.ones((5, 2)))


def test_errors_training_batch_of_one():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*at least 2"):
        bn(np.ones((1, 3)))
    assert bn.num_batches_tracked == 0          # nothing was updated
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*at least 2"):
        batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))
    # torch says the same thing
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.ones(1, 3))


@pytest.mark.parametrize("eps", [-1e-5, -1.0, float("nan"), float("inf")])
def test_errors_bad_eps(eps):
    with pytest.raises(ValueError, match="expected eps >= 0"):
        BatchNorm1d(3, eps=eps)
    with pytest.raises(ValueError, match="expected eps >= 0"):
        batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), eps=eps)
    with pytest.raises(ValueError, match="expected eps >= 0"):
        batchnorm_inference(np.ones((3, 2)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), eps)


@pytest.mark.parametrize("momentum", [-0.1, 1.5, float("nan")])
def test_errors_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"expected momentum in \[0, 1\]"):
        BatchNorm1d(3, momentum=momentum)


@pytest.mark.parametrize("momentum", [0.0, 1.0, None])
def test_momentum_bounds_accepted(momentum):
    assert BatchNorm1d(3, momentum=momentum).momentum == momentum


def test_errors_num_features():
    with pytest.raises(ValueError, match="num_features >= 1"):
        BatchNorm1d(0)


def test_errors_population_statistics():
    with pytest.raises(ValueError, match="expected batch_size >= 2"):
        population_statistics(np.zeros((3, 2)), np.ones((3, 2)), 1)
    with pytest.raises(ValueError, match="same shape"):
        population_statistics(np.zeros((3, 2)), np.ones((3, 3)), 8)
    with pytest.raises(ValueError, match="same shape"):
        population_statistics(np.zeros((0, 2)), np.ones((0, 2)), 8)
    with pytest.raises(ValueError, match="same shape"):
        population_statistics(np.zeros((2, 2, 2)), np.ones((2, 2, 2)), 8)


def test_eval_mode_batch_of_one_works():
    bn = BatchNorm1d(2).eval()
    y = bn(np.array([[3.0, -1.0]]))
    assert_close(y, np.array([[3.0, -1.0]]) / np.sqrt(1 + 1e-5))
    y2 = batchnorm_inference(np.array([[3.0, -1.0]]), np.ones(2), np.zeros(2),
                             np.zeros(2), np.ones(2), 0.0)
    assert_close(y2, np.array([[3.0, -1.0]]))
