"""The experiments' knobs (bn_core.experiments.config): the URL, checks, the grid."""

import pytest

from bn_core.experiments import config as C
from bn_core.experiments.config import SweepConfig


def test_config_round_trips_through_the_url():
    c = SweepConfig.default("lr").replace(seeds=4, lr_min=0.003, init_scale=None, width=32)
    q = c.to_query()
    assert q["exp"] == "lr" and q["seeds"] == "4" and q["lr_min"] == "0.003" and "init_scale" not in q
    assert SweepConfig.from_dict(q) == c
    assert SweepConfig.from_query(q) == (c, [])
    b = SweepConfig.default("batch").replace(batch_sizes=(2, 64), activations=("relu",))
    assert SweepConfig.from_query(b.to_query())[0].batch_sizes == (2, 64)
    assert SweepConfig.default("placement").to_query() == {"exp": "placement"}


def test_from_query_falls_back_per_parameter_with_messages():
    c, problems = SweepConfig.from_query({"exp": "init", "seeds": "abc", "points": "99",
                                          "lr_min": "0.1", "width": "32", "colour": "red"})
    assert c.experiment == "init" and c.seeds == SweepConfig.default("init").seeds
    assert c.points == SweepConfig.default("init").points and c.width == 32
    assert [p.split(":")[0] for p in problems] == ["seeds", "points", "lr_min", "colour"]
    c, problems = SweepConfig.from_query({"exp": "sideways"})
    assert c.experiment == "placement" and problems[0].startswith("exp:")


@pytest.mark.parametrize("field,value", [
    ("seeds", 0), ("seeds", 11), ("depth", 9), ("lr", 100.0), ("points", 1), ("steps", 5),
    ("activations", ()), ("activations", ("gelu",)), ("batch_sizes", (3,)),
    ("batch_sizes", (64, 8)), ("dataset", "mnist"), ("placement", "none"), ("target", 1.5),
    ("lr_min", 20.0),
])
def test_invalid_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: expected"):
        SweepConfig(**{field: value})


def test_log_grid():
    assert C.log_grid(1e-3, 10, 9) == [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0]
    assert C.log_grid(1e-4, 1, 2) == [1e-4, 1.0]
