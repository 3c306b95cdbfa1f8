"""What each experiment of the lesson trains and records (plain data, for the cache and the CSV).

    result = run_experiment(config, progress=print)    # every network of it, batched
    result.curves_frame(), result.measures_frame()     # tidy tables (the CSV downloads)

Batching. All the networks of an experiment (its kinds × seeds) are trained together in one
`bn_core.trainer.Run` (one `Stack`, K networks in lockstep): kinds without BN first, then those
with BN, so each BN is one slice of K. Network k has its own seed (initial weights, mini-batch
order, noise), so it is step for step the network a Run of it alone trains: `batched=False`
trains them one by one (the benchmark's reference; the same numbers). The deep linear variant of
the ICS experiment is one `bn_core.why.linear.DeepLinear` (full-batch gradient descent; its own
small loop: a regression network the Stack does not build).

The kinds, per experiment:

    noise       none (without BN), before (BN before the activation), noisy (BN + noise ×s)
    ics         none, before: G and G′ (bn_core.why.probes.ics) at `checks` + 1 evenly spaced steps
    landscape   none, before: the loss and gradient along the gradient (probes.landscape) at them
    scale       wd0, wd1, …: BN networks with each weight decay; x10: the first decay's networks
                with every hidden W multiplied by SCALE_FACTOR before the first step

The probes run on a measurement batch of `batch_size` training examples drawn for each
checkpoint c from its own generator (seeded by the first seed and c), the same for every network;
the training mini-batches are untouched, and a probe changes nothing (probes module doc).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from bn_core.batchnorm import PYTORCH_EPS, PYTORCH_MOMENTUM
from bn_core.data import load_dataset
from bn_core.engine import NetSpec
from bn_core.lab.measures import jitter_and_drift
from bn_core.records import History
from bn_core.trainer import Run, TrainConfig
from bn_core.why import probes
from bn_core.why.config import SCALE_FACTOR, WhyConfig, decay_index
from bn_core.why.linear import DeepLinear, problem

__all__ = [
    "DLN_EXAMPLES",
    "DLN_WIDTH",
    "KIND_LABELS",
    "MAX_WORK",
    "Member",
    "WhyResult",
    "measure_batch",
    "members",
    "run_experiment",
    "spec",
    "train_config",
]

KIND_LABELS = {"none": "without BN", "before": "with BN", "noisy": "noisy BN",
               "x10": f"W × {SCALE_FACTOR:g}"}
DLN_WIDTH = 10             # the paper's DLN: 10 × 10 weights
DLN_EXAMPLES = 500         # the paper used 1,000 (half: twice as fast)
CURVE_POINTS = 40          # snapshots over a run (noise, scale)
MAX_WORK = 1.5e11          # multiply-adds with the probes (≈ 3× the largest default)


def kind_label(config: WhyConfig, kind: str) -> str:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    return f"weight decay {config.decays[decay_index(kind)]:g}"


@dataclass(frozen=True)
class Member:
    kind: str
    seed: int


def members(config: WhyConfig) -> list[Member]:
    """The networks, kind by kind (placements contiguous), seed by seed."""
    return [Member(kind, s) for kind in config.kinds for s in config.seed_list]


def spec(config: WhyConfig, m: Member) -> NetSpec:
    lr = config.dln_lr if config.experiment == "ics" and config.network == "linear" else config.lr
    i = decay_index(m.kind)
    decay = 0.0 if i is None else config.decays[i]
    return NetSpec("none" if m.kind == "none" else "before", float(lr), PYTORCH_EPS,
                   PYTORCH_MOMENTUM, None, int(m.seed), weight_decay=float(decay),
                   noise=float(config.noise) if m.kind == "noisy" else 0.0)


def train_config(config: WhyConfig) -> TrainConfig:
    """The Run's config: the experiment's network and its snapshot spacing."""
    every = {"noise": config.steps // CURVE_POINTS, "scale": config.steps // CURVE_POINTS}.get(
        config.experiment, config.steps // config.checks)
    return TrainConfig(dataset=config.dataset, depth=config.depth, width=config.width,
                       activation=config.activation, optimizer="sgd", lr=config.lr,
                       batch_size=config.batch_size, steps=config.steps,
                       record_every=max(1, every), seed=config.seed)


def measure_batch(n: int, batch_size: int, seed: int, c: int) -> np.ndarray:
    """Indices of checkpoint c's measurement batch among n training examples."""
    return np.random.default_rng([int(seed), 7919, int(c)]).choice(n, min(batch_size, n),
                                                                   replace=False)


def work(config: WhyConfig) -> float:
    """Multiply-adds of an experiment, ≈ 3 × passes × networks × examples × weights, where the
    passes are the training steps plus the probes' (ICS: layers + 2, landscape: points + 1)."""
    if config.experiment == "ics" and config.network == "linear":
        weights, n, steps = config.dln_depth * DLN_WIDTH ** 2, DLN_EXAMPLES, config.dln_steps
        return 3.0 * (steps + (config.checks + 1) * (config.dln_depth + 2)) * \
            2 * config.seeds * n * weights
    data = load_dataset(config.dataset)
    dims = [data.n_features, *config.hidden, data.n_classes]
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    extra = {"ics": config.depth + 3, "landscape": config.points + 1}.get(config.experiment, 0)
    passes = config.steps + (config.checks + 1) * extra
    return 3.0 * passes * len(members(config)) * config.batch_size * weights


def check(config: WhyConfig) -> None:
    """ValueError, saying what to reduce, where an experiment is too big to run here."""
    w = work(config)
    if w > MAX_WORK:
        raise ValueError(f"this experiment is {w / MAX_WORK:.1f}× larger than allowed: use fewer "
                         "seeds, steps or measurements, or a smaller network")


# ----------------------------------------------------------------------------- results

@dataclass
class WhyResult:
    """Every network of one experiment; arrays have the members (M, in `members` order) first."""

    config: WhyConfig
    members: list[Member]
    steps: np.ndarray                 # (T,) the recorded steps
    test_acc: np.ndarray              # (M, T) eval-mode test accuracy (nan once diverged);
                                      # linear network: nan (it has no test set)
    loss: np.ndarray                  # (M, T) mean training loss since the previous record
    diverged_at: np.ndarray           # (M,) the step of divergence, −1: none
    n_test: int = 0
    n_classes: int = 0
    seconds: float = 0.0              # wall time of the training and the probes
    cpu_seconds: float = 0.0          # the process's CPU time for them
    batched: bool = True
    history: History | None = None    # noise: the first seed's three networks, by kind
    jitter: np.ndarray | None = None  # noise: (M, L) jitter around the trend, in stds, per layer
    drift: np.ndarray | None = None   # noise: (M, L) the slow drift per 100 steps, per layer
    check_steps: np.ndarray | None = None       # ics, landscape: (C,) the measured steps
    ics_layers: list[int] = field(default_factory=list)   # ics: measured layers (0-based)
    ics_diff: np.ndarray | None = None           # (M, C, layers) ‖G − G′‖
    ics_cos: np.ndarray | None = None            # (M, C, layers) cos(G, G′)
    ics_gnorm: np.ndarray | None = None          # (M, C, layers) ‖G‖
    factors: np.ndarray | None = None            # landscape: (J,) step factors
    land_loss: np.ndarray | None = None          # (M, C, J) loss along the gradient
    land_loss0: np.ndarray | None = None         # (M, C) loss at the point
    land_change: np.ndarray | None = None        # (M, C, J) ‖∇L(θ − ηg) − ∇L(θ)‖
    land_distance: np.ndarray | None = None      # (M, C, J) ‖ηg‖
    norms: np.ndarray | None = None              # scale: (M, T, L) ‖W_l‖ (Frobenius)
    grad0: np.ndarray | None = None              # scale: (M, L) ‖∂L/∂W_l‖ at step 0

    def index(self, kind: str) -> np.ndarray:
        return np.array([i for i, m in enumerate(self.members) if m.kind == kind], dtype=int)

    @property
    def chance(self) -> float:
        return 1.0 / self.n_classes if self.n_classes else math.nan

    def final_acc(self, kind: str) -> np.ndarray:
        """(seeds,) final test accuracy; a diverged network counts as chance."""
        i = self.index(kind)
        return np.where(self.diverged_at[i] >= 0, self.chance, self.test_acc[i, -1])

    def label(self, kind: str) -> str:
        return kind_label(self.config, kind)

    def curves_frame(self):
        """One row per network and recorded step (the CSV): accuracy, loss, ‖W‖ per layer."""
        import pandas as pd

        rows = []
        for i, m in enumerate(self.members):
            for t, step in enumerate(self.steps):
                row = {"experiment": self.config.experiment, "network": self.label(m.kind),
                       "seed": m.seed, "step": int(step), "test_accuracy": self.test_acc[i, t],
                       "training_loss": self.loss[i, t]}
                if self.norms is not None:
                    row.update({f"W{l + 1}_norm": self.norms[i, t, l]
                                for l in range(self.norms.shape[2])})
                rows.append(row)
        return pd.DataFrame(rows)

    def measures_frame(self):
        """One row per network and measurement (the CSV): the probes' numbers; for the noise
        experiment each layer's jitter and drift; for the scale experiment ‖∂L/∂W‖ at step 0."""
        import pandas as pd

        rows = []
        for i, m in enumerate(self.members):
            base = {"network": self.label(m.kind), "seed": m.seed}
            if self.jitter is not None:
                rows += [{**base, "layer": l + 1, "jitter_in_stds": j, "drift_per_100_steps": d}
                         for l, (j, d) in enumerate(zip(self.jitter[i], self.drift[i]))]
            if self.grad0 is not None:
                rows += [{**base, "layer": l + 1, "grad_norm_step0": v}
                         for l, v in enumerate(self.grad0[i])]
            if self.ics_diff is not None:
                for c, step in enumerate(self.check_steps):
                    rows += [{**base, "step": int(step), "layer": l + 1,
                              "G_minus_Gprime": self.ics_diff[i, c, r], "cos_G_Gprime":
                              self.ics_cos[i, c, r], "G_norm": self.ics_gnorm[i, c, r]}
                             for r, l in enumerate(self.ics_layers)]
            if self.land_loss is not None:
                for c, step in enumerate(self.check_steps):
                    rows += [{**base, "step": int(step), "step_factor": f, "loss_at_point":
                              self.land_loss0[i, c], "loss": self.land_loss[i, c, j],
                              "grad_change": self.land_change[i, c, j],
                              "distance": self.land_distance[i, c, j]}
                             for j, f in enumerate(self.factors)]
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- training

def run_experiment(config: WhyConfig, progress: Callable[[float, str], None] | None = None,
                   batched: bool = True) -> WhyResult:
    """Train and measure every network of the experiment (module doc). progress(fraction done,
    what) is called at every record."""
    check(config)
    tell = progress or (lambda fraction, what: None)
    t0, c0 = time.perf_counter(), time.process_time()
    group = members(config)
    jobs = [group] if batched else [[m] for m in group]
    parts = []
    for j, job in enumerate(jobs):
        def tick(fraction, j=j):
            tell((j + fraction) / len(jobs), "training and measuring" if config.experiment in
                 ("ics", "landscape") else "training")
        if config.experiment == "ics" and config.network == "linear":
            parts.append(_train_linear(config, job, tick))
        else:
            parts.append(_train_mlp(config, job, tick))
    result = _merge(config, parts, batched)
    result.seconds, result.cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return result


def _train_mlp(config: WhyConfig, job: list[Member], tick) -> dict:
    """One Run of the job's networks; the records and probes of each (a dict of arrays)."""
    exp = config.experiment
    names = [f"{m.kind}/{m.seed}" for m in job]
    run = Run(train_config(config), networks=names, specs=[spec(config, m) for m in job],
              layers="all" if exp == "noise" else "ends", early=exp == "noise")
    st = run.stack
    with torch.no_grad():
        for k, m in enumerate(job):
            if m.kind == "x10":
                for W in st.W:
                    W[k] *= SCALE_FACTOR
    x, y = run.data.x_train.numpy(), run.data.y_train.numpy()
    out = {"names": names, "steps": [], "acc": [], "loss": [], "ics": [], "landscape": [],
           "norms": []}
    for frame in run.stream():
        out["steps"].append(run.step)
        out["acc"].append([frame[n].test_acc if n in frame else math.nan for n in names])
        out["loss"].append([frame[n].loss if n in frame else math.nan for n in names])
        if exp == "scale":
            out["norms"].append([_norms(W) for W in st.W])                # L × (K,)
            if run.step == 0:
                out["grad0"] = [[rec.grad_norm for rec in frame[n].layers] for n in names]
        if exp in ("ics", "landscape"):
            i = measure_batch(len(x), config.batch_size, config.seed, len(out["steps"]) - 1)
            probe = probes.ics if exp == "ics" else _landscape(config.points)
            out[exp].append(probe(st, x[i], y[i]))
        tick(run.step / max(1, config.steps))
    out["divergence"] = {n: d.step for n, d in run.history.divergence.items()}
    out["history"], out["n_test"] = run.history, len(run.data.x_test)
    out["n_classes"] = run.data.n_classes
    return out


def _landscape(points: int):
    factors = probes.step_factors(points)
    return lambda st, x, y: probes.landscape(st, x, y, factors)


def _norms(W: torch.Tensor) -> np.ndarray:
    return np.linalg.norm(W.reshape(W.shape[0], -1).double().numpy(), axis=1)


def _train_linear(config: WhyConfig, job: list[Member], tick) -> dict:
    """The deep linear networks of the job, full batch, with G and G′ at the checkpoints."""
    data = problem(DLN_WIDTH, DLN_EXAMPLES, seed=config.seed)
    net = DeepLinear(DLN_WIDTH, config.dln_depth, [spec(config, m) for m in job])
    steps = config.dln_steps
    checks = set(np.linspace(0, steps, config.checks + 1).round().astype(int).tolist())
    out = {"names": [f"{m.kind}/{m.seed}" for m in job], "steps": [], "acc": [], "loss": [],
           "ics": [], "divergence": {}}
    for step in range(steps + 1):
        if step in checks:
            sample = probes.ics(net, data.x, data.target)
            out["steps"].append(step)
            out["ics"].append(sample)
            out["loss"].append(sample.loss.tolist())
            out["acc"].append([math.nan] * len(job))
            tick(step / steps)
        if step == steps:
            break
        out_ = net.forward(data.x)
        loss, d = net.loss_and_dlogits(out_, data.target)
        bad = ~torch.isfinite(loss) & net.active
        for k in torch.nonzero(bad).flatten().tolist():
            out["divergence"][out["names"][k]] = step
        net.active &= torch.isfinite(loss)
        net.backward(d)
        net.optimizer_step()
    return out


def _stack(parts: list[dict], get, T: int) -> np.ndarray:
    """(M, T, …) from each part's (K_p, T_p, …) array get(part), NaN after T_p (a run whose
    networks all diverged stops early; the steps it has are the first of the others')."""
    out = []
    for p in parts:
        a = np.asarray(get(p), dtype=float)
        if a.shape[1] < T:
            a = np.concatenate([a, np.full((a.shape[0], T - a.shape[1], *a.shape[2:]), np.nan)], 1)
        out.append(a)
    return np.concatenate(out)


def _merge(config: WhyConfig, parts: list[dict], batched: bool) -> WhyResult:
    """The jobs' records as one WhyResult, in `members` order."""
    steps = np.array(max((p["steps"] for p in parts), key=len))
    T = len(steps)
    names = [n for p in parts for n in p["names"]]
    div = {n: s for p in parts for n, s in p["divergence"].items()}
    result = WhyResult(config, members(config), steps,
                       _stack(parts, lambda p: np.array(p["acc"]).T, T),
                       _stack(parts, lambda p: np.array(p["loss"]).T, T),
                       np.array([div.get(n, -1) for n in names]),
                       n_test=parts[0].get("n_test", 0), n_classes=parts[0].get("n_classes", 0),
                       batched=batched)
    exp = config.experiment
    if exp == "noise":
        result.history = _first_seed_history(config, parts)
        jd = np.array([[jitter_and_drift(p["history"], n, l) for l in range(config.depth)]
                       for p in parts for n in p["names"]])                     # (M, L, 2)
        result.jitter, result.drift = jd[..., 0], jd[..., 1]
    if exp == "scale":
        result.norms = _stack(parts, lambda p: np.array(p["norms"]).transpose(2, 0, 1), T)
        result.grad0 = np.concatenate([np.array(p["grad0"], dtype=float) for p in parts])
    if exp == "ics":
        result.check_steps, result.ics_layers = steps, parts[0]["ics"][0].layers
        for key, name in (("diff", "ics_diff"), ("cos", "ics_cos"), ("g_norm", "ics_gnorm")):
            setattr(result, name, _stack(parts, lambda p, key=key: np.array(
                [getattr(s, key) for s in p["ics"]]).transpose(2, 0, 1), T))      # (M, C, layers)
    if exp == "landscape":
        result.check_steps, result.factors = steps, parts[0]["landscape"][0].factors
        for key, name in (("loss", "land_loss"), ("change", "land_change"),
                          ("distance", "land_distance")):
            setattr(result, name, _stack(parts, lambda p, key=key: np.array(
                [getattr(s, key) for s in p["landscape"]]).transpose(1, 0, 2), T))     # (M, C, J)
        result.land_loss0 = _stack(parts, lambda p: np.array([s.loss0 for s in p["landscape"]]).T,
                                   T)
    for i, n in enumerate(names):                    # nothing from the divergence on
        if div.get(n, -1) >= 0:
            after, late = steps > div[n], steps >= div[n]
            result.test_acc[i, after] = result.loss[i, after] = np.nan
            for name in ("ics_diff", "ics_cos", "ics_gnorm", "land_loss", "land_change",
                         "land_loss0", "norms"):
                value = getattr(result, name)
                if value is not None:
                    value[i, late] = np.nan
    return result


def _first_seed_history(config: WhyConfig, parts: list[dict]) -> History:
    """A History of the first seed's three networks, named by kind (for the lab's panels)."""
    seed, frames, kinds = config.seed_list[0], None, config.kinds
    for p in parts:
        h = p["history"]
        mine = {k: f"{k}/{seed}" for k in kinds if f"{k}/{seed}" in p["names"]}
        if frames is None:
            frames = [{} for _ in h.frames]
            edges, cfg, probe = h.edges, h.config, h.probe_size
        for t, f in enumerate(h.frames):
            frames[t].update({k: f[n] for k, n in mine.items() if n in f})
    out = History(cfg, list(kinds), edges, frames, probe_size=probe)
    out.divergence = {k: d for p in parts for k in kinds
                      for n, d in p["history"].divergence.items() if n == f"{k}/{seed}"}
    return out
