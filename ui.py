"""Streamlit helpers that every page shares: page set-up, the labelled navigation, URL state.

bn_core never imports streamlit; this module is the thin layer between the two.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent

# (page file, label, icon): the order is the order of the lessons.
PAGES = [
    ("app.py", "Home", ":material/home:"),
    ("pages/1_lab.py", "Covariate-shift lab", ":material/science:"),
    ("pages/2_formula.py", "The formula", ":material/functions:"),
    ("pages/3_inference.py", "Inference: train vs eval", ":material/model_training:"),
    ("pages/4_experiments.py", "Experiments", ":material/query_stats:"),
]


def page_setup(title: str, icon: str = ":material/science:", layout: str = "wide") -> None:
    """First call of every page: page config, the sidebar navigation, and which page ran last
    (for `arrived`)."""
    st.set_page_config(page_title=f"{title} · BatchNorm Lab", page_icon=icon, layout=layout)
    st.session_state["_ui_arrived"] = st.session_state.get("_ui_page") != title
    st.session_state["_ui_page"] = title
    sidebar_nav()


def arrived() -> bool:
    """True on the first run of a visit to this page (the session's first page, or coming from
    another page); False on its reruns (a click, a changed control)."""
    return st.session_state.get("_ui_arrived", True)


def sidebar_nav() -> None:
    """The lessons in order, with proper titles (the default file-name nav is hidden)."""
    with st.sidebar:
        st.markdown("### BatchNorm Lab")
        for path, label, icon in PAGES:
            if (ROOT / path).exists():
                st.page_link(path, label=label, icon=icon)
        st.divider()


def preset_from_url(config_cls, prefix: str):
    """Preset the widgets keyed `prefix + field` from the URL query (only where the session has
    no value yet: a widget with key= ignores a changing value=), and show one notice per rejected
    parameter. `config_cls.from_query(params)` returns (config, problems). Returns the config."""
    config, problems = config_cls.from_query(st.query_params.to_dict())
    for name, value in config.__dict__.items():
        if prefix + name not in st.session_state:
            st.session_state[prefix + name] = value
    for problem in problems:
        st.warning(f"Ignored a setting in the link: {problem}.", icon=":material/link_off:")
    return config


@contextlib.contextmanager
def friendly_errors(what: str = "this step"):
    """Turn an unexpected exception into a kind message instead of a traceback.

    ValueErrors from bn_core name the field and what was expected: show them as they are.
    Streamlit's own control-flow exceptions (rerun, stop) derive from BaseException and pass.
    """
    try:
        yield
    except ValueError as exc:
        st.error(f"Can't run {what}: {exc}. Change the setting and try again.")
    except Exception as exc:  # noqa: BLE001 - the last line of defence before the learner
        st.error(
            f"Something went wrong in {what} ({type(exc).__name__}). Try other settings or press "
            "Reset; if it happens again, please report the settings in the URL."
        )
