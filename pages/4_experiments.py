"""Lesson: experiments across seeds. Where to put BN, learning rate, initialisation, batch size:
each claim tested on many networks at once (seeds × settings), with a verdict that carries its
uncertainty. The page holds controls, one call into bn_core.sweep, and the figures it builds."""

import json
import math

import streamlit as st

import ui
from bn_core import sweep
from bn_core.layers import ACTIVATIONS
from bn_core.sweep import EXPERIMENT_LABELS, EXPERIMENTS, SweepConfig

ui.page_setup("Experiments", ":material/query_stats:")

P = "experiments_"                                  # session-state keys of this page

CLAIMS = {
    "placement": (
        "**Claim:** the paper puts BN *before* the nonlinearity, on W·u; a widely quoted view puts it "
        "*after*. Which trains better? Here each placement trains from several seeds (different initial "
        "weights and mini-batches) for each activation, and the verdict names a winner only where "
        "the difference is larger than the seed-to-seed spread."
    ),
    "lr": (
        "**Claim:** BN allows much higher learning rates: the paper's BN-x5 and BN-x30 used 5 "
        "and 30 times the baseline's learning rate, and the same increase without BN diverged. "
        "Here the same network trains without and with BN at learning rates spread evenly on a "
        "log scale: which range of rates still trains?"
    ),
    "init": (
        "**Claim:** BN makes training robust to how the weights are initialised: BN(a·W·u) = "
        "BN(W·u), whatever the scale a (the paper's section 3.3). Here the initial weights' "
        "Gaussian std sweeps from tiny to large, as in CS231n's experiment."
    ),
    "batch": (
        "**Claim:** BN's batch statistics need reasonably large batches. Here the same networks "
        "train with batch sizes from 2 to 512, and the BN network's test accuracy is measured "
        "both ways: in eval mode (running averages, what you deploy) and in training mode (each "
        "test batch normalised with its own statistics). By default every batch size sees the "
        "**same number of training examples**: at the same number of steps, batches of 256 would "
        "see 128× more data than batches of 2, and the comparison would mix batch size with the "
        "amount of training (switch the budget to see that too)."
    ),
}

LR_OPTIONS = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0]
INIT_OPTIONS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
STEP_OPTIONS = [10, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000]
WIDTH_OPTIONS = [4, 8, 16, 32, 64, 100, 128, 256]
BATCH_OPTIONS = [2, 4, 8, 16, 32, 60, 64, 128, 256, 512]
EXAMPLE_OPTIONS = [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200]
BUDGETS = {"examples": "Equal examples seen", "steps": "Equal steps"}
DEFAULT_INIT = "default"                            # init_scale None: 1/√fan_in


def snap(value, options):
    """The option nearest to value (in log scale): URL values may fall between a slider's stops."""
    return min(options, key=lambda o: abs(math.log(o) - math.log(value)))


def init_label(v) -> str:
    return "1/√fan_in (default)" if v == DEFAULT_INIT else f"{v:g}"


# ------------------------------------------------------------------ state
# saved configs per experiment (plain keys: they survive visits to other pages, unlike widget
# state); the URL's experiment comes from the link on the first run of a session.
if P + "configs" not in st.session_state:
    url_config, problems = SweepConfig.from_query(st.query_params.to_dict())
    configs = {e: SweepConfig.default(e) for e in EXPERIMENTS}
    configs[url_config.experiment] = url_config
    st.session_state[P + "configs"] = configs
    st.session_state[P + "choice"] = url_config.experiment
    st.session_state[P + "problems"] = problems if st.query_params else []
configs = st.session_state[P + "configs"]


def widget_values(c: SweepConfig) -> dict:
    """The widgets' values showing config c."""
    return {
        "dataset": c.dataset, "activations": list(c.activations), "activation": c.activation,
        "placement": c.placement, "depth": c.depth, "width": snap(c.width, WIDTH_OPTIONS),
        "seeds": c.seeds, "seed": c.seed, "steps": snap(c.steps, STEP_OPTIONS),
        "lr": snap(c.lr, LR_OPTIONS), "batch_size": snap(c.batch_size, BATCH_OPTIONS),
        "init_scale": DEFAULT_INIT if c.init_scale is None else snap(c.init_scale, INIT_OPTIONS),
        "optimizer": c.optimizer, "target": round(c.target * 100),
        "lr_range": (snap(c.lr_min, LR_OPTIONS), snap(c.lr_max, LR_OPTIONS)),
        "init_range": (snap(c.init_min, INIT_OPTIONS), snap(c.init_max, INIT_OPTIONS)),
        "points": c.points, "batch_sizes": list(c.batch_sizes), "budget": c.budget,
        "examples": snap(c.examples, EXAMPLE_OPTIONS),
    }


def preset(experiment: str) -> None:
    """Set each of this experiment's widgets that has no state yet (first visit, link, or back
    from another experiment or page) from the saved config."""
    for name, value in widget_values(configs[experiment]).items():
        key = f"{P}{experiment}_{name}"
        if name not in RANGE_WIDGETS and key not in st.session_state:
            st.session_state[key] = value


RANGE_WIDGETS = ("lr_range", "init_range")   # range sliders take value=: it makes them ranges


def read_widgets(experiment: str) -> SweepConfig:
    """The config the widgets show (ValueError naming the field where a value is invalid)."""
    v = {name: st.session_state.get(f"{P}{experiment}_{name}", value)
         for name, value in widget_values(configs[experiment]).items()}
    lr_min, lr_max = v["lr_range"]
    init_min, init_max = v["init_range"]
    if not v["activations"]:
        raise ValueError("activations: choose at least one activation")
    if not v["batch_sizes"]:
        raise ValueError("batch_sizes: choose at least one batch size")
    if lr_min >= lr_max:
        raise ValueError("learning-rate range: choose two different ends")
    if init_min >= init_max:
        raise ValueError("init-scale range: choose two different ends")
    return configs[experiment].replace(
        dataset=v["dataset"], activations=tuple(a for a in ACTIVATIONS if a in v["activations"]),
        activation=v["activation"], placement=v["placement"], depth=int(v["depth"]),
        width=int(v["width"]), seeds=int(v["seeds"]), seed=int(v["seed"]), steps=int(v["steps"]),
        lr=float(v["lr"]), batch_size=int(v["batch_size"]),
        init_scale=None if v["init_scale"] == DEFAULT_INIT else float(v["init_scale"]),
        optimizer=v["optimizer"], target=float(v["target"]) / 100, lr_min=float(lr_min),
        lr_max=float(lr_max), init_min=float(init_min), init_max=float(init_max),
        points=int(v["points"]), batch_sizes=tuple(sorted(int(b) for b in v["batch_sizes"])),
        budget=v["budget"], examples=int(v["examples"]),
    )


@st.cache_data(max_entries=24, show_spinner=False)
def stored(key: str, _result=None):
    """The finished sweeps, one per config (key: the config as JSON), shared by all visitors.
    A lookup without `_result` that misses raises LookupError (not cached); a call with it
    stores it. So the sweep itself runs outside the cache, with a live progress bar."""
    if _result is None:
        raise LookupError(key)
    return _result


def cache_key(c: SweepConfig) -> str:
    return json.dumps(c.to_dict(), sort_keys=True)


def lookup(c: SweepConfig):
    try:
        return stored(cache_key(c))
    except LookupError:
        return None


def run(c: SweepConfig):
    """Train the sweep with a progress bar; None (and a message) where it can't run."""
    bar = st.progress(0.0, text="Starting…")
    shown = {"at": -1.0}

    def progress(fraction: float, what: str) -> None:
        if fraction - shown["at"] >= 0.01 or fraction >= 1.0:      # ≤ 100 updates
            shown["at"] = fraction
            bar.progress(min(1.0, fraction), text=f"{what.capitalize()}… {fraction:.0%}")

    result = None
    with ui.friendly_errors("this experiment"):
        result = sweep.run_sweep(c, progress=progress)
        stored(cache_key(c), _result=result)
    bar.empty()
    return result


# ------------------------------------------------------------------ page
st.title("Experiments across seeds")
st.markdown(
    "One training run can't settle a claim about BN: a different random start or a different "
    "order of mini-batches can change the result. So each experiment here trains the same "
    "network **many times, from different seeds**, and shows the spread. All the networks of "
    "an experiment train *together*, stacked along one axis with batched matrix products, each "
    "with its own weights, mini-batches and BN statistics — that is what makes dozens of runs "
    "take seconds."
)
for problem in st.session_state.pop(P + "problems", []):
    st.warning(f"Ignored a setting in the link: {problem}.", icon=":material/link_off:")

if P + "choice" not in st.session_state:            # widget state is dropped on other pages
    st.session_state[P + "choice"] = st.session_state.get(P + "last", "placement")
experiment = st.radio(
    "Experiment", EXPERIMENTS, format_func=EXPERIMENT_LABELS.get, horizontal=True,
    key=P + "choice", help="Each experiment keeps its own settings; the URL holds the one shown.",
)
st.session_state[P + "last"] = experiment
preset(experiment)
st.markdown(CLAIMS[experiment])


def k(name: str) -> str:
    return f"{P}{experiment}_{name}"


with st.form(P + experiment + "_form", border=True):
    top = st.columns([2, 1, 1])
    if experiment == "placement":
        top[0].pills("Activations", ACTIVATIONS, selection_mode="multi", key=k("activations"),
                     format_func=sweep.ACTIVATION_NAMES.get,
                     help="One stack of networks per activation: each placement, each seed.")
    elif experiment == "lr":
        top[0].select_slider("Learning rates (range)", LR_OPTIONS, key=k("lr_range"),
                             value=widget_values(configs[experiment])["lr_range"],
                             format_func=lambda v: f"{v:g}",
                             help="The grid is spread evenly on a log scale between these ends.")
    elif experiment == "init":
        top[0].select_slider("Init std of the weights (range)", INIT_OPTIONS, key=k("init_range"),
                             value=widget_values(configs[experiment])["init_range"],
                             format_func=lambda v: f"{v:g}",
                             help="Gaussian std of every weight matrix at the start, log grid.")
    else:
        top[0].pills("Batch sizes", sweep.BATCH_CHOICES, selection_mode="multi",
                     key=k("batch_sizes"),
                     help="One stack per batch size; every size trains the same number of steps.")
    if experiment != "placement":
        top[1].radio("BN network", ["before", "after"], key=k("placement"),
                     format_func=lambda p: f"BN {p} activation",
                     help="Compared with the same network without BN.")
    top[1 if experiment == "placement" else 2].slider("Seeds per setting", 1, 10, key=k("seeds"),
                  help="Networks per setting, from seeds s, s+1, …: different initial weights "
                       "and mini-batch orders.")
    mid = iter(st.columns(6 if experiment == "batch" else 5))    # filled in order, no gaps
    if experiment == "batch":
        next(mid).radio("Budget", list(BUDGETS), key=k("budget"), format_func=BUDGETS.get,
                        help="Equal examples: each batch size trains examples ÷ m steps (the fair "
                             "comparison). Equal steps: larger batches see more data.")
        next(mid).select_slider("Examples seen per network", EXAMPLE_OPTIONS, key=k("examples"),
                                format_func=lambda v: f"{v:,}",
                                help="With the equal-examples budget (1,437 digits = one epoch).")
    next(mid).select_slider("Training steps", STEP_OPTIONS, key=k("steps"),
                            help="With the equal-steps budget." if experiment == "batch" else None)
    next(mid).slider("Target test accuracy (%)", 50, 99, key=k("target"),
                     help="Counts as 'trained'; also the mark for 'steps to reach it'.")
    if experiment in ("lr", "init"):
        next(mid).slider("Grid points", 2, 13, key=k("points"))
    if experiment != "placement":
        next(mid).selectbox("Activation", ACTIVATIONS, key=k("activation"),
                            format_func=sweep.ACTIVATION_NAMES.get)
    next(mid).selectbox("Dataset", sweep.SWEEP_DATASETS, key=k("dataset"),
                        help="digits: 8×8 handwritten digits (64 features, 10 classes); the "
                             "others are 2-D toy problems.")
    with st.expander("Network and training", icon=":material/tune:"):
        cells = iter(st.columns(4) + st.columns(4))        # filled in order, no gaps
        next(cells).slider("Hidden layers", 1, 8, key=k("depth"))
        next(cells).select_slider("Units per layer", WIDTH_OPTIONS, key=k("width"))
        if experiment != "lr":
            next(cells).select_slider("Learning rate", LR_OPTIONS, key=k("lr"),
                                      format_func=lambda v: f"{v:g}")
        if experiment != "batch":
            next(cells).select_slider("Batch size", BATCH_OPTIONS, key=k("batch_size"))
        if experiment != "init":
            next(cells).select_slider("Init std of the weights", [DEFAULT_INIT] + INIT_OPTIONS,
                                      key=k("init_scale"), format_func=init_label)
        next(cells).selectbox("Optimizer", ["sgd", "momentum", "adam"], key=k("optimizer"),
                              format_func={"sgd": "SGD", "momentum": "SGD + momentum 0.9",
                                           "adam": "Adam"}.get)
        next(cells).number_input("First seed", 0, 2**31 - 1, step=1, key=k("seed"))
    submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

config = configs[experiment]
if submitted:
    try:
        config = read_widgets(experiment)
        sweep.check(config)
    except ValueError as exc:
        st.error(f"Can't run these settings: {exc}.", icon=":material/error:")
        st.stop()
    configs[experiment] = config
st.query_params.from_dict(config.to_query())          # the URL reproduces what is shown

result = lookup(config)
if submitted and result is None:
    result = run(config)

networks = sum(len(m) for _, _, m in sweep.plan(config))
stacks = len(sweep.plan(config))
if result is None:
    if not submitted:
        st.info(f"Press **Run** to train {networks} networks ({stacks} stack"
                f"{'s' if stacks > 1 else ''} trained in lockstep). Same settings give the same "
                "numbers, and the page's link restores these settings.",
                icon=":material/play_circle:")
    st.stop()

# ------------------------------------------------------------------ results
st.subheader("What the data say")
verdicts = sweep.verdict(result)
for v in verdicts:
    with st.container(border=True):
        st.markdown(v.headline)
        if v.details:
            st.markdown("\n".join(f"- {d}" for d in v.details))
few = sweep.few_seeds(result, verdicts)
if few:
    st.info(few, icon=":material/casino:")
st.caption(sweep.rule(result, verdicts))

for i, fig in enumerate(sweep.figure(result)):
    st.plotly_chart(fig, key=f"{P}fig_{i}", config={"displaylogo": False})

with st.expander("The numbers, per setting", icon=":material/table:"):
    st.dataframe(sweep.summary_table(result), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("mean", "± t·SE (95%)", "median", "min", "max",
                                          "training-mode mean (runs that trained)")}
                 | {"sd": st.column_config.NumberColumn(format="%.3f")})

cols = st.columns([1, 1, 3])
name = f"bn-{config.experiment}-{config.dataset}"
cols[0].download_button("Results (CSV)", result.summary_frame().to_csv(index=False),
                        file_name=f"{name}.csv", mime="text/csv", icon=":material/download:",
                        help="One row per network: settings, final accuracy, steps to the "
                             "target, divergence, each layer's input std.")
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
    f"about {sweep.CURVE_POINTS} times per network, on the {result.n_test} test examples."
)
