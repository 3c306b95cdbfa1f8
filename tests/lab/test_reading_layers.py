"""The lab's reading compares the first and the last layer's drift in one sentence (#27 item 4),
on a real run of the lab's default setup, checked against the run's own drifts."""

import re

import pytest

from bn_core.lab.measures import drift, last_over_first, late_start
from bn_core.lab.presets import DEFAULT, record_every_for
from bn_core.lab.reading import read_history
from bn_core.trainer import Run


@pytest.fixture(scope="module")
def history():
    run = Run(DEFAULT.replace(record_every=record_every_for(DEFAULT)))
    list(run.stream())
    return run.history


def test_the_reading_says_how_far_the_last_layer_moved_against_the_first(history):
    start = late_start(history)
    line = next(l for l in read_history(history).lines if l.startswith("From layer to layer"))
    assert f"(step {start:,} on)" in line
    last = history.config.depth - 1
    for n in history.networks:
        first_d, last_d = drift(history, n, 0, start=start), drift(history, n, last, start=start)
        ratio, why = last_over_first(history, n, start)
        if ratio is None:
            assert why == "noise" and (first_d.within_noise or last_d.within_noise)
            continue
        assert not first_d.within_noise and not last_d.within_noise
        assert ratio == pytest.approx(last_d.moved / first_d.moved)
        who = "without BN" if n == "none" else "with BN before activation"
        said = re.search(rf"{who} the last layer's inputs moved ([0-9.,]+)× as far as the first "
                         r"layer's", line)
        assert said, (who, line)
        shown = float(said.group(1).replace(",", ""))
        assert shown == pytest.approx(ratio, rel=0.06, abs=0.006)  # rounded to 2 digits
    assert "without BN the last layer's inputs moved" in line        # the plain network's ratio


def test_one_layer_has_no_ratio_and_no_sentence():
    config = DEFAULT.replace(depth=1, steps=200)
    run = Run(config.replace(record_every=record_every_for(config)))
    list(run.stream())
    assert last_over_first(run.history, "none") == (None, "one layer")
    assert not any(l.startswith("From layer to layer") for l in read_history(run.history).lines)
