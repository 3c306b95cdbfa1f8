"""Lesson: experiments across seeds. Where to put BN, learning rate, initialisation, batch size:
each claim tested on many networks at once (seeds × settings), with a verdict that controls its
error. The page holds prose, the controls (the knobs of bn_core.experiments.config), one call
into bn_core.experiments, and the figures it builds."""

import streamlit as st

import ui
from bn_core.controls import in_words
from bn_core.experiments import figures, training, verdicts
from bn_core.experiments.config import EXPERIMENTS, SweepConfig
from bn_core.experiments.prose import evaluations
from experiment_page import Download, Lesson, knobs, plural, show

ui.page_setup("Experiments")

P = "experiments_"
INTRO = (
    "One training run can't settle a claim about BN: a different random start or a different "
    "order of mini-batches can change the result. So each experiment here trains the same "
    "network **many times, from different seeds**, and shows the spread. All the networks of "
    "an experiment train *together*, stacked along one axis with batched matrix products, each "
    "with its own weights, mini-batches and BN statistics — that is what makes dozens of runs "
    "take seconds.")
CLAIMS = {
    "placement": (
        "**Claim:** the paper puts BN *before* the nonlinearity, on W·u; a widely quoted view puts it "
        "*after*. Which trains better? Here each placement trains from several seeds (different initial "
        "weights and mini-batches) for each activation, and the verdict names a winner only where "
        "the difference is larger than the seed-to-seed spread."),
    "lr": (
        "**Claim:** BN allows much higher learning rates: the paper's BN-x5 and BN-x30 used 5 "
        "and 30 times the baseline's learning rate, and the same increase without BN diverged. "
        "Here the same network trains without and with BN at learning rates spread evenly on a "
        "log scale: which range of rates still trains?"),
    "init": (
        "**Claim:** BN makes training robust to how the weights are initialised: BN(a·W·u) = "
        "BN(W·u), whatever the scale a (the paper's section 3.3). Here the initial weights' "
        "Gaussian std sweeps from tiny to large, as in CS231n's experiment."),
    "batch": (
        "**Claim:** BN's batch statistics need reasonably large batches. Here the same networks "
        "train with batch sizes from 2 to 512, and the BN network's test accuracy is measured "
        "both ways: in eval mode (running averages, what you deploy) and in training mode (each "
        "test batch normalised with its own statistics). By default every batch size sees the "
        "**same number of training examples**: at the same number of steps, batches of 256 would "
        "see 128× more data than batches of 2, and the comparison would mix batch size with the "
        "amount of training (switch the budget to see that too)."),
    "depth": (
        "**Claim** (the course notes): internal covariate shift \"is especially severe for deep "
        "networks, because small changes in shallower hidden layers will be amplified as they "
        "propagate within the network, resulting in significant shift in deeper hidden layers\". "
        "Here the same network trains at several depths, without and with BN, from several "
        "seeds; for every layer we measure how far its inputs moved, as the lab does (a typical "
        "unit's median, in units of its spread, against its own noise floor), early (the first "
        "10 % of the steps) and late. Does the drift grow from layer to layer, and does BN stop "
        "it? Does training suffer with depth?"),
}
# where each knob goes on the form; a knob is shown only where its experiment uses it (RELEVANT)
TOP = ("activations", "batch_sizes", "depths", "placement", "seeds")
MIDDLE = ("budget", "examples", "steps", "target", "points", "activation", "dataset")
MORE = ("depth", "width", "lr", "batch_size", "init_scale", "optimizer", "seed")
RANGES = {"lr": ("lr_min", "lr_max"), "init": ("init_min", "init_max")}
PERCENT = ("mean", "± t·SE (95%)", "median", "min", "max", "training-mode mean (runs that trained)")


def form(config: SweepConfig, prefix: str, shown) -> None:
    experiment = config.experiment
    top = iter(st.columns([2, 1, 1]))
    if experiment in RANGES:
        lo, hi = RANGES[experiment]
        knob = SweepConfig.control
        ui.range_widget(knob(lo), knob(hi), f"{prefix}{experiment}_range",
                        (getattr(config, lo), getattr(config, hi)), next(top))
    knobs(LESSON, prefix, TOP, shown, top)
    knobs(LESSON, prefix, MIDDLE, shown, st.columns(sum(n in shown for n in MIDDLE)))
    with st.expander("Network and training", icon=":material/tune:"):
        knobs(LESSON, prefix, MORE, shown, st.columns(4) + st.columns(4))  # in order, no gaps


def read(new: SweepConfig, prefix: str, bad: list) -> SweepConfig:
    """The range slider's two ends (lr, init)."""
    if new.experiment not in RANGES:
        return new
    lo, hi = RANGES[new.experiment]
    ends = st.session_state[f"{prefix}{new.experiment}_range"]
    try:
        return new.replace(**{lo: ends[0], hi: ends[1]})
    except ValueError as exc:
        bad.append(f"{in_words(exc, SweepConfig)} (choose two different ends)")
        return new


def stacks(config: SweepConfig) -> tuple[int, str]:
    plan = training.plan(config)
    return sum(len(m) for _, _, m in plan), plural(len(plan), "stack")


def waiting(config: SweepConfig) -> str:
    networks, stacked = stacks(config)
    return (f"Press **Run** to train {networks} networks ({stacked} trained in lockstep). Same "
            "settings give the same numbers, and the page's link restores these settings.")


def table(result) -> tuple:
    frame = training.summary_table(result)      # one seed: no sd, no interval
    formats = {c: st.column_config.NumberColumn(format="percent") for c in PERCENT} \
        | {"sd": st.column_config.NumberColumn(format="%.3f")}
    return "The numbers, per setting", frame, {c: f for c, f in formats.items() if c in frame}


def downloads(result) -> list[Download]:
    name = f"bn-{result.config.experiment}-{result.config.dataset}"
    return [Download("Results (CSV)", result.summary_frame().to_csv(index=False), f"{name}.csv",
                     "One row per network: settings, final accuracy, steps to the target, "
                     "divergence, each layer's input std (depth: also each layer's early and "
                     "late drift, noise floor and collapse)."),
            Download("Curves (CSV)", result.curves_frame().to_csv(index=False),
                     f"{name}-curves.csv",
                     "One row per network and recorded step: eval-mode test accuracy.")]


def footnote(result) -> str:
    config = result.config
    networks, stacked = stacks(config)
    budget = (f"{config.examples:,} training examples each"
              if config.experiment == "batch" and config.budget == "examples"
              else f"{plural(config.steps, 'step')} each")
    return (f"{networks} networks, {budget}, trained in {result.seconds:.1f} s ({stacked} in "
            f"lockstep). {evaluations(result)}")


LESSON = Lesson(
    "Experiments across seeds", INTRO, P, SweepConfig, EXPERIMENTS, "placement", verdicts,
    training.check, training.run_sweep, form=form, claim=CLAIMS, waiting=waiting,
    figures=figures.figure, table=table, downloads=downloads, footnote=footnote, read=read,
    clear=("lr_range", "init_range"))
show(LESSON)
