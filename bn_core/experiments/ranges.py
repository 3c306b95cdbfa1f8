"""The experiments' ranges: which stretch of a grid of settings trains, and what its ends mean
(the grid's edge, or the step budget)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bn_core.experiments.prose import pct
from bn_core.experiments.training import NetworkResult, SweepResult
from bn_core.verdicts import ACCURACY_MARGIN

__all__ = ["trainable_range", "range_ends", "describe_range", "still_rising", "beyond"]


def trainable_range(settings: Sequence[float], accuracies: Sequence[Sequence[float]],
                    target: float) -> tuple[float, float] | None:
    """The widest run of consecutive settings whose median accuracy (over seeds) reaches
    `target`: (lowest, highest), or None where none does. Ties: the lower run."""
    ok = [float(np.median(a)) >= target for a in accuracies]
    best, start = None, None
    for i, good in enumerate(ok + [False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if best is None or i - start > best[1] - best[0] + 1:
                best = (start, i - 1)
            start = None
    return None if best is None else (float(settings[best[0]]), float(settings[best[1]]))


def range_ends(settings: Sequence[float], r: tuple[float, float] | None) -> tuple[bool, bool]:
    """(starts at the grid's first point, ends at its last): such an end is a bound, not an end."""
    if r is None:
        return False, False
    return (math.isclose(r[0], settings[0]), math.isclose(r[1], settings[-1]))


def describe_range(settings: Sequence[float], r: tuple[float, float], fmt=None) -> str:
    """'0.01 to 1 (a 100× range)'; at the grid's ends a bound: '0.0316 to at least 10 (at
    least 316×; the grid ends at 10)', '0.001 or below to 1 (…; the grid starts at 0.001)'."""
    fmt = fmt or (lambda x: f"{x:g}")
    lo, hi = r
    low_edge, high_edge = range_ends(settings, r)
    edges = ([f"the grid starts at {fmt(lo)}"] if low_edge else []) + \
            ([f"the grid ends at {fmt(hi)}"] if high_edge else [])
    if lo == hi:
        return f"only {fmt(lo)}" + (f" ({'; '.join(edges)}: it may reach further)" if edges else "")
    lo_text = f"{fmt(lo)} or below" if low_edge else fmt(lo)
    hi_text = f"at least {fmt(hi)}" if high_edge else fmt(hi)
    ratio = f"{hi / lo:,.0f}" if hi / lo >= 10 else f"{hi / lo:.3g}"
    span = f"at least {ratio}×" if edges else f"a {ratio}× range"
    return f"{lo_text} to {hi_text} ({'; '.join([span] + edges)})"




def still_rising(runs: Sequence[NetworkResult]) -> bool:
    """The median run gained more than a point of test accuracy (the accuracy margin of
    bn_core.verdicts) over its last quarter."""
    gains = []
    for r in runs:
        if r.diverged or len(r.test_acc) < 4:
            continue
        gains.append(r.test_acc[-1] - r.test_acc[(3 * (len(r.test_acc) - 1)) // 4])
    return bool(gains) and float(np.median(gains)) > ACCURACY_MARGIN


def beyond(result: SweepResult, p: str, v: float, unit_fmt) -> tuple[str, bool]:
    """What the networks did at grid point v, just outside a range; and whether that end is set
    by the step budget and the target (still rising, or within 5 points of the target)."""
    cfg = result.config
    runs = result.select(p, setting=v)
    div = sum(r.diverged for r in runs)
    if 2 * div > len(runs):
        return f"at {unit_fmt(v)}, {div} of {len(runs)} runs diverged", False
    med = float(np.median(result.final(runs)))
    rising = still_rising(runs)
    text = f"at {unit_fmt(v)} the median reached {pct(med)}"
    if rising:
        text += f", still rising when the {cfg.steps} steps ran out"
    elif med >= cfg.target - 0.05:
        text += f", just under the {pct(cfg.target)} cutoff"
    return text, rising or med >= cfg.target - 0.05


