"""The formula page's knobs (`bn_core.formula.config`): the checks, the URL query, the labels."""

import pytest

from bn_core.controls import Control
from bn_core.formula.config import (EPS_CHOICES, MAX_FEATURES, FormulaConfig, format_eps,
                                    latex_eps)


def test_config_checks_and_url_round_trip():
    config = FormulaConfig(batch_size=2, eps=0.0, constant=True, spread=0.0, gamma=-1.5,
                           upstream="first", features=4, feature=3)
    query = config.to_query()
    assert all(isinstance(v, str) for v in query.values())
    back, problems = FormulaConfig.from_query(query)
    assert back == config and problems == []
    assert FormulaConfig().to_query() == {}
    parsed, problems = FormulaConfig.from_query({"eps": "2e-5", "batch_size": "40", "constant": "maybe",
                                                 "colour": "red", "scale": "10"})
    assert parsed == FormulaConfig(scale=10.0)
    assert [p.split(":")[0] for p in problems] == ["colour", "batch_size", "constant", "eps"]
    # checked in field order: features before the feature that must not exceed it
    parsed, problems = FormulaConfig.from_query({"feature": "3", "features": "2"})
    assert parsed.features == 2 and parsed.feature == 1
    assert problems == ["feature: expected a feature from 1 to 2, got 3; using 1"]
    with pytest.raises(ValueError, match="^feature: expected a feature from 1 to 2"):
        FormulaConfig(features=2, feature=3)
    with pytest.raises(ValueError, match="^eps: expected one of"):
        FormulaConfig(eps=2e-5)


def values_of(c: Control) -> list:
    """Every listed value of a knob, or its range's ends and middle."""
    if c.choices is not None:
        return list(c.choices)
    if c.kind is bool:
        return [True, False]
    middle = (c.lo + c.hi) / 2
    return [c.lo, c.hi, int(middle) if c.kind is int else middle]


@pytest.mark.parametrize("name", [c.name for c in FormulaConfig.controls()])
def test_every_knob_round_trips_through_the_url(name):
    control = FormulaConfig.control(name)
    assert control.url_name == name and control.label
    base = FormulaConfig(features=MAX_FEATURES)          # so that every feature is allowed
    for value in values_of(control):
        config = base.replace(**{name: value})
        query = config.to_query()
        assert (name in query) == (control.text(value) != control.text(control.default))
        back, problems = FormulaConfig.from_query(query)
        assert problems == [] and back == config, (name, value, query)
        assert getattr(back, name) == value and type(getattr(back, name)) is type(value)


def test_every_eps_choice_is_written_and_read_back_exactly():
    for eps in EPS_CHOICES:
        text = FormulaConfig(eps=eps).to_query().get("eps", repr(eps))
        assert FormulaConfig.from_query({"eps": text})[0].eps == eps


def test_latex_and_text_formats():
    assert latex_eps(0.0) == "0" and latex_eps(1e-5) == "10^{-5}" and latex_eps(1.0) == "1"
    assert format_eps(0.0) == "0" and format_eps(1e-3) == "0.001"
    eps = FormulaConfig.control("eps")
    assert [eps.show(v) for v in (0.0, 1e-5, 1.0)] == ["0", "1e-05", "1"]
    assert FormulaConfig.control("feature").show(2) == "feature 2"
    assert FormulaConfig.control("spread").show(0.0) == "0 (exactly constant)"
