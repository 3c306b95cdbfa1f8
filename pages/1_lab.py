"""Covariate-shift lab (/lab): the same network trained without and with BN, side by side, live.

Controls → TrainConfig (also the URL query) → bn_core.train.Run, kept in st.session_state so that
Pause, Step and leaving the page keep it (coming back shows it paused) → History →
bn_core.figures / bn_core.reading → here.
The training loop runs in the script thread; a click on any button stops it at its next st.* call
(the progress bar is updated at least every 0.15 s, so Pause waits at most that plus one record
interval). While training, the charts are redrawn in turns (bn_core.figures.LIVE_SCHEDULE).
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode

import streamlit as st

import ui

ui.page_setup("Covariate-shift lab", ":material/science:")

from bn_core import figures as F  # noqa: E402
from bn_core.reading import SANTURKAR_NOTE, read_history  # noqa: E402
from bn_core.train import NETWORK_LABELS, PAPER_SETUP, Run, TrainConfig  # noqa: E402

DEFAULT = TrainConfig()
TRACE = os.environ.get("BN_LAB_TRACE")     # a file: the server notes when Pause took effect
ss = st.session_state

# ----------------------------------------------------------------------------- controls' values

LR = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0,
      5.0, 10.0]
EPS = [0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
BN_MOMENTUM = [None, 0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0]
BATCH = [2, 4, 8, 16, 32, 60, 64, 128, 256, 512]
INIT = [None, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
STEPS = [100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000, 10_000, 20_000, 50_000, 100_000]
PLACEMENTS = {"before": "before the activation (the paper)", "after": "after the activation",
              "both": "both (three networks)"}
ACTIVATIONS = {"sigmoid": "sigmoid (the paper)", "tanh": "tanh", "relu": "ReLU"}
OPTIMIZERS = {"sgd": "SGD (the paper)", "momentum": "SGD + momentum 0.9", "adam": "Adam"}
DATASETS = {"digits": "8×8 digits (bundled)", "moons": "two moons", "circles": "circles",
            "spiral": "spiral", "xor": "XOR", "mnist": "MNIST (downloads 55 MB once)"}
FIELDS = ("lr", "placement", "eps", "momentum", "batch_size", "optimizer", "activation", "depth",
          "width", "init_scale", "dataset", "steps", "seed")


def with_value(options: list, value) -> list:
    """The options, plus `value` in order if it is not one of them (a value from a URL)."""
    if value in options:
        return options
    rest = sorted([o for o in options if o is not None] + [value])
    return ([None] if None in options else []) + rest


def fmt_number(v) -> str:
    return f"{v:g}"


def config_to_widgets(config: TrainConfig) -> None:
    for name in FIELDS:
        ss[f"lab_{name}"] = getattr(config, name)


def load_config() -> None:
    """Set the controls from the URL (first visit or a new link) or from the kept config."""
    query = st.query_params.to_dict()
    if "lab_config" not in ss or (query and query != ss.get("lab_query")):
        config, problems = TrainConfig.from_query(query, DEFAULT)
        if config.placement == "none":
            problems.append("placement: the lab always trains a BN network beside the plain one, "
                            "got 'none'; using before")
            config = config.replace(placement=DEFAULT.placement)
        ss.lab_config, ss.lab_problems, ss.lab_problems_for = config, problems, config.to_query()
        config_to_widgets(config)
    else:
        for name in FIELDS:            # widget values are dropped when the page is left
            ss.setdefault(f"lab_{name}", getattr(ss.lab_config, name))


def on_train():
    run = ss.get("lab_run")
    if run is not None and run.done:
        ss.lab_run = None              # "Train again": a fresh run with the same settings
    ss.lab_running = True


def on_pause():
    ss.lab_running = False
    if TRACE:                          # benchmarks/bench_lab.py times Pause with this
        with open(TRACE, "a") as f:
            f.write(f"pause {time.time():.4f} {ss.lab_run.step if ss.get('lab_run') else 0}\n")


def on_step():
    ss.lab_running = False
    ss.lab_step = True


def on_reset():
    ss.lab_running = False
    ss.lab_run = None


def on_preset(config: TrainConfig, name: str):
    config_to_widgets(config)
    ss.lab_running = False
    ss.lab_preset = name


# ----------------------------------------------------------------------------- page

st.title("Covariate-shift lab")
st.markdown(
    "A neural network turns its input into a prediction through a few **layers**; each layer "
    "computes weighted sums of the previous layer's outputs, $z = W u + b$, and passes them "
    "through an **activation** function $g(z)$ (by default a sigmoid, like the 2015 paper). "
    "Here the *same* network is trained two (or three) times, side by side: as it is, and with "
    "**Batch Normalization** (BN), which re-centres and re-scales $z$ over each mini-batch. All "
    "copies start from the same weights and see the same mini-batches, so every difference you "
    "see comes from BN alone."
)
st.markdown(
    "While they train, watch the inputs $z$ of the activations. Without BN, their distribution "
    "drifts as the earlier layers learn; the paper called this drift *internal covariate shift* "
    "and designed BN to stop it. With BN it stays put (whether that is *why* BN helps is "
    "another story: see the caution under the results). **Press Train**, then try a larger "
    "learning rate, BN after the activation, or ε = 0."
)

load_config()
# Leaving the page mid-training stops this script inside the training loop, before it can set
# lab_running back to False, and session_state keeps it: coming back would train on by itself.
# A fresh visit shows the run paused instead.
if ui.arrived() or "lab_running" not in ss:
    ss.lab_running = False

left, mid, right = st.columns(3)
left.select_slider(
    "Learning rate", with_value(LR, ss.lab_lr), key="lab_lr", format_func=fmt_number,
    help="How big a step the optimizer takes along the gradient, from 0.0001 to 10 (a log scale). "
    "Large rates train faster until they make a network diverge; BN tolerates larger ones.")
mid.radio(
    "Where BN goes in the BN network", list(PLACEMENTS), key="lab_placement",
    format_func=PLACEMENTS.get, horizontal=True,
    help="Before the activation, on z = Wu (the paper; the bias b is dropped because BN's mean "
    "subtraction cancels it), or after the activation, on g(z). 'Both' trains three networks. "
    "The network without BN is always trained beside it.")
right.select_slider(
    "BN epsilon ε", with_value(EPS, ss.lab_eps), key="lab_eps",
    format_func=lambda v: "0 (no protection)" if v == 0 else f"{v:g}",
    help="BN divides by √(batch variance + ε). ε keeps this finite when a unit's variance is 0. "
    "PyTorch uses 1e-5. 0 is allowed here to show what goes wrong.")

with st.expander("More settings: the network, the data, BN momentum, the optimizer, steps"):
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Activation", list(ACTIVATIONS), key="lab_activation",
                 format_func=ACTIVATIONS.get,
                 help="The nonlinearity g after each hidden layer. Sigmoid and tanh saturate "
                 "(flat ends, gradient ≈ 0); ReLU is 0 for negative inputs.")
    c1.slider("Hidden layers (depth)", 1, 8, key="lab_depth",
              help="How many hidden layers; BN is added to every one.")
    c1.slider("Units per layer (width)", 4, 256, key="lab_width",
              help="Units in each hidden layer. The first 16 units are recorded for the "
              "'one unit' chart.")
    c2.select_slider("Batch size", with_value(BATCH, ss.lab_batch_size), key="lab_batch_size",
                     help="Examples per mini-batch: BN's mean and variance are computed over "
                     "them. Small batches give noisy statistics (2 is the least BN accepts).")
    c2.selectbox("Optimizer", list(OPTIMIZERS), key="lab_optimizer", format_func=OPTIMIZERS.get,
                 help="Plain SGD as in the paper, SGD with momentum 0.9, or Adam.")
    c2.select_slider("BN momentum", with_value(BN_MOMENTUM, ss.lab_momentum), key="lab_momentum",
                     format_func=lambda v: "None = cumulative" if v is None else f"{v:g}",
                     help="How fast BN's running mean and variance (used at test time) follow "
                     "the batches: running ← (1 − momentum)·running + momentum·batch (PyTorch's "
                     "convention, default 0.1). None averages all batches equally.")
    c3.select_slider("Initial weight scale", with_value(INIT, ss.lab_init_scale),
                     key="lab_init_scale",
                     format_func=lambda v: "default 1/√fan-in" if v is None else f"{v:g}",
                     help="Standard deviation of the Gaussian initial weights. The paper used "
                     "small random Gaussian values (the Paper setup uses 0.1).")
    c3.selectbox("Dataset", list(DATASETS), key="lab_dataset", format_func=DATASETS.get,
                 help="What the networks learn to classify. The paper used MNIST; the bundled "
                 "8×8 digits are the same task, smaller, and need no download.")
    c4.select_slider("Training steps", with_value(STEPS, ss.lab_steps), key="lab_steps",
                     format_func=lambda v: f"{v:,}",
                     help="Mini-batch updates. The paper trained 50,000; 1,500 take a few "
                     "seconds here.")
    c4.number_input("Seed", 0, 2**31 - 1, key="lab_seed", step=1,
                    help="Fixes the initial weights and the order of the mini-batches: the same "
                    "settings and seed give exactly the same run.")

values = {name: ss[f"lab_{name}"] for name in FIELDS}
try:
    config = TrainConfig(**values)
    config = config.replace(record_every=F.record_every_for(config))
except ValueError as exc:          # the controls stay inside TrainConfig.RANGES; just in case
    st.error(f"These settings can't be used ({exc}); using the defaults. Press Reset.")
    config = DEFAULT.replace(record_every=F.record_every_for(DEFAULT))
ss.lab_config = config
query = config.to_query()
if st.query_params.to_dict() != query:
    st.query_params.from_dict(query)
ss.lab_query = query

for problem in ss.get("lab_problems", []) if ss.get("lab_problems_for") == query else []:
    name, _, why = problem.partition(": ")
    st.warning(f"URL parameter **{name}**: {why}.", icon=":material/link_off:")
preset = ss.get("lab_preset")
if preset == "paper" and config.to_query() == PAPER_SETUP.to_query():
    st.info(
        "**Paper setup** (Figure 1 of Ioffe & Szegedy 2015): 3 hidden layers of 100 sigmoid "
        "units, mini-batches of 60, plain SGD, small Gaussian initial weights (std 0.1), 50,000 "
        "steps, BN before the activation. The paper used MNIST (28×28); the lab uses the bundled "
        "8×8 digits so nothing has to be downloaded. It takes a minute or so: press Train and "
        "watch it live.", icon=":material/description:")

# ----------------------------------------------------------------------------- the run

run = ss.get("lab_run")
if run is not None and run.config != config:
    if run.history.frames and run.step > 0:
        st.info("The settings changed, so the previous run was cleared. Press **Train**.",
                icon=":material/restart_alt:")
    run = ss.lab_run = None
    ss.lab_running = False
if run is None:
    with ui.friendly_errors("the networks"):
        run = Run(config)
        run.advance()                  # the step-0 snapshot: the starting distributions
        ss.lab_run = run

if run is not None and ss.pop("lab_step", False) and not run.done:
    with ui.friendly_errors("this step"):
        run.advance()

state = "new" if run is None or run.step == 0 else ("done" if run.done else "paused")
b1, b2, b3, b4, b5, b6 = st.columns([1.1, 1, 1, 1, 1.5, 1.4])
b1.button({"new": "Train", "paused": "Resume", "done": "Train again"}[state], key="lab_train",
          type="primary", icon=":material/play_arrow:", on_click=on_train,
          disabled=run is None or ss.lab_running, width="stretch",
          help="Train all networks from where they are (a finished run starts again).")
b2.button("Pause", key="lab_pause", icon=":material/pause:", on_click=on_pause,
          disabled=not ss.lab_running, width="stretch",
          help="Stop after the current record interval; the run is kept.")
b3.button("Step", key="lab_step_button", icon=":material/skip_next:", on_click=on_step,
          disabled=run is None or run.done, width="stretch",
          help=f"Train one record interval ({config.record_every} steps) and stop.")
b4.button("Reset", key="lab_reset", icon=":material/restart_alt:", on_click=on_reset,
          width="stretch", help="Forget the run and start again from the initial weights.")
b5.button("Paper setup (Figure 1)", key="lab_paper", icon=":material/description:",
          on_click=on_preset, args=(PAPER_SETUP, "paper"), width="stretch",
          help="3×100 sigmoid units, batch 60, SGD, Gaussian init, 50,000 steps.")
b6.button("Default setup", key="lab_default", icon=":material/settings_backup_restore:",
          on_click=on_preset, args=(DEFAULT, "default"), width="stretch",
          help="The short run the page opens with: 1,500 steps, a few seconds.")

if run is None:          # the networks could not be made (the error is shown above)
    st.stop()

progress = st.empty()
st.caption("While it trains, the charts take turns to update (loss and one unit most often) so "
           "that a slow computer keeps up; everything is redrawn when you pause or it finishes.")
alerts = st.empty()
st.subheader("What this run shows")
reading_box = st.empty()

st.subheader("1 · Loss and test accuracy")
st.caption("The paper's Figure 1a. Look for: which network's test accuracy climbs first, and how "
           "high it gets. Accuracy is measured on held-out test examples, with BN in eval mode "
           "(running averages).")
curves_box = st.empty()

st.subheader("2 · One unit's input, over training")
depth, n_units = config.depth, min(config.width, 16)
if ss.get("lab_view_layer", depth) > depth:
    ss.lab_view_layer = depth
ss.setdefault("lab_view_layer", depth)
if ss.get("lab_view_unit", 1) > n_units:
    ss.lab_view_unit = 1
v1, v2, _ = st.columns([1, 1, 2])
layer_no = v1.selectbox("Layer", list(range(1, depth + 1)), key="lab_view_layer",
                        format_func=lambda l: f"layer {l}" + (" (last)" if l == depth else ""),
                        help="Which hidden layer to look at in charts 2 and 3 and the reading.")
unit_no = v2.selectbox("Unit", list(range(1, n_units + 1)), key="lab_view_unit",
                       format_func=lambda u: f"unit {u}",
                       help="One of the first 16 units of the layer (the ones recorded).")
st.caption(
    "The paper's Figure 1b, c: the 15th, 50th (line) and 85th percentiles of this unit's input "
    "z over each mini-batch, one panel per network. Look for: without BN the band wanders and "
    "widens; with BN before the activation it stays where it started. (With BN *after* the "
    "activation, z itself is not normalised, but the layer's input u is.)")
unit_box = st.empty()

st.subheader("3 · The whole layer's input")
st.caption("The same percentiles over all units of the layer together. Look for: the same "
           "contrast, for the layer as a whole.")
layer_box = st.empty()

st.subheader("4 · Histograms of every layer")
st.caption("The distribution of z in every hidden layer (rows), per network (columns), in % of "
           "the mini-batch's values; the end bars also count everything beyond the axis. While "
           "training this shows the latest snapshot; when paused or finished press ▶ Play or "
           "drag the slider to replay the whole run.")
hist_box = st.empty()

st.subheader("5 · Saturation and gradients, per layer")
st.caption(
    ("Top: the share of ReLU inputs ≤ 0 (the unit outputs 0 and passes no gradient). "
     if config.activation == "relu" else
     f"Top: the share of {config.activation} units that are saturated (|g(z)| > 0.97, on the "
     "flat ends of the curve where the gradient is almost 0). ")
    + "Bottom: the size of each layer's weight gradient (log scale); darker lines are deeper "
    "layers. Look for: saturation and vanishing gradients without BN.")
health_box = st.empty()


def progress_text(run: Run, rate: float | None = None) -> str:
    text = f"Step {run.step:,} of {run.config.steps:,}"
    stopped = [f"{NETWORK_LABELS[n]} stopped at step {d.step:,} (diverged)"
               for n, d in run.history.divergence.items()]
    if run.done:
        text += " · finished" if run.live else " · every network diverged"
    elif rate:
        left = (run.config.steps - run.step) / rate
        text += f" · {rate:,.0f} steps/s · about {left:,.0f} s left"
    elif run.step > 0:
        text += " · paused"
    return " · ".join([text, *stopped])


def draw(run: Run, live: bool, n: int) -> None:
    """Redraw every view from the run's history (live: the latest histogram, no animation)."""
    history = run.history
    layer = min(layer_no, history.config.depth) - 1
    unit = min(unit_no, min(history.config.width, 16)) - 1
    reading = read_history(history, layer)
    if reading.divergences or reading.stalled:
        with alerts.container():
            for text in reading.divergences.values():
                st.error(text, icon=":material/error:")
            for text in reading.stalled.values():
                st.warning(text, icon=":material/warning:")
    else:
        alerts.empty()
    with reading_box.container():
        st.markdown("\n".join(f"- {line}" for line in reading.lines))
        if not live and run.step > 0:
            st.caption(SANTURKAR_NOTE)
    boxes = {"curves": curves_box, "unit": unit_box, "layer": layer_box,
             "histograms": hist_box, "health": health_box}
    if live:
        figs = F.live_figures(history, layer, unit, update=n)
    else:
        figs = {name: F.view_figure(name, history, layer, unit, animate=True) for name in F.VIEWS}
    for name, fig in figs.items():
        boxes[name].plotly_chart(fig, key=f"lab_{name}_{n}", config={"displaylogo": False})

if run is not None:
    if ss.lab_running and not run.done:
        pacer = F.UpdatePacer(interval=0.45, share=0.2)   # ≥ 2 updates/s
        start, start_step = time.perf_counter(), run.step
        finished = False
        with ui.friendly_errors("training"):
            last_call = 0.0
            while not run.done:
                run.advance()
                now = time.perf_counter()
                # an st.* call at least every 0.15 s: a click on Pause stops the loop right here
                if now - last_call >= 0.15 or run.done:
                    rate = (run.step - start_step) / (now - start)
                    progress.progress(run.step / run.config.steps, text=progress_text(run, rate))
                    last_call = now
                if pacer.due() and not run.done:
                    t0 = time.perf_counter()
                    draw(run, live=True, n=pacer.draws)
                    pacer.drawn(time.perf_counter() - t0)
            finished = True
        ss.lab_running = False
        if finished:
            st.rerun()                 # redraw everything once more, at rest, with the animation
    progress.progress(run.step / run.config.steps, text=progress_text(run))
    with ui.friendly_errors("drawing the charts"):
        draw(run, live=False, n=0)

st.subheader("Share and export")
st.caption("This link opens the lab with these settings (they are also in the address bar):")
path = "/lab" + (f"?{urlencode(query)}" if query else "")
base = (st.context.url or "").split("/lab")[0].rstrip("/") if st.context.url else ""
st.code(base + path, language=None)
if run is not None and run.history.frames:
    history = run.history

    def csv_bytes() -> bytes:
        return history.to_frame().to_csv(index=False).encode()

    def html_text() -> str:
        layer = min(layer_no, history.config.depth) - 1
        unit = min(unit_no, min(history.config.width, 16)) - 1
        figs = {
            "Loss and test accuracy": F.curves_figure(history),
            f"Layer {layer + 1}, unit {unit + 1}: percentiles of the activation input":
                F.bands_figure(history, layer, unit),
            f"Layer {layer + 1}: percentiles of the activation input":
                F.bands_figure(history, layer, None),
            "Histograms of every layer (press Play)": F.histogram_figure(history, animate=True),
            "Saturation and gradient norm per layer": F.health_figure(history),
        }
        reading = read_history(history, layer)
        settings = history.config.to_dict(TrainConfig.URL_FIELDS)
        notes = ["Settings: " + ", ".join(f"{k} = {v}" for k, v in settings.items()),
                 f"Link: {path}", *reading.lines, *reading.divergences.values(),
                 *reading.stalled.values(), SANTURKAR_NOTE]
        return F.export_html(figs, "BatchNorm Lab: covariate-shift lab",
                             [n.replace("**", "").replace("*", "") for n in notes])

    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("Recorded data (CSV)", csv_bytes, file_name="batchnorm_lab_run.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore",
                       help="One row per snapshot, network and layer: loss, accuracy, the "
                       "activation inputs' mean, std and percentiles, saturation, gradient norm.")
    d2.download_button("Figures (standalone HTML)", html_text, file_name="batchnorm_lab_run.html",
                       mime="text/html", icon=":material/download:", on_click="ignore",
                       help="Every chart in one HTML file that opens offline (about 5 MB: it "
                       "includes plotly.js).")
