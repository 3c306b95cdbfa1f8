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


def words(said) -> str:
    """Every headline and detail a page's verdicts show, as one text."""
    return " ".join([v.headline for v in said] + [d for v in said for d in v.details])


def false_clear_rate(verdict, null_result, config, draws: int, check=None, shift=None,
                     seed: int | None = None) -> float:
    """The share of `draws` null Runs of `config` in which the page shows a "clear" (any test
    of its verdicts, worded or not); check(config, said, tests) asserts what else must hold
    in each. shift: a true gap added to some kinds (null_result's third argument, e.g. exactly
    the accuracy margin); seed: the draws' generator (default: from the config)."""
    rng = np.random.default_rng(config.seeds * 100 + len(config.experiment) if seed is None
                                else seed)
    hits = 0
    for _ in range(draws):
        said = verdict(null_result(config, rng) if shift is None else
                       null_result(config, rng, shift))
        tests = [t for v in said for t in v.tests]
        if check is not None:
            check(config, said, tests)
        hits += any(t.clear for t in tests)
    return hits / draws


def assert_page_controls_its_error(verdict, null_result, default, need: int, check=None,
                                   draws: int = 200) -> dict[int, float]:
    """At every seed count a page allows (2 to 10): false "clear" ≤ `fwer_bound`, and none
    below `need` seeds (40 draws there: nothing can be clear). Returns seeds → rate."""
    rates = {}
    for seeds in range(2, 11):
        n = draws if seeds >= need else 40
        rates[seeds] = false_clear_rate(verdict, null_result, default.replace(seeds=seeds), n,
                                        check)
        assert rates[seeds] <= fwer_bound(n), (default.experiment, seeds, rates[seeds])
        if seeds < need:
            assert rates[seeds] == 0, (default.experiment, seeds, rates[seeds])
    return rates
