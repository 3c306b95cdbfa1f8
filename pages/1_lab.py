"""Covariate-shift lab (/lab): the same network trained without and with BN, side by side, live.

Controls (the knobs of bn_core.trainer.TrainConfig, also the URL) → bn_core.trainer.Run, kept in
st.session_state so that Pause, Step and leaving the page keep it (coming back shows it paused)
→ its History → bn_core.lab (reading, figures) → here. The training loop runs in the script
thread; a click on any button stops it at its next st.* call (the progress bar is updated at
least every 0.15 s). While training, every chart is updated in place several times a second
(live_chart: only what changed goes to the browser).
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode

import streamlit as st

import ui
from live_chart import live_batch, live_chart

ui.page_setup("Covariate-shift lab")

from bn_core.lab import export, presets, views  # noqa: E402
from bn_core.lab.reading import (SANTURKAR_NOTE, progress_text, read_history,  # noqa: E402
                                 small_batch_note)
from bn_core.trainer import Run, TrainConfig  # noqa: E402

P, ss = "lab_", st.session_state
TRACE = os.environ.get("BN_LAB_TRACE")     # a file: benchmarks/bench_lab.py times Pause with it
MORE = (("activation", "depth", "width"), ("dataset", "scaling", "batch_size"),
        ("optimizer", "momentum", "init_scale"), ("steps", "seed"))


def lab_config(config: TrainConfig) -> TrainConfig:
    return config.replace(record_every=presets.record_every_for(config))


def trace(line: str) -> None:
    if TRACE:
        with open(TRACE, "a") as f:
            f.write(line + "\n")


st.title("Covariate-shift lab")
st.markdown(
    "A neural network turns its input into a prediction through a few **layers**; each layer "
    "computes weighted sums of the previous layer's outputs, $z = W u + b$, and passes them "
    "through an **activation** function $g(z)$ (by default a sigmoid, like the 2015 paper). "
    "Here the *same* network is trained two (or three) times, side by side: as it is, and with "
    "**Batch Normalization** (BN), which re-centres and re-scales $z$ over each mini-batch. All "
    "copies start from the same weights and see the same mini-batches, so every difference you "
    "see comes from BN alone.")
st.markdown(
    "While they train, watch the inputs $z$ of the activations, measured on the same held-out "
    "examples at every moment. Without BN their distribution drifts as the earlier layers learn "
    "(the paper called this *internal covariate shift*); with BN it is held steady. **Press "
    "Train**, then try the **Paper setup** (the paper's Figure 1), a larger learning rate, BN "
    "after the activation, or the **ε = 0 breaks it** setup.")

problems = ui.config_from_url(TrainConfig, P, kept="lab_config")
ui.config_from_url(presets.LabView, P + "view_", kept="lab_view")
if ss.pop("lab_paused", False):           # the buttons' callbacks only set keys (ui.set_state)
    trace(f"pause {time.time():.4f} {ss.lab_run.step if ss.get('lab_run') else 0}")
if ss.pop("lab_again", False) and ss.get("lab_run") is not None and ss.lab_run.done:
    ui.replace(ss, "lab_run", None)    # "Train again": a fresh run with the same settings
if ui.arrived() or "lab_running" not in ss:
    ss.lab_running = False   # coming back mid-training: show the run paused, not training on
knob = TrainConfig.control
for where, name in zip(st.columns(3), ("lr", "placement", "eps")):
    ui.widget(knob(name), P + name, where, options=("before", "after", "both")
              if name == "placement" else None)
with st.expander("More settings: the network, the data, BN momentum, the optimizer, steps"):
    for where, names in zip(st.columns(4), MORE):
        for name in names:
            ui.widget(knob(name), P + name, where)

config, _ = ui.config_from_widgets(TrainConfig, P, ss.lab_config)
if config.placement == "none":          # only from a link: the lab always trains a BN network
    problems.append("placement: the lab always trains a BN network beside the plain one, got "
                    "'none'; using before")
    config = config.replace(placement="before")
    ss[P + "placement"] = "before"
ss.lab_config = config
query = ui.write_url(config)
config = lab_config(config)
ui.link_notices(problems if ui.arrived() else [])
ui.reset_notices()

preset = ss.get("lab_preset")
if preset in presets.NOTES and query == presets.PRESETS[preset].to_query():
    st.info(presets.NOTES[preset], icon=":material/description:")
note = small_batch_note(config)
if note:
    st.info(note, icon=":material/info:")

run = ss.get("lab_run")
if run is not None and run.config != config:
    ss.lab_cleared = ss.get("lab_cleared", False) or run.step > 0
    ui.replace(ss, "lab_run", None)
    run = None
    ss.lab_running = False
if run is None:
    with ui.friendly_errors("the networks"):
        run = Run(config)
        run.advance()                  # the step-0 snapshot: the starting distributions
        ss.lab_run = run
if run is not None and ss.pop("lab_step", False) and not run.done:
    with ui.friendly_errors("this step"):
        run.advance()
if ss.get("lab_cleared") and run is not None and run.step == 0 and not ss.lab_running:
    st.info("The settings changed, so the previous run was cleared. Press **Train**.",
            icon=":material/restart_alt:")          # until this run starts (several changes too)
else:
    ss.lab_cleared = False

state = "new" if run is None or run.step == 0 else ("done" if run.done else "paused")
cols = st.columns(4)                   # the callbacks only set keys: ui.set_state says why
cols[0].button({"new": "Train", "paused": "Resume", "done": "Train again"}[state], key="lab_train",
               type="primary", icon=":material/play_arrow:", width="stretch",
               on_click=ui.set_state, kwargs={"lab_running": True, "lab_again": True},
               disabled=run is None or ss.lab_running,
               help="Train all networks from where they are (a finished run starts again).")
cols[1].button("Pause", key="lab_pause", icon=":material/pause:", width="stretch",
               on_click=ui.set_state, kwargs={"lab_running": False, "lab_paused": True},
               disabled=not ss.lab_running,
               help="Stop after the current record interval; the run is kept.")
cols[2].button("Step", key="lab_step_button", icon=":material/skip_next:", width="stretch",
               on_click=ui.set_state, kwargs={"lab_running": False, "lab_step": True},
               disabled=run is None or run.done, help="Train to the next snapshot and stop.")
cols[3].button("Reset", key="lab_reset", icon=":material/restart_alt:", width="stretch",
               on_click=ui.set_state, kwargs={"lab_running": False, "lab_run": None},
               help="Forget the run and start again from the initial weights.")
cols = st.columns([0.6, 1, 1, 1])
cols[0].markdown("**Setups:**")
for where, name, icon in zip(cols[1:], presets.BUTTONS, (":material/description:",
                                                         ":material/warning:",
                                                         ":material/settings_backup_restore:")):
    label, text = presets.BUTTONS[name]
    where.button(label, key=f"lab_{name}", icon=icon, width="stretch", help=text,
                 on_click=ui.set_state, kwargs={"preset": (presets.PRESETS[name], P),
                                                "lab_running": False, "lab_preset": name})
if run is None:                        # the networks could not be made (the error is above)
    st.stop()

progress = st.empty()
alerts = st.empty()
st.subheader("What this run shows")
reading_box = st.empty()
v1, v2, v3 = st.columns([1, 1, 2])
view_knob = presets.LabView.control
ui.widget(view_knob("layer"), P + "view_layer", v1, options=list(range(config.depth + 1)))
ui.widget(view_knob("unit"), P + "view_unit", v2, options=list(range(1, min(config.width, 16) + 1)))
ui.widget(view_knob("time_axis"), P + "view_time_axis", v3)
view, _ = ui.config_from_widgets(presets.LabView, P + "view_", ss.lab_view)
ss.lab_view = view
layer, unit = view.layer_index(config.depth), view.unit_index(config.width)
log_x = view.time_axis == "log"
SECTIONS = views.sections(config.activation, layer, unit)
boxes = {}
for name, (title, caption) in SECTIONS.items():
    st.subheader(title)
    st.caption(caption)
    boxes[name] = st.empty()


shown = {"alerts": None, "reading_at": -1.0}   # while training: alerts rewritten when they
                                               # change, the reading once a second (each costs
                                               # the browser a re-render, as much as a chart)

def draw(run: Run, live: bool, n: int) -> None:
    """Redraw the views from the run's history (live: the update's views, no animation)."""
    reading = read_history(run.history, layer)
    now = (tuple(reading.divergences.values()), tuple(reading.stalled.values()))
    if not live or now != shown["alerts"]:
        shown["alerts"] = now
        with alerts.container():
            for text in now[0]:
                st.error(text, icon=":material/error:")
            for text in now[1]:
                st.warning(text, icon=":material/warning:")
    if not live or time.perf_counter() - shown["reading_at"] >= 1.0:
        shown["reading_at"] = time.perf_counter()
        with reading_box.container():
            st.markdown("\n".join(f"- {line}" for line in reading.lines))
            if not live and reading.caution:
                st.caption(SANTURKAR_NOTE)
    figs = (views.live_figures(run.history, layer, unit, log_x, as_dict=True) if live else
            {v: views.view_figure(v, run.history, layer, unit, log_x, animate=True, as_dict=True)
             for v in views.VIEWS})
    with live_batch():                 # drawn in place in the browser: only what changed is sent
        for name, fig in figs.items():
            live_chart(fig, key=f"lab_{name}", into=boxes[name],    # while training: no hover
                       config={"displaylogo": False, "staticPlot": live})  # (cheaper redraws)

if ss.lab_running and not run.done:
    pacer, start, start_step = views.UpdatePacer(0.15, 0.25), time.perf_counter(), run.step
    last_call = 0.0
    finished = False
    with ui.friendly_errors("training"), ui.training_slot(alerts):
        while not run.done:
            run.advance()
            now = time.perf_counter()
            if now - last_call >= 0.15 or run.done:     # a click on Pause stops the loop here
                rate = (run.step - start_step) / (now - start)
                progress.progress(run.step / run.config.steps, text=progress_text(run, rate))
                last_call = now
            if pacer.due() and not run.done:
                t0 = time.perf_counter()
                draw(run, live=True, n=pacer.draws)
                pacer.drawn(time.perf_counter() - t0)
                trace(f"draw {time.perf_counter() - t0:.4f}")   # the benchmark reads these
        finished = True
    ss.lab_running = False
    if finished:
        st.rerun()                     # redraw everything once more, at rest, with the animation
progress.progress(run.step / run.config.steps, text=progress_text(run))
with ui.friendly_errors("drawing the charts"):
    draw(run, live=False, n=0)

st.subheader("Share and export")
st.caption("This link opens the lab with these settings (they are also in the address bar):")
path = "/lab" + (f"?{urlencode(query)}" if query else "")
base = (st.context.url or "").split("/lab")[0].rstrip("/") if st.context.url else ""
st.code(base + path, language=None)


d1, d2, _ = st.columns([1, 1, 2])
d1.download_button("Recorded data (CSV)", ui.made_on_click(export.table_csv, run.history),
                   file_name="batchnorm_lab_run.csv", mime="text/csv", on_click="ignore",
                   icon=":material/download:", help="One row per snapshot, network, layer and "
                   "recorded unit (whole-layer rows have no unit): p15, p50, p85, mean, std; loss, "
                   "accuracy, saturation and gradient norm on the whole-layer rows.")
d2.download_button("Figures (standalone HTML)", ui.made_on_click(
                       export.report_html, run.history, layer, unit, log_x, path),
                   file_name="batchnorm_lab_run.html",
                   mime="text/html", icon=":material/download:", on_click="ignore",
                   help="Every chart in one HTML file that opens offline (about 5 MB: it "
                   "includes plotly.js).")
