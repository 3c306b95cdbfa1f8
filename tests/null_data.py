"""Null data for the pages' family-wise error (#23 item 6): accuracies of networks that do not
differ, on a finite test set, with ties, equal gaps and diverged runs.

    acc = null_accuracies(rng, (settings, seeds))   # one draw for one kind of network

Each (setting, seed) has its own level, shared by every kind of network there (the same seed:
the same start); each network adds its own offset of a few test examples, drawn alike for every
kind, so two kinds are exchangeable within a seed: no true difference. A fifth of the settings
are dead (every network at chance, ties everywhere), and a run diverges with probability 0.05
(then None: the verdicts count it as chance). Call it once per kind with generators in the same
state for the shared part (`levels`), so the kinds share the levels and differ only in offsets.
"""

import numpy as np

N_TEST = 360
OFFSETS = np.arange(-2, 3)                        # test examples: −2 … +2
OFFSET_P = np.array([0.1, 0.2, 0.4, 0.2, 0.1])    # 0 most often: ties and equal gaps are common


def levels(rng, settings: int, seeds: int) -> np.ndarray:
    """(settings, seeds) correct counts out of N_TEST shared by every kind; dead settings at
    chance (36 of 360)."""
    q = rng.uniform(0.5, 0.97, size=(settings, 1))
    counts = rng.binomial(N_TEST, np.broadcast_to(q, (settings, seeds)))
    dead = rng.random(settings) < 0.2
    counts[dead] = N_TEST // 10
    return counts


def null_accuracies(rng, level: np.ndarray) -> list[list[float | None]]:
    """One kind's accuracies, (settings, seeds) as lists, None where the run diverged."""
    dead = (level == N_TEST // 10).all(-1, keepdims=True)
    offset = np.where(dead, 0, rng.choice(OFFSETS, p=OFFSET_P, size=level.shape))
    acc = np.clip(level + offset, 0, N_TEST) / N_TEST
    diverged = rng.random(level.shape) < 0.05
    return [[None if d else float(a) for a, d in zip(row, drow)]
            for row, drow in zip(acc, diverged)]


def fwer_bound(draws: int, alpha: float = 0.05) -> float:
    """α plus three Monte-Carlo standard errors of a rate estimated from `draws` Runs (an exact
    test's family-wise error can sit just under α; the estimate scatters around it)."""
    return alpha + 3 * np.sqrt(alpha * (1 - alpha) / draws)
