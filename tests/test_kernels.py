"""The compiled loops of bn_core.kernels against numpy, torch and autograd, and the engine with
and without them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import engine, kernels
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
    y_ref, cache_ref = engine._bn_train(x.copy(), gamma, beta, eps)
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

    ref = engine._bn_backward(dy, gamma, xhat.copy(), inv)
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
    a = engine._act(name, z)
    da = RNG.normal(0, 1, z.shape).astype(np.float32)
    np.testing.assert_allclose(kernels.act_backward(name, da, z, a),
                               engine._act_backward(name, da, z, a), rtol=1e-6, atol=1e-7)


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
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    monkeypatch.setattr(engine, "bn_train", engine._bn_train)
    monkeypatch.setattr(engine, "bn_backward", engine._bn_backward)
    monkeypatch.setattr(engine, "act_backward", engine._act_backward)
    monkeypatch.setattr(engine, "running_update", engine._running_update_numpy)
    plain = train()
    torch.testing.assert_close(compiled.flat, plain.flat, rtol=1e-4, atol=1e-5)
    for l in range(2):
        torch.testing.assert_close(compiled.running_var[l], plain.running_var[l], rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- snapshot statistics
# unit_histograms and order_statistics (bn_core.records' compiled helpers) against np.histogram
# of the clipped finite values and np.sort of the finite values.

HIST_EDGES = np.linspace(-4, 4, 41)      # inner edges not exactly representable


def histogram_reference(values, edges):
    """np.histogram of the finite values clipped to the edges' range, in float64."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return np.histogram(np.clip(v, edges[0], edges[-1]), edges)[0]


def statistic_rows(dtype, m=300, seed=11):
    """Rows (K, M): random, tied, constant, with NaN and ±inf, all NaN, beyond and on the edges."""
    rng = np.random.default_rng(seed)
    rows = np.stack([
        rng.normal(0, 3, m),
        rng.integers(-3, 4, m).astype(np.float64),                       # many ties
        np.full(m, 0.75),                                                # constant
        np.where(rng.random(m) < 0.2, np.nan, rng.normal(0, 1, m)),      # NaN
        np.resize([np.inf, -np.inf, np.nan, 1.5, -2.5, 0.0, 7.0], m),    # ±inf among few values
        np.full(m, np.nan),                                              # nothing finite
        np.resize(np.concatenate([HIST_EDGES, np.nextafter(HIST_EDGES, np.inf)]), m),
        rng.normal(0, 1e-6, m) + 1.0,                                    # a narrow range
    ])
    return rows.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("edges", [HIST_EDGES, np.linspace(-1.3, 2.7, 17), np.linspace(0.5, 1.0, 6)])
def test_unit_histograms_equal_np_histogram(dtype, edges):
    rows = statistic_rows(dtype)                                          # (8, M)
    z = rows.reshape(2, 4, -1).transpose(0, 2, 1)                         # (K=2, P=M, W=4)
    counts = kernels.unit_histograms(z, edges)
    assert counts.shape == (2, 4, len(edges) - 1) and counts.dtype == np.int32
    for k in range(2):
        for w in range(4):
            np.testing.assert_array_equal(counts[k, w], histogram_reference(z[k, :, w], edges),
                                          err_msg=f"network {k}, unit {w}")


def test_unit_histograms_of_values_on_every_edge():
    z = np.concatenate([HIST_EDGES, np.nextafter(HIST_EDGES, -np.inf),
                        np.nextafter(HIST_EDGES, np.inf), [-1e30, 1e30]])[None, :, None]
    got = kernels.unit_histograms(z, HIST_EDGES)[0, 0]
    np.testing.assert_array_equal(got, histogram_reference(z.ravel(), HIST_EDGES))
    assert got[0] == 5       # −1e30; −4 and both its neighbours; the one below −3.8
    assert got[-1] == 6      # 3.8 and the one above it; 4 and both its neighbours; 1e30
    z32 = HIST_EDGES.astype(np.float32)[None, :, None]             # edges rounded to float32
    np.testing.assert_array_equal(kernels.unit_histograms(z32, HIST_EDGES)[0, 0],
                                  histogram_reference(z32.ravel(), HIST_EDGES))


@pytest.mark.parametrize("call", [
    lambda: kernels.unit_histograms(np.zeros((4, 5), np.float32), HIST_EDGES),
    lambda: kernels.unit_histograms(np.zeros((1, 4, 5, 2), np.float32), HIST_EDGES),
    lambda: kernels.unit_histograms(np.zeros((1, 4, 5), np.float32), HIST_EDGES.reshape(1, -1)),
    lambda: kernels.unit_histograms(np.zeros((1, 4, 5), np.float32), np.array([1.0])),
    lambda: kernels.order_statistics(np.zeros(6, np.float32), [0, 1]),
    lambda: kernels.order_statistics(np.zeros((2, 3, 6), np.float32), [0, 1]),
    lambda: kernels.order_statistics(np.zeros((2, 6), np.float32), [[0, 1]]),
    lambda: kernels.order_statistics(np.zeros((2, 6), np.float32), [0, 6]),
    lambda: kernels.order_statistics(np.zeros((2, 6), np.float32), [-1, 2]),
])
def test_statistics_refuse_wrong_shapes_and_ranks(call):
    with pytest.raises(ValueError, match="expected"):
        call()


def order_reference(row, ranks):
    """np.sort of the finite values at each rank (past them: the largest; none: NaN)."""
    finite = np.sort(row[np.isfinite(row)])
    if finite.size == 0:
        return np.full(len(ranks), np.nan)
    return finite[np.minimum(ranks, finite.size - 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fine", [2048, 3, 1])
def test_order_statistics_equal_np_sort(dtype, fine):
    rows = statistic_rows(dtype)
    ranks = np.array([0, 1, 44, 45, 149, 150, 253, 254, 298, 299])
    got = kernels.order_statistics(rows, ranks, fine=fine)
    assert got.shape == (len(rows), len(ranks)) and got.dtype == dtype
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(got[k], order_reference(row, ranks), err_msg=f"row {k}")


@pytest.mark.parametrize("m", [1, 2, 3, 7, 64])
def test_order_statistics_every_rank_of_small_rows(m):
    rng = np.random.default_rng(m)
    rows = np.stack([rng.normal(size=m), np.round(rng.normal(size=m)), np.full(m, -3.0),
                     rng.permutation(np.arange(m, dtype=np.float64))]).astype(np.float32)
    ranks = np.arange(m)
    got = kernels.order_statistics(rows, ranks)
    np.testing.assert_array_equal(got, np.sort(rows, axis=1))
    np.testing.assert_array_equal(kernels.order_statistics(rows, ranks[::-1].copy()),
                                  np.sort(rows, axis=1)[:, ::-1])         # in any order
    assert kernels.order_statistics(rows, []).shape == (4, 0)


def test_order_statistics_of_a_large_row_as_records_uses_them():
    values = np.random.default_rng(12).normal(0, 2, (3, 36000)).astype(np.float32)
    values[1] = np.round(values[1], 1)
    ranks = np.array([5399, 5400, 17999, 18000, 30598, 30599])
    np.testing.assert_array_equal(kernels.order_statistics(values, ranks),
                                  np.sort(values, axis=1)[:, ranks])


def test_order_statistics_does_not_change_its_input():
    rows = statistic_rows(np.float32)
    before = rows.copy()
    kernels.order_statistics(rows, [0, 5, 299])
    kernels.unit_histograms(rows[None], HIST_EDGES)
    np.testing.assert_array_equal(rows, before)


@pytest.mark.parametrize("row", [[0.0, 5e-324, 1e-323, 0.0], [-1e308, 1e308, 0.0]])
def test_order_statistics_algorithm_on_extreme_float64_ranges(row):
    """The loop's own algorithm, run as Python (the compiled one must not be run on these)."""
    loops = getattr(kernels._order_statistics_loops, "py_func", kernels._order_statistics_loops)
    values = np.array([row])
    ranks = np.arange(len(row))
    out = np.empty((1, len(row)))
    with np.errstate(all="ignore"):
        loops(values, ranks, out, 2048)
    np.testing.assert_array_equal(out, np.sort(values, axis=1))


def test_order_statistics_algorithm_as_python_on_ordinary_rows():
    """The same algorithm un-compiled agrees with the compiled one and np.sort (so the check
    above tests the algorithm the kernel runs)."""
    loops = getattr(kernels._order_statistics_loops, "py_func", kernels._order_statistics_loops)
    rows = statistic_rows(np.float64, m=40)
    ranks = np.array([0, 5, 6, 19, 20, 33, 39])
    out = np.empty((len(rows), len(ranks)))
    loops(rows, ranks, out, 16)
    np.testing.assert_array_equal(out, kernels.order_statistics(rows, ranks, fine=16))
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(out[k], order_reference(row, ranks))
