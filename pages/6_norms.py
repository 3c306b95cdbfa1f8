"""Lesson: BN as a regulariser, and its alternatives. Does BN make dropout unnecessary? What goes
wrong when dropout comes before BN? And how do LayerNorm, GroupNorm, RMSNorm and Batch Renorm,
which do not depend on the batch, compare with BN as the batch shrinks? The page holds prose, the
controls (the knobs of bn_core.alternatives.config), one call into bn_core.alternatives, and the
figures it builds."""

import streamlit as st

import ui
from bn_core.alternatives import figures, training, verdicts
from bn_core.alternatives.config import EXPERIMENTS, NormsConfig
from experiment_page import Download, Lesson, knobs, plural, show

ui.page_setup("Regularisation and alternatives")

P = "norms_"
INTRO = (
    "BN normalises each unit with the mean and variance of the current mini-batch. That makes "
    "every example's output depend on the others in its batch — a noise that may regularise "
    "like dropout, and a weakness when batches are small. Here real networks train from "
    "several seeds at once (stacked, each with its own weights, mini-batches and dropout "
    "masks), and the verdicts say what the data support.")
CLAIMS = {
    "regular": (
        "**Claim** (the notes): BN “has a regularizing effect … making it unnecessary to use "
        "dropout”. Here four networks train on a small part of the digits, so that they can "
        "overfit: with **neither**, with **dropout** (p on every hidden layer), with **BN** "
        "(before each activation) and with **both**, at several batch sizes — BN normalises "
        "with each batch's own mean and variance, a noise that shrinks as the batch grows. "
        "Every batch size sees the training set equally often (the learning rate scaled with "
        "the batch). Do BN's and dropout's test accuracies differ, and does adding dropout to "
        "BN still help? (The 2015 paper removed dropout together with five other changes and "
        "never ran a dropout-only ablation: it did not test this claim on its own.)"),
    "shift": (
        "**Dropout before BN** (Li et al., CVPR 2019): in training, inverted dropout zeroes "
        "units and scales the rest by 1/(1 − p), which adds variance; BN's running variance "
        "collects it. In eval mode dropout is off, the input has less variance than BN stored, "
        "and BN shrinks it: a *variance shift*. Here every hidden layer has dropout, so each BN "
        "after the first meets one. The two fixes: put dropout only after the last BN, or "
        "recompute BN's statistics with dropout off after training."),
    "batch": (
        "**BN depends on the batch**; its successors don't. Wu & He (2018, Group Normalization, "
        "Figure 1) trained ResNet-50 on ImageNet with 32 down to 2 images per GPU: BN's error "
        "rose from 23.6% to 34.7%, GroupNorm's stayed at 24.1%. Here each normaliser takes BN's "
        "place before the activation in the same small network, trained on the digits with "
        "batches of 2 to 32 (the same number of examples for each batch size, the learning rate "
        "scaled with the batch, as Wu & He). Batch Renorm (Ioffe 2017) keeps BN but corrects "
        "its batch statistics towards the running ones (r, d), relaxed after a BN warm-up."),
}
TOP = ("batch_sizes", "seeds")
MIDDLE = ("dropout", "train_size", "epochs", "examples", "steps", "batch_size", "groups")
MORE = ("lr", "scale_lr", "depth", "width", "activation", "seed")


def form(config: NormsConfig, prefix: str, shown) -> None:
    knobs(LESSON, prefix, TOP, shown,
          st.columns([3, 2]) if config.experiment != "shift" else st.columns([1, 1]))
    knobs(LESSON, prefix, ("norms",), shown, [st])
    knobs(LESSON, prefix, MIDDLE, shown, st.columns(sum(n in shown for n in MIDDLE)))
    with st.expander("Network and training", icon=":material/tune:"):
        knobs(LESSON, prefix, MORE, shown, st.columns(3) + st.columns(3))


def axes(config: NormsConfig) -> None:
    """Below the batch experiment's claim: which axis each normaliser averages over."""
    if config.experiment != "batch":
        return
    st.plotly_chart(figures.axis_figure(), key=P + "axes", config={"displaylogo": False})
    st.caption(
        "Which numbers each normaliser averages over. BN (a column) needs the other examples "
        "of the batch, so it keeps running averages for eval mode; LayerNorm, GroupNorm and "
        "RMSNorm (rows) use one example alone, so training and eval mode compute the same. "
        "RMSNorm divides by √(mean of x² + ε) without subtracting the mean, and has no β.")
    st.page_link("pages/2_formula.py", label="BN's formula, step by step",
                 icon=":material/functions:")


def stacks(config: NormsConfig) -> tuple[int, str]:
    jobs = training.plan(config)
    return sum(len(j.members) for j in jobs), plural(len(jobs), "stack")


def waiting(config: NormsConfig) -> str:
    networks, stacked = stacks(config)
    return (f"Press **Run** to train {networks} networks ({stacked} trained in lockstep, about "
            "20 s with the defaults). Same settings give the same numbers, and the page's link "
            "restores these settings.")


def table(result) -> tuple:
    frame = result.summary_table()
    return ("The numbers, per network and batch size", frame, {
        c: st.column_config.NumberColumn(format="percent") for c in frame.columns
        if "accuracy" in c or c == "gap"})


def downloads(result) -> list[Download]:
    return [Download("Results (CSV)", result.summary_frame().to_csv(index=False),
                     f"bn-{result.config.experiment}.csv",
                     "One row per network: its kind, seed, batch size, accuracies.")]


def footnote(result) -> str:
    networks, stacked = stacks(result.config)
    return (f"{networks} networks in {stacked}, trained in {result.seconds:.1f} s on "
            f"{result.n_train:,} training examples; test accuracy on the {result.n_test} "
            "held-out digits, in eval mode unless said otherwise.")


def figures_with_caption(result) -> list:
    """The figures, the caption under the last one."""
    figs = figures.figures(result)
    return figs[:-1] + [(figs[-1], figures.caption(result))]


LESSON = Lesson(
    "BN as a regulariser, and its alternatives", INTRO, P, NormsConfig, EXPERIMENTS, "regular",
    verdicts, training.check, training.run_experiment, form=form, claim=CLAIMS,
    below_claim=axes, waiting=waiting, figures=figures_with_caption, table=table,
    downloads=downloads, footnote=footnote, widths=(1, 4))
show(LESSON)
