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
seed_k)`, exactly what a single `bn_core.train.Run` with that seed draws. So every network of a
sweep is the same network, step for step, as `Run(config with its seed, lr…, networks=[placement])`
(`tests/test_sweep.py` checks it; `run_sweep(config, batched=False)` trains them one by one).

Recorded per network: the test accuracy in eval mode (BN uses its running estimates) every
`record_every` steps, the final accuracy, the first recorded step at which it reaches the target
accuracy, the standard deviation of each hidden layer's activation input (over the N × width
values of one training mini-batch) at step 0 and at the end, and for the batch-size experiment
the test accuracy with BN in training mode (each test mini-batch of the training batch size
normalised with its own statistics). A network whose loss becomes NaN or infinite is stopped
there (`stack.active[k] = False`, as `Run` does) and marked diverged; the others go on.

The verdict rule (`separated`): group A beats group B only where

    mean_A − mean_B > t · √(sd_A²/n_A + sd_B²/n_B)

(sd: the sample standard deviation over seeds, n: the number of seeds; t: Student's 97.5%
quantile for Welch's degrees of freedom, ≈ 2.3 for 5 seeds each), i.e. the difference of the
means exceeds what the seed-to-seed spread produces by chance in 95% of repeats (Welch's t-test,
two-sided 5%). With one seed per group there is no spread to compare with and no winner is
named; otherwise, where the rule fails, the verdict says that the data don't separate them.
A diverged run counts with chance accuracy (1 / classes).
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
from bn_core.train import NETWORK_LABELS, BatchOrder, parse_field

__all__ = [
    "EXPERIMENTS", "EXPERIMENT_LABELS", "SWEEP_DATASETS", "BATCH_CHOICES", "COLORS", "ACTIVATION_NAMES",
    "SweepConfig", "Member", "NetworkResult", "SweepResult", "Summary", "Ranking", "Verdict",
    "plan", "work", "check", "train_stack", "run_sweep", "log_grid", "summary_table",
    "summarize", "separated", "critical_t", "rank", "trainable_range", "RULE",
    "verdict", "placement_verdict", "lr_verdict", "init_verdict", "batch_verdict",
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
CURVE_POINTS = 50          # test accuracy recorded about this many times per network
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

    RANGES = {
        "depth": (1, 8), "width": (4, 256), "seeds": (1, 10), "seed": (0, 2**31 - 1),
        "steps": (10, 5000), "lr": (1e-4, 10.0), "batch_size": (2, 512),
        "init_scale": (1e-4, 10.0), "target": (0.05, 1.0), "lr_min": (1e-4, 10.0),
        "lr_max": (1e-4, 10.0), "init_min": (1e-5, 10.0), "init_max": (1e-5, 10.0),
        "points": (2, 13),
    }
    CHOICES = {"experiment": EXPERIMENTS, "dataset": SWEEP_DATASETS, "activation": ACTIVATIONS,
               "placement": ("before", "after"), "optimizer": OPTIMIZERS}
    RELEVANT = {
        "placement": ("dataset", "activations", "depth", "width", "seeds", "seed", "steps", "lr",
                      "batch_size", "init_scale", "optimizer", "target"),
        "lr": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
               "batch_size", "init_scale", "optimizer", "target", "lr_min", "lr_max", "points"),
        "init": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                 "lr", "batch_size", "optimizer", "target", "init_min", "init_max", "points"),
        "batch": ("dataset", "activation", "placement", "depth", "width", "seeds", "seed", "steps",
                  "lr", "init_scale", "optimizer", "target", "batch_sizes"),
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
                  batch_sizes=(2, 4, 8, 16, 64, 256)),
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
        total += 3.0 * config.steps * len(members) * batch * weights
    return total


def check(config: SweepConfig, n_features: int | None = None) -> None:
    """Raise ValueError, saying what to reduce, where a sweep is too big to run here."""
    w = work(config, n_features)
    if w > MAX_WORK:
        raise ValueError(
            f"this sweep is {w / MAX_WORK:.1f}× larger than allowed ({len(_all_members(config))} "
            f"networks × {config.steps} steps): use fewer seeds, steps or grid points, or a "
            f"narrower or shallower network"
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
                   "steps": cfg.steps, "final_test_accuracy": r.final_acc,
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
    """Per network and setting (and activation): seeds, mean ± sd, median, min, max of the final
    test accuracy (a diverged run counted as chance), runs diverged, median steps to the target,
    and for the batch experiment the mean training-mode accuracy. A pandas DataFrame."""
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
                row.update({"seeds": s.n, "mean": s.mean, "sd": s.sd, "median": s.median,
                            "min": s.lo, "max": s.hi,
                            "diverged": sum(r.diverged for r in runs),
                            f"reached {cfg.target:.0%}": f"{len(reached)}/{len(runs)}",
                            "median steps to it": float(np.median(reached)) if reached else math.nan})
                if cfg.experiment == "batch":
                    tm = [r.train_mode_acc for r in runs if not r.diverged]
                    row["training-mode mean"] = float(np.mean(tm)) if tm else math.nan
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
    k_nets, steps, every = len(specs), int(config.steps), config.record_every
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
    costs = [config.steps * len(g) * (b + 60) for _, b, g in jobs]  # + a step's fixed cost
    total, done = float(sum(costs)), 0.0
    t0 = time.perf_counter()
    networks = []
    for (act, batch, group), cost in zip(jobs, costs):
        what = _job_label(config, act, batch)

        def tick(steps_done, done=done, cost=cost, what=what):
            if progress is not None:
                progress(min(1.0, (done + cost * steps_done / config.steps) / total), what)

        networks += train_stack(data, config, act, batch, group, tick,
                                train_mode=config.experiment == "batch")
        done += cost
    return SweepResult(config, networks, data.n_classes, time.perf_counter() - t0, batched)


def _job_label(config, activation, batch):
    if config.experiment == "placement":
        return f"training {activation} networks"
    if config.experiment == "batch":
        return f"training with batch size {batch}"
    return "training"


# ----------------------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Summary:
    """Statistics of one group's values over seeds."""

    n: int
    mean: float
    sd: float            # sample standard deviation (n − 1); 0 for one value
    median: float
    lo: float            # min
    hi: float            # max

    @property
    def se(self) -> float:
        """Standard error of the mean, sd/√n."""
        return self.sd / math.sqrt(self.n) if self.n else math.nan


def summarize(values: Sequence[float]) -> Summary:
    """Summary of finite values (NaN values raise: count a diverged run as chance first)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("expected at least one value, got none")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"expected finite values, got {v.tolist()}")
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return Summary(int(v.size), float(v.mean()), sd, float(np.median(v)), float(v.min()),
                   float(v.max()))


def critical_t(a: Summary, b: Summary) -> float:
    """Student's t 97.5% quantile for Welch's degrees of freedom,

        df = (va + vb)² / (va²/(n_a − 1) + vb²/(n_b − 1)),   va = sd_a²/n_a, vb = sd_b²/n_b

    (≈ 2.3 for 5 seeds against 5, 4.3 for 2 against 2 with equal spreads)."""
    from scipy.stats import t as student_t

    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    denom = (va**2 / (a.n - 1) if va else 0.0) + (vb**2 / (b.n - 1) if vb else 0.0)
    df = (va + vb) ** 2 / denom if denom > 0 else float(a.n + b.n - 2)
    return float(student_t.ppf(0.975, max(df, 1.0)))


def separated(a: Summary, b: Summary) -> bool:
    """True where a's mean beats b's by more than the seed-to-seed spread allows by chance:

        mean_a − mean_b > t · √(sd_a²/n_a + sd_b²/n_b)

    the standard error of the difference times `critical_t` (Welch's test, two-sided 5%): about
    2 standard errors with many seeds, more with few. Never with fewer than 2 values in either
    group (no spread to compare with)."""
    if a.n < 2 or b.n < 2:
        return False
    se = math.sqrt(a.sd**2 / a.n + b.sd**2 / b.n)
    diff = a.mean - b.mean
    if se == 0.0:
        return diff > 0.0
    return diff > critical_t(a, b) * se


@dataclass(frozen=True)
class Ranking:
    """Groups ranked by mean; `winner` is the best where it beats every other group."""

    order: list[str]                   # best first
    summaries: dict[str, Summary]
    winner: str | None
    tied: list[str]                    # the groups the best is not separated from (and itself)
    beaten: list[str]                  # the groups every one of `tied` beats


def rank(groups: Mapping[str, Sequence[float]]) -> Ranking:
    summaries = {name: summarize(v) for name, v in groups.items()}
    order = sorted(summaries, key=lambda n: -summaries[n].mean)
    best = order[0]
    tied = [best] + [n for n in order[1:] if not separated(summaries[best], summaries[n])]
    beaten = [n for n in order if n not in tied
              and all(separated(summaries[t], summaries[n]) for t in tied)]
    winner = best if len(tied) == 1 and len(order) > 1 else None
    return Ranking(order, summaries, winner, tied, beaten)


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


# ----------------------------------------------------------------------------- verdicts

@dataclass
class Verdict:
    """A headline and supporting sentences (markdown), computed from the data."""

    headline: str
    details: list[str] = field(default_factory=list)
    winner: str | None = None


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _fmt(s: Summary) -> str:
    """'94.1% ± 0.6': mean ± sample standard deviation over seeds (the seeds are said once per
    sentence, by the caller)."""
    if s.n == 1:
        return _pct(s.mean)
    return f"{_pct(s.mean)} ± {100 * s.sd:.1f}"


def _over(n: int) -> str:
    return "1 seed" if n == 1 else f"mean ± sd over {n} seeds"


def _num(x: float) -> str:
    return f"{x:g}"


def _cap(text: str) -> str:
    """First letter upper case ('BN …' stays 'BN …', unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


RULE = ("A network is named better only where its mean beats the other's by more than the "
        "seed-to-seed spread explains (Welch's t-test, 5%: about 2 standard errors of the "
        "difference with 5 seeds each, more with fewer). ± is the standard deviation over seeds; "
        "a diverged run counts as chance accuracy.")


def _by_setting(bn: str, better, worse, same, noun: str) -> str:
    """'BN before activation against without BN, at each learning rate: clearly better at …;
    clearly worse at …; the data don't separate them at ….'"""
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


def _compare_sentence(ranking: Ranking, names: Mapping[str, str], fmt=_fmt,
                      wins="wins", beat="beat", what: str = "") -> Verdict:
    """'X wins: … against …' or 'No clear winner: the data don't separate X (…) and Y (…);
    both beat Z (…).' `what` closes the sentence, e.g. '(final test accuracy, mean ± sd …)'."""
    s = ranking.summaries
    tail = f" {what}" if what else ""

    def listing(group):
        items = [f"{names[n]} ({fmt(s[n])})" for n in group]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    if ranking.winner is not None:
        w = ranking.winner
        return Verdict(f"**{_cap(names[w])} {wins}**: {fmt(s[w])}, against "
                       f"{listing([n for n in ranking.order if n != w])}{tail}.", winner=w)
    if all(v.n < 2 for v in s.values()):
        return Verdict(f"One seed per network can't settle it: {listing(ranking.order)}{tail}. "
                       f"Use 2 or more seeds.")
    text = f"**No clear winner**: the data don't separate {listing(ranking.tied)}"
    if ranking.beaten:
        both = "both" if len(ranking.tied) == 2 else "all"
        text += f"; {both} {beat} {listing(ranking.beaten)}"
    return Verdict(text + tail + ".")


def placement_verdict(result: SweepResult) -> list[Verdict]:
    """Per activation: which placement reaches the best final accuracy, and which reaches the
    target first (a run that never reaches it counts as the run's length plus one record
    interval: a lower bound, so the comparison is, if anything, kind to it)."""
    cfg = result.config
    verdicts = []
    names = {p: label(p) for p in cfg.networks}
    never = cfg.steps + cfg.record_every

    def fmt_steps(s: Summary) -> str:
        if s.hi <= -never:
            return f"never within {cfg.steps} steps"
        if s.n == 1:
            return f"{-s.mean:.0f} steps"
        return f"{-s.mean:.0f} ± {s.sd:.0f} steps"

    for act in cfg.activations:
        groups = {p: result.final(result.select(p, act)) for p in cfg.networks}
        v = _compare_sentence(rank(groups), names,
                              what=f"(final test accuracy, {_over(cfg.seeds)})")
        v.headline = f"{ACTIVATION_NAMES[act]} — " + v.headline
        speed = {p: [-(r.steps_to_target if math.isfinite(r.steps_to_target) else never)
                     for r in result.select(p, act)] for p in cfg.networks}
        sv = _compare_sentence(rank(speed), names, fmt_steps, wins="gets there first",
                               beat="are faster than")
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


def _grid_verdict(result: SweepResult, what: str, unit_fmt=_num) -> list[Verdict]:
    """lr and init: the widest range that trains for each network, and where BN is better."""
    cfg = result.config
    settings = cfg.settings
    bn = cfg.placement
    ranges = {}
    for p in cfg.networks:
        accs = [result.final(result.select(p, setting=v)) for v in settings]
        ranges[p] = trainable_range(settings, accs, cfg.target)

    def describe(p):
        r = ranges[p]
        if r is None:
            return f"{label(p)}: no {what} reached {_pct(cfg.target)}"
        if r[0] == r[1]:
            return f"{label(p)}: only {unit_fmt(r[0])}"
        return f"{label(p)}: {unit_fmt(r[0])} … {unit_fmt(r[1])} (a {r[1] / r[0]:,.0f}× range)"

    width = {p: (0 if ranges[p] is None else
                 settings.index(ranges[p][1]) - settings.index(ranges[p][0]) + 1)
             for p in cfg.networks}
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
        return [Verdict(head + ".", diverged)]
    if width[bn] > width["none"]:
        head = f"**{label(bn)}** trains over a wider range of {what}s"
        winner = bn
    elif width[bn] < width["none"]:
        head = f"**Without BN** trains over a wider range of {what}s"
        winner = "none"
    else:
        head = f"Both train over equally wide ranges of {what}s"
        winner = None
    v = Verdict(f"{head} — {describe('none')}; {describe(bn)}.", winner=winner)
    v.details.append(
        f"{_cap(_a(what))} counts as training where the median final test accuracy over "
        f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} reaches {_pct(cfg.target)}; the grid "
        f"steps by ×{step:.3g}, so each end of a range is known to within one step.")
    better, worse, same = [], [], []
    for v_ in settings:
        a = summarize(result.final(result.select(bn, setting=v_)))
        b = summarize(result.final(result.select("none", setting=v_)))
        (better if separated(a, b) else worse if separated(b, a) else same).append(unit_fmt(v_))
    if cfg.seeds > 1:
        v.details.append(_by_setting(bn, better, worse, same, f"{what} by {what}"))
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


def batch_verdict(result: SweepResult) -> list[Verdict]:
    cfg = result.config
    bn = cfg.placement
    rows_better, rows_same, rows_worse = [], [], []
    for b in cfg.settings:
        a = summarize(result.final(result.select(bn, setting=b)))
        c = summarize(result.final(result.select("none", setting=b)))
        (rows_better if separated(a, c) else rows_worse if separated(c, a) else rows_same).append(int(b))
    if cfg.seeds < 2:
        head = Verdict("One seed per batch size can't separate the networks; use 2 or more seeds.")
    else:
        head = Verdict(_by_setting(bn, *[[str(b) for b in rows] for rows in
                                         (rows_better, rows_worse, rows_same)],
                                   "eval-mode test accuracy at each batch size"))
    # BN's train-mode vs eval-mode accuracy
    gap = Verdict("")
    sizes = []
    for b in cfg.settings:
        runs = [r for r in result.select(bn, setting=b) if not r.diverged]
        if not runs:
            continue
        ev = summarize([r.final_acc for r in runs])
        tr = summarize([r.train_mode_acc for r in runs])
        sizes.append((int(b), ev, tr))
    if sizes:
        b0, ev0, tr0 = sizes[0]
        b1, ev1, tr1 = sizes[-1]
        gap.headline = (
            f"{_cap(label(bn))}, eval mode against training mode: at batch size {b0}, "
            f"{_fmt(ev0)} against {_fmt(tr0)} (test batches of {b0}); at {b1}, {_fmt(ev1)} "
            f"against {_fmt(tr1)} (test accuracy, {_over(ev0.n)}).")
        big = [b for b, ev, tr in sizes if separated(tr, ev) or separated(ev, tr)]
        if cfg.seeds >= 2:
            gap.details.append(
                "The two modes differ clearly at batch size " + ", ".join(map(str, big)) + "."
                if big else "The data don't separate the two modes at any batch size.")
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
    """Final test accuracy of every seed (dots), mean ± 2 standard errors (bars)."""
    from plotly.subplots import make_subplots

    cfg = result.config
    acts = list(cfg.activations)
    fig = make_subplots(rows=1, cols=len(acts), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[ACTIVATION_NAMES[a] for a in acts])
    for c, act in enumerate(acts, start=1):
        for i, p in enumerate(cfg.networks):
            runs = result.select(p, act)
            vals = result.final(runs)
            s = summarize(vals)
            jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(1)
            fig.add_trace(dict(type="scatter", x=i + jitter, y=vals, mode="markers",
                               marker=dict(color=COLORS[p], size=8, opacity=0.55,
                                           symbol=["x" if r.diverged else "circle" for r in runs]),
                               name=label(p), legendgroup=p, showlegend=c == 1,
                               customdata=[r.member.seed for r in runs],
                               hovertemplate=f"{label(p)}<br>seed %{{customdata}}: %{{y:.1%}}<extra></extra>"),
                          row=1, col=c)
            fig.add_trace(dict(type="scatter", x=[i + 0.3], y=[s.mean], mode="markers",
                               marker=dict(color=COLORS[p], size=11, symbol="diamond"),
                               error_y=dict(type="data", array=[2 * s.se if s.n > 1 else 0],
                                            color=COLORS[p], thickness=2, width=6),
                               showlegend=False, legendgroup=p,
                               hovertemplate=f"{label(p)}<br>mean %{{y:.1%}} ± {200 * s.se if s.n > 1 else 0:.1f} (2 SE)<extra></extra>"),
                          row=1, col=c)
        fig.update_xaxes(tickvals=list(range(len(cfg.networks))),
                         ticktext=["no BN", "BN before", "BN after"], range=[-0.5, 2.6], row=1, col=c)
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", row=1, col=1)
    return _layout(fig, "Final test accuracy: each seed (dot; × = diverged), mean ± 2 standard "
                        "errors (diamond)", 400)


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
    diverged runs (×, with their count), the target (dotted) and each network's trainable range."""
    from plotly.subplots import make_subplots

    cfg = result.config
    fig = make_subplots(rows=1, cols=1)
    _grid_panel(fig, result, 1, 1, result.final)
    _range_bars(fig, result)
    fig.update_xaxes(title_text="learning rate (log scale)")
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.12, 1.12])
    return _layout(fig, f"Final test accuracy after {cfg.steps} steps vs learning rate: median "
                        f"of {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} (line), range (band)", 440)


def _range_bars(fig, result):
    """Each network's trainable range as a thick bar above the curves."""
    cfg = result.config
    settings = cfg.settings
    for i, p in enumerate(cfg.networks):
        accs = [result.final(result.select(p, setting=v)) for v in settings]
        r = trainable_range(settings, accs, cfg.target)
        y = 1.06 + 0.035 * i
        if r is None:
            continue
        fig.add_trace(dict(type="scatter", x=[r[0], r[1]], y=[y, y], mode="lines",
                           line=dict(color=COLORS[p], width=7), showlegend=False,
                           hovertemplate=f"{label(p)} trains from {r[0]:g} to {r[1]:g}<extra></extra>"),
                      row=1, col=1)
        fig.add_annotation(x=math.log10(r[0]), y=y, text=f"{label(p)} trains: {r[0]:g} … {r[1]:g}",
                           showarrow=False, xanchor="right", xshift=-6,
                           font=dict(size=11, color=COLORS[p]), row=1, col=1)


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
    return _layout(fig, f"Batch size, {cfg.steps} steps at lr {cfg.lr:g}, {cfg.seeds} seed"
                        f"{'s' if cfg.seeds > 1 else ''} per point (median; band: range)", 460)


def figure(result: SweepResult) -> list:
    """The figures of a sweep, by experiment."""
    exp = result.config.experiment
    if exp == "placement":
        return [placement_figure(result), placement_final_figure(result)]
    return [{"lr": lr_figure, "init": init_figure, "batch": batch_figure}[exp](result)]
