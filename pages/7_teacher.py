"""Teacher (/teacher): the lab's exercises as links, and a link builder: the lab with chosen
settings, the controls students should not touch locked or hidden (lock= and hide=, see
ui.read_lists). Nothing trains here; the links open the lab."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

import ui

ui.page_setup("Teacher", layout="centered")

from bn_core.lab.exercises import EXERCISES  # noqa: E402
from bn_core.lab.presets import LabView  # noqa: E402
from bn_core.trainer import TrainConfig  # noqa: E402

P, ss = "teacher_", st.session_state
base = (st.context.url or "").split("/teacher")[0].rstrip("/")

st.title("Teacher: exercises and links")
st.markdown(
    "Every page's settings live in its link, so a link is a lesson plan. Two more parameters "
    "shape it for a class: `lock=` shows the named controls but disables them, `hide=` does "
    "not show them (names as in the link, comma-separated, e.g. `lock=lr,placement`). Students "
    "keep them through Train, Reset and visits to other pages. Every lesson page takes them.")

st.subheader("Exercises")
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
        st.code(base + link, language=None)                      # with a copy button

st.subheader("Build a link")
st.caption("Choose the lab's settings, tick what students may not change, and copy the link.")
problems = ui.config_from_url(TrainConfig, P, kept="teacher_config", others=(LabView,))
ui.link_notices(problems if ui.arrived() else [])
lock, hide = [], []
head = st.columns([3, 1, 1])
head[1].markdown("**lock**")
head[2].markdown("**hide**")
for control in TrainConfig.controls():
    if not control.url_name:
        continue
    row = st.columns([3, 1, 1], vertical_alignment="center")
    ui.widget(control, P + control.name, row[0])
    if row[1].checkbox("lock", key=f"{P}lock_{control.name}", label_visibility="collapsed"):
        lock.append(control.url_name)
    if row[2].checkbox("hide", key=f"{P}hide_{control.name}", label_visibility="collapsed"):
        hide.append(control.url_name)
config, bad = ui.config_from_widgets(TrainConfig, P, ss.teacher_config)
for problem in bad:
    st.warning(problem, icon=":material/warning:")
ss.teacher_config = config
query = {**config.to_query(), **({"lock": ",".join(lock)} if lock else {}),
         **({"hide": ",".join(hide)} if hide else {})}
link = "/lab" + (f"?{urlencode(query)}" if query else "")
st.markdown(f"**The link** ([open it]({link})):")
st.code(base + link, language=None)
if set(lock) & set(hide):
    st.info("A control both locked and hidden is hidden.", icon=":material/info:")
