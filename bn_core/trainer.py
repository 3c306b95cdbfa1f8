"""The streaming trainer: one config, the same network with and without BN, snapshots while it trains.

    config = TrainConfig(placement="before", steps=2000)
    run = Run(config)                 # the plain network and the BN network(s), same start
    for frame in run.stream():        # at the snapshot steps (`snapshot_steps`), and at the end
        frame["none"].test_acc, frame["before"].layers[2].unit_percentiles
    run.history                       # everything recorded (bn_core.records)

`TrainConfig` holds every knob and converts to and from a flat dict of strings (the page's URL
query). A `Run` trains its networks in lockstep on the same mini-batches from the same initial
weights (see `bn_core.engine.Stack`), so the differences between them come from BN alone.
A snapshot at step s describes the networks after s updates: the inputs to each activation over
a fixed probe set of held-out examples (`bn_core.records`), the test accuracy in eval mode, the
mean training loss since the previous snapshot and each layer's weight-gradient norm on the
training mini-batch. Snapshots come at log-spaced steps early on (0, 1, 2, 3, 4, 5, 6, 8, 10,
13, 16, 20, 25, 32, …), so that a log time axis shows the first steps, and every `record_every`
steps (which alone are dense enough on a log axis from about 4.3 · record_every on). A network whose loss, activations or gradients stop being finite is stopped and
reported; the others go on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bn_core import kernels
from bn_core.controls import Config, knob
from bn_core.data import DATASETS, SCALINGS, load_dataset
from bn_core.engine import ACTIVATIONS, OPTIMIZERS, NetSpec, Stack
from bn_core.records import (NETWORK_LABELS, PROBE_SIZE, Divergence, History, Snapshot,
                             fixed_edges, layer_records)

__all__ = ["TrainConfig", "Run", "BatchOrder", "NETWORK_LABELS", "network_placements",
           "snapshot_steps"]

PLACEMENT_CHOICES = ("before", "after", "both", "none")
DATASET_LABELS = {"digits": "8×8 digits (bundled)", "mnist": "MNIST, 5,000 28×28 digits",
                  "moons": "two moons", "circles": "circles", "spiral": "spiral", "xor": "XOR"}


def network_placements(placement: str) -> list[str]:
    """The networks a run trains: the plain one, then the BN one(s)."""
    return {"before": ["none", "before"], "after": ["none", "after"],
            "both": ["none", "before", "after"], "none": ["none"]}[placement]


# ----------------------------------------------------------------------------- config

def _lr_label(v) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class TrainConfig(Config):
    """Every knob of a training run, declared once (bn_core.controls); invalid values raise
    ValueError naming the field."""

    dataset: str = knob(
        "digits", "Dataset", choices=DATASETS, labels=DATASET_LABELS,
        help="What the networks learn to classify. The paper used MNIST; the bundled 8×8 digits "
        "are the same task, smaller; 'MNIST' is 5,000 of the 28×28 digits (bundled too).")
    scaling: str = knob(
        "standard", "Input scaling", choices=SCALINGS,
        labels={"standard": "standardised (mean 0, std 1)", "raw": "raw pixel intensities"},
        help="Standardised: each input feature shifted and scaled to mean 0, std 1 (training-set "
        "statistics). Raw: as they come, pixel intensities in [0, 1], as the paper fed MNIST.")
    depth: int = knob(3, "Hidden layers (depth)", lo=1, hi=8, widget="slider",
                      help="How many hidden layers; BN is added to every one.")
    width: int = knob(100, "Units per layer (width)", lo=4, hi=256, widget="slider",
                      help="Units in each hidden layer. The first 16 units are recorded for the "
                      "'one unit' chart.")
    activation: str = knob(
        "sigmoid", "Activation", choices=ACTIVATIONS,
        labels={"sigmoid": "sigmoid (the paper)", "tanh": "tanh", "relu": "ReLU"},
        help="The nonlinearity g after each hidden layer. Sigmoid and tanh saturate (flat ends, "
        "gradient ≈ 0); ReLU is 0 for negative inputs.")
    placement: str = knob(
        "before", "Where BN goes in the BN network", choices=PLACEMENT_CHOICES, widget="radio",
        labels={"before": "before the activation (the paper)", "after": "after the activation",
                "both": "both (three networks)", "none": "no BN network"},
        help="Before the activation, on z = Wu (the paper; the bias b is dropped because BN's "
        "mean subtraction cancels it), or after the activation, on g(z). 'Both' trains three "
        "networks. The network without BN is always trained beside it.")
    optimizer: str = knob(
        "sgd", "Optimizer", choices=OPTIMIZERS,
        labels={"sgd": "SGD (the paper)", "momentum": "SGD + momentum 0.9", "adam": "Adam"},
        help="Plain SGD as in the paper, SGD with momentum 0.9, or Adam.")
    lr: float = knob(
        0.5, "Learning rate", lo=1e-4, hi=10.0, labels=_lr_label,
        ladder=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0,
                3.0, 5.0, 10.0),
        help="How big a step the optimizer takes along the gradient, from 0.0001 to 10 (a log "
        "scale). Large rates train faster until they make a network diverge; BN tolerates larger "
        "ones.")
    batch_size: int = knob(
        60, "Batch size", lo=2, hi=512, ladder=(2, 4, 8, 16, 32, 60, 64, 128, 256, 512),
        help="Examples per mini-batch: BN's mean and variance are computed over them. Small "
        "batches give noisy statistics (2 is the least BN accepts).")
    steps: int = knob(
        1500, "Training steps", lo=1, hi=100_000, labels=lambda v: f"{v:,}",
        ladder=(100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000, 10_000, 20_000, 50_000, 100_000),
        help="Mini-batch updates. The paper trained 50,000; 1,500 take a few seconds here.")
    eps: float = knob(
        1e-5, "BN epsilon ε", lo=0.0, hi=1.0,
        ladder=(0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0),
        labels=lambda v: "0 (no protection)" if v == 0 else f"{v:g}",
        help="BN divides by √(batch variance + ε). ε keeps this finite when a unit's variance is "
        "0. PyTorch uses 1e-5. 0 is allowed here to show what goes wrong.")
    momentum: float | None = knob(
        0.1, "BN momentum", lo=0.0, hi=1.0, optional=True,
        ladder=(None, 0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0),
        labels=lambda v: "None = cumulative" if v is None else f"{v:g}",
        help="How fast BN's running mean and variance (used at test time) follow the batches: "
        "running ← (1 − momentum)·running + momentum·batch (PyTorch's convention, default 0.1). "
        "None averages all batches equally.")
    init_scale: float | None = knob(
        None, "Initial weight scale", lo=1e-4, hi=10.0, optional=True,
        ladder=(None, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
        labels=lambda v: "default 1/√fan-in" if v is None else f"{v:g}",
        help="Standard deviation of the Gaussian initial weights. The paper says only 'small "
        "random Gaussian values'; the Paper setup uses 0.1 (this app's choice).")
    seed: int = knob(0, "Seed", lo=0, hi=2**31 - 1, widget="number",
                     help="Fixes the initial weights and the order of the mini-batches: the same "
                     "settings and seed give exactly the same run.")
    record_every: int = knob(25, "Steps between snapshots", lo=1, hi=10_000, url=None)
    bins: int = knob(40, "Histogram bins", lo=5, hi=200, url=None)

    @property
    def hidden(self) -> tuple[int, ...]:
        return (int(self.width),) * int(self.depth)

    @property
    def networks(self) -> list[str]:
        return network_placements(self.placement)


# ----------------------------------------------------------------------------- batches

class BatchOrder:
    """Mini-batch indices: a fresh random permutation of the training set each epoch, cut into
    batches of `batch_size` (the last incomplete batch of an epoch is dropped), from `seed`."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            raise ValueError(f"batch_size: expected at most {n} (the training set), got {batch_size}")
        self.n, self.batch_size = n, batch_size
        self.gen = torch.Generator().manual_seed(int(seed))
        self.perm, self.pos = None, n

    def next(self) -> torch.Tensor:
        return torch.from_numpy(self.next_numpy())

    def next_numpy(self) -> np.ndarray:
        """The next batch's indices as a numpy array (cheaper to index numpy data with)."""
        if self.pos + self.batch_size > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.gen).numpy(), 0
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx


# ----------------------------------------------------------------------------- run

LOG_STEPS_PER_DECADE = 10
LOG_UNTIL = LOG_STEPS_PER_DECADE / math.log(10)     # ≈ 4.34: × record_every, see snapshot_steps


def snapshot_steps(steps: int, record_every: int, early: bool = True) -> np.ndarray:
    """The steps a run records: 0; every `record_every` steps; the last step; and (early=True)
    about 10 per decade early on, round(10^(i/10)) (1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25,
    32, 40, 50, 63, …), so a log time axis shows the first steps. The log-spaced ones stop where
    the linear ones are as dense on a log axis: around step s they are record_every apart, i.e.
    s · ln 10 / record_every per decade, at least 10 from s = LOG_UNTIL · record_every on
    (LOG_UNTIL = 10 / ln 10 ≈ 4.34), where consecutive snapshots are log10(1 + ln 10 / 10) ≈ 0.09
    decade apart or less. (Later log-spaced ones only cost time: ~12 % of a run's snapshots.)"""
    top = math.log10(max(steps, 1))
    log = np.round(10 ** (np.arange(0, int(top * LOG_STEPS_PER_DECADE) + 1) / LOG_STEPS_PER_DECADE))
    log = log[log < LOG_UNTIL * record_every]
    linear = np.arange(0, steps + 1, record_every)
    out = np.unique(np.concatenate([[0, steps], log if early else [], linear]).astype(np.int64))
    return out[out <= steps]


class Run:
    """K networks trained in lockstep on one dataset, resumable between snapshots: the one
    training loop of every lesson (the lab, the experiments' sweeps, the inference lesson).

    By default the networks are the config's placements (`TrainConfig.networks`), all with the
    config's lr, eps, momentum, init scale and seed: the same initial weights and the same
    mini-batches. `specs` gives each network its own `NetSpec` instead (a sweep: seeds ×
    settings); networks with the same seed draw the same mini-batches, others their own
    (`BatchOrder(n_train, batch_size, seed)`), exactly as a Run of that network alone would.
    """

    threads = 1      # torch threads while training: these tiny networks run faster on one
    released = False

    def __init__(self, config: TrainConfig, networks: list[str] | None = None, on_step=None, *,
                 specs: list[NetSpec] | None = None, layers: str = "all",
                 early: bool = True, train_idx: np.ndarray | None = None):
        """networks: the networks' names (default: their placements, or "0", "1", … with
        specs). on_step(stack), if given, is called after every training forward pass that
        updates the BN running estimates (one per optimizer step), e.g. to keep each batch's
        xmean/xvar. layers: "all" records the probe-set statistics of every layer at every
        snapshot; "ends" only at the first and the last (the others hold loss and accuracy, and
        no layers). early: the log-spaced early snapshots (`snapshot_steps`) too. train_idx:
        train on these training examples only (a small training set; mini-batches drawn from
        them as from a dataset of that size)."""
        if layers not in ("all", "ends"):
            raise ValueError(f"layers: expected 'all' or 'ends', got {layers!r}")
        self.config = config
        self.on_step = on_step
        self.layers = layers
        if specs is None:
            names = list(networks or config.networks)
            specs = [NetSpec(p, config.lr, config.eps, config.momentum, config.init_scale,
                             config.seed) for p in names]
        else:
            names = list(networks or [str(k) for k in range(len(specs))])
        if len(names) != len(specs):
            raise ValueError(f"networks: expected one name per spec ({len(specs)}), got {len(names)}")
        self.networks = names
        self.data = d = load_dataset(config.dataset, scaling=config.scaling)
        self.stack = Stack(d.n_features, config.hidden, d.n_classes, config.activation, specs,
                           config.optimizer)
        self._x_np, self._y_np = d.x_train.numpy(), d.y_train.numpy()   # numpy indexing is cheaper
        if train_idx is not None:
            self._x_np = np.ascontiguousarray(self._x_np[np.asarray(train_idx)])
            self._y_np = np.ascontiguousarray(self._y_np[np.asarray(train_idx)])
        seeds = sorted({s.seed for s in specs})
        self._orders = [BatchOrder(len(self._y_np), config.batch_size, s) for s in seeds]
        self._which = np.array([seeds.index(s.seed) for s in specs])   # network → its order
        self.probe = np.ascontiguousarray(d.x_test.numpy()[:PROBE_SIZE])      # (P, D_in)
        self.history = History(config, self.networks, probe_size=len(self.probe))
        self.schedule = snapshot_steps(config.steps, config.record_every, early)
        self.step = 0
        self._loss_sum = np.zeros(len(self.networks))
        self._x_test, self._y_test = d.x_test.numpy(), d.y_test.numpy()
        self._loss_count = 0
        self._diverged_now: set[str] = set()
        self._pending = None               # step `self.step`'s update, held over a snapshot
        self._batch = self._next_batch()
        self._ones = np.ones(self.stack.P, dtype=np.float32)   # for a cheap finite check of grad
        self._compiled = kernels.compiled()   # the numpy twins until bn_core.warm is done

    @property
    def train_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) the networks train on: the training set, or the train_idx part of it."""
        return self._x_np, self._y_np

    @property
    def batches(self) -> BatchOrder:
        """The mini-batch order of the first seed (all networks' where they share one)."""
        return self._orders[0]

    def _next_batch(self) -> np.ndarray:
        """Indices of the next mini-batch: (N,) shared by all networks, or (K, N) one row each."""
        if len(self._orders) == 1:
            return self._orders[0].next_numpy()
        return np.stack([o.next_numpy() for o in self._orders])[self._which]

    def release(self) -> None:
        """Drop the networks, the data and the history (all but the config, the names and the
        step): for a run that is gone from view, when something may still hold the run itself
        (the web server behind the lab keeps values replaced in a session; see classroom.py).
        A released run is done: it cannot train or be drawn again."""
        for name in list(vars(self)):
            if name not in ("config", "networks", "layers", "step", "_compiled"):
                setattr(self, name, None)
        self.released = True

    @property
    def done(self) -> bool:
        if self.released:
            return True
        if self._pending is not None:        # an update, then at least the final snapshot, remain
            return False
        return self.step >= self.config.steps or not bool(self.stack.active.any())

    @property
    def live(self) -> list[str]:
        return [n for k, n in enumerate(self.networks) if bool(self.stack.active[k])]

    def stream(self) -> Iterator[dict[str, Snapshot]]:
        """Yield a frame (network → Snapshot) at every snapshot step (`snapshot_steps`)."""
        if not self.history.frames:
            yield self._train_until(0)
        while not self.done:
            yield self.advance()

    def next_snapshot(self) -> int:
        """The step the next `advance()` trains to."""
        if not self.history.frames:
            return 0
        i = int(np.searchsorted(self.schedule, self.step, side="right"))
        return int(self.schedule[min(i, len(self.schedule) - 1)])

    def advance(self) -> dict[str, Snapshot]:
        """Train up to the next snapshot (or the end) and return its frame."""
        return self._train_until(self.next_snapshot())

    def _train_until(self, target: int) -> dict[str, Snapshot]:
        """Train until step `target` and record it. The snapshot of step s comes from the forward
        and backward pass of step s's own mini-batch, so recording costs no extra pass. That
        step's updates (running estimates, then parameters) wait for the next call, so between
        snapshots the networks are exactly as the snapshot describes: after s updates."""
        if not self._compiled and kernels.compiled():   # the warm-up is done: switch over
            self._compiled = True
        with kernels.using(self._compiled):
            return self._train_until_now(target)

    def _train_until_now(self, target: int) -> dict[str, Snapshot]:
        torch.set_num_threads(self.threads)
        st = self.stack
        active = st.active.numpy()                   # a view: follows st.active
        with torch.no_grad():
            if self._pending is not None:
                self._update(self._pending)
            while True:
                i = self._batch
                x, y = self._x_np[i], self._y_np[i]
                updating = self.step < self.config.steps
                recording = self.step == target
                logits = st.forward(x, training=True, update_running=updating and not recording)
                if updating and self.on_step is not None:
                    self.on_step(st)
                loss, dlogits = st.loss_and_dlogits(logits, y)
                st.backward(dlogits)
                self._check_finite(loss)
                if updating:
                    self._loss_sum += loss.numpy()   # a diverged network's becomes NaN: unused
                    self._loss_count += 1
                if recording or not active.any():
                    if updating and active.any():
                        self._pending = st.last_batch_statistics()
                    return self._record(loss)
                self._update(None)

    def _update(self, batch_stats) -> None:
        """Step self.step's update; batch_stats: its BN statistics if not folded in yet."""
        if batch_stats is not None:
            self.stack.fold_batch_statistics(batch_stats)
        self._pending = None
        self.stack.optimizer_step()
        self.step += 1
        self._batch = self._next_batch()

    def _check_finite(self, loss):
        st = self.stack
        sums = loss.numpy() + st.grad.numpy() @ self._ones                    # (K,) NaN/inf spread
        if math.isfinite(float(sums.sum())):                                   # the usual case
            return
        newly = st.active.numpy() & ~np.isfinite(sums)
        if not newly.any():
            return
        grads = st.grads()
        for k in np.flatnonzero(newly).tolist():
            # where it showed first: the forward pass, layer by layer, before any gradient
            # (the backward pass runs after the whole forward: a NaN in layer 3's output makes
            # layer 1's weight gradient NaN too)
            checks = []
            for l in range(len(st.hidden)):
                checks += [(l, "input to the activation", st.z[l][k]),
                           (l, "output (after BN)", st.u[l + 1][k])]
            checks += [(l, "weight gradient", grads.W[l][k]) for l in range(len(st.hidden))]
            layer, what = next(((l, w) for l, w, values in checks
                                if not bool(torch.isfinite(values).all())), (None, "training loss"))
            net = self.networks[k]
            self.history.divergence[net] = Divergence(self.step, layer, what)
            st.active[k] = False
            self._diverged_now.add(net)

    def _record(self, batch_loss) -> dict[str, Snapshot]:
        """The frame of this step: the networks still training, and any that diverged now."""
        st, cfg = self.stack, self.config
        if self._loss_count:
            mean_loss = (self._loss_sum / self._loss_count).tolist()
        else:
            mean_loss = batch_loss.tolist()
        self._loss_sum[:] = 0.0
        self._loss_count = 0
        with np.errstate(all="ignore"):           # a diverging network's values may overflow
            grad_norms = [np.linalg.norm(g.numpy().reshape(st.K, -1), axis=1)  # (K,) per layer
                          for g in st.grads().W]
        logits = st.predict(self._x_test).numpy()                              # (K, Ntest, C)
        acc = (logits.argmax(2) == self._y_test).mean(1)                       # (K,)
        diverged_now, self._diverged_now = self._diverged_now, set()
        ks = [k for k, net in enumerate(self.networks)
              if bool(st.active[k]) or net in diverged_now]
        ends = not self.history.frames or self.step >= cfg.steps or not st.active.any()
        records = None
        if self.layers == "all" or ends:
            z = st.probe(self.probe)                                           # each (K, P, W)
            if self.history.edges is None:
                self.history.edges = fixed_edges([v.ravel() for v in z], cfg.bins)
            records = [layer_records(v[ks], self.history.edges, cfg.activation) for v in z]
        frame = {}
        for i, k in enumerate(ks):
            net = self.networks[k]
            divergence = self.history.divergence.get(net)
            layers = [] if records is None else [records[l][i] for l in range(len(records))]
            for l, rec in enumerate(layers):
                rec.grad_norm = float(grad_norms[l][k])
            loss = math.nan if divergence else float(mean_loss[k])
            frame[net] = Snapshot(net, self.step, loss, float(acc[k]), layers, divergence)
        self.history.frames.append(frame)
        return frame
