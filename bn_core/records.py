"""What a training run records: snapshots of each network, and the statistics they hold.

A `Snapshot` describes one network after `step` updates. Its `LayerRecord`s describe the input z
to each hidden layer's activation over a fixed *probe set*: the same held-out examples (the
first PROBE_SIZE test examples) at every snapshot, so a change between snapshots is a change of
the network, not of which examples happened to be in a mini-batch. BN normalises the probe set
with the probe set's own batch statistics, as in training (nothing is updated by it).

    pooled over all P·W values of the layer     mean, std, p15, p50, p85, hist (bins,)
    per unit j (the first U = min(W, 64))      unit_percentiles (3, U): p15, p50, p85;
                                               unit_mean, unit_std (U,)
    the recorded units (the first 16)          unit_hists (16, bins)
    saturation                                 share of the P·W values on a flat end of g
    grad_norm                                  ‖∂loss/∂W‖ of the layer on the training batch

Percentiles are numpy's default ('linear'); histograms count values beyond the fixed edges in
the end bins, as np.histogram of the clipped values. `layer_records` computes all of it for K
networks at once; `tests/test_records.py` checks it against np.percentile and np.histogram.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from bn_core import kernels
from bn_core.probe_stats import layer_moments, order_statistics

__all__ = ["LayerRecord", "Snapshot", "Divergence", "History", "NETWORK_LABELS", "PERCENTILES",
           "UNITS_RECORDED", "UNITS_STATS", "PROBE_SIZE", "SATURATED_Z", "network_label",
           "network_short", "layer_records",
           "percentiles_of_sorted", "histograms", "saturated", "fixed_edges", "layer_moments",
           "order_statistics"]

NETWORK_LABELS = {
    "none": "without BN",
    "before": "BN before activation",
    "after": "BN after activation",
}
PERCENTILES = (15, 50, 85)
UNITS_RECORDED = 16     # units with a histogram each, offered in the unit chart and the CSV
UNITS_STATS = 64        # units with their own statistics (memory: a 50,000-step run keeps ~500)
PROBE_SIZE = 500        # at most this many held-out examples in the probe set
# A unit is saturated where g(z) is on a flat end: sigmoid g(z) < 0.03 or > 0.97, tanh
# |g(z)| > 0.97, i.e. |z| > logit(0.97) = ln(0.97/0.03) or |z| > atanh(0.97). ReLU: z ≤ 0.
SATURATED_Z = {"sigmoid": math.log(0.97 / 0.03), "tanh": math.atanh(0.97)}


def network_label(network: str) -> str:
    """'without BN', 'BN before activation', 'BN after activation'."""
    return NETWORK_LABELS.get(network, network)


def network_short(network: str) -> str:
    """'no BN', 'BN before', 'BN after': for narrow column titles."""
    return {"none": "no BN", "before": "BN before", "after": "BN after"}.get(network, network)


@dataclass
class LayerRecord:
    """The input z to one hidden layer's activation over the probe set (P, W): see module doc."""

    mean: float
    std: float
    p15: float
    p50: float
    p85: float
    hist: np.ndarray               # (bins,) int32, all P·W values
    unit_percentiles: np.ndarray   # (3, U) float32: each unit's p15, p50, p85 (U ≤ 64 units)
    unit_mean: np.ndarray          # (U,) float32
    unit_std: np.ndarray           # (U,) float32
    unit_hists: np.ndarray         # (min(W, 16), bins) int16
    saturation: float
    grad_norm: float = math.nan    # ‖∂loss/∂W‖, training batch

    @property
    def unit_spread(self) -> np.ndarray:
        """(U,) each unit's 15–85 % range, p85 − p15."""
        return self.unit_percentiles[2] - self.unit_percentiles[0]


@dataclass
class Divergence:
    step: int
    layer: int | None              # 0-based hidden layer where it showed first; None: the loss
    what: str                      # what became non-finite

    def message(self, network: str) -> str:
        where = (f"layer {self.layer + 1}'s {self.what}" if self.layer is not None
                 else f"the {self.what}")
        return (f"{network_label(network)}: diverged at step {self.step:,} — {where} became "
                "NaN or infinite")


@dataclass
class Snapshot:
    network: str
    step: int
    loss: float                    # mean training loss since the previous snapshot
    test_acc: float                # eval mode (BN uses its running estimates)
    layers: list[LayerRecord]
    divergence: Divergence | None = None


@dataclass
class History:
    """Everything a run recorded: frames[i][network] is a Snapshot. `config` is the run's
    TrainConfig; `edges` the histogram edges (bins + 1,), fixed at step 0 for every layer."""

    config: object
    networks: list[str]
    edges: np.ndarray | None = None
    frames: list[dict[str, Snapshot]] = field(default_factory=list)
    divergence: dict[str, Divergence] = field(default_factory=dict)
    probe_size: int = 0

    def snapshots(self, network: str, finite: bool = True) -> list[Snapshot]:
        """`network`'s snapshots in order; finite=True: only those before it diverged (the
        divergence snapshot holds partial statistics)."""
        return [f[network] for f in self.frames if network in f
                and not (finite and f[network].divergence is not None)]

    @property
    def last_step(self) -> int:
        return max((s.step for f in self.frames for s in f.values()), default=0)


# ----------------------------------------------------------------------------- statistics

def percentiles_of_sorted(ordered: np.ndarray, q=PERCENTILES, axis: int = -1) -> np.ndarray:
    """Percentiles q of values sorted along `axis`, exactly as np.percentile(values, q) with q a
    list (numpy's default method, 'linear'): (len(q), *shape without axis), float64."""
    ordered = np.moveaxis(ordered, axis, -1)
    return _interpolate(lambda rank: ordered[..., rank], ordered.shape[-1], q)


def _positions(m: int, pct: float) -> tuple[int, int, float]:
    """numpy's 'linear' method for m sorted values: the virtual index v = (m − 1)·q, q = pct/100;
    the values at lo = ⌊v⌋ and hi = lo + 1 (at most m − 1) are interpolated with the weight
    t = v − lo of hi."""
    v = (m - 1) * (pct / 100)
    lo = int(math.floor(v))
    return lo, min(lo + 1, m - 1), v - lo


def _interpolate(at, m: int, q) -> np.ndarray:
    """(len(q), …) percentiles from at(rank), the rank-th smallest values, as numpy's _lerp:
    the gap b − a in the values' own type, then a + gap·t (or b − gap·(1 − t) where t ≥ 0.5)
    in float64."""
    out = []
    for pct in q:
        lo, hi, t = _positions(m, pct)
        a, b = at(lo), at(hi)
        gap = np.asarray(b - a, dtype=np.float64)
        out.append(b - gap * (1 - t) if t >= 0.5 else a + gap * t)
    return np.stack([np.asarray(o, dtype=np.float64) for o in out])


def histograms(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts (R, bins) of each row of values (R, M) in the bins of `edges` (bins + 1,), evenly
    spaced; values beyond either end go to the end bins. Bin i holds edges[i] ≤ v < edges[i + 1]
    (the last also v = edges[-1]), as np.histogram of the clipped row. NaN and ±inf (a
    diverging network) are not counted, as in `unit_histograms`."""
    r, bins = values.shape[0], len(edges) - 1
    lo, hi = float(edges[0]), float(edges[-1])
    ok = np.isfinite(values)                                                  # (R, M)
    v = np.clip(np.where(ok, values, lo).astype(np.float64), lo, hi)          # in float64: a
    idx = ((v - lo) * (bins / (hi - lo))).astype(np.intp)                     # float32 lo is not lo
    np.minimum(idx, bins - 1, out=idx)
    idx -= v < edges[idx]                            # rounding: the comparisons with the edges
    idx += (v >= edges[idx + 1]) & (idx < bins - 1)  # decide, as np.histogram does
    idx += np.arange(r)[:, None] * bins
    return np.bincount(idx[ok], minlength=r * bins).reshape(r, bins)


def saturated(z: np.ndarray, activation: str) -> np.ndarray:
    """Where the unit is on a flat end of its activation (see SATURATED_Z); relu: z ≤ 0."""
    if activation == "relu":
        return z <= 0
    return np.abs(z) > SATURATED_Z[activation]


def fixed_edges(z0: list[np.ndarray], bins: int) -> np.ndarray:
    """Histogram edges for the whole run, every layer and network: symmetric, twice the widest
    extent (99.5th percentile of |z|) of the step-0 inputs, at least ±4, so drift stays visible."""
    extent = 1.0
    finite = [v[np.isfinite(v)] for v in z0]
    if any(f.size for f in finite):
        extent = max(float(np.percentile(np.abs(f), 99.5)) for f in finite if f.size)
    half = max(4.0, math.ceil(2 * extent))
    return np.linspace(-half, half, bins + 1)


def layer_records(z: np.ndarray, edges: np.ndarray, activation: str) -> list[LayerRecord]:
    """LayerRecords of one layer's activation inputs z (K, P, W) over the probe set, one per
    network (grad_norm left for the caller). A network with NaN or ±inf values (diverging at
    this step) has every statistic computed over its finite values only (a unit with none: NaN)."""
    k, p, w = z.shape
    flat = z.reshape(k, -1)                                                   # (K, P·W)
    zu = z[:, :, :UNITS_STATS]                                                # (K, P, U)
    columns = np.ascontiguousarray(z.transpose(0, 2, 1))      # (K, W, P): each unit's values,
    columns.sort(axis=-1)                                     # sorted (numpy's vectorised sort)
    with np.errstate(all="ignore"):
        unit_p = percentiles_of_sorted(columns[:, :UNITS_STATS]).astype(np.float32)  # (3, K, U)
        pooled = _pooled_percentiles(flat)                                    # (3, K)
        if kernels.compiled():                                                # float64 sums
            unit_h, unit_mean, unit_std, mean, std, sat, finite = layer_moments(
                z, edges, zu.shape[2], activation, SATURATED_Z.get(activation, 0.0), columns)
            mean, std = mean.astype(np.float32), std.astype(np.float32)      # as numpy's
        else:
            unit_mean, unit_std = zu.mean(1), zu.std(1)                       # (K, U)
            unit_h = _unit_histograms(z, edges)                               # (K, W, bins)
            sat = saturated(flat, activation).mean(1)                         # (K,)
            mean, std = flat.mean(1), flat.std(1)                             # (K,)
            unit_mean, unit_std = unit_mean.astype(np.float64), unit_std.astype(np.float64)
            finite = np.isfinite(flat).all(1)
    for i in np.flatnonzero(~finite):                     # diverging: its finite values only
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # a unit with none: NaN, no warning
            zi = np.where(np.isfinite(zu[i]), zu[i], np.nan)                   # (P, U), as z
            unit_p[:, i] = np.nanpercentile(zi, PERCENTILES, axis=0)
            unit_mean[i] = np.nanmean(zi.astype(np.float64), axis=0)
            unit_std[i] = np.nanstd(zi.astype(np.float64), axis=0)
            good = flat[i][np.isfinite(flat[i])].astype(np.float64)
            mean[i], std[i] = (good.mean(), good.std()) if good.size else (np.nan, np.nan)
            sat[i] = saturated(good, activation).mean() if good.size else np.nan
    return [LayerRecord(
        mean=float(mean[i]), std=float(std[i]), p15=float(pooled[0, i]), p50=float(pooled[1, i]),
        p85=float(pooled[2, i]), hist=unit_h[i].sum(0, dtype=np.int32),
        unit_percentiles=unit_p[:, i], unit_mean=unit_mean[i].astype(np.float32),
        unit_std=unit_std[i].astype(np.float32),
        unit_hists=unit_h[i, :UNITS_RECORDED].astype(np.int16), saturation=float(sat[i]))
        for i in range(k)]


def _unit_histograms(z: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(K, W, bins) counts of each unit's values (`histograms` per unit: the numpy twin of the
    compiled `layer_moments`)."""
    k, p, w = z.shape
    rows = np.ascontiguousarray(z.transpose(0, 2, 1)).reshape(k * w, p)
    return histograms(rows, edges).reshape(k, w, -1).astype(np.int32)


def _pooled_percentiles(flat: np.ndarray) -> np.ndarray:
    """(3, K): PERCENTILES of each row's finite values (as np.percentile), from the few order
    statistics they need (compiled selection, or np.partition) instead of a full sort."""
    k, m = flat.shape
    finite = np.isfinite(flat).all(1)
    out = np.full((len(PERCENTILES), k), np.nan)
    for i in np.flatnonzero(~finite):                   # a diverging network: its finite values
        good = flat[i][np.isfinite(flat[i])]
        if good.size:
            out[:, i] = np.percentile(good, PERCENTILES)
    if finite.any():
        rows = flat[finite]
        ranks = _ranks(m)
        if kernels.compiled():
            picked = order_statistics(rows, ranks)                   # (k, len(ranks))
        else:
            picked = np.partition(rows, ranks, axis=1)[:, ranks]
        column = {rank: i for i, rank in enumerate(ranks)}
        out[:, finite] = _interpolate(lambda rank: picked[:, column[rank]], m, PERCENTILES)
    return out


def _ranks(m: int) -> list[int]:
    """The sorted positions that PERCENTILES of m values are interpolated from."""
    return sorted({r for pct in PERCENTILES for r in _positions(m, pct)[:2]})
