"""bn_core.lab.state.LabState: the lab's one state (new / running / paused / done) through every
event a learner can cause, on real (short) runs."""

import pytest

from bn_core.lab.state import ACTIONS, MODES, LabState
from bn_core.trainer import TrainConfig

SHORT = TrainConfig(steps=30, depth=2, width=8, record_every=10)


def train_to_end(lab: LabState) -> None:
    """What the page's loop does while the mode is running."""
    while lab.training:
        lab.run.advance()
    lab.finished()


def test_a_run_goes_new_running_paused_running_done():
    lab = LabState()
    lab.show(SHORT)
    assert lab.mode == "new" and lab.run.step == 0 and len(lab.run.history.frames) == 1
    lab.apply("train")
    assert lab.mode == "running" and lab.training
    lab.run.advance()
    lab.apply("pause")
    assert lab.mode == "paused" and 0 < lab.run.step < SHORT.steps
    lab.apply("train")                                      # Resume: the same run goes on
    first = lab.run
    train_to_end(lab)
    assert lab.mode == "done" and lab.run is first and first.done and not lab.training


def test_step_moves_one_snapshot_and_rests():
    lab = LabState()
    lab.show(SHORT)
    nxt = lab.run.next_snapshot()
    lab.apply("step")
    assert lab.mode == "paused" and lab.run.step == nxt
    while not lab.run.done:
        lab.apply("step")
    assert lab.mode == "done"
    lab.apply("step")                                      # nothing left: still done
    assert lab.mode == "done" and lab.run.step == SHORT.steps


def test_train_again_and_reset_start_a_fresh_run_and_release_the_old_one():
    lab = LabState()
    lab.show(SHORT)
    lab.apply("train")
    train_to_end(lab)
    done = lab.run
    lab.apply("train")                                      # "Train again"
    assert lab.kept == [done] and not done.released                   # kept to compare
    assert lab.run is not done and lab.run.step == 0 and lab.mode == "running"
    lab.run.advance()
    second = lab.run
    lab.apply("reset")
    assert lab.kept == [done, second] and lab.mode == "new" and lab.run.step == 0
    assert lab.run.config == SHORT


def test_changed_settings_clear_a_trained_run_and_say_so_until_the_learner_moves_on():
    lab = LabState()
    lab.show(SHORT)
    lab.apply("step")
    trained = lab.run
    lab.show(SHORT)                                         # the same settings: kept
    assert lab.run is trained and not lab.cleared
    lab.show(SHORT.replace(lr=0.1))
    assert lab.kept[-1] is trained and lab.mode == "new" and lab.cleared
    lab.show(SHORT.replace(lr=0.2))                         # a second change: still said
    assert lab.cleared
    lab.apply("train")
    assert not lab.cleared
    untrained = LabState()
    untrained.show(SHORT)
    untrained.show(SHORT.replace(lr=0.1))                   # nothing trained, nothing lost
    assert not untrained.cleared


def test_a_changed_setting_while_running_stops_and_coming_back_pauses():
    lab = LabState()
    lab.show(SHORT)
    lab.apply("train")
    lab.run.advance()
    lab.arrive()                                            # left mid-training, back now
    assert lab.mode == "paused" and not lab.training
    lab.apply("train")
    lab.show(SHORT.replace(seed=1))                         # a setting changed mid-run
    assert lab.mode == "new" and not lab.training
    lab.arrive()                                            # nothing running: nothing changes
    assert lab.mode == "new"


def test_release_gives_the_run_back_and_bad_input_fails_loudly():
    lab = LabState()
    with pytest.raises(ValueError, match="no run yet"):
        lab.apply("train")
    lab.show(SHORT)
    with pytest.raises(ValueError, match="expected one of train, pause, step, reset, got 'fly'"):
        lab.apply("fly")
    run = lab.run
    lab.release()
    assert run.released and lab.mode == "new"
    lab.show(SHORT)                                         # a released run is never reused
    assert lab.run is not run and not lab.run.released
    assert set(MODES) == {"new", "running", "paused", "done"} and "train" in ACTIONS


def test_the_last_five_trained_runs_are_kept_and_older_ones_released():
    lab = LabState()
    lab.show(SHORT)
    lab.apply("reset")                                      # nothing trained: nothing kept
    assert lab.kept == []
    trained = []
    for seed in range(7):
        lab.show(SHORT.replace(seed=seed))
        lab.apply("step")
        trained.append(lab.run)
    lab.show(SHORT.replace(seed=99))
    assert lab.kept == trained[-5:]
    assert all(r.released for r in trained[:2]) and not any(r.released for r in trained[2:])
    assert lab.runs() == trained[-5:]                      # the new one is untrained
    lab.apply("step")
    assert lab.runs() == [*trained[-5:], lab.run]
    lab.release()                                          # the session is gone: all of them
    assert all(r.released for r in trained) and lab.kept == []
