"""What one server shared by a class needs: fair sharing of the CPU (training slots) and the memory
of closed tabs given back (the session janitor).

Training slots: at most BN_LAB_MAX_TRAININGS trainings at once (default: the CPU cores); the others
wait in line with a "Queued: n ahead of you" note.

The janitor: Streamlit keeps a closed tab's session for `server.disconnectedSessionTTL` (120 s),
so that a learner whose connection drops comes back to the same state, and removes expired sessions
only lazily (when another session connects or leaves). A class that closes 30 tabs and opens 30 new
ones would hold 60 runs. Every run can be made again exactly (its settings are on the page and in
the URL, and every run is seeded), so once a session has been disconnected for
BN_LAB_RELEASE_AFTER_S seconds (default 15), the server drops what it holds that is heavy (the
`HEAVY` session-state keys); a learner who comes back later keeps the settings and, at the next
click, reads a note: a run starts again from step 0, and the same settings give the same run.

Dropping is not enough on its own: Streamlit 1.67 keeps every object that was stored in a session's
state and then replaced or deleted there alive, from outside Python's garbage collector (found with
a page that stores a new object of a trivial class on each click: all of them survive the session).
So a run that leaves a session's state is first released (`release`, `replace`): it gives back its
networks and history, and what stays alive is a few hundred bytes.

The compiled loops: the first import of this module (the first page a server runs: every page
imports ui, which imports this) starts compiling bn_core's loops in a background thread
(`warm_kernels`, bn_core.kernels.warm_up), so that a fresh install's first page does not wait for
numba; until they are compiled, runs use the numpy twins (the same numbers to float32 rounding).
BN_WARM_UP=0 turns this off (the loops then compile on their first use, as in scripts).

Like ui.py this is the Streamlit side; bn_core knows nothing of it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import threading
import time
from collections.abc import Callable

import streamlit as st

import streamlit_compat
from bn_core import kernels

_LOG = logging.getLogger("bn_lab.classroom")


def setting(name: str, default, kind=int, lo=None):
    """A number from the environment variable `name`; `default` where it is unset or not a valid
    number (said in the server's log: a typo in a deployment must not stop the lessons)."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
        if lo is not None and not value >= lo:
            raise ValueError(f"below {lo}")
        return value
    except ValueError as exc:
        _LOG.warning("%s=%r is not a valid setting (%s); using %s", name, text, exc, default)
        return default


# ----------------------------------------------------------------------------- fair sharing


class TrainingSlots:
    """At most `slots` trainings at once in this server process; the others wait in line, first
    come first served (a classroom: many learners press Train together on a few cores, and each
    run finishes sooner one after another than all slowed down at once)."""

    def __init__(self, slots: int):
        self.slots = max(1, int(slots))
        self._lock = threading.Lock()
        self._line: list[int] = []          # waiting tickets, in order
        self._running: set[int] = set()
        self._next = 0

    def join(self) -> int:
        with self._lock:
            self._next += 1
            self._line.append(self._next)
            return self._next

    def try_start(self, ticket: int) -> bool:
        """Start `ticket` if it is first in line and a slot is free."""
        with self._lock:
            if ticket in self._running:
                return True
            if self._line and self._line[0] == ticket and len(self._running) < self.slots:
                self._running.add(self._line.pop(0))
                return True
            return False

    def ahead(self, ticket: int) -> int:
        """How many wait in front of `ticket` (0 once it runs)."""
        with self._lock:
            return self._line.index(ticket) if ticket in self._line else 0

    def leave(self, ticket: int) -> None:
        with self._lock:
            self._running.discard(ticket)
            if ticket in self._line:
                self._line.remove(ticket)

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._line)


@st.cache_resource
def training_slots() -> TrainingSlots:
    """The server's one TrainingSlots: BN_LAB_MAX_TRAININGS at once (default: the CPU cores)."""
    return TrainingSlots(setting("BN_LAB_MAX_TRAININGS", os.cpu_count() or 1, int, lo=1))


@contextlib.contextmanager
def training_slot(where):
    """Hold one of the server's training slots while the block runs; until one is free, show
    "Queued: n ahead of you" in the placeholder `where`. A click (Pause) while waiting or
    training stops the script at its next st.* call, and the slot or the place in line is
    given back."""
    slots = training_slots()
    ticket = slots.join()
    try:
        waited = False
        while not slots.try_start(ticket):            # each notice is an st.* call: a click
            ahead = slots.ahead(ticket)               # (Pause) stops the script right here
            where.info(f"**Queued**: {f'{ahead} ahead of you' if ahead else 'you are next'}. "
                       f"This server trains {slots.slots} run{'s' if slots.slots > 1 else ''} "
                       "at once, so that each finishes quickly; yours starts by itself.",
                       icon=":material/hourglass_top:")
            waited = True
            time.sleep(0.2)
        if waited:
            where.empty()
        yield
    finally:
        slots.leave(ticket)


# ----------------------------------------------------------------------------- closed tabs

# The session-state keys that hold much memory: the lab's state with its run (three networks, the
# data and every snapshot: ~5 MB; bn_core.lab.state.LabState) and the live charts' streams.
# Dropping them loses nothing that cannot be made again: the settings stay, the same settings
# give the same run, and a tab that comes back finds a new run, not one training by itself.
HEAVY = ("lab", "_bn_live_chart")
FORGET_S = 3600     # a released session not back within this long is forgotten (Streamlit's
                    # server.disconnectedSessionTTL, 120 s by default, has dropped it long before)


class Janitor:
    """Drops the `HEAVY` keys of sessions that have been disconnected for `after_s` seconds.

    `watch(session_id, state)` on every script run names a session and its session state (any
    mapping), and says whether its heavy state was released since its last run; `sweep()` (from a
    server thread, every few seconds) asks `is_active(session_id)` of each watched session, and
    once one has been inactive for `after_s` seconds, deletes its heavy keys and forgets its
    state. A session that comes back before then is left alone."""

    def __init__(self, is_active: Callable[[str], bool], after_s: float,
                 clock: Callable[[], float] = time.monotonic):
        if after_s < 0:
            raise ValueError(f"after_s must be ≥ 0 seconds, got {after_s}")
        self.is_active, self.after_s, self.clock = is_active, after_s, clock
        self._lock = threading.Lock()
        self._states: dict[str, object] = {}        # session id → its session state
        self._gone_since: dict[str, float] = {}     # session id → when first seen disconnected
        self._released: dict[str, float] = {}       # released, not yet told (watch): when
        self.released = 0                           # sessions released so far

    def watch(self, session_id: str, state) -> bool:
        """Watch this session; True if its heavy state was released since its last run."""
        with self._lock:
            self._states[session_id] = state
            self._gone_since.pop(session_id, None)
            return self._released.pop(session_id, None) is not None

    @property
    def watched(self) -> int:
        return len(self._states)

    def sweep(self) -> list[str]:
        """Release the sessions gone for `after_s` seconds; returns their ids."""
        now, released = self.clock(), []
        with self._lock:
            ids = list(self._states)
        for sid in ids:
            if self.is_active(sid):
                with self._lock:
                    self._gone_since.pop(sid, None)
                continue
            with self._lock:
                since = self._gone_since.setdefault(sid, now)
                if now - since < self.after_s:
                    continue
                state = self._states.pop(sid, None)
                self._gone_since.pop(sid, None)
            if state is not None and _release(state):
                released.append(sid)
        with self._lock:
            self._released.update((sid, now) for sid in released)
            for sid in [s for s, t in self._released.items() if now - t > FORGET_S]:
                del self._released[sid]                  # long gone: it cannot come back
            self.released += len(released)
        return released


def _release(state) -> bool:
    """Release and delete the heavy values of one session's state; True if it held any. (Only
    deletes: setting a key outside a script run makes Streamlit warn of a missing
    ScriptRunContext.)"""
    held = False
    for key in HEAVY:
        try:
            if key in state:
                release(state[key])
                del state[key]
                held = True
        except Exception:  # noqa: BLE001 - a session Streamlit already shut down: nothing to do
            _LOG.debug("could not release %s", key, exc_info=True)
    return held


def release(value) -> None:
    """value.release() where it has one (a trainer Run): call it on a heavy value that leaves a
    session's state. Streamlit 1.67 keeps every object that was ever stored in a session's state
    and then replaced or deleted there alive (measured: one per script run that replaced it,
    held from outside Python's garbage collector, after the session has closed too), so a Run
    dropped from the state would keep its networks and history; released, it keeps a few
    hundred bytes."""
    method = getattr(value, "release", None)
    if callable(method):
        method()


def replace(state, key: str, value) -> None:
    """state[key] = value, releasing the value it replaces (`release`)."""
    old = state.get(key)
    if old is not None and old is not value:
        release(old)
    state[key] = value


def give_back_memory() -> None:
    """Collect the released runs' cycles now and hand the freed heap back to the system (glibc's
    malloc_trim; elsewhere nothing): freed blocks otherwise stay in the allocator's per-thread
    arenas (every script run has its thread), counted in the server's resident memory."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _every(janitor: Janitor, period_s: float) -> None:
    while True:
        time.sleep(period_s)
        try:
            gone = janitor.sweep()
        except Exception:  # noqa: BLE001 - the janitor must never die; try again next time
            _LOG.warning("session janitor: sweep failed", exc_info=True)
            continue
        if gone:
            give_back_memory()
            print(f"bn_lab: released the runs of {len(gone)} closed session(s) "
                  f"({janitor.watched} watched)", flush=True)


@st.cache_resource
def janitor() -> Janitor | None:
    """The server's one Janitor and its thread (None outside a real server, e.g. in AppTest, or
    where Streamlit's private session API is gone: streamlit_compat)."""
    is_active = streamlit_compat.is_active_session()
    if is_active is None:
        return None
    after = setting("BN_LAB_RELEASE_AFTER_S", 15.0, float, lo=0.0)
    j = Janitor(is_active, after)
    threading.Thread(target=_every, args=(j, min(5.0, max(0.2, after / 2))),
                     name="bn-lab-janitor", daemon=True).start()
    return j


def watch_session() -> bool:
    """Call on every script run (ui.page_setup does): lets the janitor release this session's
    heavy state once it has been closed for a while. True if that happened since this session's
    last run: the page then says why its run is gone."""
    ctx = streamlit_compat.script_context()
    j = janitor() if ctx is not None else None
    return j is not None and j.watch(*ctx)


# ----------------------------------------------------------------------------- compiled loops

def warm_kernels() -> threading.Thread | None:
    """Start compiling bn_core's loops off the request path, once per process (see the module
    doc); the compiling thread, or None where BN_WARM_UP=0 or numba is missing."""
    if os.environ.get("BN_WARM_UP", "1").strip() == "0":
        return None
    return kernels.warm_up(background=True)


warm_kernels()
