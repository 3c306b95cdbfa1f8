"""#23 item 6: a page is one family. Null data (tests/null_data.py: no kind of network differs)
through the real verdict code of every experiment, at every seed count the page allows (2 to
10): the share of Runs in which the page shows any "clear" statement stays ≤ 5 % (within three Monte-Carlo standard errors)."""

import math

import numpy as np
import pytest

from bn_core.experiments import verdicts as V
from bn_core.experiments.config import SweepConfig
from bn_core.experiments.training import Member, NetworkResult, SweepResult
from bn_core.stats import seeds_needed
from tests.null_data import (N_TEST, assert_page_controls_its_error, false_clear_rate,
                             fwer_bound, levels, null_accuracies, words)

WORDS = ("clearly", " wins**", "gets there first")


def null_result(config: SweepConfig, rng, shift: dict | None = None) -> SweepResult:
    """A SweepResult of the config's networks where nothing differs: accuracies, speeds (a
    record interval per test example above the target, exchangeable too) and, for the batch
    experiment, training-mode accuracies drawn like the eval-mode ones. `shift`: network → a
    true difference added to its accuracies (none: the null)."""
    groups = list(config.activations) if config.experiment == "placement" else [""]
    settings = config.settings or [math.nan]
    nets = []
    for group in groups:
        level = levels(rng, len(settings), config.seeds)
        draws = {p: null_accuracies(rng, level) for p in config.networks}
        for p, delta in (shift or {}).items():
            draws[p] = [[None if a is None else a + delta for a in row] for row in draws[p]]
        modes = null_accuracies(rng, level)
        for p, acc in draws.items():
            for i, setting in enumerate(settings):
                for seed, a in enumerate(acc[i]):
                    reached = a is not None and a >= config.target
                    nets.append(NetworkResult(
                        Member(group, p, setting, seed), np.array([0, config.steps]),
                        np.array([0.1, math.nan if a is None else a]),
                        math.nan if a is None else a,
                        float(config.steps - round((a - config.target) * N_TEST))
                        if reached else math.nan,
                        None if a is not None else 5, np.ones(config.depth),
                        np.ones(config.depth),
                        train_mode_acc=math.nan if a is None else (modes[i][seed] or a)))
    return SweepResult(config, nets, n_classes=10, n_test=N_TEST)


def check(config, said, tests):
    """The whole page is one family (a batch size whose BN runs all diverged has no mode test),
    and no claim is worded without a clear test."""
    assert len(tests) <= V.family_size(config)
    claims = any(w in words(said) for w in WORDS) or any(v.winner for v in said)
    assert claims <= any(t.clear for t in tests)


@pytest.mark.parametrize("experiment", ["placement", "lr", "init", "batch"])
def test_null_runs_show_a_false_clear_in_at_most_5_percent(experiment):
    default = SweepConfig.default(experiment)
    assert_page_controls_its_error(V.verdict, null_result, default,
                                   seeds_needed(V.family_size(default)), check)


@pytest.mark.parametrize("experiment", ["placement", "lr", "batch"])
def test_a_true_gap_of_exactly_the_margin_is_clear_in_at_most_5_percent(experiment):
    """BN truly 1 point (the accuracy margin, bn_core.verdicts) ahead of the network without
    BN at every setting, everything else as the null, 10 seeds: the page shows a "clear" in
    ≤ 5 % of Runs (before the margins, a gap this size and this consistent was called clearly
    better in most of them)."""
    config, draws = SweepConfig.default(experiment).replace(seeds=10), 200
    bn = config.networks[1] if experiment == "placement" else config.placement
    rate = false_clear_rate(V.verdict, null_result, config, draws, check,
                            shift={bn: V.ACCURACY_MARGIN}, seed=17)
    assert rate <= fwer_bound(draws)
