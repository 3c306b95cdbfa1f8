"""The lab's setups: the short default run, the paper's Figure 1, and "ε = 0 breaks it"; and how
often the lab records a snapshot.

Paper setup, as close to the paper's Figure 1 as this machine allows. The paper: MNIST, 3 hidden
layers of 100 sigmoid units, mini-batches of 60, 50,000 steps, small random Gaussian initial
weights, raw pixel intensities, BN before each sigmoid; it gives neither the learning rate nor
the weights' scale. Here:

    data       the bundled 8×8 digits as raw pixel intensities in [0, 1] (digits / 16)
    init       Gaussian weights with std 0.1 (this app's choice for "small")
    lr         0.1, plain SGD

Measured on this app's 2-core machine (`benchmarks/bench_figure1.py`, seeds 0 and 1, 50,000
steps in 45–48 s; the last layer, probe set of the 360 held-out digits): the late drift of a
typical unit's median (from step 1,000 to the end, in units of its final spread) was 0.16–0.17
without BN and 0.03 with BN: 5.4 times larger without BN.
Standardised inputs gave less contrast (4.8×); the 5,000 bundled 28×28 MNIST digits (dataset
'mnist') gave 0.12 against 0.02 in a first, 20,000-step measurement, took twice as long, and
there BN did not end ahead on test accuracy. Learning rates 0.05 to 1 all showed the contrast;
at 0.1 the network without BN also stays at chance for its first ~1,000 steps while BN's reaches
94 % within 100 (Figure 1a's point, made larger by the small initial weights).

Against the noise floor (re-measured 2026-12, issue #23; one run per seed, 56–94 s on the busy
machine): the floor is the drift's own jitter (`bn_core.lab.measures`: the median change of a
unit's median between the last 10 pairs of neighbouring snapshots, 100 steps apart, in units of
its final spread). Last layer, seed 0 / seed 1: without BN drift 0.155 / 0.170, floor 0.0009 /
0.0009; with BN drift 0.029 / 0.031, floor 0.0027 / 0.0025; ratio 5.3× / 5.4×. So BN's late
drift is real (about 11 times its floor), only 5 times smaller than without BN: BN does not
freeze the distribution, it keeps it from wandering far. (The old floor, the gap between the
medians of the probe set's two halves, ~0.05, measured a level's sampling error, which cancels
in a drift of the same examples, and called BN's drift noise.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bn_core.controls import Config, knob
from bn_core.data import N_FEATURES
from bn_core.records import UNITS_RECORDED
from bn_core.trainer import TrainConfig

__all__ = ["DEFAULT", "PAPER_SETUP", "EPS_ZERO", "PRESETS", "BUTTONS", "NOTES", "LabView",
           "PLACEMENTS", "setup_of", "link_query", "link_limits", "from_setup", "estimate_seconds",
           "record_every_for", "TARGET_SNAPSHOTS", "MAX_RECORD_EVERY"]

TARGET_SNAPSHOTS = 50           # record_every_for aims at about this many evenly spaced snapshots:
                                # at the watchable speed (~12 s) the browser redraws ~5 times a
                                # second, ~60 frames, so more are never seen live; and each costs
                                # ~8 training steps of the server's time (issue #25)
MAX_RECORD_EVERY = 50           # ... and at least one every 50 steps (live updates, Pause)
MAX_SNAPSHOTS = 500            # ... and at most this many evenly spaced (a run's memory)
WORK_PER_SNAPSHOT = 4e8         # networks × batch × weights between snapshots, at most

DEFAULT = TrainConfig()
PAPER_SETUP = TrainConfig(
    dataset="digits", scaling="raw", depth=3, width=100, activation="sigmoid",
    placement="before", optimizer="sgd", lr=0.1, batch_size=60, steps=50_000, init_scale=0.1,
)
EPS_ZERO = TrainConfig(activation="relu", placement="after", eps=0.0, batch_size=16, lr=0.05)
"""ReLU, BN after the activation, ε = 0: a ReLU unit that outputs 0 for all 16 examples of a
mini-batch has batch variance 0, so BN computes 0/0 = NaN. With seed 0 the BN network learns
(about 97 %) and then dies at step 280; with the default ε = 1e-5 the same run trains on."""

PLACEMENTS = ("before", "after", "both")
"""Where BN goes, as the lab offers it: the lab always trains a BN network beside the plain one,
so not TrainConfig's "none" (no BN network; the experiment pages use it)."""

PRESETS = {"default": DEFAULT, "paper": PAPER_SETUP, "eps0": EPS_ZERO}
BUTTONS = {    # the setups' buttons on the page: label, help
    "paper": ("Paper setup (Figure 1)", "3×100 sigmoid units, batch 60, SGD, raw pixels, 50,000 "
              "steps."),
    "eps0": ("ε = 0 breaks it", "ReLU, BN after the activation, ε = 0."),
    "default": ("Default setup", "The short run the page opens with: 1,500 steps, a few seconds."),
}
NOTES = {      # what the page says while a preset's settings are shown
    "paper": "**Paper setup** (Figure 1 of Ioffe & Szegedy 2015): 3 hidden layers of 100 "
             "sigmoid units, mini-batches of 60, plain SGD, 50,000 steps, BN before each sigmoid, "
             "raw pixel intensities in [0, 1] as the paper fed them. The paper gives neither the "
             "learning rate nor the initial weights' scale; this app uses 0.1 for both, which "
             "makes the contrast clear (in two runs of it, the last layer's inputs drifted about "
             "5 times less with BN than without). The paper "
             "used MNIST; this uses the bundled 8×8 digits, which show Figure 1 more clearly in "
             "half the time. Press Train: the progress bar shows the time left.",
    "eps0": "**ε = 0**: ReLU units, BN *after* the activation, mini-batches of 16. A ReLU unit "
            "that outputs 0 for all 16 examples of a batch has batch variance 0, and BN divides "
            "0 by √0. Press Train and watch the BN network; then set ε back to 1e-5 and train "
            "again. (In the default sigmoid setup ε = 0 changes nothing: ε matters only where a "
            "unit's variance over a mini-batch is about 0, and a sigmoid network's never is.)",
}


def setup_of(config: TrainConfig) -> str | None:
    """The name of the setup (not the default) whose settings `config` has, or None."""
    return next((name for name, preset in PRESETS.items()
                 if name != "default" and preset == config), None)


def link_query(config: TrainConfig) -> dict:
    """A link's query for `config`: setup=<name> where it is a setup (the link then shows the
    setup's explanation too), else the settings that differ from the defaults."""
    name = setup_of(config)
    return {"setup": name} if name else config.to_query()


def link_limits(config: TrainConfig = DEFAULT) -> dict[str, dict]:
    """What a lab link may set, where the lab offers less than the knobs allow, each said in
    the learner's words (`Config.from_query`'s `narrow`; the page's widgets offer the same):
    BN's placement without "none", and only the layers and recorded units of `config`'s
    network (LabView's knobs allow up to 8 layers and 16 units, whatever the network)."""
    layers, units = int(config.depth), min(int(config.width), UNITS_RECORDED)
    return {
        "placement": dict(choices=PLACEMENTS, expect="before, after or both (the lab always "
                          "trains a BN network beside the plain one)"),
        "layer": dict(hi=layers, expect=(f"1 to {layers} for this {layers}-layer network, or 0 "
                                         f"for the last layer") if layers > 1 else
                      "1 (this network has one layer), or 0 for the last layer"),
        "unit": dict(hi=units, expect=f"1 to {units} (the {units} recorded units of a layer)"
                     if units < int(config.width) else f"1 to {units} (a layer's {units} units)"),
    }


def from_setup(query: dict) -> tuple[TrainConfig | None, list[str]]:
    """The setup a link names (setup=paper), or None; and the problem with an unknown one."""
    name = str(query.get("setup", "")).strip().lower()
    if not name:
        return None, []
    if name not in PRESETS:
        return None, [f"setup: expected one of {', '.join(PRESETS)}, got {name!r}; ignored"]
    return PRESETS[name], []


def estimate_seconds(config: TrainConfig) -> float:
    """About how long `config` takes to train here, at full speed, measured on a throwaway run
    of 20 steps (this machine, as loaded as it is now: an estimate, not a promise):

        seconds ≈ steps · (time per step) + snapshots · (time per snapshot)

    The time per snapshot is the step-0 snapshot's; the time per step is the rest of a 20-step
    advance. Costs 20 steps and 2 snapshots (≈ 10–300 ms)."""
    import time

    from bn_core.trainer import Run, snapshot_steps

    probe = Run(config.replace(steps=20, record_every=20), early=False)
    t0 = time.perf_counter()
    probe.advance()                                    # the step-0 snapshot
    t1 = time.perf_counter()
    probe.advance()                                    # 20 steps and a snapshot
    t2 = time.perf_counter()
    probe.release()
    per_snapshot = t1 - t0
    per_step = max(0.0, (t2 - t1) - per_snapshot) / 20
    snapshots = len(snapshot_steps(int(config.steps), int(config.record_every)))
    return config.steps * per_step + snapshots * per_snapshot


def record_every_for(config: TrainConfig, target: int = TARGET_SNAPSHOTS,
                     most: int = MAX_RECORD_EVERY, work: float = WORK_PER_SNAPSHOT) -> int:
    """Steps between the evenly spaced snapshots of a lab run (the log-spaced early ones come on
    top, see `bn_core.trainer.snapshot_steps`): about `target` over the run, never more than `most`
    steps apart, and fewer steps for big networks, so that one record interval (the unit of Step,
    of a live update, and the longest Pause can wait) stays short:

        record_every = clamp(round(steps / target), 1, min(most, work / (K · batch · P))),
                       and at least steps / MAX_SNAPSHOTS;  K = networks, P = weights per network.
        Defaults: 1,500 steps → 30 (50 snapshots + 19 early ones); 10,000 → 50; paper, 50,000
        steps → 100 (500 snapshots + 22 early ones: the memory bound)
    """
    dims = [N_FEATURES[config.dataset], *config.hidden, 10]
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    per_step = len(config.networks) * config.batch_size * weights
    cap = max(1, min(most, int(work // per_step)))
    fewest = math.ceil(int(config.steps) / MAX_SNAPSHOTS)       # bounded memory, whatever the size
    return int(max(fewest, min(cap, max(1, round(int(config.steps) / target)))))


# ----------------------------------------------------------------------------- the view

@dataclass(frozen=True)
class LabView(Config):
    """What the lab's charts look at (not part of the run: changing it retrains nothing)."""

    layer: int = knob(0, "Layer", lo=0, hi=8, widget="select",
                      labels=lambda v: "the last layer" if v == 0 else f"layer {v}",
                             help="Which hidden layer charts 2 and 3 and the reading look at. "
                             "The paper's Figure 1 shows the last one.")
    unit: int = knob(1, "Unit", lo=1, hi=UNITS_RECORDED, widget="select",
                     labels=lambda v: f"unit {v}",
                     help="One of the first 16 units of the layer (the recorded ones), in chart "
                     "2 and the histograms.")
    speed: str = knob("watch", "Speed", choices=("watch", "full"), widget="select",
                      labels={"watch": "watchable", "full": "full speed"},
                      help="Watchable spreads a short run's snapshots over about 12 seconds, so "
                      "you can follow the distributions move; a long run (the Paper setup) is "
                      "slower than that anyway and runs at full speed either way.")
    time_axis: str = knob("log", "Time axis", choices=("log", "linear"), widget="radio",
                          url="time",
                          labels={"log": "log", "linear": "linear"},
                          help="Of the charts over training steps. On a log scale the first "
                          "steps, where most changes, get as much room as the last thousands.")

    def layer_index(self, depth: int) -> int:
        """The 0-based layer: the last one for 0 ("the last layer") or a choice too deep."""
        return depth - 1 if self.layer == 0 or self.layer > depth else self.layer - 1

    def unit_index(self, width: int) -> int:
        return min(self.unit, width, UNITS_RECORDED) - 1
