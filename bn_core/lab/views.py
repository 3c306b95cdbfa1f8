"""What the lab page shows, by name: its views, which of them a live update redraws, and how
often it may redraw while training.

    VIEWS                       now, unit (the first screen), curves, layer, shift, histograms,
                                health
    FIRST_SCREEN                the views side by side at the top of the page
    view_figure(name, history, layer, unit, log_x, animate)
    live_figures(history, layer, unit, log_x, update, names)   the view(s) of a live update
    LIVE_VIEWS                  the views always in sight (the lab adds the open tab's)
    UpdatePacer                 when to redraw, so that drawing stays a bounded share of the time
    watch_interval(snapshots)   the "watchable" speed: the least time between two snapshots
"""

from __future__ import annotations

import math
import time

import numpy as np


from bn_core.lab.figures import (bands_figure, curves_figure, health_figure, saturation_label,
                                 shift_figure)
from bn_core.lab.histograms import dashboard_height, histogram_figure, layer_histogram_figure
from bn_core.records import History

__all__ = ["VIEWS", "FIRST_SCREEN", "LIVE_VIEWS", "LIVE_SCHEDULE", "view_figure", "live_figures",
           "UpdatePacer", "sections", "watch_interval", "seconds_left", "start_estimate",
           "RunClock", "SNAPSHOT_STEPS", "WATCH_SECONDS", "WATCH_MOST"]

WATCH_SECONDS = 12.0     # the "watchable" speed spreads a run's snapshots over at least this
WATCH_MOST = 0.25        # ... but never more than this (s) between two snapshots

VIEWS = ("now", "unit", "curves", "layer", "shift", "histograms", "health")
FIRST_SCREEN = ("now", "unit")   # what a control changes, where it shows without scrolling
# The lab (pages/1_lab.py, through live_chart, which sends only what changed) draws the views
# in sight: LIVE_VIEWS, the first screen and, just below it, loss and accuracy, plus the view of
# the tab that is open (its tabs rerun the page when one is opened; issue #25: the animated
# "every layer" view alone is ~1 MB of JSON and ~90 ms of the server's CPU per redraw at rest).
# LIVE_SCHEDULE is the lighter path for st.plotly_chart, which rebuilds a chart from scratch at
# every change: one view per update, the Figure-1 pair most often.
LIVE_VIEWS = FIRST_SCREEN + ("curves",)
LIVE_SCHEDULE = [("now", "unit"), ("curves",), ("now", "unit"), ("layer",), ("now", "unit"),
                 ("shift",), ("now", "unit"), ("histograms",), ("now", "unit"), ("health",)]


def sections(activation: str, layer: int, unit: int) -> dict[str, tuple[str, str]]:
    """Each view's heading and caption (what exactly it plots, what to look for): the page shows
    them above the charts and the HTML export uses the headings. layer, unit: 0-based."""
    return {
        "now": (f"1 · Layer {layer + 1}: the distribution of its inputs z, now",
                f"The histogram of unit {unit + 1}'s input z over the probe set (the same "
                "held-out examples at every snapshot), filled, over that of all the layer's "
                "units (outline), one row per network, in % of the values. Look for: without "
                "BN the histogram slides and spreads as the layers below learn; with BN it "
                "stays put. A bar taller than its row is cut and marked with its height. "
                "Paused or finished, press ▶ Replay or drag the slider to replay the run."),
        "unit": (f"2 · Layer {layer + 1}, unit {unit + 1}: its input over training",
                 "The paper's Figure 1b, c: the 15th, 50th (line) and 85th percentiles of this "
                 "unit's input z over the probe set, at every snapshot: the history of the "
                 "filled histogram beside it. The dotted lines lie the median's typical jitter "
                 "from one snapshot to the next above and below it: a move within them is "
                 "noise. Look for: without BN the band moves and widens for a long "
                 "time; with BN it settles early and stays. BN does not freeze it: its learned "
                 "scale γ and shift β move it, slowly (fast at a large learning rate). With BN "
                 "*after* the activation, z itself is not normalised, but the next layer's input "
                 "is."),
        "curves": ("3 · Loss and test accuracy", "The paper's Figure 1a. Look for: which "
                   "network's test accuracy climbs first, and how high it gets. Accuracy is "
                   "measured on the held-out test examples with BN in eval mode (running "
                   "averages)."),
        "layer": (f"4 · Layer {layer + 1}: all its units together",
                  "The same percentiles over all units of the layer pooled. Units drift in "
                  "different directions, so the pooled band can look calmer than any one unit."),
        "shift": ("5 · Internal covariate shift, as a speed",
                  "How fast each layer's input distribution is moving: per unit, how far its mean "
                  "and standard deviation over the probe set moved since the previous snapshot, "
                  "in units of its standard deviation, per 100 steps (the median unit; log "
                  "scale). Look for: how much lower BN's lines run after the first steps."),
        "histograms": ("6 · Histograms of every layer",
                       "The distribution of z over the probe set in every hidden layer (rows), "
                       f"for all units together and for unit {unit + 1}, per network, in % of the "
                       "values; the end bars also count everything beyond the axis. All cells "
                       "share one x axis. While training this shows the latest snapshot; paused "
                       "or finished, press ▶ Replay or drag the slider to replay the run."),
        "health": ("7 · Saturation and gradients, per layer",
                   f"Top: the share of {saturation_label(activation)} over the probe set: there "
                   "the activation is flat and passes almost no gradient back. Bottom: the size "
                   "of each layer's weight gradient on the training batch (log scale); darker "
                   "lines are deeper layers."),
    }


def view_figure(name: str, history: History, layer: int, unit: int, log_x: bool = True,
                animate: bool = False, as_dict: bool = False):
    """One of the lab's views by name (see VIEWS); layer and unit 0-based; a go.Figure, or a
    plain dict with as_dict=True (bn_core.style.figure)."""
    if name == "now":
        return layer_histogram_figure(history, layer, unit, animate=animate, as_dict=as_dict)
    if name == "unit":
        return bands_figure(history, layer, unit, log_x, as_dict=as_dict, stacked=True,
                            height=dashboard_height(len(history.networks)))
    if name == "curves":
        return curves_figure(history, log_x, as_dict=as_dict)
    if name == "layer":
        return bands_figure(history, layer, None, log_x, as_dict=as_dict)
    if name == "shift":
        return shift_figure(history, log_x, as_dict=as_dict)
    if name == "histograms":
        return histogram_figure(history, unit, animate=animate, as_dict=as_dict)
    if name == "health":
        return health_figure(history, log_x, as_dict=as_dict)
    raise ValueError(f"name: expected one of {', '.join(VIEWS)}, got {name!r}")


def live_figures(history: History, layer: int, unit: int, log_x: bool = True,
                 update: int | None = None, as_dict: bool = False,
                 names: tuple[str, ...] | None = None) -> dict:
    """The figures of a live update, by view name: `names` (e.g. LIVE_VIEWS) if given; else
    update=None: all views; update=n: the view(s) of the n-th live update (LIVE_SCHEDULE)."""
    if names is None:
        names = VIEWS if update is None else LIVE_SCHEDULE[update % len(LIVE_SCHEDULE)]
    elif unknown := [n for n in names if n not in VIEWS]:
        raise ValueError(f"names: expected views among {', '.join(VIEWS)}, got {unknown}")
    return {name: view_figure(name, history, layer, unit, log_x, as_dict=as_dict)
            for name in names}


class UpdatePacer:
    """When to redraw the live figures: draws start at most every `interval` seconds, and never
    so often that drawing takes more than `share` of the time. After a draw of d seconds the
    next may start d/share − d seconds later (but not before `interval` from the last start):

        start-to-start time = max(interval, d / share)  ⇒  drawing time ≤ share of the total
    """

    def __init__(self, interval: float = 0.4, share: float = 0.2, clock=None):
        self.interval, self.share = interval, share
        self.clock = clock or time.perf_counter
        self.next_at = -math.inf
        self.draws = 0
        self.draw_seconds = 0.0

    def due(self) -> bool:
        return self.clock() >= self.next_at

    def drawn(self, seconds: float) -> None:
        self.draws += 1
        self.draw_seconds += seconds
        self.next_at = self.clock() + max(self.interval - seconds, seconds / self.share - seconds)


def watch_interval(snapshots: int, seconds: float = WATCH_SECONDS, most: float = WATCH_MOST) -> float:
    """The least time (s) between two snapshots at the "watchable" speed, so that a run of
    `snapshots` takes at least `seconds` (a fast run is slowed down; one slower than that, like
    the Paper setup's, is not):

        interval = min(most, seconds / snapshots)

    The default run (70 snapshots, log-spaced early ones included) then lasts ~12 s, and
    every snapshot, early or late, is on screen for about the same time."""
    if snapshots < 1:
        raise ValueError(f"snapshots: expected at least 1, got {snapshots}")
    if not seconds >= 0:
        raise ValueError(f"seconds: expected 0 or more, got {seconds}")
    return min(most, seconds / snapshots)


def start_estimate(full_speed: float, snapshots: int, pace: float) -> str:
    """Before a run: ' · about 12 s' as it will run, from the full-speed estimate (s) and the
    watchable speed's `pace` (s between snapshots, 0 at full speed; `watch_interval`): a run
    paced slower than it computes takes snapshots × pace, and says both."""
    paced = snapshots * pace
    if paced > full_speed:
        return f" · about {paced:,.0f} s at the watchable speed ({full_speed:,.0f} s at full speed)"
    return f" · about {full_speed:,.0f} s" + (" at full speed" if pace == 0 else "")


SNAPSHOT_STEPS = 8       # a snapshot costs about as much as this many training steps of the pair
                         # (benchmarks/bench_train.py: 7.4–7.7 on the default networks)


def seconds_left(schedule, step: int, rate: float, pace: float = 0.0) -> float:
    """About how long the rest of a run takes (s). Each gap between the snapshots still to come
    (`schedule`, the run's snapshot steps; the run is at `step`) is its steps and one snapshot,
    gap + SNAPSHOT_STEPS units of work, done at `rate` units/s (training and recording alone:
    neither waiting nor drawing, which the watchable speed does while it waits), or `pace` s if
    that is longer (`watch_interval`):

        left = Σ_gaps max((gap + SNAPSHOT_STEPS) / rate, pace)

    The steps made so far per second would not do: early on, where every step is a snapshot
    and the watchable speed waits a `pace` after each, they say ten times too long."""
    if not rate > 0:
        raise ValueError(f"rate: expected units/s above 0, got {rate}")
    ahead = np.asarray(schedule)[np.asarray(schedule) > step]                   # (S,)
    gaps = np.diff(np.concatenate([[step], ahead]))
    return float(np.maximum((gaps + SNAPSHOT_STEPS) / rate, pace).sum())


class RunClock:
    """Times the lab's training loop: `wait_until` sleeps (the watchable speed) and counts it;
    `reading()` gives (steps/s so far, about how many seconds are left), or (None, None) before
    the first step. The rate behind the time left counts a snapshot as SNAPSHOT_STEPS steps and
    leaves out the waits and the draws (`UpdatePacer.draw_seconds`)."""

    def __init__(self, run, pace: float, pacer: UpdatePacer, clock=time.perf_counter,
                 sleep=time.sleep):
        self.run, self.pace, self.pacer, self.clock, self.sleep = run, pace, pacer, clock, sleep
        self.start, self.waited = clock(), 0.0
        self.step0, self.frames0 = run.step, len(run.history.frames)

    def wait_until(self, t: float) -> None:
        wait = max(0.0, t - self.clock())
        self.waited += wait
        self.sleep(wait)

    def reading(self) -> tuple[float | None, float | None]:
        run, elapsed = self.run, self.clock() - self.start
        steps = run.step - self.step0
        if steps <= 0 or elapsed <= 0:
            return None, None
        units = steps + SNAPSHOT_STEPS * (len(run.history.frames) - self.frames0)
        busy = max(elapsed - self.waited - self.pacer.draw_seconds, 1e-3)
        return steps / elapsed, seconds_left(run.schedule, run.step, units / busy, self.pace)
