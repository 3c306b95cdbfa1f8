"""The lesson's config: defaults, rules between knobs, the URL, the budgets."""

import pytest

from bn_core.alternatives.config import EXPERIMENTS, LR_BATCH, NormsConfig


def test_each_experiment_has_its_defaults_and_a_clean_url():
    for e in EXPERIMENTS:
        c = NormsConfig.default(e)
        assert c.experiment == e and c.to_query() == {"exp": e}
        assert NormsConfig.from_query(c.to_query()) == (c, [])
    assert NormsConfig.default("batch").batch_sizes == (2, 4, 8, 16, 32)
    assert NormsConfig.default("regular").batch_sizes == (8, 32, 128)


def test_the_url_round_trips_relevant_knobs_and_rejects_the_rest():
    c = NormsConfig.default("batch").replace(groups=4, norms=("batch", "group"), seeds=3)
    query = c.to_query()
    assert query == {"exp": "batch", "groups": "4", "norms": "batch,group", "seeds": "3"}
    assert NormsConfig.from_query(query)[0] == c
    config, problems = NormsConfig.from_query({"exp": "batch", "epochs": "5", "x": "1",
                                               "seeds": "many"})
    assert config == NormsConfig.default("batch")
    assert [p.split(":")[0] for p in problems] == ["epochs", "x", "seeds"]
    config, problems = NormsConfig.from_query({"exp": "nope"})
    assert config.experiment == "regular" and "exp" in problems[0]


@pytest.mark.parametrize("changes,field", [
    (dict(experiment="batch", width=16, groups=32), "groups"),
    (dict(experiment="regular", train_size=100, batch_sizes=(8, 128)), "batch_sizes"),
    (dict(batch_sizes=(32, 8)), "batch_sizes"),
    (dict(experiment="shift", depth=1), "depth"),
    (dict(norms=("batch", "batch")), "norms"),
])
def test_rules_between_knobs_name_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        NormsConfig(**changes)


def test_budgets_and_learning_rates():
    r = NormsConfig.default("regular")                        # equal epochs, lr ∝ batch size
    assert [r.steps_for(b, 300) for b in (8, 32, 128)] == [3750, 938, 234]
    assert r.lr_for(LR_BATCH) == r.lr and r.lr_for(8) == pytest.approx(r.lr / 4)
    b = NormsConfig.default("batch")                          # equal examples
    assert [b.steps_for(s, 1437) for s in (2, 32)] == [2400, 150]
    assert b.replace(scale_lr=False).lr_for(2) == b.lr
    s = NormsConfig.default("shift")                          # fixed steps, one batch size
    assert s.steps_for(32, 1437) == s.steps and s.lr_for(128) == s.lr
