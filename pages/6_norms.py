"""Lesson: BN as a regulariser, and its alternatives. Does BN make dropout unnecessary? What goes
wrong when dropout comes before BN? And how do LayerNorm, GroupNorm, RMSNorm and Batch Renorm,
which do not depend on the batch, compare with BN as the batch shrinks? The page holds prose, the
controls (the knobs of bn_core.alternatives.config), one call into bn_core.alternatives, and the
figures it builds."""

import streamlit as st

import ui
from bn_core.alternatives import figures, training, verdicts
from bn_core.alternatives.config import EXPERIMENTS, NormsConfig

ui.page_setup("Regularisation and alternatives")

P, ss = "norms_", st.session_state
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
knob = NormsConfig.control

configs, problems = ui.experiment_configs(P, NormsConfig, EXPERIMENTS, "regular")

st.title("BN as a regulariser, and its alternatives")
st.markdown(
    "BN normalises each unit with the mean and variance of the current mini-batch. That makes "
    "every example's output depend on the others in its batch — a noise that may regularise "
    "like dropout, and a weakness when batches are small. Here real networks train from "
    "several seeds at once (stacked, each with its own weights, mini-batches and dropout "
    "masks), and the verdicts say what the data support.")
ui.link_notices(problems)
ui.reset_notices()
experiment = ui.widget(knob("experiment"), P + "choice")
config = configs[experiment]
prefix = f"{P}{experiment}_"
ui.preset_widgets(config, prefix, overwrite=False)
st.markdown(CLAIMS[experiment])
if experiment == "batch":
    st.plotly_chart(figures.axis_figure(), key=P + "axes", config={"displaylogo": False})
    st.caption(
        "Which numbers each normaliser averages over. BN (a column) needs the other examples "
        "of the batch, so it keeps running averages for eval mode; LayerNorm, GroupNorm and "
        "RMSNorm (rows) use one example alone, so training and eval mode compute the same. "
        "RMSNorm divides by √(mean of x² + ε) without subtracting the mean, and has no β.")
    st.page_link("pages/2_formula.py", label="BN's formula, step by step",
                 icon=":material/functions:")
shown = NormsConfig.RELEVANT[experiment]

with st.form(P + experiment + "_form", border=True):
    top = iter(st.columns([3, 2]) if experiment != "shift" else st.columns([1, 1]))
    for name in (n for n in TOP if n in shown):
        ui.widget(knob(name), prefix + name, next(top))
    if "norms" in shown:
        ui.widget(knob("norms"), prefix + "norms")
    middle = iter(st.columns(sum(n in shown for n in MIDDLE)))
    for name in (n for n in MIDDLE if n in shown):
        ui.widget(knob(name), prefix + name, next(middle))
    with st.expander("Network and training", icon=":material/tune:"):
        cells = iter(st.columns(3) + st.columns(3))
        for name in (n for n in MORE if n in shown):
            ui.widget(knob(name), prefix + name, next(cells))
    submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

if submitted:
    new, bad = ui.config_from_widgets(NormsConfig, prefix, config, names=shown)
    if not bad:
        try:
            training.check(new)
        except ValueError as exc:
            bad.append(str(exc))
    if bad:
        st.error("Can't run these settings: " + "; ".join(bad) + ".", icon=":material/error:")
        st.stop()
    config = configs[experiment] = new
ui.write_url(config)

result = ui.finished(config)
if submitted and result is None:
    result = ui.train_with_progress(config, training.run_experiment)
jobs = training.plan(config)
networks = sum(len(j.members) for j in jobs)
if result is None:
    if not submitted:
        st.info(f"Press **Run** to train {networks} networks ({len(jobs)} stack"
                f"{'s' if len(jobs) > 1 else ''} trained in lockstep, about 20 s with the "
                "defaults). Same settings give the same numbers, and the page's link restores "
                "these settings.", icon=":material/play_circle:")
    st.stop()

# ------------------------------------------------------------------ results
said = verdicts.verdict(result)
ui.show_verdicts(said, verdicts.few_seeds(result), verdicts.rule(result, said))

for i, fig in enumerate(figures.figures(result)):
    st.plotly_chart(fig, key=f"{P}fig_{i}", config={"displaylogo": False})
st.caption(figures.caption(result))

frame = result.summary_frame()
with st.expander("The numbers, per network and batch size", icon=":material/table:"):
    table = result.summary_table()
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="percent") for c in table.columns
        if "accuracy" in c or c == "gap"})
cols = st.columns([1, 4])
cols[0].download_button("Results (CSV)", frame.to_csv(index=False),
                        file_name=f"bn-{config.experiment}.csv", mime="text/csv",
                        icon=":material/download:",
                        help="One row per network: its kind, seed, batch size, accuracies.")
cols[1].caption(
    f"{networks} networks in {len(jobs)} stack{'s' if len(jobs) > 1 else ''}, trained in "
    f"{result.seconds:.1f} s on {result.n_train:,} training examples; test accuracy on the "
    f"{result.n_test} held-out digits, in eval mode unless said otherwise.")
