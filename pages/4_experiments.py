"""Lesson: experiments across seeds. Where to put BN, learning rate, initialisation, batch size:
each claim tested on many networks at once (seeds × settings), with a verdict that controls its
error. The page holds prose, the controls (the knobs of bn_core.experiments.config), one call
into bn_core.experiments, and the figures it builds."""

import streamlit as st

import ui
from bn_core.experiments import figures, training, verdicts
from bn_core.experiments.config import CURVE_POINTS, EXPERIMENTS, SweepConfig

ui.page_setup("Experiments")

P, ss = "experiments_", st.session_state
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
knob = SweepConfig.control

configs, problems = ui.experiment_configs(P, SweepConfig, EXPERIMENTS, "placement",
                                          clear=("lr_range", "init_range"))

st.title("Experiments across seeds")
st.markdown(
    "One training run can't settle a claim about BN: a different random start or a different "
    "order of mini-batches can change the result. So each experiment here trains the same "
    "network **many times, from different seeds**, and shows the spread. All the networks of "
    "an experiment train *together*, stacked along one axis with batched matrix products, each "
    "with its own weights, mini-batches and BN statistics — that is what makes dozens of runs "
    "take seconds.")
ui.link_notices(problems)
ui.reset_notices()
experiment = ui.widget(knob("experiment"), P + "choice")
config = configs[experiment]
prefix = f"{P}{experiment}_"
ui.preset_widgets(config, prefix, overwrite=False)   # back from another experiment or page
st.markdown(CLAIMS[experiment])
shown = SweepConfig.RELEVANT[experiment]

with st.form(P + experiment + "_form", border=True):
    top = iter(st.columns([2, 1, 1]))
    if experiment in RANGES:
        lo, hi = RANGES[experiment]
        ui.range_widget(knob(lo), knob(hi), f"{prefix}{experiment}_range",
                        (getattr(config, lo), getattr(config, hi)), next(top))
    for name in (n for n in TOP if n in shown):
        ui.widget(knob(name), prefix + name, next(top))
    middle = iter(st.columns(sum(n in shown for n in MIDDLE)))
    for name in (n for n in MIDDLE if n in shown):
        ui.widget(knob(name), prefix + name, next(middle))
    with st.expander("Network and training", icon=":material/tune:"):
        cells = iter(st.columns(4) + st.columns(4))  # filled in order, no gaps
        for name in (n for n in MORE if n in shown):
            ui.widget(knob(name), prefix + name, next(cells))
    submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

if submitted:
    new, bad = ui.config_from_widgets(SweepConfig, prefix, config, names=shown)
    if experiment in RANGES:
        lo, hi = RANGES[experiment]
        ends = ss[f"{prefix}{experiment}_range"]
        try:
            new = new.replace(**{lo: ends[0], hi: ends[1]})
        except ValueError as exc:
            bad.append(f"{exc} (choose two different ends)")
    try:
        training.check(new)
    except ValueError as exc:
        bad.append(str(exc))
    if bad:
        st.error("Can't run these settings: " + "; ".join(bad) + ".", icon=":material/error:")
        st.stop()
    config = configs[experiment] = new
ui.write_url(config)                                 # the URL reproduces what is shown

result = ui.finished(config)
if submitted and result is None:
    result = ui.train_with_progress(config, training.run_sweep)
plan = training.plan(config)
networks, stacks = sum(len(m) for _, _, m in plan), len(plan)
if result is None:
    if not submitted:
        st.info(f"Press **Run** to train {networks} networks ({stacks} stack"
                f"{'s' if stacks > 1 else ''} trained in lockstep). Same settings give the same "
                "numbers, and the page's link restores these settings.",
                icon=":material/play_circle:")
    st.stop()

# ------------------------------------------------------------------ results
said = verdicts.verdict(result)
ui.show_verdicts(said, verdicts.few_seeds(result, said), verdicts.rule(result, said))

for i, fig in enumerate(figures.figure(result)):
    st.plotly_chart(fig, key=f"{P}fig_{i}", config={"displaylogo": False})

with st.expander("The numbers, per setting", icon=":material/table:"):
    st.dataframe(training.summary_table(result), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("mean", "± t·SE (95%)", "median", "min", "max",
                                          "training-mode mean (runs that trained)")}
                 | {"sd": st.column_config.NumberColumn(format="%.3f")})

cols = st.columns([1, 1, 3])
name = f"bn-{config.experiment}-{config.dataset}"
cols[0].download_button("Results (CSV)", result.summary_frame().to_csv(index=False),
                        file_name=f"{name}.csv", mime="text/csv", icon=":material/download:",
                        help="One row per network: settings, final accuracy, steps to the "
                             "target, divergence, each layer's input std (depth: also each "
                             "layer's early and late drift, noise floor and collapse).")
cols[1].download_button("Curves (CSV)", result.curves_frame().to_csv(index=False),
                        file_name=f"{name}-curves.csv", mime="text/csv",
                        icon=":material/download:",
                        help="One row per network and recorded step: eval-mode test accuracy.")
budget = (f"{config.examples:,} training examples each"
          if config.experiment == "batch" and config.budget == "examples"
          else f"{config.steps} steps each")
cols[2].caption(
    f"{networks} networks, {budget}, trained in {result.seconds:.1f} s ({stacks} "
    f"stack{'s' if stacks > 1 else ''} in lockstep). Test accuracy is measured in eval mode "
    f"about {CURVE_POINTS} times per network, on the {result.n_test} test examples.")
