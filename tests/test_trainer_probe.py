"""bn_core.trainer's snapshot schedule and probe set: the snapshot steps, what the records describe
(recomputed here with plain numpy from the stack's weights), and that recording changes nothing
in training (bit for bit), including `Stack.probe` leaving the training caches alone."""

import math

import numpy as np
import pytest
import torch

from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack
from bn_core.records import PERCENTILES, PROBE_SIZE
from bn_core.trainer import BatchOrder, Run, TrainConfig, snapshot_steps

LOG_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100, 126, 158, 200, 251,
             316, 398, 501, 631, 794, 1000, 1259, 1585, 1995, 2512, 3162, 3981, 5012, 6310, 7943,
             10000]


# ----------------------------------------------------------------------------- snapshot_steps

def test_snapshot_steps_examples():
    assert snapshot_steps(300, 10).tolist() == [                 # log-spaced ones below 43.4
        0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 32, 40, 50, 60, 70, 80, 90, 100,
        110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 220, 230, 240, 250,
        260, 270, 280, 290, 300]
    assert snapshot_steps(100, 25).tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32,
                                                40, 50, 63, 75, 79, 100]
    assert snapshot_steps(7, 3).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert snapshot_steps(1, 25).tolist() == [0, 1]
    assert snapshot_steps(13, 100).tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 10, 13]


@pytest.mark.parametrize("steps,every", [(1, 1), (2, 5), (9, 4), (64, 64), (100, 1), (1500, 15),
                                         (50_000, 100), (99_999, 7), (100_000, 10_000)])
def test_snapshot_steps_contract(steps, every):
    got = snapshot_steps(steps, every)
    assert got.dtype.kind == "i"
    assert got[0] == 0 and got[-1] == steps
    assert (np.diff(got) > 0).all()                                   # sorted, unique
    multiples = set(range(0, steps + 1, every))
    log = {s for s in (round(10 ** (i / 10)) for i in range(60)) if s <= steps}   # 10 a decade
    early = {s for s in log if s < 10 / math.log(10) * every}
    assert set(got.tolist()) == multiples | early | {steps}
    assert {s for s in LOG_STEPS if s <= steps and s < 4.3 * every} <= early
    late = got[got >= 10 / math.log(10) * every]                       # the linear ones suffice:
    assert (np.log10(late[1:] / late[:-1]) <= 0.1).all()               # ≤ 0.1 decade apart


def test_log_steps_are_the_documented_ones():
    assert sorted({round(10 ** (i / 10)) for i in range(41)}) == LOG_STEPS


# ----------------------------------------------------------------------------- a run's frames

SMALL = dict(depth=2, width=12, steps=40, record_every=20, batch_size=16)


def test_frames_come_exactly_at_the_snapshot_steps():
    config = TrainConfig(**SMALL, placement="both")
    run = Run(config)
    frames = list(run.stream())
    steps = snapshot_steps(config.steps, config.record_every).tolist()
    assert [max(s.step for s in f.values()) for f in frames] == steps
    for frame in frames:
        assert list(frame) == ["none", "before", "after"]
        assert len({s.step for s in frame.values()}) == 1
    assert len(run.history.frames) == len(frames)
    assert all(a is b for a, b in zip(run.history.frames, frames))
    assert run.done and run.step == config.steps


def test_probe_set_is_the_first_test_examples():
    config = TrainConfig(**SMALL, scaling="raw")
    run = Run(config)
    x_test = load_dataset(config.dataset, scaling="raw").x_test.numpy()
    assert len(run.probe) == min(PROBE_SIZE, len(x_test)) == run.history.probe_size
    np.testing.assert_array_equal(run.probe, x_test[:PROBE_SIZE])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def bn(x, gamma, beta, eps):
    """Training-mode BN over the rows of x (the probe set's own statistics, biased variance)."""
    mean, var = x.mean(0), x.var(0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, var


def probe_z(stack, k, placement, probe, eps):
    """Per hidden layer, z (P, W) of network k over the probe set, from its weights, in float64:
    none z = W u + b; before z = BN(W u); after z = W u + b and the next u = BN(g(z))."""
    u = probe.astype(np.float64)
    out = []
    for l in range(len(stack.hidden)):
        W, b = stack.W[l][k].numpy().astype(np.float64), stack.b[l][k].numpy().astype(np.float64)
        gamma = stack.gamma[l][k].numpy().astype(np.float64)
        beta = stack.beta[l][k].numpy().astype(np.float64)
        x = u @ W.T
        if placement == "before":
            z, _ = bn(x, gamma, beta, eps)
            u = sigmoid(z)
        else:
            z = x + b
            u = sigmoid(z) if placement == "none" else bn(sigmoid(z), gamma, beta, eps)[0]
        out.append(z)
    return out


def assert_describes(rec, z, atol=2e-4):
    """The LayerRecord's statistics are those of z (P, W) (float32 engine vs float64 here)."""
    np.testing.assert_allclose(rec.unit_percentiles, np.percentile(z, PERCENTILES, axis=0),
                               rtol=1e-4, atol=atol)
    np.testing.assert_allclose([rec.p15, rec.p50, rec.p85], np.percentile(z, PERCENTILES),
                               rtol=1e-4, atol=atol)
    np.testing.assert_allclose(rec.unit_mean, z.mean(0), rtol=1e-4, atol=atol)
    np.testing.assert_allclose(rec.unit_std, z.std(0), rtol=1e-4, atol=atol)
    np.testing.assert_allclose([rec.mean, rec.std], [z.mean(), z.std()], rtol=1e-4, atol=atol)


def test_records_describe_the_probe_set_at_each_snapshot():
    config = TrainConfig(**SMALL, placement="both", lr=0.5)
    run = Run(config)
    seen, first_w = 0, None
    for frame in run.stream():
        if frame["none"].step not in (0, 5, 20, 40):
            continue
        stack = run.stack
        w = stack.W[0].clone()
        if first_w is None:
            first_w = w
        for k, net in enumerate(run.networks):
            zs = probe_z(stack, k, net, run.probe, config.eps)
            for l, z in enumerate(zs):
                rec = frame[net].layers[l]
                assert_describes(rec, z)
                if net == "before":          # BN on the probe set: mean β, std |γ|·√(var/(var+ε))
                    gamma = stack.gamma[l][k].numpy().astype(np.float64)
                    beta = stack.beta[l][k].numpy().astype(np.float64)
                    np.testing.assert_allclose(rec.unit_mean, beta, rtol=0, atol=1e-5)
                    np.testing.assert_allclose(rec.unit_std, np.abs(gamma), rtol=2e-3)
        seen += 1
    assert seen == 4
    assert not torch.equal(first_w, run.stack.W[0])               # the weights did change
    assert not np.allclose(run.stack.beta[0][1].numpy(), 0)       # and so did BN's beta


# ----------------------------------------------------------------------------- recording is free

def plain_training(config):
    """The same networks trained with Stack.train_step on the same batches, nothing recorded."""
    d = load_dataset(config.dataset, scaling=config.scaling)
    specs = [NetSpec(p, config.lr, config.eps, config.momentum, config.init_scale, config.seed)
             for p in config.networks]
    stack = Stack(d.n_features, config.hidden, d.n_classes, config.activation, specs,
                  config.optimizer)
    batches = BatchOrder(d.x_train.shape[0], config.batch_size, config.seed)
    x, y = d.x_train.numpy(), d.y_train.numpy()
    with torch.no_grad():
        for _ in range(config.steps):
            i = batches.next_numpy()
            stack.train_step(x[i], y[i])
    return stack


def trained(config):
    run = Run(config)
    for _ in run.stream():
        pass
    return run


@pytest.mark.parametrize("changes", [
    dict(placement="both"),
    dict(placement="before", optimizer="adam", momentum=None, activation="relu", lr=0.01),
], ids=["both-sgd", "before-adam-cumulative"])
def test_recording_does_not_change_training(changes):
    config = TrainConfig(depth=2, width=12, steps=100, batch_size=16, **changes)
    often = trained(config.replace(record_every=4))
    rarely = trained(config.replace(record_every=50))
    assert len(often.history.frames) > len(rarely.history.frames) + 10
    plain = plain_training(config)
    for stack in (rarely.stack, plain):
        assert torch.equal(often.stack.flat, stack.flat)                       # bit for bit
        for l in range(config.depth):
            assert torch.equal(often.stack.running_mean[l], stack.running_mean[l])
            assert torch.equal(often.stack.running_var[l], stack.running_var[l])
        assert often.stack.num_batches_tracked == stack.num_batches_tracked
        assert often.stack.t == stack.t == config.steps
    last = often.history.frames[-1], rarely.history.frames[-1]
    for net in config.networks:
        assert last[0][net].test_acc == last[1][net].test_acc
        for a, b in zip(last[0][net].layers, last[1][net].layers):
            np.testing.assert_array_equal(a.unit_percentiles, b.unit_percentiles)


# ----------------------------------------------------------------------------- Stack.probe

def small_stack():
    specs = [NetSpec("none", 0.3, seed=0), NetSpec("before", 0.3, seed=1),
             NetSpec("after", 0.3, seed=2)]
    return Stack(10, (8, 6), 4, "tanh", specs, "momentum")


def snapshot_caches(stack):
    copy = lambda ts: [t.clone() for t in ts]   # noqa: E731
    caches = [{p: None if c[p] is None else copy(c[p]) for p in ("before", "after")}
              for c in stack.bn_cache]
    return copy(stack.z), copy(stack.a), copy(stack.u), caches


def assert_same_caches(a, b):
    for xs, ys in zip(a[:3], b[:3], strict=True):
        for x, y in zip(xs, ys, strict=True):
            assert torch.equal(x, y)
    for ca, cb in zip(a[3], b[3], strict=True):
        for p in ("before", "after"):
            assert (ca[p] is None) == (cb[p] is None)
            if ca[p] is not None:
                for x, y in zip(ca[p], cb[p], strict=True):
                    assert torch.equal(x, y)


@pytest.mark.parametrize("read_first", [True, False], ids=["views-read", "views-not-read"])
def test_stack_probe_leaves_the_training_caches_alone(read_first):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 10, generator=g).numpy(), torch.randint(0, 4, (16,), generator=g)
    probe = torch.randn(50, 10, generator=g).numpy()
    stack, twin = small_stack(), small_stack()
    logits = {}
    for s in (stack, twin):
        s.train_step(x, y)                                   # some history in the buffers
        logits[id(s)] = s.forward(x)
    before = snapshot_caches(stack) if read_first else None
    running = [t.clone() for t in stack.running_mean + stack.running_var]
    tracked = stack.num_batches_tracked

    z = stack.probe(probe)
    assert [v.shape for v in z] == [(3, 50, 8), (3, 50, 6)]
    twin_probe = small_stack()
    twin_probe.flat.copy_(stack.flat)
    want = twin_probe.forward(probe, training=True, update_running=False)
    for got, ref in zip(z, twin_probe.z, strict=True):
        np.testing.assert_array_equal(got, ref.numpy())

    assert_same_caches(snapshot_caches(stack), snapshot_caches(twin))
    if before is not None:
        assert_same_caches(snapshot_caches(stack), before)
    for t, r in zip(stack.running_mean + stack.running_var, running, strict=True):
        assert torch.equal(t, r)
    assert stack.num_batches_tracked == tracked

    # the backward pass and the update after a probe: as without it
    for s in (stack, twin):
        _, dlogits = s.loss_and_dlogits(logits[id(s)], y)
        s.backward(dlogits)
        s.optimizer_step()
    assert torch.equal(stack.grad, twin.grad) and torch.equal(stack.flat, twin.flat)
    # what probe returned is not overwritten by the next training pass
    kept = [v.copy() for v in z]
    stack.forward(x)
    for v, k in zip(z, kept, strict=True):
        np.testing.assert_array_equal(v, k)
    assert want.shape == (3, 50, 4)


def test_fewer_snapshots_record_the_same_numbers_at_the_steps_they_keep():
    """Issue #25: dropping the late log-spaced snapshots changes no recorded number: a run that
    records every 25 steps and one that records every 5 agree exactly wherever both record (all
    but the mean loss, which is over the steps since the previous snapshot)."""
    config = TrainConfig(depth=2, width=12, steps=300, batch_size=16, placement="both")
    sparse, dense = trained(config.replace(record_every=25)), trained(config.replace(record_every=5))
    at = {f["none"].step: f for f in dense.history.frames}
    common = [f for f in sparse.history.frames if f["none"].step in at]
    assert len(common) >= 20
    for frame in common:
        other = at[frame["none"].step]
        for net, snap in frame.items():
            assert snap.test_acc == other[net].test_acc
            for a, b in zip(snap.layers, other[net].layers, strict=True):
                for name in ("mean", "p50", "unit_percentiles", "unit_hists",
                             "hist", "saturation", "grad_norm"):
                    np.testing.assert_array_equal(getattr(a, name), getattr(b, name), name)
