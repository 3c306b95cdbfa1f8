"""Teacher mode's Streamlit pieces: an exercise's task card, the learner's runs compared, the
lab's setup buttons (which keep what a teacher's link fixes), and the guard of a shared server
(a run too long for it is refused, saying how to shorten it). The computations are bn_core's
(bn_core.lab.exercises, bn_core.lab.compare); the links' lock= and hide= are ui.read_lists."""

from __future__ import annotations

import streamlit as st

import ui
from live_chart import live_chart
from bn_core.lab.compare import compare_figure, run_labels
from bn_core.lab.exercises import EXERCISES, Exercise
from bn_core.lab import presets
from bn_core.lab.presets import estimate_seconds
from classroom import setting

__all__ = ["exercise_from_link", "task_card", "compare_runs", "run_time", "setup_buttons"]
SETUP_ICONS = {"paper": ":material/description:", "eps0": ":material/warning:",
               "default": ":material/settings_backup_restore:"}


def setup_buttons(shown, prefix: str) -> bool:
    """The lab's Setups (bn_core.lab.presets.BUTTONS), each showing its config on the widgets
    keyed prefix + field. A setup that would change a control the teacher's link locks or hides
    (compared with `shown`, the config on screen) is disabled, and its help says which. Returns
    whether every setup can be used."""
    usable = True
    for name, (label, text) in presets.BUTTONS.items():
        fixed = ui.fixed_by_link(shown, presets.PRESETS[name])
        if fixed:
            text = (f"The link you opened fixes {' and '.join(f'“{f}”' for f in fixed)}, which "
                    "this setup would change.")
        st.button(label, key=f"lab_{name}", icon=SETUP_ICONS[name], width="stretch", help=text,
                  disabled=bool(fixed), on_click=ui.set_state,
                  kwargs={"preset": (presets.PRESETS[name], prefix)})
        usable = usable and not fixed
    return usable


def exercise_from_link(problems: list[str]) -> Exercise | None:
    """The lab's exercise: from the link on a visit's first run (exercise=break; a link
    without one ends it), else the one kept from earlier; an unknown name adds a problem."""
    ss = st.session_state
    if ui.arrived() and st.query_params:
        name = st.query_params.get("exercise")
        if name is not None and name not in EXERCISES:
            problems.append(f"exercise: expected one of {', '.join(EXERCISES)}, got {name!r}; "
                            "ignored")
            name = None
        if name != ss.get("lab_exercise"):
            ss.pop("lab_prediction", None)              # a new exercise: a new prediction
        ss.lab_exercise = name
    return EXERCISES.get(ss.get("lab_exercise"))


def task_card(exercise: Exercise, run) -> None:
    """The question, the learner's prediction (fixed once the run has started), and after the
    run what it showed, from its own numbers (Exercise.reveal)."""
    ss = st.session_state
    with st.container(border=True, key="lab_task"):
        st.markdown(f"**Exercise: {exercise.title}.** {exercise.question}")
        fixed = run.step > 0 and ss.get("lab_prediction") is not None    # said before Train
        st.radio("Your prediction, before you press Train:", exercise.choices, index=None,
                 key="lab_prediction", disabled=fixed)
        lines = exercise.reveal(run.history, ss.get("lab_prediction"))
        if lines and run.config.replace(record_every=1) != exercise.settings.replace(
                record_every=1):
            lines.append("(Your settings now differ from the exercise's: the run above is "
                         "yours. Compare runs, below the charts, shows them side by side.)")
        if lines:
            st.markdown("\n\n".join(lines))
        st.button("Close the exercise", key="lab_close", icon=":material/close:",
                  on_click=ui.set_state, kwargs={"lab_exercise": None})


def compare_runs(runs: list, layer: int, unit: int, log_x: bool) -> None:
    """The runs kept in this session and the current one, each with a checkbox, overlaid."""
    labels = run_labels([r.config for r in runs])
    st.caption("Your last runs, overlaid: line dash tells the runs apart, colour the networks. "
               "A changed setting starts a new run; the earlier ones wait here (the last 5).")
    chosen = [i for i, label in enumerate(labels)
              if st.checkbox(label, value=True, key=f"lab_compare_{id(runs[i])}")]
    live_chart(compare_figure([runs[i].history for i in chosen], [labels[i] for i in chosen],
                              layer, unit, log_x, as_dict=True),    # the lab's one kind of chart
               key="lab_compare", config={"displaylogo": False})


def run_time(config, run) -> tuple[float | None, str | None]:
    """Before a run starts: about how long it takes here (`estimate_seconds`, measured once per
    config), and, where that is longer than BN_LAB_MAX_RUN_S (default 300 s), the notice that
    refuses it and says how to shorten it; (None, None) once it has started."""
    ss = st.session_state
    if run is None or run.step > 0:
        return None, None
    if ss.get("lab_estimate", (None,))[0] != config:
        with ui.friendly_errors("the time estimate"):     # 20 throwaway steps
            ss.lab_estimate = (config, estimate_seconds(config))
    seconds = ss.get("lab_estimate", (None, None))[1]
    most = setting("BN_LAB_MAX_RUN_S", 300.0, float, lo=1.0)
    if seconds is None or seconds <= most:
        return seconds, None
    return seconds, (f"**This run would take about {seconds / 60:,.0f} min here**; this server "
                     f"allows {most / 60:,.0f} min a run, so that every learner's run finishes. "
                     f"Use about {int(config.steps * most / seconds):,} steps or fewer (More "
                     "settings), a smaller network or a larger batch.")
