"""What broke leads the lab's reading, the most severe first (QA of the lab, items A and B): a
network that diverged on its very first mini-batch (step 0, no finite snapshot at all) is
reported like any other diverged network, before Train too; a divergence comes before a network
stuck near chance."""

import numpy as np
import pytest

from bn_core.lab.reading import read_history
from bn_core.records import Divergence, History, LayerRecord, Snapshot
from bn_core.trainer import Run, TrainConfig

# ReLU with BN after it, ε = 0 and mini-batches of 2: a unit dead on the first batch gives 0 / 0
STEP0 = TrainConfig(depth=2, width=8, activation="relu", placement="both", lr=5.0, batch_size=2,
                    eps=0.0, steps=60, record_every=10)


@pytest.fixture(scope="module")
def step0_run():
    run = Run(STEP0)
    next(run.stream())                      # the step-0 snapshot only: what the lab shows on load
    return run


def test_a_network_that_diverged_at_step_0_leads_the_reading_before_train(step0_run):
    h = step0_run.history
    assert h.last_step == 0 and h.divergence["after"].step == 0
    assert h.snapshots("after") == []               # independent: nothing finite to draw
    reading = read_history(h)
    assert reading.broken == {"after": "diverged"}
    assert reading.lines[0].startswith("**The network with BN after activation broke: it "
                                       "diverged at step 0**")
    assert "first mini-batch" in reading.lines[0]
    assert reading.lines[-1].startswith("Step 0, before any training")
    assert reading.divergences["after"].startswith("BN after activation: diverged at step 0")


def test_a_network_that_diverged_at_step_0_stays_in_the_reading_after_training():
    run = Run(STEP0)
    list(run.stream())
    h = run.history
    assert h.divergence["after"].step == 0 and h.last_step == STEP0.steps
    reading = read_history(h)
    assert reading.broken["after"] == "diverged" and "after" in reading.divergences
    assert reading.lines[0].startswith("**The network with BN after activation broke: it "
                                       "diverged at step 0**")
    acc = next(x for x in reading.lines if x.startswith("Test accuracy"))
    assert "BN after activation has none (it diverged at step 0)" in acc
    assert not any("BN after activation not in" in x for x in reading.lines)


W = 4


def _layer(p50, saturation=0.0):
    units = np.array([np.full(W, p50 - 1), np.full(W, p50), np.full(W, p50 + 1)], np.float32)
    return LayerRecord(mean=p50, std=1.0, p15=p50 - 1, p50=p50, p85=p50 + 1,
                       hist=np.zeros(8, np.int32), unit_percentiles=units,
                       unit_mean=units[1].copy(), unit_std=np.ones(W, np.float32),
                       unit_hists=np.zeros((W, 8), np.int16), saturation=saturation)


def test_a_divergence_leads_a_network_stuck_near_chance():
    """Without BN stuck at 10 % (listed first among the networks); BN after activation diverged
    at step 250: the divergence is the first line, the stuck network the second."""
    cfg = TrainConfig(depth=2, width=W, placement="both", steps=400, record_every=50)
    nets = ["none", "before", "after"]
    h = History(cfg, nets, np.linspace(-4, 4, 9))
    for step in range(0, 401, 50):
        frame = {"none": Snapshot("none", step, 2.3, 0.1, [_layer(-30.0, 1.0)] * 2),
                 "before": Snapshot("before", step, 1.0, min(0.9, 0.1 + step / 200),
                                    [_layer(0.0)] * 2)}
        if step < 250:
            frame["after"] = Snapshot("after", step, 1.0, min(0.9, 0.1 + step / 200),
                                      [_layer(0.0)] * 2)
        h.frames.append(frame)
    h.divergence = {"after": Divergence(250, 1, "input to the activation")}
    reading = read_history(h)
    assert reading.broken == {"none": "stuck", "after": "diverged"}
    assert reading.lines[0].startswith("**The network with BN after activation broke: it "
                                       "diverged at step 250**")
    assert reading.lines[1].startswith("**The network without BN is stuck near chance**")
