"""Lesson: Why does BN work? Santurkar et al. (2018) tested live: noisy BN, internal covariate
shift as G against G′, the loss landscape along the gradient, and scale invariance. The page holds
the controls (the knobs of bn_core.why.config), one call into bn_core.why, and what it returns."""

import streamlit as st

import ui

ui.page_setup("Why does BN work?")

from bn_core.why import figures, prose, training, verdicts  # noqa: E402
from bn_core.why.config import EXPERIMENTS, SCALE_FACTOR, WhyConfig  # noqa: E402

P, ss = "why_", st.session_state
knob = WhyConfig.control
# where each knob goes on the form (a knob shows only where its experiment uses it)
TOP = ("noise", "decays", "seeds", "steps", "lr", "checks", "points", "dln_depth", "dln_lr",
       "dln_steps")
MORE = ("dataset", "activation", "depth", "width", "batch_size", "seed")

configs, problems = ui.experiment_configs(P, WhyConfig, EXPERIMENTS, "noise")

st.title("Why does BN work?")
st.markdown(prose.INTRO)
ui.link_notices(problems)
ui.reset_notices()
experiment = ui.widget(knob("experiment"), P + "choice")
config = configs[experiment]
prefix = f"{P}{experiment}_"
ui.preset_widgets(config, prefix, overwrite=False)    # back from another experiment or page
if experiment == "ics":                               # the network decides the form's knobs
    config = config.replace(network=ui.widget(knob("network"), prefix + "network"))
    configs[experiment] = config
st.markdown(prose.claim(config))
if experiment == "noise":
    with st.expander("The noise model, checked against the paper", icon=":material/tune:"):
        st.markdown(prose.NOISE_MODEL)
shown = [n for n in config.relevant if n not in ("network", "multiply")]

with st.form(P + experiment + "_form", border=True):
    top = [n for n in TOP if n in shown]
    for name, where in zip(top, st.columns(len(top))):
        ui.widget(knob(name), prefix + name, where)
    more = [n for n in MORE if n in shown]
    if more:
        with st.expander("Network and training", icon=":material/tune:"):
            for name, where in zip(more, st.columns(3) + st.columns(3)):
                ui.widget(knob(name), prefix + name, where)
    submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

times = ss.pop(P + "times", False)                   # the W × 10 button, pressed (on_click)
if submitted or times:
    new, bad = ui.config_from_widgets(WhyConfig, prefix, config, names=shown)
    if times:
        new = new.replace(multiply=not config.multiply)
    try:
        training.check(new)
    except ValueError as exc:
        bad.append(str(exc))
    if bad:
        st.error("Can't run these settings: " + "; ".join(bad) + ".", icon=":material/error:")
        submitted = times = False
    else:
        config = configs[experiment] = new
if experiment == "scale":                             # "multiply W by 10", and back
    st.button("Back to W × 1" if config.multiply else f"Multiply W by {SCALE_FACTOR:g}",
              icon=":material/close:" if config.multiply else ":material/open_in_full:",
              on_click=ui.set_state, kwargs={P + "times": True},
              help=f"Train copies of the first weight decay's networks whose hidden weight "
              f"matrices start {SCALE_FACTOR:g} times larger, beside the others (the same seeds "
              f"and mini-batches).")
ui.write_url(config)                                  # the URL reproduces what is shown


def show(result) -> None:
    """The verdicts, the figures with their captions, the CSV downloads."""
    with ui.friendly_errors("the verdict"):
        said = verdicts.verdict(result)
        ui.show_verdicts(said, verdicts.few_seeds(result, said), verdicts.rule(result, said))
    layer = None
    if result.config.experiment == "noise":
        depth = result.config.depth
        if ss.get(P + "layer") not in range(depth):   # a stale value (a shallower network now)
            ss.pop(P + "layer", None)
        layer = st.selectbox("Layer of the percentile panels", list(range(depth)),
                             index=depth - 1, key=P + "layer",
                             format_func=lambda l: f"hidden layer {l + 1}")
    with ui.friendly_errors("drawing the charts"):
        for i, (fig, caption) in enumerate(figures.figures(result, layer)):
            st.plotly_chart(fig, key=f"{P}fig_{i}", config={"displaylogo": False})
            st.caption(caption)
    cols = st.columns([1, 1, 3])
    name = f"bn-why-{result.config.experiment}"
    cols[0].download_button("Curves (CSV)", result.curves_frame().to_csv(index=False),
                            file_name=f"{name}-curves.csv", mime="text/csv",
                            icon=":material/download:",
                            help="One row per network and recorded step: test accuracy, "
                                 "training loss (and ‖W‖ per layer for scale invariance).")
    cols[1].download_button("Measurements (CSV)", result.measures_frame().to_csv(index=False),
                            file_name=f"{name}-measures.csv", mime="text/csv",
                            icon=":material/download:",
                            help="One row per network and measurement: G and G′ per layer, the "
                                 "probes along the gradient, the shift rates, or ‖∂L/∂W‖ at "
                                 "step 0.")
    how = "together in one stack" if result.batched else "one by one"
    cols[2].caption(f"{len(result.members)} networks trained {how} and measured in "
                    f"{result.seconds:.1f} s.")


result = ui.finished(config)
if (submitted or times) and result is None:
    result = ui.train_with_progress(config, training.run_experiment)
if result is not None:
    show(result)
elif not (submitted or times):
    n = len(training.members(config))
    st.info(f"Press **Run** to train {n} networks together (one stack, in lockstep). The same "
            "settings give the same numbers, and the page's link restores them.",
            icon=":material/play_circle:")

st.divider()
st.markdown(prose.DISPUTED)
