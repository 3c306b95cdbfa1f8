"""The engine's other normalisers, dropout and noisy BN (bn_core.normalizers) against autograd
networks (tests/torch_reference.py: torch's F.layer_norm, F.group_norm, F.rms_norm, a Batch
Renorm written with autograd) trained with torch.optim, on the engine's own random draws."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core import normalizers as norms
from bn_core.engine import NetSpec, Stack
from tests.torch_reference import MLP, BatchRenorm1d

IN, HIDDEN, OUT, N = 5, (8, 6), 3, 10


def reference(spec, activation, optimizer):
    net = MLP(IN, HIDDEN, OUT, activation, spec.placement, spec.eps, spec.momentum,
              spec.init_scale, spec.seed, norm=spec.norm, groups=spec.groups)
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=spec.lr, weight_decay=spec.weight_decay),
            "adam": lambda p: torch.optim.Adam(p, lr=spec.lr, weight_decay=spec.weight_decay)}
    return net, make[optimizer](net.parameters())


SPECS = [
    NetSpec("before", lr=0.2, seed=1, norm="layer"),
    NetSpec("after", lr=0.1, seed=2, norm="layer", weight_decay=1e-2),
    NetSpec("before", lr=0.2, seed=3, norm="group", groups=2),
    NetSpec("after", lr=0.1, seed=4, norm="group", groups=2, dropout=0.3),
    NetSpec("before", lr=0.2, seed=5, norm="rms", eps=1e-3),
    NetSpec("after", lr=0.1, seed=6, norm="rms"),
    NetSpec("before", lr=0.2, seed=7, norm="renorm", momentum=0.3),
    NetSpec("after", lr=0.1, seed=8, norm="renorm", momentum=None, dropout=0.5),
    NetSpec("before", lr=0.1, seed=9, noise=1.0),                               # noisy BN
    NetSpec("after", lr=0.1, seed=10, noise=2.0, dropout=0.4, dropout_layers="last"),
    NetSpec("none", lr=0.1, seed=11, dropout=0.5),
    NetSpec("before", lr=0.1, seed=12, dropout=0.2),                          # dropout + BN
]


def near(a, b):
    """Equal up to float32 rounding, judged against the largest value: GroupNorm's groups of
    3–4 units cancel digits (its dx sums to 0 over each group), so after a few Adam steps some
    elements differ by up to ~1.5e-4 of the largest; the formulas themselves are checked to
    1e-10 in float64 below."""
    b = b.detach()
    torch.testing.assert_close(a, b, rtol=1e-4, atol=3e-4 * max(1e-2, float(b.abs().max())))


def limits(t):
    """A Batch Renorm schedule that clips some units and not others."""
    return 1.0 + 0.25 * t, 0.2 * t


@pytest.mark.parametrize("activation,optimizer", [("relu", "sgd"), ("tanh", "adam")])
def test_stack_matches_autograd_networks(activation, optimizer):
    gen = torch.Generator().manual_seed(0)
    stack = Stack(IN, HIDDEN, OUT, activation, SPECS, optimizer)
    stack.renorm_schedule = limits
    refs = [reference(s, activation, optimizer) for s in SPECS]
    for step in range(6):
        x = torch.randn(len(SPECS), N, IN, generator=gen) * 2 + 1           # (K, N, IN)
        y = torch.randint(0, OUT, (len(SPECS), N), generator=gen)
        loss = stack.train_step(x, y)
        draws = stack.draws
        for k, (net, opt) in enumerate(refs):
            for bn in net.bn_layers():
                if isinstance(bn, BatchRenorm1d):
                    bn.r_max, bn.d_max = limits(step)
            masks = [torch.from_numpy(d["dropout"][k]) if k in d["dropout"] else None
                     for d in draws]
            noise = [next((tuple(map(torch.from_numpy, d[p][k])) for p in ("before", "after")
                           if k in d[p]), None) for d in draws]
            ref_loss = F.cross_entropy(net(x[k], masks, noise), y[k])
            opt.zero_grad()
            ref_loss.backward()
            assert loss[k].item() == pytest.approx(ref_loss.item(), rel=1e-5, abs=1e-6)
            for l, layer in enumerate(net.hidden):
                near(stack.z[l][k], net.activation_inputs[l])
                near(stack.grads().W[l][k], layer.linear.weight.grad)
                bn = getattr(layer, "bn", None)
                if bn is not None:
                    near(stack.grads().gamma[l][k], bn.weight.grad)
                    if bn.bias is not None:
                        near(stack.grads().beta[l][k], bn.bias.grad)
                if layer.linear.bias is not None:
                    near(stack.grads().b[l][k], layer.linear.bias.grad)
            opt.step()
    x_test = torch.randn(7, IN, generator=gen)
    logits = stack.predict(x_test)
    for k, (net, _) in enumerate(refs):
        net.eval()
        for l, layer in enumerate(net.hidden):
            near(stack.W[l][k], layer.linear.weight.detach())
            bn = getattr(layer, "bn", None)
            if bn is not None and hasattr(bn, "running_var"):
                near(stack.running_mean[l][k], bn.running_mean)
                near(stack.running_var[l][k], bn.running_var)
        with torch.no_grad():
            near(logits[k], net(x_test))


def _autograd_norm(norm, x, gamma, beta, eps, groups, running_mean, running_var, r_max, d_max):
    """One network's normaliser in float64 with torch autograd: (N, D) → (N, D)."""
    if norm == "layer":
        return F.layer_norm(x, (x.shape[1],), gamma, beta, eps)
    if norm == "group":
        return F.group_norm(x, groups, gamma, beta, eps)
    if norm == "rms":
        return F.rms_norm(x, (x.shape[1],), gamma, eps)
    xmean, xvar = x.mean(0), x.var(0, unbiased=False)
    std, sigma = torch.sqrt(xvar + eps), torch.sqrt(running_var + eps)
    r = torch.clamp(std / sigma, 1 / r_max, r_max).detach()
    d = torch.clamp((xmean - running_mean) / sigma, -d_max, d_max).detach()
    return gamma * ((x - xmean) / std * r + d) + beta


@pytest.mark.parametrize("norm,groups", [("layer", 1), ("group", 3), ("group", 12), ("rms", 1),
                                         ("renorm", 1)])
def test_batched_formulas_match_autograd_in_float64(norm, groups):
    k, n, d = 3, 6, 12
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, (k, n, d))
    gamma, beta = rng.normal(1.0, 0.5, (k, 1, d)), rng.normal(0.0, 0.5, (k, 1, d))
    eps = np.full((k, 1, 1), 1e-3)
    rm, rv = rng.normal(0.5, 1.0, (k, d)), rng.uniform(0.5, 6.0, (k, d))
    r_max, d_max = np.full((k, 1, 1), 1.5), np.full((k, 1, 1), 0.4)
    dy = rng.normal(size=(k, n, d))
    if norm == "renorm":          # the BN kernels are float32: float64 for the rest of it here
        y, c = norms.train("renorm", x.astype(np.float32), gamma.astype(np.float32),
                           beta.astype(np.float32), eps.astype(np.float32), 1, rm.astype(np.float32),
                           rv.astype(np.float32), r_max.astype(np.float32), d_max.astype(np.float32))
        tol = 1e-5
    else:
        y, c = norms.train(norm, x, gamma, beta, eps, groups)
        tol = 1e-10
    dgamma, dbeta = np.zeros((k, 1, d), y.dtype), np.zeros((k, 1, d), y.dtype)
    dx = norms.backward(norm, dy.astype(y.dtype), gamma.astype(y.dtype), c, dgamma, dbeta)
    assert not np.array_equal(c.r, np.ones_like(c.r)) if norm == "renorm" else True
    for i in range(k):
        xt = torch.tensor(x[i], requires_grad=True)
        g, b = (torch.tensor(v[i, 0], requires_grad=True) for v in (gamma, beta))
        yt = _autograd_norm(norm, xt, g, b, 1e-3, groups, torch.tensor(rm[i]), torch.tensor(rv[i]),
                            1.5, 0.4)
        yt.backward(torch.tensor(dy[i]))
        scale = lambda t: tol * max(1.0, float(t.abs().max()))  # noqa: E731
        for ours, theirs in ((y[i], yt.detach()), (dx[i], xt.grad), (dgamma[i, 0], g.grad),
                             (dbeta[i, 0], b.grad if norm != "rms" else torch.zeros(d))):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=scale(theirs))
        np.testing.assert_allclose(norms.evaluate(norm, x, gamma, beta, eps, groups, rm, rv)[i]
                                   if norm != "renorm" else y[i], y[i], rtol=0, atol=tol)


@pytest.mark.parametrize("placement", ["before", "after"])
def test_renorm_with_r_max_1_d_max_0_is_bn_exactly(placement):
    # two stacks of one network each, so the two run the same products on the same layout
    bn, renorm = (Stack(IN, HIDDEN, OUT, "sigmoid", [NetSpec(placement, lr=0.3, seed=3, norm=n,
                                                              momentum=None)], "momentum")
                  for n in ("batch", "renorm"))
    renorm.renorm_schedule = lambda t: (1.0, 0.0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        x = torch.randn(N, IN, generator=gen) * 3 + 1
        y = torch.randint(0, OUT, (N,), generator=gen)
        assert torch.equal(bn.train_step(x, y), renorm.train_step(x, y))
    assert torch.equal(bn.flat, renorm.flat)
    for l in range(len(HIDDEN)):
        assert torch.equal(bn.running_var[l], renorm.running_var[l])
        assert torch.equal(bn.running_mean[l], renorm.running_mean[l])
    x = torch.randn(4, IN, generator=gen)
    assert torch.equal(bn.predict(x), renorm.predict(x))
    renorm.set_renorm_limits(2.0, 1.0)                      # now r and d act: it differs
    renorm.renorm_schedule = None
    assert not torch.equal(bn.forward(x * 5), renorm.forward(x * 5))


def test_per_example_norms_give_the_same_output_in_train_and_eval_mode():
    specs = [NetSpec("before", seed=1, norm="layer"), NetSpec("after", seed=2, norm="group",
                                                             groups=3),
             NetSpec("before", seed=3, norm="rms"), NetSpec("before", seed=4, norm="group",
                                                           groups=6)]
    stack = Stack(IN, (6, 6), OUT, "relu", specs)
    x = torch.randn(9, IN, generator=torch.Generator().manual_seed(0))
    trained = stack.forward(x, training=True)
    assert torch.equal(stack.predict(x), trained)
    one = stack.forward(x[:1], training=True)                     # a batch of one is fine
    torch.testing.assert_close(one, trained[:, :1], rtol=1e-5, atol=1e-6)
    # groups = width: every unit its own group, xhat = 0, so z = beta = 0 whatever the input
    assert torch.equal(stack.z[0][3], torch.zeros(1, 6))


def test_noise_draws_have_the_papers_ranges_scaled_by_the_strength():
    """Per unit and step μ_t ~ U(−0.5, 0.5)·s and σ_t ~ U(1, 1 + 0.25·s) (Santurkar et al.,
    appendix A.2.1: drawn inside the loop over units); per element m ~ U(μ_t ± 0.1·s),
    n ~ N(σ_t, 0.1·s)."""
    for s in (1.0, 3.0):
        gen = norms.generator(0, "noise")
        widths, mus, sigmas, sds = [], [], [], []
        for _ in range(20):
            m, n = norms.noise_draw(gen, s, (400, 60))              # (examples, units)
            widths += list(m.max(0) - m.min(0))                     # per unit: ≤ 0.2·s wide
            mus += list(m.mean(0))                                  # ≈ μ_t of each unit
            sigmas += list(n.mean(0))                               # ≈ σ_t of each unit
            sds += list(n.std(0))
        mus, sigmas = np.array(mus), np.array(sigmas)
        assert max(widths) <= 0.2 * s + 1e-6 and np.mean(widths) > 0.19 * s
        assert mus.min() > -0.5 * s - 0.02 * s and mus.max() < 0.5 * s + 0.02 * s
        assert mus.std() == pytest.approx(s / np.sqrt(12), rel=0.1)        # U(−.5, .5)·s
        assert sigmas.min() > 1 - 0.03 * s and sigmas.max() < 1 + 0.25 * s + 0.03 * s
        assert sigmas.std() == pytest.approx(0.25 * s / np.sqrt(12), rel=0.2)   # U(1, 1.25·s)
        assert np.mean(sds) == pytest.approx(0.1 * s, rel=0.02)
        one = norms.noise_draw(norms.generator(1, "noise"), s, (400, 60))[0].mean(0)
        assert one.std() == pytest.approx(s / np.sqrt(12), rel=0.3)   # within a draw: each unit its own


def test_noise_zero_is_plain_bn_and_draws_are_per_network_and_reproducible():
    plain = [NetSpec("before", seed=2), NetSpec("after", seed=5)]
    noisy = [NetSpec("before", seed=2, noise=0.0), NetSpec("after", seed=5, noise=1.5)]
    x = torch.randn(N, IN, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, OUT, (N,), generator=torch.Generator().manual_seed(1))
    stacks = [Stack(IN, HIDDEN, OUT, "tanh", specs) for specs in (plain, noisy, noisy)]
    alone = Stack(IN, HIDDEN, OUT, "tanh", noisy[1:])
    for _ in range(3):
        for st in stacks + [alone]:
            st.train_step(x, y)
    assert torch.equal(stacks[0].flat[0], stacks[1].flat[0])      # noise 0: no draw at all
    assert not torch.equal(stacks[0].flat[1], stacks[1].flat[1])
    assert torch.equal(stacks[1].flat, stacks[2].flat)            # same seeds, same draws
    torch.testing.assert_close(alone.flat[0], stacks[1].flat[1])  # apart from the others


def test_dropout_masks_and_layers():
    specs = [NetSpec("none", seed=1, dropout=0.25), NetSpec("none", seed=2, dropout=0.5,
                                                            dropout_layers="last")]
    stack = Stack(IN, (200, 300), OUT, "relu", specs)
    x = torch.randn(64, IN, generator=torch.Generator().manual_seed(0))
    stack.forward(x)
    d = stack.draws
    assert set(d[0]["dropout"]) == {0} and set(d[1]["dropout"]) == {0, 1}
    for layer, k, p in ((0, 0, 0.25), (1, 0, 0.25), (1, 1, 0.5)):
        mask = d[layer]["dropout"][k]
        assert set(np.unique(mask)) <= {0.0, np.float32(1 / (1 - p))}
        assert (mask == 0).mean() == pytest.approx(p, abs=0.02)
        torch.testing.assert_close(stack.u[layer + 1][k],
                                   torch.relu(stack.z[layer][k]) * torch.from_numpy(mask))
    ref = Stack(IN, (200, 300), OUT, "relu", [NetSpec("none", seed=1), NetSpec("none", seed=2)])
    assert torch.equal(stack.predict(x), ref.predict(x))          # eval mode: no dropout


@pytest.mark.parametrize("spec,field", [
    (NetSpec("before", norm="group", groups=4), "groups"),      # 4 does not divide 6
    (NetSpec("before", norm="layer_norm"), "norm"),
    (NetSpec("before", dropout=1.0), "dropout"),
    (NetSpec("before", dropout_layers="first"), "dropout_layers"),
    (NetSpec("none", noise=1.0), "noise"),
    (NetSpec("before", noise=-1.0), "noise"),
])
def test_invalid_specs_raise_naming_the_field(spec, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        Stack(IN, (8, 6), OUT, "relu", [spec])


def test_renorm_limits_are_checked_and_per_network():
    stack = Stack(IN, HIDDEN, OUT, "relu", [NetSpec("before", norm="renorm")] * 2)
    stack.set_renorm_limits([1.0, 3.0], 0.5)
    assert stack.r_max.ravel().tolist() == [1.0, 3.0] and stack.d_max.ravel().tolist() == [0.5] * 2
    with pytest.raises(ValueError, match="r_max ≥ 1"):
        stack.set_renorm_limits(0.5, 0.0)
