"""The compiled loops behind bn_core.records: the statistics a snapshot needs for every unit of
every layer, as loops compiled by numba (bn_core.kernels.jit), each with the shapes checked by
its wrapper (the loops do not check bounds):

    unit_histograms(z, edges)            counts (K, W, bins) of each unit's values, as np.histogram
                                         of the clipped values (NaN and ±inf left out)
    order_statistics(values, ranks)      the ranks-th smallest of each row, as np.sort(row)[rank]
    merged_ranks(halves, n_e, n_o, r)    the same of each unit from its even- and odd-indexed
                                         values sorted apart (two sorted runs, bisection)
    layer_moments(z, edges, U, kind, s)  one pass for the rest: the histograms above, each of the
                                         first U units' mean and standard deviation, the pooled
                                         ones, the saturated count, whether all values are finite

Sums are in float64 (the numpy twin in bn_core.records sums in float32: the two agree to float32
rounding); order statistics and counts are exact. tests/test_records.py checks each against numpy.
"""

from __future__ import annotations

import numpy as np

from bn_core import kernels

__all__ = ["unit_histograms", "order_statistics", "merged_ranks", "layer_moments"]


def _unit_histograms_loops(z, edges, counts):
    """counts[k, w, b] += 1 for each finite z[k, p, w] in bin b of the evenly spaced `edges`
    (values beyond either end in the end bins; bin b holds edges[b] ≤ v < edges[b + 1])."""
    K, P, W = z.shape
    bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[bins]
    scale = bins / (hi - lo)
    for k in range(K):
        for p in range(P):
            for w in range(W):
                v = np.float64(z[k, p, w])
                if not np.isfinite(v):
                    continue
                v = min(max(v, lo), hi)
                b = min(int((v - lo) * scale), bins - 1)
                if v < edges[b]:                         # rounding: the edges decide
                    b -= 1
                elif b < bins - 1 and v >= edges[b + 1]:
                    b += 1
                counts[k, w, b] += 1


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


def _merged_ranks_loops(halves, n_even, n_odd, ranks, out):
    """out[k, i, u] = the ranks[i]-th smallest (0-based) of the union of two sorted runs,
    a = halves[k, u, 0, :n_even] and b = halves[k, u, 1, :n_odd]: the r-th smallest is
    max(a[i − 1], b[j − 1]) for the i + j = r + 1 first values of each, where i is the least
    with a[i] ≥ b[j − 1] (found by bisection: log₂ n steps instead of merging r values)."""
    K, U = halves.shape[0], halves.shape[1]
    for k in range(K):
        for u in range(U):
            for q in range(ranks.shape[0]):
                r = ranks[q]
                lo, hi = max(0, r + 1 - n_odd), min(n_even, r + 1)
                while lo < hi:
                    i = (lo + hi) // 2
                    if halves[k, u, 0, i] < halves[k, u, 1, r - i]:      # b[j − 1], j = r + 1 − i
                        lo = i + 1
                    else:
                        hi = i
                j = r + 1 - lo
                if lo == 0:
                    out[k, q, u] = halves[k, u, 1, j - 1]
                elif j == 0:
                    out[k, q, u] = halves[k, u, 0, lo - 1]
                else:
                    out[k, q, u] = max(halves[k, u, 0, lo - 1], halves[k, u, 1, j - 1])


def _layer_moments_loops(z, edges, units, relu, flat_end, counts, unit_sum, unit_sq, pooled,
                         finite):
    """One layer's z (K, P, W), per network k: counts (K, W, bins) as `_unit_histograms_loops`;
    unit_sum, unit_sq (K, U): Σ_p z and Σ_p (z − mean)² of each of the first U units; pooled
    (K, 4): Σ z, Σ (z − mean)², the saturated count (relu: z ≤ 0; else |z| > flat_end, compared
    in float32 as numpy does) and how many values are finite; finite[k]: all of them are."""
    K, P, W = z.shape
    bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[bins]
    scale = bins / (hi - lo)
    zero = np.float32(0.0)
    for k in range(K):
        total, n_ok, n_sat = 0.0, 0, 0
        for p in range(P):
            for w in range(W):
                x = z[k, p, w]
                total += x
                if w < units:
                    unit_sum[k, w] += x
                if relu:
                    n_sat += x <= zero
                else:
                    n_sat += abs(x) > flat_end
                v = np.float64(x)
                if not np.isfinite(v):
                    continue
                n_ok += 1
                v = min(max(v, lo), hi)
                b = min(int((v - lo) * scale), bins - 1)
                if v < edges[b]:                         # rounding: the edges decide
                    b -= 1
                elif b < bins - 1 and v >= edges[b + 1]:
                    b += 1
                counts[k, w, b] += 1
        mean = total / (P * W)
        sq = 0.0
        for p in range(P):
            for w in range(W):
                d = np.float64(z[k, p, w]) - mean
                sq += d * d
                if w < units:
                    du = np.float64(z[k, p, w]) - unit_sum[k, w] / P
                    unit_sq[k, w] += du * du
        pooled[k, 0], pooled[k, 1], pooled[k, 2], pooled[k, 3] = total, sq, n_sat, n_ok
        finite[k] = n_ok == P * W


if kernels.AVAILABLE:
    _layer_moments_loops = kernels.jit(_layer_moments_loops)
    _unit_histograms_loops = kernels.jit(_unit_histograms_loops)
    _order_statistics_loops = kernels.jit(_order_statistics_loops)
    _merged_ranks_loops = kernels.jit(_merged_ranks_loops)


def merged_ranks(halves, n_even, n_odd, ranks):
    """(K, R, U): the ranks[i]-th smallest value (0-based) of each unit's column, from its two
    halves sorted apart, halves (K, U, 2, H) (the first n_even and n_odd of each valid), as
    np.sort of the n_even + n_odd values [rank]. NaN compare false: meant for finite values."""
    halves = np.ascontiguousarray(halves)
    ranks = np.asarray(ranks, dtype=np.int64)
    if halves.ndim != 4 or halves.shape[2] != 2 or not (0 <= n_odd <= n_even <= halves.shape[3]) \
            or (ranks.size and (ranks.min() < 0 or ranks.max() >= n_even + n_odd)):
        raise ValueError(f"expected halves (K, U, 2, H) and ranks in 0…{n_even + n_odd - 1}, got "
                         f"{halves.shape}, {ranks}")
    out = np.empty((halves.shape[0], len(ranks), halves.shape[1]), halves.dtype)
    _merged_ranks_loops(halves, int(n_even), int(n_odd), ranks, out)
    return out


def unit_histograms(z, edges):
    """Counts (K, W, bins) int32 of each unit's values z[k, :, w] (z: (K, P, W)) in the bins of
    the evenly spaced `edges` (bins + 1,): as np.histogram of the clipped values (values beyond
    either end in the end bins, the last bin closed), NaN and ±inf left out."""
    z = np.ascontiguousarray(z)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if z.ndim != 3 or edges.ndim != 1 or len(edges) < 2:
        raise ValueError(f"expected z (K, P, W) and edges (bins + 1,), got {z.shape}, {edges.shape}")
    counts = np.zeros((z.shape[0], z.shape[2], len(edges) - 1), np.int32)
    _unit_histograms_loops(z, edges, counts)
    return counts


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


def layer_moments(z, edges, units: int, activation: str, flat_end: float):
    """One pass over a layer's z (K, P, W) for what `bn_core.records.layer_records` needs besides
    percentiles: (counts (K, W, bins) int32 as `unit_histograms`, unit mean and std (K, U) of the
    first U = `units` units, pooled mean and std (K,), the saturated share (K,) (relu: z ≤ 0; else
    |z| > flat_end), finite (K,) bool: all values finite). Means and standard deviations (biased,
    as np.std) are summed in float64; a network with non-finite values gets NaN or ±inf there."""
    z = np.ascontiguousarray(z)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if z.ndim != 3 or edges.ndim != 1 or len(edges) < 2 or not 0 <= units <= z.shape[2]:
        raise ValueError(f"expected z (K, P, W), edges (bins + 1,) and units ≤ W, got {z.shape}, "
                         f"{edges.shape}, {units}")
    k, p, w = z.shape
    counts = np.zeros((k, w, len(edges) - 1), np.int32)
    unit_sum, unit_sq = np.zeros((k, units)), np.zeros((k, units))
    pooled, finite = np.zeros((k, 4)), np.zeros(k, np.bool_)
    _layer_moments_loops(z, edges, units, activation == "relu", np.float32(flat_end), counts,
                         unit_sum, unit_sq, pooled, finite)
    m = p * w
    return (counts, unit_sum / p, np.sqrt(unit_sq / p), pooled[:, 0] / m,
            np.sqrt(pooled[:, 1] / m), pooled[:, 2] / m, finite)
