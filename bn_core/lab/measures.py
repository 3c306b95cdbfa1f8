"""The lab's measures of a run: how far a layer's input distribution moved, against what noise,
how fast it is moving (internal covariate shift as a number), and when a layer has collapsed.

Everything is read from the probe-set records of `bn_core.records` (the same held-out examples
at every snapshot), per unit j of a layer:

    spread_j(t) = p85_j(t) − p15_j(t)             the unit's 15–85 % range at step t

    drift       moved_j = |p50_j(b) − p50_j(a)| / spread_j(b)      from step a to step b, in
                units of the unit's spread at b (the same yardstick for every network: a tiny
                starting spread cannot inflate it); `Drift.moved` is the median over the units
                ("a typical unit")

    noise floor the drift's own jitter: over the last NOISE_PAIRS pairs of neighbouring
                snapshots (t_i, t_i+1) from step a to step b (at least NOISE_MIN_PAIRS),
                    jitter_j = median_i |p50_j(t_i+1) − p50_j(t_i)| / spread_j(b)
                (scaled like the drift), median over the units: how much a unit's median moves
                from one snapshot to the next with nothing systematic going on. A drift at or
                below it is noise. Not the gap between the medians of two halves of the
                probe set: that is the sampling error of a *level*, and it cancels in a drift,
                which compares the same examples at two times (in the Paper setup the halves
                differ by ~0.05 of the spread, the jitter is 0.001–0.003)

    shift rate  between consecutive snapshots t′ < t, per unit
                    shift_j = √((mean_j(t) − mean_j(t′))² + (std_j(t) − std_j(t′))²) / std_j(t)
                (how far the unit's mean and std moved, in units of its std), median over the
                units, per 100 steps: 100 · shift / (t − t′). It is the layer's internal
                covariate shift as a speed: large while the layers below are changing it

    first/last  last_over_first: the last hidden layer's drift ÷ the first's over the same
                steps, where both are above their noise floors and neither layer collapsed (the
                course notes: shifts grow as they propagate to the deeper layers)

    collapsed   the layer's typical unit spread is below COLLAPSED (0.1 %) of its typical |z|
                (or of 0.01 where that is smaller): every example gives nearly the same value, so the layer passes
                almost nothing on. A drift measured on such a layer is not drift
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bn_core.records import History, LayerRecord, Snapshot

__all__ = ["Drift", "drift", "noise_floor", "shift_rates", "jitter_and_drift", "collapsed", "late_start",
           "last_over_first",
           "LATE_FROM", "COLLAPSED", "NOISE_PAIRS", "NOISE_MIN_PAIRS", "DRIFT_HELP", "NOISE_HELP", "SPREAD_HELP"]

LATE_FROM = 0.02          # "late" drift: from the snapshot at 2 % of the run to the last
NOISE_PAIRS = 10          # the noise floor: the last 10 pairs of neighbouring snapshots
NOISE_MIN_PAIRS = 3       # ... and none with fewer than 3 (one pair's jitter is a drift)
COLLAPSED = 1e-3


# The definitions in words, for the page (one click away from the reading's sentences)
DRIFT_HELP = (
    "**How the move is measured.** The same held-out examples (the probe set) go through each "
    "network at every snapshot. For each unit j of the layer, its inputs over those examples "
    "have a median p50_j and a spread s_j = p85_j − p15_j (the range of the middle 70 %). The "
    "move of unit j from step a to step b is |p50_j(b) − p50_j(a)| / s_j(b): how far its median "
    "went, in units of its spread at the end (the same yardstick for every network). The "
    "number shown is the median over the units: a typical unit."
)
NOISE_HELP = (
    "**How the noise is measured.** The median of a unit jitters from one snapshot to the next "
    "even when nothing systematic changes (each step uses another mini-batch). The noise is the "
    "typical size of that jitter near the end: for each unit, the median of |p50_j(t_i+1) − "
    "p50_j(t_i)| / s_j(b) over the last {pairs} pairs of neighbouring snapshots, then the median "
    "over the units (the same yardstick as the move). A move no larger than it is noise. (The "
    "gap between the medians of two halves of the probe set is not the noise of a move: it is "
    "the error of one *level*, and it cancels when the same examples are compared at two times.)"
)
SPREAD_HELP = (
    "**Wider / narrower.** The ratio of a typical unit's spread s_j (its 15–85 % range, median "
    "over the units) at the end of the period to the start."
)


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
    noise: float                # the noise floor up to the end (same units as moved; NaN
                                #   with fewer than NOISE_MIN_PAIRS pairs from start to end)
    collapsed: bool             # the layer had collapsed at the end

    @property
    def spread_factor(self) -> float:
        """How many times wider the typical unit's spread became."""
        return self.spread_end / self.spread_start if self.spread_start > 0 else math.inf

    @property
    def within_noise(self) -> bool:
        return self.moved <= self.noise

    @property
    def over_noise(self) -> float:
        """moved / noise: how many noise floors the drift is (inf for a floor of 0, NaN
        without a floor)."""
        if not math.isfinite(self.noise):
            return math.nan
        return self.moved / self.noise if self.noise > 0 else (math.inf if self.moved else 1.0)


def _check_layer(snapshot: Snapshot, layer: int) -> LayerRecord:
    if not 0 <= layer < len(snapshot.layers):
        raise ValueError(f"layer: expected 0 to {len(snapshot.layers) - 1}, got {layer}")
    return snapshot.layers[layer]


def noise_floor(history: History, network: str, layer: int, start: int | None = None,
                end: int | None = None, pairs: int = NOISE_PAIRS) -> float:
    """The drift's own jitter (module doc): over the last `pairs` pairs of neighbouring snapshots
    of `network` (before any divergence) from step `start` (default: the first) to `end` (default:
    the last), the median over the units of median_i |Δp50_j| / spread_j(end). NaN with fewer
    than NOISE_MIN_PAIRS such pairs (a single pair's change is a drift, not a jitter) or no unit
    with a spread at `end`."""
    snaps = history.snapshots(network)
    lo = -math.inf if start is None else start
    hi = math.inf if end is None else end
    snaps = [s for s in snaps if lo <= s.step <= hi][-(pairs + 1):]
    if len(snaps) < NOISE_MIN_PAIRS + 1:
        return math.nan
    for s in snaps:
        _check_layer(s, layer)
    p50 = np.array([s.layers[layer].unit_percentiles[1] for s in snaps], np.float64)   # (T, U)
    spread = snaps[-1].layers[layer].unit_spread.astype(np.float64)                   # (U,)
    with np.errstate(all="ignore"):
        jitter = np.median(np.abs(np.diff(p50, axis=0)), axis=0) / spread             # (U,)
    ok = (spread > 0) & np.isfinite(jitter)
    return float(np.median(jitter[ok])) if ok.any() else math.nan


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
                 float(np.median(spread_a)), float(np.median(spread_b)),
                 noise_floor(history, network, layer, a.step, b.step), collapsed(rb))


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


def jitter_and_drift(history: History, network: str, layer: int, start: float = 0.2
                     ) -> tuple[float, float]:
    """(jitter, drift per 100 steps) of a layer's unit distributions from `start` of the run on,
    both independent of how often the run was recorded. Per unit j, its mean and std at the
    snapshots t (steps x_t) in units of its average std s̄_j, a straight line fitted to each:

        mean_tj / s̄_j ≈ a_j + b_j · x_t,      std_tj / s̄_j ≈ c_j + d_j · x_t
        drift_j  = 100 · √(b_j² + d_j²)                      (the slow move, per 100 steps)
        jitter_j = √(Σ_t (residuals of both fits)² / (T − 2))  (what the line leaves)

    medians over the units. A distribution shaken by fresh noise at every step (noisy BN)
    jitters as much whether the snapshots are 200 or 2,000 steps apart; the shift rate (a
    change divided by the gap) makes the same noise look 10× faster at 10× closer snapshots.
    (nan, nan) with fewer than 4 snapshots there."""
    snaps = [s for s in history.snapshots(network) if s.step >= start * history.config.steps]
    if len(snaps) < 4:
        return math.nan, math.nan
    _check_layer(snaps[0], layer)
    x = np.array([s.step for s in snaps], np.float64)                          # (T,)
    mean = np.array([s.layers[layer].unit_mean for s in snaps], np.float64)     # (T, W)
    std = np.array([s.layers[layer].unit_std for s in snaps], np.float64)
    s_bar = std.mean(0)
    keep = s_bar > 0
    if not keep.any():
        return math.nan, math.nan
    design = np.stack([np.ones_like(x), x - x.mean()], axis=1)                  # (T, 2)
    ys = np.concatenate([mean[:, keep], std[:, keep]], axis=1) / np.tile(s_bar[keep], 2)
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)                          # (2, 2W')
    resid = ys - design @ coef                                                  # (T, 2W')
    w = int(keep.sum())
    drift = 100 * np.hypot(coef[1, :w], coef[1, w:])                            # (W',)
    jitter = np.sqrt((resid[:, :w] ** 2 + resid[:, w:] ** 2).sum(0) / (len(x) - 2))
    return float(np.median(jitter)), float(np.median(drift))


def last_over_first(history: History, network: str, start: int | None = None
                    ) -> tuple[float | None, str]:
    """(last layer's drift ÷ the first layer's, "") from step `start` to the end, both drifts
    as `drift` measures them; (None, why) where it is not a fair ratio: "one layer" (depth 1),
    "not measured" (no drift), "collapsed" (either layer), "no floor" (too few snapshots
    for a noise floor), "noise" (either drift at or below its noise floor)."""
    depth = len(history.snapshots(network)[0].layers) if history.snapshots(network) else 0
    if depth < 2:
        return None, "one layer"
    first, last = drift(history, network, 0, start=start), drift(history, network, depth - 1,
                                                                 start=start)
    if first is None or last is None:
        return None, "not measured"
    if first.collapsed or last.collapsed:
        return None, "collapsed"
    if not (math.isfinite(first.noise) and math.isfinite(last.noise)):
        return None, "no floor"
    if first.within_noise or last.within_noise or first.moved <= 0:
        return None, "noise"
    return last.moved / first.moved, ""
