"""Lesson: Why does BN work? Santurkar et al. (2018) tested live: noisy BN, internal covariate
shift as G against G′, the loss landscape along the gradient, and scale invariance. The page holds
the controls (the knobs of bn_core.why.config), one call into bn_core.why, and what it returns."""

import streamlit as st

import ui

ui.page_setup("Why does BN work?")

from bn_core.why import figures, prose, training, verdicts  # noqa: E402
from bn_core.why.config import EXPERIMENTS, SCALE_FACTOR, WhyConfig  # noqa: E402
from experiment_page import Download, Lesson, knobs, show  # noqa: E402

P, ss = "why_", st.session_state
# where each knob goes on the form (a knob shows only where its experiment uses it)
TOP = ("noise", "decays", "seeds", "steps", "lr", "checks", "points", "dln_depth", "dln_lr",
       "dln_steps")
MORE = ("dataset", "activation", "depth", "width", "batch_size", "seed")
times = ss.pop(P + "times", False)                   # the W × 10 button, pressed (on_click)


def choose(config: WhyConfig, prefix: str) -> WhyConfig:
    """Internal covariate shift: the network (an MLP or a linear one) decides the form's knobs."""
    if config.experiment != "ics":
        return config
    return config.replace(network=ui.widget(WhyConfig.control("network"), prefix + "network"))


def noise_model(config: WhyConfig) -> None:
    if config.experiment == "noise":
        with st.expander("The noise model, checked against the paper", icon=":material/tune:"):
            st.markdown(prose.NOISE_MODEL)


def form(config: WhyConfig, prefix: str, shown) -> None:
    top = [n for n in TOP if n in shown]
    knobs(LESSON, prefix, top, shown, st.columns(len(top)))
    if any(n in shown for n in MORE):
        with st.expander("Network and training", icon=":material/tune:"):
            knobs(LESSON, prefix, MORE, shown, st.columns(3) + st.columns(3))


def multiply(new: WhyConfig, prefix: str, bad: list) -> WhyConfig:
    """The W × 10 button: its copies on, or off again."""
    return new.replace(multiply=not new.multiply) if times else new


def times_button(config: WhyConfig) -> None:
    """Scale invariance: "multiply W by 10", and back."""
    if config.experiment != "scale":
        return
    st.button("Back to W × 1" if config.multiply else f"Multiply W by {SCALE_FACTOR:g}",
              icon=":material/close:" if config.multiply else ":material/open_in_full:",
              on_click=ui.set_state, kwargs={P + "times": True},
              help=f"Train copies of the first weight decay's networks whose hidden weight "
              f"matrices start {SCALE_FACTOR:g} times larger, beside the others (the same seeds "
              f"and mini-batches).")


def figures_of(result) -> list:
    """The figures with their captions; the noise experiment's percentile panels show the layer
    chosen here."""
    layer = None
    if result.config.experiment == "noise":
        depth = result.config.depth
        if ss.get(P + "layer") not in range(depth):   # a stale value (a shallower network now)
            ss.pop(P + "layer", None)
        layer = st.selectbox("Layer of the percentile panels", list(range(depth)),
                             index=depth - 1, key=P + "layer",
                             format_func=lambda l: f"hidden layer {l + 1}")
    return figures.figures(result, layer)


def downloads(result) -> list[Download]:
    name = f"bn-why-{result.config.experiment}"
    return [Download("Curves (CSV)", result.curves_frame().to_csv(index=False),
                     f"{name}-curves.csv",
                     "One row per network and recorded step: test accuracy, training loss (and "
                     "‖W‖ per layer for scale invariance)."),
            Download("Measurements (CSV)", result.measures_frame().to_csv(index=False),
                     f"{name}-measures.csv",
                     "One row per network and measurement: G and G′ per layer, the probes "
                     "along the gradient, each layer's jitter and drift, or ‖∂L/∂W‖ at step 0.")]


def footnote(result) -> str:
    how = "together in one stack" if result.batched else "one by one"
    return f"{len(result.members)} networks trained {how} and measured in {result.seconds:.1f} s."


def waiting(config: WhyConfig) -> str:
    return (f"Press **Run** to train {len(training.members(config))} networks together (one "
            "stack, in lockstep). The same settings give the same numbers, and the page's link "
            "restores them.")


LESSON = Lesson(
    "Why does BN work?", prose.INTRO, P, WhyConfig, EXPERIMENTS, "noise", verdicts,
    training.check, training.run_experiment, form=form, choose=choose, claim=prose.claim,
    below_claim=noise_model, waiting=waiting, figures=figures_of, downloads=downloads,
    footnote=footnote, read=multiply,
    shown=lambda config: [n for n in config.relevant if n not in ("network", "multiply")],
    pressed=times, after_form=times_button, stop_on_bad=False)
show(LESSON)

st.divider()
st.markdown(prose.DISPUTED)
