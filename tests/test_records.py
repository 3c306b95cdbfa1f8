"""bn_core.records: the snapshot statistics against numpy computed independently here
(np.percentile's default method, np.histogram of the clipped values, np.median, the activation's
own values for saturation), with the compiled kernels and with the numpy fallback."""

import math

import numpy as np
import pytest

from bn_core import kernels, probe_stats, records
from bn_core.records import (PERCENTILES, SATURATED_Z, UNITS_RECORDED, Divergence, History,
                             LayerRecord, Snapshot, fixed_edges, histograms, layer_records,
                             percentiles_of_sorted, saturated)

EDGES = np.linspace(-4, 4, 41)          # inner edges (multiples of 0.2) not exactly representable


@pytest.fixture(params=["numba", "numpy"])
def backend(request, monkeypatch):
    """The compiled kernels, or the numpy fallback as records sees it without numba."""
    if request.param == "numba" and not kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    if request.param == "numpy":
        monkeypatch.setattr(records.kernels, "AVAILABLE", False)
    return request.param


# ----------------------------------------------------------------------------- percentiles

@pytest.mark.parametrize("m", [1, 2, 3, 7, 360, 36000])
def test_percentiles_of_sorted_equal_np_percentile(m):
    rng = np.random.default_rng(m)
    x = rng.normal(0, 3, (4, m))
    x[1] = np.round(x[1])                                 # ties
    x[2] = 1.25                                           # constant
    got = percentiles_of_sorted(np.sort(x, axis=-1))
    assert got.shape == (3, 4)
    np.testing.assert_array_equal(got, np.percentile(x, PERCENTILES, axis=-1))
    q = (0, 1, 12.5, 33.3, 50, 99.9, 100)
    np.testing.assert_array_equal(percentiles_of_sorted(np.sort(x, axis=-1), q),
                                  np.percentile(x, q, axis=-1))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_percentiles_of_sorted_along_any_axis(axis):
    x = np.random.default_rng(1).normal(size=(5, 7, 6))
    got = percentiles_of_sorted(np.sort(x, axis=axis), axis=axis)
    want = np.percentile(x, PERCENTILES, axis=axis)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_percentiles_of_sorted_float32_close_to_numpy():
    x = np.random.default_rng(2).normal(size=(50, 7)).astype(np.float32)
    got = percentiles_of_sorted(np.sort(x, axis=1))
    np.testing.assert_allclose(got, np.percentile(x, PERCENTILES, axis=1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("m", [2, 3, 7])
def test_percentiles_of_sorted_float32_equal_np_percentile(m):
    x = np.random.default_rng(3).normal(size=(50, m)).astype(np.float32)
    np.testing.assert_array_equal(percentiles_of_sorted(np.sort(x, axis=1)),
                                  np.percentile(x, PERCENTILES, axis=1))


# ----------------------------------------------------------------------------- histograms

def reference_histogram(row, edges):
    """np.histogram of the row's finite values clipped to the edges' range (float64)."""
    row = np.asarray(row, np.float64)
    row = row[np.isfinite(row)]
    return np.histogram(np.clip(row, edges[0], edges[-1]), edges)[0]


def test_histograms_equal_np_histogram_of_the_clipped_values():
    rng = np.random.default_rng(4)
    on_edges = np.concatenate([EDGES, np.nextafter(EDGES, -np.inf), np.nextafter(EDGES, np.inf)])
    rows = [
        rng.normal(0, 3, 500),                                   # many beyond either end
        np.concatenate([on_edges, rng.permutation(on_edges)]),   # exactly on every edge
        np.round(rng.normal(0, 2, 500) * 5) / 5,                 # ties on the (inexact) edges
        np.full(500, 4.0), np.full(500, -4.0), np.full(500, 1e9),
        np.linspace(-4, 4, 500),
    ]
    values = np.stack([np.resize(r, 500) for r in rows])
    got = histograms(values, EDGES)
    assert got.shape == (len(rows), 40)
    for i in range(len(rows)):
        np.testing.assert_array_equal(got[i], reference_histogram(values[i], EDGES))
    assert (got.sum(1) == 500).all()


def test_histograms_leave_nan_out():
    values = np.random.default_rng(5).normal(0, 2, (3, 200))
    values[0, ::3] = np.nan
    values[1] = np.nan
    got = histograms(values, EDGES)
    for i in range(3):
        np.testing.assert_array_equal(got[i], reference_histogram(values[i], EDGES))
    assert got[1].sum() == 0 and got[0].sum() == 200 - 67


def test_histograms_of_float32_values():
    rng = np.random.default_rng(6)
    values = rng.normal(0, 3, (4, 300)).astype(np.float32)
    values[1, :41] = EDGES.astype(np.float32)                    # the float32 neighbours of edges
    edges = np.linspace(-5, 3, 33)
    for e in (EDGES, edges):
        got = histograms(values, e)
        for i in range(4):
            np.testing.assert_array_equal(got[i], reference_histogram(values[i], e))


def test_histograms_of_float32_values_below_an_inexact_first_edge():
    edges = np.linspace(-0.1, 0.1, 11)
    values = np.array([[0.0, 0.0, 0.05], [-5.0, 0.0, 5.0]], np.float32)
    want = np.stack([reference_histogram(v, edges) for v in values])
    np.testing.assert_array_equal(histograms(values, edges), want)


def test_saturated_uses_the_flat_ends_of_the_activation():
    z = np.linspace(-6, 6, 10001)
    g = 1 / (1 + np.exp(-z))
    np.testing.assert_array_equal(saturated(z, "sigmoid"), (g < 0.03) | (g > 0.97))
    np.testing.assert_array_equal(saturated(z, "tanh"), np.abs(np.tanh(z)) > 0.97)
    np.testing.assert_array_equal(saturated(np.array([-1.0, 0.0, 1e-30, 2.0]), "relu"),
                                  [True, True, False, False])
    assert math.isclose(1 / (1 + math.exp(-SATURATED_Z["sigmoid"])), 0.97)
    assert math.isclose(math.tanh(SATURATED_Z["tanh"]), 0.97)


# ----------------------------------------------------------------------------- fixed_edges

def test_fixed_edges():
    small = [np.random.default_rng(7).normal(0, 0.5, 1000)]
    np.testing.assert_array_equal(fixed_edges(small, 40), np.linspace(-4, 4, 41))
    # the 99.5th percentile of |z| over 0, 0.05, …, 10 is 9.95: ±ceil(19.9) = ±20
    wide = np.linspace(0, 10, 201)
    np.testing.assert_array_equal(fixed_edges([small[0], -wide], 30), np.linspace(-20, 20, 31))
    # non-finite values are left out; an array with none finite is skipped
    with_nan = np.concatenate([np.linspace(-3, 3, 1000), [np.nan, np.inf, -np.inf] * 100])
    half = max(4.0, math.ceil(2 * np.percentile(np.abs(np.linspace(-3, 3, 1000)), 99.5)))
    assert half == 6
    np.testing.assert_array_equal(fixed_edges([with_nan, np.full(5, np.nan)], 12),
                                  np.linspace(-half, half, 13))
    np.testing.assert_array_equal(fixed_edges([np.full(3, np.nan)], 8), np.linspace(-4, 4, 9))
    np.testing.assert_array_equal(fixed_edges([np.zeros(0)], 8), np.linspace(-4, 4, 9))


# ----------------------------------------------------------------------------- layer_records

def make_z(k=2, p=40, w=20, seed=8):
    """(K, P, W) float32 activation inputs: some beyond the edges, exact zeros, values on exact
    edges (−4, 0, 2, 4) and ties."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (k, p, w)).astype(np.float32)
    z[:, :6, 1] = [-4, 0, 2, 4, 0, 0]
    z[:, :, 2] = np.round(z[:, :, 2])
    z[:, :, 3] = 0.5                                                    # a constant unit
    z[0, :, 4] += 3.0                                                   # a shifted unit
    return z


def reference(zk, edges, activation):
    """The statistics of one network's z (P, W), from its finite values, with plain numpy."""
    z = zk.astype(np.float64)
    fin = np.isfinite(z)
    vals = z[fin]
    lo, hi = edges[0], edges[-1]
    if activation == "sigmoid":
        g = 1 / (1 + np.exp(-vals))
        sat = (g < 0.03) | (g > 0.97)
    elif activation == "tanh":
        sat = np.abs(np.tanh(vals)) > 0.97
    else:
        sat = vals <= 0
    # percentiles as np.percentile computes them on the values as recorded (float32: the gap
    # between two neighbours in float32, the interpolation in float64)
    units = [zk[:, j][fin[:, j]] for j in range(z.shape[1])]
    return dict(
        mean=vals.mean(), std=vals.std(), pooled=np.percentile(zk[fin], PERCENTILES),
        hist=np.histogram(np.clip(vals, lo, hi), edges)[0],
        unit_percentiles=np.stack([np.percentile(u, PERCENTILES) for u in units], 1)
        .astype(np.float32),
        unit_mean=np.array([u.astype(np.float64).mean() for u in units]),
        unit_std=np.array([u.astype(np.float64).std() for u in units]),
        unit_hists=np.stack([np.histogram(np.clip(u, lo, hi), edges)[0]
                             for u in units[:UNITS_RECORDED]]),
        saturation=sat.mean())


def assert_record(rec, ref, units=None):
    """rec equals the reference (exact where the computation is exact), for all units or the
    listed ones."""
    w = rec.unit_percentiles.shape[1]
    units = list(range(w)) if units is None else units
    np.testing.assert_allclose(rec.mean, ref["mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.std, ref["std"], rtol=1e-5)
    np.testing.assert_allclose([rec.p15, rec.p50, rec.p85], ref["pooled"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(rec.hist, ref["hist"])
    np.testing.assert_array_equal(rec.unit_percentiles[:, units], ref["unit_percentiles"][:, units])
    np.testing.assert_allclose(rec.unit_mean[units], ref["unit_mean"][units], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.unit_std[units], ref["unit_std"][units], rtol=1e-5, atol=1e-6)
    recorded = [j for j in units if j < UNITS_RECORDED]
    assert rec.unit_hists.shape[0] == min(w, UNITS_RECORDED)
    np.testing.assert_array_equal(rec.unit_hists[recorded], ref["unit_hists"][recorded])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("width", [20, 5])
def test_layer_records_of_finite_networks(backend, activation, width):
    z = make_z(k=3, w=width, seed=width)
    recs = layer_records(z, EDGES, activation)
    assert len(recs) == 3
    for k, rec in enumerate(recs):
        ref = reference(z[k], EDGES, activation)
        assert_record(rec, ref)
        assert rec.saturation == ref["saturation"]
        assert isinstance(rec.p50, float) and isinstance(rec.saturation, float)
        assert math.isnan(rec.grad_norm)                          # left for the caller
        assert rec.hist.shape == (40,) and rec.hist.dtype == np.int32
        assert rec.unit_percentiles.shape == (3, width) and rec.unit_percentiles.dtype == np.float32
        assert rec.unit_mean.shape == rec.unit_std.shape == (width,)
        assert rec.unit_hists.shape == (min(width, UNITS_RECORDED), 40)
        assert rec.unit_hists.dtype == np.int16
        assert rec.hist.sum() == z[k].size and (rec.unit_hists.sum(1) == z.shape[1]).all()
        # the pooled percentiles come from the exact order statistics (kernel or partition)
        np.testing.assert_array_equal([rec.p15, rec.p50, rec.p85],
                                      percentiles_of_sorted(np.sort(z[k].ravel())))
        np.testing.assert_array_equal(rec.unit_spread,
                                      rec.unit_percentiles[2] - rec.unit_percentiles[0])
    assert recs[1].saturation > 0                                   # thresholds were exercised


def test_layer_records_known_values():
    """A hand-made layer: P = 4 examples, W = 2 units."""
    z = np.array([[[0.0, -1.0], [1.0, 5.0], [2.0, -1.0], [3.0, 7.0]]], np.float32)   # (1, 4, 2)
    (rec,) = layer_records(z, np.linspace(-4, 4, 9), "relu")
    np.testing.assert_array_equal(rec.unit_percentiles, np.float32([[0.45, -1], [1.5, 2], [2.55, 6.1]]))
    np.testing.assert_array_equal(rec.unit_mean, [1.5, 2.5])
    np.testing.assert_array_equal(rec.unit_hists, [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 2, 0, 0, 0, 2]])
    assert rec.saturation == 3 / 8 and rec.mean == 2.0 and rec.p50 == 1.5


@pytest.fixture
def diverging():
    """z for two networks: network 0 finite, network 1 with NaN in units 2 and 5."""
    z = make_z(k=2, w=20, seed=9)
    z[1, 3, 2] = np.nan
    z[1, ::4, 5] = np.nan
    return z


def with_inf(z):
    z = z.copy()
    z[1, 7, 6] = np.inf
    z[1, 8, 6] = -np.inf
    z[1, 0, 2] = np.inf
    return z


BAD_UNITS = [2, 5, 6]


def test_a_diverging_network_beside_a_finite_one(backend, diverging):
    """The finite network is as if recorded alone; the diverging network's pooled statistics and
    the units without a non-finite value count its finite values."""
    recs = layer_records(diverging, EDGES, "sigmoid")
    alone = layer_records(diverging[:1], EDGES, "sigmoid")[0]
    for name in ("mean", "std", "p15", "p50", "p85", "saturation"):
        assert getattr(recs[0], name) == getattr(alone, name)
    for name in ("hist", "unit_percentiles", "unit_mean", "unit_std", "unit_hists"):
        np.testing.assert_array_equal(getattr(recs[0], name), getattr(alone, name))
    assert_record(recs[0], reference(diverging[0], EDGES, "sigmoid"))

    ref = reference(diverging[1], EDGES, "sigmoid")
    good = [j for j in range(20) if j not in BAD_UNITS]
    assert_record(recs[1], ref, units=good)
    assert math.isfinite(recs[1].mean) and math.isfinite(recs[1].p85)
    assert recs[1].hist.sum() == np.isfinite(diverging[1]).sum()


@pytest.mark.parametrize("backend", ["numba", "numpy"], indirect=True)
def test_infinite_values_are_left_out_of_the_histograms(backend, diverging):
    z = with_inf(diverging)
    rec = layer_records(z, EDGES, "sigmoid")[1]
    ref = reference(z[1], EDGES, "sigmoid")
    np.testing.assert_array_equal(rec.hist, ref["hist"])
    np.testing.assert_array_equal(rec.unit_hists[6], ref["unit_hists"][6])


def test_infinite_values_are_left_out_of_the_pooled_statistics(backend, diverging):
    z = with_inf(diverging)
    rec = layer_records(z, EDGES, "sigmoid")[1]
    ref = reference(z[1], EDGES, "sigmoid")
    np.testing.assert_allclose([rec.mean, rec.std], [ref["mean"], ref["std"]], rtol=1e-5)
    np.testing.assert_allclose([rec.p15, rec.p50, rec.p85], ref["pooled"], rtol=0, atol=1e-6)


def test_saturation_of_a_diverging_network_counts_finite_values_only(diverging):
    z = with_inf(diverging)
    rec = layer_records(z, EDGES, "sigmoid")[1]
    assert rec.saturation == reference(z[1], EDGES, "sigmoid")["saturation"]


def test_per_unit_statistics_of_a_diverging_network_count_finite_values_only(diverging):
    z = with_inf(diverging)
    rec = layer_records(z, EDGES, "sigmoid")[1]
    ref = reference(z[1], EDGES, "sigmoid")
    np.testing.assert_array_equal(rec.unit_percentiles[:, BAD_UNITS],
                                  ref["unit_percentiles"][:, BAD_UNITS])
    np.testing.assert_allclose(rec.unit_mean[BAD_UNITS], ref["unit_mean"][BAD_UNITS], rtol=1e-5)


def records_with(monkeypatch, available, z, activation):
    monkeypatch.setattr(records.kernels, "AVAILABLE", available)
    return layer_records(z, EDGES, activation)


def assert_same_records(a, b):
    """Counts and order statistics exactly; means and standard deviations to float32 rounding
    (the compiled pass sums in float64, numpy in float32)."""
    for ra, rb in zip(a, b, strict=True):
        for name in ("mean", "std", "p15", "p50", "p85", "saturation", "grad_norm", "hist",
                     "unit_percentiles", "unit_mean", "unit_std", "unit_hists"):
            x, y = getattr(ra, name), getattr(rb, name)
            if name in ("mean", "std", "unit_mean", "unit_std"):
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=name)
            else:
                np.testing.assert_array_equal(x, y, err_msg=name)
            assert np.asarray(x).dtype == np.asarray(y).dtype, name


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_kernels_and_numpy_fallback_give_the_same_records(monkeypatch, diverging, activation):
    compiled = records_with(monkeypatch, True, diverging, activation)
    fallback = records_with(monkeypatch, False, diverging, activation)
    assert_same_records(compiled, fallback)


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
def test_kernels_and_numpy_fallback_give_the_same_records_with_inf(monkeypatch, diverging):
    z = with_inf(diverging)
    assert_same_records(records_with(monkeypatch, True, z, "sigmoid"),
                        records_with(monkeypatch, False, z, "sigmoid"))


# ----------------------------------------------------------------------------- History

def test_history_snapshots_leave_out_the_divergence_snapshot():
    rec = layer_records(make_z(k=1, w=5), EDGES, "relu")
    snaps = [Snapshot("none", s, 1.0, 0.5, rec) for s in (0, 10, 20)]
    snaps[2].divergence = Divergence(20, 1, "input to the activation")
    ok = Snapshot("before", 20, 1.0, 0.5, rec)
    history = History(None, ["none", "before"],
                      frames=[{"none": snaps[0]}, {"none": snaps[1]}, {"none": snaps[2], "before": ok}])
    assert history.snapshots("none") == snaps[:2]
    assert history.snapshots("none", finite=False) == snaps
    assert history.snapshots("before") == [ok]
    assert history.last_step == 20 and History(None, []).last_step == 0
    assert snaps[2].divergence.message("none") == \
        "without BN: diverged at step 20 — layer 2's input to the activation became NaN or infinite"
    assert isinstance(rec[0], LayerRecord)


# ----------------------------------------------------------------------------- compiled loops
# ----------------------------------------------------------------------------- snapshot statistics
# layer_moments' counts and order_statistics (bn_core.records' compiled helpers) against
# np.histogram of the clipped finite values and np.sort of the finite values.

HIST_EDGES = np.linspace(-4, 4, 41)      # inner edges not exactly representable


def unit_counts(z, edges):
    """The per-unit histograms (K, W, bins) of `records.layer_moments`."""
    return records.layer_moments(z, edges, 0, "relu", 0.0)[0]


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
def test_unit_counts_equal_np_histogram(dtype, edges):
    rows = statistic_rows(dtype)                                          # (8, M)
    z = rows.reshape(2, 4, -1).transpose(0, 2, 1)                         # (K=2, P=M, W=4)
    counts = unit_counts(z, edges)
    assert counts.shape == (2, 4, len(edges) - 1) and counts.dtype == np.int32
    for k in range(2):
        for w in range(4):
            np.testing.assert_array_equal(counts[k, w], histogram_reference(z[k, :, w], edges),
                                          err_msg=f"network {k}, unit {w}")


def test_unit_counts_of_values_on_every_edge():
    z = np.concatenate([HIST_EDGES, np.nextafter(HIST_EDGES, -np.inf),
                        np.nextafter(HIST_EDGES, np.inf), [-1e30, 1e30]])[None, :, None]
    got = unit_counts(z, HIST_EDGES)[0, 0]
    np.testing.assert_array_equal(got, histogram_reference(z.ravel(), HIST_EDGES))
    assert got[0] == 5       # −1e30; −4 and both its neighbours; the one below −3.8
    assert got[-1] == 6      # 3.8 and the one above it; 4 and both its neighbours; 1e30
    z32 = HIST_EDGES.astype(np.float32)[None, :, None]             # edges rounded to float32
    np.testing.assert_array_equal(unit_counts(z32, HIST_EDGES)[0, 0],
                                  histogram_reference(z32.ravel(), HIST_EDGES))


@pytest.mark.parametrize("call", [
    lambda: unit_counts(np.zeros((4, 5), np.float32), HIST_EDGES),
    lambda: unit_counts(np.zeros((1, 4, 5, 2), np.float32), HIST_EDGES),
    lambda: unit_counts(np.zeros((1, 4, 5), np.float32), HIST_EDGES.reshape(1, -1)),
    lambda: unit_counts(np.zeros((1, 4, 5), np.float32), np.array([1.0])),
    lambda: records.order_statistics(np.zeros(6, np.float32), [0, 1]),
    lambda: records.order_statistics(np.zeros((2, 3, 6), np.float32), [0, 1]),
    lambda: records.order_statistics(np.zeros((2, 6), np.float32), [[0, 1]]),
    lambda: records.order_statistics(np.zeros((2, 6), np.float32), [0, 6]),
    lambda: records.order_statistics(np.zeros((2, 6), np.float32), [-1, 2]),
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
    got = records.order_statistics(rows, ranks, fine=fine)
    assert got.shape == (len(rows), len(ranks)) and got.dtype == dtype
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(got[k], order_reference(row, ranks), err_msg=f"row {k}")


@pytest.mark.parametrize("m", [1, 2, 3, 7, 64])
def test_order_statistics_every_rank_of_small_rows(m):
    rng = np.random.default_rng(m)
    rows = np.stack([rng.normal(size=m), np.round(rng.normal(size=m)), np.full(m, -3.0),
                     rng.permutation(np.arange(m, dtype=np.float64))]).astype(np.float32)
    ranks = np.arange(m)
    got = records.order_statistics(rows, ranks)
    np.testing.assert_array_equal(got, np.sort(rows, axis=1))
    np.testing.assert_array_equal(records.order_statistics(rows, ranks[::-1].copy()),
                                  np.sort(rows, axis=1)[:, ::-1])         # in any order
    assert records.order_statistics(rows, []).shape == (4, 0)


def test_order_statistics_of_a_large_row_as_records_uses_them():
    values = np.random.default_rng(12).normal(0, 2, (3, 36000)).astype(np.float32)
    values[1] = np.round(values[1], 1)
    ranks = np.array([5399, 5400, 17999, 18000, 30598, 30599])
    np.testing.assert_array_equal(records.order_statistics(values, ranks),
                                  np.sort(values, axis=1)[:, ranks])


def test_order_statistics_does_not_change_its_input():
    rows = statistic_rows(np.float32)
    before = rows.copy()
    records.order_statistics(rows, [0, 5, 299])
    unit_counts(rows[None], HIST_EDGES)
    np.testing.assert_array_equal(rows, before)


@pytest.mark.parametrize("row", [[0.0, 5e-324, 1e-323, 0.0], [-1e308, 1e308, 0.0]])
def test_order_statistics_algorithm_on_extreme_float64_ranges(row):
    """The loop's own algorithm, run as Python (the compiled one must not be run on these)."""
    loops = getattr(probe_stats._order_statistics_loops, "py_func", probe_stats._order_statistics_loops)
    values = np.array([row])
    ranks = np.arange(len(row))
    out = np.empty((1, len(row)))
    with np.errstate(all="ignore"):
        loops(values, ranks, out, 2048)
    np.testing.assert_array_equal(out, np.sort(values, axis=1))


def test_order_statistics_algorithm_as_python_on_ordinary_rows():
    """The same algorithm un-compiled agrees with the compiled one and np.sort (so the check
    above tests the algorithm the kernel runs)."""
    loops = getattr(probe_stats._order_statistics_loops, "py_func", probe_stats._order_statistics_loops)
    rows = statistic_rows(np.float64, m=40)
    ranks = np.array([0, 5, 6, 19, 20, 33, 39])
    out = np.empty((len(rows), len(ranks)))
    loops(rows, ranks, out, 16)
    np.testing.assert_array_equal(out, records.order_statistics(rows, ranks, fine=16))
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(out[k], order_reference(row, ranks))


def test_only_the_first_64_units_keep_statistics_of_their_own():
    z = np.random.default_rng(5).normal(size=(1, 30, 100)).astype(np.float32)
    rec = layer_records(z, EDGES, "tanh")[0]
    assert rec.unit_percentiles.shape == (3, 64) and rec.unit_mean.shape == (64,)
    assert rec.unit_hists.shape[0] == UNITS_RECORDED
    np.testing.assert_array_equal(rec.unit_percentiles,
                                  np.percentile(z[0, :, :64], PERCENTILES, axis=0).astype(np.float32))
    assert rec.p50 == np.percentile(z[0], [50])[0]            # the pooled ones: every unit


# ----------------------------------------------------------------------------- compiled path

@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("p", [2, 3, 7, 40, 361])
def test_unit_percentiles_of_the_compiled_path_equal_np_percentile(monkeypatch, p):
    """The compiled path against the numpy twin and np.percentile, any P, odd too."""
    z = make_z(k=2, p=p, w=20, seed=p) if p >= 6 else \
        np.random.default_rng(p).normal(0, 2, (2, p, 20)).astype(np.float32)
    compiled = records_with(monkeypatch, True, z, "sigmoid")
    assert_same_records(compiled, records_with(monkeypatch, False, z, "sigmoid"))
    for i, rec in enumerate(compiled):
        np.testing.assert_array_equal(rec.unit_percentiles, np.percentile(
            z[i], PERCENTILES, axis=0).astype(np.float32))


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_layer_moments_equal_numpy(activation):
    z = with_inf(make_z(k=3, p=41, w=20, seed=4))
    z[2, 5, 7] = np.nan
    counts, umean, ustd, mean, std, sat, finite = records.layer_moments(
        z[:2], EDGES, 12, activation, SATURATED_Z.get(activation, 0.0))
    assert finite.tolist() == [True, False]
    for k in range(2):
        for w in range(20):
            np.testing.assert_array_equal(counts[k, w], histogram_reference(z[k, :, w], EDGES))
    np.testing.assert_allclose(umean[0], z[0, :, :12].astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(ustd[0], z[0, :, :12].astype(np.float64).std(0), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose([mean[0], std[0]], [z[0].astype(np.float64).mean(),
                                                   z[0].astype(np.float64).std()], rtol=1e-12)
    assert sat.tolist() == saturated(z[:2].reshape(2, -1), activation).mean(1).tolist()
