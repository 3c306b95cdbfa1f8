"""Covariate-shift lab (/lab): the same network trained without and with BN, side by side, live.

One screen, one instrument: the settings in the sidebar; at the top of the page Train / Pause /
Step / Reset, which layer and unit to watch, the progress, and the two charts that move (the
layer's input histogram per network, the unit's 15/50/85 band over time); below them loss and
accuracy, the reading, and the other views in tabs.

Controls (the knobs of bn_core.trainer.TrainConfig, also the URL) → one `LabState` (its run and
what it is doing: new / running / paused / done; bn_core.lab.state), kept in st.session_state
→ its History → bn_core.lab (reading, figures) → here. The training loop runs in the script
thread; a click on any button stops it at its next st.* call (the progress bar is updated at
least every 0.15 s). While training, every chart in view is updated in place several times a
second (live_chart: only what changed goes to the browser).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import streamlit as st

import teaching
import ui
from classroom import setting
from live_chart import live_batch, live_chart

panel = ui.page_setup("Covariate-shift lab", compact=True)

from bn_core.lab import export, presets, prose, views  # noqa: E402
from bn_core.lab.reading import (SANTURKAR_NOTE, progress_text, read_history,  # noqa: E402
                                 small_batch_note)
from bn_core.lab.state import LabState  # noqa: E402
from bn_core.trainer import TrainConfig  # noqa: E402

P, ss = "lab_", st.session_state
MORE = ("activation", "depth", "width", "dataset", "scaling", "batch_size", "optimizer",
        "momentum", "init_scale", "steps", "seed")
TABS = {"layer": "All units of the layer", "shift": "Shift as a speed",
        "histograms": "Every layer", "health": "Saturation and gradients"}


# ---------------------------------------------------------------- controls → config → one state
setup, problems = presets.from_setup(st.query_params.to_dict()) if ui.arrived() else (None, [])
exercise = teaching.exercise_from_link(problems)        # exercise=break: a task card
problems += ui.config_from_url(TrainConfig, P, kept="lab_config", others=(presets.LabView,),
                               base=setup, narrow=presets.link_limits())   # placement: not none
problems += ui.config_from_url(presets.LabView, P + "view_", kept="lab_view", others=(TrainConfig,),
                               narrow=presets.link_limits(ss.lab_config))  # this net's layers
knob, view_knob = TrainConfig.control, presets.LabView.control
with panel:
    st.markdown("#### Settings")
    ui.widget(knob("lr"), P + "lr")
    ui.widget(knob("placement"), P + "placement", options=presets.PLACEMENTS)
    ui.widget(knob("eps"), P + "eps")
    ui.widget(view_knob("speed"), P + "view_speed")
    with st.expander("More: the network, the data, the optimizer, steps, the time axis"):
        for name in MORE:
            ui.widget(knob(name), P + name)
        ui.widget(view_knob("time_axis"), P + "view_time_axis")
    st.markdown("**Setups**")
    setups = teaching.setup_buttons(ss.lab_config, P)        # False: a link fixes them
    setup_notes = st.container()

config, _ = ui.config_from_widgets(TrainConfig, P, ss.lab_config)
ss.lab_config = config
config = config.replace(record_every=presets.record_every_for(config))

if "lab" not in ss:
    ss.lab = LabState()                 # made once per session, then only mutated
lab: LabState = ss.lab
if ui.arrived():
    lab.arrive()                        # coming back mid-training: the run waits, paused
with ui.friendly_errors("the networks"):
    lab.show(config)
with ui.friendly_errors("this step"):
    action = ss.pop("lab_action", None) if lab.run is not None else None
    if action == "pause":
        ui.trace(f"pause {time.time():.4f} {lab.run.step}")        # for bench_lab
    lab.apply(action)
run = lab.run
estimate, too_long = teaching.run_time(config, run)      # about how long; too long here?

with setup_notes:
    if presets.setup_of(ss.lab_config) in presets.NOTES:           # also from a link (setup=…)
        st.info(presets.NOTES[presets.setup_of(ss.lab_config)], icon=":material/description:")
    note = small_batch_note(config)
    if note:
        st.info(note, icon=":material/info:")

# ---------------------------------------------------------------- the first screen
st.title("Covariate-shift lab")
ui.link_notices(list(dict.fromkeys(problems)) if ui.arrived() else [])
ui.reset_notices()
if run is None:                        # the networks could not be made (the error is above)
    st.stop()

mode = lab.mode
if exercise:                             # predict first, then see what the run showed
    teaching.task_card(exercise, run)
waiting = exercise is not None and ss.get("lab_prediction") is None and run.step == 0
with st.container(horizontal=True, vertical_alignment="bottom", key="lab_actions"):
    st.button({"new": "Train", "paused": "Resume", "done": "Train again"}.get(mode, "Train"),
              key="lab_train", type="primary", icon=":material/play_arrow:",
              on_click=ui.set_state, kwargs={"lab_action": "train"},
              disabled=mode == "running" or waiting or bool(too_long),   # (no help otherwise:
              help="Make your prediction first (above)." if waiting else None)  # 1 button, not 2)
    st.button("Pause", key="lab_pause", icon=":material/pause:", disabled=mode != "running",
              on_click=ui.set_state, kwargs={"lab_action": "pause"},
              help="Stop after the current snapshot; the run is kept.")
    st.button("Step", key="lab_step_button", icon=":material/skip_next:", disabled=run.done,
              on_click=ui.set_state, kwargs={"lab_action": "step"},
              help="Train to the next snapshot and stop.")
    st.button("Reset", key="lab_reset", icon=":material/restart_alt:",
              on_click=ui.set_state, kwargs={"lab_action": "reset"},
              help="Forget the run and start again from the initial weights.")
    ui.widget(view_knob("layer"), P + "view_layer", options=list(range(config.depth + 1)),
              width=130)                # Reset, layer and unit in one row on a phone
    ui.widget(view_knob("unit"), P + "view_unit",
              options=list(range(1, min(config.width, 16) + 1)), width=100)
if too_long:
    st.warning(too_long, icon=":material/timer_off:")
view, _ = ui.config_from_widgets(presets.LabView, P + "view_", ss.lab_view)
ss.lab_view = view
query = ui.write_url(presets.link_query(ss.lab_config), extra={
    **view.to_query(), **({"exercise": exercise.name} if exercise else {})})
layer, unit = view.layer_index(config.depth), view.unit_index(config.width)
log_x = view.time_axis == "log"
progress = st.empty()
with st.expander("What is this? The same network, trained without and with BN",
                 expanded="lab_seen" not in ss and lab.mode == "new"):
    st.markdown(prose.intro(setups))
ss.lab_seen = True
alerts = st.empty()
SECTIONS = views.sections(config.activation, layer, unit)
boxes = {}
for name, where in zip(views.FIRST_SCREEN, st.columns(2, gap="small")):
    with where:
        st.markdown(f"**{SECTIONS[name][0].split(' · ', 1)[1]}**", help=SECTIONS[name][1])
        boxes[name] = st.empty()
st.markdown(f"**{SECTIONS['curves'][0].split(' · ', 1)[1]}**", help=SECTIONS["curves"][1])
boxes["curves"] = st.empty()
st.header("What this run shows")
reading_box = st.empty()
*tabs, compare_tab, export_tab = st.tabs([*TABS.values(), "Compare runs", "Share and export"],
                                         key="lab_tab", on_change="rerun")   # open: drawn
for name, tab in zip(TABS, tabs):
    with tab:
        st.caption(SECTIONS[name][1])
        boxes[name] = st.empty()
drawn = [*views.LIVE_VIEWS, *(name for name, tab in zip(TABS, tabs) if tab.open is not False)]

shown = {"alerts": None, "reading_at": -1.0}   # while training: alerts rewritten on a change, the
                                               # reading once a second (a re-render, as a chart)


def draw(run, live: bool) -> None:
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
            if not live and reading.details:
                with st.expander("How these numbers are measured"):
                    st.markdown("\n\n".join(reading.details))
            if not live and reading.caution:
                st.caption(SANTURKAR_NOTE)
    figs = {v: views.view_figure(v, run.history, layer, unit, log_x, animate=not live,
                                 as_dict=True) for v in drawn}      # the views in sight only
    with live_batch():                 # drawn in place in the browser: only what changed is sent
        for name, fig in figs.items():
            live_chart(fig, key=f"lab_{name}", into=boxes[name],    # while training: no hover
                       config={"displaylogo": False, "displayModeBar": False,
                               "staticPlot": live})                  # (cheaper redraws)


pace = views.watch_interval(len(run.schedule), seconds=setting(
    "BN_LAB_WATCH_SECONDS", views.WATCH_SECONDS, float, lo=0.0)) if view.speed == "watch" else 0


def show_progress(rate: float | None = None, left: float | None = None) -> None:
    text = progress_text(run, rate, left)
    if estimate is not None and run.step == 0:
        text += views.start_estimate(estimate, len(run.schedule), pace)
    if lab.cleared and run.step == 0:
        text += " · the settings changed: a new run (the last one is under Compare runs)"
    progress.progress(run.step / run.config.steps, text=text)


if lab.training:
    pacer = views.UpdatePacer(0.15, 0.25)
    clock, last_call, snap_at = views.RunClock(run, pace, pacer), 0.0, time.perf_counter()
    with ui.friendly_errors("training"), ui.training_slot(alerts):
        while not run.done:
            run.advance()
            now = time.perf_counter()
            if now - last_call >= 0.15 or run.done:     # a click on Pause stops the loop here
                show_progress(*clock.reading())
                last_call = now
            if pacer.due() and not run.done:
                t0 = time.perf_counter()
                draw(run, live=True)
                pacer.drawn(time.perf_counter() - t0)
                ui.trace(f"draw {time.perf_counter() - t0:.4f}")   # for bench_lab
            snap_at = max(snap_at + pace, time.perf_counter())    # watchable: a snapshot at
            clock.wait_until(snap_at)                             # most every `pace` seconds
    lab.finished()
    if run.done:
        st.rerun()                     # redraw everything once more, at rest, with the animation
show_progress()
with ui.friendly_errors("drawing the charts"):
    draw(run, live=False)

with compare_tab:                       # the runs kept (bn_core.lab.state) and this one
    if compare_tab.open is not False:
        teaching.compare_runs(lab.runs(), layer, unit, log_x)

with export_tab:
    st.caption("This link opens the lab with these settings (they are also in the address bar):")
    path = "/lab" + (f"?{urlencode(query)}" if query else "")
    base = (st.context.url or "").split("/lab")[0].rstrip("/") if st.context.url else ""
    st.code(base + path, language=None, wrap_lines=True)
    d1, d2, d3 = st.columns(3)
    d1.download_button("Recorded data (CSV)", ui.made_on_click(export.table_csv, run.history),
                       file_name="batchnorm_lab_run.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", help=prose.CSV_HELP)
    d2.download_button("Figures (standalone HTML)", ui.made_on_click(
                           export.report_html, run.history, layer, unit, log_x, path),
                       file_name="batchnorm_lab_run.html", mime="text/html",
                       icon=":material/download:", on_click="ignore", help=prose.HTML_HELP)
    d3.download_button("PyTorch script (.py)", ui.made_on_click(
                       export.pytorch_script, config, keep=True), file_name=export.SCRIPT_NAME,
                       mime=export.SCRIPT_MIME, on_click="ignore", icon=":material/code:",
                       help=prose.SCRIPT_HELP)
