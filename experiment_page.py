"""The flow every experiment page shares (experiments, why, norms): pick an experiment → its
form → validate → train in a server slot → verdicts → figures → table → CSV. A page declares its
prose and its choices in a `Lesson` and calls `show(lesson)`; this module does the rest.

    show(lesson)                 the whole page below the navigation; returns the result
    knobs(lesson, prefix, names, shown, cells)   a row of the form: each shown knob in a cell

Each page runs experiments of its own config class (bn_core.experiments/why/alternatives
.config): one saved config per experiment, and the finished results shared by all visitors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

import ui
from bn_core.controls import Config, in_words
from bn_core.style import title_out
from classroom import training_slot


@dataclass
class Download:
    label: str          # the button's
    data: str           # the CSV text
    file_name: str
    help: str


@dataclass
class Lesson:
    """A page's choices. Hooks get the config (and where they make widgets, the widgets' key
    prefix, `prefix` + experiment + "_")."""

    title: str
    intro: str                                    # markdown under the title
    prefix: str                                   # its widget keys: "experiments_", "why_", …
    config_cls: type                              # its Config: one field `experiment`
    experiments: Sequence[str]
    first: str                                    # shown on a first visit without a link
    verdicts: object                              # its module: verdict, few_seeds, rule
    check: Callable[[Config], None]               # ValueError: too big, or a bad combination
    train: Callable                               # train(config, progress=…) → result
    form: Callable[[Config, str, Sequence[str]], None]   # the form's widgets (inside st.form)
    claim: Mapping[str, str] | Callable[[Config], str]   # the experiment's claim (markdown)
    waiting: Callable[[Config], str]              # before the first Run: "Press **Run** to …"
    figures: Callable[[object], list]             # figures, or (figure, caption) pairs
    downloads: Callable[[object], list[Download]]
    footnote: Callable[[object], str]             # the caption beside the downloads
    shown: Callable[[Config], Sequence[str]] | None = None   # the knobs the form shows
    #                                               (default: the config class's RELEVANT)
    widths: Sequence[int] = (1, 1, 3)             # the downloads' and the footnote's columns
    table: Callable[[object], tuple] | None = None   # (expander title, frame, column_config)
    choose: Callable[[Config, str], Config] | None = None   # above the claim: a knob that
    #                                                 decides the form's (why: the network)
    below_claim: Callable[[Config], None] | None = None    # more about the claim (a figure)
    read: Callable[[Config, str, list], Config] | None = None   # more than the knobs' widgets
    #                                                 read on Run (a range slider; a button)
    pressed: bool = False                         # another button of the page asked for a Run
    after_form: Callable[[Config], None] | None = None   # below the form (why: W × 10)
    stop_on_bad: bool = True                      # settings that can't run: stop, or carry on
    #                                               with the last good ones (why: its button)
    clear: Sequence[str] = ()                     # widget-key suffixes a link must reset


def show(lesson: Lesson):
    """The page below the navigation: its title and intro, the link's notices, the
    experiment's choice and claim, the form, the Run (validated; trained in one of the server's
    slots, or found finished), the URL, then the results. Returns the result shown, or None."""
    P, cls = lesson.prefix, lesson.config_cls
    st.title(lesson.title)
    st.markdown(lesson.intro)
    configs, problems = experiment_configs(P, cls, lesson.experiments, lesson.first,
                                           clear=lesson.clear)
    ui.link_notices(problems)
    ui.reset_notices()
    experiment = ui.widget(cls.control("experiment"), P + "choice")
    config = configs[experiment]
    prefix = f"{P}{experiment}_"
    ui.preset_widgets(config, prefix, overwrite=False)  # back from another experiment or page
    if lesson.choose is not None:
        config = configs[experiment] = lesson.choose(config, prefix)
    claim = lesson.claim
    st.markdown(claim[experiment] if isinstance(claim, Mapping) else claim(config))
    if lesson.below_claim is not None:
        lesson.below_claim(config)
    shown = cls.RELEVANT[experiment] if lesson.shown is None else lesson.shown(config)

    with st.form(P + experiment + "_form", border=True):
        lesson.form(config, prefix, shown)
        submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")
    run = submitted or lesson.pressed
    if run:
        new, bad = ui.config_from_widgets(cls, prefix, config, names=shown)
        if lesson.read is not None:
            new = lesson.read(new, prefix, bad)
        if not bad:
            try:
                lesson.check(new)
            except ValueError as exc:
                bad.append(in_words(exc, cls))
        if bad:
            st.error("Can't run these settings: " + "; ".join(bad) + ".",
                     icon=":material/error:")
            if lesson.stop_on_bad:
                st.stop()
            run = False
        else:
            config = configs[experiment] = new
    if lesson.after_form is not None:
        lesson.after_form(config)
    ui.write_url(config)                                # the URL reproduces what is shown

    result = finished(config)
    if run and result is None:
        result = train_with_progress(config, lesson.train)
    if result is not None:
        show_result(lesson, result)
    elif not run:
        st.info(lesson.waiting(config), icon=":material/play_circle:")
    return result


def show_result(lesson: Lesson, result) -> None:
    """What the data say, the figures (with their captions), the table, the CSV downloads."""
    P, verdicts = lesson.prefix, lesson.verdicts
    with ui.friendly_errors("the verdict"):
        said = verdicts.verdict(result)
        show_verdicts(said, verdicts.few_seeds(result, said), verdicts.rule(result, said))
    with ui.friendly_errors("drawing the charts"):
        for i, item in enumerate(lesson.figures(result)):
            fig, caption = item if isinstance(item, tuple) else (item, None)
            title, fig = title_out(fig)       # above the chart, where it wraps on a phone
            if title:
                st.markdown(f"**{ui.md_escape(title)}**")
            st.plotly_chart(fig, key=f"{P}fig_{i}", config={"displaylogo": False})
            if caption:
                st.caption(caption)
    if lesson.table is not None:
        title, frame, column_config = lesson.table(result)
        with st.expander(title, icon=":material/table:"):
            st.dataframe(frame, hide_index=True, column_config=column_config)
    cols = st.columns(list(lesson.widths))
    downloads = lesson.downloads(result)
    for where, d in zip(cols, downloads):
        where.download_button(d.label, d.data, file_name=d.file_name, mime="text/csv",
                              icon=":material/download:", help=d.help)
    cols[len(downloads)].caption(lesson.footnote(result))


def knobs(lesson: Lesson, prefix: str, names: Sequence[str], shown: Sequence[str], cells) -> None:
    """The widgets of `names` that the form shows, in order, each in the next of `cells`."""
    for name, where in zip((n for n in names if n in shown), cells):
        ui.widget(lesson.config_cls.control(name), prefix + name, where)


def plural(n: int, word: str) -> str:
    """'1 stack', '3 stacks'."""
    return f"{n} {word}{'s' if n != 1 else ''}"


# ----------------------------------------------------------------------------- state and results

def experiment_configs(prefix: str, config_cls, experiments, first: str, clear=()):
    """The page's saved configs, one per experiment, as a dict in session state (plain keys: they
    survive visits to other pages, unlike widget state), and the link's problems. The link's
    experiment and settings are read on a visit's first run only; `clear` names widget-key
    suffixes to drop so the link's values reach those widgets (range sliders)."""
    ss, problems = st.session_state, []
    if ui.arrived() or prefix + "configs" not in ss:
        configs = ss.get(prefix + "configs") or {e: config_cls.default(e) for e in experiments}
        if st.query_params:
            query, problems = ui.read_lists(st.query_params.to_dict(),
                                            {c.url_name for c in config_cls.controls()
                                             if c.url_name})
            url_config, more = config_cls.from_query(query)
            problems += more
            configs[url_config.experiment] = url_config
            for e in experiments:
                for suffix in clear:
                    ss.pop(f"{prefix}{e}_{suffix}", None)
            ui.preset_widgets(url_config, f"{prefix}{url_config.experiment}_")
            ss[prefix + "choice"] = url_config.experiment
        ss[prefix + "configs"] = configs
        ss.setdefault(prefix + "choice", first)
    return ss[prefix + "configs"], problems


@st.cache_data(max_entries=64, show_spinner=False)
def _stored(key: str, _result=None):
    """The finished experiments, one per config (key: its class and JSON), shared by all
    visitors. A lookup without `_result` that misses raises LookupError (not cached); a call
    with it stores it. So the training itself runs outside the cache, with a live progress bar."""
    if _result is None:
        raise LookupError(key)
    return _result


def _result_key(config: Config) -> str:
    return type(config).__name__ + json.dumps(config.to_dict(), sort_keys=True)


def finished(config: Config):
    """The stored result of this config (trained by anyone on this server), or None."""
    try:
        return _stored(_result_key(config))
    except LookupError:
        return None


def train_with_progress(config: Config, train):
    """`train(config, progress=…)` in one of the server's training slots, with a progress bar;
    the result is stored for `finished` and returned. None (and a kind message) where it can't
    run."""
    bar, shown = st.progress(0.0, text="Starting…"), {"at": -1.0}

    def progress(fraction: float, what: str) -> None:
        if fraction - shown["at"] >= 0.01 or fraction >= 1.0:      # ≤ 100 updates
            shown["at"] = fraction
            bar.progress(min(1.0, fraction), text=f"{what.capitalize()}… {fraction:.0%}")

    result = None
    with ui.friendly_errors("this experiment"), training_slot(st.empty()):
        result = train(config, progress=progress)
        _stored(_result_key(config), _result=result)
    bar.empty()
    return result


def show_verdicts(said, few: str | None, rule: str) -> None:
    """'What the data say': each verdict in a box (headline, then its details as a list), the
    few-seeds warning where there is one, and the statistical rule they follow."""
    st.header("What the data say")
    for v in said:
        with st.container(border=True):
            st.markdown(v.headline)
            if v.details:
                st.markdown("\n".join(f"- {d}" for d in v.details))
    if few:
        st.info(few, icon=":material/casino:")
    st.caption(rule)
