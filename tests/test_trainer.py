"""The config, the streaming trainer and its snapshots (more on the probe set in
tests/test_trainer_probe.py, on the records' statistics in tests/test_records.py)."""

import math

import numpy as np
import pytest
import torch

from bn_core.lab.presets import PAPER_SETUP
from bn_core.trainer import BatchOrder, Run, TrainConfig, snapshot_steps

SMALL = TrainConfig(depth=2, width=12, steps=40, record_every=10, batch_size=16, lr=0.3)


def run_all(config, networks=None):
    run = Run(config, networks)
    frames = list(run.stream())
    return run, frames


# ------------------------------------------------------------------ config

@pytest.mark.parametrize("field,value", [
    ("lr", -1.0), ("lr", 100.0), ("depth", 0), ("depth", 9), ("width", 2), ("batch_size", 1),
    ("eps", -1e-3), ("momentum", 1.5), ("placement", "sideways"), ("activation", "gelu"),
    ("optimizer", "lbfgs"), ("dataset", "cifar"), ("steps", 0), ("init_scale", 0.0),
    ("lr", float("nan")), ("depth", 2.5),
])
def test_invalid_config_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: expected"):
        TrainConfig(**{field: value})


def test_config_round_trips_through_strings():
    config = TrainConfig(momentum=None, init_scale=0.01, lr=0.003, placement="both", eps=0.0)
    text = config.to_dict()
    assert all(isinstance(v, str) for v in text.values())
    assert text["momentum"] == "none"
    assert TrainConfig.from_dict(text) == config
    assert TrainConfig.from_dict(config.to_query()) == config
    assert TrainConfig().to_query() == {}
    assert "record_every" not in config.replace(record_every=7).to_query()   # not in the URL


def test_from_dict_names_the_bad_field():
    with pytest.raises(ValueError, match="^lr: expected a number, got 'abc'"):
        TrainConfig.from_dict({"lr": "abc"})
    with pytest.raises(ValueError, match="^depth: expected a whole number"):
        TrainConfig.from_dict({"depth": "2.5"})
    with pytest.raises(ValueError, match="^colour: unknown parameter"):
        TrainConfig.from_dict({"colour": "red"})


def test_from_query_falls_back_per_parameter():
    config, problems = TrainConfig.from_query(
        {"lr": "abc", "depth": "1000", "placement": "sideways", "width": "32", "momentum": "None"}
    )
    assert config.lr == TrainConfig().lr and config.depth == 3
    assert config.placement == "before" and config.width == 32 and config.momentum is None
    assert sorted(p.split(":")[0] for p in problems) == ["depth", "lr", "placement"]
    assert any(p.startswith("depth") and "using 3" in p for p in problems)


def test_paper_setup_is_figure_one():
    assert PAPER_SETUP.hidden == (100, 100, 100) and PAPER_SETUP.activation == "sigmoid"
    assert PAPER_SETUP.batch_size == 60 and PAPER_SETUP.optimizer == "sgd"
    assert PAPER_SETUP.steps == 50_000 and PAPER_SETUP.init_scale is not None
    assert PAPER_SETUP.placement == "before" and PAPER_SETUP.scaling == "raw"   # pixels in [0, 1]


# ------------------------------------------------------------------ batches

def test_batch_order_is_a_permutation_per_epoch_and_seeded():
    order = BatchOrder(10, 3, seed=5)
    epoch = torch.cat([order.next() for _ in range(3)])       # 9 of 10, last incomplete dropped
    assert len(set(epoch.tolist())) == 9
    again = BatchOrder(10, 3, seed=5)
    assert torch.equal(torch.cat([again.next() for _ in range(3)]), epoch)
    with pytest.raises(ValueError, match="batch_size"):
        BatchOrder(10, 11, 0)


# ------------------------------------------------------------------ run

def test_frames_at_the_snapshot_steps_early_every_interval_and_the_end():
    run, frames = run_all(SMALL.replace(steps=35))
    assert [f["none"].step for f in frames] == [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30,
                                                 32, 35]
    assert [f["none"].step for f in frames] == snapshot_steps(35, 10).tolist()
    assert set(frames[0]) == {"none", "before"}
    assert frames[0]["none"].loss == pytest.approx(math.log(10), rel=0.2)  # untrained, 10 classes
    assert run.done


def test_same_config_gives_identical_snapshots():
    _, a = run_all(SMALL)
    _, b = run_all(SMALL)
    for fa, fb in zip(a, b):
        for net in fa:
            assert fa[net].loss == fb[net].loss and fa[net].test_acc == fb[net].test_acc
            for ra, rb in zip(fa[net].layers, fb[net].layers):
                assert ra.p50 == rb.p50 and np.array_equal(ra.hist, rb.hist)


def test_paired_run_shares_initial_weights_and_equals_separate_runs():
    run = Run(SMALL.replace(placement="both"))
    for W in run.stack.W:
        assert torch.equal(W[0], W[1]) and torch.equal(W[0], W[2])
    paired = list(run.stream())
    _, alone = run_all(SMALL, networks=["after"])
    for fp, fa in zip(paired, alone):
        assert fp["after"].loss == pytest.approx(fa["after"].loss, rel=1e-5)
        assert fp["after"].layers[1].p85 == pytest.approx(fa["after"].layers[1].p85, rel=1e-4, abs=1e-5)
        assert fp["after"].test_acc == fa["after"].test_acc


def test_resuming_gives_the_same_run():
    run = Run(SMALL)
    first = [run.advance() for _ in range(2)]
    rest = list(run.stream())
    _, whole = run_all(SMALL)
    assert [f["before"].loss for f in first + rest] == [f["before"].loss for f in whole]


def test_snapshots_describe_the_probe_set_with_the_same_numbers_as_numpy():
    run = Run(SMALL.replace(placement="before", bins=20))
    run.advance()
    frame = run.advance()
    z = run.stack.probe(run.probe)                             # the probe set, again
    assert z[0].shape[1] == min(len(run.data.y_test), 500)
    for k, net in enumerate(run.networks):
        for l, rec in enumerate(frame[net].layers):
            values = z[l][k]                                   # (P, W)
            assert rec.mean == pytest.approx(values.mean(), abs=1e-5)
            assert [rec.p15, rec.p50, rec.p85] == pytest.approx(
                np.percentile(values, [15, 50, 85]), abs=1e-6)
            np.testing.assert_allclose(rec.unit_percentiles[1], np.median(values, axis=0), atol=1e-6)
            expected, _ = np.histogram(np.clip(values, run.history.edges[0],
                                               run.history.edges[-1]), bins=run.history.edges)
            np.testing.assert_array_equal(rec.hist, expected)
            assert len(rec.hist) == 20
            grad = run.stack.grads().W[l][k]                # the training batch's gradient
            assert rec.grad_norm == pytest.approx(float(torch.linalg.vector_norm(grad)), rel=1e-5)


def test_batch_order_numpy_and_torch_give_the_same_batches():
    a, b = BatchOrder(50, 7, seed=3), BatchOrder(50, 7, seed=3)
    for _ in range(20):                                         # across several epochs
        assert a.next().tolist() == b.next_numpy().tolist()


def test_bn_before_activation_inputs_have_mean_beta_and_std_gamma():
    run = Run(SMALL.replace(steps=60, lr=0.5))
    list(run.stream())
    k = run.networks.index("before")
    eps = run.config.eps
    for l in range(run.config.depth):
        z = run.stack.z[l][k].double()                         # (N, W), the last training batch
        gamma, beta = run.stack.gamma[l][k].double(), run.stack.beta[l][k].double()
        assert not torch.allclose(gamma, torch.ones_like(gamma))       # it has learned
        torch.testing.assert_close(z.mean(0), beta, atol=1e-5, rtol=0)
        u = run.stack.u[l][k].double() @ run.stack.W[l][k].double().T  # W·u before BN
        var = u.var(0, unbiased=False)
        torch.testing.assert_close(z.std(0, unbiased=False), gamma.abs() * torch.sqrt(var / (var + eps)),
                                   atol=1e-4, rtol=1e-4)


def test_divergence_is_reported_and_the_other_network_goes_on():
    config = SMALL.replace(activation="relu", lr=10.0, init_scale=1.0, steps=60, placement="before")
    run, frames = run_all(config)
    div = run.history.divergence["none"]
    assert 0 <= div.step < 60
    assert "without BN: diverged at step" in div.message("none")
    assert frames[-1]["before"].step == 60                    # BN network trained to the end
    assert "none" not in frames[-1] or frames[-1]["none"].divergence is not None
    marked = [f["none"] for f in frames if "none" in f and f["none"].divergence]
    assert len(marked) == 1 and math.isnan(marked[0].loss)


def test_eps_zero_on_a_dead_relu_unit_diverges_cleanly():
    # BN after a ReLU: a unit that outputs 0 for the whole batch is a constant feature;
    # with eps = 0 its normalisation is 0/0.
    config = SMALL.replace(activation="relu", placement="after", eps=0.0, lr=1.0, steps=100)
    run, _ = run_all(config)
    div = run.history.divergence["after"]
    assert div.layer == 0 and "NaN" in div.message("after")
    assert "none" not in run.history.divergence


def test_divergence_is_placed_in_the_forward_pass_before_the_gradients():
    """eps = 0 and BN after saturated sigmoids: layer 3's BN output is the first NaN. Every weight
    gradient is NaN too (the backward pass runs after the whole forward), so the report must
    name the forward value, not layer 1's gradient."""
    cfg = TrainConfig(activation="sigmoid", lr=10.0, eps=0.0, placement="after", init_scale=10.0,
                      steps=300, depth=3, width=16, batch_size=8, record_every=20, momentum=None)
    run = Run(cfg)
    seen = {}
    check = run._check_finite

    def spy(loss):                         # the first non-finite step, seen independently
        k = run.networks.index("after")
        if not np.isfinite(loss.numpy()[k]) and not seen:
            st = run.stack
            seen["forward"] = [(l, what) for l in range(3) for what, v in
                               (("input to the activation", st.z[l][k]),
                                ("output (after BN)", st.u[l + 1][k]))
                               if not bool(torch.isfinite(v).all())]
        check(loss)

    run._check_finite = spy
    list(run.stream())
    div = run.history.divergence["after"]
    assert seen["forward"], "this setting is meant to break the forward pass"
    assert (div.layer, div.what) == seen["forward"][0]


def test_release_frees_what_a_held_run_holds():
    """A run that something still holds (a web server's leftover reference) gives back its
    networks and history once released (the dataset is shared by all runs: it stays); it then
    counts as done and keeps its step."""
    import gc
    import weakref

    run = Run(TrainConfig(depth=1, width=4, steps=20, record_every=10))
    list(run.stream())
    parts = [weakref.ref(p) for p in (run.history, run.stack)]
    run.release()
    gc.collect()
    assert [p() for p in parts] == [None] * len(parts)
    assert run.done and run.released and run.step == 20 and run.config.steps == 20
