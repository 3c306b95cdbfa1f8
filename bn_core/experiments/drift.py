"""How far each layer's inputs drifted in a sweep network, measured as the lab measures it
(bn_core.lab.measures), and the trend of that drift across the layers (the depth experiment).

Per hidden layer l of a network, from its probe-set records (bn_core.records: the same held-out
examples at every snapshot):

    early drift   measures.drift from step 0 to the first snapshot at or after EARLY_SHARE
                  (10 %) of the steps: the median over units of |Δ p50_j| / spread_j(end)
    late drift    the same from that snapshot to the last
    noise floor   measures.noise_floor over the last NOISE_PAIRS pairs of neighbouring
                  snapshots (the drift's own jitter near the end, the lab's floor)
    collapsed     measures.collapsed at the last snapshot: a drift measured there is not drift

The trend across layers, per network (the notes: "small changes in shallower hidden layers will
be amplified as they propagate", so drift should grow with the layer index):

    slope = least-squares slope of log10(max(drift_l, DRIFT_FLOOR)) on l = 1 … L over the
            layers that did not collapse (at least 2; else NaN)
    10^slope: the factor by which drift grows per layer (1: flat)

DRIFT_FLOOR (10⁻⁴ of the spread, below which the lab says "less than 0.0001") keeps a layer whose
inputs did not move at all (a deep sigmoid network's first layers, where gradients vanish) from
giving log 0.
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.lab.measures import drift, noise_floor
from bn_core.records import History

__all__ = ["EARLY_SHARE", "DRIFT_FLOOR", "early_end", "layer_drifts", "log_slope"]

EARLY_SHARE = 0.1         # "early": the first 10 % of the steps
DRIFT_FLOOR = 1e-4        # drifts below this (in units of the spread) count as this in a slope


def early_end(history: History, steps: int) -> int:
    """The first recorded step at or after EARLY_SHARE of `steps` (at least step 1)."""
    goal = max(1, math.ceil(EARLY_SHARE * steps))
    recorded = sorted({s.step for f in history.frames for s in f.values()})
    later = [s for s in recorded if s >= goal]
    return later[0] if later else (recorded[-1] if recorded else 0)


def layer_drifts(history: History, network: str, depth: int, steps: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(early, late, noise, collapsed), each (depth,), for `network` of `history` (module doc);
    NaN (collapsed False) where a snapshot is missing, e.g. a network that diverged."""
    if depth < 1:
        raise ValueError(f"depth: expected at least 1 hidden layer, got {depth}")
    early, late, noise = (np.full(depth, np.nan) for _ in range(3))
    flat = np.zeros(depth, dtype=bool)
    if network in history.divergence:
        return early, late, noise, flat
    mid = early_end(history, steps)
    for l in range(depth):
        e = drift(history, network, l, end=mid)
        d = drift(history, network, l, start=mid)
        early[l] = e.moved if e is not None else np.nan
        if d is not None:
            late[l], flat[l] = d.moved, d.collapsed
        noise[l] = noise_floor(history, network, l)
    return early, late, noise, flat


def log_slope(drifts, collapsed=None) -> float:
    """The least-squares slope of log10(max(drift_l, DRIFT_FLOOR)) on the layer index l, over the
    finite layers that did not collapse (module doc); NaN with fewer than 2 of them.
    log_slope([0.01, 0.1, 1]) = 1.0 (10× per layer)."""
    d = np.asarray(drifts, dtype=float)                                 # (L,)
    ok = np.isfinite(d)
    if collapsed is not None:
        ok &= ~np.asarray(collapsed, dtype=bool)
    if ok.sum() < 2:
        return math.nan
    x = np.arange(1, d.size + 1, dtype=float)[ok]
    y = np.log10(np.maximum(d[ok], DRIFT_FLOOR))
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())
