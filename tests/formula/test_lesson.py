"""The formula lesson's computation (`bn_core.formula.lesson`) against independent references.

References: Algorithm 1 written out in numpy in this file, torch autograd in float64 for the
gradients, and the closed forms the lesson states (gain 1/√(σ²_B+ε), Σ dx·x̂ = ε/(σ²_B+ε)·…).
"""

import math

import numpy as np
import pytest
import torch

from bn_core.formula import lesson as lf
from bn_core.formula.config import FormulaConfig
from bn_core.formula.lesson import formula_lesson, make_batch


def direct(x, gamma, beta, eps):
    """Algorithm 1, written out independently: (μ_B, σ²_B, x̂, y)."""
    mu = np.sum(x, axis=0) / x.shape[0]
    var = np.sum((x - mu) ** 2, axis=0) / x.shape[0]
    with np.errstate(all="ignore"):
        xhat = (x - mu) / np.sqrt(var + eps)
    return mu, var, xhat, gamma * xhat + beta


def torch_grads(x, gamma, beta, eps, dy):
    """dx, dγ, dβ of ℓ = Σ dy·BN(x) by autograd in float64 (F.batch_norm needs eps > 0)."""
    xt = torch.tensor(x, requires_grad=True)
    g = torch.tensor(gamma, requires_grad=True)
    b = torch.tensor(beta, requires_grad=True)
    y = torch.nn.functional.batch_norm(xt, None, None, g, b, training=True, eps=eps)
    (y * torch.tensor(dy)).sum().backward()
    return xt.grad.numpy(), g.grad.numpy(), b.grad.numpy()


CONFIGS = [
    FormulaConfig(),
    FormulaConfig(batch_size=2, features=1, eps=1e-3),
    FormulaConfig(batch_size=32, features=4, shift=-40.0, scale=100.0, gamma=-2.0, beta=3.0, seed=7),
    FormulaConfig(constant=True, spread=1e-3, eps=1e-5, upstream="y"),
    FormulaConfig(constant=True, spread=1e-4, eps=1.0, upstream="first", features=2),
    FormulaConfig(identity=True, scale=0.01, shift=50.0, upstream="ones"),
]


# ------------------------------------------------------------------ the batch

def test_make_batch_is_seeded_and_grows_by_adding_rows():
    a = make_batch(8, 3, 5.0, 3.0, seed=1)
    assert a.shape == (8, 3)
    np.testing.assert_array_equal(a, make_batch(8, 3, 5.0, 3.0, seed=1))
    assert not np.array_equal(a, make_batch(8, 3, 5.0, 3.0, seed=2))
    np.testing.assert_array_equal(make_batch(20, 4, 5.0, 3.0, seed=1)[:8, :3], a)


def test_shift_and_scale_move_the_batch_as_stated():
    base = make_batch(16, 2, 0.0, 1.0, seed=3)
    moved = make_batch(16, 2, 10.0, 5.0, seed=3)
    np.testing.assert_allclose(moved, 10.0 + 5.0 * base, rtol=1e-12, atol=1e-12)


def test_exactly_constant_feature_has_zero_variance_exactly():
    for shift, scale, m in [(5.0, 3.0, 8), (-37.5, 100.0, 31), (0.3, 0.01, 3)]:
        x = make_batch(m, 3, shift, scale, constant=True, spread=0.0, seed=4)
        assert np.all(x[:, 0] == x[0, 0])
        mu, var, _, _ = direct(x, 1.0, 0.0, 0.0)
        assert mu[0] == x[0, 0] and var[0] == 0.0
        lesson = formula_lesson(FormulaConfig(batch_size=m, shift=shift, scale=scale, constant=True,
                                              spread=0.0, eps=0.0, seed=4))
        assert lesson.xvar[0] == 0.0 and lesson.nonfinite == [1]


def test_nearly_constant_feature_has_the_chosen_spread():
    x = make_batch(32, 2, 5.0, 3.0, constant=True, spread=1e-3, seed=0)
    assert 3e-4 < x[:, 0].std() < 3e-3
    assert x[:, 1].std() > 0.5


def test_make_batch_rejects_sizes_outside_the_lesson():
    with pytest.raises(ValueError, match="expected 2 <= batch_size"):
        make_batch(1, 2)
    with pytest.raises(ValueError, match="features"):
        make_batch(4, 5)


# ------------------------------------------------------------------ the walk

@pytest.mark.parametrize("config", CONFIGS)
def test_walk_matches_algorithm_1_written_out(config):
    lesson = formula_lesson(config)
    x = make_batch(config.batch_size, config.features, config.shift, config.scale,
                   config.constant, config.spread, config.seed)
    np.testing.assert_array_equal(lesson.x, x)
    mu, var, xhat, _ = direct(x, 1.0, 0.0, config.eps)
    gamma = np.sqrt(var) if config.identity else np.full(config.features, config.gamma)
    beta = mu if config.identity else np.full(config.features, config.beta)
    y = gamma * xhat + beta
    scale = max(1.0, np.abs(x).max())
    np.testing.assert_allclose(lesson.xmean, mu, atol=1e-12 * scale)
    np.testing.assert_allclose(lesson.xvar, var, rtol=1e-10, atol=1e-12 * scale**2)
    np.testing.assert_allclose(lesson.xc, x - mu, atol=1e-12 * scale)
    np.testing.assert_allclose(lesson.sq, (x - mu) ** 2, rtol=1e-9, atol=1e-12 * scale**2)
    np.testing.assert_allclose(lesson.std, np.sqrt(var + config.eps), rtol=1e-10)
    np.testing.assert_allclose(lesson.xhat, xhat, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(lesson.y, y, rtol=1e-8, atol=1e-9 * scale)
    np.testing.assert_allclose(lesson.xhat_var, var / (var + config.eps), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(lesson.xhat_mean, 0.0, atol=1e-9)
    np.testing.assert_allclose(lf.inference_view(lesson), lesson.y, rtol=1e-9, atol=1e-9 * scale)


def test_gamma_sqrt_var_beta_mean_gives_back_the_input():
    config = FormulaConfig(shift=20.0, scale=5.0, eps=1e-3)
    lesson = formula_lesson(config)
    # γ = √σ²_B: y = √(σ²/(σ²+ε))·(x − μ) + μ, off from x by exactly that factor
    factor = np.sqrt(lesson.xvar / (lesson.xvar + config.eps))
    expected = np.abs((factor - 1) * (lesson.x - lesson.xmean)).max(0)
    np.testing.assert_allclose(lesson.identity_error, expected, rtol=1e-6)
    assert np.all(lesson.identity_error > 0)
    assert np.all(lesson.identity_error_exact < 1e-12 * np.abs(lesson.x).max())
    with_toggle = formula_lesson(config.replace(identity=True))
    np.testing.assert_allclose(with_toggle.y, lesson.x, atol=2 * expected.max())


def test_eps_zero_on_an_exactly_constant_feature_is_nan_and_nothing_else_is():
    lesson = formula_lesson(FormulaConfig(batch_size=2, features=4, constant=True, spread=0.0, eps=0.0))
    assert lesson.nonfinite == [1]
    assert np.all(np.isnan(lesson.xhat[:, 0])) and np.all(np.isnan(lesson.y[:, 0]))
    assert np.all(np.isfinite(lesson.xhat[:, 1:]))
    # with m = 2 and ε = 0 every other feature becomes exactly ±1
    np.testing.assert_allclose(np.abs(lesson.xhat[:, 1:]), 1.0, atol=1e-12)
    assert np.isnan(lesson.dx[:, 0]).all() and np.isfinite(lesson.dx[:, 1:]).all()
    assert np.isnan(lesson.grad_check[0]) and np.all(lesson.grad_check[1:] < 1e-6)
    # any ε > 0 gives x̂ = 0 on that feature
    positive = formula_lesson(FormulaConfig(batch_size=2, features=4, constant=True, spread=0.0, eps=1e-12))
    assert positive.nonfinite == [] and np.all(positive.xhat[:, 0] == 0.0)


# ------------------------------------------------------------------ ε

def test_epsilon_study_is_the_gain_formula():
    x = make_batch(8, 3, 5.0, 3.0, constant=True, spread=1e-3, seed=0)
    eps = np.array([0.0, 1e-12, 1e-6, 1e-5, 1e-3, 1.0])
    study = lf.epsilon_study(x, eps)
    _, var, _, _ = direct(x, 1.0, 0.0, 0.0)
    np.testing.assert_allclose(study["gain"], 1 / np.sqrt(var[None, :] + eps[:, None]), rtol=1e-10)
    np.testing.assert_allclose(study["xhat_var"], var / (var + eps[:, None]), rtol=1e-8)
    for i, e in enumerate(eps):
        _, _, xhat, _ = direct(x, 1.0, 0.0, e)
        np.testing.assert_allclose(study["max_abs_xhat"][i], np.abs(xhat).max(0), rtol=1e-9)
    # the nearly constant feature: gain about 1/σ_B for ε ≪ σ²_B, about 1/√ε for ε ≫ σ²_B
    assert study["gain"][1, 0] == pytest.approx(1 / math.sqrt(var[0]), rel=1e-5)
    assert study["gain"][-1, 0] == pytest.approx(1.0, rel=1e-5)


def test_epsilon_study_at_zero_on_a_constant_feature_is_infinite_gain_and_nan():
    x = make_batch(4, 2, 1.0, 1.0, constant=True, spread=0.0)
    study = lf.epsilon_study(x, [0.0, 1e-4])
    assert math.isinf(study["gain"][0, 0]) and math.isnan(study["max_abs_xhat"][0, 0])
    assert study["gain"][1, 0] == pytest.approx(100.0) and study["max_abs_xhat"][1, 0] == 0.0


def test_eps_table_rows_and_values():
    lesson = formula_lesson(FormulaConfig(constant=True, eps=1e-8))
    table = lf.eps_table(lesson, 1)
    assert list(table.index) == ["ε = 0", "ε = 1e-08 (yours)", "ε = 1e-05 (PyTorch's default)",
                                 "ε = 0.001 (Keras's default)"]
    var = lesson.xvar[0]
    np.testing.assert_allclose(table["gain 1/√(σ²_B+ε)"], 1 / np.sqrt(var + np.array([0, 1e-8, 1e-5, 1e-3])))
    _, _, xhat, _ = direct(lesson.x[:, :1], 1.0, 0.0, 1e-3)
    assert table.iloc[3]["x̂_1"] == pytest.approx(xhat[0, 0])
    # the page's ε equal to a default is labelled once
    assert list(lf.eps_table(formula_lesson(FormulaConfig()), 1).index)[1] == "ε = 1e-05 (PyTorch's default, yours)"


def test_reference_curves_are_the_constant_features():
    lesson = formula_lesson(FormulaConfig())
    exact, near = lesson.eps_reference.values()
    assert np.all(np.isinf(exact["gain"][:, 0]) == (exact["eps"] == 0))
    np.testing.assert_allclose(exact["gain"][:, 0], 1 / np.sqrt(exact["eps"]))
    assert near["gain"][0, 0] > 100


# ------------------------------------------------------------------ backward

@pytest.mark.parametrize("config", CONFIGS)
def test_gradients_match_autograd(config):
    lesson = formula_lesson(config)
    dx, dgamma, dbeta = torch_grads(lesson.x, lesson.gamma, lesson.beta, config.eps, lesson.dy)
    scale = max(1.0, np.abs(dx).max())
    np.testing.assert_allclose(lesson.dx, dx, atol=1e-9 * scale)
    np.testing.assert_allclose(lesson.dgamma, dgamma, atol=1e-9 * max(1.0, np.abs(dgamma).max()))
    np.testing.assert_allclose(lesson.dbeta, dbeta, atol=1e-12 * max(1.0, np.abs(dbeta).max()))
    assert np.all(lesson.grad_check < 1e-5)


@pytest.mark.parametrize("config", CONFIGS)
def test_paths_add_up_and_the_sums_are_as_stated(config):
    lesson = formula_lesson(config)
    p = lesson.paths
    scale = max(1.0, np.abs(p["direct"]).max())
    np.testing.assert_allclose(p["direct"] + p["mean"] + p["var"], lesson.dx, atol=1e-9 * scale)
    np.testing.assert_allclose(lesson.sum_dx, 0.0, atol=1e-9 * scale)
    # Σ dx·x̂ = ε/(σ²_B+ε) · Σ γ dy x̂ / √(σ²_B+ε), computed here from autograd's dx
    dx, _, _ = torch_grads(lesson.x, lesson.gamma, lesson.beta, config.eps, lesson.dy)
    _, var, xhat, _ = direct(lesson.x, 1.0, 0.0, config.eps)
    expected = config.eps / (var + config.eps) * (lesson.gamma * lesson.dy * xhat).sum(0) / np.sqrt(var + config.eps)
    np.testing.assert_allclose((dx * xhat).sum(0), expected, atol=1e-8 * scale)
    np.testing.assert_allclose(lesson.sum_dx_xhat_expected, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lesson.sum_dx_xhat, expected, atol=1e-8 * scale)
    frame = lesson.paths_frame(1)
    assert list(frame.index) == [str(i) for i in range(1, config.batch_size + 1)] + ["Σ"]
    assert frame.loc["Σ", "dx"] == pytest.approx(lesson.sum_dx[0], abs=1e-9 * scale)
    assert frame.loc["Σ", "dy"] == pytest.approx(lesson.dbeta[0])


def test_upstream_gradients_are_the_stated_ones():
    config = FormulaConfig(batch_size=6, features=2)
    ones = formula_lesson(config.replace(upstream="ones"))
    np.testing.assert_array_equal(ones.dy, np.ones((6, 2)))
    np.testing.assert_allclose(ones.dx, 0.0, atol=1e-12)            # ℓ = Σ y does not depend on x
    assert ones.dbeta == pytest.approx([6.0, 6.0])
    first = formula_lesson(config.replace(upstream="first"))
    assert first.dy[0].tolist() == [1.0, 1.0] and not first.dy[1:].any()
    y = formula_lesson(config.replace(upstream="y"))
    np.testing.assert_array_equal(y.dy, y.y)
    rnd = formula_lesson(config)
    np.testing.assert_array_equal(rnd.dy, formula_lesson(config).dy)
    assert not np.array_equal(rnd.dy, formula_lesson(config.replace(seed=1)).dy)


def test_shift_is_invisible_and_scale_nearly_so():
    lesson = formula_lesson(FormulaConfig(constant=True, spread=1e-3, eps=1e-5))
    # ordinary features: BN(x + c) = BN(x) and BN(a·x) ≈ BN(x)
    assert np.all(lesson.shift_change[1:] < 1e-12)
    assert np.all(lesson.scale_change[1:] < 1e-5)
    # the nearly constant feature (σ²_B < ε): scaling its input changes the output
    assert lesson.scale_change[0] > 0.1
    _, _, _, y10 = direct(lesson.x * lf.SCALE_TEST, lesson.gamma, lesson.beta, 1e-5)
    assert lesson.scale_change[0] == pytest.approx(np.abs(y10 - lesson.y).max(0)[0], rel=1e-6)


def test_summary_and_gradient_tables_hold_the_lesson_numbers():
    lesson = formula_lesson(FormulaConfig())
    summary = lesson.summary_frame()
    assert list(summary.index) == ["feature 1", "feature 2", "feature 3"]
    np.testing.assert_allclose(summary["σ²_B"], lesson.xvar)
    grads = lesson.gradient_frame()
    np.testing.assert_allclose(grads["dγ = Σ dy·x̂"], lesson.dgamma)
    frame = lesson.batch_frame(lesson.x, extra={"μ_B": lesson.xmean})
    assert frame.shape == (9, 3) and list(frame.index)[-1] == "μ_B"
    np.testing.assert_allclose(frame.loc["μ_B"], lesson.xmean)
