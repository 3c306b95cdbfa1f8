"""The lab's measures of a run: how far a layer's input distribution moved, against what noise,
how fast it is moving (internal covariate shift as a number), and when a layer has collapsed.

Everything is read from the probe-set records of `bn_core.records` (the same held-out examples
at every snapshot), per unit j of a layer:

    spread_j(t) = p85_j(t) − p15_j(t)             the unit's 15–85 % range at step t

    drift       moved_j = |p50_j(b) − p50_j(a)| / spread_j(b)      from step a to step b, in
                units of the unit's spread at b (the same yardstick for every network: a tiny
                starting spread cannot inflate it); `Drift.moved` is the median over the units
                ("a typical unit")

    noise floor |median over the even probe examples − over the odd ones| / spread_j, median
                over the units: how much the median moves just by which examples are probed.
                A drift below it is "≈ noise"

    shift rate  between consecutive snapshots t′ < t, per unit
                    shift_j = √((mean_j(t) − mean_j(t′))² + (std_j(t) − std_j(t′))²) / std_j(t)
                (how far the unit's mean and std moved, in units of its std), median over the
                units, per 100 steps: 100 · shift / (t − t′). It is the layer's internal
                covariate shift as a speed: large while the layers below are changing it

    collapsed   the layer's typical unit spread is below COLLAPSED (0.1 %) of its typical |z|
                (or of 0.01 where that is smaller): every example gives nearly the same value, so the layer passes
                almost nothing on. A drift measured on such a layer is not drift
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.records import History, LayerRecord, Snapshot

__all__ = ["Drift", "drift", "noise_floor", "shift_rates", "collapsed", "late_start",
           "LATE_FROM", "COLLAPSED"]

LATE_FROM = 0.02          # "late" drift: from the snapshot at 2 % of the run to the last
COLLAPSED = 1e-3


@dataclass
class Drift:
    """How far one layer's inputs moved from step_start to step_end (module doc)."""

    network: str
    layer: int                  # 0-based hidden layer
    step_start: int
    step_end: int
    moved: float                # median over units of |Δ p50_j| / spread_j(end)
    spread_start: float         # median over units of spread_j at the start
    spread_end: float           # … at the end
    noise: float                # the noise floor at the end (same units as moved)
    collapsed: bool             # the layer had collapsed at the end

    @property
    def spread_factor(self) -> float:
        """How many times wider the typical unit's spread became."""
        return self.spread_end / self.spread_start if self.spread_start > 0 else math.inf

    @property
    def within_noise(self) -> bool:
        return self.moved <= self.noise


def _check_layer(snapshot: Snapshot, layer: int) -> LayerRecord:
    if not 0 <= layer < len(snapshot.layers):
        raise ValueError(f"layer: expected 0 to {len(snapshot.layers) - 1}, got {layer}")
    return snapshot.layers[layer]


def noise_floor(record: LayerRecord) -> float:
    """Median over units of |median(even probe examples) − median(odd)| / spread_j (module doc)."""
    spread = record.unit_spread.astype(np.float64)
    gap = np.abs(record.half_medians[0].astype(np.float64) - record.half_medians[1])
    ok = spread > 0
    return float(np.median(gap[ok] / spread[ok])) if ok.any() else math.nan


def collapsed(record: LayerRecord) -> bool:
    """Whether every probe example gives nearly the same input to the layer (module doc)."""
    spread = float(np.median(record.unit_spread))
    size = float(np.median(np.abs(record.unit_percentiles[1])))
    return math.isfinite(spread) and spread < COLLAPSED * max(size, 0.01)


def late_start(history: History) -> int:
    """The first recorded step at or after LATE_FROM of the run's steps (at least step 1)."""
    goal = max(1, math.ceil(LATE_FROM * history.config.steps))
    steps = sorted({s.step for f in history.frames for s in f.values()})
    later = [s for s in steps if s >= goal]
    return later[0] if later else (steps[-1] if steps else 0)


def drift(history: History, network: str, layer: int, start: int | None = None,
          end: int | None = None) -> Drift | None:
    """The drift of `network`'s layer `layer` (0-based) from the snapshot at step `start`
    (default: step 0) to the one at `end` (default: its last before any divergence). None when
    either snapshot is missing, they are the same, or no unit had a spread at the end."""
    snaps = {s.step: s for s in history.snapshots(network)}
    if not snaps:
        return None
    a = snaps.get(min(snaps) if start is None else start)
    b = snaps.get(max(snaps) if end is None else end)
    if a is None or b is None or a.step >= b.step:
        return None
    ra, rb = _check_layer(a, layer), _check_layer(b, layer)
    spread_a = ra.unit_spread.astype(np.float64)                              # (W,)
    spread_b = rb.unit_spread.astype(np.float64)
    moved = np.abs(rb.unit_percentiles[1].astype(np.float64) - ra.unit_percentiles[1])
    ok = (spread_b > 0) & np.isfinite(moved) & np.isfinite(spread_b)
    if not ok.any():
        return None
    return Drift(network, layer, a.step, b.step, float(np.median(moved[ok] / spread_b[ok])),
                 float(np.median(spread_a)), float(np.median(spread_b)), noise_floor(rb),
                 collapsed(rb))


def shift_rates(history: History, network: str, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps (T − 1,), rates (T − 1,)): the shift rate per 100 steps between each snapshot and
    the one before it (module doc), for `network`'s snapshots before any divergence."""
    snaps = history.snapshots(network)
    if len(snaps) < 2:
        return np.zeros(0, np.int64), np.zeros(0)
    _check_layer(snaps[0], layer)
    steps = np.array([s.step for s in snaps])                                 # (T,)
    mean = np.array([s.layers[layer].unit_mean for s in snaps], np.float64)   # (T, W)
    std = np.array([s.layers[layer].unit_std for s in snaps], np.float64)
    with np.errstate(all="ignore"):
        shift = np.sqrt(np.diff(mean, axis=0) ** 2 + np.diff(std, axis=0) ** 2) / std[1:]
        shift = np.where(std[1:] > 0, shift, np.nan)                          # (T − 1, W)
        if not shift.size:
            typical = shift[:, 0]
        elif np.isnan(shift).any():
            typical = np.nanmedian(shift, axis=1)     # units with std 0 left out (slow: rare)
        else:
            typical = np.median(shift, axis=1)
    rates = 100.0 * typical / np.diff(steps)
    return steps[1:], rates
