"""The compiled loops' warm-up (bn_core.kernels.warm_up, started by classroom.py): until every loop
is compiled the numpy twins serve, with the same numbers (to float32 rounding); a run switches to
the loops at its next snapshot once they are ready."""

import threading

import numpy as np
import pytest

from bn_core import kernels, records
from bn_core.trainer import Run, TrainConfig

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")

CONFIG = TrainConfig(steps=60, record_every=20, width=24, depth=2)
LOOPS = [(kernels, n) for n in dir(kernels) if n.endswith("_loops")] + \
        [(records, n) for n in dir(records) if n.endswith("_loops")]


def train(config=CONFIG) -> Run:
    run = Run(config)
    for _ in run.stream():
        pass
    return run


def assert_same_history(a, b):
    """Every frame's numbers equal to float32 rounding (a histogram count may move by one value
    across a bin edge)."""
    assert [sorted(f) for f in a.frames] == [sorted(f) for f in b.frames]
    for fa, fb in zip(a.frames, b.frames):
        for net in fa:
            sa, sb = fa[net], fb[net]
            assert sa.step == sb.step
            np.testing.assert_allclose([sa.loss, sa.test_acc], [sb.loss, sb.test_acc],
                                       rtol=1e-4, atol=1e-6)
            for la, lb in zip(sa.layers, sb.layers):
                for name in ("mean", "std", "p15", "p50", "p85", "saturation", "grad_norm",
                             "unit_percentiles", "unit_mean", "unit_std"):
                    np.testing.assert_allclose(getattr(la, name), getattr(lb, name),
                                               rtol=1e-4, atol=1e-5, err_msg=name)
                assert la.hist.sum() == lb.hist.sum()
                assert np.abs(la.hist.astype(int) - lb.hist).sum() <= 4
                assert np.abs(la.unit_hists.astype(int) - lb.unit_hists).sum() <= 4


@pytest.fixture
def warming(monkeypatch):
    """A process where warm_up has started and not finished: every compiled loop raises."""
    event = threading.Event()
    event.set()
    monkeypatch.setattr(kernels, "_WARMING", event)

    def not_yet(*args):
        raise AssertionError("a compiled loop was called during the warm-up")

    saved = {(m, n): getattr(m, n) for m, n in LOOPS}
    for m, n in LOOPS:
        monkeypatch.setattr(m, n, not_yet)
    yield lambda: [setattr(m, n, f) for (m, n), f in saved.items()] and event.clear()


def test_numpy_twins_serve_until_the_loops_are_compiled(warming):
    compiled = kernels.using(True)
    assert not kernels.compiled()
    run_while_warming = Run(CONFIG)
    frames = [next(run_while_warming.stream())]       # step 0, on the numpy twins
    warming()                                         # the loops are compiled now
    assert kernels.compiled()
    frames += list(run_while_warming.stream())        # the compiled loops from the next snapshot
    with compiled:
        reference = train()
    assert_same_history(run_while_warming.history, reference.history)
    assert run_while_warming._compiled and reference._compiled


def test_a_run_made_while_warming_switches_to_the_loops_when_they_are_ready(warming):
    run = Run(CONFIG)
    next(run.stream())
    assert not run._compiled
    warming()
    calls = []
    loop = kernels._bn_train_loops
    kernels._bn_train_loops = lambda *a: calls.append(1) or loop(*a)
    try:
        run.advance()
    finally:
        kernels._bn_train_loops = loop
    assert run._compiled and calls


def test_a_run_made_after_the_warm_up_uses_the_compiled_loops(monkeypatch):
    calls = []
    loop = kernels._bn_train_loops
    monkeypatch.setattr(kernels, "_bn_train_loops", lambda *a: calls.append(1) or loop(*a))
    train(CONFIG.replace(steps=3))
    assert calls


def test_warm_up_compiles_in_a_thread_once(monkeypatch):
    monkeypatch.setattr(kernels, "_WARMING", threading.Event())
    monkeypatch.setattr(kernels, "_WARM_THREAD", [])
    thread = kernels.warm_up(background=True)
    assert kernels.warm_up(background=True) is thread          # once per process
    thread.join(timeout=120)
    assert not thread.is_alive() and kernels.compiled()


def test_classroom_starts_the_warm_up_unless_turned_off(monkeypatch):
    import classroom

    started = []
    monkeypatch.setattr(kernels, "warm_up", lambda background=True: started.append(background))
    monkeypatch.setenv("BN_WARM_UP", "0")
    assert classroom.warm_kernels() is None and not started
    monkeypatch.delenv("BN_WARM_UP")
    classroom.warm_kernels()
    assert started == [True]
