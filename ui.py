"""Streamlit helpers that every page shares: page set-up, the labelled navigation, widgets made
from the declared knobs (bn_core.controls), URL state, and kind error messages.

bn_core never imports streamlit; this module is the thin layer between the two.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import re
import weakref
from pathlib import Path
from typing import NamedTuple

import streamlit as st

import streamlit_compat
from bn_core.controls import Config, Control, in_words
from classroom import replace, training_slot, watch_session  # training_slot: for the pages

ROOT = Path(__file__).resolve().parent
FAVICON = str(ROOT / "assets" / "favicon.png")   # served by this server: no font CDN, offline


class Page(NamedTuple):
    path: str          # the file; its URL is the file name without the number: /lab
    label: str         # in the navigation
    icon: str          # a Material Symbol: Streamlit bundles them, so they work offline
    summary: str       # on the Home page


# The one registry of pages, in the order of the lessons: the navigation and the Home page
# read it. (A page's favicon would come from a CDN, so every page uses FAVICON instead.) A data
# table: its rows share a shape, which `duplicates` lists; there is no logic here to merge.
PAGES = [
    Page("app.py", "Home", ":material/home:", ""),
    Page("pages/1_lab.py", "Covariate-shift lab", ":material/science:",
         "Train a network with and without BN and watch each layer's input distribution move "
         "(or not) — the paper's Figure 1, live. Why was BN said to fix *internal covariate "
         "shift*, and what does the picture really show?"),
    Page("pages/2_formula.py", "The formula", ":material/functions:",
         "One mini-batch through Algorithm 1, step by step: the batch mean, variance, "
         "normalisation, γ and β, what ε is for, and the backward pass."),
    Page("pages/3_inference.py", "Inference: train vs eval", ":material/model_training:",
         "Why a trained BN network behaves differently in eval mode, the running averages "
         "behind it, the paper's population statistics, and the two classic failures."),
    Page("pages/4_experiments.py", "Experiments", ":material/query_stats:",
         "Settle claims across many seeds: BN before or after the activation, larger learning "
         "rates, bad initialisation, small batches."),
    Page("pages/5_why.py", "Why does BN work?", ":material/psychology_alt:",
         "Test the covariate-shift story against Santurkar et al. (2018): noisy BN, internal "
         "covariate shift as they measure it, the loss landscape along the gradient, and scale "
         "invariance."),
    Page("pages/6_norms.py", "Regularisation and alternatives", ":material/tune:",
         "Does BN make dropout unnecessary? The variance shift when both are used, and BN beside "
         "LayerNorm, GroupNorm, RMSNorm and Batch Renormalization across batch sizes."),
    Page("pages/7_teacher.py", "Teacher", ":material/school:",
         "For teachers: ready-made exercises (predict, train, see what the run showed) and "
         "links that open the lab with chosen settings, some controls locked or hidden."),
]


# A page that is one instrument (the lab) starts nearer the top: Streamlit's default top padding
# is 6rem. Only looks: if a release renames the test id, the page is as before, a little lower.
COMPACT_CSS = ("<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem;"
               "padding-bottom:2rem}</style>")
# Every page: pills wrap onto a second line where a row of them is wider than its column
# (Streamlit scrolls them sideways, so a phone showed half of "256" and no sign of the rest). On
# a phone (below Streamlit's 640 px column breakpoint) plotly's mode bar would sit on a chart's
# title and legend, and a table's toolbar (which a touch screen shows all the time) on the line
# above the table: the bar is hidden (the chart's own full-screen button stays) and a table gets
# room above it for its toolbar, and a page's title is smaller (one line, not two or three,
# above the controls). A disabled widget's label is drawn as a caption (the text colour
# at 60 %, AA: tests/test_theme_contrast.py) rather than Streamlit's 40 % (2.6:1), still fainter
# than a live one. Only looks: if a release renames these, the page is as before.
PAGE_CSS = ("<style>[data-testid='stButtonGroup'] > div{flex-wrap:wrap;row-gap:0.5rem}"
            "label[data-testid='stWidgetLabel'][disabled] p{color:%s99}"
            "@media (max-width: 640px){"
            "[data-testid='stMainBlockContainer'] [data-testid='stHeading'] h1{font-size:2rem}"
            "[data-testid='stPlotlyChart'] .modebar-container{display:none}"
            "[data-testid='stDataFrame']{margin-top:2.25rem}}</style>")


def page_setup(title: str, icon: str | None = None, layout: str = "wide",
               compact: bool = False):
    """First call of every page: page config, the sidebar navigation, and which page ran last
    (for `arrived`). (`icon` is not used: every page shows the app's own favicon, which works
    offline.) Returns a sidebar container above the navigation, for a page's controls; compact:
    less space above the title (a page whose first screen is full)."""
    st.set_page_config(page_title=f"{title} · BatchNorm Lab", page_icon=FAVICON, layout=layout)
    lost, released = session_was_lost(), watch_session()
    st.session_state["_ui_arrived"] = st.session_state.get("_ui_page") != title
    st.session_state["_ui_page"] = title
    st.html(PAGE_CSS % (st.get_option("theme.textColor") or "#2f2d2b")
            + (COMPACT_CSS if compact else ""))
    panel = st.sidebar.container()
    sidebar_nav()
    if lost:
        st.warning("**The connection to the server was lost**, and this page has started afresh "
                   "(the server restarted, or you were moved to another one). A run you had "
                   "started is gone: please start it again.", icon=":material/sync_problem:")
    elif released:
        st.info("**This tab was away for a while**, so the server let go of its run to make room "
                "for other learners. Your settings are kept, and a run starts again from step 0: "
                "the same settings give the same run.", icon=":material/history:")
    return panel


def session_was_lost() -> bool:
    """Whether this is a fresh session for a browser that had one elsewhere: on reconnecting,
    Streamlit's frontend names its old session in the websocket's Sec-Websocket-Protocol header
    (its third entry; Streamlit 1.67). A server that does not know it (restarted, or a replica
    behind a proxy that moved the learner) starts a fresh session with empty state."""
    if "_ui_page" in st.session_state:
        return False
    return streamlit_compat.old_session_named()


def arrived() -> bool:
    """True on the first run of a visit to this page (the session's first page, or coming from
    another page); False on its reruns (a click, a changed control)."""
    return st.session_state.get("_ui_arrived", True)


def sidebar_nav() -> None:
    """The lessons in order, with proper titles (the default file-name nav is hidden)."""
    with st.sidebar:
        st.markdown("### BatchNorm Lab")
        for page in PAGES:
            if (ROOT / page.path).exists():
                st.page_link(page.path, label=page.label, icon=page.icon)
        st.divider()


# ----------------------------------------------------------------------------- knobs → widgets

def with_value(options, value) -> list:
    """The options, plus `value` in order if it is not one of them (a value from a link)."""
    options = list(options)
    if value in options:
        return options
    rest = sorted([o for o in options if o is not None] + [value])
    return ([None] if None in options else []) + rest


def widget(control: Control, key: str, where=st, options=None, fallback=None, **extra):
    """The widget of a declared knob, keyed `key` (its value lives in st.session_state[key]):
    a select slider over its ladder, a radio or selectbox over its choices (or `options`), a
    slider or a number box over its range, a toggle for a bool, a multiselect for a tuple. The
    labels are fixed per value (`Control.show`). A kept value that is no longer valid (not one
    of `options` after another control changed them; or, with quick clicks, something the
    browser sent back that is not a value at all) is replaced by `fallback` (default: the
    knob's default) before the widget is made; the second kind is also noted for
    `reset_notices`. A knob the page's link locks is shown disabled; one it hides is not made
    (returns None; its value stays the link's): see `read_lists`."""
    shown = _as_linked(control, extra)
    if shown is None:
        return None                                  # hidden by the teacher's link
    common = dict(label=control.label, key=key, help=shown or None, **extra)
    _keep_valid(control, key, options, control.default if fallback is None else fallback)
    value = st.session_state.get(key, control.default)
    if control.ladder is not None:
        return where.select_slider(options=with_value(control.ladder, value),
                                   format_func=control.show, **common)
    if control.kind is bool:
        return where.toggle(**common)
    if control.kind is tuple:
        if control.widget == "pills":
            return where.pills(options=list(options or control.choices), selection_mode="multi",
                               format_func=control.show, **common)
        return where.multiselect(options=list(options or control.choices),
                                 format_func=control.show, **common)
    if control.choices is not None or control.widget == "select":
        choices = list(options or control.choices)
        if control.widget == "radio":
            return where.radio(options=choices, format_func=control.show, horizontal=True,
                               **common)
        return where.selectbox(options=choices, format_func=control.show, **common)
    if control.widget == "number":
        return where.number_input(min_value=control.lo, max_value=control.hi,
                                  step=1 if control.kind is int else None, **common)
    return where.slider(min_value=control.lo, max_value=control.hi, **common)


def range_widget(lo: Control, hi: Control, key: str, value: tuple, where=st, **extra):
    """One range slider over `lo`'s ladder for two knobs (a grid's two ends), starting at the
    pair `value`; what it shows lives in st.session_state[key] (do not set that key: a select
    slider is a range slider only when made with a pair as `value=`). Labelled by `lo`."""
    text = _as_linked(lo, extra)
    if text is None or _as_linked(hi, extra) is None:
        return None
    shown = st.session_state.get(key, value)
    options = with_value(with_value(lo.ladder, shown[0]), shown[1])
    return where.select_slider(lo.label, options=options, key=key, value=tuple(value),
                               format_func=lo.show, help=text or None, **extra)


def _as_value(control: Control, value):
    """A widget's value as the knob holds it: a multi-choice's list as a tuple in the order of
    its choices."""
    if control.kind is tuple and isinstance(value, list):
        return tuple(c for c in control.choices if c in value)
    return value


def _keep_valid(control: Control, key: str, options, fallback) -> None:
    if key not in st.session_state:
        return
    value = _as_value(control, st.session_state[key])
    if value == ():                          # a multi-choice left empty: the learner's choice,
        return                               # said when the config is made
    try:
        control.check(value)
    except ValueError as exc:
        st.session_state[key] = fallback
        st.session_state.setdefault("_ui_resets", []).append(f"{control.label}: {exc}")
        return
    if options is not None and control.ladder is None and control.kind is not tuple \
            and value not in options:
        st.session_state[key] = fallback


def reset_notices() -> None:
    """Say which controls `widget` had to reset on this run, once."""
    for text in st.session_state.pop("_ui_resets", []):
        st.warning(f"A control sent back an unexpected value and was reset ({text}).",
                   icon=":material/restart_alt:")


def preset_widgets(config: Config, prefix: str, overwrite: bool = True) -> None:
    """Show `config` on the widgets keyed prefix + field (before they are created: a widget with
    key= ignores a changing value=). overwrite=False only fills keys without a value yet."""
    for c in config.controls():
        if overwrite or prefix + c.name not in st.session_state:
            value = getattr(config, c.name)
            st.session_state[prefix + c.name] = list(value) if c.kind is tuple else value


def set_state(preset: tuple | None = None, **values) -> None:
    """A widget callback: on_click=ui.set_state, kwargs={key: value, …} sets those session-state
    keys; preset=(config, prefix) also shows that config on its widgets (`preset_widgets`).
    Pages use this instead of functions of their own, because Streamlit keeps a widget's callback
    as long as the session (closed, too: `classroom`), and a function defined on a page keeps the
    page's globals, and so its run and figures, alive with it."""
    if preset is not None:
        preset_widgets(*preset)
    for key, value in values.items():
        replace(st.session_state, key, value)       # a run replaced is released


def config_from_widgets(config_cls, prefix: str, base: Config, names=None):
    """The config the widgets keyed prefix + field show (only `names`, if given), the rest
    from `base`. A value that is not valid (a multi-choice left empty) is replaced by base's and
    said in the returned problems. Returns (config, problems)."""
    values, problems = {}, []
    for c in config_cls.controls():
        if names is not None and c.name not in names:
            continue
        value = _as_value(c, st.session_state.get(prefix + c.name, getattr(base, c.name)))
        try:
            values[c.name] = c.check(value)
        except ValueError as exc:
            problems.append(in_words(exc, config_cls))
    try:
        return base.replace(**values), problems
    except ValueError as exc:                           # a rule between fields
        return base, problems + [in_words(exc, config_cls)]


def config_from_url(config_cls, prefix: str, kept: str, others=(), base=None, narrow=None):
    """On a visit's first run: the page's config from the link's query, else the one kept in
    st.session_state[kept] from an earlier visit, else the defaults; shown on the widgets. On
    later runs the widgets hold the state and the URL is only written, never read (reading it
    then races with the browser, which may still show an older query). `others`: the page's
    other configs, whose parameters this one leaves to them; base: the config the link's
    values apply to (default: the defaults); narrow: what the page offers of some knobs, tighter
    than they allow (`Config.from_query`; its widgets should get the same `options`). Returns
    the problems with the link's parameters (shown once), the teacher's lists (`read_lists`)
    included."""
    if not arrived() and kept in st.session_state:
        return []
    query = st.query_params.to_dict()
    if query:
        known = {c.url_name for cls in (config_cls, *others) for c in cls.controls()}
        query, problems = read_lists(query, known - {None})
        config, more = config_cls.from_query(
            {k: v for k, v in query.items() if k not in known - _names(config_cls)
             and k not in PAGE_PARAMS}, base=base, narrow=narrow)
        problems += more
    else:
        config, problems = st.session_state.get(kept) or config_cls(), []
    st.session_state[kept] = config
    preset_widgets(config, prefix)
    return problems


def _names(config_cls) -> set[str]:
    return {c.url_name for c in config_cls.controls() if c.url_name}


def write_url(config: Config | dict, extra: dict | None = None) -> dict:
    """Put the config's query (the knobs that differ from the defaults; or a query of the
    page's own making), then `extra` (the page's other parameters) and the teacher's lists, in
    the address bar. Returns the query without the lists."""
    query = {**(config if isinstance(config, dict) else config.to_query()), **(extra or {})}
    full = {**query, **{k: ",".join(v) for k, v in page_lists().items() if v}}
    if st.query_params.to_dict() != full:
        st.query_params.from_dict(full)
    return query


def cut(text: str, most: int = 40) -> str:
    """A value from a link as a notice quotes it: at most `most` characters, then "…"."""
    return re.sub(r"'([^']{%d})[^']+'" % most, lambda m: f"'{m[1]}…'", text)


def link_notices(problems: list[str]) -> None:
    for problem in problems:
        name, _, why = problem.partition(": ")
        st.warning(f"Link parameter **{cut(name)}**: {cut(why)}.", icon=":material/link_off:")


# ----------------------------------------------------------------------------- a teacher's link
# lock= and hide= name a page's controls by their URL names (/lab?lr=2&lock=lr,placement): a
# locked control is shown but disabled, a hidden one is not shown. They belong to the page: kept
# for the session (Train, Reset, other pages and back), written back to its URL by `write_url`.

LISTS = ("lock", "hide")
PAGE_PARAMS = (*LISTS, "setup", "exercise")   # read by ui or the page itself, not by a config
LOCKED_HELP = "Set for this exercise by the link you opened (your teacher's choice)."


def page_lists() -> dict[str, tuple[str, ...]]:
    """This page's lists: {"lock": names, "hide": names}."""
    every = st.session_state.setdefault("_ui_lists", {})
    return every.setdefault(st.session_state.get("_ui_page"), {k: () for k in LISTS})


def read_lists(query: dict, known: set[str]) -> tuple[dict, list[str]]:
    """Take lock= and hide= out of a link's query and keep them for this page (a link without
    them clears them); `known`: the page's URL names. Returns the rest of the query and the
    problems (an unknown name is named, with the page's names)."""
    query, problems, lists = dict(query), [], page_lists()
    for which in LISTS:
        names = [n.strip().lower() for n in str(query.pop(which, "")).split(",") if n.strip()]
        bad = [n for n in names if n not in known]
        if bad:
            problems.append(f"{which}: unknown control{'s' if len(bad) > 1 else ''} "
                            f"{', '.join(repr(n) for n in bad)} (this page's are "
                            f"{', '.join(sorted(known))}), ignored")
        lists[which] = tuple(dict.fromkeys(n for n in names if n in known))
    return query, problems


def fixed_by_link(shown: Config, other: Config) -> list[str]:
    """The labels of the controls this page's link locks or hides whose value `other` would
    change from `shown`'s (a preset that must not be applied over a teacher's choice)."""
    lists = page_lists()
    fixed = {*lists["lock"], *lists["hide"]}
    return [c.label for c in shown.controls()
            if c.url_name in fixed and getattr(shown, c.name) != getattr(other, c.name)]


def _as_linked(control: Control, extra: dict) -> str | None:
    """A widget's help under the page's lists: None if hidden; if locked, the widget is made
    disabled (in `extra`) and its help says why."""
    lists = page_lists()
    if control.url_name in lists["hide"]:
        return None
    if control.url_name in lists["lock"]:
        extra["disabled"] = True
        return f"{LOCKED_HELP} {control.help}".strip()
    return control.help


# ----------------------------------------------------------------------------- traces and errors
# (The experiment pages' flow, from the form to the CSV: experiment_page.py.)

def trace(line: str) -> None:
    """Append a line to the file named by BN_LAB_TRACE, if set (benchmarks/bench_lab.py reads
    when draws and Pause happened from it)."""
    path = os.environ.get("BN_LAB_TRACE")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def made_on_click(make, obj, *args, keep: bool = False):
    """A download button's data, made only when clicked: make(obj, *args). It holds obj by a
    weak reference: Streamlit (1.67) keeps a deferred download's callable after its session has
    ended, and a lambda on the page would keep the page's globals, and so a whole run, alive.
    keep=True holds obj itself, for a small value that nothing else keeps (a config made by
    this rerun): held weakly, it is gone by the time the button is clicked."""
    if keep:
        return lambda: make(obj, *args)
    ref = weakref.ref(obj)

    def data():
        alive = ref()
        return make(alive, *args) if alive is not None else ""
    return data


@contextlib.contextmanager
def friendly_errors(what: str = "this step"):
    """Turn an unexpected exception into a kind message instead of a traceback.

    ValueErrors from bn_core name the field and what was expected: shown in the controls' words
    (bn_core.controls.in_words: a rule's labels, not its field names).
    Streamlit's own control-flow exceptions (rerun, stop) derive from BaseException and pass.
    """
    try:
        yield
    except ValueError as exc:
        st.error(f"Can't run {what}: {in_words(exc)}. Change the setting and try again.")
    except Exception as exc:  # noqa: BLE001 - the last line of defence before the learner
        st.error(
            f"Something went wrong in {what} ({type(exc).__name__}). Try other settings or press "
            "Reset; if it happens again, please report the settings in the URL."
        )


# ----------------------------------------------------------------------------- tables and code
# Numbers in tables as the lessons print them, and the core's own source in an expander.


def fmt(value, digits: int = 4) -> str:
    """A number as the tables show it: NaN and ∞ spelled out, small and large in e-notation;
    a string as it is."""
    if isinstance(value, str):
        return value
    if value is None or value != value:
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def table(frame, digits: int = 4, height="auto", percent=(), placeholder: str = "—") -> None:
    """A pandas frame as a table: numbers to `digits` significant digits (`fmt`), the columns
    in `percent` as percentages ('—' where NaN)."""
    def share(v):
        return "—" if isinstance(v, float) and math.isnan(v) else f"{v:.1%}"

    styler = frame.style.format({c: share if c in percent else (lambda v: fmt(v, digits))
                                 for c in frame.columns})
    st.dataframe(styler, height=height, placeholder=placeholder)


def table_height(rows: int) -> int:
    """Height (px) of a table of `rows` rows and a header, at most 420 (then it scrolls)."""
    return min(420, 35 * (rows + 1) + 3)


_MARKDOWN = re.compile(r"([\\`*_\[\]<>$~|])")


def md_escape(text: str) -> str:
    """text shown as it is in st.markdown: the characters Markdown (and Streamlit's $…$ LaTeX)
    would read as formatting escaped with a backslash."""
    return _MARKDOWN.sub(r"\\\1", text)


def equations(parts: list[str], per_row: int = 2) -> None:
    """Equations side by side, `per_row` to a row, each its own st.latex: on a phone
    (Streamlit stacks columns below 640 px) one under the other, in reading order, where one
    line of all of them would run off the screen with no sign that it scrolls."""
    for i in range(0, len(parts), per_row):
        for where, tex in zip(st.columns(per_row), parts[i:i + per_row]):
            where.latex(tex)


def show_source(objects, title: str) -> None:
    """The source of a core function (or of each of a list of them) in an expander."""
    with st.expander(title, icon=":material/code:"):
        for obj in objects if isinstance(objects, (list, tuple)) else [objects]:
            st.code(inspect.getsource(obj), language="python")
