"""The inference lesson: where BN's statistics come from at test time, and what goes wrong.

    config = InferenceConfig(batch_size=32, steps=600, momentum=0.1)
    trained = train_network(config.train_config())     # a few seconds; plain data, cacheable
    lesson = inference_lesson(trained, config)          # cheap: tables, accuracies, curves
    sweep = batch_size_sweep(seed=0)                    # six more networks, equal examples seen

A small BN network (BN before each activation, as in the paper) is trained with
`bn_core.trainer.Run`. While it trains, every step's batch statistics μ_B and σ²_B are recorded,
so the running averages can be replayed afterwards for any momentum (`running_estimates`,
the same float32 updates the engine makes). After training, the same test inputs are
classified with four sets of statistics:

    batch      training mode: each test batch of m examples normalised with its own μ_B, σ²_B
    running    eval mode with the running averages (EMA, PyTorch's momentum convention)
    paper      Algorithm 2: E[x] = mean of μ_B, Var[x] = m/(m−1) · mean of σ²_B, over one
               epoch of training mini-batches of size m, with the final weights
               (`bn_core.batchnorm.population_statistics`)
    exact      the mean and variance of the whole training set, each layer normalised with
               the exact statistics of the layers below (one full-batch forward pass)

and beside them the course notes' variance 1/(n_B − 1) · Σ_B σ²_B (a *sum* over the n_B
batches: the "Inference" section of the revision notes the app was built from,
shared/reference/batch-normalization-notes.txt), and the remedy for deeper layers:

    layerwise  Algorithm 2 one layer at a time, each layer's statistics from inputs that come
               through the layers below already in eval mode (`layerwise_statistics`)

Why the remedy: in training mode the layer-1 x̂ of every batch has within-batch variance
exactly 1, where m eval-mode examples would have (m−1)/m on average; so layer 2's training-batch
variance is already too large by about m/(m−1), and Algorithm 2's m/(m−1) overcorrects it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from bn_core.batchnorm import BatchNorm1d, batchnorm_inference, population_statistics
from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack, running_update
from bn_core.lesson_formula import KERAS_EPS, MAX_SEED, PYTORCH_EPS, QueryConfig
from bn_core.trainer import BatchOrder, Run, TrainConfig

ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}   # g, by name

__all__ = [
    "InferenceConfig", "TrainedNetwork", "InferenceLesson", "train_network", "inference_lesson",
    "running_estimates", "layerwise_statistics", "batch_size_sweep", "sweep_sentence",
    "variance_factors", "NOTES_SOURCE", "KERAS_SOURCE", "SWEEP_EXAMPLES",
    "momentum_conventions", "METHODS", "CONVERGENCE_MOMENTA", "SWEEP_SIZES", "SWEEP_STEPS",
    "convergence_figure", "sweep_figure", "format_momentum",
]

DEPTH, WIDTH, ACTIVATION, LR = 2, 32, "sigmoid", 0.5
BATCH_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256)
STEP_CHOICES = (200, 400, 600, 1000, 1500, 3000, 5000)
MOMENTUM_CHOICES = (None, 0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0)
CONVERGENCE_MOMENTA = (0.01, 0.1, 0.5, None)
SWEEP_SIZES = (2, 4, 8, 16, 64, 256)
SWEEP_EXAMPLES = 12_800        # training examples each network of the sweep sees (≈ 9 epochs)
SWEEP_STEPS = 200              # kept for callers that ask for equal steps
NOTES_SOURCE = ("“Batch Normalization” revision notes, section “Inference”; "
                "shared/reference/batch-normalization-notes.txt")
KERAS_SOURCE = ("keras/src/layers/normalization/batch_normalization.py, BatchNormalization.call; "
                "the variance comes from ops.moments, e.g. keras/src/backend/numpy/nn.py: "
                "mean(x²) − mean(x)²")
MAX_POINTS = 1000              # points per line in the convergence figure
CONTEXTS = 3                   # batches the single example is put in
METHODS = {
    "batch": "batch statistics (training mode, test batches of m)",
    "running": "running averages (eval mode)",
    "paper": "Algorithm 2 (paper): mean of μ_B, m/(m−1)·mean of σ²_B",
    "layerwise": "Algorithm 2 layer by layer (layers below in eval mode)",
    "notes": "the course notes: mean of μ_B, 1/(n_B−1)·Σ σ²_B",
    "exact": "exact statistics of the whole training set",
}


def format_momentum(momentum: float | None) -> str:
    return "None (cumulative)" if momentum is None else f"{momentum:g}"


@dataclass(frozen=True)
class InferenceConfig(QueryConfig):
    """Every control of the inference page (also its URL query). Only batch_size, steps and
    seed change the trained network; the others are read from it afterwards."""

    batch_size: int = 32                 # m, the training mini-batch
    steps: int = 600
    seed: int = 0
    momentum: float | None = 0.1         # BN momentum (PyTorch convention) of the running averages
    layer: int = DEPTH                   # hidden layer shown (1-based)
    unit: int = 1                        # unit shown in the convergence plot (1-based)
    example: int = 0                     # test example for single-input inference

    RANGES = {"seed": (0, MAX_SEED), "layer": (1, DEPTH), "unit": (1, WIDTH),
              "example": (0, 100_000)}
    CHOICES = {"batch_size": BATCH_CHOICES, "steps": STEP_CHOICES, "momentum": MOMENTUM_CHOICES}
    OPTIONAL = ("momentum",)

    def train_config(self) -> TrainConfig:
        """The trainer's config: 2 × 32 sigmoid units, BN before each activation, SGD."""
        return TrainConfig(dataset="digits", depth=DEPTH, width=WIDTH, activation=ACTIVATION,
                           placement="before", optimizer="sgd", lr=LR,
                           batch_size=self.batch_size, steps=self.steps, eps=PYTORCH_EPS,
                           momentum=0.1, seed=self.seed, record_every=max(1, self.steps // 40))


# ----------------------------------------------------------------------------- training

class _BatchStatisticsRecorder:
    """Passed to `Run(on_step=...)`: after every training-mode forward that updates the running
    estimates (one per optimizer step) it keeps each layer's batch mean μ_B and biased variance
    σ²_B: exactly what the engine folds into running_mean/running_var."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.means = [[] for _ in stack.hidden]       # per layer, one (W,) tensor per step
        self.vars = [[] for _ in stack.hidden]
        self.batch_sizes: list[int] = []

    def __call__(self, stack: Stack):
        for l, cache in enumerate(stack.bn_cache):
            xhat, inv, xmean, xvar = cache["before"]
            self.means[l].append(xmean[0, 0].clone())     # (W,)
            self.vars[l].append(xvar[0, 0].clone())       # (W,) biased
        self.batch_sizes.append(int(stack.z[0].shape[-2]))

    def arrays(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        width = self.stack.hidden
        means = [torch.stack(v).numpy() if v else np.zeros((0, w), np.float32)
                 for v, w in zip(self.means, width)]
        varis = [torch.stack(v).numpy() if v else np.zeros((0, w), np.float32)
                 for v, w in zip(self.vars, width)]
        return means, varis


def _batch_stats(stack: Stack) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer, the (W,) xmean and biased xvar of the last training-mode forward."""
    means = [c["before"][2][0, 0].numpy().copy() for c in stack.bn_cache]
    varis = [c["before"][3][0, 0].numpy().copy() for c in stack.bn_cache]
    return means, varis


@torch.no_grad()
def exact_statistics(stack: Stack, x: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The exact mean and (biased, 1/N) variance of each BN layer's input over all of x (N, D),
    each layer normalised with the exact statistics of the layers below: one training-mode
    forward pass of the whole set, without touching the running estimates."""
    stack.forward(x, training=True, update_running=False)
    return _batch_stats(stack)


@torch.no_grad()
def batch_statistics(stack: Stack, x: torch.Tensor, batches: list[torch.Tensor]):
    """Training-mode forward of each batch (index tensor) of x: per layer (n_B, W) arrays of
    μ_B and biased σ²_B, and the logits of every example of x (N, C), each from its own batch."""
    L = len(stack.hidden)
    means = [[] for _ in range(L)]
    varis = [[] for _ in range(L)]
    logits = torch.empty(x.shape[0], stack.out_dim)
    for idx in batches:
        logits[idx] = stack.forward(x[idx], training=True, update_running=False)[0]
        m, v = _batch_stats(stack)
        for l in range(L):
            means[l].append(m[l])
            varis[l].append(v[l])
    return [np.stack(v) for v in means], [np.stack(v) for v in varis], logits


def test_batches(n: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """A seeded permutation of range(n) cut into batches of batch_size; a last batch of one
    example (which training mode refuses) joins the batch before it."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed) + 7))
    batches = list(torch.split(perm, int(batch_size)))
    if len(batches) > 1 and len(batches[-1]) < 2:
        last = batches.pop()
        batches[-1] = torch.cat([batches[-1], last])
    return batches


def epoch_batches(n: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """One epoch of training mini-batches, as the trainer draws them (BatchOrder): n // m of them."""
    order = BatchOrder(n, batch_size, seed)
    return [order.next() for _ in range(n // batch_size)]


@dataclass
class TrainedNetwork:
    """A trained BN network and what was recorded while it trained, as plain (picklable) data.

    Per hidden layer l (lists of arrays): W = width, S = optimizer steps, C = checkpoints,
    n_B = training mini-batches in one epoch, T = test batches.
    """

    train_config: TrainConfig
    flat: np.ndarray                       # (P,) float32: every parameter of the Stack
    steps_done: int
    batch_means: list[np.ndarray]          # (S, W) μ_B of each training step
    batch_vars: list[np.ndarray]           # (S, W) biased σ²_B of each training step
    engine_running_mean: list[np.ndarray]  # (W,) the engine's own estimates (momentum 0.1)
    engine_running_var: list[np.ndarray]
    checkpoint_steps: np.ndarray           # (C,)
    exact_means_path: list[np.ndarray]     # (C, W) exact training-set statistics at each checkpoint
    exact_vars_path: list[np.ndarray]
    exact_mean: list[np.ndarray]           # (W,) with the final weights
    exact_var: list[np.ndarray]
    epoch_means: list[np.ndarray]          # (n_B, W) μ_B of one epoch of training batches, final weights
    epoch_vars: list[np.ndarray]           # (n_B, W) biased σ²_B of the same
    test_means: list[np.ndarray]           # (T, W) μ_B of the test batches (training mode)
    test_vars: list[np.ndarray]
    batch_mode_acc: float                  # test accuracy in training mode, test batches of m
    engine_acc: float                      # test accuracy in eval mode with the engine's estimates
    n_train: int
    n_test: int
    divergence: str | None = None
    test_batch_sizes: list[int] = field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return self.train_config.batch_size


def _new_stack(config: TrainConfig, in_dim: int, out_dim: int) -> Stack:
    spec = NetSpec("before", config.lr, config.eps, config.momentum, config.init_scale, config.seed)
    return Stack(in_dim, config.hidden, out_dim, config.activation, [spec], config.optimizer)


def rebuild(trained: TrainedNetwork) -> Stack:
    """The trained network as a Stack again (its running estimates: the engine's)."""
    data = load_dataset(trained.train_config.dataset)
    stack = _new_stack(trained.train_config, data.n_features, data.n_classes)
    stack.flat.copy_(torch.from_numpy(trained.flat))
    for l in range(len(stack.hidden)):
        stack.running_mean[l][0] = torch.from_numpy(trained.engine_running_mean[l])
        stack.running_var[l][0] = torch.from_numpy(trained.engine_running_var[l])
    return stack


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())


def train_network(config: TrainConfig, progress=None) -> TrainedNetwork:
    """Train `config`'s BN network (Run, networks=["before"]) recording every step's batch
    statistics, then compute the statistics the lesson compares. progress(fraction, text), if
    given, is called as it goes. Takes a few seconds for the lesson's default config."""
    if config.placement != "before":
        raise ValueError(f"expected placement 'before' (BN before each activation), got {config.placement!r}")
    torch.set_num_threads(1)
    run = Run(config, networks=["before"])
    recorder = run.on_step = _BatchStatisticsRecorder(run.stack)
    data, stack = run.data, run.stack
    checkpoints, ex_means, ex_vars = [], [], []
    for frame in run.stream():
        checkpoints.append(run.step)
        m, v = exact_statistics(stack, data.x_train)
        ex_means.append(m)
        ex_vars.append(v)
        if progress is not None:
            progress(0.9 * run.step / config.steps, f"Training: step {run.step} of {config.steps}")
    divergence = run.history.divergence.get("before")
    if progress is not None:
        progress(0.92, "Algorithm 2: one epoch of training mini-batches")
    n_train, n_test = data.x_train.shape[0], data.x_test.shape[0]
    epoch_means, epoch_vars, _ = batch_statistics(
        stack, data.x_train, epoch_batches(n_train, config.batch_size, config.seed))
    batches = test_batches(n_test, config.batch_size, config.seed)
    test_means, test_vars, test_logits = batch_statistics(stack, data.x_test, batches)
    exact_mean, exact_var = exact_statistics(stack, data.x_train)
    engine_acc = _accuracy(stack.predict(data.x_test)[0], data.y_test)
    means, varis = recorder.arrays()
    L = len(stack.hidden)
    if progress is not None:
        progress(1.0, "Done")
    return TrainedNetwork(
        train_config=config, flat=stack.flat[0].numpy().copy(), steps_done=run.step,
        batch_means=means, batch_vars=varis,
        engine_running_mean=[stack.running_mean[l][0].numpy().copy() for l in range(L)],
        engine_running_var=[stack.running_var[l][0].numpy().copy() for l in range(L)],
        checkpoint_steps=np.asarray(checkpoints),
        exact_means_path=[np.stack([c[l] for c in ex_means]) for l in range(L)],
        exact_vars_path=[np.stack([c[l] for c in ex_vars]) for l in range(L)],
        exact_mean=exact_mean, exact_var=exact_var,
        epoch_means=epoch_means, epoch_vars=epoch_vars,
        test_means=test_means, test_vars=test_vars,
        batch_mode_acc=_accuracy(test_logits, data.y_test), engine_acc=engine_acc,
        n_train=n_train, n_test=n_test,
        divergence=divergence.message("before") if divergence else None,
        test_batch_sizes=[len(b) for b in batches],
    )


# ----------------------------------------------------------------------------- estimates

def running_estimates(batch_means, batch_vars, batch_size: int, momentum):
    """Replay the running averages a BN layer keeps (PyTorch's convention), in float32:

        running_mean ← (1 − momentum) · running_mean + momentum · μ_B
        running_var  ← (1 − momentum) · running_var  + momentum · σ²_B · m/(m − 1)

    from running_mean = 0, running_var = 1; momentum None: momentum = 1/t at the t-th update
    (the cumulative average of all t batches). Keras writes the same update with
    momentum_keras = 1 − momentum. The update is the engine's own (`running_update`), so the result
    equals the engine's running estimates to the last bit.

    batch_means, batch_vars: (S, W), μ_B and biased σ²_B of the S training steps, batch size m.
    momentum: a value, None, or a list of them (replayed side by side).
    Returns (means, vars), each (S + 1, W) (for a list: (K, S + 1, W)): the estimates before
    any update, then after each.
    """
    momenta = list(momentum) if isinstance(momentum, (list, tuple)) else [momentum]
    mu = np.asarray(batch_means, dtype=np.float32)                        # (S, W)
    var = np.asarray(batch_vars, dtype=np.float32)                        # (S, W)
    if mu.shape != var.shape or mu.ndim != 2:
        raise ValueError(f"expected batch_means and batch_vars of one shape (S, W), got "
                         f"{tuple(mu.shape)} and {tuple(var.shape)}")
    m = int(batch_size)
    if m < 2:
        raise ValueError(f"expected batch_size >= 2, got {batch_size}")
    for mom in momenta:
        if mom is not None and not (0.0 <= mom <= 1.0):
            raise ValueError(f"expected momentum in [0, 1] or None, got {mom}")
    (steps, width), k = mu.shape, len(momenta)
    cumulative = np.array([mom is None for mom in momenta]).reshape(k, 1)             # (K, 1)
    fixed = np.array([0.0 if mom is None else mom for mom in momenta], np.float32).reshape(k, 1)
    unbiased = var * (m / (m - 1))                                                   # (S, W)
    means = np.empty((steps + 1, k, width), np.float32)
    varis = np.empty((steps + 1, k, width), np.float32)
    means[0], varis[0] = 0.0, 1.0
    for t in range(steps):
        f = np.where(cumulative, np.float32(1.0 / (t + 1)), fixed)                   # (K, 1)
        means[t + 1], varis[t + 1] = means[t], varis[t]
        running_update(means[t + 1], np.broadcast_to(mu[t], (k, width)), f)
        running_update(varis[t + 1], np.broadcast_to(unbiased[t], (k, width)), f)
    means, varis = means.transpose(1, 0, 2), varis.transpose(1, 0, 2)                # (K, S+1, W)
    if isinstance(momentum, (list, tuple)):
        return means, varis
    return means[0], varis[0]


def _predict_with(stack: Stack, means, varis, x) -> torch.Tensor:
    """Eval-mode logits (N, C) with the given per-layer statistics as the running estimates."""
    for l in range(len(stack.hidden)):
        stack.running_mean[l][0] = torch.as_tensor(np.asarray(means[l], dtype=np.float32))
        stack.running_var[l][0] = torch.as_tensor(np.asarray(varis[l], dtype=np.float32))
    return stack.predict(x)[0]


@torch.no_grad()
def layerwise_statistics(stack: Stack, x: torch.Tensor, batches: list[torch.Tensor]):
    """Algorithm 2 one layer at a time (the remedy for deeper layers): for l = 1 … L,

        x_l = W_l · g(BN_eval(x_{l−1})) + b_l   for every example of the n_B batches of m
        E[x_l] = mean of μ_B,   Var[x_l] = m/(m−1) · mean of σ²_B      (population_statistics)

    where BN_eval uses the statistics already found for the layers below: each layer's
    statistics describe the inputs it gets in eval mode, not the training-mode ones (whose
    layer-1 x̂ has within-batch variance exactly 1 instead of (m−1)/m). Layer 1's input does
    not depend on BN: its statistics are Algorithm 2's.

    batches: n_B index tensors of one size m. Returns (means, vars): per layer (W,) float64.
    """
    idx = torch.stack(list(batches))                                      # (n_B, m)
    n_b, m = idx.shape
    xb = x[idx.reshape(-1)]                                               # (n_B·m, D)
    L = len(stack.hidden)
    means, varis = [], []
    for l in range(L):
        if l == 0:
            u = xb                                                        # (n_B·m, D)
        else:
            rest = [np.zeros(w, np.float32) for w in stack.hidden[l:]]
            _predict_with(stack, means + rest, varis + [r + 1 for r in rest], xb)
            u = ACT[stack.activation](stack.eval_z[l - 1][0])             # (n_B·m, W) eval mode
        z = u @ stack.W[l][0].T                                           # (n_B·m, W)
        if not stack.all_before:                     # as the engine: BN before drops the bias
            z = z + stack.b[l][0]
        z = z.reshape(n_b, m, -1)                                         # (n_B, m, W)
        mean, var = population_statistics(z.mean(1).numpy(), z.var(1, unbiased=False).numpy(), m)
        means.append(mean)
        varis.append(var)
    return means, varis


def variance_factors(n_train: int, sizes=(2, 4, 8, 16, 32, 64, 128, 256)) -> pd.DataFrame:
    """What each formula multiplies the average batch variance by, for batch sizes m:
    the paper m/(m−1); the notes Σσ²_B/(n_B−1) = n_B/(n_B−1) · mean σ²_B with n_B = N // m."""
    rows = []
    for m in sizes:
        n_b = n_train // m
        rows.append({"m": m, "n_B": n_b,
                     "paper m/(m−1)": m / (m - 1),
                     "notes n_B/(n_B−1)": n_b / (n_b - 1) if n_b > 1 else math.inf,
                     "notes ÷ paper": (n_b / (n_b - 1)) / (m / (m - 1)) if n_b > 1 else math.inf})
    return pd.DataFrame(rows).set_index("m")


def momentum_conventions(momentum: float | None) -> pd.DataFrame:
    """PyTorch and Keras write the running-average update with opposite momenta, and average
    different batch variances into it: PyTorch the unbiased σ²_B·m/(m−1) (torch.nn.BatchNorm1d),
    Keras the biased σ²_B it normalised with (KERAS_SOURCE)."""
    p = momentum
    keras = "none (Keras has no cumulative mode)" if p is None else f"{1 - p:g}"
    return pd.DataFrame({
        "update": ["running ← (1 − momentum)·running + momentum·batch",
                   "moving ← momentum·moving + (1 − momentum)·batch"],
        "default momentum": ["0.1 (= Keras 0.9)", "0.99 (= PyTorch 0.01)"],
        "default ε": [f"{PYTORCH_EPS:g}", f"{KERAS_EPS:g}"],
        "batch variance averaged in": ["unbiased: σ²_B · m/(m−1)", "biased: σ²_B (divides by m)"],
        "your momentum": [format_momentum(p), keras],
    }, index=pd.Index(["PyTorch (this app)", "Keras"], name="framework"))


# ----------------------------------------------------------------------------- the lesson

@dataclass
class InferenceLesson:
    """What the inference page shows for one trained network and one set of display choices."""

    config: InferenceConfig
    accuracy: pd.DataFrame            # one row per method: test accuracy, agreement with exact
    means_table: pd.DataFrame         # per unit of the chosen layer: E[x] by each method (batch:
                                      # average and sd of μ_B over the test batches)
    vars_table: pd.DataFrame          # per unit: Var[x] by each method, the notes' formula and
                                      # the plain (biased) mean of σ²_B
    notes: dict                       # the notes' variance against the paper's: factors,
                                      # "ratios" (per layer, each estimate ÷ the exact variance,
                                      # averaged over units) and the test accuracies acc_*
    convergence: dict                 # steps, per momentum running paths of one unit, exact path
    convergence_table: pd.DataFrame   # per momentum: final error against exact, test accuracy
    single: pd.DataFrame              # one example: eval mode and CONTEXTS training-mode batches
    single_info: dict                 # label, eval prediction, the CONTEXTS batches (test
                                      # indices, the example first), …
    batch_of_one: dict                # the formula on one example, the errors raised
    divergence: str | None = None


def _probabilities(logits: torch.Tensor) -> np.ndarray:
    return torch.softmax(logits, dim=-1).numpy()


def inference_lesson(trained: TrainedNetwork, config: InferenceConfig) -> InferenceLesson:
    """Everything the page shows that depends on the display controls (momentum, layer, unit,
    example), from a trained network. Fast (no training)."""
    if trained.train_config != config.train_config():
        raise ValueError("expected the network trained for this config (batch size, steps, seed), "
                         f"got one trained with batch_size={trained.batch_size}, "
                         f"steps={trained.train_config.steps}, seed={trained.train_config.seed}")
    if not (0 <= config.example < trained.n_test):
        raise ValueError(f"example: expected a test example from 0 to {trained.n_test - 1}, got {config.example}")
    torch.set_num_threads(1)
    data = load_dataset(trained.train_config.dataset)
    stack = rebuild(trained)
    m, L = trained.batch_size, len(stack.hidden)
    x_test, y_test = data.x_test, data.y_test
    l = config.layer - 1

    # the statistics, per layer
    momenta = list(CONVERGENCE_MOMENTA)
    if config.momentum not in momenta:
        momenta.append(config.momentum)
    replayed = [running_estimates(trained.batch_means[k], trained.batch_vars[k], m, momenta)
                for k in range(L)]                           # per layer: (K, S+1, W) twice
    mine = momenta.index(config.momentum)
    ema_mean = [r[0][mine, -1] for r in replayed]
    ema_var = [r[1][mine, -1] for r in replayed]
    paper = [population_statistics(trained.epoch_means[k], trained.epoch_vars[k], m) for k in range(L)]
    n_b = trained.epoch_means[0].shape[0]
    notes_mean = [trained.epoch_means[k].mean(0) for k in range(L)]
    notes_var = [trained.epoch_vars[k].sum(0) / (n_b - 1) if n_b > 1 else
                 np.full_like(trained.epoch_vars[k][0], np.nan) for k in range(L)]
    layerwise = layerwise_statistics(stack, data.x_train,
                                     epoch_batches(trained.n_train, m, trained.train_config.seed))
    stats = {
        "running": (ema_mean, ema_var),
        "paper": ([p[0] for p in paper], [p[1] for p in paper]),
        "layerwise": layerwise,
        "notes": (notes_mean, notes_var),
        "exact": (trained.exact_mean, trained.exact_var),
    }

    # test accuracy under each
    with torch.no_grad():
        preds = {k: _predict_with(stack, *v, x_test) for k, v in stats.items()}
    exact_pred = preds["exact"].argmax(1)
    rows = [{"method": METHODS["batch"], "test accuracy": trained.batch_mode_acc,
             "same prediction as exact": math.nan}]
    for key in ("running", "paper", "layerwise", "notes", "exact"):
        rows.append({"method": METHODS[key], "test accuracy": _accuracy(preds[key], y_test),
                     "same prediction as exact": float((preds[key].argmax(1) == exact_pred).float().mean())})
    accuracy = pd.DataFrame(rows).set_index("method")

    # per-unit tables for the chosen layer
    units = pd.Index(range(1, stack.hidden[l] + 1), name="unit")
    tm, tv = trained.test_means[l], trained.test_vars[l]
    running_col = "running (cumulative)" if config.momentum is None else f"running ({config.momentum:g})"
    means_table = pd.DataFrame({
        "batch μ_B: average": tm.mean(0),              # over the test batches, training mode
        "batch μ_B: sd": tm.std(0),
        running_col: ema_mean[l],
        "Algorithm 2": stats["paper"][0][l],
        "layer by layer": layerwise[0][l],
        "exact": trained.exact_mean[l],
    }, index=units)
    vars_table = pd.DataFrame({
        "batch σ²_B: average": tv.mean(0),
        "batch σ²_B: sd": tv.std(0),
        running_col: ema_var[l],
        "Algorithm 2": stats["paper"][1][l],
        "layer by layer": layerwise[1][l],
        "notes": notes_var[l],
        "mean σ²_B": trained.epoch_vars[l].mean(0),
        "exact": trained.exact_var[l],
    }, index=units)

    ratios = []
    with np.errstate(all="ignore"):
        for k in range(L):
            exact_v = trained.exact_var[k].astype(float)
            ratios.append({
                "hidden layer": k + 1,
                "mean σ²_B": float(np.mean(trained.epoch_vars[k].mean(0) / exact_v)),
                "notes": float(np.mean(notes_var[k] / exact_v)),
                "paper": float(np.mean(stats["paper"][1][k] / exact_v)),
                "layer by layer": float(np.mean(layerwise[1][k] / exact_v)),
            })
    notes = {
        "m": m, "n_B": n_b, "n_train": trained.n_train,
        "paper_factor": m / (m - 1), "notes_factor": n_b / (n_b - 1) if n_b > 1 else math.inf,
        "ratios": pd.DataFrame(ratios).set_index("hidden layer"),
        "acc_paper": float(accuracy.loc[METHODS["paper"], "test accuracy"]),
        "acc_notes": float(accuracy.loc[METHODS["notes"], "test accuracy"]),
        "acc_layerwise": float(accuracy.loc[METHODS["layerwise"], "test accuracy"]),
        "acc_exact": float(accuracy.loc[METHODS["exact"], "test accuracy"]),
    }

    convergence, convergence_table = _convergence(trained, config, stack, x_test, y_test,
                                                   momenta, replayed)
    single, single_info = _single_input(stack, trained, config, stats["running"], data)
    one = _batch_of_one(stack, config, data)
    return InferenceLesson(config, accuracy, means_table, vars_table, notes, convergence,
                           convergence_table, single, single_info, one, trained.divergence)


def _convergence(trained, config, stack, x_test, y_test, momenta, replayed):
    """Running estimates of one unit over training for CONVERGENCE_MOMENTA (+ the page's),
    against the exact training-set statistics at the checkpoints; and a summary table."""
    l, u = config.layer - 1, config.unit - 1
    paths, rows = {}, []
    L = len(stack.hidden)
    exact_m = trained.exact_mean[l].astype(float)
    exact_sd = np.sqrt(trained.exact_var[l].astype(float))
    for i, mom in enumerate(momenta):
        paths[format_momentum(mom)] = (replayed[l][0][i, :, u], replayed[l][1][i, :, u])
        with torch.no_grad():
            logits = _predict_with(stack, [replayed[k][0][i, -1] for k in range(L)],
                                   [replayed[k][1][i, -1] for k in range(L)], x_test)
        with np.errstate(all="ignore"):
            rows.append({
                "momentum (PyTorch)": format_momentum(mom) + (" ← yours" if mom == config.momentum else ""),
                "Keras momentum": "—" if mom is None else f"{1 - mom:g}",
                "mean |running mean − exact| ÷ exact sd":
                    float(np.mean(np.abs(replayed[l][0][i, -1] - exact_m) / exact_sd)),
                "mean |running var ÷ exact − 1|":
                    float(np.mean(np.abs(replayed[l][1][i, -1] / exact_sd**2 - 1))),
                "test accuracy": _accuracy(logits, y_test),
            })
    convergence = {
        "steps": np.arange(trained.batch_means[l].shape[0] + 1),
        "paths": paths,
        "checkpoints": trained.checkpoint_steps,
        "exact_mean": trained.exact_means_path[l][:, u],
        "exact_var": trained.exact_vars_path[l][:, u],
        "layer": config.layer, "unit": config.unit,
    }
    return convergence, pd.DataFrame(rows).set_index("momentum (PyTorch)")


@torch.no_grad()
def _single_input(stack, trained, config, running, data):
    """One test example: eval mode (running averages) and training mode in CONTEXTS batches of
    size m with different, seeded batch-mates."""
    e, m = config.example, trained.batch_size
    l, u = config.layer - 1, config.unit - 1
    x, y = data.x_test, data.y_test
    label = int(y[e])
    others = torch.tensor([i for i in range(trained.n_test) if i != e])
    eval_logits = _predict_with(stack, running[0], running[1], x[e:e + 1])[0]
    eval_z = float(stack.eval_z[l][0, 0, u])
    p_eval = _probabilities(eval_logits)
    bn_col = f"BN output (layer {config.layer}, unit {config.unit})"
    rows = [{"context": "eval mode, any batch", "batch-mates (labels)": "—",
             "prediction": int(p_eval.argmax()), "P(prediction)": float(p_eval.max()),
             f"P({label})": float(p_eval[label]), bn_col: eval_z}]
    eval_changes, batches = [], []
    gen = torch.Generator().manual_seed(int(config.seed) * 1000 + e)
    for c in range(CONTEXTS):
        mates = others[torch.randperm(len(others), generator=gen)[:m - 1]]
        idx = torch.cat([torch.tensor([e]), mates])
        logits = stack.forward(x[idx], training=True, update_running=False)[0, 0]
        z = float(stack.z[l][0, 0, u])
        p = _probabilities(logits)
        labels = [int(v) for v in y[mates][:5]]
        shown = " ".join(map(str, labels)) + (f" … ({m - 1})" if m - 1 > 5 else "")
        batches.append(idx.tolist())
        rows.append({"context": f"training mode, batch {'ABC'[c]}", "batch-mates (labels)": shown,
                     "prediction": int(p.argmax()), "P(prediction)": float(p.max()),
                     f"P({label})": float(p[label]), bn_col: z})
        # eval mode on the same batch: the example's logits do not depend on its batch-mates
        batch_eval = _predict_with(stack, running[0], running[1], x[idx])[0]
        eval_changes.append(float((batch_eval - eval_logits).abs().max()))
    info = {"example": e, "label": label, "eval_prediction": int(p_eval.argmax()),
            "eval_change_across_batches": max(eval_changes), "batches": batches,
            "train_predictions": [r["prediction"] for r in rows[1:]],
            "train_p_true": [r[f"P({label})"] for r in rows[1:]]}
    return pd.DataFrame(rows).set_index("context"), info


@torch.no_grad()
def _batch_of_one(stack, config, data):
    """What Algorithm 1 gives for a batch of one example, and what the code does with it."""
    e = config.example
    x1 = data.x_test[e:e + 1]                                               # (1, D)
    z1 = (x1 @ stack.W[0][0].T + stack.b[0][0]).numpy().astype(float)       # (1, W) layer-1 BN input
    gamma = stack.gamma[0][0].numpy().astype(float)
    beta = stack.beta[0][0].numpy().astype(float)
    eps = float(stack.eps.flatten()[0])
    # Algorithm 1 with m = 1: μ_B = x, σ²_B = 0, so x̂ = 0/√ε = 0 and y = β whatever x is
    y1 = batchnorm_inference(z1, gamma, beta, mean=z1[0], var=np.zeros_like(z1[0]), eps=eps)
    shown = 6
    table = pd.DataFrame({
        "x (layer 1 input)": z1[0, :shown], "μ_B = x": z1[0, :shown],
        "σ²_B": np.zeros(shown), "x̂ = 0/√(0+ε)": ((z1 - z1) / math.sqrt(eps))[0, :shown],
        "y = γ·x̂ + β": y1[0, :shown], "β": beta[:shown],
    }, index=pd.Index(range(1, shown + 1), name="unit"))
    errors = {}
    try:
        BatchNorm1d(z1.shape[1])(z1)
    except ValueError as exc:
        errors["bn_core.batchnorm.BatchNorm1d"] = str(exc)
    try:
        stack.forward(x1, training=True, update_running=False)
    except ValueError as exc:
        errors["bn_core.engine.Stack.forward"] = str(exc)
    try:
        torch.nn.BatchNorm1d(z1.shape[1]).train()(torch.from_numpy(z1).float())
    except ValueError as exc:
        errors["torch.nn.BatchNorm1d"] = str(exc)
    # the network on "batches of one" as the formula has it: two copies of one example give
    # μ_B = x and σ²_B = 0 in every layer, exactly as one example would
    rows = []
    for i in (e, (e + 1) % data.x_test.shape[0], (e + 2) % data.x_test.shape[0]):
        logits = stack.forward(data.x_test[[i, i]], training=True, update_running=False)[0, 0]
        p = _probabilities(logits)
        rows.append({"test example": i, "true label": int(data.y_test[i]),
                     "prediction (batch of one, by the formula)": int(p.argmax()),
                     "P(prediction)": float(p.max())})
    return {"table": table, "errors": errors, "network": pd.DataFrame(rows).set_index("test example"),
            "max_abs_y_minus_beta": float(np.abs(y1[0] - beta).max())}


# ----------------------------------------------------------------------------- batch-size sweep

def batch_size_sweep(seed: int = 0, sizes=SWEEP_SIZES, examples: int = SWEEP_EXAMPLES,
                     steps: int | None = None, progress=None) -> pd.DataFrame:
    """Train the lesson's network once per training batch size m (same lr, seed) and measure
    test accuracy in eval mode (running averages, momentum 0.1) and in training mode (test
    batches of the same size m). Each m sees the same number of training examples: examples // m
    steps (or, with `steps`, the same number of steps: then larger batches see more data).
    Returns one row per m, with the steps it trained."""
    torch.set_num_threads(1)
    rows = []
    base = InferenceConfig(seed=seed).train_config()
    for i, m in enumerate(sizes):
        if progress is not None:
            progress(i / len(sizes), f"Training with batches of {m} ({i + 1} of {len(sizes)})")
        n_steps = int(steps) if steps is not None else max(1, int(examples) // int(m))
        config = base.replace(batch_size=int(m), steps=n_steps,
                              record_every=min(n_steps, 10_000))
        run = Run(config, networks=["before"])
        for frame in run.stream():
            pass
        data = run.data
        _, _, logits = batch_statistics(run.stack, data.x_test,
                                        test_batches(data.x_test.shape[0], m, seed))
        eval_acc = _accuracy(run.stack.predict(data.x_test)[0], data.y_test)
        rows.append({"batch size m": int(m), "steps": n_steps, "eval mode": eval_acc,
                     "training mode": _accuracy(logits, data.y_test),
                     "diverged": "before" in run.history.divergence})
    if progress is not None:
        progress(1.0, "Done")
    return pd.DataFrame(rows).set_index("batch size m")


def sweep_sentence(frame: pd.DataFrame) -> str:
    """One sentence reading the sweep: where the two modes part, and how far."""
    ev = frame["eval mode"]
    tr = frame["training mode"]
    sizes = list(frame.index)
    gap = (ev - tr).abs()
    small, large = sizes[0], sizes[-1]
    agree = [m for m in sizes if all(gap[k] <= 0.02 for k in sizes if k >= m)]
    text = (f"With batches of {small}, the network scores {ev[small]:.0%} in eval mode and "
            f"{tr[small]:.0%} in training mode; with batches of {large}, {ev[large]:.0%} and "
            f"{tr[large]:.0%}. ")
    if agree:
        text += f"The two modes agree within 2 points from m = {agree[0]} up"
    else:
        text += "The two modes never agree within 2 points here"
    worst = gap.idxmax()
    better = "eval" if ev[worst] > tr[worst] else "training"
    text += (f"; the widest gap, {gap[worst] * 100:.0f} points, is at m = {worst}, where {better} "
             "mode does better.")
    return text


# ----------------------------------------------------------------------------- figures

MOMENTUM_COLOURS = {"0.01": "#1f77b4", "0.1": "#2ca02c", "0.5": "#ff7f0e",
                    "None (cumulative)": "#9467bd"}


def convergence_figure(convergence: dict, height: int = 330):
    """Running mean (left) and variance (right) of one unit over training, per momentum,
    against the exact training-set value at each checkpoint (black). Long runs are drawn at
    MAX_POINTS evenly spaced steps (the values at those steps, the last step always)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("running mean vs exact mean", "running var vs exact variance"))
    steps = np.asarray(convergence["steps"])
    shown = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_POINTS)).round().astype(int))
    for col, which in ((1, 0), (2, 1)):
        for name, path in convergence["paths"].items():
            fig.add_trace(go.Scatter(
                x=steps[shown], y=np.asarray(path[which])[shown], mode="lines", name=f"momentum {name}",
                line=dict(width=1.8, color=MOMENTUM_COLOURS.get(name, "#d62728"),
                          dash="solid" if name in MOMENTUM_COLOURS else "dash"),
                legendgroup=name, showlegend=col == 1,
                hovertemplate="step %{x}: %{y:.4g}<extra>" + name + "</extra>"), row=1, col=col)
        exact = convergence["exact_mean"] if which == 0 else convergence["exact_var"]
        fig.add_trace(go.Scatter(
            x=convergence["checkpoints"], y=exact, mode="markers+lines", name="exact (training set)",
            line=dict(color="black", width=1), marker=dict(size=5, color="black"),
            legendgroup="exact", showlegend=col == 1,
            hovertemplate="step %{x}: %{y:.4g}<extra>exact</extra>"), row=1, col=col)
    fig.update_xaxes(title="training step")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def sweep_figure(frame: pd.DataFrame, height: int = 320):
    """Test accuracy against the training batch size, eval mode vs training mode."""
    import plotly.graph_objects as go

    fig = go.Figure()
    xs = [str(m) for m in frame.index]
    for col, label, colour, symbol in (
            ("eval mode", "eval mode (running averages)", "#2ca02c", "circle"),
            ("training mode", "training mode (test batches of m)", "#d62728", "square")):
        fig.add_trace(go.Scatter(x=xs, y=frame[col], mode="lines+markers", name=label,
                                 line=dict(color=colour, width=2), marker=dict(size=9, symbol=symbol),
                                 hovertemplate="m = %{x}: %{y:.1%}<extra></extra>"))
    fig.update_xaxes(title="training batch size m", type="category")
    fig.update_yaxes(title="test accuracy", tickformat=".0%", range=[0, 1.02])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.12, x=0))
    return fig
