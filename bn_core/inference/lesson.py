"""What the inference page shows for one trained network and the page's display choices.

After training, the same test inputs are classified with BN's statistics from each METHOD:

    batch      training mode: each test batch of m examples normalised with its own μ_B, σ²_B
    running    eval mode with the running averages (EMA, PyTorch's momentum convention)
    paper      Algorithm 2: E[x] = mean of μ_B, Var[x] = m/(m−1) · mean of σ²_B, over one
               epoch of training mini-batches of size m, with the final weights
               (`bn_core.batchnorm.population_statistics`)
    layerwise  Algorithm 2 one layer at a time, the layers below in eval mode (the remedy)
    notes      the course notes: the mean of μ_B, and 1/(n_B − 1) · Σ_B σ²_B as the variance
               (a *sum* over the n_B batches: the "Inference" section of the course notes the
               app was built from)
    exact      the mean and variance of the whole training set, each layer normalised with
               the exact statistics of the layers below (one full-batch forward pass)

and one test example is shown in eval mode and in training mode in CONTEXTS batches; a batch of
one is put through Algorithm 1 and through the code that refuses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from bn_core.batchnorm import BatchNorm1d, batchnorm_inference, population_statistics
from bn_core.data import load_dataset
from bn_core.engine import Stack
from bn_core.inference.config import InferenceConfig, format_momentum
from bn_core.inference.estimates import layerwise_statistics, predict_with, running_estimates
from bn_core.inference.training import TrainedNetwork, accuracy, epoch_batches, rebuild

__all__ = ["InferenceLesson", "inference_lesson", "METHODS", "CONVERGENCE_MOMENTA", "CONTEXTS"]

CONVERGENCE_MOMENTA = (0.01, 0.1, 0.5, None)
CONTEXTS = 3                   # batches the single example is put in
METHODS = {
    "batch": "batch statistics (training mode, test batches of m)",
    "running": "running averages (eval mode)",
    "paper": "Algorithm 2 (paper): mean of μ_B, m/(m−1)·mean of σ²_B",
    "layerwise": "Algorithm 2 layer by layer (layers below in eval mode)",
    "notes": "the course notes: mean of μ_B, 1/(n_B−1)·Σ σ²_B",
    "exact": "exact statistics of the whole training set",
}


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
        preds = {k: predict_with(stack, *v, x_test) for k, v in stats.items()}
    exact_pred = preds["exact"].argmax(1)
    rows = [{"method": METHODS["batch"], "test accuracy": trained.batch_mode_acc,
             "same prediction as exact": math.nan}]
    for key in ("running", "paper", "layerwise", "notes", "exact"):
        rows.append({"method": METHODS[key], "test accuracy": accuracy(preds[key], y_test),
                     "same prediction as exact": float((preds[key].argmax(1) == exact_pred).float().mean())})
    table = pd.DataFrame(rows).set_index("method")

    # per-unit tables for the chosen layer
    units = pd.Index(range(1, stack.hidden[l] + 1), name="unit")
    tm, tv = trained.test_means[l], trained.test_vars[l]
    running_col = f"running ({'cumulative' if config.momentum is None else f'{config.momentum:g}'})"
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
    test_acc = table["test accuracy"]
    notes = {
        "m": m, "n_B": n_b, "n_train": trained.n_train,
        "paper_factor": m / (m - 1), "notes_factor": n_b / (n_b - 1) if n_b > 1 else math.inf,
        "ratios": pd.DataFrame(ratios).set_index("hidden layer"),
        **{f"acc_{key}": float(test_acc[METHODS[key]])
           for key in ("paper", "notes", "layerwise", "exact")},
    }

    convergence, convergence_table = _convergence(trained, config, stack, x_test, y_test,
                                                   momenta, replayed)
    single, single_info = _single_input(stack, trained, config, stats["running"], data)
    one = _batch_of_one(stack, config, data)
    return InferenceLesson(config, table, means_table, vars_table, notes, convergence,
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
        means, varis = replayed[l][0][i], replayed[l][1][i]                    # (S+1, W)
        paths[format_momentum(mom)] = (means[:, u], varis[:, u])
        with torch.no_grad():
            logits = predict_with(stack, [replayed[k][0][i, -1] for k in range(L)],
                                  [replayed[k][1][i, -1] for k in range(L)], x_test)
        with np.errstate(all="ignore"):
            rows.append({
                "momentum (PyTorch)": format_momentum(mom) + (" ← yours" if mom == config.momentum else ""),
                "Keras momentum": "—" if mom is None else f"{1 - mom:g}",
                "mean |running mean − exact| ÷ exact sd":
                    float(np.mean(np.abs(means[-1] - exact_m) / exact_sd)),
                "mean |running var ÷ exact − 1|":
                    float(np.mean(np.abs(varis[-1] / exact_sd**2 - 1))),
                "test accuracy": accuracy(logits, y_test),
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
def _single_input(stack: Stack, trained, config, running, data):
    """One test example: eval mode (running averages) and training mode in CONTEXTS batches of
    size m with different, seeded batch-mates."""
    e, m = config.example, trained.batch_size
    l, u = config.layer - 1, config.unit - 1
    x, y = data.x_test, data.y_test
    label = int(y[e])
    others = torch.tensor([i for i in range(trained.n_test) if i != e])
    eval_logits = predict_with(stack, running[0], running[1], x[e:e + 1])[0]
    eval_z = float(stack.eval_z[l][0, 0, u])             # network 0, example 0 (e), unit u
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
        logits = stack.forward(x[idx], training=True, update_running=False)[0, 0]   # net 0, e
        z = float(stack.z[l][0, 0, u])                   # network 0, example 0 (e), unit u
        p = _probabilities(logits)
        labels = [int(v) for v in y[mates][:5]]
        shown = " ".join(map(str, labels)) + (f" … ({m - 1})" if m - 1 > 5 else "")
        batches.append(idx.tolist())
        rows.append({"context": f"training mode, batch {'ABC'[c]}", "batch-mates (labels)": shown,
                     "prediction": int(p.argmax()), "P(prediction)": float(p.max()),
                     f"P({label})": float(p[label]), bn_col: z})
        # eval mode on the same batch: the example's logits do not depend on its batch-mates
        batch_eval = predict_with(stack, running[0], running[1], x[idx])[0]
        eval_changes.append(float((batch_eval - eval_logits).abs().max()))
    info = {"example": e, "label": label, "eval_prediction": int(p_eval.argmax()),
            "eval_change_across_batches": max(eval_changes), "batches": batches,
            "train_predictions": [r["prediction"] for r in rows[1:]],
            "train_p_true": [r[f"P({label})"] for r in rows[1:]]}
    return pd.DataFrame(rows).set_index("context"), info


@torch.no_grad()
def _batch_of_one(stack: Stack, config, data):
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
    for where, refuse in (
            ("bn_core.batchnorm.BatchNorm1d", lambda: BatchNorm1d(z1.shape[1])(z1)),
            ("bn_core.engine.Stack.forward",
             lambda: stack.forward(x1, training=True, update_running=False)),
            ("torch.nn.BatchNorm1d",
             lambda: torch.nn.BatchNorm1d(z1.shape[1]).train()(torch.from_numpy(z1).float()))):
        try:
            refuse()
        except ValueError as exc:
            errors[where] = str(exc)
    # the network on "batches of one" as the formula has it: two copies of one example give
    # μ_B = x and σ²_B = 0 in every layer, exactly as one example would
    rows = []
    n_test = data.x_test.shape[0]
    for i in (e, (e + 1) % n_test, (e + 2) % n_test):
        logits = stack.forward(data.x_test[[i, i]], training=True, update_running=False)[0, 0]  # net 0
        p = _probabilities(logits)
        rows.append({"test example": i, "true label": int(data.y_test[i]),
                     "prediction (batch of one, by the formula)": int(p.argmax()),
                     "P(prediction)": float(p.max())})
    return {"table": table, "errors": errors, "network": pd.DataFrame(rows).set_index("test example"),
            "max_abs_y_minus_beta": float(np.abs(y1[0] - beta).max())}
