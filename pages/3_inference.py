"""Lesson: inference. Train vs eval mode, running averages, the paper's population statistics,
the notes' variance, and the two classic failures (a batch of one, small batches).

Controls (the knobs of bn_core.inference.config.InferenceConfig, also the URL) → train_network
(cached per training setting) → inference_lesson → tables and bn_core.inference.figures → here.
"""

import streamlit as st

import ui

ui.page_setup("Inference: train vs eval", ":material/model_training:")

from bn_core import batchnorm  # noqa: E402
from bn_core.inference import batch_sizes, estimates, figures, reading, training  # noqa: E402
from bn_core.inference import config as ic  # noqa: E402
from bn_core.inference.config import InferenceConfig  # noqa: E402
from bn_core.inference.lesson import inference_lesson  # noqa: E402

P, ss, fmt, table = "inference_", st.session_state, ui.fmt, ui.table


def control(name, where=st, **extra):
    return ui.widget(InferenceConfig.control(name), P + name, where, **extra)


@st.cache_data(max_entries=8, show_spinner=False)
def trained_network(train_config):
    """Train once per config (shared by every visitor) in one of the server's training slots;
    a progress bar while it runs."""
    bar = st.progress(0.0, "Training the network…")
    with ui.training_slot(st.empty()):
        trained = training.train_network(train_config, progress=lambda f, t: bar.progress(f, t))
    bar.empty()
    return trained


@st.cache_data(max_entries=4, show_spinner=False)
def batch_size_sweep(seed):
    bar = st.progress(0.0, "Training six networks…")
    with ui.training_slot(st.empty()):
        frame = batch_sizes.batch_size_sweep(seed, progress=lambda f, t: bar.progress(f, t))
    bar.empty()
    return frame


problems = ui.config_from_url(InferenceConfig, P, kept="inference_config")
ui.preset_widgets(ss.inference_config, P, overwrite=False)    # widgets a stopped run never made
st.title("Inference: train vs eval")
st.markdown(
    "In training mode BN normalises each example with the mean and variance **of its "
    "mini-batch**, so its output depends on the other examples in the batch. A trained network "
    "must answer for one input at a time, the same answer whatever else arrives with it, so at "
    "test time BN switches to **fixed statistics** estimated during training (eval mode)."
)
ui.equations([
    r"\text{training:}\quad y = \gamma\,\frac{x-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}} + \beta",
    r"\text{eval:}\quad y = \gamma\,\frac{x-\mathrm{E}[x]}{\sqrt{\mathrm{Var}[x]+\varepsilon}} + \beta"
])
with st.container(border=True):
    st.markdown(
        f"**The network**: {ic.DEPTH} hidden layers × {ic.WIDTH} {ic.ACTIVATION} units, BN "
        f"before each activation, SGD (learning rate {ic.LR:g}), on the 8×8 handwritten digits. "
        "Trained here, once per setting (a few seconds)."
    )
    for where, name in zip(st.columns(3, gap="medium"), ("batch_size", "steps", "seed")):
        control(name, where)

config, bad = ui.config_from_widgets(InferenceConfig, P, ss.inference_config)
ss.inference_config = config
ui.write_url(config)
ui.link_notices(problems if ui.arrived() else [])
ui.reset_notices()
for problem in bad:
    st.warning(f"A control sent back an unexpected value ({problem}); it was reset.")
trained = None
with ui.friendly_errors("training"):
    trained = trained_network(config.train_config())
if trained is None:
    st.stop()
if trained.divergence:
    st.warning(f"{trained.divergence}. The numbers below are what it left.", icon=":material/warning:")

# ------------------------------------------------------------------ sections and their controls
single, four, notes_section, converge, failures = (st.container() for _ in range(5))
with single:
    st.header("One input, two modes")
    control("example", width=250)
    single_out = st.container()
with four:
    st.header("Four ways to get the statistics")
    st.markdown(
        "For the same test inputs, BN's E[x] and Var[x] can come from:\n"
        "1. **the batch itself** (training mode): each test batch of m examples normalised with "
        "its own μ_B and σ²_B — what training does, but answers depend on batch-mates;\n"
        "2. **running averages** (eval mode, what PyTorch and Keras do): updated at every training "
        "step, running ← (1 − momentum)·running + momentum·batch statistic;\n"
        "3. **Algorithm 2** of the paper: after training, run training mini-batches through the "
        "frozen network and average their statistics;\n"
        "4. **the exact statistics** of the whole training set (the target the others estimate).\n\n"
        "Two more rows of the table are explained in the next section: the variance formula of "
        f"the course notes this app was built from ({estimates.NOTES_SOURCE}), and Algorithm 2 "
        "done **layer by layer**, the remedy for deeper layers."
    )
    ui.equations([r"\text{Algorithm 2:}\quad \mathrm{E}[x] = \mathrm{E}_B[\mu_B]",
                  r"\mathrm{Var}[x] = \frac{m}{m-1}\,\mathrm{E}_B[\sigma_B^2]"])
    f1, f2 = st.columns(2, gap="large")
    control("momentum", f1)
    control("layer", f2)
    four_out = st.container()
with notes_section:
    st.header("The notes' variance vs the paper's")
    notes_out = st.container()
with converge:
    st.header("How the running averages converge")
    control("unit", width=400)
    converge_out = st.container()

# ------------------------------------------------------------------ one call into the core
lesson = None
with ui.friendly_errors("the inference lesson"):
    lesson = inference_lesson(trained, config)
if lesson is None:
    st.stop()
m = trained.batch_size

# ------------------------------------------------------------------ one input
info = lesson.single_info
with single_out:
    st.markdown(reading.single_input(info, m))
    table(lesson.single, 3, percent=[c for c in lesson.single.columns if c.startswith("P(")])

# ------------------------------------------------------------------ four ways
with four_out:
    table(lesson.accuracy, percent=list(lesson.accuracy.columns))
    st.caption(f"Test accuracy on the {trained.n_test} test images with each choice; the last "
               "column: how often the prediction equals the one made with the exact statistics.")
    st.markdown(f"**Hidden layer {config.layer}, unit by unit** (BN's input x = W·u, before the "
                "activation):")
    t1, t2 = st.tabs(["Means E[x]", "Variances Var[x]"])
    with t1:
        table(lesson.means_table, 4, height=320)
    with t2:
        table(lesson.vars_table, 4, height=320)
    st.caption(f"Batch μ_B, σ²_B: their average and standard deviation over the "
               f"{len(trained.test_batch_sizes)} test batches (training mode). Running: the running "
               f"averages with your momentum. Algorithm 2: over one epoch of {lesson.notes['n_B']} "
               f"training mini-batches of m = {m}, with the final weights. Notes: "
               "Σ σ²_B/(n_B − 1) over the same batches; mean σ²_B: their plain average. Exact: the "
               "whole training set.")
    ui.show_source([batchnorm.population_statistics, estimates.running_estimates,
                    batchnorm.BatchNorm1d.__call__, batchnorm.batchnorm_inference],
                   "The code: population_statistics, running_estimates, "
                   "BatchNorm1d.\\_\\_call\\_\\_, batchnorm_inference")

# ------------------------------------------------------------------ notes vs paper
with notes_out:
    nt = lesson.notes
    st.markdown(f"The course notes this app was built from ({estimates.NOTES_SOURCE}) save, for "
                "inference, the mean of the n_B training batches' means and, as the variance, the "
                "**sum** of their variances divided by n_B − 1. The paper averages the batch "
                "variances and corrects with the batch size m:")
    ui.equations([r"\text{notes:}\ \sigma^2 = \frac{1}{n_B-1}\sum_{B=1}^{n_B}\sigma_B^2 = "
                  r"\frac{n_B}{n_B-1}\cdot\overline{\sigma_B^2}",
                  r"\text{paper:}\ \mathrm{Var}[x] = \frac{m}{m-1}\cdot\overline{\sigma_B^2}"])
    st.markdown(reading.factors(nt))
    st.markdown(
        "**The paper's formula is the one to use; the notes' slip mixes up two counts.** (PyTorch"
        " and Keras keep running averages: PyTorch of the unbiased σ²_B·m/(m−1), like the paper, "
        "Keras of the biased σ²_B.) A batch variance σ²_B divides by m and measures the spread "
        "around the batch's own mean, which sits closer to the batch's points than the true mean "
        "does: on average it is (m−1)/m of the true variance. Multiplying the average by m/(m−1) "
        "removes that bias (Bessel's correction, counted in examples per batch). The notes divide"
        " a *sum* of n_B variances by n_B − 1: that is the average batch variance times "
        "n_B/(n_B−1), a correction counted in batches, which tends to 1 as n_B grows. Their "
        "estimate tends to the biased average, too small by (m−1)/m (half at m = 2), and with few"
        " batches it is too large instead (n_B/(n_B−1) = 1.25 for 5 batches).")
    st.markdown(reading.layer_one(nt))
    if len(nt["ratios"]) > 1:
        st.subheader("Deeper layers: why Algorithm 2 overshoots, and the remedy")
        st.markdown(reading.deeper_layer(nt))
        st.markdown(reading.remedy(nt))
        ui.show_source(estimates.layerwise_statistics, "The code: layerwise_statistics")
    n_left, n_right = st.columns([1, 1], gap="large")
    with n_left:
        st.markdown("**Each estimate ÷ the exact variance** (average over units)")
        table(nt["ratios"], 4)
    with n_right:
        st.markdown("**The factor each formula applies** to the average batch variance "
                    f"(n_B = {trained.n_train} // m)")
        table(estimates.variance_factors(trained.n_train), 4)

# ------------------------------------------------------------------ convergence
with converge_out:
    st.plotly_chart(figures.convergence_figure(lesson.convergence), key="fig_converge")
    st.caption(figures.convergence_caption(config.layer, config.unit))
    table(lesson.convergence_table, 3, percent=["test accuracy"])
    st.caption(f"At the end of training, over the {ic.WIDTH} units of hidden layer {config.layer}: "
               "how far the running estimates are from the exact statistics, and the test "
               "accuracy they give in eval mode.")
    st.markdown("**PyTorch and Keras write the same update with opposite momenta** "
                "(PyTorch 0.1 = Keras 0.9; Keras's default 0.99 = PyTorch 0.01), **and average "
                "different variances**: PyTorch folds in the unbiased batch variance "
                "σ²_B·m/(m−1), Keras the biased σ²_B it normalised the batch with, so Keras's "
                "moving variance is about (m−1)/m of PyTorch's (half at m = 2).")
    st.table(estimates.momentum_conventions(config.momentum))
    st.caption(f"Keras: {estimates.KERAS_SOURCE}. PyTorch: torch.nn.BatchNorm1d (running_var "
               "uses the unbiased variance).")

# ------------------------------------------------------------------ failures
with failures:
    st.header("Two classic failures")
    st.subheader("(a) A training batch of one")
    one = lesson.batch_of_one
    st.markdown(
        "With m = 1, μ_B is the example itself and σ²_B = 0, so x̂ = 0/√(0 + ε) = 0 and "
        f"**y = β for every input**. Here is test example {config.example} in hidden layer 1:"
    )
    table(one["table"], 4)
    st.markdown(
        f"(y − β is {fmt(one['max_abs_y_minus_beta'], 2)} in every unit.) Every layer then "
        "outputs its β whatever the input, so the network gives one answer for everything: "
    )
    table(one["network"], 3, percent=["P(prediction)"])
    st.markdown("and nothing reaches the layers below through the gradient. So the code refuses:")
    for where, message in one["errors"].items():
        st.code(f"{where}:\nValueError: {message}", language="text", wrap_lines=True)

    st.subheader("(b) Small training batches")
    st.markdown(reading.sweep_intro(trained.n_train))
    sweep = None
    with ui.friendly_errors("the batch-size sweep"):
        sweep = batch_size_sweep(config.seed)
    if sweep is not None:
        w_left, w_right = st.columns([3, 2], gap="large")
        w_left.plotly_chart(figures.sweep_figure(sweep), key="fig_sweep")
        with w_right:
            st.markdown(reading.sweep_sentence(sweep))
            st.markdown(
                "Small batches make the batch statistics noisy: μ_B and σ²_B of a few examples "
                "are far from the population's, so training-mode outputs jump with the batch, "
                "and the network learns under that noise. With m = 2, x̂ is ±1 in every unit."
            )
            shown = sweep.drop(columns="diverged").assign(steps=sweep["steps"].map("{:,}".format))
            table(shown, 3, percent=["eval mode", "training mode"])
            st.caption(figures.CAPTIONS["sweep"])
