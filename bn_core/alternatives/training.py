"""The lesson's training and results: which networks each experiment trains, batched how, and
what each one did (plain data, picklable for Streamlit's cache).

    plan(config)            the jobs: (batch size, steps, lr, members), one `Run` each
    run_experiment(config)  trains them with the one training loop (bn_core.trainer.Run)

Every network of a job shares the batch size (N) and trains in one `Run`: K = networks × seeds in
lockstep, each with its own NetSpec (normaliser, dropout) and its own mini-batches and dropout
masks from its seed, so a network is step for step the network a Run of it alone would train
(`run_experiment(config, batched=False)` trains them one by one: the benchmark's reference).

A small training set. The regularisation experiment trains on `train_size` examples of the
digits' training set, the same class-balanced part for every network (`small_training_set`), so
that the networks can overfit: `Run(train_idx=…)` draws every seed's mini-batches from those
examples only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bn_core.alternatives.config import GROUP_LABELS, NormsConfig
from bn_core.data import N_CLASSES, N_FEATURES, load_dataset
from bn_core.engine import NetSpec, Stack
from bn_core.kernels import act
from bn_core.norms import batchrenorm_limits
from bn_core.normalizers import evaluate
from bn_core.trainer import BatchOrder, Run, TrainConfig

__all__ = ["Member", "Job", "NetworkResult", "Result", "plan", "spec", "work", "check",
           "run_experiment", "small_training_set", "renorm_schedule",
           "bn_inputs", "dropout_prediction", "recompute_statistics", "CURVE_POINTS", "MAX_WORK",
           "MAX_STEPS"]

DATASET = "digits"
CURVE_POINTS = 25          # test accuracy recorded about this many times per network
MAX_WORK = 4e11            # multiply-adds of one experiment (≈ 3× the largest default), `work`
MAX_STEPS = 20_000         # optimizer steps of one experiment, summed over its jobs
SUBSET_SEED = 0            # which small training set (the same for every network and seed)
DIGITS_TRAIN = 1437        # the digits' training set (80% of 1,797; bn_core.data)


@dataclass(frozen=True)
class Member:
    """One network: its kind (regular: a regulariser; shift: where dropout goes, "all" or
    "last"; batch: a normaliser), its batch size and its seed."""

    group: str
    batch_size: int
    seed: int


@dataclass(frozen=True)
class Job:
    batch_size: int
    steps: int
    lr: float
    members: tuple[Member, ...]


def spec(config: NormsConfig, m: Member, lr: float) -> NetSpec:
    """The NetSpec of a member: BN (or the normaliser) before the activation, as the paper."""
    common = dict(lr=lr, seed=int(m.seed))
    p = float(config.dropout)
    if config.experiment == "regular":
        return NetSpec("before" if m.group.startswith("bn") else "none",
                       dropout=p if m.group.endswith("dropout") else 0.0, **common)
    if config.experiment == "shift":
        return NetSpec("before", dropout=p, dropout_layers=m.group, **common)
    if m.group == "none":
        return NetSpec("none", **common)
    return NetSpec("before", norm=m.group, groups=int(config.groups) if m.group == "group" else 1,
                   **common)


def _groups(config: NormsConfig) -> list[str]:
    return {"regular": ["none", "dropout", "bn", "bn_dropout"], "shift": ["all", "last"],
            "batch": list(config.norms)}[config.experiment]


def _n_train(config: NormsConfig) -> int:
    """The training examples: the small set (regular) or all the digits' training set."""
    return int(config.train_size) if config.experiment == "regular" else DIGITS_TRAIN


def plan(config: NormsConfig) -> list[Job]:
    """The jobs of an experiment, one per batch size; within a job the members are grouped by
    kind (the engine runs a normaliser on contiguous slices of K)."""
    sizes = [int(config.batch_size)] if config.experiment == "shift" else list(config.batch_sizes)
    n = _n_train(config)
    return [Job(b, config.steps_for(b, n), config.lr_for(b),
                tuple(Member(g, b, s) for g in _groups(config) for s in config.seed_list))
            for b in sizes]


def work(config: NormsConfig) -> float:
    """Multiply-adds of the training, ≈ 3 (forward, two backward products) × steps × networks ×
    batch × weights per network. The defaults are ≈ 1.4 × 10¹¹ (regular) or less."""
    dims = [N_FEATURES[DATASET], *config.hidden, N_CLASSES[DATASET]]
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return sum(3.0 * j.steps * len(j.members) * j.batch_size * weights for j in plan(config))


def check(config: NormsConfig) -> None:
    """Raise ValueError, saying what to reduce, where an experiment is too big to run here."""
    w = work(config)
    if w > MAX_WORK:
        raise ValueError(f"this experiment is {w / MAX_WORK:.1f}× larger than allowed: use fewer "
                         f"seeds, epochs, examples or steps, or a narrower or shallower network")
    steps = sum(j.steps for j in plan(config))
    if steps > MAX_STEPS:
        raise ValueError(f"this experiment takes {steps:,} training steps ({steps / MAX_STEPS:.1f}× "
                         f"more than allowed): fewer epochs or examples, or leave out the "
                         f"smallest batch sizes")


# ----------------------------------------------------------------------------- data, runs

def small_training_set(y: np.ndarray, n: int, seed: int = SUBSET_SEED) -> np.ndarray:
    """Sorted indices of n training examples, as even across the classes as n allows (the
    first n mod C classes get one more), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    if n >= len(y):
        return np.arange(len(y))
    per = [n // len(classes) + (i < n % len(classes)) for i in range(len(classes))]
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                                   for c, k in zip(classes, per)]))


def renorm_schedule(steps: int) -> Callable[[int], tuple[float, float]]:
    """Batch Renorm's r_max/d_max schedule for a run of `steps`: the paper's (BN for 5,000
    steps, d_max 0 → 5 by 25,000, r_max 1 → 3 by 40,000) as 5%, 25% and 40% of the run."""
    warm, d_at, r_at = (max(1, round(f * steps)) for f in (0.05, 0.25, 0.40))
    d_at, r_at = max(d_at, warm + 1), max(r_at, warm + 1)
    return lambda t: batchrenorm_limits(t, warm, r_at, d_at)


def bn_inputs(stack: Stack, x: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, BN's input W·u (K, N, W) in eval mode (no dropout, BN with its running
    statistics) for networks with BN before the activation: what BN meets at test time."""
    u, out, eps = x, [], stack.eps.numpy()
    for l in range(len(stack.hidden)):
        pre = np.matmul(u, stack.W[l].numpy().transpose(0, 2, 1))           # (K, N, W)
        pre += stack.b[l].numpy()[:, None, :]                               # 0 before BN
        out.append(pre)
        z = evaluate("batch", pre, stack.gamma[l].numpy()[:, None, :],
                     stack.beta[l].numpy()[:, None, :], eps, 1, stack.running_mean[l].numpy(),
                     stack.running_var[l].numpy())
        u = act(stack.activation, z)
    return out


def dropout_prediction(stack: Stack, x: np.ndarray, p: float) -> list[np.ndarray]:
    """Per hidden layer l ≥ 2 (list index l − 2), BN's predicted stored ÷ eval-mode variance
    (K, W) where inverted dropout (drop rate p) acts on the layer's input h = g(z_{l−1}) and a
    weight layer W mixes it before BN, x_j = Σ_i W_ji h_i. Dropout multiplies h_i by
    m_i/(1 − p), m_i ~ Bernoulli(1 − p), independently of the data and of each other, so it adds
    the variance (p/(1 − p)) h_i² to each term and nothing to the mean:

        Var_train(x_j) = Var(x_j) + (p/(1 − p)) Σ_i W_ji² E[h_i²]
        predicted_j   = 1 + (p/(1 − p)) Σ_i W_ji² E[h_i²] / Var(x_j)       (eval-mode h over x)

    One unit fed straight to BN (W = 1, h of mean c, variance v) gives Li et al.'s
    1/(1 − p) + (c²/v)(1/(1 − p) − 1): a nonzero mean raises it. Through W the signal terms add
    up coherently (Var(x_j) grows with the correlations of the h_i) while the dropout terms add up
    independently, so the ratio falls towards 1. (What dropout in earlier layers does to h
    itself is left out: the prediction for layer 2 is the cleanest.)"""
    pre = bn_inputs(stack, x)                                                # [(K, N, W)]
    out, eps = [], stack.eps.numpy()
    for l in range(1, len(pre)):
        z = evaluate("batch", pre[l - 1], stack.gamma[l - 1].numpy()[:, None, :],
                     stack.beta[l - 1].numpy()[:, None, :], eps, 1,
                     stack.running_mean[l - 1].numpy(), stack.running_var[l - 1].numpy())
        h = act(stack.activation, z)                                         # (K, N, W_in)
        w = stack.W[l].numpy()                                               # (K, W, W_in)
        added = p / (1 - p) * np.einsum("kji,ki->kj", w.astype(np.float64) ** 2,
                                        (h.astype(np.float64) ** 2).mean(1))  # (K, W)
        with np.errstate(all="ignore"):
            out.append(1 + added / pre[l].astype(np.float64).var(1))
    return out


def recompute_statistics(stack: Stack, x: np.ndarray, batch_size: int, seed: int) -> Stack:
    """Li et al.'s second fix: a copy of the networks with dropout off whose BN running
    statistics are recomputed from scratch, as a cumulative average over one pass of the
    training set x in mini-batches of batch_size (BN in training mode, nothing else changes)."""
    specs = [dataclasses.replace(s, dropout=0.0, momentum=None) for s in stack.specs]
    fresh = Stack(stack.dims[0], stack.hidden, stack.out_dim, stack.activation, specs)
    fresh.flat.copy_(stack.flat)
    order = BatchOrder(len(x), batch_size, seed)
    for _ in range(len(x) // batch_size):
        fresh.forward(x[order.next_numpy()], training=True, update_running=True)
    return fresh


# ----------------------------------------------------------------------------- results

@dataclass
class NetworkResult:
    """What one network did (accuracies as fractions; NaN where it diverged)."""

    member: Member
    steps: np.ndarray                  # (R,) recorded steps
    curve: np.ndarray                  # (R,) eval-mode test accuracy
    test_acc: float                    # final, eval mode
    train_acc: float                   # final, eval mode, on the examples it trained on
    diverged_at: int | None = None
    train_mode_acc: float = math.nan   # batch: test accuracy with the normaliser in training mode
    recomputed_acc: float = math.nan   # shift: test accuracy after recomputing BN's statistics

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None


@dataclass
class Result:
    """Every network of one experiment (plain data, picklable for Streamlit's cache). shift:
    `variances[l]` = (running_var, eval_var), each (K, width): BN's stored variance of its input
    (collected with dropout on) and that input's variance in eval mode over the training set;
    `predicted[l − 1]` (K, width), l ≥ 1: their ratio as `dropout_prediction` predicts it."""

    config: NormsConfig
    networks: list[NetworkResult]
    n_classes: int
    n_test: int
    n_train: int
    seconds: float = 0.0
    batched: bool = True
    variances: list = field(default_factory=list)
    predicted: list = field(default_factory=list)

    @property
    def resolution(self) -> float:
        return 1.0 / self.n_test

    @property
    def chance(self) -> float:
        return 1.0 / self.n_classes

    def select(self, group: str | None = None, batch_size: int | None = None):
        return [r for r in self.networks if (group is None or r.member.group == group)
                and (batch_size is None or r.member.batch_size == batch_size)]

    def values(self, runs: Sequence[NetworkResult], what: str = "test_acc") -> np.ndarray:
        """One value per run, a diverged run counted as chance (1 / classes)."""
        return np.array([self.chance if r.diverged else getattr(r, what) for r in runs])

    def summary_frame(self):
        """One row per network (the CSV download)."""
        import pandas as pd

        cfg = self.config
        return pd.DataFrame([{
            "experiment": cfg.experiment, "network": r.member.group, "seed": r.member.seed,
            "batch_size": r.member.batch_size, "lr": cfg.lr_for(r.member.batch_size),
            "steps": int(r.steps[-1]), "train_accuracy": r.train_acc,
            "test_accuracy": r.test_acc, "gap": r.train_acc - r.test_acc,
            "train_mode_test_accuracy": r.train_mode_acc,
            "recomputed_test_accuracy": r.recomputed_acc, "diverged": r.diverged,
            "diverged_at_step": r.diverged_at} for r in self.networks]).dropna(axis=1, how="all")

    def summary_table(self):
        """Per network kind and batch size: the means over seeds of the summary's numbers, and
        how many runs diverged (the page's table)."""
        frame = self.summary_frame()
        labels = GROUP_LABELS[self.config.experiment]
        frame = frame.assign(network=frame["network"].map(labels)).drop(
            columns=["experiment", "seed", "diverged_at_step"], errors="ignore")
        return frame.groupby(["network", "batch_size"], sort=False).agg(
            {c: "sum" if c == "diverged" else "mean" for c in frame.columns
             if c not in ("network", "batch_size")}).reset_index()


# ----------------------------------------------------------------------------- training

def _accuracy(stack: Stack, x, y) -> np.ndarray:
    return (stack.predict(x).numpy().argmax(2) == y).mean(1)                    # (K,)


def _train_mode_accuracy(stack: Stack, x, y, batch_size: int) -> np.ndarray:
    """Test accuracy with the normalisers in training mode, the test set cut into mini-batches
    of batch_size (a last batch of one joins the one before)."""
    edges = list(range(0, len(x), batch_size)) + [len(x)]
    if len(edges) > 2 and edges[-1] - edges[-2] < 2:
        edges.pop(-2)
    correct = np.zeros(stack.K)
    for a, b in zip(edges[:-1], edges[1:]):
        logits = stack.forward(x[a:b], training=True, update_running=False).numpy()
        correct += (logits.argmax(2) == y[a:b]).sum(1)
    return correct / len(x)


def train_job(config: NormsConfig, job: Job, members: Sequence[Member], train_idx,
              progress: Callable[[int], None] | None = None):
    """Train `members` of `job` together in one Run; returns (results, run)."""
    tc = TrainConfig(dataset=DATASET, depth=config.depth, width=config.width,
                     activation=config.activation, optimizer="sgd", batch_size=job.batch_size,
                     steps=job.steps, record_every=max(1, job.steps // CURVE_POINTS))
    run = Run(tc, train_idx=train_idx, specs=[spec(config, m, job.lr) for m in members],
              networks=[str(k) for k in range(len(members))], layers="ends", early=False)
    if any(m.group == "renorm" for m in members):
        run.stack.renorm_schedule = renorm_schedule(job.steps)
    for _ in run.stream():
        if progress is not None:
            progress(run.step)
    st, d = run.stack, run.data
    x_test, y_test = d.x_test.numpy(), d.y_test.numpy()
    test, train = _accuracy(st, x_test, y_test), _accuracy(st, *run.train_set)
    train_mode = (_train_mode_accuracy(st, x_test, y_test, job.batch_size)
                  if config.experiment == "batch" else np.full(st.K, np.nan))
    recomputed = np.full(st.K, np.nan)
    if config.experiment == "shift":
        fresh = recompute_statistics(st, run.train_set[0], job.batch_size, config.seed)
        recomputed = _accuracy(fresh, x_test, y_test)
    h, results = run.history, []
    steps = np.array([max(s.step for s in f.values()) for f in h.frames])
    for k, m in enumerate(members):
        div = h.divergence.get(run.networks[k])
        acc = {s.step: s.test_acc for s in h.snapshots(run.networks[k])}
        nan = div is not None
        results.append(NetworkResult(
            m, steps, np.array([acc.get(int(s), math.nan) for s in steps]),
            math.nan if nan else float(test[k]), math.nan if nan else float(train[k]),
            None if div is None else div.step, math.nan if nan else float(train_mode[k]),
            math.nan if nan else float(recomputed[k])))
    return results, run


def run_experiment(config: NormsConfig, progress: Callable[[float, str], None] | None = None,
                   batched: bool = True) -> Result:
    """Train every network of the experiment and return the results. batched=False: one Run per
    network (the same networks, slower: the benchmark's reference). progress(fraction, message)
    is called at every snapshot."""
    check(config)
    data = load_dataset(DATASET)
    train_idx = (small_training_set(data.y_train.numpy(), int(config.train_size))
                 if config.experiment == "regular" else None)
    n_train = data.x_train.shape[0] if train_idx is None else len(train_idx)
    groups = [(job, [list(job.members)] if batched else [[m] for m in job.members])
              for job in plan(config)]
    costs = [job.steps * len(ms) * (job.batch_size + 60) for job, g in groups for ms in g]
    total, done, t0, networks, runs = float(sum(costs)), 0.0, time.perf_counter(), [], []
    i = 0
    for job, parts in groups:
        what = f"training with batch size {job.batch_size}"
        for members in parts:
            cost = costs[i]
            i += 1

            def tick(step, done=done, cost=cost, steps=job.steps, what=what):
                if progress is not None:
                    progress(min(1.0, (done + cost * step / steps) / total), what)

            results, run = train_job(config, job, members, train_idx, tick)
            networks += results
            runs.append((members, run))
            done += cost
    result = Result(config, networks, data.n_classes, int(data.x_test.shape[0]), n_train,
                    time.perf_counter() - t0, batched)
    if config.experiment == "shift":
        result.variances = _variances(runs, data.x_train.numpy())
        result.predicted = [np.concatenate(parts) for parts in zip(*(
            dropout_prediction(run.stack, data.x_train.numpy(), float(config.dropout))
            for _, run in runs))]
    return result


def _variances(runs, x_train) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per hidden layer (running_var, eval_var), each (networks, width), in member order."""
    per_layer = None
    for _, run in runs:
        st = run.stack
        pre = bn_inputs(st, x_train)
        layer = [(st.running_var[l].numpy().copy(), pre[l].var(1)) for l in range(len(pre))]
        per_layer = layer if per_layer is None else [
            (np.concatenate([a, c]), np.concatenate([b, d]))
            for (a, b), (c, d) in zip(per_layer, layer)]
    return per_layer or []
