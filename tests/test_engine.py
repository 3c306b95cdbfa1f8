"""The stacked engine against K separate autograd `MLP`s trained with `torch.optim`."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.data import load_dataset
from bn_core.engine import NetSpec, Stack, running_update
from bn_core.kernels import lerp_numpy
from bn_core.trainer import BatchOrder
from tests.torch_reference import MLP

IN, HIDDEN, OUT, N = 5, (7, 6), 3, 9


def reference(spec, activation, optimizer):
    net = MLP(IN, HIDDEN, OUT, activation, spec.placement, spec.eps, spec.momentum,
              spec.init_scale, spec.seed)
    wd = spec.weight_decay
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=spec.lr, weight_decay=wd)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(net.parameters(), lr=spec.lr, momentum=0.9, weight_decay=wd)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=spec.lr, weight_decay=wd)
    return net, opt


SPECS = [
    NetSpec("none", lr=0.3, seed=1),
    NetSpec("before", lr=0.2, eps=1e-3, momentum=0.5, seed=2, init_scale=0.5),
    NetSpec("after", lr=0.1, momentum=None, seed=3),
    NetSpec("before", lr=0.05, momentum=None, seed=4),
    NetSpec("before", lr=0.1, seed=5, weight_decay=5e-3),          # L2, as torch.optim's
]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_stack_matches_separate_autograd_networks(activation, optimizer):
    gen = torch.Generator().manual_seed(0)
    stack = Stack(IN, HIDDEN, OUT, activation, SPECS, optimizer)
    refs = [reference(s, activation, optimizer) for s in SPECS]
    for step in range(6):
        x = torch.randn(len(SPECS), N, IN, generator=gen) * 2 + 1         # (K, N, IN)
        y = torch.randint(0, OUT, (len(SPECS), N), generator=gen)
        loss = stack.train_step(x, y)
        for k, (net, opt) in enumerate(refs):
            ref_loss = F.cross_entropy(net(x[k]), y[k])
            opt.zero_grad()
            ref_loss.backward()
            # gradients before the step, layer by layer
            for l, layer in enumerate(net.hidden):
                torch.testing.assert_close(stack.grads().W[l][k], layer.linear.weight.grad,
                                           rtol=1e-4, atol=1e-6)
            opt.step()
            assert loss[k].item() == pytest.approx(ref_loss.item(), rel=1e-5, abs=1e-6)
            for l, layer in enumerate(net.hidden):
                torch.testing.assert_close(stack.z[l][k], net.activation_inputs[l], rtol=1e-4, atol=1e-5)
    x_test = torch.randn(11, IN, generator=gen)
    logits = stack.predict(x_test)
    for k, (net, _) in enumerate(refs):
        net.eval()
        torch.testing.assert_close(stack.Wo[k], net.out.weight.detach(), rtol=1e-4, atol=1e-5)
        for l, layer in enumerate(net.hidden):
            torch.testing.assert_close(stack.W[l][k], layer.linear.weight.detach(), rtol=1e-4, atol=1e-5)
            bn = getattr(layer, "bn", None)
            if bn is not None:
                torch.testing.assert_close(stack.gamma[l][k], bn.weight.detach(), rtol=1e-4, atol=1e-5)
                torch.testing.assert_close(stack.beta[l][k], bn.bias.detach(), rtol=1e-4, atol=1e-5)
                torch.testing.assert_close(stack.running_mean[l][k], bn.running_mean, rtol=1e-4, atol=1e-5)
                torch.testing.assert_close(stack.running_var[l][k], bn.running_var, rtol=1e-4, atol=1e-5)
        with torch.no_grad():
            torch.testing.assert_close(logits[k], net(x_test), rtol=1e-4, atol=1e-5)


def test_initial_weights_match_mlp_with_same_seed():
    stack = Stack(IN, HIDDEN, OUT, "sigmoid", SPECS)
    for k, s in enumerate(SPECS):
        net = MLP(IN, HIDDEN, OUT, "sigmoid", s.placement, init_scale=s.init_scale, seed=s.seed)
        for l, layer in enumerate(net.hidden):
            assert torch.equal(stack.W[l][k], layer.linear.weight.detach())
        assert torch.equal(stack.Wo[k], net.out.weight.detach())


def test_a_diverged_network_does_not_disturb_the_others():
    specs = [NetSpec("none", lr=0.1, seed=0), NetSpec("before", lr=0.1, seed=0)]
    stack = Stack(IN, HIDDEN, OUT, "tanh", specs)
    alone = Stack(IN, HIDDEN, OUT, "tanh", specs[1:])
    gen = torch.Generator().manual_seed(0)
    for step in range(4):
        x = torch.randn(N, IN, generator=gen)
        y = torch.randint(0, OUT, (N,), generator=gen)
        if step == 1:
            stack.flat[0].fill_(float("nan"))
            stack.active[0] = False
        stack.train_step(x, y)
        alone.train_step(x, y)
    torch.testing.assert_close(stack.flat[1], alone.flat[0])
    assert torch.isnan(stack.flat[0]).all()


def test_batch_of_one_in_training_raises():
    stack = Stack(IN, HIDDEN, OUT, "sigmoid", [NetSpec("before")])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        stack.forward(torch.randn(1, IN))
    assert stack.predict(torch.randn(1, IN)).shape == (1, 1, OUT)


def test_nan_in_an_unused_bn_path_does_not_leak_into_the_plain_network():
    # eps = 0 and a ReLU unit dead over the batch: BN-after of that unit is 0/0 = NaN. The plain
    # network of the same stack computes that BN too (then discards it): its gradients stay finite.
    specs = [NetSpec("none", eps=0.0, seed=0), NetSpec("after", eps=0.0, seed=0)]
    stack = Stack(IN, HIDDEN, OUT, "relu", specs)
    net, opt = reference(specs[0], "relu", "sgd")
    with torch.no_grad():
        for W in (stack.W[0], net.hidden[0].linear.weight):
            W[..., 0, :] = -W[..., 0, :].abs()                 # unit 0 of layer 1: always ≤ 0
    x = torch.rand(N, IN) + 0.1                                 # positive inputs
    y = torch.randint(0, OUT, (N,), generator=torch.Generator().manual_seed(1))
    stack.train_step(x, y)
    F.cross_entropy(net(x), y).backward()
    assert torch.isfinite(stack.grad[0]).all()
    assert not torch.isfinite(stack.grad[1]).all()
    torch.testing.assert_close(stack.grads().W[0][0], net.hidden[0].linear.weight.grad)


@pytest.mark.parametrize("f", [0.1, 0.4999, 0.5, 0.9, 1.0])
def test_running_update_is_torch_lerps_formula(f):
    rng = np.random.default_rng(1)
    running = rng.normal(size=(3, 50)).astype(np.float32)
    batch = rng.normal(3.0, 2.0, size=(3, 50)).astype(np.float32)
    weight = np.full((3, 1), f, np.float32)
    expected = torch.lerp(torch.from_numpy(running), torch.from_numpy(batch), torch.from_numpy(weight))
    got = running.copy()
    running_update(got, batch, weight)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, (1 - f) * running + f * batch, rtol=1e-5, atol=1e-5)
    if f == 1.0:
        np.testing.assert_array_equal(got, batch)               # the first cumulative update
    plain = running.copy()                                      # the numpy fallback: bit for bit
    lerp_numpy(plain, batch, weight)
    np.testing.assert_array_equal(got, plain)


def test_running_update_mixes_momenta_per_network():
    running = np.zeros((2, 4), np.float32)
    batch = np.full((2, 4), 2.0, np.float32)
    running_update(running, batch, np.array([[0.1], [1.0]], np.float32))
    np.testing.assert_allclose(running, [[0.2] * 4, [2.0] * 4])


# ------------------------------------------------------------------ K networks apart

def test_a_stack_of_8_seeds_equals_8_stacks_of_one():
    """The engine keeps the K networks apart: per-network mini-batches x (K, N, D)."""
    d = load_dataset("digits")
    specs = [NetSpec("before", lr=0.5, init_scale=0.1, seed=s) for s in range(8)]
    n = d.x_train.shape[0]
    batched = Stack(64, (20, 20), 10, "sigmoid", specs)
    orders = [BatchOrder(n, 16, s.seed) for s in specs]
    for _ in range(15):
        idx = torch.stack([o.next() for o in orders])                  # (K, N)
        batched.train_step(d.x_train[idx], d.y_train[idx])
    for k, spec in enumerate(specs):
        alone = Stack(64, (20, 20), 10, "sigmoid", [spec])
        order = BatchOrder(n, 16, spec.seed)
        for _ in range(15):
            idx = order.next()
            alone.train_step(d.x_train[idx], d.y_train[idx])
        torch.testing.assert_close(batched.flat[k], alone.flat[0], rtol=1e-5, atol=1e-6)
        for l in range(2):
            torch.testing.assert_close(batched.running_var[l][k], alone.running_var[l][0],
                                       rtol=1e-5, atol=1e-6)


def test_bn_cache_holds_the_batch_statistics():
    """The engine's caches, read as torch tensors, are the batch's own statistics."""
    stack = Stack(5, (7,), 3, "relu", [NetSpec("none"), NetSpec("before", seed=1),
                                       NetSpec("after", seed=2)])
    x = torch.randn(3, 9, 5, generator=torch.Generator().manual_seed(0))
    stack.forward(x)
    for place, inputs in (("before", None), ("after", stack.a[0])):
        xhat, inv, xmean, xvar = stack.bn_cache[0][place]
        if inputs is None:
            inputs = torch.bmm(x, stack.W[0].transpose(1, 2))          # W·u (b = 0 at the start)
        k = 1 if place == "before" else 2
        torch.testing.assert_close(xmean[k, 0], inputs[k].mean(0), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(xvar[k, 0], inputs[k].var(0, unbiased=False), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(xhat[k], (inputs[k] - xmean[k]) * inv[k], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(stack.z[0][1], stack.bn_cache[0]["before"][0][1])   # gamma 1, beta 0


# ------------------------------------------------------------------ snapshot / restore

def _state(stack):
    """Everything training changes, as plain copies (for bit-for-bit comparisons)."""
    return ([stack.flat.clone(), stack.active.clone(), *[b.clone() for b in stack.opt_state],
             *[t.clone() for t in stack.running_mean + stack.running_var]],
            (stack.t, stack.num_batches_tracked, stack.r_max.tobytes(), stack.d_max.tobytes()))


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a[0], b[0])) and a[1] == b[1]


def test_snapshot_and_restore_bring_back_everything_bit_for_bit():
    specs = [NetSpec("before", lr=0.01, seed=1, noise=1.0),
             NetSpec("after", lr=0.01, seed=2, norm="renorm", dropout=0.5, momentum=None),
             NetSpec("none", lr=0.02, seed=3, dropout=0.3, weight_decay=1e-3)]
    stack = Stack(IN, HIDDEN, OUT, "relu", specs, "adam")
    stack.renorm_schedule = lambda t: (1.0 + 0.5 * t, 0.1 * t)
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(N, IN, generator=gen), torch.randint(0, OUT, (N,), generator=gen))
               for _ in range(7)]
    for x, y in batches[:3]:
        stack.train_step(x, y)
    saved, before = stack.snapshot(), _state(stack)
    z_before = stack.z[0].clone()
    losses = [stack.train_step(x, y) for x, y in batches[3:]]        # step away: 4 more steps
    away = _state(stack)
    assert not _same(away, before)
    for _ in range(2):                                                # restorable again and again
        stack.restore(saved)
        assert _same(_state(stack), before)
        assert torch.equal(stack.z[0], z_before)                      # the last pass's results too
        again = [stack.train_step(x, y) for x, y in batches[3:]]     # the same draws: the same run
        assert all(torch.equal(a, b) for a, b in zip(losses, again))
        assert _same(_state(stack), away)


def test_probe_changes_nothing_not_even_the_random_draws():
    specs = [NetSpec("before", seed=1, noise=2.0), NetSpec("none", seed=2, dropout=0.5)]
    a, b = (Stack(IN, HIDDEN, OUT, "tanh", specs) for _ in range(2))
    gen = torch.Generator().manual_seed(0)
    for step in range(3):
        x, y = torch.randn(N, IN, generator=gen), torch.randint(0, OUT, (N,), generator=gen)
        a.probe(torch.randn(20, IN, generator=gen))
        assert torch.equal(a.train_step(x, y), b.train_step(x, y))
    assert _same(_state(a), _state(b))
