"""Live-chart demo: five charts redrawn in a loop inside one script run, like the lab's training.

    streamlit run tests/browser/apps/live_chart_demo.py     then /?mode=live&updates=40&interval=0.1

Query parameters: mode = live (live_chart.py; batch=1, the default: the five updates of a round
in one live_batch), plotly (st.plotly_chart, the baseline) or none (figures built, not drawn);
updates, interval (seconds between updates), points (new points per line per update);
figs = synthetic (tests/browser/apps/live_chart_figures.py) or lab (bn_core's five live views of a
real training run, for benchmarks/bench_live_chart.py; steps = its length).
Start runs the loop; Pause stops it (Streamlit stops the script at its next st.* call) and the
page shows when the click was handled. The last line ("stats {...}") is for the test and bench.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
for p in (str(ROOT), str(Path(__file__).resolve().parent)):
    if p not in sys.path:
        sys.path.insert(0, p)

import streamlit as st
from live_chart_figures import HEIGHTS, NAMES, build

from live_chart import live_batch, live_chart

q = st.query_params
mode = q.get("mode", "live")
updates = int(q.get("updates", "40"))
interval = float(q.get("interval", "0.1"))
points = int(q.get("points", "3"))
figs = q.get("figs", "synthetic")
batch = q.get("batch", "1") == "1"                # live: one message for the five updates
ss = st.session_state
ss.setdefault("u", 0)
ss.setdefault("running", False)
CONFIG = {"displaylogo": False}


def on_start():
    ss.running, ss.u, ss.paused_at = True, 0, None


def on_pause():
    ss.running = False
    ss.paused_at = time.time()


st.title("Live chart demo")
c1, c2 = st.columns(2)
c1.button("Start", key="demo_start", on_click=on_start, disabled=ss.running)
c2.button("Pause", key="demo_pause", on_click=on_pause)
status = st.empty()
if ss.get("paused_at"):
    st.caption(f"paused after update {ss.u} (at {ss.paused_at:.3f})")

# ----------------------------------------------------------------------------- the figures

if figs == "lab":        # the lab's own views
    from bn_core.lab import presets, views
    from bn_core.trainer import Run, TrainConfig

    view_figure, names, record_every_for = views.view_figure, views.VIEWS, \
        presets.record_every_for
    steps = int(q.get("steps", "10000"))
    if "lab_run" not in ss or ss.lab_run.config.steps != steps or not ss.running:
        config = TrainConfig(steps=steps)
        ss.lab_run = Run(config.replace(record_every=record_every_for(config)))
        ss.lab_run.advance()
    run = ss.lab_run

    def figure(name: str, u: int):
        return view_figure(name, run.history, run.config.depth - 1, 0, as_dict=True)
else:
    names = NAMES

    def figure(name: str, u: int):
        return build(name, u, points)

boxes = {}
for name in names:
    st.subheader(name)
    with st.container(key=f"box_{name}"):         # a stable element around each chart (bench)
        boxes[name] = st.empty()

seconds = {"draw": 0.0, "build": 0.0}


def draw(u: int) -> None:
    t_build = time.perf_counter()
    figures = {name: figure(name, u) for name in names}
    t0 = time.perf_counter()
    with live_batch() if mode == "live" and batch else contextlib.nullcontext():
        for name, fig in figures.items():
            if mode == "none":                   # no charts: the loop's own pace (benchmark)
                continue
            if mode == "live":
                live_chart(fig, key=f"demo_{name}", into=boxes[name], config=CONFIG,
                           height=HEIGHTS.get(name))
            else:
                boxes[name].plotly_chart(fig, key=f"pc_{name}_{u}", config=CONFIG)
    seconds["build"] += t0 - t_build
    seconds["draw"] += time.perf_counter() - t0


draw(ss.u)                                    # the charts as they are (mount)
if ss.running:
    seconds.update(draw=0.0, build=0.0)
    start = time.perf_counter()
    done = 0
    while (ss.u < updates) if figs != "lab" else not run.done:
        if figs == "lab":
            for _ in range(int(q.get("advance", "4"))):
                if not run.done:
                    run.advance()
        ss.u += 1
        draw(ss.u)
        done += 1
        status.text(f"update {ss.u}")
        time.sleep(interval)
    loop = time.perf_counter() - start
    ss.running = False
    status.text(f"done: {done} updates")
    st.text("stats " + json.dumps({"mode": mode, "updates": done, "charts": len(names),
                                   "loop_s": loop, **{f"{k}_s": v for k, v in seconds.items()}}))
