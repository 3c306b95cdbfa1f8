"""Compiling bn_core's loops off the request path (bn_core.kernels.warm_up; classroom.py starts it
when a server runs its first page).

Numba compiles a loop the first time it is called, which on a fresh install takes seconds per
loop (then its machine code is cached on disk, next to the module). `warm_up` does it in a
daemon thread while `bn_core.kernels.compiled()` answers False, so the requests meanwhile train
with the numpy twins (the same arithmetic, to float32 rounding). The thread first runs the
compilation in a child process at the lowest CPU priority (best effort): there it holds neither
the server's GIL nor, while requests need it, its CPU, and the server then only loads the cached
code; then it calls every loop here, through
tiny runs of `bn_core.trainer.Run` (every activation, BN before and after, their snapshots), so
that each loop is ready with the array layouts the lessons use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from bn_core import kernels

__all__ = ["warm_up", "exercise"]

CHILD = "import bn_core.warm as w; w.exercise()"


def exercise() -> None:
    """Call every compiled loop once, with the compiled loops chosen (`kernels.using(True)`)."""
    from bn_core.trainer import Run, TrainConfig     # here: the trainer imports the kernels
    with kernels.using(True):
        for activation in ("sigmoid", "tanh", "relu"):
            run = Run(TrainConfig(depth=1, width=4, steps=2, batch_size=4, bins=5,
                                  activation=activation, placement="both"))
            for _ in run.stream():
                pass


def _compile_in_child() -> None:
    """`exercise()` in a child Python process, which fills numba's disk cache (best effort)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    lowest = (lambda: os.nice(19)) if hasattr(os, "nice") else None   # the requests first
    try:
        subprocess.run([sys.executable, "-c", CHILD], cwd=root, env=env, timeout=600,
                       check=False, capture_output=True, preexec_fn=lowest)
    except (OSError, subprocess.SubprocessError):
        pass                                             # compiled in this process instead


def warm_up(background: bool = True, child: bool = True) -> threading.Thread | None:
    """See the module doc: background=False runs it in the caller's thread (still returning the
    thread object); child=False compiles in this process only."""
    if not kernels.AVAILABLE:
        return None
    if kernels._WARM_THREAD:
        return kernels._WARM_THREAD[0]

    def compile_all():
        try:
            if child:
                _compile_in_child()
            exercise()
        finally:
            kernels._WARMING.clear()

    kernels._WARMING.set()
    thread = threading.Thread(target=compile_all, name="bn_core kernels warm-up", daemon=True)
    kernels._WARM_THREAD.append(thread)
    if background:
        thread.start()
    else:
        thread.run()
    return thread
