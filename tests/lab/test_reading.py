"""The lab's plain-language reading (bn_core.lab.reading), on synthetic histories with known
answers and on real runs (ε = 0 on a dead ReLU, learning rate 10, a learning rate too small)."""

import math

import numpy as np
import pytest

from bn_core.data import load_dataset
from bn_core.lab.reading import (
    LEARNED_MARGIN, SANTURKAR_NOTE, STALL_WINDOW, accuracy_target, best_accuracy,
    divergence_explanation, first_reached, learned, read_history, small_batch_note,
    stall_explanation,
)
from bn_core.records import NETWORK_LABELS, Divergence, History, LayerRecord, Snapshot
from bn_core.trainer import Run, TrainConfig

CONFIG = TrainConfig(depth=3, width=4, steps=30, record_every=10)
W = 4


def layer(p15, p50, p85, saturation=0.0):
    """A LayerRecord whose W = 4 units have the given percentiles (scalars or 4-vectors)."""
    units = np.array([np.broadcast_to(p, W) for p in (p15, p50, p85)], dtype=np.float32)
    return LayerRecord(mean=float(units[1].mean()), std=1.0, p15=float(units[0].mean()),
                       p50=float(units[1].mean()), p85=float(units[2].mean()),
                       hist=np.zeros(8, np.int32), unit_percentiles=units,
                       unit_mean=units[1].copy(), unit_std=(units[2] - units[0]) / 2,
                       unit_hists=np.zeros((W, 8), np.int16),
                       saturation=saturation, grad_norm=1.0)


def snap(net, step, acc, layers, loss=1.0, divergence=None):
    return Snapshot(net, step, loss, acc, layers, divergence)


def history(frames, config=CONFIG, networks=("none", "before"), divergence=None):
    h = History(config, list(networks), np.linspace(-4, 4, 9))
    h.frames = frames
    h.divergence = divergence or {}
    return h


def steady():
    return [layer(-1, 0, 1)] * 3


# ------------------------------------------------------------------ distributions

def test_late_drift_is_the_typical_units_median_move_over_its_final_spread():
    """Late start: 2 % of 100 steps → the snapshot at step 2. Spread at the end 4 (p85 − p15);
    the medians move 1, 2, 3, 6 from step 2 → 0.25, 0.5, 0.75, 1.5 → median 0.625."""
    cfg = CONFIG.replace(steps=100)
    start, early = [layer(-1, 0, 1)] * 3, [layer(-0.1, 0, 0.1)] * 3
    shift = np.array([1.0, -2.0, 3.0, 6.0])
    end = [layer(shift - 2, shift, shift + 2)] * 3
    frames = [{"none": snap("none", 0, 0.1, early), "before": snap("before", 0, 0.1, early)},
              {"none": snap("none", 2, 0.1, start), "before": snap("before", 2, 0.1, start)},
              {"none": snap("none", 100, 0.5, end), "before": snap("before", 100, 0.5, start)}]
    reading = read_history(history(frames, cfg))
    d = reading.drifts["none"]
    assert (d.step_start, d.step_end) == (2, 100)
    assert d.moved == pytest.approx(0.625)
    assert reading.drifts["before"].moved == 0.0
    line = reading.lines[0]
    assert line.startswith("**Layer 3, from step 2 to the end (100)**: the middle (median) of a "
                           "typical unit's inputs moved by **0.62** of the width of their range "
                           "without BN, and by **0** with BN before activation.")
    # one pair of neighbouring snapshots from step 2: too few to tell a jitter, so no scale
    assert "For scale" not in line and math.isnan(d.noise)
    assert "widened 2.0-fold without BN, and kept about its width with BN" in line
    assert "×" not in line.replace("× less", "") and "15–85" not in line     # words, not symbols
    early_line = reading.lines[1]         # before the late start: the spread grew ×10 (0.2 → 2)
    assert early_line.startswith("Before that (step 0 → 2)") and "widened 10-fold" in early_line
    assert any("median of |p50_j(t_i+1) − p50_j(t_i)|" in d for d in reading.details)


def test_bn_moving_more_is_said_as_more_not_as_a_fraction_less():
    """Batch size 2 can make BN's inputs move more than the plain network's: '4.0× more with BN',
    never '0.25× less' (a QA pass found '0.14× less with BN before activation')."""
    cfg = CONFIG.replace(steps=100)
    start = [layer(-2, 0, 2)] * 3
    small, large = np.array([0.5, -0.5, 0.5, -0.5]), np.array([2.0, -2.0, 2.0, -2.0])
    frames = [{n: snap(n, s, acc, start) for n in ("none", "before")}
              for s, acc in ((0, 0.1), (2, 0.3))]                # both learn: 10 % → 90 %
    frames.append({"none": snap("none", 100, 0.9, [layer(small - 2, small, small + 2)] * 3),
                   "before": snap("before", 100, 0.9, [layer(large - 2, large, large + 2)] * 3)})
    line = read_history(history(frames, cfg)).lines[0]
    assert "That is 4.0× more with BN before activation." in line, line
    assert "× less" not in line
    frames[-1] = {"none": frames[-1]["before"], "before": frames[-1]["none"]}   # and the other way
    frames[-1]["none"].network, frames[-1]["before"].network = "none", "before"
    assert "That is 4.0× less with BN before activation." in read_history(history(frames, cfg)).lines[0]


def test_a_collapsed_layer_is_named_as_collapsed_not_as_drift():
    cfg = CONFIG.replace(steps=100)
    alive = [layer(-1, 0, 1)] * 3
    dead = [layer(-3.00001, -3.0, -2.99999)] * 3            # spread 2e-5 around −3
    frames = [{"none": snap("none", s, 0.1, alive if s < 100 else dead)} for s in (0, 2, 100)]
    reading = read_history(history(frames, cfg, networks=("none",)))
    assert reading.drifts["none"].collapsed and reading.broken == {"none": "collapsed"}
    line = next(x for x in reading.lines if "collapsed" in x)
    assert line.startswith("**The network without BN collapsed in layers 1, 2 and 3**")
    assert "nearly the same input" in line
    assert not any("moved by" in x or "more than 1,000" in x for x in reading.lines)


def test_the_drift_stops_before_a_divergence():
    cfg = CONFIG.replace(steps=100)
    div = Divergence(100, 0, "input to the activation")
    frames = [{"none": snap("none", 0, 0.1, steady())}, {"none": snap("none", 2, 0.1, steady())},
              {"none": snap("none", 50, 0.2, [layer(0, 1, 2)] * 3)},
              {"none": snap("none", 100, 0.1, [layer(-1e12, 0, 1e12)] * 3, loss=math.nan,
                            divergence=div)}]
    reading = read_history(history(frames, cfg, ("none",), {"none": div}))
    assert reading.drifts["none"].step_end == 50 and reading.drifts["none"].moved == pytest.approx(0.5)


def test_small_batches_get_an_explanation_where_bn_is_trained():
    assert small_batch_note(TrainConfig(batch_size=2)).startswith("**BN with mini-batches of 2.**")
    assert "eval mode" in small_batch_note(TrainConfig(batch_size=4))
    assert small_batch_note(TrainConfig(batch_size=8)) is None
    assert small_batch_note(TrainConfig(batch_size=2, placement="none")) is None


def test_the_caution_is_shown_only_when_some_network_learned():
    learned_h = acc_history({"none": [0.1, 0.5, 0.9], "before": [0.1, 0.9, 0.95]})
    assert read_history(learned_h).caution
    stuck = acc_history({"none": [0.1, 0.1, 0.11], "before": [0.1, 0.12, 0.1]})
    assert not read_history(stuck).caution
    assert SANTURKAR_NOTE.count("Santurkar") == 1


def test_who_reached_the_target_accuracy_first():
    accs = {"none": [0.1, 0.3, 0.6, 0.9], "before": [0.1, 0.8, 0.95, 0.97]}
    frames = [{n: snap(n, 10 * i, accs[n][i], steady()) for n in accs} for i in range(4)]
    h = history(frames)
    assert accuracy_target(h) == pytest.approx(math.floor(100 * 0.9 * 0.97) / 100)   # 0.87
    assert first_reached(h, "before", 0.87) == 20 and first_reached(h, "none", 0.87) == 30
    assert first_reached(h, "none", 0.99) is None
    reading = read_history(h)
    assert reading.reached == {"none": 30, "before": 20}
    line = next(x for x in reading.lines if x.startswith("First to reach"))
    assert "87%" in line and "**BN before activation**, by step 20; without BN by step 30" in line
    final = next(x for x in reading.lines if x.startswith("Test accuracy"))
    assert "without BN **90.0%**" in final and "BN before activation **97.0%**" in final


def test_step_zero_says_nothing_has_moved_yet():
    h = history([{"none": snap("none", 0, 0.1, steady()), "before": snap("before", 0, 0.1, steady())}])
    assert read_history(h).lines[0].startswith("Step 0, before any training")
    assert read_history(history([])).lines[0].startswith("Nothing recorded yet")


def test_stall_message_waits_for_a_quarter_of_the_run():
    cfg = TrainConfig(depth=3, width=4, steps=2000, record_every=250, lr=10.0)
    saturated = [layer(-1, 0, 1, saturation=0.99)] * 3
    frames = [{"none": snap("none", 250 * i, 0.11, saturated)} for i in range(2)]  # to step 250
    assert stall_explanation(history(frames, cfg, ("none",)), "none") is None
    frames.append({"none": snap("none", 500, 0.11, saturated)})                    # 1/4 of 2,000
    short = history(frames[:1] + [{"none": snap("none", 300, 0.11, saturated)}],
                    cfg.replace(steps=300), ("none",))
    assert stall_explanation(short, "none") is not None               # all 300 steps done
    tiny = history(frames[:1] + [{"none": snap("none", 3, 0.11, saturated)}],
                   cfg.replace(steps=3), ("none",))
    assert stall_explanation(tiny, "none") is None                    # 3 steps prove nothing
    text = stall_explanation(history(frames, cfg, ("none",)), "none")
    assert "not learning" in text and "11.0%" in text and "1 in 10 classes" in text
    assert "99% of layer 1's sigmoid inputs are saturated" in text and "learning rate 10" in text
    learning = [{"none": snap("none", 250 * i, 0.11 if i == 0 else 0.5, saturated)} for i in range(4)]
    assert stall_explanation(history(learning, cfg, ("none",)), "none") is None
    stuck_high = [{"none": snap("none", 250 * i, 0.5, saturated)} for i in range(4)]  # 50% from step 0
    text = stall_explanation(history(stuck_high, cfg, ("none",)), "none")
    assert "within 10 points of its accuracy before training (50.0% at step 0)" in text


def test_not_learning_is_judged_over_the_last_snapshots_not_the_last_one():
    """Learning rate 10: at chance in almost every snapshot, one lucky 18 % at the end."""
    cfg = TrainConfig(depth=3, width=4, steps=2000, record_every=100, lr=10.0)
    accs = [0.10] * 20 + [0.183]
    frames = [{"none": snap("none", 100 * i, a, steady())} for i, a in enumerate(accs)]
    text = stall_explanation(history(frames, cfg, ("none",)), "none")
    assert text is not None and f"over its last {STALL_WINDOW} snapshots is 10.0% (median)" in text
    recovering = accs[:-6] + [0.3, 0.5, 0.7, 0.8, 0.9, 0.92]
    frames = [{"none": snap("none", 100 * i, a, steady())} for i, a in enumerate(recovering)]
    assert stall_explanation(history(frames, cfg, ("none",)), "none") is None


def test_divergence_explanations_name_the_cause():
    h = history([], config=CONFIG.replace(eps=0.0))
    h.divergence = {"after": Divergence(22, 0, "output (after BN)"), "none": Divergence(5, None, "training loss")}
    assert "ε = 0" in divergence_explanation(h, "after") and "0 / 0" in divergence_explanation(h, "after")
    assert "learning rate" in divergence_explanation(h, "none")       # no BN: eps is not the cause
    h2 = history([], config=CONFIG.replace(lr=10.0))
    h2.divergence = {"before": Divergence(3, 1, "weight gradient")}
    text = divergence_explanation(h2, "before")
    assert "learning rate 10 is too large" in text and "layer 2" in text


def test_real_run_eps_zero_dead_relu_is_explained():
    cfg = TrainConfig(activation="relu", placement="after", eps=0.0, lr=1.0, depth=2, width=12,
                      batch_size=16, steps=100, record_every=10)
    run = Run(cfg)
    list(run.stream())
    reading = read_history(run.history)
    assert set(reading.divergences) == {"after"}
    text = reading.divergences["after"]
    step = run.history.divergence["after"].step
    assert text.startswith(f"BN after activation: diverged at step {step}")
    assert "ε = 0" in text and "without BN" in text and "kept training" in text


def test_real_run_learning_rate_ten_names_the_failing_network():
    run = Run(TrainConfig(lr=10.0, steps=300, record_every=25))
    list(run.stream())
    reading = read_history(run.history)
    assert "none" in reading.stalled and "before" not in reading.stalled
    assert reading.stalled["none"].startswith("Without BN is not learning")
    assert SANTURKAR_NOTE.count("Santurkar") == 1


# ------------------------------------------------------------------ when no network learns

def acc_history(accs, config=CONFIG, divergence=None):
    """Frames at steps 0, 10, 20, … with the given test accuracies per network."""
    nets = list(accs)
    n = len(next(iter(accs.values())))
    frames = [{k: snap(k, 10 * i, accs[k][i], steady()) for k in nets} for i in range(n)]
    return history(frames, config, nets, divergence)


def test_no_network_learned_says_so_and_names_no_first_to_reach():
    accs = {"none": [0.10, 0.12, 0.11, 0.14], "before": [0.10, 0.13, 0.15, 0.12]}
    h = acc_history(accs)                                    # digits: chance 1/10
    reading = read_history(h)
    assert reading.learned == {"none": False, "before": False}
    assert reading.target is None and reading.reached == {}
    assert not any("First to reach" in line for line in reading.lines)
    line = next(x for x in reading.lines if "learned" in x)
    assert line.startswith("**No network learned**: test accuracy stayed near chance, 10% "
                           "(guessing 1 of 10 classes)")
    assert f"the best any network reached was {max(max(a) for a in accs.values()):.1%}" in line
    # the final accuracies are still reported
    assert any(x.startswith("Test accuracy at the last snapshot") for x in reading.lines)
    # before the end of the run it says "yet"
    partial = read_history(acc_history(accs, CONFIG.replace(steps=1000)))
    assert any(x.startswith("**No network has learned yet**: test accuracy is still near chance")
               for x in partial.lines)
    assert not any("First to reach" in x for x in partial.lines)


@pytest.mark.parametrize("dataset", ["digits", "spiral", "moons"])
def test_learned_means_best_accuracy_at_least_chance_plus_the_margin(dataset):
    classes = load_dataset(dataset, 0).n_classes
    threshold = 1 / classes + LEARNED_MARGIN
    cfg = CONFIG.replace(dataset=dataset, steps=20)          # frames at steps 0, 10, 20: finished
    below = acc_history({"none": [1 / classes, threshold - 0.01, 1 / classes]}, cfg)
    at = acc_history({"none": [1 / classes, threshold, 1 / classes]}, cfg)
    assert not learned(below, "none") and learned(at, "none")
    assert best_accuracy(at, "none") == pytest.approx(threshold)
    assert any(x.startswith("**No network learned**") and f"1 of {classes} classes" in x
               for x in read_history(below).lines)
    assert not any("No network" in x for x in read_history(at).lines)
    assert any(x.startswith("First to reach") for x in read_history(at).lines)


def test_one_network_learning_is_still_first_to_reach():
    accs = {"none": [0.10, 0.11, 0.10, 0.12], "before": [0.10, 0.40, 0.70, 0.80]}
    reading = read_history(acc_history(accs))
    assert reading.learned == {"none": False, "before": True}
    target = math.floor(100 * 0.9 * 0.80) / 100
    assert reading.target == pytest.approx(target)
    assert reading.reached == {"none": None, "before": 30}
    line = next(x for x in reading.lines if x.startswith("First to reach"))
    assert "**BN before activation**, by step 30; without BN not in 30 steps" in line
    assert not any("No network" in x for x in reading.lines)


def test_accuracy_after_a_divergence_does_not_count_as_learning():
    div = Divergence(20, 0, "training loss")
    frames = [{"none": snap("none", 0, 0.1, steady())}, {"none": snap("none", 10, 0.12, steady())},
              {"none": snap("none", 20, 0.9, steady(), loss=math.nan, divergence=div)}]
    h = history(frames, networks=("none",), divergence={"none": div})
    assert best_accuracy(h, "none") == pytest.approx(0.12) and not learned(h, "none")
    assert any(x.startswith("**No network learned**") for x in read_history(h).lines)


def test_a_network_that_starts_well_above_chance_must_improve_to_have_learned():
    """moons: the untrained network can already score ~77% (chance 50%); staying there is not
    learning, and the reading says where it started rather than 'near chance'."""
    cfg = CONFIG.replace(dataset="moons")
    h = acc_history({"none": [0.77, 0.76, 0.80, 0.78], "before": [0.77, 0.79, 0.80, 0.81]}, cfg)
    reading = read_history(h)
    assert reading.learned == {"none": False, "before": False}
    assert any(x.startswith("**No network learned**: test accuracy stayed near where it started "
                            "(77.0% at step 0)") for x in reading.lines)
    h = acc_history({"none": [0.77, 0.80, 0.86, 0.88], "before": [0.77, 0.90, 0.95, 0.97]}, cfg)
    assert read_history(h).learned == {"none": True, "before": True}       # +11 and +20 points


def real_reading(lr):
    run = Run(TrainConfig(lr=lr, depth=2, width=16, steps=100, record_every=25))
    list(run.stream())
    return run, read_history(run.history)


def test_real_run_with_a_tiny_learning_rate_learns_nothing_and_says_so():
    run, reading = real_reading(1e-4)
    accs = [s.test_acc for f in run.history.frames for s in f.values()]
    assert max(accs) < 0.1 + LEARNED_MARGIN                 # independent check: it stayed at chance
    assert reading.learned == {"none": False, "before": False}
    assert reading.target is None and reading.reached == {}
    assert not any("First to reach" in x for x in reading.lines)
    assert any(x.startswith("**No network learned**: test accuracy stayed near chance, 10%")
               and f"{max(accs):.1%}" in x for x in reading.lines)
    assert set(reading.stalled) == {"none", "before"}
    assert all("learning rate 0.0001 is small" in t and "larger one" in t
               for t in reading.stalled.values())


def test_real_run_that_learns_names_the_first_to_reach():
    run, reading = real_reading(0.5)
    frames = run.history.frames
    best = max(s.test_acc for f in frames for s in f.values())
    assert best >= 0.1 + LEARNED_MARGIN
    assert any(reading.learned.values())
    target = math.floor(100 * 0.9 * best) / 100
    assert reading.target == pytest.approx(target)
    first = {n: next((f[n].step for f in frames if f[n].test_acc >= target - 1e-12), None)
             for n in run.networks}
    assert reading.reached == first
    step0 = min(s for s in first.values() if s is not None)
    winners = " and ".join(NETWORK_LABELS[n] for n in run.networks if first[n] == step0)
    line = next(x for x in reading.lines if x.startswith("First to reach"))
    assert f"First to reach {target:.0%} test accuracy" in line
    assert f": **{winners}**, by step {step0:,}" in line
    assert not any("No network" in x for x in reading.lines)
