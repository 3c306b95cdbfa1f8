"""The small-batch failure, measured: the lesson's network trained once per training batch size
m (the shared trainer, `Run`), tested in eval mode and in training mode.

    frame = batch_size_sweep(seed=0)     # one row per m: steps, eval mode, training mode, diverged

`bn_core.inference.reading.sweep_sentence(frame)` reads it.
"""

from __future__ import annotations

import pandas as pd

from bn_core.inference.config import InferenceConfig
from bn_core.inference.training import accuracy, batch_statistics, test_batches
from bn_core.trainer import Run

__all__ = ["batch_size_sweep", "SWEEP_SIZES", "SWEEP_EXAMPLES", "SWEEP_STEPS"]

SWEEP_SIZES = (2, 4, 8, 16, 64, 256)
SWEEP_EXAMPLES = 12_800        # training examples each network of the sweep sees (≈ 9 epochs)
SWEEP_STEPS = 200              # kept for callers that ask for equal steps


def batch_size_sweep(seed: int = 0, sizes=SWEEP_SIZES, examples: int = SWEEP_EXAMPLES,
                     steps: int | None = None, progress=None) -> pd.DataFrame:
    """Train the lesson's network once per training batch size m (same lr, seed) and measure
    test accuracy in eval mode (running averages, momentum 0.1) and in training mode (test
    batches of the same size m). Each m sees the same number of training examples: examples // m
    steps (or, with `steps`, the same number of steps: then larger batches see more data).
    Returns one row per m, with the steps it trained."""
    rows = []
    base = InferenceConfig(seed=seed).train_config()
    for i, m in enumerate(sizes):
        if progress is not None:
            progress(i / len(sizes), f"Training with batches of {m} ({i + 1} of {len(sizes)})")
        n_steps = int(steps) if steps is not None else max(1, int(examples) // int(m))
        config = base.replace(batch_size=int(m), steps=n_steps,
                              record_every=min(n_steps, 10_000))
        run = Run(config, networks=["before"])
        for _ in run.stream():
            pass
        data = run.data
        _, _, logits = batch_statistics(run.stack, data.x_test,
                                        test_batches(data.x_test.shape[0], m, seed))
        eval_acc = accuracy(run.stack.predict(data.x_test)[0], data.y_test)
        rows.append({"batch size m": int(m), "steps": n_steps, "eval mode": eval_acc,
                     "training mode": accuracy(logits, data.y_test),
                     "diverged": "before" in run.history.divergence})
    if progress is not None:
        progress(1.0, "Done")
    return pd.DataFrame(rows).set_index("batch size m")

