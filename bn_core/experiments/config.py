"""The experiments' knobs, declared once (bn_core.controls): one config for the four experiments,
each with its own defaults and its own relevant knobs; the URL holds the experiment as `exp` and
its relevant knobs that differ from its defaults.

    placement   BN none / before / after the activation, for each chosen activation
    lr          a log-spaced learning-rate grid, without BN and with BN
    init        a log-spaced grid of the initial weights' Gaussian std, without and with BN
    batch       batch sizes 2 … 512, without and with BN; BN's train- vs eval-mode accuracy
    depth       the same network at several depths, without and with BN: how far each layer's
                inputs drift (bn_core.experiments.depth), and the final accuracy
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bn_core.controls import ExperimentConfig, knob
from bn_core.engine import ACTIVATIONS, OPTIMIZERS

__all__ = ["SweepConfig", "EXPERIMENTS", "EXPERIMENT_LABELS", "SWEEP_DATASETS", "BATCH_CHOICES",
           "ACTIVATION_NAMES", "CURVE_POINTS", "DEPTH_CHOICES", "log_grid"]

EXPERIMENTS = ("placement", "lr", "init", "batch", "depth")
EXPERIMENT_LABELS = {"placement": "Where to put BN", "lr": "Learning rate",
                     "init": "Initialisation scale", "batch": "Batch size",
                     "depth": "Depth and drift"}
SWEEP_DATASETS = ("digits", "moons", "circles", "spiral", "xor")   # mnist: too big for sweeps
BATCH_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
DEPTH_CHOICES = (1, 2, 3, 4, 5, 6, 7, 8)
ACTIVATION_NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
CURVE_POINTS = 50          # test accuracy recorded about this many times per network
LR_LADDER = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0)
INIT_LADDER = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def log_grid(lo: float, hi: float, points: int) -> list[float]:
    """`points` values from lo to hi, evenly spaced in log scale, rounded to 3 significant digits
    (so they read well and survive a URL): log_grid(1e-3, 10, 9) = [0.001, 0.00316, 0.01, …, 10]."""
    if points == 1:
        return [float(lo)]
    values = np.logspace(math.log10(lo), math.log10(hi), int(points))
    return [float(f"{v:.3g}") for v in values]


def _g(v) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class SweepConfig(ExperimentConfig):
    """Every knob of one experiment (`RELEVANT` says which matter to which); `default(experiment)`
    gives each experiment's defaults, sized to run in seconds."""

    experiment: str = knob("placement", "Experiment", choices=EXPERIMENTS, url="exp",
                           widget="radio", labels=EXPERIMENT_LABELS,
                           help="Each experiment keeps its own settings; the URL holds the one "
                           "shown.")
    dataset: str = knob("digits", "Dataset", choices=SWEEP_DATASETS,
                        help="digits: 8×8 handwritten digits (64 features, 10 classes); the "
                        "others are 2-D toy problems.")
    activations: tuple[str, ...] = knob(
        ("sigmoid", "tanh", "relu"), "Activations", choices=ACTIVATIONS, widget="pills",
        labels=ACTIVATION_NAMES,
        help="One stack of networks per activation: each placement, each seed.")
    activation: str = knob("sigmoid", "Activation", choices=ACTIVATIONS, labels=ACTIVATION_NAMES)
    placement: str = knob("before", "BN network", choices=("before", "after"), widget="radio",
                          labels=lambda p: f"BN {p} activation",
                          help="Compared with the same network without BN.")
    depth: int = knob(3, "Hidden layers", lo=1, hi=8, widget="slider")
    width: int = knob(64, "Units per layer", lo=4, hi=256, ladder=(4, 8, 16, 32, 64, 100, 128, 256))
    seeds: int = knob(5, "Seeds per setting", lo=1, hi=10, widget="slider",
                      help="Networks per setting, from seeds s, s+1, …: different initial weights "
                      "and mini-batch orders.")
    seed: int = knob(0, "First seed", lo=0, hi=2**31 - 1, widget="number")
    steps: int = knob(500, "Training steps", lo=10, hi=5000,
                      ladder=(10, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000))
    lr: float = knob(0.5, "Learning rate", lo=1e-4, hi=10.0, ladder=LR_LADDER, labels=_g)
    batch_size: int = knob(60, "Batch size", lo=2, hi=512,
                           ladder=(2, 4, 8, 16, 32, 60, 64, 128, 256, 512))
    init_scale: float | None = knob(
        None, "Init std of the weights", lo=1e-4, hi=10.0, optional=True,
        ladder=(None, *INIT_LADDER[2:]),
        labels=lambda v: "1/√fan_in (default)" if v is None else f"{v:g}")
    optimizer: str = knob("sgd", "Optimizer", choices=OPTIMIZERS,
                          labels={"sgd": "SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"})
    target: float = knob(0.9, "Target test accuracy", lo=0.05, hi=1.0,
                         ladder=(0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99),
                         labels=lambda v: f"{v:.0%}",
                         help="Counts as 'trained'; also the mark for 'steps to reach it'.")
    lr_min: float = knob(1e-3, "Learning rates (range)", lo=1e-4, hi=10.0, ladder=LR_LADDER,
                         labels=_g, help="The grid is spread evenly on a log scale between "
                         "these ends.")
    lr_max: float = knob(10.0, "Largest learning rate", lo=1e-4, hi=10.0, ladder=LR_LADDER,
                         labels=_g)
    init_min: float = knob(1e-4, "Init std of the weights (range)", lo=1e-5, hi=10.0,
                           ladder=INIT_LADDER, labels=_g,
                           help="Gaussian std of every weight matrix at the start, log grid.")
    init_max: float = knob(1.0, "Largest init std", lo=1e-5, hi=10.0, ladder=INIT_LADDER,
                           labels=_g)
    points: int = knob(9, "Grid points", lo=2, hi=13, widget="slider")
    batch_sizes: tuple[int, ...] = knob(
        (2, 8, 32, 128, 512), "Batch sizes", choices=BATCH_CHOICES, widget="pills",
        help="One stack per batch size.")
    depths: tuple[int, ...] = knob(
        (2, 4, 6, 8), "Depths (hidden layers)", choices=DEPTH_CHOICES, widget="pills",
        help="One stack of networks per depth: without and with BN, each seed.")
    budget: str = knob("examples", "Budget", choices=("examples", "steps"), widget="radio",
                       labels={"examples": "Equal examples seen", "steps": "Equal steps"},
                       help="Equal examples: each batch size trains examples ÷ m steps (the fair "
                       "comparison). Equal steps: larger batches see more data.")
    examples: int = knob(6400, "Examples seen per network", lo=100, hi=100_000,
                         labels=lambda v: f"{v:,}",
                         ladder=(100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200),
                         help="With the equal-examples budget (1,437 digits = one epoch).")

    EXPERIMENTS = EXPERIMENTS
    RELEVANT = {
        "placement": ("dataset", "activations", "depth", "width", "seeds", "seed", "steps", "lr",
                      "batch_size", "init_scale", "optimizer", "target"),
        "lr": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
               "batch_size", "init_scale", "optimizer", "target", "lr_min", "lr_max", "points"),
        "init": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                 "lr", "batch_size", "optimizer", "target", "init_min", "init_max", "points"),
        "batch": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                  "lr", "init_scale", "optimizer", "target", "batch_sizes", "budget", "examples"),
        "depth": ("dataset", "activation", "placement", "depths", "width", "seeds", "seed",
                  "steps", "lr", "batch_size", "init_scale", "optimizer", "target"),
    }

    def check(self) -> None:
        """The rules between knobs."""
        if len(set(self.activations)) != len(self.activations):
            raise self.broken("activations", "each at most once", repr(self.activations))
        if list(self.batch_sizes) != sorted(set(self.batch_sizes)):
            raise self.broken("batch_sizes", "increasing sizes, each once", repr(self.batch_sizes))
        if list(self.depths) != sorted(set(self.depths)):
            raise self.broken("depths", "increasing depths, each once", repr(self.depths))
        if self.experiment == "depth" and max(self.depths) < 2:
            raise self.broken("depths", "at least one depth of 2 or more hidden layers (a trend "
                              "across layers needs two)", repr(self.depths))
        if self.lr_min >= self.lr_max:
            raise self.broken("lr_min", f"less than lr_max ({self.lr_max:g})", f"{self.lr_min:g}",
                              said=f"the lowest less than the highest ({self.lr_max:g})")
        if self.init_min >= self.init_max:
            raise self.broken("init_min", f"less than init_max ({self.init_max:g})",
                              f"{self.init_min:g}",
                              said=f"the lowest less than the highest ({self.init_max:g})")

    @classmethod
    def default(cls, experiment: str = "placement") -> "SweepConfig":
        """Each experiment's defaults: sized to run in seconds, and to show the effect."""
        return cls(experiment=experiment, **_DEFAULTS.get(experiment, {}))

    # -- the URL: the experiment, and its relevant knobs that differ from its defaults ----------

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> "SweepConfig":
        """Strict: from a flat dict of strings (as `to_dict` or `to_query` writes); missing knobs
        take the experiment's defaults; the first invalid or unknown value raises."""
        values = dict(values)
        experiment = cls.control("experiment").parse(values.pop("exp", values.pop("experiment",
                                                                                  "placement")))
        return cls.default(experiment).replace(
            **{name: cls.control(name).parse(text) for name, text in values.items()})

    # -- what the sweep trains ----------------------------------------------------------------

    @property
    def networks(self) -> list[str]:
        """The placements compared."""
        return ["none", "before", "after"] if self.experiment == "placement" \
            else ["none", self.placement]

    @property
    def settings(self) -> list[float]:
        """The swept values: learning rates, init scales, batch sizes or depths (placement:
        none)."""
        if self.experiment == "lr":
            return log_grid(self.lr_min, self.lr_max, self.points)
        if self.experiment == "init":
            return log_grid(self.init_min, self.init_max, self.points)
        if self.experiment == "batch":
            return [float(b) for b in self.batch_sizes]
        if self.experiment == "depth":
            return [float(d) for d in self.depths]
        return []

    def hidden_for(self, setting: float) -> tuple[int, ...]:
        """The hidden layers of the networks at this setting: (width,) × depth, the depth being
        the setting itself in the depth experiment."""
        depth = int(setting) if self.experiment == "depth" else int(self.depth)
        return (int(self.width),) * depth

    def steps_for(self, batch_size: int) -> int:
        """Optimizer steps of the networks with this batch size: `steps`, or for the batch
        experiment with budget "examples", round(examples / batch_size) (at least 1)."""
        if self.experiment == "batch" and self.budget == "examples":
            return max(1, round(int(self.examples) / int(batch_size)))
        return int(self.steps)

    def record_every_for(self, batch_size: int) -> int:
        return max(1, self.steps_for(batch_size) // CURVE_POINTS)

    @property
    def record_every(self) -> int:
        return self.record_every_for(self.batch_size)


_DEFAULTS = {
    "placement": dict(seeds=10, steps=500, lr=0.5),
    "lr": dict(seeds=10, steps=300, depth=3, lr_min=1e-3, lr_max=10.0, points=9),
    "init": dict(seeds=10, steps=300, lr=0.5, init_min=1e-4, init_max=1.0, points=9),
    "batch": dict(seeds=10, steps=300, activation="relu", lr=0.1,
                  batch_sizes=(2, 4, 8, 16, 64, 256), budget="examples", examples=6400),
    # 4 stacks of 20 networks, 300 steps: ≈ 20–26 s on the project's busy 2-core machine
    # (benchmarks/bench_sweep.py --depth); 10 seeds: what its family of 22 tests needs
    "depth": dict(seeds=10, steps=300, depths=(2, 4, 6, 8), width=64, lr=0.5),
}
