"""classroom.py: the server's training slots (fair sharing in a classroom) and the janitor that
gives back the memory of closed tabs."""

import threading
from pathlib import Path

import pytest

import classroom
from classroom import HEAVY, Janitor, TrainingSlots, replace, setting


def test_slots_run_at_most_n_and_let_the_rest_wait_in_order():
    slots = TrainingSlots(2)
    tickets = [slots.join() for _ in range(5)]
    started = [t for t in tickets if slots.try_start(t)]
    assert started == tickets[:2] and slots.running == 2 and slots.waiting == 3
    assert [slots.ahead(t) for t in tickets[2:]] == [0, 1, 2]
    assert not slots.try_start(tickets[3])                 # not first in line: waits its turn
    slots.leave(tickets[0])                                # one finishes …
    assert not slots.try_start(tickets[4]) and slots.try_start(tickets[2])   # … the next starts
    slots.leave(tickets[3])                                # one gives up waiting (Pause)
    assert slots.ahead(tickets[4]) == 0 and slots.waiting == 1
    slots.leave(tickets[1])
    assert slots.try_start(tickets[4]) and slots.running == 2 and slots.waiting == 0


def test_slots_hold_under_concurrent_use():
    slots = TrainingSlots(3)
    peak, now, lock = [0], [0], threading.Lock()

    def learner():
        t = slots.join()
        while not slots.try_start(t):
            pass
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        with lock:
            now[0] -= 1
        slots.leave(t)

    threads = [threading.Thread(target=learner) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert peak[0] <= 3 and slots.running == 0 and slots.waiting == 0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Heavy:
    released = False

    def release(self):
        self.released = True


def test_janitor_releases_only_what_is_heavy_and_only_after_the_grace():
    active, clock = {"a": True, "b": True}, Clock()
    j = Janitor(lambda sid: active[sid], after_s=15, clock=clock)
    run = Heavy()
    a = {"lab": run, "_bn_live_chart": object(), "lab_lr": 0.5}
    b = {"lab": object(), "lab_lr": 2.0}
    j.watch("a", a)
    j.watch("b", b)
    assert j.sweep() == [] and j.watched == 2            # both connected: nothing happens
    active["a"] = False                                  # a's tab closes
    assert j.sweep() == []                               # … first seen gone now
    clock.now += 14.9
    assert j.sweep() == [] and "lab" in a                # not yet: a dropped connection may return
    clock.now += 0.2
    assert j.sweep() == ["a"]
    assert a == {"lab_lr": 0.5}                          # the settings stay, the run is gone
    assert run.released                                  # … and released (see `release`)
    assert "lab" in b and j.watched == 1 and j.released == 1
    clock.now += 100
    assert j.sweep() == []                               # released once, then forgotten
    assert not j.watch("b", b)                           # b was not released …
    assert j.watch("a", a) and not j.watch("a", a)       # … a was: said once, at its next run


def test_a_session_that_comes_back_in_time_keeps_its_run():
    active, clock = {"a": False}, Clock()
    j = Janitor(lambda sid: active[sid], after_s=15, clock=clock)
    a = {"lab": 1}
    j.watch("a", a)
    j.sweep()                                            # gone since now
    clock.now += 10
    active["a"] = True                                   # reconnected (the script runs again)
    j.watch("a", a)
    j.sweep()
    clock.now += 10
    active["a"] = False                                  # gone again: the grace starts afresh
    assert j.sweep() == [] and a == {"lab": 1}
    clock.now += 15
    assert j.sweep() == ["a"] and a == {} and j.watch("a", a)


def test_a_session_without_heavy_state_is_forgotten_without_a_note():
    clock = Clock()
    j = Janitor(lambda sid: False, after_s=0, clock=clock)
    state = {"formula_config": 1}
    j.watch("x", state)
    assert j.sweep() == [] and j.watched == 0 and state == {"formula_config": 1}
    assert not j.watch("x", state)                       # nothing was lost: no note


def test_replace_releases_the_value_it_replaces_and_only_that():
    old, new, state = Heavy(), Heavy(), {}
    replace(state, "lab_run", old)
    replace(state, "lab_run", old)                       # the same object: kept as it is
    assert not old.released
    replace(state, "lab_run", new)
    assert old.released and not new.released and state["lab_run"] is new
    replace(state, "lab_run", None)
    assert new.released and state == {"lab_run": None}
    replace(state, "lab_lr", 0.5)                        # values without release(): just set
    assert state["lab_lr"] == 0.5


def test_the_heavy_keys_are_the_ones_the_pages_store():
    """HEAVY names keys that the lab page and live_chart.py really use (a renamed key would
    silently keep every closed tab's run)."""
    import live_chart

    lab = (Path(classroom.__file__).parent / "pages" / "1_lab.py").read_text()
    assert "ss.lab = LabState()" in lab and "lab" in HEAVY
    assert live_chart._SS_KEY in HEAVY


def test_janitor_sweeps_from_another_thread_while_sessions_come_and_go():
    active, lock = {}, threading.Lock()
    j = Janitor(lambda sid: active.get(sid, False), after_s=0)
    states = {f"s{i}": {"lab": i} for i in range(200)}
    stop = threading.Event()

    def sweeper():
        while not stop.is_set():
            j.sweep()

    t = threading.Thread(target=sweeper)
    t.start()
    for sid, state in states.items():
        with lock:
            active[sid] = True
        j.watch(sid, state)
        active[sid] = False
    stop.set()
    t.join(10)
    j.sweep()
    j.sweep()
    assert all("lab" not in s for s in states.values()) and j.watched == 0


@pytest.mark.parametrize("text, expected", [(None, 15.0), ("4", 4.0), ("0", 0.0),
                                            ("-1", 15.0), ("soon", 15.0), ("nan", 15.0)])
def test_settings_from_the_environment_fall_back_on_bad_values(monkeypatch, text, expected):
    if text is None:
        monkeypatch.delenv("BN_LAB_RELEASE_AFTER_S", raising=False)
    else:
        monkeypatch.setenv("BN_LAB_RELEASE_AFTER_S", text)
    assert setting("BN_LAB_RELEASE_AFTER_S", 15.0, float, lo=0.0) == expected


def test_janitor_rejects_a_negative_grace():
    with pytest.raises(ValueError, match="after_s"):
        Janitor(lambda sid: True, after_s=-1)


def test_released_sessions_that_never_come_back_are_forgotten():
    clock = Clock()
    j = Janitor(lambda sid: False, after_s=0, clock=clock)
    j.watch("gone", {"lab": Heavy()})
    assert j.sweep() == ["gone"] and len(j._released) == 1
    clock.now += classroom.FORGET_S + 1
    j.sweep()
    assert len(j._released) == 0 and not j.watch("gone", {})
