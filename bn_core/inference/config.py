"""Every knob of the inference page, declared once (bn_core.controls), and the lesson's network.

Only batch_size, steps and seed change the trained network (`InferenceConfig.train_config`);
momentum, layer, unit and example are read from it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_core.batchnorm import PYTORCH_EPS, PYTORCH_MOMENTUM
from bn_core.controls import Config, knob
from bn_core.trainer import TrainConfig

__all__ = ["InferenceConfig", "DEPTH", "WIDTH", "ACTIVATION", "LR", "DATASET", "N_TEST",
           "BATCH_CHOICES", "STEP_CHOICES", "MOMENTUM_CHOICES", "MAX_SEED", "format_momentum"]

DEPTH, WIDTH, ACTIVATION, LR = 2, 32, "sigmoid", 0.5       # the lesson's network
DATASET = "digits"
N_TEST = 360                   # the test images of the digits split (20 % of 1,797; a test checks)
BATCH_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256)
STEP_CHOICES = (200, 400, 600, 1000, 1500, 3000, 5000)
MOMENTUM_CHOICES = (None, 0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0)
MAX_SEED = 1_000_000


def format_momentum(momentum: float | None) -> str:
    return "None (cumulative)" if momentum is None else f"{momentum:g}"


@dataclass(frozen=True)
class InferenceConfig(Config):
    """Every control of the inference page (also its URL query); invalid values raise
    ValueError naming the field."""

    batch_size: int = knob(32, "Training batch size m", choices=BATCH_CHOICES,
                           ladder=BATCH_CHOICES)                # m, the training mini-batch
    steps: int = knob(600, "Training steps", choices=STEP_CHOICES, ladder=STEP_CHOICES)
    seed: int = knob(0, "Seed", lo=0, hi=MAX_SEED, widget="number")
    momentum: float | None = knob(
        PYTORCH_MOMENTUM, "Momentum of the running averages (PyTorch convention)",
        choices=MOMENTUM_CHOICES, ladder=MOMENTUM_CHOICES, optional=True, labels=format_momentum,
        help="Changing it does not retrain: the running averages are replayed from the batch "
        "statistics recorded during training.")
    layer: int = knob(DEPTH, "Layer shown", choices=tuple(range(1, DEPTH + 1)), widget="radio",
                      labels=lambda v: f"hidden layer {v}")     # 1-based
    unit: int = knob(1, "Unit shown", lo=1, hi=WIDTH)          # in the convergence plot, 1-based
    example: int = knob(0, f"Test example (0–{N_TEST - 1})", lo=0, hi=N_TEST - 1,
                        widget="number")                       # for single-input inference

    def train_config(self) -> TrainConfig:
        """The trainer's config: 2 × 32 sigmoid units, BN before each activation, SGD."""
        return TrainConfig(dataset=DATASET, depth=DEPTH, width=WIDTH, activation=ACTIVATION,
                           placement="before", optimizer="sgd", lr=LR,
                           batch_size=self.batch_size, steps=self.steps, eps=PYTORCH_EPS,
                           momentum=PYTORCH_MOMENTUM, seed=self.seed,
                           record_every=max(1, self.steps // 40))
