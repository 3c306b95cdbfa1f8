"""The lab's plain-language reading of a run: numbers from a `History`, said in sentences.

    read_history(history, layer)   → Reading(lines, drifts, target, reached, divergences, stalled,
                                             learned)
    drift(history, network, layer) → Drift: how far the layer's activation inputs moved

How far a distribution "moved". The lab records, at every snapshot, the 15th, 50th and 85th
percentile of the input z to the activation of each of the first 16 units of a layer (over one
training mini-batch, the numbers in the "one unit" chart). For unit j, with start = the first
snapshot (step 0) and end = the network's last snapshot before any divergence:

    spread_j = (p85_j − p15_j) / 2        half the 15–85 % range; for a normal distribution it is
                                           1.04 standard deviations, so it reads as "one std"
    moved_j  = |p50_j(end) − p50_j(start)| / spread_j(start)
    moved    = mean over the recorded units j with spread_j(start) > 0 of moved_j
    spread change = mean over the same units of spread_j(end) / spread_j(start)

So "moved 1.8" means that a typical unit's median input ended 1.8 of its starting spreads away
from where it started. A per-unit measure, because units drift in different directions: the mean
of the whole layer can stay at 0 while every unit moves (`Drift.layer_moved` gives that
layer-wide figure too: |mean_end − mean_start| / std_start over all N·width values).

A network "is not learning" when it has trained at least 100 steps, and at least 300 steps or a
quarter of the run (all of it if shorter), and its last test accuracy is at most chance + 5
points (chance = 1 / number of classes); the reading then names the most saturated layer
(sigmoid/tanh: |g(z)| > 0.97, where g' is nearly 0; ReLU: the share of inputs ≤ 0, outputs 0).

A network "learned" when its best test accuracy after step 0 (over its snapshots before any
divergence) is at least LEARNED_MARGIN = 10 points above both chance and its own step-0 accuracy
(`baseline_accuracy`): 20 % with 10 classes, 43 % with 3, 60 % with 2, more where the untrained
network already does better than guessing (on moons it can start at 77 %). Ten points is about
3 standard deviations of a guesser's accuracy on the smallest test set here (200 examples, 2
classes: √(0.5·0.5/200) = 3.5 points) and 6 on the digits' 360. When no network learned, the
reading says so plainly (accuracy stayed near chance, or near where it started) and names no
"first to reach". "Not learning" uses the same baseline: chance, or the step-0 accuracy if higher.

Which network first reached a given accuracy (only when some network learned): the target is 90 %
of the best test accuracy any network reached, rounded down to a whole percent; for each network,
the first recorded step with test accuracy ≥ target (so it is known to within one record
interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bn_core.train import NETWORK_LABELS, History

__all__ = ["Drift", "Reading", "drift", "accuracy_target", "first_reached", "read_history",
           "divergence_explanation", "stall_explanation", "SANTURKAR_NOTE", "N_CLASSES",
           "LEARNED_MARGIN", "chance_accuracy", "best_accuracy", "baseline_accuracy", "learned"]

N_CLASSES = {"digits": 10, "mnist": 10, "moons": 2, "circles": 2, "xor": 2, "spiral": 3}
LEARNED_MARGIN = 0.10      # "learned": best test accuracy ≥ chance + 10 points (module doc)
SMALL_LR = {"sgd": 0.01, "momentum": 0.001, "adam": 1e-4}   # at or below: "try a larger one"

SANTURKAR_NOTE = (
    "A caution the 2015 paper could not give: the steady distributions you see are what BN was "
    "designed for (the paper called their drift *internal covariate shift*), but they are not "
    "why BN helps. Santurkar et al. (2018) added random noise after every BN layer, so the "
    "distributions shifted all the time, and the networks still trained about as well as with "
    "plain BN. What BN does change is the loss landscape: it becomes smoother, so larger steps "
    "are safe."
)


def _label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Drift:
    """How far one layer's activation inputs moved between two snapshots (see the module doc)."""

    network: str
    layer: int                 # 0-based hidden layer
    step_start: int
    step_end: int
    moved: float               # mean over units of |Δ median| / starting spread
    spread_change: float       # mean over units of spread_end / spread_start
    layer_moved: float         # |mean_end − mean_start| / std_start over the whole layer
    units: int                 # units the mean is over


def _finite_snapshots(history: History, network: str):
    return [f[network] for f in history.frames
            if network in f and f[network].divergence is None]


def drift(history: History, network: str, layer: int) -> Drift | None:
    """The drift of `network`'s layer `layer` (0-based) from its first snapshot to its last one
    before any divergence; None when there are fewer than two such snapshots or no unit had a
    spread at the start."""
    snaps = _finite_snapshots(history, network)
    if len(snaps) < 2:
        return None
    if not 0 <= layer < len(snaps[0].layers):
        raise ValueError(f"layer: expected 0 to {len(snaps[0].layers) - 1}, got {layer}")
    a, b = snaps[0].layers[layer], snaps[-1].layers[layer]
    p0 = np.asarray(a.unit_percentiles, dtype=float)          # (3, units): p15, p50, p85
    p1 = np.asarray(b.unit_percentiles, dtype=float)
    spread0 = (p0[2] - p0[0]) / 2                               # (units,)
    spread1 = (p1[2] - p1[0]) / 2
    ok = (spread0 > 0) & np.isfinite(spread0) & np.isfinite(p1).all(0)
    if not ok.any():
        return None
    moved = float(np.mean(np.abs(p1[1, ok] - p0[1, ok]) / spread0[ok]))
    spread_change = float(np.mean(spread1[ok] / spread0[ok]))
    if a.std > 0:
        layer_moved = abs(b.mean - a.mean) / a.std
    else:
        layer_moved = 0.0 if b.mean == a.mean else math.inf
    return Drift(network, layer, snaps[0].step, snaps[-1].step, moved, spread_change,
                 float(layer_moved), int(ok.sum()))


def accuracy_target(history: History) -> float | None:
    """90 % of the best test accuracy any network reached, rounded down to a whole percent."""
    best = [s.test_acc for f in history.frames for s in f.values()
            if s.divergence is None and math.isfinite(s.test_acc)]
    if not best:
        return None
    return math.floor(100 * 0.9 * max(best)) / 100


def chance_accuracy(history: History) -> float:
    """The accuracy of guessing, 1 / number of classes of the run's dataset."""
    return 1 / N_CLASSES.get(history.config.dataset, 10)


def best_accuracy(history: History, network: str) -> float | None:
    """`network`'s best test accuracy over its snapshots before any divergence (None: none)."""
    accs = [s.test_acc for s in _finite_snapshots(history, network) if math.isfinite(s.test_acc)]
    return max(accs) if accs else None


def baseline_accuracy(history: History, network: str) -> float:
    """What `network` must beat to have learned: chance, or its step-0 accuracy if higher."""
    snaps = _finite_snapshots(history, network)
    start = snaps[0].test_acc if snaps and math.isfinite(snaps[0].test_acc) else 0.0
    return max(chance_accuracy(history), start)


def learned(history: History, network: str) -> bool:
    """Whether `network`'s best test accuracy after step 0 is ≥ its baseline (chance, or the
    step-0 accuracy if higher) + LEARNED_MARGIN (see the module doc)."""
    later = [s.test_acc for s in _finite_snapshots(history, network)[1:]
             if math.isfinite(s.test_acc)]
    return bool(later) and max(later) >= baseline_accuracy(history, network) + LEARNED_MARGIN - 1e-12


def first_reached(history: History, network: str, target: float) -> int | None:
    """The first recorded step at which `network`'s test accuracy was ≥ target, or None."""
    for snap in _finite_snapshots(history, network):
        if snap.test_acc >= target - 1e-12:
            return snap.step
    return None


def divergence_explanation(history: History, network: str) -> str:
    """Why a network most likely diverged, in a sentence a learner can act on."""
    cfg = history.config
    div = history.divergence[network]
    if network != "none" and cfg.eps == 0:
        return (
            "With ε = 0, BN divides by √(batch variance) alone. A unit whose values are all equal "
            "in a mini-batch (for example a ReLU that outputs 0 for every example: a dead unit) "
            "has variance 0, so BN computes 0 / 0 = NaN, and the NaN spreads through the "
            "network. This is what ε is for: any ε > 0 (PyTorch uses 1e-5) keeps the division "
            "finite."
        )
    where = "" if div.layer is None else f" (it showed first in layer {div.layer + 1})"
    bn_hint = ("" if network != "none" else
               " A BN network usually survives a larger learning rate: compare it beside this one.")
    return (
        f"The learning rate {cfg.lr:g} is too large for this network: an update overshot, the "
        f"weights and activations grew without bound and the numbers overflowed{where}. "
        f"Try a smaller learning rate.{bn_hint}"
    )


def stall_explanation(history: History, network: str) -> str | None:
    """A sentence when `network` is not learning (see the module doc), else None."""
    cfg = history.config
    snaps = _finite_snapshots(history, network)
    if len(snaps) < 2 or network in history.divergence:
        return None
    step = snaps[-1].step
    if step < 100 or step < min(cfg.steps, max(300, 0.25 * cfg.steps)):
        return None                    # too early to tell
    classes = N_CLASSES.get(cfg.dataset, 10)
    chance = 1 / classes
    baseline = baseline_accuracy(history, network)
    acc = snaps[-1].test_acc
    if acc > baseline + 0.05:
        return None
    if baseline <= chance + LEARNED_MARGIN:             # it started about as good as guessing
        than = f"guessing (1 in {classes} classes)"
    else:
        than = f"before training ({baseline:.1%} at step 0)"
    text = f"{_cap(_label(network))} is not learning: its test accuracy is {acc:.1%}, no better than {than}."
    sats = [rec.saturation for rec in snaps[-1].layers]
    worst = int(np.argmax(sats))
    if sats[worst] >= 0.5:
        if cfg.activation == "relu":
            text += (f" {sats[worst]:.0%} of layer {worst + 1}'s ReLU inputs are ≤ 0, so those "
                     "units output 0 and pass no gradient back.")
        else:
            text += (f" {sats[worst]:.0%} of layer {worst + 1}'s {cfg.activation} units are "
                     "saturated (stuck at the flat ends of the curve), where the gradient is "
                     "almost 0, so the weights before them barely change.")
    if cfg.lr >= 1:
        text += f" The learning rate {cfg.lr:g} is large: try a smaller one."
    elif cfg.lr <= SMALL_LR[cfg.optimizer]:
        text += (f" The learning rate {cfg.lr:g} is small: each update barely moves the weights. "
                 "Try a larger one, or more steps.")
    return text


@dataclass
class Reading:
    lines: list[str]                                   # markdown sentences, most important first
    drifts: dict[str, Drift | None] = field(default_factory=dict)
    target: float | None = None
    reached: dict[str, int | None] = field(default_factory=dict)
    divergences: dict[str, str] = field(default_factory=dict)   # network → message + why
    stalled: dict[str, str] = field(default_factory=dict)       # network → "is not learning…"
    learned: dict[str, bool] = field(default_factory=dict)      # network → learned (module doc)


def _num(x: float) -> str:
    """1.8, 12.1, 498, "more than 1,000" (a network about to diverge reaches 1e12)."""
    if not math.isfinite(x) or x >= 1000:
        return "more than 1,000"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def _factor(x: float) -> str:
    """×1.6, ×41.5, or "by a factor of more than 1,000"."""
    text = _num(x)
    return f"by a factor of {text}" if text.startswith("more") else f"×{text}"


def _fmt_drift(d: Drift | None, history: History) -> str:
    if d is None:
        return "not measurable yet"
    until = (f", until it diverged at step {history.divergence[d.network].step:,}"
             if d.network in history.divergence else "")
    return f"{_num(d.moved)} (spread {_factor(d.spread_change)}{until})"


def read_history(history: History, layer: int | None = None) -> Reading:
    """The reading of a run (finished or not) for hidden layer `layer` (0-based; default the last,
    as in the paper's Figure 1)."""
    cfg = history.config
    nets = history.networks
    if layer is None:
        layer = cfg.depth - 1
    if not 0 <= layer < cfg.depth:
        raise ValueError(f"layer: expected 0 to {cfg.depth - 1}, got {layer}")
    reading = Reading(lines=[])
    if not history.frames:
        reading.lines.append("Nothing recorded yet: press **Train** (or **Step**).")
        return reading
    last_step = max(s.step for f in history.frames for s in f.values())
    if last_step == 0:
        reading.lines.append(
            "Step 0, before any training: the networks start from the same weights, so the "
            "charts show where each distribution starts. Press **Train** and watch them move.")
        return reading
    so_far = "so far" if last_step < cfg.steps and len(history.divergence) < len(nets) else \
        "over training"

    drifts = {n: drift(history, n, layer) for n in nets}
    reading.drifts = drifts
    if any(d is not None for d in drifts.values()):
        first, *rest = nets
        d0 = drifts[first]
        if d0 is None:
            text = f"{_cap(_label(first))}, layer {layer + 1}'s inputs: not measurable"
        else:
            until = (f" until it diverged at step {history.divergence[first].step:,}"
                     if first in history.divergence else f" {so_far}")
            text = (f"{_cap(_label(first))}, the inputs to layer {layer + 1}'s units drifted by "
                    f"**{_num(d0.moved)}** times their starting spread{until} (their spread "
                    f"changed {_factor(d0.spread_change)})")
        others = [f"{_label(n)}, by **{_fmt_drift(drifts[n], history)}**" for n in rest]
        reading.lines.append(text + ("; " + "; ".join(others) if others else "") + ".")

    # accuracy: final values, then who reached the target first
    finals = {}
    for n in nets:
        snaps = _finite_snapshots(history, n)
        if snaps:
            finals[n] = snaps[-1].test_acc
    if finals:
        reading.lines.append("Test accuracy at the last snapshot: " + ", ".join(
            f"{_label(n)} **{acc:.1%}**" for n, acc in finals.items()) + ".")
    reading.learned = {n: learned(history, n) for n in nets}
    target = accuracy_target(history)
    if not any(reading.learned.values()):
        classes = N_CLASSES.get(cfg.dataset, 10)
        bests = [b for n in nets if (b := best_accuracy(history, n)) is not None]
        best = f"; the best any network reached was {max(bests):.1%}" if bests else ""
        if so_far == "so far":
            head, verb = "No network has learned yet", "is still"
        else:
            head, verb = "No network learned", "stayed"
        starts = [baseline_accuracy(history, n) for n in nets]
        if max(starts, default=0.0) <= chance_accuracy(history) + LEARNED_MARGIN:
            where = (f"near chance, {chance_accuracy(history):.0%} "
                     f"(guessing 1 of {classes} classes)")
        else:
            where = f"near where it started ({max(starts):.1%} at step 0)"
        reading.lines.append(f"**{head}**: test accuracy {verb} {where}{best}.")
    elif target is not None:
        starts = [snaps[0].test_acc for n in nets if (snaps := _finite_snapshots(history, n))]
        if starts and min(starts) < target:
            reached = {n: first_reached(history, n, target) for n in nets}
            reading.target, reading.reached = target, reached
            got = sorted(((s, n) for n, s in reached.items() if s is not None))
            if got:
                step0, winner = got[0]
                ties = [n for s, n in got if s == step0]
                who = " and ".join(_label(n) for n in ties)
                text = (f"First to reach {target:.0%} test accuracy (90 % of the best seen): "
                        f"**{who}**, by step {step0:,}")
                later = [f"{_label(n)} by step {s:,}" for s, n in got if s != step0]
                never = [f"{_label(n)} not in {last_step:,} steps" for n, s in reached.items()
                         if s is None]
                reading.lines.append(text + ("; " + "; ".join(later + never) if later or never
                                             else "") + ".")

    for n in nets:
        stall = stall_explanation(history, n)
        if stall:
            reading.stalled[n] = stall
        if n in history.divergence:
            msg = history.divergence[n].message(n)
            why = divergence_explanation(history, n)
            reading.divergences[n] = f"{_cap(msg)}. {why}"
            others = [_label(m) for m in nets if m not in history.divergence]
            if others:
                reading.divergences[n] += f" The other network{'s' if len(others) > 1 else ''} " \
                    f"({', '.join(others)}) kept training."
    return reading
