"""The lab's plain-language reading of a run: numbers from a `History`, said in sentences.

    read_history(history, layer)   → Reading(lines, drifts, early, target, reached, divergences,
                                             stalled, learned, caution, broken, details)

What broke comes first, the most severe first: every network that diverged, earliest first (its
numbers are then reported only as "before it diverged"; one that diverged at step 0, on its
first mini-batch, has none, and leads the reading from the step-0 snapshot on, before Train),
then one stuck near chance (not learning, below; with how saturated its most saturated layer
is), then one with a collapsed layer. A broken network is left out of the drift
comparison: how a broken network's inputs move says nothing about training.

Distributions (`bn_core.lab.measures`): for the chosen layer, "late" drift from the snapshot at
2 % of the run to the last one, of a typical unit's median, in units of its final spread, the
same yardstick for every network, beside the noise floor (the drift's own snapshot-to-snapshot
jitter: a drift at or below it is noise); and how the typical unit's spread changed. The
sentences say it in words; `Reading.details` holds the precise definitions (DRIFT_HELP,
NOISE_HELP, SPREAD_HELP) and the unrounded numbers, for a "how measured" expander. With ε = 0
and no BN network broken, `eps_note` says why ε changed nothing.

A network "learned" when its best test accuracy after step 0 (over its snapshots before any
divergence) is at least LEARNED_MARGIN = 10 points above both chance and its own step-0 accuracy
(`baseline_accuracy`): 20 % with 10 classes, 60 % with 2, more where the untrained network
already does better than guessing (on moons it can start at 77 %). Ten points is about 3
standard deviations of a guesser's accuracy on the smallest test set here (200 examples, 2
classes) and 6 on the digits' 360.

A network "is not learning" (stuck) when it has trained at least 100 steps, and at least 300
steps or a quarter of the run (all of it if shorter), and its test accuracy over the last
STALL_WINDOW snapshots (their median, so one lucky snapshot does not count) is below its
baseline + LEARNED_MARGIN (what "learned" asks of its best); the reading then names the most
saturated layer. (Learning rate 10, default setup: without BN the last layer's inputs jump to
z ≈ −30, 100 % saturated, and test accuracy sits at 10 % for 1,200 steps, then 18–20 %.)

Which network first reached a given accuracy (only when some network learned): the target is
90 % of the best test accuracy any network reached, rounded down to a whole percent; for each
network, the first recorded step with test accuracy ≥ target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bn_core.data import N_CLASSES
from bn_core.lab.measures import (DRIFT_HELP, NOISE_HELP, NOISE_PAIRS, SPREAD_HELP, Drift,
                                  collapsed, drift, last_over_first, late_start)
from bn_core.lab.prose import SANTURKAR_NOTE, small_batch_note
from bn_core.records import History, network_label

__all__ = ["Reading", "read_history", "progress_text", "accuracy_target", "first_reached", "learned",
           "best_accuracy", "baseline_accuracy", "chance_accuracy", "divergence_explanation",
           "stall_explanation", "small_batch_note", "eps_note", "SANTURKAR_NOTE", "LEARNED_MARGIN",
           "STALL_WINDOW"]

LEARNED_MARGIN = 0.10
STALL_WINDOW = 10          # "not learning" looks at the median accuracy of the last 10 snapshots
SMALL_LR = {"sgd": 0.01, "momentum": 0.001, "adam": 1e-4}   # at or below: "try a larger one"

def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(x: float) -> str:
    """0.0027, 0.16, 1.8, 12, "more than 1,000" (two significant digits below 1)."""
    if not math.isfinite(x) or x >= 1000:
        return "more than 1,000"
    if x >= 1:
        return f"{x:.0f}" if x >= 9.95 else f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return "0" if x == 0 else ("less than 0.0001" if x < 1e-4 else f"{x:.2g}")


def chance_accuracy(history: History) -> float:
    """The accuracy of guessing, 1 / number of classes of the run's dataset."""
    return 1 / N_CLASSES[history.config.dataset]


def best_accuracy(history: History, network: str) -> float | None:
    accs = [s.test_acc for s in history.snapshots(network) if math.isfinite(s.test_acc)]
    return max(accs) if accs else None


def baseline_accuracy(history: History, network: str) -> float:
    """What `network` must beat to have learned: chance, or its step-0 accuracy if higher."""
    snaps = history.snapshots(network)
    start = snaps[0].test_acc if snaps and math.isfinite(snaps[0].test_acc) else 0.0
    return max(chance_accuracy(history), start)


def learned(history: History, network: str) -> bool:
    """Best test accuracy after step 0 ≥ baseline + LEARNED_MARGIN (module doc)."""
    later = [s.test_acc for s in history.snapshots(network)[1:] if math.isfinite(s.test_acc)]
    return bool(later) and max(later) >= baseline_accuracy(history, network) + LEARNED_MARGIN - 1e-12


def accuracy_target(history: History) -> float | None:
    """90 % of the best test accuracy any network reached, rounded down to a whole percent."""
    best = [b for n in history.networks if (b := best_accuracy(history, n)) is not None]
    return math.floor(100 * 0.9 * max(best)) / 100 if best else None


def first_reached(history: History, network: str, target: float) -> int | None:
    for snap in history.snapshots(network):
        if snap.test_acc >= target - 1e-12:
            return snap.step
    return None


def divergence_explanation(history: History, network: str) -> str:
    """Why a network most likely diverged, in a sentence a learner can act on."""
    cfg = history.config
    div = history.divergence[network]
    if network != "none" and cfg.eps == 0:
        return ("With ε = 0, BN divides by √(batch variance) alone. A unit whose values are all "
                "equal in a mini-batch (for example a ReLU that outputs 0 for every example: a "
                "dead unit) has variance 0, so BN computes 0 / 0 = NaN, and the NaN spreads "
                "through the network. This is what ε is for: any ε > 0 (PyTorch uses 1e-5) keeps "
                "the division finite.")
    where = "" if div.layer is None else f" (it showed first in layer {div.layer + 1})"
    bn_hint = ("" if network != "none" else
               " A BN network usually survives a larger learning rate: compare it beside this one.")
    return (f"The learning rate {cfg.lr:g} is too large for this network: an update overshot, the "
            f"weights and activations grew without bound and the numbers overflowed{where}. "
            f"Try a smaller learning rate.{bn_hint}")


def stall_explanation(history: History, network: str) -> str | None:
    """A sentence when `network` is not learning (module doc), else None."""
    cfg = history.config
    snaps = history.snapshots(network)
    if len(snaps) < 2 or network in history.divergence:
        return None
    step = snaps[-1].step
    if step < 100 or step < min(cfg.steps, max(300, 0.25 * cfg.steps)):
        return None                    # too early to tell
    classes = N_CLASSES[cfg.dataset]
    baseline = baseline_accuracy(history, network)
    recent = [s.test_acc for s in snaps[1:][-STALL_WINDOW:]]
    acc = float(np.median(recent))
    if acc >= baseline + LEARNED_MARGIN - 1e-12:
        return None
    if baseline <= chance_accuracy(history) + LEARNED_MARGIN:
        than = f"guessing (1 in {classes} classes: {chance_accuracy(history):.0%})"
    else:
        than = f"its accuracy before training ({baseline:.1%} at step 0)"
    over = f"over its last {len(recent)} snapshots" if len(recent) > 1 else "so far"
    text = (f"{_cap(network_label(network))} is not learning: its test accuracy {over} is "
            f"{acc:.1%} (median), within {100 * LEARNED_MARGIN:.0f} points of {than}.")
    sats = [rec.saturation for rec in snaps[-1].layers]
    worst = int(np.argmax(sats))
    if sats[worst] >= 0.5:
        if cfg.activation == "relu":
            text += (f" {sats[worst]:.0%} of layer {worst + 1}'s ReLU inputs are ≤ 0, so those "
                     "units output 0 and pass no gradient back.")
        else:
            text += (f" {sats[worst]:.0%} of layer {worst + 1}'s {cfg.activation} inputs are "
                     "saturated (on the flat ends of the curve), where the gradient is almost 0, "
                     "so the weights before them barely change.")
    if cfg.lr >= 1:
        text += f" The learning rate {cfg.lr:g} is large: try a smaller one."
    elif cfg.lr <= SMALL_LR[cfg.optimizer]:
        text += (f" The learning rate {cfg.lr:g} is small: each update barely moves the weights. "
                 "Try a larger one, or more steps.")
    return text


@dataclass
class Reading:
    lines: list[str]                                   # markdown sentences, most important first
    drifts: dict[str, Drift | None] = field(default_factory=dict)      # late drift, chosen layer
    early: dict[str, Drift | None] = field(default_factory=dict)       # step 0 → late start
    target: float | None = None
    reached: dict[str, int | None] = field(default_factory=dict)
    divergences: dict[str, str] = field(default_factory=dict)   # network → message + why
    stalled: dict[str, str] = field(default_factory=dict)       # network → "is not learning…"
    learned: dict[str, bool] = field(default_factory=dict)
    caution: bool = False                              # show SANTURKAR_NOTE: some network learned
    broken: dict[str, str] = field(default_factory=dict)    # network → "diverged" | "stuck" |
                                                            #   "collapsed" (what the lead says)
    details: list[str] = field(default_factory=list)   # the precise definitions behind the lines
                                                       # (markdown, for a "how measured" expander)


def _widened(factor: float) -> str:
    """'widened 33-fold', 'narrowed to 0.5 of its width', 'kept about its width'."""
    if not math.isfinite(factor):
        return "widened from nothing"
    if 0.9 <= factor <= 1.1:
        return "kept about its width"
    return (f"widened {_num(factor)}-fold" if factor > 1 else
            f"narrowed to {_num(factor)} of its width")


def _who(network: str) -> str:
    return "without BN" if network == "none" else f"with {network_label(network)}"


def _the(network: str) -> str:
    return f"the network {_who(network)}"


def _healthy(reading: Reading, network: str) -> bool:
    return network not in reading.broken


def _times(without: float, with_bn: float, network: str) -> str:
    """'7.1× less with BN before activation' where BN's inputs moved less, '7.1× more …' where
    they moved more (never '0.14× less')."""
    if without >= with_bn:
        return f"{_num(without / with_bn)}× less {_who(network)}"
    return f"{_num(with_bn / without)}× more {_who(network)}"


def _drift_lines(history: History, layer: int, reading: Reading, so_far: str) -> list[str]:
    nets = history.networks
    start = late_start(history)
    reading.drifts = {n: drift(history, n, layer, start=start) for n in nets}
    reading.early = {n: drift(history, n, layer, end=start) for n in nets}
    shown = {n: d for n, d in reading.drifts.items()
             if d is not None and _healthy(reading, n) and not d.collapsed}
    left_out = [n for n in nets if not _healthy(reading, n)]
    lines = []
    if shown:
        parts = [f"**{_num(d.moved)}**" + (" of the width of their range" if i == 0 else "")
                 + f" {_who(n)}" for i, (n, d) in enumerate(shown.items())]
        text = (f"**Layer {layer + 1}, from step {start:,} {so_far}**: the middle (median) of a "
                "typical unit's inputs moved by " + ", and by ".join(parts) + ".")
        if "none" in shown and len(shown) > 1:
            bn = {n: d for n, d in shown.items() if n != "none"}
            ratios = [_times(shown["none"].moved, d.moved, n) for n, d in bn.items()
                      if d.moved > 0 and shown["none"].moved > 0]
            if ratios:
                text += " That is " + " and ".join(ratios) + "."
        floors = {n: d.noise for n, d in shown.items() if math.isfinite(d.noise)}
        if floors:
            floor = max(floors.values())
            quiet = [n for n in floors if shown[n].within_noise]
            text += (f" For scale: from one snapshot to the next near the end, a typical unit's "
                     f"middle wobbles by only about {_num(floor)} of that width")
            if quiet:
                text += (f", so the move{'s' * (len(quiet) > 1)} "
                         f"{' and '.join(_who(n) for n in quiet)} "
                         f"{'are' if len(quiet) > 1 else 'is'} no bigger than noise.")
            else:
                text += ", so " + ("these moves are" if len(shown) > 1 else "this move is") + \
                    " real, not noise."
        wider = [f"{_widened(d.spread_factor)} {_who(n)}" for n, d in shown.items()
                 if d.spread_start > 0]
        if wider:
            text += f" Since step {start:,} that range " + ", and ".join(wider) + "."
        lines.append(text)
        reading.details += [DRIFT_HELP, NOISE_HELP.format(pairs=NOISE_PAIRS), SPREAD_HELP]
        reading.details.append("Here: " + "; ".join(
            f"{_who(n)}, move {d.moved:.4f}, noise {d.noise:.4f} ({d.over_noise:.1f} noise "
            f"floors), spread ×{d.spread_factor:.3g}" for n, d in shown.items()) + ".")
    for n in left_out:
        d = reading.drifts[n]
        if d is not None and reading.broken[n] == "diverged":
            lines.append(f"{_cap(_the(n))} is left out of this comparison: it diverged. "
                         f"Before it diverged (step {d.step_start:,} → {d.step_end:,}), the middle "
                         f"of a typical unit's inputs in layer {layer + 1} moved by "
                         f"{_num(d.moved)} of the width of their range.")
        elif d is not None:
            lines.append(f"{_cap(_the(n))} is left out of this comparison: it is "
                         f"{reading.broken[n]}, not training, so how its inputs move says nothing "
                         "about training.")
    early = [f"{_widened(d.spread_factor)} {_who(n)}" for n, d in reading.early.items()
             if d is not None and d.spread_start > 0 and _healthy(reading, n)]
    if early and shown:
        lines.append(f"Before that (step 0 → {start:,}), the range of a typical unit's inputs "
                     + ", and ".join(early) + ".")
    ratios = {n: last_over_first(history, n, start) for n in shown}
    said = [f"{_who(n)} the last layer's inputs moved {_num(r)}× as far as the first layer's"
            for n, (r, _) in ratios.items() if r is not None]
    said += [f"{_who(n)} the first or last layer's move is no bigger than its noise, so no "
             f"ratio" for n, (r, why) in ratios.items() if why == "noise"]
    if said:
        lines.append(f"From layer to layer (step {start:,} on): " + "; ".join(said) + ".")
    return lines


def _broken_lines(history: History, layer: int, reading: Reading) -> list[str]:
    """What broke, most severe first: every network that diverged (at step 0 too, where it has
    no finite snapshot at all), then those stuck near chance (with how saturated), then those
    with a collapsed layer."""
    cfg = history.config
    diverged, stuck, dead_lines = [], [], []
    for n in history.networks:
        snaps = history.snapshots(n)
        div = history.divergence.get(n)
        if div is not None:
            reading.broken[n] = "diverged"
            before = (f" Its numbers below are from before it diverged (its last good snapshot, "
                      f"step {snaps[-1].step:,})." if snaps else
                      " It has no numbers to show: it broke on its first mini-batch, before any "
                      "update, so the charts have no line for it.")
            diverged.append((div.step, f"**{_cap(_the(n))} broke: it diverged at step "
                                       f"{div.step:,}** (its numbers became NaN or infinite)."
                                       + before))
            continue
        if not snaps:
            continue
        stall = stall_explanation(history, n)
        if stall:
            reading.stalled[n] = stall
            reading.broken[n] = "stuck"
            recent = [s.test_acc for s in snaps[1:][-STALL_WINDOW:]]
            sats = [rec.saturation for rec in snaps[-1].layers]
            worst = int(np.argmax(sats))
            what = ("inputs ≤ 0 (the ReLU outputs 0)" if cfg.activation == "relu"
                    else "inputs saturated (on the flat ends)")
            text = (f"**{_cap(_the(n))} is stuck near chance**: test accuracy "
                    f"{float(np.median(recent)):.1%} (median of its last {len(recent)} snapshots; "
                    f"guessing scores {chance_accuracy(history):.0%})")
            if sats[worst] >= 0.5:
                text += f", with {sats[worst]:.0%} of layer {worst + 1}'s {what}"
            stuck.append(text + ".")
        dead = [l + 1 for l, rec in enumerate(snaps[-1].layers) if collapsed(rec)] \
            if len(snaps) > 1 else []
        if dead:
            reading.broken[n] = "collapsed"
            layers = ", ".join(map(str, dead[:-1])) + " and " * (len(dead) > 1) + str(dead[-1])
            dead_lines.append(f"**{_cap(_the(n))} collapsed in layer{'s' * (len(dead) > 1)} "
                              f"{layers}**: every example gives nearly the same input there, so "
                              "the layer passes almost nothing on.")
    return [text for _, text in sorted(diverged, key=lambda d: d[0])] + stuck + dead_lines


def _divergences(history: History, reading: Reading) -> None:
    """reading.divergences: each diverged network's message and why (the page's error boxes)."""
    nets = history.networks
    for n in nets:
        if n in history.divergence:
            why = divergence_explanation(history, n)
            text = f"{_cap(history.divergence[n].message(n))}. {why}"
            others = [network_label(m) for m in nets if m not in history.divergence]
            if others:
                text += (f" The other network{'s' if len(others) > 1 else ''} "
                         f"({', '.join(others)}) "
                         + ("can still train." if history.last_step == 0 else "kept training."))
            reading.divergences[n] = text


def eps_note(history: History) -> str | None:
    """Why ε = 0 changed nothing, where it was set to 0 and no BN network diverged."""
    cfg = history.config
    bn = [n for n in history.networks if n != "none"]
    if cfg.eps != 0 or not bn or any(n in history.divergence for n in bn):
        return None
    why = ("A ReLU unit that outputs 0 for every example of a mini-batch would (BN after the "
           "activation): none has so far." if cfg.activation == "relu" and
           any(n == "after" for n in bn) else
           f"Here BN's inputs {'are' if 'before' in bn else 'include'} weighted sums of many "
           f"varied inputs{'' if cfg.activation == 'relu' else f' or {cfg.activation} outputs'}, "
           "which practically never come out all equal over a mini-batch.")
    return ("**ε = 0 changed nothing here** (so far): BN divides by √(batch variance + ε), and ε "
            "matters only where a unit's variance over a mini-batch is about 0, i.e. all its "
            "values in the batch are (nearly) equal. Anywhere else √(variance + 0) and "
            "√(variance + 0.00001) are practically the same number. " + why)


def read_history(history: History, layer: int | None = None) -> Reading:
    """The reading of a run (finished or not) for hidden layer `layer` (0-based; default the last,
    as in the paper's Figure 1)."""
    cfg = history.config
    nets = history.networks
    layer = cfg.depth - 1 if layer is None else layer
    if not 0 <= layer < cfg.depth:
        raise ValueError(f"layer: expected 0 to {cfg.depth - 1}, got {layer}")
    reading = Reading(lines=[])
    if not history.frames:
        reading.lines.append("Nothing recorded yet: press **Train** (or **Step**).")
        return reading
    last_step = history.last_step
    if last_step == 0:                      # what broke on the first mini-batch still leads
        reading.lines += _broken_lines(history, layer, reading)
        _divergences(history, reading)
        reading.lines.append(
            "Step 0, before any training: the networks start from the same weights, so the "
            "charts show where each distribution starts. Press **Train** and watch them move.")
        return reading
    running = last_step < cfg.steps and len(history.divergence) < len(nets)
    so_far = f"to step {last_step:,} so far" if running else f"to the end ({last_step:,})"
    reading.lines += _broken_lines(history, layer, reading)          # what broke leads
    reading.lines += _drift_lines(history, layer, reading, so_far)

    finals = {n: snaps[-1] if (snaps := history.snapshots(n)) else None for n in nets}
    if any(finals.values()):
        reading.lines.append("Test accuracy at the last snapshot: " + ", ".join(
            f"{network_label(n)} has none (it diverged at step {history.divergence[n].step:,})"
            if s is None else
            f"{network_label(n)} **{s.test_acc:.1%}**"
            + (f" (at step {s.step:,}, before it diverged)" if n in history.divergence else "")
            for n, s in finals.items() if s is not None or n in history.divergence) + ".")
    reading.learned = {n: learned(history, n) for n in nets}
    reading.caution = any(reading.learned.values())
    target = accuracy_target(history)
    if not reading.caution:
        bests = [b for n in nets if (b := best_accuracy(history, n)) is not None]
        best = f"; the best any network reached was {max(bests):.1%}" if bests else ""
        head, verb = ("No network has learned yet", "is still") if running else \
            ("No network learned", "stayed")
        starts = [baseline_accuracy(history, n) for n in nets]
        if max(starts, default=0.0) <= chance_accuracy(history) + LEARNED_MARGIN:
            where = (f"near chance, {chance_accuracy(history):.0%} (guessing 1 of "
                     f"{N_CLASSES[cfg.dataset]} classes)")
        else:
            where = f"near where it started ({max(starts):.1%} at step 0)"
        reading.lines.append(f"**{head}**: test accuracy {verb} {where}{best}.")
    elif target is not None:
        starts = [snaps[0].test_acc for n in nets if (snaps := history.snapshots(n))]
        if starts and min(starts) < target:
            reached = {n: first_reached(history, n, target) for n in nets}
            reading.target, reading.reached = target, reached
            got = sorted((s, n) for n, s in reached.items() if s is not None)

            def label(n):
                return network_label(n) + (" (before it diverged)" if n in history.divergence
                                           else "")
            if got:
                step0 = got[0][0]
                who = " and ".join(label(n) for s, n in got if s == step0)
                later = [f"{label(n)} by step {s:,}" for s, n in got if s != step0]
                never = [f"{network_label(n)} not " + (
                    f"before it diverged at step {history.divergence[n].step:,}"
                    if n in history.divergence else f"in {last_step:,} steps")
                    for n, s in reached.items() if s is None]
                reading.lines.append(
                    f"First to reach {target:.0%} test accuracy (90 % of the best seen): **{who}**,"
                    f" by step {step0:,}" + ("; " + "; ".join(later + never) if later or never
                                             else "") + ".")
    note = eps_note(history)
    if note:
        reading.lines.append(note)
    _divergences(history, reading)
    return reading


def progress_text(run, rate: float | None = None, left: float | None = None) -> str:
    """The line over the lab's progress bar for a bn_core.trainer.Run: the step, the speed and
    the time left while training (rate: steps/s so far; left: seconds, `views.seconds_left`),
    paused or finished, and what diverged."""
    text = f"Step {run.step:,} of {run.config.steps:,}"
    if run.done:
        text += " · finished" if run.live else " · every network diverged"
    elif rate:
        text += f" · {rate:,.0f} steps/s" + (f" · about {left:,.0f} s left" if left else "")
    elif run.step > 0:
        text += " · paused"
    return " · ".join([text, *(f"{network_label(n)} stopped at step {d.step:,} (diverged)"
                               for n, d in run.history.divergence.items())])
