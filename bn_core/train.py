"""The streaming trainer: one config, the same network with and without BN, snapshots while it trains.

    config = TrainConfig(placement="before", steps=2000)
    run = Run(config)                 # the plain network and the BN network(s), same start
    for frame in run.stream():        # every `record_every` steps, and at the end
        frame["none"].test_acc, frame["before"].layers[2].p50
    run.history.to_frame()            # a tidy table (pandas) of everything recorded

`TrainConfig` holds every knob and converts to and from a flat dict of strings (the page's URL
query). A `Run` trains its networks in lockstep on the same mini-batches from the same initial
weights (see `bn_core.engine.Stack`), so the differences between them come from BN alone.
A snapshot at step s describes the networks after s updates: the input to each activation
(recorded from the forward pass on the next training mini-batch, in training mode), the test
accuracy in eval mode, the mean training loss since the previous snapshot, BN's running
estimates and each layer's weight-gradient norm. A network whose loss, activations or gradients
stop being finite is stopped and reported; the others go on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from bn_core.data import DATASETS, load_dataset
from bn_core.engine import OPTIMIZERS, NetSpec, Stack
from bn_core.layers import ACTIVATIONS

__all__ = [
    "TrainConfig", "Run", "History", "Snapshot", "LayerRecord", "Divergence",
    "BatchOrder", "NETWORK_LABELS", "PAPER_SETUP", "network_placements",
]

NETWORK_LABELS = {
    "none": "without BN",
    "before": "BN before activation",
    "after": "BN after activation",
}
PLACEMENT_CHOICES = ("before", "after", "both", "none")
UNITS_RECORDED = 16          # per-unit percentiles are kept for the first 16 units of each layer
# A unit is saturated where g(z) is on a flat end: sigmoid a ∉ [0.03, 0.97], tanh |a| > 0.97,
# i.e. |z| > logit(0.97) = ln(0.97/0.03) or |z| > atanh(0.97).
SATURATED_Z = {"sigmoid": math.log(0.97 / 0.03), "tanh": math.atanh(0.97)}


def network_placements(placement: str) -> list[str]:
    """The networks a run trains: the plain one, then the BN one(s)."""
    return {"before": ["none", "before"], "after": ["none", "after"],
            "both": ["none", "before", "after"], "none": ["none"]}[placement]


# ----------------------------------------------------------------------------- config

def _parse_optional_float(text: str) -> float | None:
    return None if text.strip().lower() in ("none", "", "default", "null") else float(text)


def parse_field(name: str, ftype: str, text, optional: tuple[str, ...] = ()) -> object:
    """One config value from its URL text, by the field's annotation `ftype` ('int', 'float'…);
    the fields in `optional` also take 'none'. Raises ValueError naming the field."""
    text = str(text).strip()
    try:
        if name in optional:
            return _parse_optional_float(text)
        if "int" in ftype:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if "float" in ftype:
            return float(text)
    except ValueError:
        kind = "a whole number" if "int" in ftype else "a number"
        raise ValueError(f"{name}: expected {kind}, got {text!r}") from None
    return text.lower()


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run, with defaults; invalid values raise ValueError naming the field."""

    dataset: str = "digits"
    depth: int = 3                      # hidden layers
    width: int = 100                    # units per hidden layer
    activation: str = "sigmoid"
    placement: str = "before"           # BN network(s) trained beside the plain one: before|after|both|none
    optimizer: str = "sgd"              # sgd | momentum (0.9) | adam
    lr: float = 0.5
    batch_size: int = 60
    steps: int = 1500
    eps: float = 1e-5                   # BN epsilon
    momentum: float | None = 0.1        # BN momentum (PyTorch convention); None: cumulative average
    init_scale: float | None = None     # Gaussian std of the initial weights; None: 1/√fan_in
    seed: int = 0
    record_every: int = 25
    bins: int = 40

    # (field, lowest, highest) for the numeric fields
    RANGES = {
        "depth": (1, 8), "width": (4, 256), "lr": (1e-4, 10.0), "batch_size": (2, 512),
        "steps": (1, 100_000), "eps": (0.0, 1.0), "momentum": (0.0, 1.0),
        "init_scale": (1e-4, 10.0), "seed": (0, 2**31 - 1), "record_every": (1, 10_000),
        "bins": (5, 200),
    }
    CHOICES = {"dataset": DATASETS, "activation": ACTIVATIONS, "placement": PLACEMENT_CHOICES,
               "optimizer": OPTIMIZERS}
    URL_FIELDS = ("dataset", "activation", "depth", "width", "placement", "lr", "eps", "momentum",
                  "batch_size", "optimizer", "init_scale", "steps", "seed")

    def __post_init__(self):
        for name, choices in self.CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        for name, (lo, hi) in self.RANGES.items():
            value = getattr(self, name)
            if value is None and name in ("momentum", "init_scale"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}: expected a number, got {value!r}")
            if isinstance(lo, int) and isinstance(hi, int) and not float(value).is_integer():
                raise ValueError(f"{name}: expected a whole number, got {value!r}")
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name}: expected a value from {lo:g} to {hi:g}, got {value!r}")

    @property
    def hidden(self) -> tuple[int, ...]:
        return (int(self.width),) * int(self.depth)

    @property
    def networks(self) -> list[str]:
        return network_placements(self.placement)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self, fields: tuple[str, ...] | None = None) -> dict[str, str]:
        """A flat dict of strings (URL query); None is written 'none'."""
        out = {}
        for f in dataclasses.fields(self):
            if fields is not None and f.name not in fields:
                continue
            value = getattr(self, f.name)
            out[f.name] = "none" if value is None else (repr(value) if isinstance(value, float) else str(value))
        return out

    def to_query(self) -> dict[str, str]:
        """The URL query: the URL_FIELDS that differ from the defaults."""
        default = TrainConfig().to_dict(self.URL_FIELDS)
        return {k: v for k, v in self.to_dict(self.URL_FIELDS).items() if default[k] != v}

    @classmethod
    def _parse(cls, name: str, text) -> object:
        ftype = {f.name: f.type for f in dataclasses.fields(cls)}[name]
        return parse_field(name, ftype, text, optional=("momentum", "init_scale"))

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> "TrainConfig":
        """Build from a flat dict of strings; the first invalid value raises ValueError naming it.
        Unknown keys raise too."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown parameter; expected one of {', '.join(sorted(names))}")
        return cls(**{k: cls._parse(k, v) for k, v in values.items()})

    @classmethod
    def from_query(cls, values: Mapping[str, object], base: "TrainConfig | None" = None):
        """Lenient parsing for a URL: each invalid or unknown value falls back to `base`'s.
        Returns (config, problems) where problems lists one message per rejected parameter."""
        config = base or cls()
        problems = []
        for name, text in values.items():
            if name not in cls.URL_FIELDS:
                problems.append(f"{name}: unknown parameter, ignored")
                continue
            try:
                config = dataclasses.replace(config, **{name: cls._parse(name, text)})
            except ValueError as exc:
                default = config.to_dict((name,))[name]
                problems.append(f"{exc}; using {default}")
        return config, problems


PAPER_SETUP = TrainConfig(
    dataset="digits", depth=3, width=100, activation="sigmoid", placement="before",
    optimizer="sgd", lr=0.5, batch_size=60, steps=50_000, init_scale=0.1, record_every=50,
)
"""The paper's Figure 1 network (3×100 sigmoid, batch 60, SGD, small Gaussian init, 50,000
steps), on the bundled 8×8 digits instead of MNIST."""


# ----------------------------------------------------------------------------- records

@dataclass
class LayerRecord:
    """The input z to one hidden layer's activation, over one training mini-batch (N, width)."""

    mean: float
    std: float
    p15: float                     # percentiles of all N·width values of the layer
    p50: float
    p85: float
    unit_percentiles: np.ndarray   # (3, min(width, 16)): 15th/50th/85th percentile of each unit
    saturation: float              # sigmoid/tanh: share of |g(z)| > 0.97 (a ∉ [0.03, 0.97] for
                                   # sigmoid); relu: share of inactive units (z ≤ 0)
    hist: np.ndarray               # (bins,) counts over the run's fixed edges (ends include beyond)
    grad_norm: float               # ‖∂loss/∂W‖ of the layer's weight matrix
    running_mean: np.ndarray | None = None   # (width,) BN's estimates, where the network has BN
    running_var: np.ndarray | None = None


@dataclass
class Divergence:
    step: int
    layer: int | None              # 0-based hidden layer where it showed first; None: the loss
    what: str                      # what became non-finite

    def message(self, network: str) -> str:
        where = f"layer {self.layer + 1}'s {self.what}" if self.layer is not None else f"the {self.what}"
        return f"{NETWORK_LABELS.get(network, network)}: diverged at step {self.step} — {where} became NaN or infinite"


@dataclass
class Snapshot:
    network: str
    step: int
    loss: float                    # mean training loss since the previous snapshot
    test_acc: float                # eval mode (BN uses running estimates)
    layers: list[LayerRecord]
    divergence: Divergence | None = None


@dataclass
class History:
    """Everything a run recorded: frames[i][network] is a Snapshot."""

    config: TrainConfig
    networks: list[str]
    edges: list[np.ndarray] = field(default_factory=list)     # per layer, (bins + 1,)
    frames: list[dict[str, Snapshot]] = field(default_factory=list)
    divergence: dict[str, Divergence] = field(default_factory=dict)

    def series(self, network: str, getter) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of getter(snapshot) over the frames that hold `network`."""
        steps, values = [], []
        for frame in self.frames:
            snap = frame.get(network)
            if snap is not None:
                steps.append(snap.step)
                values.append(getter(snap))
        return np.asarray(steps), np.asarray(values, dtype=float)

    def to_frame(self):
        """A tidy pandas table: one row per (step, network, layer)."""
        import pandas as pd

        rows = []
        for frame in self.frames:
            for net, snap in frame.items():
                for l, rec in enumerate(snap.layers):
                    rows.append({
                        "step": snap.step, "network": NETWORK_LABELS.get(net, net), "layer": l + 1,
                        "train_loss": snap.loss, "test_accuracy": snap.test_acc,
                        "input_mean": rec.mean, "input_std": rec.std, "input_p15": rec.p15,
                        "input_p50": rec.p50, "input_p85": rec.p85, "saturation": rec.saturation,
                        "weight_grad_norm": rec.grad_norm,
                        "diverged": snap.divergence is not None,
                    })
        return pd.DataFrame(rows)


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

def _fixed_edges(z0: list[np.ndarray], bins: int) -> list[np.ndarray]:
    """Histogram edges per layer, fixed for the run: symmetric, twice the widest extent of the
    step-0 inputs (all networks), at least ±4, so later drift stays visible."""
    edges = []
    for values in z0:
        finite = values[np.isfinite(values)]
        extent = float(np.percentile(np.abs(finite), 99.5)) if finite.size else 1.0
        half = max(4.0, math.ceil(2 * extent))
        edges.append(np.linspace(-half, half, bins + 1))
    return edges


class Run:
    """A training run of the config's networks, in lockstep; resumable between snapshots."""

    threads = 1      # torch threads while training: these tiny networks run faster on one

    def __init__(self, config: TrainConfig, networks: list[str] | None = None, on_step=None):
        """on_step(stack), if given, is called after every training forward pass that updates
        the BN running estimates (one per optimizer step), e.g. to keep each batch's xmean/xvar
        from stack.bn_cache."""
        self.config = config
        self.on_step = on_step
        self.networks = list(networks or config.networks)
        self.data = load_dataset(config.dataset)
        d = self.data
        specs = [NetSpec(p, config.lr, config.eps, config.momentum, config.init_scale, config.seed)
                 for p in self.networks]
        self.stack = Stack(d.n_features, config.hidden, d.n_classes, config.activation, specs,
                           config.optimizer)
        self.batches = BatchOrder(d.x_train.shape[0], config.batch_size, config.seed)
        self.history = History(config, self.networks)
        self.step = 0
        self._loss_sum = np.zeros(len(self.networks))
        self._x_np, self._y_np = d.x_train.numpy(), d.y_train.numpy()   # numpy indexing is cheaper
        self._loss_count = 0
        self._diverged_now: set[str] = set()
        self._pending = None               # step `self.step`'s update, held over a snapshot
        self._batch = self.batches.next_numpy()
        self._ones = np.ones(self.stack.P, dtype=np.float32)   # for a cheap finite check of grad

    @property
    def done(self) -> bool:
        if self._pending is not None:        # an update, then at least the final snapshot, remain
            return False
        return self.step >= self.config.steps or not bool(self.stack.active.any())

    @property
    def live(self) -> list[str]:
        return [n for k, n in enumerate(self.networks) if bool(self.stack.active[k])]

    def stream(self) -> Iterator[dict[str, Snapshot]]:
        """Yield a frame (network → Snapshot) at step 0, every record_every steps, and at the end."""
        if not self.history.frames:
            yield self._train_until(0)
        while not self.done:
            yield self.advance()

    def advance(self) -> dict[str, Snapshot]:
        """Train up to the next snapshot (or the end) and return its frame."""
        if not self.history.frames:
            return self._train_until(0)
        every = self.config.record_every
        target = min(self.config.steps, (self.step // every + 1) * every)
        return self._train_until(target)

    def _train_until(self, target: int) -> dict[str, Snapshot]:
        """Train until step `target` and record it. The snapshot of step s comes from the forward
        and backward pass of step s's own mini-batch, so recording costs no extra pass. That
        step's updates (running estimates, then parameters) wait for the next call, so between
        snapshots the networks are exactly as the snapshot describes: after s updates."""
        torch.set_num_threads(self.threads)
        st, d = self.stack, self.data
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
        self._batch = self.batches.next_numpy()

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
            checks += [(l, "weight gradient", grads["W"][l][k]) for l in range(len(st.hidden))]
            layer, what = next(((l, w) for l, w, values in checks
                                if not bool(torch.isfinite(values).all())), (None, "training loss"))
            net = self.networks[k]
            self.history.divergence[net] = Divergence(self.step, layer, what)
            st.active[k] = False
            self._diverged_now.add(net)

    def _record(self, batch_loss) -> dict[str, Snapshot]:
        st, cfg = self.stack, self.config
        z = [t.numpy() for t in st.z]                                           # each (K, N, W)
        if not self.history.edges:
            self.history.edges = _fixed_edges([v.ravel() for v in z], cfg.bins)
        if self._loss_count:
            mean_loss = (self._loss_sum / self._loss_count).tolist()
        else:
            mean_loss = batch_loss.tolist()
        self._loss_sum[:] = 0.0
        self._loss_count = 0
        logits = st.predict(self.data.x_test)                                   # (K, Ntest, C)
        acc = (logits.argmax(2) == self.data.y_test).float().mean(1).tolist()   # (K,)
        grad_w = st.grads()["W"]
        grad_norms = [torch.linalg.vector_norm(g.reshape(st.K, -1), dim=1).tolist() for g in grad_w]
        diverged_now, self._diverged_now = self._diverged_now, set()
        ks = [k for k, net in enumerate(self.networks)
              if bool(st.active[k]) or net in diverged_now]
        with np.errstate(all="ignore"):       # a diverging network's values may overflow
            records = [self._layer_records(z[l], l, ks, grad_norms[l]) for l in range(len(z))]
        frame = {}
        for i, k in enumerate(ks):
            net = self.networks[k]
            divergence = self.history.divergence.get(net)
            loss = math.nan if divergence else float(mean_loss[k])
            layers = [records[l][i] for l in range(len(z))]
            frame[net] = Snapshot(net, self.step, loss, float(acc[k]), layers, divergence)
        self.history.frames.append(frame)
        return frame

    def _layer_records(self, z: np.ndarray, l: int, ks: list[int], grad_norms) -> list[LayerRecord]:
        """LayerRecords of layer l's (K, N, W) activation inputs z, for the networks ks.
        All networks at once where their values are finite; one by one otherwise."""
        if not ks:
            return []
        zk = z[ks] if len(ks) < z.shape[0] else z                               # (k, N, W)
        if not np.isfinite(zk).all():
            return [self._layer_stats(z[k], l, k, grad_norms[k]) for k in ks]
        flat = zk.reshape(len(ks), -1)                                          # (k, N·W)
        ordered = np.sort(flat, axis=1)                                         # (k, N·W)
        p15, p50, p85 = _percentiles(ordered, PERCENTILES)                      # each (k,)
        units = _percentiles(np.sort(zk[:, :, :UNITS_RECORDED], axis=1), PERCENTILES)
        units = units.astype(np.float32)                                        # (3, k, ≤16)
        saturation = self._saturated(flat).mean(1)                              # (k,)
        hists = _histograms_of_sorted(ordered, self.history.edges[l])           # (k, bins)
        mean, std = flat.mean(1), flat.std(1)
        return [self._with_running(LayerRecord(
                    float(mean[i]), float(std[i]), float(p15[i]), float(p50[i]), float(p85[i]),
                    units[:, i], float(saturation[i]), hists[i], float(grad_norms[k])), l, k)
                for i, k in enumerate(ks)]

    def _saturated(self, values: np.ndarray) -> np.ndarray:
        """relu: z ≤ 0 (inactive); sigmoid/tanh: |g(z) − centre| > 0.47 (sigmoid) or 0.97
        (tanh), written as a threshold on |z|."""
        if self.config.activation == "relu":
            return values <= 0
        return np.abs(values) > SATURATED_Z[self.config.activation]

    def _with_running(self, rec: LayerRecord, l: int, k: int) -> LayerRecord:
        if self.networks[k] != "none":
            rec.running_mean = self.stack.running_mean[l][k].numpy().copy()
            rec.running_var = self.stack.running_var[l][k].numpy().copy()
        return rec

    def _layer_stats(self, zk, l, k, grad_norm):
        """Statistics of one network's (N, W) activation inputs in layer l, some not finite."""
        finite = zk[np.isfinite(zk)]
        if finite.size == 0:
            finite = np.zeros(1, dtype=zk.dtype)
        p15, p50, p85 = np.percentile(finite, [15, 50, 85])
        units = zk[:, :UNITS_RECORDED]
        unit_p = np.percentile(units, [15, 50, 85], axis=0).astype(np.float32)  # (3, ≤16)
        saturation = float(np.mean(self._saturated(finite)))
        hist = _histograms(finite[None, :], self.history.edges[l])[0]
        rec = LayerRecord(float(finite.mean()), float(finite.std()), float(p15), float(p50),
                          float(p85), unit_p, saturation, hist, float(grad_norm))
        return self._with_running(rec, l, k)


PERCENTILES = (15, 50, 85)


def _percentiles(ordered: np.ndarray, q) -> np.ndarray:
    """Percentiles q of sorted values along axis 1, by np.percentile's default method ('linear'):
    at position v = q/100·(M − 1), between the values at ⌊v⌋ and ⌊v⌋ + 1. (len(q), …).
    Interpolated in float64 (numpy does it in the input's float32: the last bit may differ)."""
    m = ordered.shape[1]
    out = []
    for pct in q:
        v = pct / 100 * (m - 1)
        lo = int(math.floor(v))
        hi, t = min(lo + 1, m - 1), v - lo
        a, b = ordered[:, lo].astype(np.float64), ordered[:, hi].astype(np.float64)
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)   # as numpy's _lerp
    return np.stack(out)


def _histograms_of_sorted(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`_histograms` of rows already sorted: bin i ends where the first value ≥ edges[i + 1].
    For float32 values v, v < e exactly where v < e rounded up to a float32."""
    k, bins = ordered.shape[0], len(edges) - 1
    inner = edges[1:-1]                                                         # (bins − 1,)
    up = inner.astype(ordered.dtype)
    up = np.where(up < inner, np.nextafter(up, np.inf), up)                    # ⌈e⌉ in float32
    counts = np.empty((k, bins), np.int64)
    for r in range(k):
        pos = np.searchsorted(ordered[r], up, side="left")                      # #values < e
        counts[r] = np.diff(pos, prepend=0, append=ordered.shape[1])
    return counts.astype(np.int32)


def _histograms(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts (K, bins) of each row of values (K, M) in the bins of `edges` (bins + 1,), evenly
    spaced, values beyond either end counted in the end bins. Bin i holds
    edges[i] ≤ v < edges[i + 1] (the last also v = edges[-1]), as np.histogram of the clipped row."""
    k, bins = values.shape[0], len(edges) - 1
    lo, hi = float(edges[0]), float(edges[-1])
    v = np.clip(values, lo, hi).astype(np.float64)                               # (K, M)
    idx = ((v - lo) * (bins / (hi - lo))).astype(np.intp)
    np.minimum(idx, bins - 1, out=idx)
    idx -= v < edges[idx]                            # rounding: the comparisons with the edges
    idx += (v >= edges[idx + 1]) & (idx < bins - 1)  # decide, as np.histogram does
    idx += np.arange(k)[:, None] * bins
    return np.bincount(idx.ravel(), minlength=k * bins).reshape(k, bins).astype(np.int32)
