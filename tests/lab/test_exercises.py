"""bn_core.lab.exercises: each exercise's link, and its reveal computed from real runs (the usual
effect where the run shows it; said plainly where a run does not)."""

import pytest

from bn_core.lab.exercises import EXERCISES
from bn_core.lab.presets import record_every_for
from bn_core.trainer import Run, TrainConfig


def finished(config: TrainConfig):
    run = Run(config.replace(record_every=record_every_for(config)))
    list(run.stream())
    return run.history


@pytest.fixture(scope="module")
def runs():
    return {name: finished(e.settings) for name, e in EXERCISES.items()}


def test_there_are_four_exercises_with_links_that_set_them_up():
    assert set(EXERCISES) >= {"break", "eps0", "batch2", "placement"}
    for name, e in EXERCISES.items():
        q = e.query()
        assert q["exercise"] == name and TrainConfig.from_query(
            {k: v for k, v in q.items() if k not in ("exercise", "lock", "hide")}) == (e.settings, [])
        assert e.expected is None or e.expected in e.choices
        assert all(n in {c.url_name for c in TrainConfig.controls()} for n in e.lock)


def test_each_reveal_comes_from_the_runs_numbers(runs):
    h = runs["break"]
    acc = {n: h.snapshots(n)[-1].test_acc for n in h.networks}
    assert acc["none"] < 0.3 < 0.9 < acc["before"]          # the usual effect, in this run
    lines = EXERCISES["break"].reveal(h, "both learn")
    assert lines[0].startswith("**This run: only the network with BN learns.**")
    assert f"{acc['before']:.0%}" in lines[0] and f"{acc['none']:.0%}" in lines[0]
    assert "not what this run showed" in lines[1] and "usual effect" not in " ".join(lines)
    h = runs["eps0"]
    step = h.divergence["after"].step
    lines = EXERCISES["eps0"].reveal(h, "the BN network diverges")
    assert f"step {step:,}" in lines[0] and lines[1].endswith("right.")
    h = runs["batch2"]
    a, b = (h.snapshots(n)[-1].test_acc for n in ("none", "before"))
    want = ("about the same (within 2 points)" if abs(a - b) < 0.02 else
            "the network without BN ends higher" if a > b else "the network with BN ends higher")
    assert EXERCISES["batch2"].outcome(h) == want
    assert f"{a:.1%}" in EXERCISES["batch2"].reveal(h, None)[0]
    lines = EXERCISES["placement"].reveal(runs["placement"], None)
    assert "First to reach" in lines[0] and "no settled answer" in lines[-1]


def test_a_run_that_does_not_show_the_usual_effect_says_so():
    e = EXERCISES["eps0"]
    mended = finished(e.settings.replace(eps=1e-5))          # ε back: nothing diverges
    lines = e.reveal(mended, "the BN network diverges")
    assert lines[0].startswith("**This run: the BN network trains as usual.**")
    assert "not what this run showed" in lines[1] and "did **not** show the usual effect" in lines[2]


def test_an_unfinished_run_reveals_nothing():
    run = Run(EXERCISES["break"].settings.replace(steps=100, record_every=10))
    run.advance()
    assert EXERCISES["break"].outcome(run.history) is None
    assert EXERCISES["break"].reveal(run.history, "both learn") == []
