"""The inference lesson's network, trained with the shared trainer, and the statistics recorded
while it trains and measured after.

A small BN network (BN before each activation, as in the paper; `InferenceConfig.train_config`)
is trained with `bn_core.trainer.Run`. Its `on_step` hook records every step's batch mean μ_B and
biased variance σ²_B per layer, so that the running averages can be replayed afterwards for any
momentum (`bn_core.inference.estimates.running_estimates`). At the trainer's snapshots the exact
statistics of the whole training set are measured; after training, those of one epoch of
training mini-batches (Algorithm 2) and of the test batches (training mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from bn_core.engine import Stack
from bn_core.trainer import BatchOrder, Run, TrainConfig

__all__ = ["TrainedNetwork", "train_network", "rebuild", "bn_statistics", "exact_statistics",
           "batch_statistics", "test_batches", "epoch_batches", "accuracy"]


def bn_statistics(stack: Stack, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (W,) batch mean μ_B and biased variance σ²_B of hidden layer `layer`'s BN (before the
    activation) in the last training-mode forward of the stack's one network: the values the
    engine folds into running_mean and running_var."""
    cache = stack.bn_cache[layer]["before"]          # a BNCache: xmean, xvar (K, 1, W)
    return cache.xmean[0, 0], cache.xvar[0, 0]       # network 0, the batch's one row


class _BatchStatisticsRecorder:
    """Passed to `Run(on_step=...)`: after every training-mode forward that updates the running
    estimates (one per optimizer step) it keeps each layer's μ_B and σ²_B (`bn_statistics`)."""

    def __init__(self, widths: tuple[int, ...]):
        self.widths = widths
        self.means = [[] for _ in widths]       # per layer, one (W,) tensor per step
        self.vars = [[] for _ in widths]

    def __call__(self, stack: Stack):
        for l in range(len(self.widths)):
            xmean, xvar = bn_statistics(stack, l)
            self.means[l].append(xmean.clone())
            self.vars[l].append(xvar.clone())

    def arrays(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per layer, (S, W) arrays of the S recorded steps' μ_B and σ²_B."""
        def stacked(values, w):
            return torch.stack(values).numpy() if values else np.zeros((0, w), np.float32)
        return ([stacked(v, w) for v, w in zip(self.means, self.widths)],
                [stacked(v, w) for v, w in zip(self.vars, self.widths)])


def _layer_statistics(stack: Stack) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer, the (W,) xmean and biased xvar of the last training-mode forward."""
    stats = [bn_statistics(stack, l) for l in range(len(stack.hidden))]
    return [m.numpy().copy() for m, _ in stats], [v.numpy().copy() for _, v in stats]


@torch.no_grad()
def exact_statistics(stack: Stack, x: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The exact mean and (biased, 1/N) variance of each BN layer's input over all of x (N, D),
    each layer normalised with the exact statistics of the layers below: one training-mode
    forward pass of the whole set, without touching the running estimates."""
    stack.forward(x, training=True, update_running=False)
    return _layer_statistics(stack)


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
        m, v = _layer_statistics(stack)
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


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())


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


def rebuild(trained: TrainedNetwork) -> Stack:
    """The trained network as a Stack again (its running estimates: the engine's)."""
    stack = Run(trained.train_config, networks=["before"]).stack       # the same construction
    stack.flat.copy_(torch.from_numpy(trained.flat))
    for l in range(len(stack.hidden)):
        stack.running_mean[l][0] = torch.from_numpy(trained.engine_running_mean[l])
        stack.running_var[l][0] = torch.from_numpy(trained.engine_running_var[l])
    return stack


def train_network(config: TrainConfig, progress=None) -> TrainedNetwork:
    """Train `config`'s BN network (Run, networks=["before"]) recording every step's batch
    statistics, then compute the statistics the lesson compares. progress(fraction, text), if
    given, is called as it goes. Takes a few seconds for the lesson's default config."""
    if config.placement != "before":
        raise ValueError(f"expected placement 'before' (BN before each activation), got {config.placement!r}")
    recorder = _BatchStatisticsRecorder(config.hidden)
    run = Run(config, networks=["before"], on_step=recorder)
    data, stack = run.data, run.stack
    checkpoints, ex_means, ex_vars = [], [], []
    for _ in run.stream():
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
    engine_acc = accuracy(stack.predict(data.x_test)[0], data.y_test)
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
        batch_mode_acc=accuracy(test_logits, data.y_test), engine_acc=engine_acc,
        n_train=n_train, n_test=n_test,
        divergence=divergence.message("before") if divergence else None,
        test_batch_sizes=[len(b) for b in batches],
    )
