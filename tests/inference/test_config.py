"""The inference page's knobs (`bn_core.inference.config`): the checks, the URL query, the
network they train."""

import pytest

from bn_core.controls import Control
from bn_core.data import load_dataset
from bn_core.inference.config import DATASET, N_TEST, InferenceConfig
from tests.inference.reference import CONFIG


def test_config_url_and_checks():
    config = InferenceConfig(momentum=None, batch_size=2, layer=1)
    back, problems = InferenceConfig.from_query(config.to_query())
    assert back == config and problems == [] and config.to_query()["momentum"] == "none"
    parsed, problems = InferenceConfig.from_query({"momentum": "0.33", "layer": "5", "steps": "600"})
    assert parsed == InferenceConfig() and len(problems) == 2
    tc = InferenceConfig(batch_size=8, steps=200, seed=4, momentum=None).train_config()
    assert (tc.batch_size, tc.steps, tc.seed, tc.placement, tc.momentum) == (8, 200, 4, "before", 0.1)
    with pytest.raises(ValueError, match=f"^example: expected a value from 0 to {N_TEST - 1}, got 5000"):
        CONFIG.replace(example=5000)


def test_the_example_knob_spans_the_test_set():
    assert load_dataset(DATASET).x_test.shape[0] == N_TEST
    example = InferenceConfig.control("example")
    assert (example.lo, example.hi) == (0, N_TEST - 1) and example.label == f"Test example (0–{N_TEST - 1})"


def values_of(c: Control) -> list:
    """Every listed value of a knob, or its range's ends and middle."""
    if c.choices is not None:
        return list(c.choices)
    middle = (c.lo + c.hi) // 2
    return [c.lo, c.hi, middle]


@pytest.mark.parametrize("name", [c.name for c in InferenceConfig.controls()])
def test_every_knob_round_trips_through_the_url(name):
    control = InferenceConfig.control(name)
    assert control.url_name == name and control.label
    for value in values_of(control):
        config = InferenceConfig().replace(**{name: value})
        query = config.to_query()
        assert (name in query) == (control.text(value) != control.text(control.default))
        back, problems = InferenceConfig.from_query(query)
        assert problems == [] and back == config, (name, value, query)
        assert getattr(back, name) == value and type(getattr(back, name)) is type(value)


def test_only_the_training_knobs_change_the_network():
    base = InferenceConfig()
    for name, value in [("momentum", None), ("layer", 1), ("unit", 7), ("example", 12)]:
        assert base.replace(**{name: value}).train_config() == base.train_config()
    for name, value in [("batch_size", 8), ("steps", 200), ("seed", 1)]:
        assert base.replace(**{name: value}).train_config() != base.train_config()
