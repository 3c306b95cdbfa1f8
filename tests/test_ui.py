"""ui.py's pieces that hold no page: the server's training slots (fair sharing in a classroom),
and download data made on click that does not keep a finished session's run alive."""

import gc
import threading

from bn_core.lab import export
from bn_core.trainer import Run, TrainConfig
from ui import TrainingSlots, made_on_click


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


def test_download_data_is_made_on_click_and_does_not_keep_the_run_alive():
    run = Run(TrainConfig(depth=1, width=4, steps=20, record_every=10))
    list(run.stream())
    data = made_on_click(export.table_csv, run.history)
    assert data() == export.table(run.history).to_csv(index=False)
    assert data().count("\n") > 10
    del run
    gc.collect()
    assert data() == ""                          # the run is gone: the callable held it weakly
