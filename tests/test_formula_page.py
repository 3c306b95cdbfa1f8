"""AppTest of the formula page (pages/2_formula.py) through app.py: defaults, extremes, the URL."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bn_core.formula.config import EPS_CHOICES, UPSTREAM, FormulaConfig
from bn_core.formula.lesson import make_batch

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/2_formula.py"


def open_page(query=None):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def texts(at):
    return " ".join(e.value for e in [*at.markdown, *at.warning, *at.error, *at.info, *at.caption])


def test_defaults_show_the_walk_of_the_default_batch():
    at = open_page()
    assert at.title[0].value.startswith("The formula")
    headers = [h.value for h in at.header]
    assert headers[:4] == ["Step 1 · the batch mean $\\mu_B$", "Step 2 · the batch variance $\\sigma^2_B$",
                           "Step 3 · normalise: $\\hat{x}$", "Step 4 · scale and shift: $y = \\gamma\\hat{x} + \\beta$"]
    assert "Why ε?" in headers and "The backward pass" in headers
    c = FormulaConfig()
    x = make_batch(c.batch_size, c.features, c.shift, c.scale, seed=c.seed)
    first = at.dataframe[0].value
    np.testing.assert_allclose(first.iloc[:c.batch_size].to_numpy(dtype=float), x)
    np.testing.assert_allclose(first.loc["μ_B"].to_numpy(dtype=float), x.mean(0))
    assert len(at.get("plotly_chart")) >= 6
    assert len(at.latex) >= 5
    assert not at.error and not at.warning
    assert dict(at.query_params) == {} or all(not v for v in at.query_params.values())


def test_eps_zero_on_a_constant_feature_is_explained_not_raised():
    at = open_page()
    at.select_slider(key="formula_eps").set_value(0.0).run()
    at.toggle(key="formula_constant").set_value(True).run()
    at.select_slider(key="formula_spread").set_value(0.0).run()
    at.slider(key="formula_batch_size").set_value(2).run()
    assert not at.exception
    assert any("division by zero" in e.value for e in at.error)
    assert any("NaN" in w.value for w in at.warning)
    xhat = at.dataframe[2].value                      # step 3's table
    assert np.isnan(xhat.iloc[:2, 0].to_numpy(dtype=float)).all()
    assert np.isfinite(xhat.iloc[:2, 1:].to_numpy(dtype=float)).all()
    assert "With m = 2" in texts(at)
    assert any("nothing to draw" in i.value for i in at.info)      # feature 1's gradient paths
    assert at.query_params["eps"] == "0.0" and at.query_params["batch_size"] == "2"


@pytest.mark.parametrize("eps", [EPS_CHOICES[0], EPS_CHOICES[-1]])
def test_every_control_at_its_extremes(eps):
    at = open_page()
    at.select_slider(key="formula_eps").set_value(eps).run()
    changes = [
        ("slider", "formula_batch_size", 32), ("slider", "formula_features", 1),
        ("slider", "formula_features", 4), ("slider", "formula_shift", -50.0),
        ("slider", "formula_shift", 50.0), ("select_slider", "formula_scale", 0.01),
        ("select_slider", "formula_scale", 100.0), ("toggle", "formula_constant", True),
        ("select_slider", "formula_spread", 1e-4), ("slider", "formula_gamma", -5.0),
        ("slider", "formula_beta", 10.0), ("toggle", "formula_identity", True),
        ("selectbox", "formula_feature", 4), ("number_input", "formula_seed", 1_000_000),
        ("slider", "formula_features", 2),           # feature 4 no longer exists: back to 1
    ] + [("selectbox", "formula_upstream", kind) for kind in UPSTREAM]
    for kind, key, value in changes:
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, (kind, key, value)
    assert at.selectbox(key="formula_feature").value == 1


def test_the_url_sets_the_controls_and_bad_values_are_reported():
    at = open_page({"batch_size": "5", "eps": "0.001", "constant": "true", "gamma": "2.5", "seed": "9"})
    assert at.slider(key="formula_batch_size").value == 5
    assert at.select_slider(key="formula_eps").value == 1e-3
    assert at.toggle(key="formula_constant").value is True
    assert at.slider(key="formula_gamma").value == 2.5
    x = make_batch(5, 3, 5.0, 3.0, constant=True, spread=1e-3, seed=9)
    np.testing.assert_allclose(at.dataframe[0].value.loc["μ_B"].to_numpy(dtype=float), x.mean(0))
    bad = open_page({"eps": "banana", "batch_size": "1000", "colour": "red"})
    problems = [w.value for w in bad.warning]
    assert len(problems) == 3 and any("eps" in p for p in problems)
    assert bad.slider(key="formula_batch_size").value == FormulaConfig().batch_size


def test_code_is_shown_from_the_core():
    at = open_page()
    code = " ".join(c.value for c in at.code)
    assert "def batchnorm_forward(" in code and "def batchnorm_backward(" in code
    assert "def backward_paths(" in code


def test_the_qa_batch_with_a_nan_feature_has_no_sentence_that_contradicts_its_tables():
    """m = 2, D = 1, shift 50, scale 0.01, ε = 0, feature 1 exactly constant: x̂ is NaN, and no
    text may say −1 and +1, |γ|, a 'NaN (rounding only)' error, or a Σ row that cancels."""
    at = open_page({"batch_size": "2", "features": "1", "shift": "50", "scale": "0.01",
                    "eps": "0", "constant": "true", "spread": "0"})
    xhat = at.dataframe[2].value                                     # step 3's table
    assert np.isnan(xhat.iloc[:2, 0].to_numpy(dtype=float)).all()
    text = texts(at)
    for wrong in ("the two values of a feature always become −1 and +1",
                  "is **NaN** (rounding only", "standard deviation (|γ|", "1 up to ε",
                  "The Σ row: the path through μ_B cancels"):
        assert wrong not in text, wrong
    nan = "with ε = 0 and a constant feature x̂ is 0/0 = NaN"
    pair = next(i.value for i in at.info if i.value.startswith("With m = 2"))
    assert nan in pair
    captions = [c.value for c in at.caption]
    assert any(c.startswith("x̂, with its mean") and nan in c for c in captions)       # step 3
    assert any(c.startswith("The output y") and nan in c for c in captions)           # step 4
    assert any(c.startswith("Every path of feature 1 is NaN") for c in captions)      # paths
    undo = next(m.value for m in at.markdown if m.value.startswith("**γ and β give back"))
    assert "not in this batch" in undo and nan in undo and "rounding" not in undo


def test_a_constant_feature_at_positive_eps_is_said_to_become_0_not_plus_minus_1():
    at = open_page({"batch_size": "2", "features": "2", "eps": "0.001", "constant": "true",
                    "spread": "0"})
    xhat = at.dataframe[2].value
    np.testing.assert_array_equal(xhat.iloc[:2, 0].to_numpy(dtype=float), 0.0)
    pair = next(i.value for i in at.info if i.value.startswith("With m = 2"))
    assert "Feature 1's two values are equal: both become 0." in pair
    captions = " ".join(c.value for c in at.caption)
    assert "Feature 1 is constant (σ²_B = 0): x̂ = 0/√ε = 0, variance 0." in captions
    assert "Feature 1 is constant (σ²_B = 0): y = β, standard deviation 0." in captions
