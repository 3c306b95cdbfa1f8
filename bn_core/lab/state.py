"""The lab's run and what it is doing: one explicit state per learner (pages/1_lab.py keeps one
`LabState` in its session and only ever mutates it).

    mode      new      a run at step 0 (or none yet): Train starts it
              running  the page's training loop is advancing the run
              paused   stopped part-way (Pause, Step, or the learner left the page)
              done     finished (every step trained, or every network diverged)

    event (what the learner did)          →  mode afterwards
    ------------------------------------     ---------------------------------------------
    show(config), the settings changed    →  new: a fresh run for `config` (the old one is
                                             released; `cleared` says a trained run was lost)
    train                                 →  running (a finished run starts again: a fresh one)
    pause                                 →  paused (new if nothing was trained)
    step                                  →  paused or done, one snapshot further
    reset                                 →  new: a fresh run with the same settings
    arrive (coming back to the page)      →  running becomes paused: a page left mid-training
                                             does not train on by itself when it comes back
    finished (the loop reached the end)   →  done

The runs it lets go of after some training are kept, the last KEPT of them, for Compare runs
(`kept`, oldest first): a changed setting no longer throws the previous run away.

Why one object, mutated and never replaced: the web server keeps every value that was ever
stored under a session key alive (classroom.py), so the state is made once per session and a
run it lets go of is `release()`d.
"""

from __future__ import annotations

from typing import Callable

from bn_core.trainer import Run, TrainConfig

__all__ = ["LabState", "MODES", "ACTIONS", "KEPT"]

MODES = ("new", "running", "paused", "done")
KEPT = 5                      # earlier runs kept for Compare runs
ACTIONS = ("train", "pause", "step", "reset")


class LabState:
    """See the module doc. `make_run(config)` builds a run at its step-0 snapshot (injectable
    for tests); the default trains nothing but the starting snapshot."""

    def __init__(self, make_run: Callable[[TrainConfig], Run] | None = None):
        self.run: Run | None = None
        self.kept: list[Run] = []     # earlier runs with some training, oldest first
        self.mode = "new"
        self.cleared = False          # the settings changed and a trained run was thrown away
        self._make_run = make_run or _starting_run

    # ------------------------------------------------------------------ events
    def show(self, config: TrainConfig) -> None:
        """The page shows `config`: keep the run if it belongs to it, else start afresh."""
        if self.run is not None and self.run.config == config and not self.run.released:
            return
        lost = self.run is not None and self.run.step > 0
        self._fresh(config)
        self.cleared = self.cleared or lost

    def apply(self, action: str | None) -> None:
        """One of ACTIONS (a button's), or None (nothing pressed)."""
        if action is None:
            return
        if action not in ACTIONS:
            raise ValueError(f"action: expected one of {', '.join(ACTIONS)}, got {action!r}")
        if self.run is None:
            raise ValueError("action: the lab has no run yet; call show(config) first")
        if action == "train":
            if self.run.done:
                self._fresh(self.run.config)
            self.mode = "running"
        elif action == "pause":
            self.mode = self._at_rest()
        elif action == "step":
            if not self.run.done:
                self.run.advance()
            self.mode = self._at_rest()
        elif action == "reset":
            self._fresh(self.run.config)
        if action != "pause":
            self.cleared = False      # the learner has moved on: the notice has done its work

    def arrive(self) -> None:
        """The learner came (back) to the page: a run left mid-training waits, paused."""
        if self.mode == "running":
            self.mode = self._at_rest()

    def finished(self) -> None:
        """The training loop stopped by itself (the run is done)."""
        self.mode = self._at_rest()

    def release(self) -> None:
        """Give back the runs' memory (the session is gone: classroom.py's janitor)."""
        for run in [*self.kept, self.run]:
            if run is not None:
                run.release()
        self.kept = []
        self.mode = "new"

    def runs(self) -> list[Run]:
        """The runs to compare: the kept ones and the current one (if trained), oldest first."""
        current = [self.run] if self.run is not None and self.run.step > 0 else []
        return [*self.kept, *current]

    # ------------------------------------------------------------------ reading
    @property
    def training(self) -> bool:
        return self.mode == "running" and self.run is not None and not self.run.done

    def __repr__(self) -> str:
        step = None if self.run is None else self.run.step
        return f"LabState(mode={self.mode!r}, step={step}, cleared={self.cleared})"

    # ------------------------------------------------------------------ inside
    def _at_rest(self) -> str:
        if self.run is None or self.run.step == 0:
            return "new"
        return "done" if self.run.done else "paused"

    def _fresh(self, config: TrainConfig) -> None:
        old, self.run, self.mode = self.run, None, "new"
        if old is not None and old.step > 0 and not old.released:
            self.kept.append(old)                 # for Compare runs
            while len(self.kept) > KEPT:
                self.kept.pop(0).release()
        elif old is not None:
            old.release()
        self.run = self._make_run(config)


def _starting_run(config: TrainConfig) -> Run:
    run = Run(config)
    run.advance()                       # the step-0 snapshot: the starting distributions
    return run
