"""The tests' torch reference (tests/torch_reference.py): its BatchNorm1d against
torch.nn.BatchNorm1d, and its MLP."""

import math

import numpy as np
import pytest
import torch

from bn_core import batchnorm as npbn
from tests.torch_reference import MLP, BatchNorm1d

ATOL = 1e-10


def close(a, b, atol=ATOL):
    a = a.detach().double() if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=torch.float64)
    b = b.detach().double() if isinstance(b, torch.Tensor) else torch.as_tensor(b, dtype=torch.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    torch.testing.assert_close(a, b, rtol=0, atol=atol * max(1.0, float(b.abs().max())))


def pair(d, eps=1e-5, momentum=0.1, seed=0):
    """Ours and torch's, float64, with the same random weight and bias."""
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(d, generator=gen, dtype=torch.float64) * 2
    bias = torch.randn(d, generator=gen, dtype=torch.float64)
    ours = BatchNorm1d(d, eps=eps, momentum=momentum).double()
    ref = torch.nn.BatchNorm1d(d, eps=eps, momentum=momentum).double()
    with torch.no_grad():
        for m in (ours, ref):
            m.weight.copy_(weight)
            m.bias.copy_(bias)
    return ours, ref


def batches(d, n, count, seed):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k in range(count):
        scale = torch.rand(d, generator=gen, dtype=torch.float64) * 4 + 0.2
        loc = torch.randn(d, generator=gen, dtype=torch.float64) * 3 + k
        out.append(torch.randn(n, d, generator=gen, dtype=torch.float64) * scale + loc)
    return out


# ------------------------------------------------------------------ BatchNorm1d vs torch

def test_defaults_match_torch():
    ours, ref = BatchNorm1d(5), torch.nn.BatchNorm1d(5)
    assert ours.eps == ref.eps and ours.momentum == ref.momentum
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.dtype == b.dtype and torch.equal(a.detach(), b.detach()), name
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]


@pytest.mark.parametrize("n,d,eps", [(2, 1, 1e-5), (3, 4, 1e-1), (8, 10, 1e-5), (33, 3, 1e-1),
                                     (64, 7, 1e-5)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_matches_torch_train_grads_running_stats_eval(n, d, eps, momentum):
    ours, ref = pair(d, eps, momentum, seed=n * 100 + d)
    ours.train()
    ref.train()
    gen = torch.Generator().manual_seed(n + d)
    for x in batches(d, n, 4, seed=n * 7 + d):
        xo = x.clone().requires_grad_(True)
        xr = x.clone().requires_grad_(True)
        yo, yr = ours(xo), ref(xr)
        close(yo, yr)
        R = torch.randn(n, d, generator=gen, dtype=torch.float64)
        for m in (ours, ref):
            m.zero_grad()
        (yo * R).sum().backward()
        (yr * R).sum().backward()
        close(xo.grad, xr.grad)
        close(ours.weight.grad, ref.weight.grad)
        close(ours.bias.grad, ref.bias.grad)
        close(ours.running_mean, ref.running_mean)
        close(ours.running_var, ref.running_var)
        assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked)
    assert int(ours.num_batches_tracked) == 4
    assert ours.num_batches_tracked.dtype == torch.long
    assert not torch.allclose(ours.running_mean, torch.zeros(d, dtype=torch.float64))

    ours.eval()
    ref.eval()
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * 2
    xo, xr = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    yo, yr = ours(xo), ref(xr)
    close(yo, yr)
    yo.sum().backward()
    yr.sum().backward()
    close(xo.grad, xr.grad)
    assert int(ours.num_batches_tracked) == 4   # eval does not update
    close(ours.running_var, ref.running_var)
    # eval with a batch of one
    close(ours(x[:1]), ref(x[:1]))


def test_matches_numpy_reference():
    """The tensor version and the numpy reference agree too (train and eval)."""
    d = 4
    ours, _ = pair(d, 1e-3, 0.2, seed=3)
    ref = npbn.BatchNorm1d(d, eps=1e-3, momentum=0.2)
    ref.weight = ours.weight.detach().numpy().copy()
    ref.bias = ours.bias.detach().numpy().copy()
    for x in batches(d, 6, 3, seed=4):
        close(ours(x), ref(x.numpy()))
    close(ours.running_mean, ref.running_mean)
    close(ours.running_var, ref.running_var)
    ours.eval()
    ref.eval()
    x = batches(d, 5, 1, seed=5)[0]
    close(ours(x), ref(x.numpy()))


def test_float32_module_close_to_torch():
    ours, ref = BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(16, 3, generator=gen) * 3 + 1
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_var, ref.running_var, rtol=1e-5, atol=1e-6)


def test_state_dict_keys_and_loading_both_ways():
    ours, ref = pair(4, momentum=0.3, seed=9)
    for x in batches(4, 10, 3, seed=10):
        ref(x)
    sd_ref = ref.state_dict()
    assert list(ours.state_dict().keys()) == list(sd_ref.keys())
    ours.load_state_dict(sd_ref)
    for k, v in sd_ref.items():
        assert torch.equal(ours.state_dict()[k], v), k
    x = batches(4, 5, 1, seed=11)[0]
    ours.eval()
    ref.eval()
    close(ours(x), ref(x))

    # and the other way round
    ours2, ref2 = pair(4, momentum=0.3, seed=12)
    ours2.train()
    for x in batches(4, 7, 2, seed=13):
        ours2(x)
    ref2.load_state_dict(ours2.state_dict())
    assert int(ref2.num_batches_tracked) == 2
    ours2.eval()
    ref2.eval()
    close(ours2(x), ref2(x))


# ------------------------------------------------------------------ errors and eps = 0

def test_error_batch_of_one_in_training():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*at least 2"):
        bn(torch.ones(1, 3))
    assert int(bn.num_batches_tracked) == 0
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.ones(1, 3))
    bn.eval()
    assert bn(torch.ones(1, 3)).shape == (1, 3)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
@pytest.mark.parametrize("training", [True, False])
def test_error_not_2d(shape, training):
    bn = BatchNorm1d(3).train(training)
    with pytest.raises(ValueError, match=r"expected a 2-D input of shape \(N, C\)"):
        bn(torch.ones(shape))


@pytest.mark.parametrize("training", [True, False])
def test_error_wrong_feature_count(training):
    bn = BatchNorm1d(3).train(training)
    with pytest.raises(ValueError, match=r"expected 3 features .* got 5"):
        bn(torch.ones(4, 5))


@pytest.mark.parametrize("eps", [-1e-5, float("nan")])
def test_error_negative_eps(eps):
    with pytest.raises(ValueError, match="expected eps >= 0"):
        BatchNorm1d(3, eps=eps)


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_error_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"expected momentum in \[0, 1\]"):
        BatchNorm1d(3, momentum=momentum)


def test_error_num_features():
    with pytest.raises(ValueError, match="num_features >= 1"):
        BatchNorm1d(0)


def test_eps_zero_allowed():
    # torch refuses eps = 0 in training; compare with eps = 1e-300 (below one ulp of these
    # variances, so var + 1e-300 == var in float64) and with the numpy formula
    ours, _ = pair(3, eps=0.0, seed=14)
    ref = torch.nn.BatchNorm1d(3, eps=1e-300).double()
    ref.load_state_dict(ours.state_dict())
    assert ours.eps == 0.0
    for x in batches(3, 6, 3, seed=15):
        y = ours(x)
        assert torch.isfinite(y).all()
        close(y, ref(x))
        xn = x.numpy()
        w, b = ours.weight.detach().numpy(), ours.bias.detach().numpy()
        close(y, w * (xn - xn.mean(0)) / np.sqrt(xn.var(0)) + b)
    # constant feature: 0/0
    x = torch.tensor([[1.0, 2.0], [3.0, 2.0], [4.0, 2.0]])
    y = BatchNorm1d(2, eps=0.0)(x)
    assert torch.isnan(y[:, 1]).all() and torch.isfinite(y[:, 0]).all()


# ------------------------------------------------------------------ MLP

@pytest.mark.parametrize("placement,order", [
    ("none", ["linear", "sigmoid"]),
    ("before", ["linear", "bn", "sigmoid"]),
    ("after", ["linear", "sigmoid", "bn"]),
])
def test_layer_order_and_bias(placement, order):
    net = MLP(6, (5, 4, 3), 2, "sigmoid", placement)
    assert net.layer_order() == [order] * 3
    for layer, bn in zip(net.hidden, net.bn_layers()):
        if placement == "before":
            assert layer.linear.bias is None
        else:
            assert layer.linear.bias is not None and torch.all(layer.linear.bias == 0)
        assert (bn is None) == (placement == "none")
        if bn is not None:
            assert isinstance(bn, BatchNorm1d) and bn.num_features == layer.linear.out_features
    assert net.out.bias is not None


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_layer_order_other_activations(activation):
    net = MLP(3, (4,), 2, activation, "after")
    assert net.layer_order() == [["linear", activation, "bn"]]


def test_forward_computes_the_placements():
    """The layer computes g(Wu+b), g(BN(Wu)) or BN(g(Wu+b)), checked with torch.nn pieces."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=gen)
    for placement in ("none", "before", "after"):
        net = MLP(5, (4, 3), 2, "tanh", placement, seed=1)
        h = x
        for layer in net.hidden:
            lin = layer.linear
            z = h @ lin.weight.T + (lin.bias if lin.bias is not None else 0)
            if placement == "before":
                z = torch.nn.functional.batch_norm(z, None, None, training=True, eps=1e-5)
            h = torch.tanh(z)
            if placement == "after":
                h = torch.nn.functional.batch_norm(h, None, None, training=True, eps=1e-5)
        expected = h @ net.out.weight.T + net.out.bias
        torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-5)


def test_same_seed_same_weights_regardless_of_placement():
    nets = [MLP(7, (6, 5), 3, "sigmoid", p, seed=42, init_scale=0.3) for p in ("none", "before", "after")]
    for net in nets[1:]:
        for a, b in zip(nets[0].hidden, net.hidden):
            assert torch.equal(a.linear.weight, b.linear.weight)
        assert torch.equal(nets[0].out.weight, net.out.weight)
    other = MLP(7, (6, 5), 3, "sigmoid", "none", seed=43, init_scale=0.3)
    assert not torch.equal(other.hidden[0].linear.weight, nets[0].hidden[0].linear.weight)
    # a second build with the same seed is identical too
    again = MLP(7, (6, 5), 3, "sigmoid", "none", seed=42, init_scale=0.3)
    assert torch.equal(again.hidden[1].linear.weight, nets[0].hidden[1].linear.weight)


@pytest.mark.parametrize("scale", [1e-2, 0.5, 2.0])
def test_init_scale_gives_weight_std(scale):
    net = MLP(80, (100, 100), 10, "sigmoid", "none", init_scale=scale, seed=0)
    for lin in [layer.linear for layer in net.hidden] + [net.out]:
        w = lin.weight.detach()
        assert float(w.std()) == pytest.approx(scale, rel=0.1)
        assert abs(float(w.mean())) < 0.1 * scale


def test_default_init_is_fan_in():
    net = MLP(64, (200, 50), 10, "sigmoid", "before", init_scale=None, seed=1)
    for lin in [layer.linear for layer in net.hidden] + [net.out]:
        expected = 1 / math.sqrt(lin.in_features)
        assert float(lin.weight.detach().std()) == pytest.approx(expected, rel=0.1)


def test_activation_inputs_recorded():
    net = MLP(5, (7, 6, 4), 3, "relu", "none")
    x = torch.randn(11, 5, generator=torch.Generator().manual_seed(0))
    net(x)
    assert [tuple(z.shape) for z in net.activation_inputs] == [(11, 7), (11, 6), (11, 4)]
    # the first one is W·u + b of the input
    torch.testing.assert_close(net.activation_inputs[0], net.hidden[0].linear(x))
    # recorded afresh on every forward
    net(x[:3])
    assert [tuple(z.shape) for z in net.activation_inputs] == [(3, 7), (3, 6), (3, 4)]


def test_before_placement_normalises_activation_inputs():
    torch.manual_seed(0)
    n, widths = 50, (20, 15, 10)
    net = MLP(8, widths, 3, "sigmoid", "before", eps=1e-5, seed=3).double().train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, 8, generator=gen, dtype=torch.float64) * 3 + 2
    with torch.no_grad():
        net(x)
    zs = net.activation_inputs
    assert len(zs) == 3
    for z in zs:
        close(z.mean(0), torch.zeros(z.shape[1], dtype=torch.float64), atol=1e-10)
        # biased std is sqrt(var / (var + eps)), just under 1
        std = z.std(0, unbiased=False)
        assert torch.all(std < 1) and torch.all(std > 1 - 1e-3)

    # random gamma, beta: mean = beta, std = |gamma| · sqrt(var / (var + eps))
    with torch.no_grad():
        for bn in net.bn_layers():
            bn.weight.copy_(torch.randn(bn.num_features, generator=gen, dtype=torch.float64) * 2)
            bn.bias.copy_(torch.randn(bn.num_features, generator=gen, dtype=torch.float64))
        net(x)
    u = x
    for layer, z in zip(net.hidden, net.activation_inputs):
        with torch.no_grad():
            wu = u @ layer.linear.weight.T                  # independent: the raw W·u
        var = wu.var(0, unbiased=False)
        bn = layer.bn
        close(z.mean(0), bn.bias.detach(), atol=1e-10)
        close(z.std(0, unbiased=False), bn.weight.detach().abs() * torch.sqrt(var / (var + bn.eps)),
              atol=1e-10)
        u = torch.sigmoid(z)


def test_after_placement_normalises_layer_outputs():
    net = MLP(4, (9,), 2, "sigmoid", "after").double()
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 4
    with torch.no_grad():
        net(x)
        h = net.hidden[0](x)[0]
    close(h.mean(0), torch.zeros(9, dtype=torch.float64))
    # the recorded activation input is the raw W·u + b
    close(net.activation_inputs[0], net.hidden[0].linear(x))


def test_mlp_bn_running_stats_update_only_in_train_mode():
    net = MLP(4, (6,), 2, "relu", "before", momentum=None)
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    net.train()
    net(x)
    bn = net.bn_layers()[0]
    assert int(bn.num_batches_tracked) == 1
    wu = net.hidden[0].linear(x).detach()
    close(bn.running_mean, wu.mean(0), atol=1e-6)
    close(bn.running_var, wu.var(0, unbiased=True), atol=1e-6)
    net.eval()
    net(x[:1])
    assert int(bn.num_batches_tracked) == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"activation": "softmax"}, "expected activation in"),
    ({"placement": "middle"}, "expected placement in"),
    ({"hidden": ()}, "expected positive sizes"),
    ({"hidden": (5, 0)}, "expected positive sizes"),
    ({"init_scale": 0.0}, "expected init_scale > 0"),
    ({"init_scale": -1.0}, "expected init_scale > 0"),
    ({"eps": -1.0, "placement": "before"}, "expected eps >= 0"),
    ({"momentum": 2.0, "placement": "after"}, r"expected momentum in \[0, 1\]"),
])
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(4, **{"hidden": (3,), **kwargs})
