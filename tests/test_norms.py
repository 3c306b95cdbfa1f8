"""The numpy references of BN's relatives (`bn_core.norms`) against independent references.

References: `F.layer_norm`, `F.group_norm`, `F.rms_norm` and torch autograd in float64; an
autograd Batch Renormalization written here (r and d detached), `torch.nn.BatchNorm1d` for the
running statistics; central-difference numerical gradients of formulas written out in this
file; `bn_core.batchnorm` for the claim that Batch Renorm with r_max = 1, d_max = 0 is BN.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.batchnorm import BatchNorm1d, batchnorm_backward, batchnorm_forward
from bn_core.norms import (
    batchrenorm_backward,
    batchrenorm_forward,
    batchrenorm_inference,
    batchrenorm_limits,
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_forward,
)
from tests.numeric import assert_close, rel_error


def sample(rng, n, d):
    """A batch with different offsets and scales per feature, and per-feature parameters."""
    x = rng.normal(size=(n, d)) * rng.uniform(0.3, 3, size=d) + rng.normal(size=d) * 2
    return x, rng.normal(size=d), rng.normal(size=d), rng.normal(size=(n, d))


def autograd(fn, x, *params, dy):
    """Gradients of sum(fn(x, *params) · dy) by torch autograd, float64."""
    ts = [torch.tensor(a, requires_grad=True) for a in (x, *params)]
    y = fn(*ts)
    (y * torch.from_numpy(dy)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


# ------------------------------------------------------------------ per-example norms vs torch

CASES = [(1, 4), (2, 1), (3, 6), (8, 12), (17, 5)]


# a single feature (or one value per group) with eps = 0 is 0/0: left out
@pytest.mark.parametrize("n,d,eps", [(n, d, eps) for n, d in CASES for eps in (0.0, 1e-5, 1e-1)
                                     if not (d == 1 and eps == 0)])
def test_layernorm_matches_torch(n, d, eps):
    rng = np.random.default_rng(100 * n + d)
    x, gamma, beta, dy = sample(rng, n, d)
    y, cache = layernorm_forward(x, gamma, beta, eps)
    y_ref, grads = autograd(lambda a, g, b: F.layer_norm(a, (d,), g, b, eps), x, gamma, beta, dy=dy)
    assert_close(y, y_ref)
    for ours, ref in zip(layernorm_backward(dy, cache), grads):
        assert_close(ours, ref)


@pytest.mark.parametrize("n,c,g,eps", [
    (n, c, g, eps)
    for n, c, g in [(1, 6, 2), (2, 4, 1), (3, 6, 3), (5, 12, 4), (9, 8, 8), (4, 10, 5)]
    for eps in (0.0, 1e-5, 1e-1)
    if not (c == g and eps == 0)
])
def test_groupnorm_matches_torch(n, c, g, eps):
    rng = np.random.default_rng(100 * n + 10 * c + g)
    x, gamma, beta, dy = sample(rng, n, c)
    y, cache = groupnorm_forward(x, gamma, beta, g, eps)
    y_ref, grads = autograd(lambda a, w, b: F.group_norm(a, g, w, b, eps), x, gamma, beta, dy=dy)
    assert_close(y, y_ref)
    for ours, ref in zip(groupnorm_backward(dy, cache), grads):
        assert_close(ours, ref)


@pytest.mark.parametrize("n,d", CASES)
@pytest.mark.parametrize("eps", [None, 0.0, 1e-6, 1e-1])
def test_rmsnorm_matches_torch(n, d, eps):
    rng = np.random.default_rng(100 * n + d + 1)
    x, gamma, _, dy = sample(rng, n, d)
    y, cache = rmsnorm_forward(x, gamma, eps)
    y_ref, grads = autograd(lambda a, w: F.rms_norm(a, (d,), w, eps), x, gamma, dy=dy)
    assert_close(y, y_ref)
    back = rmsnorm_backward(dy, cache)
    assert len(back) == 2                       # no beta
    for ours, ref in zip(back, grads):
        assert_close(ours, ref)


def test_rmsnorm_eps_none_is_machine_epsilon_of_the_input_type():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5))
    gamma = rng.normal(size=5)
    _, cache = rmsnorm_forward(x, gamma)
    assert cache["eps"] == np.finfo(np.float64).eps
    x32, g32 = x.astype(np.float32), gamma.astype(np.float32)
    y32, cache = rmsnorm_forward(x32, g32)
    assert cache["eps"] == np.finfo(np.float32).eps == torch.finfo(torch.float32).eps
    ref = F.rms_norm(torch.from_numpy(x32), (5,), torch.from_numpy(g32)).numpy()
    np.testing.assert_allclose(y32, ref, rtol=1e-6, atol=1e-6)
    # the default matters where the mean square is comparable to it
    tiny = np.full((1, 3), 1e-8)
    assert rmsnorm_forward(tiny, np.ones(3))[0][0, 0] == pytest.approx(
        1e-8 / np.sqrt(1e-16 + np.finfo(np.float64).eps), rel=1e-12)
    assert_close(rmsnorm_forward(tiny, np.ones(3))[0],
                 F.rms_norm(torch.from_numpy(tiny), (3,)).numpy())


def test_groupnorm_extremes():
    """One group is LayerNorm; one channel per group passes nothing of x: y = beta, dx = 0."""
    rng = np.random.default_rng(4)
    x, gamma, beta, dy = sample(rng, 6, 8)
    y1, c1 = groupnorm_forward(x, gamma, beta, 1)
    yl, cl = layernorm_forward(x, gamma, beta)
    assert_close(y1, yl)
    for a, b in zip(groupnorm_backward(dy, c1), layernorm_backward(dy, cl)):
        assert_close(a, b)
    y8, c8 = groupnorm_forward(x, gamma, beta, 8)
    assert_close(y8, np.broadcast_to(beta, (6, 8)))
    dx, dgamma, dbeta = groupnorm_backward(dy, c8)
    assert_close(dx, np.zeros((6, 8)))
    assert_close(dgamma, np.zeros(8))
    assert_close(dbeta, dy.sum(0))


def test_groupnorm_groups_are_consecutive_channels():
    """Group g is channels g·m … g·m+m−1: shifting one group's channels moves only that group."""
    x = np.arange(12.0).reshape(2, 6) ** 1.5
    y, _ = groupnorm_forward(x, np.ones(6), np.zeros(6), 3, eps=0.0)
    for g in range(3):
        block = x[:, 2 * g:2 * g + 2]
        expected = (block - block.mean(1, keepdims=True)) / block.std(1, keepdims=True)
        assert_close(y[:, 2 * g:2 * g + 2], expected)
    x2 = x.copy()
    x2[:, 2:4] = x2[:, 2:4] * 7 + 3
    y2, _ = groupnorm_forward(x2, np.ones(6), np.zeros(6), 3, eps=0.0)
    assert_close(y2, y)                         # each group is normalised on its own
    x3 = x.copy()
    x3[:, 1:3] += 5.0                           # straddles groups 0 and 1: both change
    y3, _ = groupnorm_forward(x3, np.ones(6), np.zeros(6), 3, eps=0.0)
    assert not np.allclose(y3[:, :4], y[:, :4]) and np.allclose(y3[:, 4:], y[:, 4:])


# ------------------------------------------------------------------ per-example normalisers

PER_EXAMPLE = {
    "layernorm": lambda x, g, b: layernorm_forward(x, g, b)[0],
    "groupnorm": lambda x, g, b: groupnorm_forward(x, g, b, 2)[0],
    "rmsnorm": lambda x, g, b: rmsnorm_forward(x, g)[0],
}


@pytest.mark.parametrize("name", PER_EXAMPLE)
def test_per_example_output_does_not_depend_on_the_batch(name):
    rng = np.random.default_rng(5)
    x, gamma, beta, _ = sample(rng, 8, 6)
    fn = PER_EXAMPLE[name]
    y = fn(x, gamma, beta)
    x2 = x.copy()
    x2[1:] = rng.normal(size=(7, 6)) * 10 - 4            # every other example replaced
    assert_close(fn(x2, gamma, beta)[0], y[0])
    assert_close(fn(x[:1], gamma, beta), y[:1])           # a batch of one gives the same
    assert_close(fn(x[[0, 0]], gamma, beta), y[[0, 0]])
    # BN's output for the same example moves with the rest of the batch
    y_bn = batchnorm_forward(x, gamma, beta)[0]
    y_bn2 = batchnorm_forward(x2, gamma, beta)[0]
    assert np.max(np.abs(y_bn2[0] - y_bn[0])) > 0.1


# ------------------------------------------------------------------ numerical gradients
# Central differences of sum(f · R), evaluated in extended precision as in test_batchnorm.py
# (a 4th-order stencil where longdouble is only float64). The formulas are written out here.

EXTENDED = np.finfo(np.longdouble).eps < 1e-18


def direct_ln(x, gamma, beta, eps):
    mu = np.sum(x, axis=1, keepdims=True) / x.shape[1]
    var = np.sum((x - mu) ** 2, axis=1, keepdims=True) / x.shape[1]
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def direct_gn(x, gamma, beta, eps, groups=2):
    m = x.shape[1] // groups
    parts = [direct_ln(x[:, k * m:(k + 1) * m], 1, 0, eps) for k in range(groups)]
    return gamma * np.concatenate(parts, axis=1) + beta


def direct_rms(x, gamma, beta, eps):
    return gamma * x / np.sqrt(np.sum(x * x, axis=1, keepdims=True) / x.shape[1] + eps)


def direct_brn(r, d):
    """Batch Renorm with r and d frozen at given values (constants, as in backprop)."""
    def f(x, gamma, beta, eps):
        mu = np.sum(x, axis=0) / x.shape[0]
        var = np.sum((x - mu) ** 2, axis=0) / x.shape[0]
        return gamma * ((x - mu) / np.sqrt(var + eps) * r + d) + beta
    return f


def numerical_grads(f, x, gamma, beta, R, eps):
    dtype = np.longdouble if EXTENDED else np.float64
    h = 1e-6 if EXTENDED else 1e-3
    x, gamma, beta, R = (np.array(a, dtype=dtype) for a in (x, gamma, beta, R))

    def num(arr):
        g = np.zeros(arr.shape)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            values = []
            for step in ((-1, 1) if EXTENDED else (-2, -1, 1, 2)):
                arr[i] = old + step * dtype(h)
                values.append(np.sum(f(x, gamma, beta, dtype(eps)) * R))
            arr[i] = old
            if EXTENDED:
                g[i] = float((values[1] - values[0]) / (2 * dtype(h)))
            else:
                g[i] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
        return g

    return num(x), num(gamma), num(beta)


def ours_brn(x, gamma, beta, eps, R):
    # running statistics far from the batch's, so that r and d are clipped for some features
    d = x.shape[1]
    running_mean = np.linspace(-3, 3, d)
    running_var = np.linspace(0.05, 20, d)
    _, cache, _, _ = batchrenorm_forward(x, gamma, beta, running_mean, running_var, 2.0, 1.0, eps)
    dx, dgamma, dbeta = batchrenorm_backward(R, cache)
    return (dx, dgamma, dbeta), direct_brn(cache["r"], cache["d"])


@pytest.mark.parametrize("method", ["layernorm", "groupnorm", "rmsnorm", "batchrenorm"])
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e-1])
def test_backward_matches_numerical_gradient(method, eps):
    rng = np.random.default_rng(int(eps * 1e5) + len(method))
    x, gamma, beta, R = sample(rng, 5, 6)
    if method == "layernorm":
        ours, f = layernorm_backward(R, layernorm_forward(x, gamma, beta, eps)[1]), direct_ln
    elif method == "groupnorm":
        ours, f = groupnorm_backward(R, groupnorm_forward(x, gamma, beta, 2, eps)[1]), direct_gn
    elif method == "rmsnorm":
        ours, f = rmsnorm_backward(R, rmsnorm_forward(x, gamma, eps)[1]), direct_rms
    else:
        ours, f = ours_brn(x, gamma, beta, eps, R)
    numerical = numerical_grads(f, x, gamma, beta, R, eps)
    if method == "rmsnorm":
        assert np.all(numerical[2] == 0)         # beta is not used
        numerical = numerical[:2]
    for a, b in zip(ours, numerical):
        assert rel_error(a, b) < 1e-7, rel_error(a, b)


# ------------------------------------------------------------------ Batch Renormalization

def torch_brn(x, gamma, beta, running_mean, running_var, r_max, d_max, eps):
    """Algorithm 1 (top) in torch, with r and d detached (no gradient through them)."""
    mu = x.mean(0)
    std = torch.sqrt(((x - mu) ** 2).mean(0) + eps)
    sigma = torch.sqrt(running_var + eps)
    r = torch.clamp(std / sigma, 1 / r_max, r_max).detach()
    d = torch.clamp((mu - running_mean) / sigma, -d_max, d_max).detach()
    return gamma * ((x - mu) / std * r + d) + beta, r, d


@pytest.mark.parametrize("n,d", [(2, 3), (4, 6), (16, 5), (64, 4)])
@pytest.mark.parametrize("r_max,d_max", [(1.0, 0.0), (1.5, 0.5), (3.0, 5.0), (np.inf, np.inf)])
@pytest.mark.parametrize("eps", [1e-5, 1e-1])
def test_batchrenorm_matches_autograd_over_several_steps(n, d, r_max, d_max, eps):
    rng = np.random.default_rng(10 * n + d + int(r_max * 10 if np.isfinite(r_max) else 99))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    running_mean, running_var = np.zeros(d), np.ones(d)
    bn = torch.nn.BatchNorm1d(d, eps=eps, momentum=0.3).double()   # the running statistics
    clipped = 0
    for step in range(5):
        x, _, _, dy = sample(rng, n, d)
        x = x * (step + 1)                                   # batches drift: r, d move
        rm, rv = running_mean.copy(), running_var.copy()
        passed = running_mean, running_var
        y, cache, running_mean, running_var = batchrenorm_forward(
            x, gamma, beta, running_mean, running_var, r_max, d_max, eps, momentum=0.3)
        np.testing.assert_array_equal(passed[0], rm)         # the inputs were not modified
        np.testing.assert_array_equal(passed[1], rv)
        ref = lambda a, g, b: torch_brn(a, g, b, torch.from_numpy(rm), torch.from_numpy(rv),
                                        r_max, d_max, eps)[0]
        y_ref, grads = autograd(ref, x, gamma, beta, dy=dy)
        assert_close(y, y_ref)
        for ours, g in zip(batchrenorm_backward(dy, cache), grads):
            assert_close(ours, g)
        with torch.no_grad():
            bn(torch.from_numpy(x))
        assert_close(running_mean, bn.running_mean.numpy())
        assert_close(running_var, bn.running_var.numpy())
        clipped += np.sum(np.abs(cache["d"]) == d_max) + np.sum(cache["r"] == r_max)
    if r_max == 1.5:
        assert clipped > 0                                   # the clipping was exercised


def test_batchrenorm_with_r1_d0_is_batchnorm_exactly():
    """r_max = 1, d_max = 0 (the warm-up): every number equals BN's, bit for bit."""
    rng = np.random.default_rng(6)
    d = 5
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    layer = BatchNorm1d(d, eps=1e-3, momentum=0.2)
    layer.weight, layer.bias = gamma, beta
    running_mean, running_var = layer.running_mean.copy(), layer.running_var.copy()
    for n in (2, 7, 32):
        x, _, _, dy = sample(rng, n, d)
        x = x * 3 + 5                                        # far from the running statistics
        y, cache, running_mean, running_var = batchrenorm_forward(
            x, gamma, beta, running_mean, running_var, 1.0, 0.0, eps=1e-3, momentum=0.2)
        y_bn, bn_cache = batchnorm_forward(x, gamma, beta, eps=1e-3)
        np.testing.assert_array_equal(y, y_bn)
        for ours, theirs in zip(batchrenorm_backward(dy, cache), batchnorm_backward(dy, bn_cache)):
            np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(layer(x), y)
        np.testing.assert_array_equal(running_mean, layer.running_mean)
        np.testing.assert_array_equal(running_var, layer.running_var)
        assert np.all(cache["r"] == 1) and np.all(cache["d"] == 0)


def test_batchrenorm_unclipped_trains_with_the_inference_output():
    """With r, d unclipped, the training output is inference's with the current running
    statistics; the gradient still flows through the batch statistics (Σ_i dx_i = 0)."""
    rng = np.random.default_rng(7)
    x, gamma, beta, dy = sample(rng, 6, 4)
    running_mean, running_var = rng.normal(size=4), rng.uniform(0.5, 3, size=4)
    y, cache, _, _ = batchrenorm_forward(x, gamma, beta, running_mean, running_var,
                                         np.inf, np.inf, eps=1e-5)
    assert_close(y, batchrenorm_inference(x, gamma, beta, running_mean, running_var, 1e-5))
    assert_close(y, gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta)
    dx, _, _ = batchrenorm_backward(dy, cache)
    assert_close(dx.sum(0), np.zeros(4))
    inference_dx = dy * gamma / np.sqrt(running_var + 1e-5)   # what a frozen layer would give
    assert np.max(np.abs(dx - inference_dx)) > 0.1


def test_batchrenorm_inference_matches_torch_eval():
    rng = np.random.default_rng(8)
    x, gamma, beta, _ = sample(rng, 1, 4)
    mean, var = rng.normal(size=4), rng.uniform(0.1, 3, size=4)
    ref = F.batch_norm(*(torch.from_numpy(a) for a in (x, mean, var, gamma, beta)),
                       training=False, eps=1e-5).numpy()
    assert_close(batchrenorm_inference(x, gamma, beta, mean, var), ref)


def test_running_sigma_conventions_at_batch_size_two():
    """The docstring's reason: at N = 2 the paper's average of σ_B settles near σ/√π, the
    average of the unbiased variance (used here) near σ²."""
    rng = np.random.default_rng(9)
    stds, unbiased = [], []
    for _ in range(50):
        x = rng.normal(size=(2, 2000)) * 2.0                 # σ = 2
        _, cache, _, var = batchrenorm_forward(x, np.ones(2000), np.zeros(2000), np.zeros(2000),
                                               np.ones(2000), 3.0, 5.0, eps=0.0, momentum=1.0)
        stds.append(cache["std"])
        unbiased.append(var)
    assert np.mean(stds) == pytest.approx(2.0 / np.sqrt(np.pi), rel=0.01)
    assert np.mean(unbiased) == pytest.approx(4.0, rel=0.02)


def test_batchrenorm_limits_follow_the_paper():
    assert batchrenorm_limits(0) == (1.0, 0.0)
    assert batchrenorm_limits(5000) == (1.0, 0.0)
    r, d = batchrenorm_limits(25000)
    assert d == 5.0 and r == pytest.approx(1 + 2 * 20000 / 35000)
    assert batchrenorm_limits(40000) == (3.0, 5.0)
    assert batchrenorm_limits(10**6) == (3.0, 5.0)
    steps = range(0, 45000, 500)
    limits = np.array([batchrenorm_limits(t) for t in steps])
    assert np.all(np.diff(limits, axis=0) >= 0)              # only ever relaxed
    # a short run: the same shape, scaled
    assert batchrenorm_limits(300, 100, 800, 500) == pytest.approx((1 + 2 * 200 / 700, 5 * 0.5))


# ------------------------------------------------------------------ errors

def test_errors_shapes():
    x = np.ones((4, 6))
    for bad in (np.ones(6), np.ones((2, 6, 1))):
        with pytest.raises(ValueError, match=r"expected a 2-D input of shape \(N, D\)"):
            layernorm_forward(bad, np.ones(6), np.zeros(6))
        with pytest.raises(ValueError, match="expected a 2-D input"):
            groupnorm_forward(bad, np.ones(6), np.zeros(6), 2)
        with pytest.raises(ValueError, match="expected a 2-D input"):
            rmsnorm_forward(bad, np.ones(6))
    with pytest.raises(ValueError, match=r"at least 1 feature"):
        layernorm_forward(np.ones((3, 0)), np.ones(0), np.zeros(0))
    with pytest.raises(ValueError, match=r"expected gamma of shape \(6,\).*got shape \(5,\)"):
        layernorm_forward(x, np.ones(5), np.zeros(6))
    with pytest.raises(ValueError, match=r"expected beta of shape \(6,\)"):
        groupnorm_forward(x, np.ones(6), np.zeros((1, 6)), 2)
    with pytest.raises(ValueError, match=r"expected gamma of shape \(6,\)"):
        rmsnorm_forward(x, 1.0)
    _, cache = layernorm_forward(x, np.ones(6), np.zeros(6))
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 6\)"):
        layernorm_backward(np.ones((6, 4)), cache)
    _, cache = groupnorm_forward(x, np.ones(6), np.zeros(6), 3)
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 6\)"):
        groupnorm_backward(np.ones(6), cache)
    _, cache = rmsnorm_forward(x, np.ones(6))
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 6\)"):
        rmsnorm_backward(np.ones((4, 5)), cache)


@pytest.mark.parametrize("groups,match", [
    (4, r"C = 6 to be divisible by num_groups.*got num_groups = 4.*\[1, 2, 3, 6\]"),
    (12, r"C = 6 to be divisible by num_groups.*got num_groups = 12"),
    (0, r"num_groups to be a whole number >= 1, got 0"),
    (-2, r"whole number >= 1, got -2"),
    (2.5, r"whole number >= 1, got 2.5"),
    (True, r"whole number >= 1, got True"),
])
def test_errors_num_groups(groups, match):
    with pytest.raises(ValueError, match=match):
        groupnorm_forward(np.ones((3, 6)), np.ones(6), np.zeros(6), groups)
    # torch refuses the indivisible ones too
    if isinstance(groups, int) and 0 < groups < 6 and 6 % groups:
        with pytest.raises(RuntimeError, match="divisible by num_groups"):
            F.group_norm(torch.ones(3, 6), groups)


def test_groupnorm_accepts_integral_float_groups():
    y, cache = groupnorm_forward(np.arange(12.0).reshape(2, 6), np.ones(6), np.zeros(6), 3.0)
    assert cache["num_groups"] == 3


@pytest.mark.parametrize("eps", [-1e-5, float("nan"), float("inf")])
def test_errors_bad_eps(eps):
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="expected eps >= 0"):
        layernorm_forward(x, np.ones(4), np.zeros(4), eps)
    with pytest.raises(ValueError, match="expected eps >= 0"):
        groupnorm_forward(x, np.ones(4), np.zeros(4), 2, eps)
    with pytest.raises(ValueError, match="expected eps >= 0"):
        rmsnorm_forward(x, np.ones(4), eps)
    with pytest.raises(ValueError, match="expected eps >= 0"):
        batchrenorm_forward(x, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4), 3, 5, eps)


def test_errors_batchrenorm():
    x, ones, zeros = np.ones((4, 3)), np.ones(3), np.zeros(3)

    def call(x=x, rm=zeros, rv=ones, r_max=3.0, d_max=5.0, momentum=0.1):
        return batchrenorm_forward(x, ones, zeros, rm, rv, r_max, d_max, 1e-5, momentum)

    with pytest.raises(ValueError, match=r"more than 1 value per channel.*at least 2"):
        call(x=np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected r_max >= 1.*got 0.5"):
        call(r_max=0.5)
    with pytest.raises(ValueError, match=r"expected r_max >= 1.*got nan"):
        call(r_max=float("nan"))
    with pytest.raises(ValueError, match=r"expected d_max >= 0.*got -1.0"):
        call(d_max=-1)
    with pytest.raises(ValueError, match=r"expected momentum in \[0, 1\].*got None"):
        call(momentum=None)
    with pytest.raises(ValueError, match=r"expected momentum in \[0, 1\].*got 1.5"):
        call(momentum=1.5)
    with pytest.raises(ValueError, match=r"expected running_mean of shape \(3,\)"):
        call(rm=np.zeros(4))
    with pytest.raises(ValueError, match=r"expected running_var >= 0"):
        call(rv=np.array([1.0, -0.5, 1.0]))
    _, cache, _, _ = call()
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 3\)"):
        batchrenorm_backward(np.ones((3, 4)), cache)


def test_errors_limits():
    with pytest.raises(ValueError, match="expected step >= 0"):
        batchrenorm_limits(-1)
    with pytest.raises(ValueError, match="expected 0 <= warmup_steps < r_max_at and d_max_at"):
        batchrenorm_limits(10, warmup_steps=30000, d_max_at=25000)
    with pytest.raises(ValueError, match="expected r_max >= 1"):
        batchrenorm_limits(10, r_max_final=0.5)
