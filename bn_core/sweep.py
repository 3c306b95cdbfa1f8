"""Experiments across seeds: many networks of one shape trained at once, and what the data say.

    config = SweepConfig.default("lr")            # every knob; also the page's URL query
    result = run_sweep(config, progress=print)    # all seeds × settings, batched
    verdict(result)                               # plain-language conclusions with uncertainty
    figure(result); result.summary_frame()        # plotly figure, tidy table (CSV)

The four experiments (`EXPERIMENTS`):

    placement   BN none / before / after the activation, for each chosen activation
    lr          a log-spaced learning-rate grid, without BN and with BN
    init        a log-spaced grid of the initial weights' Gaussian std, without and with BN
    batch       batch sizes 2 … 512, without and with BN; BN's train- vs eval-mode accuracy

Batching. The networks of a sweep that share an activation and a batch size are trained together
in one `bn_core.engine.Stack` (K = settings × seeds networks in lockstep, batched products); a
batch-size sweep needs one stack per batch size (N differs). Network k has its own `NetSpec`
(placement, lr, init_scale, seed) and its own mini-batches: `BatchOrder(n_train, batch_size,
seed_k)`, exactly what a single `bn_core.trainer.Run` with that seed draws. So every network of a
sweep is the same network, step for step, as `Run(config with its seed, lr…, networks=[placement])`
(`tests/test_sweep.py` checks it; `run_sweep(config, batched=False)` trains them one by one).

Recorded per network: the test accuracy in eval mode (BN uses its running estimates) every
`record_every` steps, the final accuracy, the first recorded step at which it reaches the target
accuracy, the standard deviation of each hidden layer's activation input (over the N × width
values of one training mini-batch) at step 0 and at the end, and for the batch-size experiment
the test accuracy with BN in training mode (each test mini-batch of the training batch size
normalised with its own statistics). A network whose loss becomes NaN or infinite is stopped
there (`stack.active[k] = False`, as `Run` does) and marked diverged; the others go on.

The verdicts (`bn_core.stats` holds the statistics). Every comparison is paired by seed: the
same seed gives the networks compared the same initial weights and mini-batches (and the eval-
vs training-mode comparison measures one network twice), so each seed gives one difference
d_k, and a paired t-test asks whether their mean is far from 0. Each question a verdict asks
(which placement ends more accurate, at which learning rates BN differs, …) makes several
comparisons at once; Holm's correction across all of them keeps the chance of even one false
"clear" per question ≤ 5%. A difference is called clear where

    |mean d| > t · SE,   SE = sd(d_k)/√n,   t = Student's quantile at 1 − level/2, n − 1 df

with the level Holm assigns (5%/m for the smallest p of m, up to 5%); seeds that all agree
(SE = 0) count only for a gap of more than one test example. With one seed nothing is tested.
A diverged run counts with chance accuracy (1 / classes), except in the eval- vs training-mode
comparison, which leaves it out (a diverged network has neither accuracy).

Ranges (lr, init): the widest run of grid points whose median accuracy over seeds reaches the
target. A range that ends at the grid's end is a lower bound ("at least"); an end next to a
setting that was still learning when the steps ran out is set by the step budget and the
target, not by a failure to train; the verdict says which.

Budget (batch): by default every batch size sees the same number of training examples
(`examples`; steps = examples / m), so a comparison does not mix batch size with the amount of
training; `budget="steps"` trains each the same number of steps instead.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from bn_core.data import load_dataset
from bn_core.engine import OPTIMIZERS, NetSpec, Stack
from bn_core.layers import ACTIVATIONS
from bn_core.stats import (ALPHA, Ranking, Summary, Test, critical_t, holm, paired_test, rank,
                           separated, summarize, t_critical)
from bn_core.trainer import NETWORK_LABELS, BatchOrder, parse_field

__all__ = [
    "EXPERIMENTS", "EXPERIMENT_LABELS", "SWEEP_DATASETS", "BATCH_CHOICES", "COLORS", "ACTIVATION_NAMES",
    "SweepConfig", "Member", "NetworkResult", "SweepResult", "Summary", "Ranking", "Verdict",
    "plan", "work", "check", "train_stack", "run_sweep", "log_grid", "summary_table",
    "summarize", "separated", "critical_t", "rank", "trainable_range", "range_ends",
    "describe_range", "RULE", "rule", "few_seeds", "setting_tests", "placement_tests",
    "budget_sentence", "verdict", "placement_verdict", "lr_verdict", "init_verdict", "batch_verdict",
    "figure", "placement_figure", "placement_final_figure", "lr_figure", "init_figure",
    "batch_figure",
]

EXPERIMENTS = ("placement", "lr", "init", "batch")
EXPERIMENT_LABELS = {
    "placement": "Where to put BN",
    "lr": "Learning rate",
    "init": "Initialisation scale",
    "batch": "Batch size",
}
SWEEP_DATASETS = ("digits", "moons", "circles", "spiral", "xor")   # mnist: too big for sweeps
BATCH_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
MAX_WORK = 1.5e11          # multiply-adds of one sweep (≈ 3× the largest default), see `work`
MAX_STEPS = 25_000         # optimizer steps of one sweep, summed over its stacks (batch experiment)
CURVE_POINTS = 50          # test accuracy recorded about this many times per network
ENOUGH_SEEDS = 5           # fewer: the page says why little can be clear
BN_EPS, BN_MOMENTUM = 1e-5, 0.1

# The networks' colours, as in the lab (Okabe–Ito, safe for colour-blind readers).
COLORS = {"none": "#D55E00", "before": "#0072B2", "after": "#009E73"}
FILLS = {"none": "rgba(213,94,0,0.18)", "before": "rgba(0,114,178,0.18)",
         "after": "rgba(0,158,115,0.18)"}
TRAIN_MODE_COLOR = "#CC79A7"          # BN evaluated in training mode (Okabe–Ito purple)
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)


ACTIVATION_NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}


def label(placement: str) -> str:
    """'none' → 'without BN', 'before' → 'BN before activation', …"""
    return NETWORK_LABELS.get(placement, placement)


def log_grid(lo: float, hi: float, points: int) -> list[float]:
    """`points` values from lo to hi, evenly spaced in log scale, rounded to 3 significant digits
    (so they read well and survive a URL): log_grid(1e-3, 10, 9) = [0.001, 0.00316, 0.01, …, 10]."""
    if points == 1:
        return [float(lo)]
    values = np.logspace(math.log10(lo), math.log10(hi), int(points))
    return [float(f"{v:.3g}") for v in values]


# ----------------------------------------------------------------------------- config

@dataclass(frozen=True)
class SweepConfig:
    """Every knob of one experiment; invalid values raise ValueError naming the field.

    Which fields matter depends on the experiment (`RELEVANT`); `default(experiment)` gives each
    experiment's defaults, sized to run in seconds.
    """

    experiment: str = "placement"                 # placement | lr | init | batch
    dataset: str = "digits"
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")   # placement experiment
    activation: str = "sigmoid"                   # lr, init and batch experiments
    placement: str = "before"                     # the BN network beside the plain one (lr, init, batch)
    depth: int = 3
    width: int = 64
    seeds: int = 5                                # networks per setting: seeds seed, seed + 1, …
    seed: int = 0
    steps: int = 500
    lr: float = 0.5
    batch_size: int = 60
    init_scale: float | None = None               # Gaussian std of the initial weights; None: 1/√fan_in
    optimizer: str = "sgd"
    target: float = 0.9                           # test accuracy that counts as "trained"
    lr_min: float = 1e-3                          # lr experiment: the grid
    lr_max: float = 10.0
    init_min: float = 1e-4                        # init experiment: the grid
    init_max: float = 1.0
    points: int = 9                               # grid points (lr, init)
    batch_sizes: tuple[int, ...] = (2, 8, 32, 128, 512)
    budget: str = "examples"                      # batch experiment: equal "examples" or "steps"
    examples: int = 6400                          # … training examples each network sees

    RANGES = {
        "depth": (1, 8), "width": (4, 256), "seeds": (1, 10), "seed": (0, 2**31 - 1),
        "steps": (10, 5000), "lr": (1e-4, 10.0), "batch_size": (2, 512),
        "init_scale": (1e-4, 10.0), "target": (0.05, 1.0), "lr_min": (1e-4, 10.0),
        "lr_max": (1e-4, 10.0), "init_min": (1e-5, 10.0), "init_max": (1e-5, 10.0),
        "points": (2, 13), "examples": (100, 100_000),
    }
    CHOICES = {"experiment": EXPERIMENTS, "dataset": SWEEP_DATASETS, "activation": ACTIVATIONS,
               "placement": ("before", "after"), "optimizer": OPTIMIZERS,
               "budget": ("examples", "steps")}
    RELEVANT = {
        "placement": ("dataset", "activations", "depth", "width", "seeds", "seed", "steps", "lr",
                      "batch_size", "init_scale", "optimizer", "target"),
        "lr": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
               "batch_size", "init_scale", "optimizer", "target", "lr_min", "lr_max", "points"),
        "init": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                 "lr", "batch_size", "optimizer", "target", "init_min", "init_max", "points"),
        "batch": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                  "lr", "init_scale", "optimizer", "target", "batch_sizes", "budget", "examples"),
    }
    URL_KEY = "exp"                               # the experiment's name in the URL query

    def __post_init__(self):
        for name, choices in self.CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        for name, (lo, hi) in self.RANGES.items():
            value = getattr(self, name)
            if value is None and name == "init_scale":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}: expected a number, got {value!r}")
            if isinstance(lo, int) and isinstance(hi, int) and not float(value).is_integer():
                raise ValueError(f"{name}: expected a whole number, got {value!r}")
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name}: expected a value from {lo:g} to {hi:g}, got {value!r}")
        acts = self.activations
        if not isinstance(acts, tuple) or not acts or any(a not in ACTIVATIONS for a in acts):
            raise ValueError(f"activations: expected one or more of {', '.join(ACTIVATIONS)}, "
                             f"got {acts!r}")
        if len(set(acts)) != len(acts):
            raise ValueError(f"activations: expected each at most once, got {acts!r}")
        sizes = self.batch_sizes
        if not isinstance(sizes, tuple) or not sizes or any(b not in BATCH_CHOICES for b in sizes):
            raise ValueError(f"batch_sizes: expected one or more of "
                             f"{', '.join(map(str, BATCH_CHOICES))}, got {sizes!r}")
        if list(sizes) != sorted(set(sizes)):
            raise ValueError(f"batch_sizes: expected increasing sizes, each once, got {sizes!r}")
        if self.lr_min >= self.lr_max:
            raise ValueError(f"lr_min: expected less than lr_max ({self.lr_max:g}), got {self.lr_min:g}")
        if self.init_min >= self.init_max:
            raise ValueError(f"init_min: expected less than init_max ({self.init_max:g}), "
                             f"got {self.init_min:g}")

    # -- construction -----------------------------------------------------------

    @classmethod
    def default(cls, experiment: str = "placement") -> "SweepConfig":
        """Each experiment's defaults: sized to run in seconds, and to show the effect."""
        return cls(experiment=experiment, **_DEFAULTS.get(experiment, {}))

    def replace(self, **changes) -> "SweepConfig":
        return dataclasses.replace(self, **changes)

    # -- settings ---------------------------------------------------------------

    @property
    def hidden(self) -> tuple[int, ...]:
        return (int(self.width),) * int(self.depth)

    @property
    def seed_list(self) -> list[int]:
        return [int(self.seed) + i for i in range(int(self.seeds))]

    @property
    def networks(self) -> list[str]:
        """The placements compared."""
        return ["none", "before", "after"] if self.experiment == "placement" else ["none", self.placement]

    @property
    def settings(self) -> list[float]:
        """The swept values: learning rates, init scales or batch sizes (placement: none)."""
        if self.experiment == "lr":
            return log_grid(self.lr_min, self.lr_max, self.points)
        if self.experiment == "init":
            return log_grid(self.init_min, self.init_max, self.points)
        if self.experiment == "batch":
            return [float(b) for b in self.batch_sizes]
        return []

    @property
    def record_every(self) -> int:
        return max(1, int(self.steps) // CURVE_POINTS)

    def steps_for(self, batch_size: int) -> int:
        """Optimizer steps of the networks with this batch size: `steps`, or for the batch
        experiment with budget "examples", round(examples / batch_size) (at least 1)."""
        if self.experiment == "batch" and self.budget == "examples":
            return max(1, round(int(self.examples) / int(batch_size)))
        return int(self.steps)

    def record_every_for(self, batch_size: int) -> int:
        return max(1, self.steps_for(batch_size) // CURVE_POINTS)

    # -- strings (URL) ------------------------------------------------------------

    def to_dict(self, fields: Iterable[str] | None = None) -> dict[str, str]:
        """A flat dict of strings: tuples comma-separated, None as 'none', the experiment as 'exp'."""
        names = [f.name for f in dataclasses.fields(self)] if fields is None else list(fields)
        out = {}
        for name in names:
            value = getattr(self, name)
            if value is None:
                text = "none"
            elif isinstance(value, tuple):
                text = ",".join(str(v) for v in value)
            elif isinstance(value, float):
                text = f"{value:g}" if float(f"{value:g}") == value else repr(value)
            else:
                text = str(value)
            out[self.URL_KEY if name == "experiment" else name] = text
        return out

    def to_query(self) -> dict[str, str]:
        """The URL query: `exp`, then the experiment's fields that differ from its defaults."""
        default = SweepConfig.default(self.experiment).to_dict(self.RELEVANT[self.experiment])
        mine = self.to_dict(self.RELEVANT[self.experiment])
        return {self.URL_KEY: self.experiment, **{k: v for k, v in mine.items() if default[k] != v}}

    @classmethod
    def _parse(cls, name: str, text) -> object:
        ftype = {f.name: f.type for f in dataclasses.fields(cls)}[name]
        if name == "activations":
            return tuple(t.strip().lower() for t in str(text).split(",") if t.strip())
        if name == "batch_sizes":
            try:
                return tuple(int(float(t)) for t in str(text).split(",") if t.strip())
            except ValueError:
                raise ValueError(f"{name}: expected whole numbers separated by commas, "
                                 f"got {str(text).strip()!r}") from None
        return parse_field(name, ftype, text, optional=("init_scale",))

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> "SweepConfig":
        """Strict: from a flat dict of strings (as `to_dict` writes); the first invalid or unknown
        value raises ValueError naming it. Missing fields take the experiment's defaults."""
        values = dict(values)
        experiment = str(values.pop(cls.URL_KEY, values.pop("experiment", "placement"))).strip().lower()
        if experiment not in EXPERIMENTS:
            raise ValueError(f"{cls.URL_KEY}: expected one of {', '.join(EXPERIMENTS)}, got {experiment!r}")
        names = {f.name for f in dataclasses.fields(cls)} - {"experiment"}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown parameter; expected one of {', '.join(sorted(names))}")
        return cls.default(experiment).replace(**{k: cls._parse(k, v) for k, v in values.items()})

    @classmethod
    def from_query(cls, values: Mapping[str, object]) -> tuple["SweepConfig", list[str]]:
        """Lenient, for a URL: starts from the experiment's defaults; each invalid, unknown or
        irrelevant value is skipped with a message. Returns (config, problems)."""
        values = dict(values)
        problems = []
        experiment = str(values.pop(cls.URL_KEY, "placement")).strip().lower()
        if experiment not in EXPERIMENTS:
            problems.append(f"{cls.URL_KEY}: expected one of {', '.join(EXPERIMENTS)}, got "
                            f"{experiment!r}; showing 'placement'")
            experiment = "placement"
        config = cls.default(experiment)
        for name, text in values.items():
            if name not in cls.RELEVANT[experiment]:
                problems.append(f"{name}: not a setting of this experiment, ignored")
                continue
            try:
                config = dataclasses.replace(config, **{name: cls._parse(name, text)})
            except ValueError as exc:
                default = config.to_dict((name,))[name]
                problems.append(f"{exc}; using {default}")
        return config, problems


_DEFAULTS = {
    "placement": dict(seeds=5, steps=500, lr=0.5),
    "lr": dict(seeds=3, steps=300, depth=3, lr_min=1e-3, lr_max=10.0, points=9),
    "init": dict(seeds=3, steps=300, lr=0.5, init_min=1e-4, init_max=1.0, points=9),
    "batch": dict(seeds=3, steps=300, activation="relu", lr=0.1,
                  batch_sizes=(2, 4, 8, 16, 64, 256), budget="examples", examples=6400),
}


# ----------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class Member:
    """One network of a sweep."""

    group: str            # its activation (placement experiment) or "" (the others)
    placement: str        # none | before | after
    setting: float        # the swept value (lr, init scale or batch size); nan: placement
    seed: int


def _spec(config: SweepConfig, m: Member) -> NetSpec:
    lr = m.setting if config.experiment == "lr" else config.lr
    init = m.setting if config.experiment == "init" else config.init_scale
    return NetSpec(m.placement, float(lr), BN_EPS, BN_MOMENTUM, init, int(m.seed))


def plan(config: SweepConfig) -> list[tuple[str, int, list[Member]]]:
    """The stacks of a sweep: (activation, batch_size, members) for each; within a stack the
    members are grouped by placement (the engine selects BN by contiguous slices of K)."""
    seeds = config.seed_list
    if config.experiment == "placement":
        return [(act, config.batch_size,
                 [Member(act, p, math.nan, s) for p in config.networks for s in seeds])
                for act in config.activations]
    if config.experiment == "batch":
        return [(config.activation, int(b),
                 [Member("", p, float(b), s) for p in config.networks for s in seeds])
                for b in config.batch_sizes]
    return [(config.activation, config.batch_size,
             [Member("", p, v, s) for p in config.networks for v in config.settings for s in seeds])]


def work(config: SweepConfig, n_features: int | None = None) -> float:
    """Multiply-adds of a sweep's training, ≈ 3 (forward, two backward products) × steps ×
    networks × batch × weights per network. The default sweeps are 1–2 × 10¹⁰."""
    d_in = n_features or (64 if config.dataset == "digits" else 2)
    classes = 10 if config.dataset == "digits" else 3
    dims = [d_in, *config.hidden, classes]
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    total = 0.0
    for _, batch, members in plan(config):
        total += 3.0 * config.steps_for(batch) * len(members) * batch * weights
    return total


def check(config: SweepConfig, n_features: int | None = None) -> None:
    """Raise ValueError, saying what to reduce, where a sweep is too big to run here."""
    w = work(config, n_features)
    if w > MAX_WORK:
        raise ValueError(
            f"this sweep is {w / MAX_WORK:.1f}× larger than allowed ({len(_all_members(config))} "
            f"networks): use fewer seeds, steps, examples or grid points, or a narrower or "
            f"shallower network"
        )
    steps = sum(config.steps_for(b) for _, b, _ in plan(config))
    if steps > MAX_STEPS:
        raise ValueError(
            f"this sweep takes {steps:,} training steps ({steps / MAX_STEPS:.1f}× more than "
            f"allowed): use fewer examples per network, or leave out the smallest batch sizes"
        )


def _all_members(config: SweepConfig) -> list[Member]:
    return [m for _, _, members in plan(config) for m in members]


# ----------------------------------------------------------------------------- results

@dataclass
class NetworkResult:
    """What one network of a sweep did."""

    member: Member
    steps: np.ndarray                  # (R,) the recorded steps (0, record_every, …, steps)
    test_acc: np.ndarray               # (R,) eval-mode test accuracy; nan once diverged
    final_acc: float                   # at the last step; nan if diverged
    steps_to_target: float             # first recorded step with test_acc ≥ target; nan: never
    diverged_at: int | None            # the step whose loss was NaN or infinite; None: trained
    z_std_start: np.ndarray            # (L,) std of each layer's activation input at step 0
    z_std_end: np.ndarray              # (L,) … after the last step (nan if diverged)
    train_mode_acc: float = math.nan   # batch experiment: test accuracy with BN in training mode

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None


@dataclass
class SweepResult:
    """Every network of one sweep (plain data, picklable for Streamlit's cache)."""

    config: SweepConfig
    networks: list[NetworkResult]
    n_classes: int
    seconds: float = 0.0
    batched: bool = True
    n_test: int = 0                    # test examples; 0: unknown (then no zero-spread gap is clear)
    n_train: int = 0                   # training examples

    @property
    def resolution(self) -> float:
        """One test example, 1/n_test: the smallest gap seeds that all agree can show."""
        return 1.0 / self.n_test if self.n_test else math.inf

    @property
    def chance(self) -> float:
        return 1.0 / self.n_classes

    def select(self, placement: str | None = None, group: str | None = None,
               setting: float | None = None) -> list[NetworkResult]:
        out = []
        for r in self.networks:
            m = r.member
            if placement is not None and m.placement != placement:
                continue
            if group is not None and m.group != group:
                continue
            if setting is not None and not math.isclose(m.setting, setting):
                continue
            out.append(r)
        return out

    def final(self, runs: Sequence[NetworkResult]) -> np.ndarray:
        """Final accuracies, a diverged run counted as chance (1 / classes)."""
        return np.array([self.chance if r.diverged else r.final_acc for r in runs], dtype=float)

    def summary_frame(self):
        """One row per network: its settings and what it reached (the CSV download)."""
        import pandas as pd

        cfg = self.config
        rows = []
        for r in self.networks:
            m = r.member
            row = {"experiment": cfg.experiment, "dataset": cfg.dataset,
                   "activation": m.group or cfg.activation, "network": label(m.placement),
                   "placement": m.placement, "seed": m.seed,
                   "lr": m.setting if cfg.experiment == "lr" else cfg.lr,
                   "init_scale": m.setting if cfg.experiment == "init" else cfg.init_scale,
                   "batch_size": int(m.setting) if cfg.experiment == "batch" else cfg.batch_size,
                   "steps": int(r.steps[-1]), "final_test_accuracy": r.final_acc,
                   f"steps_to_{cfg.target:g}": r.steps_to_target, "diverged": r.diverged,
                   "diverged_at_step": r.diverged_at}
            if cfg.experiment == "batch":
                row["train_mode_test_accuracy"] = r.train_mode_acc
            for l, (s0, s1) in enumerate(zip(r.z_std_start, r.z_std_end)):
                row[f"layer{l + 1}_input_std_step0"] = s0
                row[f"layer{l + 1}_input_std_end"] = s1
            rows.append(row)
        return pd.DataFrame(rows)

    def curves_frame(self):
        """One row per network and recorded step: the test-accuracy curves."""
        import pandas as pd

        rows = []
        for r in self.networks:
            m = r.member
            for step, acc in zip(r.steps, r.test_acc):
                rows.append({"activation": m.group or self.config.activation,
                             "network": label(m.placement), "setting": m.setting,
                             "seed": m.seed, "step": int(step), "test_accuracy": acc})
        return pd.DataFrame(rows)


def summary_table(result: SweepResult):
    """Per network and setting (and activation): seeds, mean ± sd, the half-width t·SE of its
    95% interval (Student's t, seeds − 1 df), median, min, max of the final test accuracy (a
    diverged run counted as chance), runs diverged, median steps to the target, and for the
    batch experiment the steps trained and the mean training-mode accuracy of the runs that
    did not diverge. A pandas DataFrame."""
    import pandas as pd

    cfg = result.config
    rows = []
    groups = list(cfg.activations) if cfg.experiment == "placement" else [""]
    settings = cfg.settings or [math.nan]
    setting_name = {"lr": "learning rate", "init": "init std", "batch": "batch size"}.get(
        cfg.experiment)
    for g in groups:
        for p in cfg.networks:
            for v in settings:
                runs = result.select(p, g if g else None, None if math.isnan(v) else v)
                s = summarize(result.final(runs))
                reached = [r.steps_to_target for r in runs if math.isfinite(r.steps_to_target)]
                row = {}
                if g:
                    row["activation"] = g
                row["network"] = label(p)
                if setting_name:
                    row[setting_name] = int(v) if cfg.experiment == "batch" else v
                if cfg.experiment == "batch":
                    row["steps"] = cfg.steps_for(int(v))
                row.update({"seeds": s.n, "mean": s.mean, "sd": s.sd,
                            "± t·SE (95%)": s.half_width(), "median": s.median,
                            "min": s.lo, "max": s.hi,
                            "diverged": sum(r.diverged for r in runs),
                            f"reached {cfg.target:.0%}": f"{len(reached)}/{len(runs)}",
                            "median steps to it": float(np.median(reached)) if reached else math.nan})
                if cfg.experiment == "batch":
                    tm = [r.train_mode_acc for r in runs if not r.diverged]
                    row["training-mode mean (runs that trained)"] = (float(np.mean(tm)) if tm
                                                                     else math.nan)
                rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- training

def _layer_std(z: list[torch.Tensor]) -> np.ndarray:
    """(K, L): the std of each network's activation input over a batch, per layer."""
    with np.errstate(all="ignore"):
        return np.stack([t.numpy().reshape(t.shape[0], -1).std(axis=1) for t in z], axis=1)


def _test_chunks(n_test: int, batch_size: int) -> list[slice]:
    """The test set cut into consecutive batches of `batch_size` (a last batch of 1 joins the
    one before: BN in training mode needs two examples)."""
    starts = list(range(0, n_test, batch_size))
    chunks = [slice(s, min(s + batch_size, n_test)) for s in starts]
    if len(chunks) > 1 and chunks[-1].stop - chunks[-1].start < 2:
        chunks[-2:] = [slice(chunks[-2].start, n_test)]
    return chunks


def train_stack(data, config: SweepConfig, activation: str, batch_size: int,
                members: Sequence[Member], progress: Callable[[int], None] | None = None,
                train_mode: bool = False) -> list[NetworkResult]:
    """Train `members` together in one Stack for config.steps steps; see the module docstring.

    Each step, network k trains on the mini-batch its own BatchOrder(n_train, batch_size,
    seed_k) draws: x (K, N, D), y (K, N) gathered from the training set. `progress(steps_done)`
    is called at every record.
    """
    torch.set_num_threads(1)          # as Run: these small products are fastest on one thread
    specs = [_spec(config, m) for m in members]
    k_nets = len(specs)
    steps, every = config.steps_for(batch_size), config.record_every_for(batch_size)
    n_train = data.x_train.shape[0]
    stack = Stack(data.n_features, config.hidden, data.n_classes, activation, specs, config.optimizer)
    seeds = sorted({m.seed for m in members})
    orders = [BatchOrder(n_train, batch_size, s) for s in seeds]
    which = np.array([seeds.index(m.seed) for m in members])            # network → its order
    record_steps = sorted({0, *range(every, steps + 1, every), steps})
    acc = np.full((k_nets, len(record_steps)), np.nan)
    diverged_at: list[int | None] = [None] * k_nets
    y_test = data.y_test

    x_train, y_train = data.x_train.numpy(), data.y_train.numpy()     # numpy gathers rows faster

    def next_batch():
        idx = np.stack([o.next_numpy() for o in orders])[which]       # (K, N)
        return x_train[idx], y_train[idx]                             # (K, N, D), (K, N)

    def record(i):
        logits = stack.predict(data.x_test)                           # (K, Ntest, C)
        correct = (logits.argmax(2) == y_test).double().mean(1).numpy()
        live = stack.active.numpy()
        acc[live, i] = correct[live]

    with torch.no_grad():
        record(0)
        grad = stack.grad.numpy()
        ones = np.ones(stack.P, dtype=np.float32)
        z_start = None
        r = 1
        for step in range(steps):
            x, y = next_batch()
            logits = stack.forward(x, training=True)
            loss, dlogits = stack.loss_and_dlogits(logits, y)
            stack.backward(dlogits)
            if z_start is None:
                z_start = _layer_std(stack.z)
            with np.errstate(all="ignore"):
                finite = np.isfinite(loss.numpy() + grad @ ones)      # (K,) as Run._check_finite
            newly = stack.active.numpy() & ~finite
            if newly.any():
                for k in np.flatnonzero(newly):
                    diverged_at[k] = step
                    stack.active[k] = False
                if not bool(stack.active.any()):
                    break
            stack.optimizer_step()
            if step + 1 == record_steps[r]:
                record(r)
                r += 1
                if progress is not None:
                    progress(step + 1)
        # the end: activation inputs on the next training batch (as Run's last snapshot)
        x, _ = next_batch()
        stack.forward(x, training=True, update_running=False)
        z_end = _layer_std(stack.z)
        train_acc = np.full(k_nets, np.nan)
        if train_mode:
            correct = np.zeros(k_nets)
            for chunk in _test_chunks(data.x_test.shape[0], batch_size):
                logits = stack.forward(data.x_test[chunk], training=True, update_running=False)
                correct += (logits.argmax(2) == y_test[chunk]).double().sum(1).numpy()
            train_acc = correct / data.x_test.shape[0]
    if progress is not None:
        progress(steps)

    steps_arr = np.array(record_steps)
    results = []
    for k, m in enumerate(members):
        div = diverged_at[k]
        curve = acc[k]
        if div is not None:
            curve = np.where(steps_arr <= div, curve, np.nan)
        reached = np.flatnonzero(curve >= config.target)
        results.append(NetworkResult(
            member=m, steps=steps_arr, test_acc=curve,
            final_acc=math.nan if div is not None else float(curve[-1]),
            steps_to_target=float(steps_arr[reached[0]]) if reached.size else math.nan,
            diverged_at=div,
            z_std_start=z_start[k] if z_start is not None else np.full(len(config.hidden), np.nan),
            z_std_end=np.full(len(config.hidden), np.nan) if div is not None else z_end[k],
            train_mode_acc=math.nan if div is not None else float(train_acc[k]),
        ))
    return results


def run_sweep(config: SweepConfig, progress: Callable[[float, str], None] | None = None,
              batched: bool = True) -> SweepResult:
    """Train every network of the sweep and return the results.

    batched=True: one Stack per (activation, batch size) (see `plan`); False: one Stack per
    network, one after the other (the same results, slower: the benchmark's reference).
    progress(fraction done, message) is called every few steps.
    """
    check(config)
    data = load_dataset(config.dataset)
    n_train = data.x_train.shape[0]
    for _, batch, _ in plan(config):
        if batch > n_train:
            raise ValueError(f"batch_size: expected at most {n_train} (the {config.dataset} "
                             f"training set), got {batch}")
    stacks = plan(config)
    jobs = []
    for act, batch, members in stacks:
        groups = [members] if batched else [[m] for m in members]
        jobs += [(act, batch, g) for g in groups]
    costs = [config.steps_for(b) * len(g) * (b + 60) for _, b, g in jobs]   # + a step's fixed cost
    total, done = float(sum(costs)), 0.0
    t0 = time.perf_counter()
    networks = []
    for (act, batch, group), cost in zip(jobs, costs):
        what = _job_label(config, act, batch)

        def tick(steps_done, done=done, cost=cost, what=what, steps=config.steps_for(batch)):
            if progress is not None:
                progress(min(1.0, (done + cost * steps_done / steps) / total), what)

        networks += train_stack(data, config, act, batch, group, tick,
                                train_mode=config.experiment == "batch")
        done += cost
    return SweepResult(config, networks, data.n_classes, time.perf_counter() - t0, batched,
                       n_test=int(data.x_test.shape[0]), n_train=n_train)


def _job_label(config, activation, batch):
    if config.experiment == "placement":
        return f"training {activation} networks"
    if config.experiment == "batch":
        return f"training with batch size {batch}"
    return "training"


# ----------------------------------------------------------------------------- statistics
# Summary, summarize, critical_t, separated, Ranking and rank live in bn_core.stats (imported
# above, and still importable from here).

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


# ----------------------------------------------------------------------------- verdicts

@dataclass
class Verdict:
    """A headline and supporting sentences (markdown), computed from the data; `tests`: the
    comparisons it makes (Holm-corrected together with the rest of its question)."""

    headline: str
    details: list[str] = field(default_factory=list)
    winner: str | None = None
    tests: list[Test] = field(default_factory=list)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _fmt(s: Summary) -> str:
    """'94.1% ± 0.6': mean ± sample standard deviation over seeds (the seeds are said once per
    sentence, by the caller)."""
    if s.n == 1:
        return _pct(s.mean)
    return f"{_pct(s.mean)} ± {100 * s.sd:.1f}"


def _points(t: Test) -> str:
    """'+12.3 ± 4.5 points': a difference of accuracies and its margin t·SE (the verdict's)."""
    diff = f"{100 * t.diff:+.1f}".replace("-", "−")
    if not math.isfinite(t.se):
        return f"{diff} points"
    return f"{diff} ± {100 * t.margin:.1f} points"


def _over(n: int) -> str:
    return "1 seed" if n == 1 else f"mean ± sd over {n} seeds"


def _num(x: float) -> str:
    return f"{x:g}"


def _cap(text: str) -> str:
    """First letter upper case ('BN …' stays 'BN …', unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _list(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


RULE = ("Each question below compares several pairs at once, so a difference is called clear only "
        "if it passes a paired t-test after Holm's correction, which keeps the chance of even one "
        "false “clear” per question under 5%.")


def _seed_pairs(runs_a, runs_b, value) -> tuple[np.ndarray, np.ndarray]:
    """value(run) of a and of b for the seeds both have, in seed order: (n,), (n,)."""
    a = {r.member.seed: value(r) for r in runs_a}
    b = {r.member.seed: value(r) for r in runs_b}
    seeds = sorted(set(a) & set(b))
    return (np.array([a[s] for s in seeds], dtype=float),
            np.array([b[s] for s in seeds], dtype=float))


def _family(pairs: Mapping, resolution: float) -> dict:
    """Paired tests of each (a, b) in `pairs` (key → (a values, b values)), Holm-corrected
    together: key → Test."""
    keys = list(pairs)
    tests = holm([paired_test(*pairs[k], resolution=resolution) for k in keys], ALPHA)
    return dict(zip(keys, tests))


def _final_of(result: SweepResult):
    return lambda r: result.chance if r.diverged else r.final_acc


def setting_tests(result: SweepResult) -> dict[float, Test]:
    """lr, init, batch: BN against without BN at each setting, final accuracy paired by seed,
    one Holm family over the settings: setting → Test (diff = BN − without BN)."""
    cfg = result.config
    final = _final_of(result)
    pairs = {v: _seed_pairs(result.select(cfg.placement, setting=v),
                            result.select("none", setting=v), final) for v in cfg.settings}
    return _family(pairs, result.resolution)


def _by_setting(bn: str, tests: Mapping[float, Test], noun: str, unit_fmt=_num) -> str:
    """'BN before activation against without BN, learning rate by learning rate: clearly
    better at 1 (+40.1 ± 9.2 points), …; clearly worse at …; the data don't separate them at …'"""
    better = [f"{unit_fmt(v)} ({_points(t)})" for v, t in tests.items() if t.sign > 0]
    worse = [f"{unit_fmt(v)} ({_points(t)})" for v, t in tests.items() if t.sign < 0]
    same = [unit_fmt(v) for v, t in tests.items() if t.sign == 0]
    parts = []
    if better:
        parts.append(f"clearly better at {', '.join(better)}")
    if worse:
        parts.append(f"clearly worse at {', '.join(worse)}")
    if same:
        parts.append(f"the data don't separate them at {', '.join(same)}")
    return f"{_cap(label(bn))} against without BN, {noun}: " + "; ".join(parts) + "."


def verdict(result: SweepResult) -> list[Verdict]:
    """The verdicts of a sweep, by experiment."""
    return {"placement": placement_verdict, "lr": lr_verdict, "init": init_verdict,
            "batch": batch_verdict}[result.config.experiment](result)


def rule(result: SweepResult, verdicts: Sequence[Verdict] | None = None) -> str:
    """How to read the verdicts, with the critical values they actually used."""
    verdicts = verdict(result) if verdicts is None else verdicts
    tests = [t for v in verdicts for t in v.tests if t.n >= 2 and math.isfinite(t.t_crit)]
    parts = [RULE]
    if tests:
        lo, hi = min(t.t_crit for t in tests), max(t.t_crit for t in tests)
        dfs = sorted({int(round(t.df)) for t in tests})
        df_text = " or ".join(map(str, dfs)) + (" degree" if dfs == [1] else " degrees")
        t_text = f"t = {lo:.3g}" if math.isclose(lo, hi, rel_tol=1e-3) else f"t from {lo:.3g} to {hi:.3g}"
        parts.append(
            f"Here that means a mean per-seed difference larger than t·SE, with {t_text} "
            f"(Student's t, {df_text} of freedom; t grows as Holm divides the 5% among a "
            f"question's comparisons); the ± after a difference in points is that t·SE.")
    tail = "± after an accuracy is the standard deviation over seeds; a diverged run counts as " \
           "chance accuracy"
    if result.config.experiment == "batch":
        tail += (", except in the eval- vs training-mode comparison, which leaves diverged "
                 "runs out (a diverged network has neither accuracy)")
    parts.append(tail + ".")
    if result.n_test:
        speed = (f"; in speed, one record interval ({result.config.record_every} steps)"
                 if result.config.experiment == "placement" else "")
        parts.append(f"Seeds that all agree (no spread) count only for a gap of more than one "
                     f"test example (1/{result.n_test}){speed}.")
    return " ".join(parts)


def few_seeds(result: SweepResult, verdicts: Sequence[Verdict] | None = None) -> str | None:
    """Why little can be clear with few seeds, and how many to use; None with enough."""
    n = result.config.seeds
    if n >= ENOUGH_SEEDS:
        return None
    if n < 2:
        return (f"With one seed per setting there is no spread to compare a difference with, so "
                f"nothing can be tested: use {ENOUGH_SEEDS} or more seeds.")
    verdicts = verdict(result) if verdicts is None else verdicts
    m = max([len(v.tests) for v in verdicts] + [1])
    t1, tm = t_critical(ALPHA, n - 1), t_critical(ALPHA / m, n - 1)
    e1, em = t_critical(ALPHA, ENOUGH_SEEDS - 1), t_critical(ALPHA / m, ENOUGH_SEEDS - 1)
    clear = sum(t.clear for v in verdicts for t in v.tests)
    first = "" if m == 1 else f", and {tm:.3g} for the first of the {m} comparisons of a question"
    return (f"With {n} seeds a difference has only {n - 1} degree{'s' if n > 2 else ''} of freedom: "
            f"to count as clear it must exceed {t1:.3g} standard errors in a single comparison"
            f"{first}, so only very large differences can"
            + (" (none does here)" if not clear else "") +
            f". Use {ENOUGH_SEEDS} or more seeds: with {ENOUGH_SEEDS}, t is {e1:.3g}"
            + (f" and {em:.3g}" if m > 1 else "") + ".")


def _compare_sentence(ranking: Ranking, names: Mapping[str, str], fmt=_fmt,
                      wins="wins", beat="beat", what: str = "") -> Verdict:
    """'X wins: … against …' or 'No clear winner: the data don't separate X (…) and Y (…);
    both beat Z (…).' `what` closes the sentence, e.g. '(final test accuracy, mean ± sd …)'."""
    s = ranking.summaries
    tail = f" {what}" if what else ""

    def listing(group):
        return _list([f"{names[n]} ({fmt(s[n])})" for n in group])

    if ranking.winner is not None:
        w = ranking.winner
        return Verdict(f"**{_cap(names[w])} {wins}**: {fmt(s[w])}, against "
                       f"{listing([n for n in ranking.order if n != w])}{tail}.", winner=w)
    if all(v.n < 2 for v in s.values()):
        return Verdict(f"One seed per network can't settle it: {listing(ranking.order)}{tail}. "
                       f"Use {ENOUGH_SEEDS} or more seeds.")
    text = f"**No clear winner**: the data don't separate {listing(ranking.tied)}"
    if ranking.beaten:
        both = "both" if len(ranking.tied) == 2 else "all"
        text += f"; {both} {beat} {listing(ranking.beaten)}"
    return Verdict(text + tail + ".")


PLACEMENT_PAIRS = (("before", "none"), ("after", "none"), ("before", "after"))


def placement_tests(result: SweepResult) -> tuple[dict, dict]:
    """Every pair of placements for every activation, paired by seed, one Holm family for the
    final accuracy and one for the speed (steps to the target; a run that never reaches it
    counts as the run's length plus one record interval): (act, a, b) → Test of a − b (speed:
    b − a in steps, so positive: a is faster)."""
    cfg = result.config
    never = cfg.steps + cfg.record_every
    final = _final_of(result)

    def steps(r):
        return r.steps_to_target if math.isfinite(r.steps_to_target) else never

    acc, speed = {}, {}
    for act in cfg.activations:
        for a, b in PLACEMENT_PAIRS:
            ra, rb = result.select(a, act), result.select(b, act)
            acc[(act, a, b)] = _seed_pairs(ra, rb, final)
            xb, xa = _seed_pairs(rb, ra, steps)
            speed[(act, a, b)] = (xb, xa)                  # b's steps − a's steps
    return _family(acc, result.resolution), _family(speed, float(cfg.record_every))


def _beats(tests: Mapping, act: str):
    """beats(x, y) for `rank`: the Holm-corrected test of the pair says x is clearly better."""
    def beats(x, y):
        if (act, x, y) in tests:
            return tests[(act, x, y)].sign > 0
        return tests[(act, y, x)].sign < 0
    return beats


def placement_verdict(result: SweepResult) -> list[Verdict]:
    """Per activation: which placement reaches the best final accuracy, and which reaches the
    target first (a run that never reaches it counts as the run's length plus one record
    interval: a lower bound, so the comparison is, if anything, kind to it)."""
    cfg = result.config
    verdicts = []
    names = {p: label(p) for p in cfg.networks}
    never = cfg.steps + cfg.record_every
    acc_tests, speed_tests = placement_tests(result)
    short = {"none": "no BN", "before": "BN before", "after": "BN after"}

    def fmt_steps(s: Summary) -> str:
        if s.hi <= -never:
            return f"never within {cfg.steps} steps"
        if s.n == 1:
            return f"{-s.mean:.0f} steps"
        return f"{-s.mean:.0f} ± {s.sd:.0f} steps"

    for act in cfg.activations:
        groups = {p: result.final(result.select(p, act)) for p in cfg.networks}
        v = _compare_sentence(rank(groups, _beats(acc_tests, act)), names,
                              what=f"(final test accuracy, {_over(cfg.seeds)})")
        v.headline = f"{ACTIVATION_NAMES[act]} — " + v.headline
        mine = [acc_tests[(act, a, b)] for a, b in PLACEMENT_PAIRS]
        v.tests = mine + [speed_tests[(act, a, b)] for a, b in PLACEMENT_PAIRS]
        if cfg.seeds > 1:
            v.details.append(
                "Differences per seed (mean ± t·SE): " + "; ".join(
                    f"{short[a]} − {short[b]} {_points(t)}{' (clear)' if t.clear else ''}"
                    for (a, b), t in zip(PLACEMENT_PAIRS, mine)) + ".")
        speed = {p: [-(r.steps_to_target if math.isfinite(r.steps_to_target) else never)
                     for r in result.select(p, act)] for p in cfg.networks}
        sv = _compare_sentence(rank(speed, _beats(speed_tests, act)), names, fmt_steps,
                               wins="gets there first", beat="are faster than")
        v.details.append(f"Speed (steps to reach {_pct(cfg.target)} test accuracy) — "
                         + sv.headline.replace("**", ""))
        for p in cfg.networks:
            runs = result.select(p, act)
            reached = sum(math.isfinite(r.steps_to_target) for r in runs)
            div = sum(r.diverged for r in runs)
            if reached < len(runs) or div:
                part = f"{_cap(names[p])} reached it in {reached} of {len(runs)} seeds"
                part += f" ({div} diverged)" if div else ""
                part += (f"; a run that never reached it counts as {never} steps."
                         if reached < len(runs) else ".")
                v.details.append(part)
        verdicts.append(v)
    return verdicts


def _still_rising(runs: Sequence[NetworkResult]) -> bool:
    """The median run gained more than a point of test accuracy over its last quarter."""
    gains = []
    for r in runs:
        if r.diverged or len(r.test_acc) < 4:
            continue
        gains.append(r.test_acc[-1] - r.test_acc[(3 * (len(r.test_acc) - 1)) // 4])
    return bool(gains) and float(np.median(gains)) > 0.01


def _beyond(result: SweepResult, p: str, v: float, unit_fmt) -> tuple[str, bool]:
    """What the networks did at grid point v, just outside a range; and whether that end is set
    by the step budget and the target (still rising, or within 5 points of the target)."""
    cfg = result.config
    runs = result.select(p, setting=v)
    div = sum(r.diverged for r in runs)
    if 2 * div > len(runs):
        return f"at {unit_fmt(v)}, {div} of {len(runs)} runs diverged", False
    med = float(np.median(result.final(runs)))
    rising = _still_rising(runs)
    text = f"at {unit_fmt(v)} the median reached {_pct(med)}"
    if rising:
        text += f", still rising when the {cfg.steps} steps ran out"
    elif med >= cfg.target - 0.05:
        text += f", just under the {_pct(cfg.target)} cutoff"
    return text, rising or med >= cfg.target - 0.05


def _grid_verdict(result: SweepResult, what: str, unit_fmt=_num) -> list[Verdict]:
    """lr and init: the widest range that trains for each network (a bound where it meets the
    grid's end), where BN is clearly better or worse (one Holm family over the settings), and
    a winner only where the data back it."""
    cfg = result.config
    settings = cfg.settings
    bn = cfg.placement
    ranges = {p: trainable_range(settings, [result.final(result.select(p, setting=v))
                                            for v in settings], cfg.target)
              for p in cfg.networks}
    tests = setting_tests(result)
    width = {p: (0 if ranges[p] is None else
                 settings.index(ranges[p][1]) - settings.index(ranges[p][0]) + 1)
             for p in cfg.networks}
    at_edge = {p: any(range_ends(settings, ranges[p])) for p in cfg.networks}

    def describe(p):
        if ranges[p] is None:
            return f"{label(p)}: no {what} reached {_pct(cfg.target)}"
        return f"{label(p)}: {describe_range(settings, ranges[p], unit_fmt)}"

    step = settings[1] / settings[0] if len(settings) > 1 else 1.0
    diverged = []
    for p in cfg.networks:
        div = [r for r in result.select(p) if r.diverged]
        if div:
            at = sorted({r.member.setting for r in div})
            diverged.append(f"{_cap(label(p))} diverged in {len(div)} run{'s' if len(div) > 1 else ''} "
                            f"(at {what} {', '.join(unit_fmt(x) for x in at)}).")
    if width[bn] == 0 and width["none"] == 0:
        head = (f"Neither network reached {_pct(cfg.target)} at any {what} in {cfg.steps} steps "
                f"(train longer, or lower the target)")
        return [Verdict(head + ".", diverged, tests=list(tests.values()))]
    wider = bn if width[bn] > width["none"] else "none" if width["none"] > width[bn] else None
    other = None if wider is None else ("none" if wider == bn else bn)
    winner = None
    if wider is None:
        head = f"Both reached {_pct(cfg.target)} over equally many {what}s"
    elif at_edge[other]:
        head = (f"{_cap(label(wider))} reached {_pct(cfg.target)} over more {what}s here, but "
                f"{label(other)}'s range runs into the grid's end: widen the grid to compare")
    else:
        only = [v for v in settings if ranges[wider][0] <= v <= ranges[wider][1]
                and not (ranges[other] and ranges[other][0] <= v <= ranges[other][1])]
        backed = [v for v in only if tests[v].sign == (1 if wider == bn else -1)]
        if backed:
            winner = wider
            head = (f"**{_cap(label(wider))}** trains over a wider range of {what}s (clearly "
                    f"better at {', '.join(unit_fmt(v) for v in backed)}, where only it reached "
                    f"{_pct(cfg.target)})")
        else:
            head = (f"{_cap(label(wider))} reached {_pct(cfg.target)} over more {what}s, but at "
                    f"none of the {what}s where only it did is the difference clear with "
                    f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}: not settled")
    v = Verdict(f"{head} — {describe('none')}; {describe(bn)}.", winner=winner,
                tests=list(tests.values()))
    v.details.append(
        f"{_cap(_a(what))} counts as training where the median final test accuracy over "
        f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} reaches {_pct(cfg.target)} within "
        f"{cfg.steps} steps; the grid steps by ×{step:.3g}, so an end inside the grid is known "
        f"to within one step, and an end at the grid's edge is only a bound.")
    budget_bound = False
    for p in cfg.networks:
        if ranges[p] is None:
            continue
        i, j = settings.index(ranges[p][0]), settings.index(ranges[p][1])
        notes = []
        if i > 0:
            text, bound = _beyond(result, p, settings[i - 1], unit_fmt)
            notes.append(f"below {unit_fmt(settings[i])} ({text})")
            budget_bound |= bound
        if j < len(settings) - 1:
            text, bound = _beyond(result, p, settings[j + 1], unit_fmt)
            notes.append(f"above {unit_fmt(settings[j])} ({text})")
            budget_bound |= bound
        if notes:
            v.details.append(f"{_cap(label(p))}: " + "; ".join(notes) + ".")
    if budget_bound:
        v.details.append(
            f"An end next to {_a(what)} that was still learning, or just under the cutoff, is "
            f"set by the {cfg.steps}-step budget and the {_pct(cfg.target)} target, not by a "
            f"failure to train: more steps or a lower target would move it.")
    if cfg.seeds > 1:
        v.details.append(_by_setting(bn, tests, f"{what} by {what}", unit_fmt))
    v.details += diverged
    return [v]


def lr_verdict(result: SweepResult) -> list[Verdict]:
    return _grid_verdict(result, "learning rate")
def init_verdict(result: SweepResult) -> list[Verdict]:
    """lr-style ranges, then how the last hidden layer's activation input std at step 0
    depends on the init scale, for each network (BN's scale invariance, and where ε ends it)."""
    verdicts = _grid_verdict(result, "init scale")
    cfg = result.config
    settings = cfg.settings
    last = len(cfg.hidden) - 1
    medians = {}
    for p in cfg.networks:
        row = []
        for s in settings:
            vals = np.array([r.z_std_start[last] for r in result.select(p, setting=s)], dtype=float)
            vals = vals[np.isfinite(vals)]
            row.append(float(np.median(vals)) if vals.size else math.nan)
        medians[p] = np.array(row)
    parts = []
    for p in cfg.networks:
        m = medians[p][np.isfinite(medians[p]) & (medians[p] > 0)]
        if m.size:
            parts.append(f"{label(p)}: std {m.min():.2g} … {m.max():.2g}")
    v = Verdict(f"Layer {last + 1}'s activation input at step 0, over the init scales "
                f"(median of seeds) — " + "; ".join(parts) + ".")
    bn = cfg.placement
    if bn == "before":
        near_one = [s for s, m in zip(settings, medians[bn]) if 0.9 <= m <= 1.1]
        if near_one:
            lo = min(near_one)
            v.details.append(
                f"With BN before the activation that input is BN's output, γ·x̂ + β with γ = 1 and "
                f"β = 0 at the start, whatever the scale of W (BN(a·W·u) = BN(W·u)): its std stays "
                f"within 10% of 1 for init scales from {lo:g} up.")
            small = [s for s in settings if s < lo]
            if small:
                v.details.append(
                    f"Below {lo:g} it shrinks: the batch variance of W·u falls to the order of "
                    f"ε = {BN_EPS:g}, and x̂ = (x − mean)/√(var + ε) no longer scales it back — "
                    f"ε ends the scale invariance.")
    else:
        v.details.append("With BN after the activation, that input is W·u + b, which does scale "
                         "with W; BN normalises the activation's output for the next layer.")
    verdicts.append(v)
    return verdicts


def budget_sentence(result: SweepResult) -> str:
    """What each batch size trained for, and why equal examples is the fair comparison."""
    cfg = result.config
    sizes = [int(b) for b in cfg.settings]
    lo, hi = sizes[0], sizes[-1]
    n_train = result.n_train
    if cfg.budget == "examples":
        epochs = f" (about {cfg.examples / n_train:.3g} epochs of the {n_train:,} training images)" \
            if n_train else ""
        text = (f"Every network saw the same {cfg.examples:,} training examples{epochs}: "
                f"{cfg.steps_for(lo):,} steps with batches of {lo}")
        if hi != lo:
            text += f", {cfg.steps_for(hi):,} with batches of {hi}"
        return text + (". So the comparison is at equal data, not equal steps; the learning rate "
                       "is the same for all, so larger batches take fewer, equally long steps.")
    text = f"Every network trained {cfg.steps:,} steps"
    if hi != lo:
        text += (f", so batches of {hi} saw {hi // lo}× more training examples than batches of "
                 f"{lo} ({cfg.steps * hi:,} against {cfg.steps * lo:,}): the comparison mixes "
                 f"batch size with the amount of training. Choose “equal examples” to separate them")
    return text + "."


def batch_verdict(result: SweepResult) -> list[Verdict]:
    """BN against without BN at each batch size (one Holm family), and BN's eval-mode against
    training-mode test accuracy at each batch size (another; runs that diverged left out)."""
    cfg = result.config
    bn = cfg.placement
    tests = setting_tests(result)
    if cfg.seeds < 2:
        head = Verdict(f"One seed per batch size can't separate the networks; use "
                       f"{ENOUGH_SEEDS} or more seeds.", tests=list(tests.values()))
    else:
        head = Verdict(_by_setting(bn, tests, "eval-mode test accuracy at each batch size",
                                   lambda b: str(int(b))), tests=list(tests.values()))
    head.details.append(budget_sentence(result))
    # BN's eval-mode vs training-mode accuracy, the same network measured twice
    gap = Verdict("")
    sizes, pairs, left_out = [], {}, 0
    for b in cfg.settings:
        all_runs = result.select(bn, setting=b)
        runs = [r for r in all_runs if not r.diverged]
        left_out += len(all_runs) - len(runs)
        if not runs:
            continue
        sizes.append((int(b), summarize([r.final_acc for r in runs]),
                      summarize([r.train_mode_acc for r in runs])))
        pairs[int(b)] = _seed_pairs(runs, runs, lambda r: r.final_acc)[0], \
            _seed_pairs(runs, runs, lambda r: r.train_mode_acc)[0]
    gap_tests = _family(pairs, result.resolution)
    gap.tests = list(gap_tests.values())
    if sizes:
        b0, ev0, tr0 = sizes[0]
        b1, ev1, tr1 = sizes[-1]
        runs_text = _over(ev0.n) + (f"; {left_out} diverged run{'s' if left_out > 1 else ''} "
                                    f"left out" if left_out else "")
        gap.headline = (
            f"{_cap(label(bn))}, eval mode against training mode: at batch size {b0}, "
            f"{_fmt(ev0)} against {_fmt(tr0)} (test batches of {b0}); at {b1}, {_fmt(ev1)} "
            f"against {_fmt(tr1)} (test accuracy, {runs_text}).")
        if cfg.seeds >= 2:
            clear = [f"{b} ({_points(t)})" for b, t in gap_tests.items() if t.clear]
            gap.details.append(
                "Eval mode minus training mode, per seed (mean ± t·SE): clearly different at "
                "batch size " + ", ".join(clear) + "." if clear else
                "The data don't separate the two modes at any batch size (eval minus training "
                "mode, mean ± t·SE: " + "; ".join(f"{b}: {_points(t)}" for b, t in gap_tests.items())
                + ").")
        gap.details.append(
            "In eval mode BN uses its running averages of the training batches' statistics; in "
            "training mode each test batch is normalised with its own mean and variance, so a "
            "prediction depends on the other examples in the batch.")
    else:
        gap.headline = f"Every {label(bn)} run diverged: no train/eval comparison."
    return [head, gap]


# ----------------------------------------------------------------------------- figures

def _layout(fig, title: str, height: int = 420):
    """Title top left, legend in a row under the plot (clear of the panel titles)."""
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=15)),
                      font=FONT, height=height, margin=dict(l=60, r=20, t=80, b=110),
                      template="plotly_white",
                      legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0))
    return fig


def _band(fig, x, lo, hi, placement, row=None, col=None, name=None, showlegend=False):
    kw = {} if row is None else dict(row=row, col=col)
    x = list(x)
    fig.add_trace(dict(type="scatter", x=x + x[::-1], y=list(hi) + list(lo)[::-1], mode="lines",
                       fill="toself",
                       fillcolor=FILLS[placement], line=dict(width=0), hoverinfo="skip",
                       showlegend=showlegend, legendgroup=placement, name=name or ""), **kw)


def placement_figure(result: SweepResult):
    """Test accuracy over steps, one panel per activation: mean over seeds (line) and the range
    min–max (band) for each placement; the target accuracy dashed."""
    from plotly.subplots import make_subplots

    cfg = result.config
    acts = list(cfg.activations)
    fig = make_subplots(rows=1, cols=len(acts), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[ACTIVATION_NAMES[a] for a in acts])
    for c, act in enumerate(acts, start=1):
        for p in cfg.networks:
            runs = result.select(p, act)
            curves = np.array([r.test_acc for r in runs])                      # (seeds, R)
            steps = runs[0].steps
            with warnings.catch_warnings():           # all-NaN columns: every seed diverged
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            ok = np.isfinite(mean)
            _band(fig, steps[ok], lo[ok], hi[ok], p, 1, c)
            fig.add_trace(dict(type="scatter", x=steps[ok], y=mean[ok], mode="lines",
                               line=dict(color=COLORS[p], width=2.5), name=label(p),
                               legendgroup=p, showlegend=c == 1,
                               hovertemplate=f"{label(p)}<br>step %{{x}}<br>mean %{{y:.1%}}<extra></extra>"),
                          row=1, col=c)
        fig.add_hline(y=cfg.target, line=dict(color="#888", dash="dot", width=1), row=1, col=c)
        fig.update_xaxes(title_text="training step", row=1, col=c)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    return _layout(fig, f"Test accuracy over training: mean of {cfg.seeds} seed"
                        f"{'s' if cfg.seeds > 1 else ''} (line) and their range (band); "
                        f"dotted: the {_pct(cfg.target)} target", 430)


def placement_final_figure(result: SweepResult):
    """Final test accuracy, paired by seed: for each pair of placements and each activation,
    every seed's difference (dot; × where either run diverged), their mean (diamond; filled
    where the verdict calls it clear) and mean ± t·SE, the margin the verdict uses (bar)."""
    from plotly.subplots import make_subplots

    cfg = result.config
    acts = list(cfg.activations)
    acc_tests, _ = placement_tests(result)
    final = _final_of(result)
    short = {"none": "no BN", "before": "BN before", "after": "BN after"}
    fig = make_subplots(rows=1, cols=len(acts), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[ACTIVATION_NAMES[a] for a in acts])
    for c, act in enumerate(acts, start=1):
        for i, (a, b) in enumerate(PLACEMENT_PAIRS):
            ra = sorted(result.select(a, act), key=lambda r: r.member.seed)
            rb = sorted(result.select(b, act), key=lambda r: r.member.seed)
            xa, xb = _seed_pairs(ra, rb, final)
            d = 100 * (xa - xb)                                             # (seeds,) points
            broke = [ra_.diverged or rb_.diverged for ra_, rb_ in zip(ra, rb)]
            t = acc_tests[(act, a, b)]
            jitter = np.linspace(-0.12, 0.12, len(d)) if len(d) > 1 else np.zeros(1)
            name = f"{short[a]} − {short[b]}"
            fig.add_trace(dict(type="scatter", x=i + jitter, y=d, mode="markers",
                               marker=dict(color=COLORS[a], size=8, opacity=0.55,
                                           symbol=["x" if x else "circle" for x in broke]),
                               showlegend=False, customdata=[r.member.seed for r in ra],
                               hovertemplate=f"{name}<br>seed %{{customdata}}: %{{y:+.1f}} "
                                             f"points<extra></extra>"), row=1, col=c)
            margin = 100 * t.margin if math.isfinite(t.margin) else 0.0
            verdict_text = "clear" if t.clear else "not clear"
            fig.add_trace(dict(type="scatter", x=[i + 0.3], y=[100 * t.diff], mode="markers",
                               marker=dict(color=COLORS[a], size=12,
                                           symbol="diamond" if t.clear else "diamond-open",
                                           line=dict(width=2, color=COLORS[a])),
                               error_y=dict(type="data", array=[margin], color=COLORS[a],
                                            thickness=2, width=6),
                               showlegend=False,
                               hovertemplate=(f"{name}<br>mean %{{y:+.1f}} ± {margin:.1f} points "
                                              f"(t = {t.t_crit:.3g} × SE)<br>{verdict_text}"
                                              "<extra></extra>")), row=1, col=c)
        fig.add_hline(y=0, line=dict(color="#888", width=1), row=1, col=c)
        fig.update_xaxes(tickvals=list(range(len(PLACEMENT_PAIRS))),
                         ticktext=[f"{short[a]}<br>− {short[b]}" for a, b in PLACEMENT_PAIRS],
                         range=[-0.5, 2.6], row=1, col=c)
    fig.update_yaxes(title_text="difference in final accuracy (points)", row=1, col=1)
    fig = _layout(fig, "Final accuracy, paired by seed: each seed's difference (dot; ×: a run "
                       "diverged), mean ± t·SE as in the verdict (bar; filled: clear)", 360)
    return fig.update_layout(margin=dict(b=60))                    # no legend under it


def _grid_panel(fig, result, row, col, y_of, showlegend=True, log_x=True):
    cfg = result.config
    settings = cfg.settings
    for p in cfg.networks:
        med, lo, hi, div_x, div_n = [], [], [], [], []
        for v in settings:
            runs = result.select(p, setting=v)
            vals = y_of(runs)
            med.append(float(np.median(vals)))
            lo.append(float(np.min(vals)))
            hi.append(float(np.max(vals)))
            n_div = sum(r.diverged for r in runs)
            if n_div:
                div_x.append(v)
                div_n.append(n_div)
        _band(fig, settings, lo, hi, p, row, col)
        fig.add_trace(dict(type="scatter", x=settings, y=med, mode="lines+markers",
                           line=dict(color=COLORS[p], width=2.5), marker=dict(size=7),
                           name=label(p), legendgroup=p, showlegend=showlegend,
                           hovertemplate=f"{label(p)}<br>%{{x:g}}: median %{{y:.1%}}<extra></extra>"),
                      row=row, col=col)
        if div_x:
            fig.add_trace(dict(type="scatter", x=div_x, y=[result.chance] * len(div_x),
                               mode="markers+text", text=[f"{n} diverged" for n in div_n],
                               textposition="bottom center",
                               textfont=dict(color=COLORS[p], size=11),
                               marker=dict(symbol="x", size=12, color=COLORS[p],
                                           line=dict(width=2)),
                               name=f"{label(p)}: diverged", legendgroup=p, showlegend=False,
                               hovertemplate=f"{label(p)} diverged at %{{x:g}}<extra></extra>"),
                          row=row, col=col)
    fig.add_hline(y=cfg.target, line=dict(color="#888", dash="dot", width=1), row=row, col=col)
    if log_x:
        fig.update_xaxes(type="log", dtick=1, tickformat="~g", row=row, col=col)


def lr_figure(result: SweepResult):
    """Final test accuracy vs learning rate (log): median over seeds (line), min–max (band),
    diverged runs (×, with their count), the target (dotted); under it, each network's
    trainable range as a bar in its own row (an arrow where it runs into the grid's end)."""
    from plotly.subplots import make_subplots

    cfg = result.config
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2],
                        vertical_spacing=0.05)
    _grid_panel(fig, result, 1, 1, result.final)
    _range_strip(fig, result, 2, 1)
    fig.update_xaxes(type="log", dtick=1, tickformat="~g", row=2, col=1,
                     title_text="learning rate (log scale)")
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.12, 1.05],
                     row=1, col=1)
    return _layout(fig, f"Final test accuracy after {cfg.steps} steps vs learning rate: median "
                        f"of {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} (line), range (band); "
                        f"below: where the median reaches {_pct(cfg.target)}", 500)


def _range_strip(fig, result, row, col):
    """Each network's trainable range as a thick bar in its own row of a strip under the
    curves (labels on the axis, clear of the data); a triangle at an end that is the grid's."""
    cfg = result.config
    settings = cfg.settings
    names = [f"{label(p)} trains" for p in cfg.networks]
    for p, name in zip(cfg.networks, names):
        accs = [result.final(result.select(p, setting=v)) for v in settings]
        r = trainable_range(settings, accs, cfg.target)
        if r is None:
            fig.add_trace(dict(type="scatter", x=[settings[0]], y=[name], mode="text",
                               text=[f"  nowhere reaches {_pct(cfg.target)}"],
                               textposition="middle right", textfont=dict(color=COLORS[p], size=11),
                               showlegend=False, hoverinfo="skip"), row=row, col=col)
            continue
        low_edge, high_edge = range_ends(settings, r)
        text = describe_range(settings, r)
        fig.add_trace(dict(type="scatter", x=[r[0], r[1]], y=[name, name], mode="lines",
                           line=dict(color=COLORS[p], width=9), showlegend=False,
                           hovertemplate=f"{label(p)} trains: {text}<extra></extra>"),
                      row=row, col=col)
        ends = [(r[0], "triangle-left")] * low_edge + [(r[1], "triangle-right")] * high_edge
        if ends:
            fig.add_trace(dict(type="scatter", x=[e[0] for e in ends], y=[name] * len(ends),
                               mode="markers", marker=dict(symbol=[e[1] for e in ends], size=13,
                                                           color=COLORS[p]),
                               showlegend=False,
                               hovertemplate="the grid ends here: the range may go on<extra></extra>"),
                          row=row, col=col)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names[::-1],
                     range=[-0.6, len(names) - 0.4], automargin=True, showgrid=False,
                     row=row, col=col)


def init_figure(result: SweepResult):
    """Left: final test accuracy vs init scale (as `lr_figure`). Right: the std of each layer's
    activation input at step 0 (dotted) and at the end (solid) vs init scale, median over seeds."""
    from plotly.subplots import make_subplots

    cfg = result.config
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Final test accuracy",
                                        "Std of each layer's activation input"])
    _grid_panel(fig, result, 1, 1, result.final)
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.12, 1.05],
                     row=1, col=1)
    settings = cfg.settings
    depth = len(cfg.hidden)
    for p in cfg.networks:
        for l in range(depth):
            for when, dash in (("start", "dot"), ("end", "solid")):
                ys = []
                for v in settings:
                    vals = np.array([getattr(r, f"z_std_{when}")[l]
                                     for r in result.select(p, setting=v)], dtype=float)
                    vals = vals[np.isfinite(vals)]
                    ys.append(float(np.median(vals)) if vals.size else None)
                opacity = 0.35 + 0.65 * (l + 1) / depth
                fig.add_trace(dict(type="scatter", x=settings, y=ys, mode="lines",
                                   line=dict(color=COLORS[p], dash=dash, width=1.5 + l * 0.5),
                                   opacity=opacity, showlegend=False, legendgroup=p,
                                   connectgaps=False,
                                   hovertemplate=(f"{label(p)}, layer {l + 1}, "
                                                  f"{'step 0' if when == 'start' else 'end'}"
                                                  "<br>init %{x:g}: std %{y:.3g}<extra></extra>")),
                              row=1, col=2)
    # legend entries for the line styles
    for name, dash in (("at step 0", "dot"), ("at the end", "solid")):
        fig.add_trace(dict(type="scatter", x=[None], y=[None], mode="lines",
                           line=dict(color="#555", dash=dash), name=name), row=1, col=2)
    for c in (1, 2):
        fig.update_xaxes(type="log", dtick=1, tickformat="~g",
                         title_text="init std of the weights (log scale)", row=1, col=c)
    fig.update_yaxes(type="log", dtick=1, tickformat="~g",
                     title_text="std (log scale; thicker = deeper layer)", row=1, col=2)
    return _layout(fig, f"Initialisation scale, {cfg.steps} steps, {cfg.seeds} seed"
                        f"{'s' if cfg.seeds > 1 else ''} per point (median; band: range)", 460)


def batch_figure(result: SweepResult):
    """Left: final eval-mode test accuracy vs batch size, both networks. Right: the BN network's
    test accuracy in eval mode (running averages) and in training mode (batch statistics)."""
    from plotly.subplots import make_subplots

    cfg = result.config
    bn = cfg.placement
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Final test accuracy (eval mode)",
                                        f"{_cap(label(bn))}: eval vs training mode"])
    _grid_panel(fig, result, 1, 1, result.final)
    settings = cfg.settings
    modes = (("eval mode (running averages)", COLORS[bn], "solid", "circle", lambda r: r.final_acc),
             ("training mode (each test batch's own statistics)", TRAIN_MODE_COLOR, "dash",
              "square-open", lambda r: r.train_mode_acc))
    for mode, color, dash, symbol, get in modes:
        med, lo, hi, xs = [], [], [], []
        for v in settings:
            vals = np.array([get(r) for r in result.select(bn, setting=v) if not r.diverged])
            if vals.size == 0:
                continue
            xs.append(v)
            med.append(float(np.median(vals)))
            lo.append(float(vals.min()))
            hi.append(float(vals.max()))
        if xs:
            fig.add_trace(dict(type="scatter", x=xs, y=med, mode="lines+markers",
                               line=dict(color=color, dash=dash, width=2.5),
                               marker=dict(symbol=symbol, size=8), name=f"BN in {mode}",
                               hovertemplate=f"{mode}<br>batch %{{x}}: %{{y:.1%}}<extra></extra>"),
                          row=1, col=2)
    for c in (1, 2):
        fig.update_xaxes(type="log", title_text="batch size (log scale)", tickvals=settings,
                         ticktext=[str(int(v)) for v in settings], row=1, col=c)
        fig.update_yaxes(tickformat=".0%", range=[-0.12, 1.05], row=1, col=c)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    budget = (f"{cfg.examples:,} examples each" if cfg.budget == "examples"
              else f"{cfg.steps} steps each")
    return _layout(fig, f"Batch size, {budget} at lr {cfg.lr:g}, {cfg.seeds} seed"
                        f"{'s' if cfg.seeds > 1 else ''} per point (median; band: range)", 460)


def figure(result: SweepResult) -> list:
    """The figures of a sweep, by experiment."""
    exp = result.config.experiment
    if exp == "placement":
        return [placement_figure(result), placement_final_figure(result)]
    return [{"lr": lr_figure, "init": init_figure, "batch": batch_figure}[exp](result)]
