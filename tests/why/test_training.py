"""The lesson's experiments (bn_core.why.training) and its config: batched as one stack they give
bit for bit what the networks give one by one; W × 10 leaves the loss and divides the gradient;
the URL round trip; the size check."""

import math

import numpy as np
import pytest

from bn_core.why.config import EXPERIMENTS, WhyConfig
from bn_core.why.training import check, members, run_experiment

TINY = dict(seeds=2, steps=12, depth=2, width=8, checks=4, points=3, dln_steps=10, dln_depth=4)


@pytest.mark.parametrize("experiment,extra", [("noise", {}), ("landscape", {}),
                                               ("ics", {"network": "linear"})])
def test_one_stack_gives_what_the_networks_give_one_by_one(experiment, extra):
    config = WhyConfig.default(experiment).replace(**TINY, **extra)
    batched, alone = run_experiment(config), run_experiment(config, batched=False)
    assert batched.batched and not alone.batched
    for name in ("test_acc", "loss", "jitter", "drift", "land_loss", "land_change", "ics_diff",
                 "ics_cos"):
        a, b = getattr(batched, name), getattr(alone, name)
        assert (a is None) == (b is None)
        if a is not None:
            assert np.array_equal(a, b, equal_nan=True), name
    assert [m.kind for m in batched.members] == [k for k in config.kinds for _ in range(2)]


def test_multiplying_w_by_10_keeps_the_loss_and_divides_the_gradient():
    config = WhyConfig.default("scale").replace(**TINY, multiply=True, decays=(0.0,))
    r = run_experiment(config)
    a, b = r.index("wd0"), r.index("x10")
    # step 0, the same mini-batch: BN(10·W·u) = BN(W·u) up to eps, ∇L(10·W) = ∇L(W)/10
    np.testing.assert_allclose(r.loss[b, 0], r.loss[a, 0], rtol=1e-4)
    np.testing.assert_allclose(r.grad0[a] / r.grad0[b], 10.0, rtol=1e-3)
    np.testing.assert_allclose(r.norms[b, 0], 10 * r.norms[a, 0], rtol=1e-5)
    assert not np.allclose(r.loss[b, -1], r.loss[a, -1])          # and then they part


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_the_url_holds_the_experiment_and_what_differs_from_its_defaults(experiment):
    config = WhyConfig.default(experiment).replace(seeds=4, seed=7)
    query = config.to_query()
    assert query["exp"] == experiment and query["seeds"] == "4" and query["seed"] == "7"
    back, problems = WhyConfig.from_query(query)
    assert back == config and problems == []


def test_link_problems_are_reported_and_the_linear_network_has_its_own_knobs():
    config, problems = WhyConfig.from_query({"exp": "ics", "network": "linear", "dln_depth": "7",
                                             "depth": "3", "noise": "2", "colour": "red"})
    assert config.network == "linear" and config.dln_depth == 7
    assert config.depth == WhyConfig.default("ics").depth           # not the linear network's
    assert any(p.startswith("depth: not a setting") for p in problems)
    assert any(p.startswith("noise: not a setting") for p in problems)
    assert any(p.startswith("colour: unknown") for p in problems)
    config, problems = WhyConfig.from_query({"exp": "nope", "x10": "yes"})
    assert config.experiment == "noise" and problems[0].startswith("exp:")


def test_rules_between_knobs_and_the_size_check():
    with pytest.raises(ValueError, match="depth: expected at least 2"):
        WhyConfig.default("ics").replace(depth=1)
    with pytest.raises(ValueError, match="decays: expected increasing"):
        WhyConfig.default("scale").replace(decays=(5e-3, 0.0))
    with pytest.raises(ValueError, match="larger than allowed"):
        check(WhyConfig.default("landscape").replace(seeds=10, steps=5000, width=256, checks=50,
                                                     points=12))
    for e in EXPERIMENTS:                                       # the defaults run
        check(WhyConfig.default(e))
    assert len(members(WhyConfig.default("noise"))) == 30


def test_a_diverging_network_is_stopped_and_reported():
    config = WhyConfig.default("landscape").replace(seeds=2, steps=30, depth=4, checks=4,
                                                    points=3, lr=10.0, activation="relu")
    r = run_experiment(config)
    gone = r.diverged_at >= 0
    assert gone.any()
    for i in np.flatnonzero(gone):
        late = r.check_steps >= r.diverged_at[i]
        assert np.isnan(r.land_change[i, late]).all()
        assert math.isnan(r.test_acc[i, -1])


@pytest.mark.parametrize("experiment", ["ics", "landscape"])
def test_the_probes_change_nothing_in_the_training_run(experiment):
    """The same networks in a Run without probes: the same losses and accuracies, bit for bit."""
    from bn_core.trainer import Run
    from bn_core.why.training import spec, train_config

    config = WhyConfig.default(experiment).replace(**TINY, activation="tanh")
    probed = run_experiment(config)
    group = members(config)
    run = Run(train_config(config), specs=[spec(config, m) for m in group], layers="ends",
              early=False)
    frames = list(run.stream())
    loss = np.array([[f[str(k)].loss for f in frames] for k in range(len(group))])
    acc = np.array([[f[str(k)].test_acc for f in frames] for k in range(len(group))])
    assert np.array_equal(probed.loss, loss) and np.array_equal(probed.test_acc, acc)
