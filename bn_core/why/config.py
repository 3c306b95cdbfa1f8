"""The knobs of the "Why does BN work?" lesson, declared once (bn_core.controls): one config for
its four experiments, each with its own defaults and its own relevant knobs; the URL holds the
experiment as `exp` and its relevant knobs that differ from its defaults (as the experiments
page does, bn_core.experiments.config).

    noise       three networks: without BN, with BN, with noisy BN (noise after every BN)
    ics         internal covariate shift as Santurkar et al. measure it: G and G′ per layer;
                on the dataset's MLP, or on their deep linear network (network = "linear")
    landscape   the loss and the gradient along the gradient, with and without BN
    scale       scale invariance: ‖W‖ over training under weight decay, and W × 10
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bn_core.controls import ExperimentConfig, knob
from bn_core.engine import ACTIVATIONS

__all__ = [
    "DATASETS",
    "DECAY_CHOICES",
    "DECAY_KIND",
    "EXPERIMENTS",
    "EXPERIMENT_LABELS",
    "NETWORK_CHOICES",
    "SCALE_FACTOR",
    "WhyConfig",
    "decay_index",
    "decay_kind",
]

EXPERIMENTS = ("noise", "ics", "landscape", "scale")
EXPERIMENT_LABELS = {"noise": "1 · Noisy BN", "ics": "2 · Internal covariate shift",
                     "landscape": "3 · Loss landscape", "scale": "4 · Scale invariance"}
DATASETS = ("digits", "moons", "circles", "spiral", "xor")       # mnist: too big to be live here
NETWORK_CHOICES = ("mlp", "linear")
DECAY_CHOICES = (0.0, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2)
SCALE_FACTOR = 10.0              # "multiply W by 10"
DECAY_KIND = "wd"                # the scale experiment's kinds: "wd0", "wd1", … (a decay each)


def decay_kind(i: int) -> str:
    """The kind of network trained with the i-th weight decay of `decays`."""
    return f"{DECAY_KIND}{i}"


def decay_index(kind: str) -> int | None:
    """Which of `decays` a kind trains with: "wd2" → 2; W × 10 with the first (0); None for the
    kinds without weight decay."""
    if kind == "x10":
        return 0
    return int(kind.removeprefix(DECAY_KIND)) if kind.startswith(DECAY_KIND) else None
LR_LADDER = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


def _g(v) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class WhyConfig(ExperimentConfig):
    """Every knob of one experiment (`relevant` says which matter to it); `default(experiment)`
    gives each experiment's defaults, sized to run in well under 30 s here."""

    experiment: str = knob("noise", "Experiment", choices=EXPERIMENTS, url="exp", widget="radio",
                           labels=EXPERIMENT_LABELS,
                           help="Each experiment keeps its own settings; the URL holds the one "
                           "shown.")
    network: str = knob("mlp", "Network", choices=NETWORK_CHOICES, widget="radio",
                        labels={"mlp": "the MLP on the dataset",
                                "linear": "a deep linear network (the paper's DLN)"},
                        help="The deep linear network: no nonlinearity, one regression problem "
                        "y = A·x, trained on all its examples at once (full batch), as in the "
                        "paper's appendix A.1.")
    dataset: str = knob("digits", "Dataset", choices=DATASETS,
                        help="digits: 8×8 handwritten digits (64 features, 10 classes); the "
                        "others are 2-D toy problems.")
    activation: str = knob("sigmoid", "Activation", choices=ACTIVATIONS,
                           labels={"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU"})
    depth: int = knob(3, "Hidden layers", lo=1, hi=8, widget="slider")
    width: int = knob(64, "Units per layer", lo=4, hi=256,
                      ladder=(4, 8, 16, 32, 64, 100, 128, 256))
    seeds: int = knob(5, "Seeds", lo=1, hi=10, widget="slider",
                      help="Networks of each kind, from seeds s, s+1, …: different initial "
                      "weights and mini-batch orders. The verdict pairs them by seed.")
    seed: int = knob(0, "First seed", lo=0, hi=2**31 - 1, widget="number")
    steps: int = knob(500, "Training steps", lo=10, hi=5000,
                      ladder=(10, 50, 100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000))
    lr: float = knob(0.5, "Learning rate", lo=1e-4, hi=10.0, ladder=LR_LADDER, labels=_g,
                     help="Plain SGD, as in the paper.")
    batch_size: int = knob(60, "Batch size", lo=2, hi=512,
                           ladder=(2, 4, 8, 16, 32, 60, 64, 128, 256, 512))
    noise: float = knob(1.0, "Noise strength", lo=0.0, hi=5.0,
                        ladder=(0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0),
                        labels=lambda v: f"×{v:g}" + (" (the paper's)" if v == 1 else ""),
                        help="Scales the noise distributions: ×1 is the paper's, ×0 is plain "
                        "BN.")
    checks: int = knob(20, "Measurements over training", lo=4, hi=50, widget="slider",
                       help="At how many evenly spaced steps (and at step 0) the probe is run. "
                       "Each costs a few extra forward and backward passes.")
    points: int = knob(8, "Step sizes per measurement", lo=3, hi=12, widget="slider",
                       help="Steps of 0.5 … 4 × the learning rate along the gradient, evenly "
                       "spaced on a log scale (the paper's range, appendix A.2.2).")
    dln_depth: int = knob(25, "Layers of the linear network", lo=3, hi=30, widget="slider",
                          help="The paper's DLN has 25 layers of 10 × 10 weights.")
    dln_lr: float = knob(0.001, "Learning rate (linear network)", lo=1e-4, hi=1.0,
                         ladder=(1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.03, 0.05, 0.1, 0.3, 1.0),
                         labels=_g, help="Full-batch gradient descent on the mean squared error.")
    dln_steps: int = knob(500, "Training steps (linear network)", lo=10, hi=5000,
                          ladder=(10, 100, 200, 500, 1000, 2000, 3000, 5000))
    decays: tuple[float, ...] = knob(
        (0.0, 5e-4, 5e-3), "Weight decays", choices=DECAY_CHOICES, widget="pills", labels=_g,
        help="One BN network per weight decay (L2 on every parameter, as torch.optim's "
        "weight_decay) and seed.")
    multiply: bool = knob(False, "W × 10 copies", url="x10",
                          help="Also train a copy of the first weight decay's networks whose "
                          "hidden weight matrices start 10 times larger.")

    def check(self) -> None:
        if self.experiment == "ics" and self.network == "mlp" and self.depth < 2:
            raise self.broken("depth", "at least 2 hidden layers for G′ (the first layer has no "
                              "layers before it)", 1)
        if list(self.decays) != sorted(set(self.decays)):
            raise self.broken("decays", "increasing values, each once", repr(self.decays),
                              "increasing values, each once (no decay chosen twice)")

    EXPERIMENTS = EXPERIMENTS

    @classmethod
    def default(cls, experiment: str = "noise") -> WhyConfig:
        """Each experiment's defaults: sized to run in seconds, and to show the effect."""
        return cls(experiment=experiment, **_DEFAULTS.get(experiment, {}))

    @property
    def relevant(self) -> tuple[str, ...]:
        """The knobs this experiment uses (the ICS experiment's depend on its network)."""
        if self.experiment == "ics" and self.network == "linear":
            return ("network", "seeds", "seed", "checks", "dln_depth", "dln_lr", "dln_steps")
        mlp = ("dataset", "activation", "depth", "width", "seeds", "seed", "steps", "lr",
               "batch_size")
        return {"noise": ("noise",) + mlp, "ics": ("network",) + mlp + ("checks",),
                "landscape": mlp + ("checks", "points"),
                "scale": mlp + ("decays", "multiply")}[self.experiment]

    # -- the URL: the experiment, and its relevant knobs that differ from its defaults ---------

    @classmethod
    def query_base(cls, experiment: str, values: Mapping[str, object]) -> WhyConfig:
        """The ICS experiment's knobs depend on its network: take the link's first."""
        base = cls.default(experiment)
        if "network" in values and experiment == "ics":
            try:
                base = base.replace(network=cls.control("network").parse(values["network"]))
            except ValueError:
                pass                                     # said with the others
        return base

    # -- what the experiment trains -------------------------------------------------------------

    @property
    def kinds(self) -> list[str]:
        """The kinds of network compared, in the stack's order (placements kept contiguous)."""
        if self.experiment == "noise":
            return ["none", "before", "noisy"]
        if self.experiment == "scale":
            decays = [decay_kind(i) for i in range(len(self.decays))]
            return decays + (["x10"] if self.multiply else [])
        return ["none", "before"]

    @property
    def train_steps(self) -> int:
        return int(self.dln_steps if self.experiment == "ics" and self.network == "linear"
                   else self.steps)


_DEFAULTS = {
    "noise": dict(seeds=10, steps=500, lr=0.5, depth=3),
    "ics": dict(seeds=10, steps=500, lr=0.1, depth=8, activation="relu", checks=20),
    "landscape": dict(seeds=10, steps=500, lr=0.1, depth=8, activation="relu", checks=20,
                      points=8),
    "scale": dict(seeds=10, steps=1500, lr=1.0, depth=3, activation="relu"),
}
