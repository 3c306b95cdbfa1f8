"""The experiments' training and results: which networks a sweep trains, how they are batched,
and what each one did.

    plan(config)        the stacks: (activation, batch size, members), one Stack each
    run_sweep(config)   trains them with the one training loop, bn_core.trainer.Run, and
                        returns a SweepResult (plain data, picklable for Streamlit's cache)

Batching. The networks of a sweep that share an activation and a batch size are trained together
in one `Run` (K = settings × seeds networks in lockstep, batched products); a batch-size sweep
needs one per batch size (N differs), a depth sweep one per depth (the layers differ). Network k has its own `NetSpec` (placement, lr,
init_scale, seed) and its own mini-batches (`BatchOrder(n_train, batch_size, seed_k)`), so every
network of a sweep is step for step the same network as a `Run` of it alone
(`tests/experiments/test_training.py` checks it; `run_sweep(config, batched=False)` trains them
one by one, the benchmark's reference).

Recorded per network: the test accuracy in eval mode (BN uses its running estimates) about
CURVE_POINTS times, the final accuracy, the first recorded step at which it reaches the target
accuracy, the standard deviation of each hidden layer's activation input over the probe set
(bn_core.records) at step 0 and at the end, and for the batch-size experiment the test accuracy
with BN in training mode (each test mini-batch of the training batch size normalised with its
own statistics). The depth experiment records every layer at every snapshot and keeps, per
layer, its early and late drift, noise floor and whether it collapsed
(bn_core.experiments.drift). A network whose loss becomes NaN or infinite is stopped there and
marked diverged; the others go on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import PYTORCH_EPS, PYTORCH_MOMENTUM
from bn_core.data import N_CLASSES, N_FEATURES, load_dataset
from bn_core.engine import NetSpec
from bn_core.experiments.config import SweepConfig
from bn_core.experiments.drift import layer_drifts
from bn_core.records import network_label
from bn_core.stats import summarize
from bn_core.trainer import Run, TrainConfig

__all__ = ["Member", "NetworkResult", "SweepResult", "plan", "work", "check", "run_sweep",
           "train_job", "summary_table", "MAX_WORK", "MAX_STEPS"]

MAX_WORK = 1.5e11          # multiply-adds of one sweep (≈ 3× the largest default), see `work`
MAX_STEPS = 25_000         # optimizer steps of one sweep, summed over its stacks (batch experiment)


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
    return NetSpec(m.placement, float(lr), PYTORCH_EPS, PYTORCH_MOMENTUM, init, int(m.seed))


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
    if config.experiment == "depth":
        return [(config.activation, config.batch_size,
                 [Member("", p, float(d), s) for p in config.networks for s in seeds])
                for d in config.depths]
    return [(config.activation, config.batch_size,
             [Member("", p, v, s) for p in config.networks for v in config.settings for s in seeds])]


def work(config: SweepConfig, n_features: int | None = None) -> float:
    """Multiply-adds of a sweep's training, ≈ 3 (forward, two backward products) × steps ×
    networks × batch × weights per network. The default sweeps are 1–2 × 10¹⁰."""
    d_in = n_features or N_FEATURES[config.dataset]
    classes = N_CLASSES[config.dataset]
    total = 0.0
    for _, batch, members in plan(config):
        dims = [d_in, *config.hidden_for(members[0].setting), classes]
        weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
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
    z_std_end: np.ndarray              # (L,) … at the last step (nan if diverged); over the
                                       # probe set (bn_core.records), as the lab measures it
    train_mode_acc: float = math.nan   # batch experiment: test accuracy with BN in training mode
    drift_early: np.ndarray | None = None   # depth experiment, (L,) each: drift from step 0 to
    drift_late: np.ndarray | None = None    #   10 % of the steps, and from there to the end;
    noise: np.ndarray | None = None         #   the noise floor; collapsed at the end
    collapsed: np.ndarray | None = None     #   (bn_core.experiments.drift); NaN if diverged

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
                   "activation": m.group or cfg.activation, "network": network_label(m.placement),
                   "placement": m.placement, "seed": m.seed,
                   "lr": m.setting if cfg.experiment == "lr" else cfg.lr,
                   "init_scale": m.setting if cfg.experiment == "init" else cfg.init_scale,
                   "batch_size": int(m.setting) if cfg.experiment == "batch" else cfg.batch_size,
                   "depth": len(r.z_std_start),
                   "steps": int(r.steps[-1]), "final_test_accuracy": r.final_acc,
                   f"steps_to_{cfg.target:g}": r.steps_to_target, "diverged": r.diverged,
                   "diverged_at_step": r.diverged_at}
            if cfg.experiment == "batch":
                row["train_mode_test_accuracy"] = r.train_mode_acc
            for l, (s0, s1) in enumerate(zip(r.z_std_start, r.z_std_end)):
                row[f"layer{l + 1}_input_std_step0"] = s0
                row[f"layer{l + 1}_input_std_end"] = s1
            if r.drift_late is not None:
                for l in range(len(r.drift_late)):
                    row[f"layer{l + 1}_drift_early"] = r.drift_early[l]
                    row[f"layer{l + 1}_drift_late"] = r.drift_late[l]
                    row[f"layer{l + 1}_noise_floor"] = r.noise[l]
                    row[f"layer{l + 1}_collapsed"] = bool(r.collapsed[l])
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
                             "network": network_label(m.placement), "setting": m.setting,
                             "seed": m.seed, "step": int(step), "test_accuracy": acc})
        return pd.DataFrame(rows)


def summary_table(result: SweepResult):
    """Per network and setting (and activation): seeds, mean ± sd, the half-width t·SE of its
    95% interval (Student's t, seeds − 1 df; both left out with one seed: no spread), median,
    min, max of the final test accuracy (a diverged run counted as chance), runs diverged,
    median steps to the target, and for the batch experiment the steps trained and the mean
    training-mode accuracy of the runs that did not diverge. A pandas DataFrame."""
    import pandas as pd

    cfg = result.config
    rows = []
    groups = list(cfg.activations) if cfg.experiment == "placement" else [""]
    settings = cfg.settings or [math.nan]
    setting_name = {"lr": "learning rate", "init": "init std", "batch": "batch size",
                    "depth": "hidden layers"}.get(cfg.experiment)
    for g in groups:
        for p in cfg.networks:
            for v in settings:
                runs = result.select(p, g if g else None, None if math.isnan(v) else v)
                s = summarize(result.final(runs))
                reached = [r.steps_to_target for r in runs if math.isfinite(r.steps_to_target)]
                row = {}
                if g:
                    row["activation"] = g
                row["network"] = network_label(p)
                if setting_name:
                    row[setting_name] = int(v) if cfg.experiment in ("batch", "depth") else v
                if cfg.experiment == "batch":
                    row["steps"] = cfg.steps_for(int(v))
                row.update({"seeds": s.n, "mean": s.mean}
                           | ({"sd": s.sd, "± t·SE (95%)": s.half_width()} if s.n > 1 else {})
                           | {"median": s.median, "min": s.lo, "max": s.hi,
                              "diverged": sum(r.diverged for r in runs),
                              f"reached {cfg.target:.0%}": f"{len(reached)}/{len(runs)}",
                              "median steps to it": float(np.median(reached)) if reached
                              else math.nan})
                if cfg.experiment == "batch":
                    tm = [r.train_mode_acc for r in runs if not r.diverged]
                    row["training-mode mean (runs that trained)"] = (float(np.mean(tm)) if tm
                                                                     else math.nan)
                rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- training

def _test_chunks(n_test: int, batch_size: int) -> list[slice]:
    """The test set cut into consecutive mini-batches of batch_size (the last one shorter; a
    last chunk of one example joins the one before, since BN needs two values per unit)."""
    edges = list(range(0, n_test, batch_size)) + [n_test]
    if len(edges) > 2 and edges[-1] - edges[-2] < 2:
        edges.pop(-2)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def train_job(config: SweepConfig, activation: str, batch_size: int,
              members: Sequence[Member], progress: Callable[[int], None] | None = None,
              train_mode: bool = False) -> list[NetworkResult]:
    """Train `members` together in one `Run` for config.steps_for(batch_size) steps and return
    what each did (see the module doc). progress(steps_done) is called at every snapshot."""
    steps = config.steps_for(batch_size)
    depth = len(config.hidden_for(members[0].setting))
    measure_drift = config.experiment == "depth"
    job = TrainConfig(dataset=config.dataset, depth=depth, width=config.width,
                      activation=activation, optimizer=config.optimizer, batch_size=batch_size,
                      steps=steps, record_every=config.record_every_for(batch_size))
    run = Run(job, networks=[str(k) for k in range(len(members))],
              specs=[_spec(config, m) for m in members],
              layers="all" if measure_drift else "ends", early=False)
    for frame in run.stream():
        if progress is not None:
            progress(run.step)
    train_acc = np.full(len(members), np.nan)
    if train_mode:                        # BN in training mode: each test batch its own statistics
        data, correct = run.data, np.zeros(len(members))
        for chunk in _test_chunks(data.x_test.shape[0], batch_size):
            logits = run.stack.forward(data.x_test[chunk], training=True, update_running=False)
            correct += (logits.argmax(2) == data.y_test[chunk]).double().sum(1).numpy()
        train_acc = correct / data.x_test.shape[0]
    h = run.history
    steps_arr = np.array([max(s.step for s in f.values()) for f in h.frames])
    results = []
    for k, m in enumerate(members):
        name = run.networks[k]
        div = h.divergence.get(name)
        acc = {s.step: s.test_acc for s in h.snapshots(name)}
        curve = np.array([acc.get(int(s), math.nan) for s in steps_arr])
        reached = np.flatnonzero(curve >= config.target)
        first, last = h.frames[0][name].layers, h.frames[-1].get(name)
        std = lambda layers: np.array([rec.std for rec in layers])  # noqa: E731
        drifts = layer_drifts(h, name, depth, steps) if measure_drift else (None,) * 4
        results.append(NetworkResult(
            member=m, steps=steps_arr, test_acc=curve,
            final_acc=math.nan if div is not None else float(curve[-1]),
            steps_to_target=float(steps_arr[reached[0]]) if reached.size else math.nan,
            diverged_at=None if div is None else div.step, z_std_start=std(first),
            z_std_end=(np.full(depth, np.nan) if div is not None or last is None
                       else std(last.layers)),
            train_mode_acc=math.nan if div is not None else float(train_acc[k]),
            drift_early=drifts[0], drift_late=drifts[1], noise=drifts[2], collapsed=drifts[3]))
    return results


def run_sweep(config: SweepConfig, progress: Callable[[float, str], None] | None = None,
              batched: bool = True) -> SweepResult:
    """Train every network of the sweep and return the results.

    batched=True: one Run per (activation, batch size) (see `plan`); False: one Run per
    network, one after the other (the same results, slower: the benchmark's reference).
    progress(fraction done, message) is called at every snapshot.
    """
    check(config)
    data = load_dataset(config.dataset)
    n_train = data.x_train.shape[0]
    for _, batch, _ in plan(config):
        if batch > n_train:
            raise config.broken("batch_sizes" if config.experiment == "batch" else "batch_size",
                                f"at most {n_train} (the {config.dataset} training set)", batch)
    jobs = []
    for act, batch, members in plan(config):
        jobs += [(act, batch, g) for g in ([members] if batched else [[m] for m in members])]
    costs = [config.steps_for(b) * len(g) * (b + 60) * len(config.hidden_for(g[0].setting))
             for _, b, g in jobs]                                # + a step's fixed cost; per layer
    total, done = float(sum(costs)), 0.0
    t0 = time.perf_counter()
    networks = []
    for (act, batch, group), cost in zip(jobs, costs):
        what = ("training " + (f"{act} networks" if config.experiment == "placement" else
                               f"with batch size {batch}" if config.experiment == "batch" else
                               f"the {int(group[0].setting)}-layer networks"
                               if config.experiment == "depth" else
                               "the networks"))

        def tick(steps_done, done=done, cost=cost, what=what, steps=config.steps_for(batch)):
            if progress is not None:
                progress(min(1.0, (done + cost * steps_done / steps) / total), what)

        networks += train_job(config, act, batch, group, tick,
                              train_mode=config.experiment == "batch")
        done += cost
    return SweepResult(config, networks, data.n_classes, time.perf_counter() - t0, batched,
                       n_test=int(data.x_test.shape[0]), n_train=n_train)
