"""The lesson's knobs, declared once (bn_core.controls): one config for its three experiments,
each with its own defaults and its own relevant knobs; the URL holds the experiment as `exp` and
its relevant knobs that differ from its defaults (as bn_core.experiments.config does).

    regular   no BN / dropout / BN / dropout + BN on a small training set, at several batch sizes
    shift     dropout before BN (Li et al. 2019): the variance shift, and its two fixes
    batch     BN, Batch Renorm, LayerNorm, GroupNorm, RMSNorm (and none) across batch sizes 2 … 32
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_core.controls import ExperimentConfig, knob
from bn_core.engine import ACTIVATIONS

__all__ = ["NormsConfig", "EXPERIMENTS", "EXPERIMENT_LABELS", "NORM_CHOICES", "NORM_LABELS",
           "REGULARISERS", "REGULARISER_LABELS", "SHIFT_LABELS", "GROUP_LABELS", "BATCH_CHOICES",
           "LR_BATCH"]

EXPERIMENTS = ("regular", "shift", "batch")
EXPERIMENT_LABELS = {"regular": "BN as a regulariser", "shift": "Dropout before BN",
                     "batch": "Alternatives across batch sizes"}
NORM_CHOICES = ("none", "batch", "renorm", "layer", "group", "rms")
NORM_LABELS = {"none": "no normalisation", "batch": "BatchNorm", "renorm": "Batch Renorm",
               "layer": "LayerNorm", "group": "GroupNorm", "rms": "RMSNorm"}
REGULARISERS = ("none", "dropout", "bn", "bn_dropout")
REGULARISER_LABELS = {"none": "neither", "dropout": "dropout", "bn": "BN",
                      "bn_dropout": "BN + dropout"}
SHIFT_LABELS = {"all": "dropout before every BN", "last": "dropout only after the last BN",
                "recomputed": "dropout before every BN, statistics recomputed"}
GROUP_LABELS = {"regular": REGULARISER_LABELS, "shift": SHIFT_LABELS, "batch": NORM_LABELS}
BATCH_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256)
LR_BATCH = 32              # the learning rate is given for this batch size (scaled linearly)
TRAIN_SIZES = (100, 200, 300, 500, 1000, 1437)


@dataclass(frozen=True)
class NormsConfig(ExperimentConfig):
    """Every knob of one experiment (`RELEVANT` says which matter to which); `default(exp)`
    gives each experiment's defaults, sized to run in about 20 s here."""

    experiment: str = knob("regular", "Experiment", choices=EXPERIMENTS, url="exp",
                           widget="radio", labels=EXPERIMENT_LABELS,
                           help="Each experiment keeps its own settings; the URL holds the one "
                           "shown.")
    batch_sizes: tuple[int, ...] = knob(
        (8, 32, 128), "Batch sizes", choices=BATCH_CHOICES, widget="pills",
        help="One stack of networks per batch size.")
    norms: tuple[str, ...] = knob(
        NORM_CHOICES, "Normalisers", choices=NORM_CHOICES, widget="pills", labels=NORM_LABELS,
        help="Each one in BN's place, before the activation; 'no normalisation' as a baseline.")
    seeds: int = knob(5, "Seeds per network", lo=1, hi=10, widget="slider",
                      help="Networks per setting, from seeds s, s+1, …: different initial weights, "
                      "mini-batch orders and dropout masks.")
    groups: int = knob(8, "GroupNorm groups", lo=1, hi=256,
                       ladder=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                       help="Groups of consecutive units that share a mean and variance: 1 is "
                       "LayerNorm; as many as units leaves one unit per group (xhat = 0: nothing "
                       "passes). Must divide the width.")
    dropout: float = knob(0.5, "Dropout probability p", lo=0.05, hi=0.9,
                          ladder=(0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
                          help="The chance that a unit is dropped (inverted dropout: kept ones "
                          "are scaled by 1/(1 − p) in training; nothing happens in eval mode).")
    train_size: int = knob(300, "Training examples", lo=50, hi=1437, ladder=TRAIN_SIZES,
                           labels=lambda v: f"{v:,}",
                           help="A small, class-balanced part of the digits' 1,437 training "
                           "examples (the same part for every network): small, so that the "
                           "networks can overfit it.")
    epochs: int = knob(100, "Epochs", lo=1, hi=500, ladder=(10, 25, 50, 100, 200, 300, 500),
                       help="Passes over the training set: every batch size sees the same "
                       "examples equally often (so larger batches take fewer steps).")
    examples: int = knob(4800, "Examples seen per network", lo=200, hi=51_200,
                         ladder=(800, 1600, 3200, 4800, 6400, 12_800, 25_600, 51_200),
                         labels=lambda v: f"{v:,}",
                         help="Every batch size trains examples ÷ batch size steps (1,437 digits "
                         "= one epoch).")
    steps: int = knob(1500, "Training steps", lo=10, hi=10_000,
                      ladder=(100, 300, 500, 1000, 1500, 2000, 3000, 5000))
    batch_size: int = knob(32, "Batch size", lo=2, hi=512, ladder=(8, 16, 32, 64, 128, 256))
    lr: float = knob(0.1, f"Learning rate (at batch {LR_BATCH})", lo=1e-3, hi=2.0,
                     ladder=(0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
                     labels=lambda v: f"{v:g}",
                     help=f"SGD's step size for a batch of {LR_BATCH}; with 'scale' on, batch "
                     f"size m uses lr × m/{LR_BATCH} (the linear scaling rule, as Wu & He "
                     f"train), so that equal epochs move the weights about equally.")
    scale_lr: bool = knob(True, "Scale lr with the batch",
                          help=f"lr × batch size / {LR_BATCH}. Off: every batch size uses lr.")
    depth: int = knob(2, "Hidden layers", lo=1, hi=6, widget="slider")
    width: int = knob(64, "Units per layer", lo=8, hi=256, ladder=(8, 16, 32, 64, 128, 256))
    activation: str = knob("relu", "Activation", choices=ACTIVATIONS,
                           labels={"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"})
    seed: int = knob(0, "First seed", lo=0, hi=2**31 - 1, widget="number")

    EXPERIMENTS = EXPERIMENTS
    RELEVANT = {
        "regular": ("batch_sizes", "seeds", "dropout", "train_size", "epochs", "lr", "scale_lr",
                    "depth", "width", "activation", "seed"),
        "shift": ("seeds", "dropout", "steps", "batch_size", "lr", "depth", "width",
                  "activation", "seed"),
        "batch": ("batch_sizes", "norms", "seeds", "groups", "examples", "lr", "scale_lr",
                  "depth", "width", "activation", "seed"),
    }

    def check(self) -> None:
        """The rules between knobs."""
        if list(self.batch_sizes) != sorted(set(self.batch_sizes)):
            raise self.broken("batch_sizes", "increasing sizes, each once", repr(self.batch_sizes))
        if len(set(self.norms)) != len(self.norms):
            raise self.broken("norms", "each at most once", repr(self.norms))
        if self.experiment == "batch" and "group" in self.norms and self.width % self.groups:
            raise self.broken("groups", f"a divisor of the width ({self.width})", self.groups,
                              said=f"a divisor of the units per layer ({self.width})")
        if self.experiment == "regular" and max(self.batch_sizes) > self.train_size:
            raise self.broken("batch_sizes", f"at most the {self.train_size} training examples",
                              max(self.batch_sizes))
        if self.experiment == "shift" and self.depth < 2:
            raise self.broken("depth", "at least 2 hidden layers (a BN must come after a "
                              "dropout)", 1)

    @classmethod
    def default(cls, experiment: str = "regular") -> "NormsConfig":
        return cls(experiment=experiment, **_DEFAULTS.get(experiment, {}))

    # -- the URL: the experiment, and its relevant knobs that differ from its defaults ----------

    # -- what the experiment trains --------------------------------------------------------------

    def lr_for(self, batch_size: int) -> float:
        """The learning rate of the networks with this batch size (see `scale_lr`)."""
        if self.scale_lr and self.experiment != "shift":
            return float(self.lr) * int(batch_size) / LR_BATCH
        return float(self.lr)

    def steps_for(self, batch_size: int, n_train: int) -> int:
        """Optimizer steps at this batch size: equal epochs (regular), equal examples (batch),
        `steps` (shift); at least 1."""
        if self.experiment == "regular":
            return max(1, round(int(self.epochs) * n_train / int(batch_size)))
        if self.experiment == "batch":
            return max(1, round(int(self.examples) / int(batch_size)))
        return int(self.steps)


_DEFAULTS = {
    "regular": dict(batch_sizes=(8, 32, 128), seeds=10, dropout=0.5, train_size=300, epochs=100,
                    depth=2, width=64),
    "shift": dict(seeds=10, dropout=0.5, steps=1500, batch_size=32, depth=3, width=64),
    "batch": dict(batch_sizes=(2, 4, 8, 16, 32), seeds=10, examples=4800, depth=2, width=64,
                  groups=8),
}
