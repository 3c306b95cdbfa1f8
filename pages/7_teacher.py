"""Teacher (/teacher): the lab's exercises as links, and a link builder: the lab with chosen
settings, the controls students should not touch locked or hidden (lock= and hide=, see
ui.read_lists). Nothing trains here; the links open the lab."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

import ui

ui.page_setup("Teacher", layout="centered")

from bn_core.lab.exercises import EXERCISES  # noqa: E402
from bn_core.lab.presets import LabView, link_limits  # noqa: E402
from bn_core.trainer import TrainConfig  # noqa: E402

P, ss = "teacher_", st.session_state
base = (st.context.url or "").split("/teacher")[0].rstrip("/")

st.title("Teacher: exercises and links")
st.markdown(
    "Every page's settings live in its link, so a link is a lesson plan. Two more parameters "
    "shape it for a class: `lock=` shows the named controls but disables them, `hide=` does "
    "not show them (names as in the link, comma-separated, e.g. `lock=lr,placement`). Students "
    "keep them through Train, Reset and visits to other pages. Every lesson page takes them.")

st.header("Exercises")
st.markdown(
    "Each opens the lab with a task card: students **predict** the outcome first (Train waits "
    "for it), then the card says what their run showed, from the run's own numbers, and whether "
    "it matched the prediction. Predicting first is what makes a demonstration teach (Crouch "
    "et al. 2004).")
for e in EXERCISES.values():
    with st.container(border=True):
        st.markdown(f"**{e.title}** · {e.question}")
        link = f"/lab?{urlencode(e.query())}"
        st.markdown(f"[Open it]({link}) · locks: {', '.join(e.lock) or 'nothing'}")
        st.code(base + link, language=None, wrap_lines=True)     # with a copy button; wrapped:
                                                                 # no scrolling box to reach

st.header("Build a link")
st.caption("Choose the lab's settings, tick what students may not change, and copy the link.")
limits = link_limits()                  # what the lab offers (no "no BN network"), as it says
problems = ui.config_from_url(TrainConfig, P, kept="teacher_config", others=(LabView,),
                              narrow=limits)
ui.link_notices(problems if ui.arrived() else [])
lock, hide = [], []
for control in TrainConfig.controls():
    if not control.url_name:
        continue
    # A phone stacks the columns, so each box names its control ("lock Learning rate", also
    # what a screen reader says) instead of relying on a header above the column.
    row = st.columns([3, 2], vertical_alignment="center")
    ui.widget(control, P + control.name, row[0],
              options=limits.get(control.name, {}).get("choices"))
    for which, chosen in (("lock", lock), ("hide", hide)):
        if row[1].checkbox(f"{which} {control.label}", key=f"{P}{which}_{control.name}"):
            chosen.append(control.url_name)
config, bad = ui.config_from_widgets(TrainConfig, P, ss.teacher_config)
for problem in bad:
    st.warning(problem, icon=":material/warning:")
ss.teacher_config = config
query = {**config.to_query(), **({"lock": ",".join(lock)} if lock else {}),
         **({"hide": ",".join(hide)} if hide else {})}
link = "/lab" + (f"?{urlencode(query)}" if query else "")
st.markdown(f"**The link** ([open it]({link})):")
st.code(base + link, language=None, wrap_lines=True)
if set(lock) & set(hide):
    st.info("A control both locked and hidden is hidden.", icon=":material/info:")
