"""The compiled loops behind bn_core.records: the statistics a snapshot needs for every unit of
every layer, as loops compiled by numba (bn_core.kernels.jit), each with the shapes checked by
its wrapper (the loops do not check bounds):

    order_statistics(values, ranks)      the ranks-th smallest of each row, as np.sort(row)[rank]
    layer_moments(z, edges, U, kind, s)  the rest, from each unit's values sorted: counts
                                         (K, W, bins) of each unit's values as np.histogram of
                                         the clipped values (NaN and ±inf left out), each of the
                                         first U units' mean and standard deviation, the pooled
                                         ones, the saturated count, whether all values are finite

Sums are in float64 (the numpy twin in bn_core.records sums in float32: the two agree to float32
rounding); order statistics and counts are exact. tests/test_records.py checks each against numpy.
"""

from __future__ import annotations

import numpy as np

from bn_core import kernels

__all__ = ["order_statistics", "layer_moments"]


def _order_statistics_loops(values, ranks, out, fine):
    """out[k, i] = the ranks[i]-th smallest finite value of values[k] (0-based): a histogram of
    `fine` bins between the row's min and max says which bin holds each rank; one more pass
    collects the values of those bins, which are sorted (a few values each) and read."""
    K, M = values.shape
    R = ranks.shape[0]
    counts = np.zeros(fine + 1, np.int64)
    slot = np.full(fine + 1, -1, np.int64)              # bin → its place among the needed bins
    for k in range(K):
        lo, hi, n = np.inf, -np.inf, 0
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                lo, hi, n = min(lo, v), max(hi, v), n + 1
        if n == 0:
            for i in range(R):
                out[k, i] = np.nan
            continue
        span = np.float64(hi) - lo
        if not (span > 1e-300 and np.isfinite(span) and np.isfinite(fine / span)):
            ordered = np.empty(n, values.dtype)          # a range the bins cannot resolve
            j = 0                                        # (tiny, or overflowing): sort it all
            for m in range(M):
                if np.isfinite(values[k, m]):
                    ordered[j] = values[k, m]
                    j += 1
            ordered.sort()
            for i in range(R):
                out[k, i] = ordered[min(ranks[i], n - 1)]
            continue
        scale = fine / span
        counts[:] = 0
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                counts[min(int((np.float64(v) - lo) * scale), fine)] += 1
        bin_of = np.empty(R, np.int64)                   # where each rank is: bin, and how many
        below_of = np.empty(R, np.int64)                 # values lie in the bins before it
        for i in range(R):
            r = min(ranks[i], n - 1)
            b, below = 0, 0
            while below + counts[b] <= r:
                below += counts[b]
                b += 1
            bin_of[i], below_of[i] = b, below
        needed = np.unique(bin_of)
        start = np.zeros(needed.shape[0] + 1, np.int64)
        for j in range(needed.shape[0]):
            slot[needed[j]] = j
            start[j + 1] = start[j] + counts[needed[j]]
        inside = np.empty(start[-1], values.dtype)
        fill = start[:-1].copy()
        for m in range(M):
            v = values[k, m]
            if np.isfinite(v):
                j = slot[min(int((np.float64(v) - lo) * scale), fine)]
                if j >= 0:
                    inside[fill[j]] = v
                    fill[j] += 1
        for j in range(needed.shape[0]):
            inside[start[j]:start[j + 1]].sort()
            slot[needed[j]] = -1
        for i in range(R):
            j = np.searchsorted(needed, bin_of[i])
            out[k, i] = inside[start[j] + min(ranks[i], n - 1) - below_of[i]]


def _layer_moments_loops(columns, edges, relu, flat_end, counts, unit_sum, unit_sq, pooled,
                         finite):
    """One layer's values as sorted columns (K, W, P): columns[k, w] is unit w's P values in
    network k, sorted as np.sort sorts (−inf first; +inf, then NaN, last). Per network k:
    counts (K, W, bins): each unit's finite values in the bins of the evenly spaced `edges`
    (bin b holds edges[b] ≤ v < edges[b + 1]; values beyond either end in the end bins), walked
    along the sorted column; unit_sum, unit_sq (K, W): Σ_p z and Σ_p (z − unit mean)²; pooled
    (K, 4): Σ z, Σ (z − mean)² (from the units': Σ_w [sq_w + P·(mean_w − mean)²]), the
    saturated count (relu: z ≤ 0; else |z| > flat_end, compared in float32 as numpy does) and how
    many values are finite; finite[k]: all of them are."""
    K, W, P = columns.shape
    bins = edges.shape[0] - 1
    zero = np.float32(0.0)
    for k in range(K):
        total, n_ok, n_sat = 0.0, 0, 0
        for w in range(W):
            c = columns[k, w]
            first, stop = 0, P                                # the finite values: c[first:stop]
            while first < P and c[first] == -np.inf:
                first += 1
            while stop > first and not np.isfinite(c[stop - 1]):
                stop -= 1
            n_ok += stop - first
            i = below = first
            for b in range(bins - 1):                         # values below edges[b + 1]
                e = edges[b + 1]
                while i < stop and np.float64(c[i]) < e:
                    i += 1
                counts[k, w, b] = i - below
                below = i
            counts[k, w, bins - 1] = stop - below
            s = 0.0
            for p in range(P):
                x = c[p]
                s += x
                if relu:
                    n_sat += x <= zero
                else:
                    n_sat += abs(x) > flat_end
            m = s / P
            sq = 0.0
            for p in range(P):
                d = np.float64(c[p]) - m
                sq += d * d
            unit_sum[k, w], unit_sq[k, w] = s, sq
            total += s
        mean = total / (P * W)
        sq = 0.0
        for w in range(W):
            d = unit_sum[k, w] / P - mean
            sq += unit_sq[k, w] + P * d * d
        pooled[k, 0], pooled[k, 1], pooled[k, 2], pooled[k, 3] = total, sq, n_sat, n_ok
        finite[k] = n_ok == P * W


if kernels.AVAILABLE:
    _layer_moments_loops = kernels.jit(_layer_moments_loops)
    _order_statistics_loops = kernels.jit(_order_statistics_loops)


def order_statistics(values, ranks, fine: int = 2048):
    """(K, R): the ranks[i]-th smallest finite value of each row of values (K, M), 0-based, as
    np.sort(row)[rank] (a rank past the finite values gives the largest; a row with none, NaN).
    One histogram pass instead of a sort: the values come out exactly, not binned."""
    values = np.ascontiguousarray(values)
    ranks = np.asarray(ranks, dtype=np.int64)
    if values.ndim != 2 or ranks.ndim != 1 or (ranks.size and (ranks.min() < 0 or ranks.max() >= values.shape[1])):
        raise ValueError(f"expected values (K, M) and ranks in 0…M − 1, got {values.shape}, {ranks}")
    out = np.empty((values.shape[0], len(ranks)), values.dtype)
    _order_statistics_loops(values, ranks, out, int(fine))
    return out


def layer_moments(z, edges, units: int, activation: str, flat_end: float, columns=None):
    """What `bn_core.records.layer_records` needs besides percentiles, from a layer's z (K, P, W):
    (counts (K, W, bins) int32 of each unit's values, as np.histogram of the clipped values
    (values beyond either end in the end bins, the last bin closed; NaN and ±inf left out),
    unit mean and std (K, U) of the first U = `units` units, pooled mean and std (K,), the
    saturated share (K,) (relu: z ≤ 0; else |z| > flat_end), finite (K,) bool: all values
    finite). Means and standard deviations (biased, as np.std) are summed in float64; a network
    with non-finite values gets NaN or ±inf there. columns: z's units sorted, (K, W, P), as
    np.sort(z.transpose(0, 2, 1), axis=-1) (the caller's, if it has them; else made here)."""
    z = np.asarray(z)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if z.ndim != 3 or edges.ndim != 1 or len(edges) < 2 or not 0 <= units <= z.shape[2]:
        raise ValueError(f"expected z (K, P, W), edges (bins + 1,) and units ≤ W, got {z.shape}, "
                         f"{edges.shape}, {units}")
    k, p, w = z.shape
    if columns is None:
        columns = np.ascontiguousarray(z.transpose(0, 2, 1))                      # (K, W, P)
        columns.sort(axis=-1)
    if columns.shape != (k, w, p):
        raise ValueError(f"columns: expected {(k, w, p)} (z's units sorted), got {columns.shape}")
    counts = np.zeros((k, w, len(edges) - 1), np.int32)
    unit_sum, unit_sq = np.zeros((k, w)), np.zeros((k, w))
    pooled, finite = np.zeros((k, 4)), np.zeros(k, np.bool_)
    _layer_moments_loops(np.ascontiguousarray(columns), edges, activation == "relu",
                         np.float32(flat_end), counts, unit_sum, unit_sq, pooled, finite)
    m = p * w
    return (counts, unit_sum[:, :units] / p, np.sqrt(unit_sq[:, :units] / p), pooled[:, 0] / m,
            np.sqrt(pooled[:, 1] / m), pooled[:, 2] / m, finite)
