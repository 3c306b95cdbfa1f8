"""Lesson: inference. Train vs eval mode, running averages, the paper's population statistics,
the notes' variance, and the two classic failures (a batch of one, small batches)."""

import inspect
import math

import streamlit as st

import ui
from bn_core import batchnorm
from bn_core import lesson_inference as li

ui.page_setup("Inference: train vs eval", ":material/model_training:")

P = "inference_"                    # session-state keys of this page's widgets


def fmt(value, digits: int = 4) -> str:
    """A number as the tables show it: NaN and ∞ spelled out, small and large in e-notation."""
    if isinstance(value, str):
        return value
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def table(frame, digits: int = 4, height="auto", percent=()):
    """A table with numbers rounded to `digits` significant digits; columns in `percent` as %."""
    def number(v):
        return fmt(v, digits)

    def share(v):
        return "—" if isinstance(v, float) and math.isnan(v) else f"{v:.1%}"

    styler = frame.style.format({c: share if c in percent else number for c in frame.columns})
    st.dataframe(styler, height=height, placeholder="—")


def code(objects, title: str):
    with st.expander(title, icon=":material/code:"):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")


@st.cache_data(max_entries=8, show_spinner=False)
def trained_network(train_config):
    """Train once per config (shared by every visitor); a progress bar while it runs."""
    bar = st.progress(0.0, "Training the network…")
    trained = li.train_network(train_config, progress=lambda f, text: bar.progress(f, text))
    bar.empty()
    return trained


@st.cache_data(max_entries=4, show_spinner=False)
def batch_size_sweep(seed):
    bar = st.progress(0.0, "Training six networks…")
    frame = li.batch_size_sweep(seed, progress=lambda f, text: bar.progress(f, text))
    bar.empty()
    return frame


# ------------------------------------------------------------------ state: URL → widgets
ui.preset_from_url(li.InferenceConfig, P)

# ------------------------------------------------------------------ intro, network, training
st.title("Inference: train vs eval")
st.markdown(
    "In training mode BN normalises each example with the mean and variance **of its "
    "mini-batch**, so its output depends on the other examples in the batch. A trained network "
    "must answer for one input at a time, the same answer whatever else arrives with it, so at "
    "test time BN switches to **fixed statistics** estimated during training (eval mode)."
)
st.latex(
    r"\text{training:}\quad y = \gamma\,\frac{x-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}} + \beta"
    r"\qquad\qquad \text{eval:}\quad y = \gamma\,\frac{x-\mathrm{E}[x]}{\sqrt{\mathrm{Var}[x]+\varepsilon}} + \beta"
)

with st.container(border=True):
    st.markdown(
        f"**The network**: {li.DEPTH} hidden layers × {li.WIDTH} {li.ACTIVATION} units, BN "
        f"before each activation, SGD (learning rate {li.LR:g}), on the 8×8 handwritten digits. "
        "Trained here, once per setting (a few seconds)."
    )
    n1, n2, n3 = st.columns(3, gap="medium")
    n1.select_slider("Training batch size m", li.BATCH_CHOICES, key=P + "batch_size")
    n2.select_slider("Training steps", li.STEP_CHOICES, key=P + "steps")
    n3.number_input("Seed", 0, li.MAX_SEED, step=1, key=P + "seed")

trained = None
with ui.friendly_errors("training"):
    base = li.InferenceConfig(batch_size=st.session_state[P + "batch_size"],
                              steps=st.session_state[P + "steps"], seed=st.session_state[P + "seed"])
    trained = trained_network(base.train_config())
if trained is None:
    st.stop()
if trained.divergence:
    st.warning(f"{trained.divergence}. The numbers below are what it left.", icon=":material/warning:")

# ------------------------------------------------------------------ sections and their controls
single = st.container()
four = st.container()
notes_section = st.container()
converge = st.container()
failures = st.container()

with single:
    st.header("One input, two modes")
    if st.session_state[P + "example"] > trained.n_test - 1:
        st.session_state[P + "example"] = trained.n_test - 1
    st.number_input(f"Test example (0–{trained.n_test - 1})", 0, trained.n_test - 1, step=1,
                    key=P + "example", width=250)
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
        f"the course notes this app was built from ({li.NOTES_SOURCE}), and Algorithm 2 done "
        "**layer by layer**, the remedy for deeper layers."
    )
    st.latex(
        r"\text{Algorithm 2:}\quad \mathrm{E}[x] = \mathrm{E}_B[\mu_B] \qquad "
        r"\mathrm{Var}[x] = \frac{m}{m-1}\,\mathrm{E}_B[\sigma_B^2]"
    )
    f1, f2 = st.columns(2, gap="large")
    f1.select_slider("Momentum of the running averages (PyTorch convention)", li.MOMENTUM_CHOICES,
                     key=P + "momentum", format_func=li.format_momentum,
                     help="Changing it does not retrain: the running averages are replayed from "
                          "the batch statistics recorded during training.")
    f2.radio("Layer shown", list(range(1, li.DEPTH + 1)), key=P + "layer", horizontal=True,
             format_func=lambda l: f"hidden layer {l}")
    four_out = st.container()

with notes_section:
    st.header("The notes' variance vs the paper's")
    notes_out = st.container()

with converge:
    st.header("How the running averages converge")
    st.slider("Unit shown", 1, li.WIDTH, key=P + "unit", width=400)
    converge_out = st.container()

# ------------------------------------------------------------------ one call into the core
lesson = None
with ui.friendly_errors("the inference lesson"):
    config = li.InferenceConfig(**{name: st.session_state[P + name]
                                   for name in li.InferenceConfig.__dataclass_fields__})
    lesson = li.inference_lesson(trained, config)
if lesson is None:
    st.stop()
st.query_params.from_dict(config.to_query())
m = trained.batch_size
acc = lesson.accuracy["test accuracy"]

# ------------------------------------------------------------------ one input
info = lesson.single_info
with single_out:
    preds = info["train_predictions"]
    p_true = info["train_p_true"]
    st.markdown(
        f"Test example {info['example']} is a **{info['label']}**. In eval mode the network "
        f"predicts **{info['eval_prediction']}**, the same in any batch (across the three batches "
        f"below its logits move by {fmt(info['eval_change_across_batches'], 2)}: float rounding). "
        f"In training mode, put with {m - 1} other test example{'s' if m > 2 else ''} in a batch, "
        f"it gets P(true label) = {', '.join(f'{p:.0%}' for p in p_true)} in three batches"
        + (f" and even different predictions ({', '.join(map(str, preds))})" if len(set(preds)) > 1 else "")
        + ": its output depends on what else is in the batch."
    )
    table(lesson.single, 3, percent=[c for c in lesson.single.columns if c.startswith("P(")])

# ------------------------------------------------------------------ four ways
with four_out:
    table(lesson.accuracy, percent=list(lesson.accuracy.columns))
    best, worst = acc.idxmax(), acc.idxmin()
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
    code([batchnorm.population_statistics, li.running_estimates, batchnorm.BatchNorm1d.__call__,
          batchnorm.batchnorm_inference],
         "The code: population_statistics, running_estimates, BatchNorm1d.\\_\\_call\\_\\_, "
         "batchnorm_inference")

# ------------------------------------------------------------------ notes vs paper
with notes_out:
    nt = lesson.notes
    st.markdown(f"The course notes this app was built from ({li.NOTES_SOURCE}) save, for "
                "inference, the mean of the n_B "
                "training batches' means and, as the variance, the **sum** of their variances "
                "divided by n_B − 1. The paper averages the batch variances and corrects with the "
                "batch size m:")
    st.latex(
        r"\text{notes:}\ \sigma^2 = \frac{1}{n_B-1}\sum_{B=1}^{n_B}\sigma_B^2 = "
        r"\frac{n_B}{n_B-1}\cdot\overline{\sigma_B^2}"
        r"\qquad\qquad \text{paper:}\ \mathrm{Var}[x] = \frac{m}{m-1}\cdot\overline{\sigma_B^2}"
    )
    ratios = nt["ratios"]
    r1 = ratios.loc[1]
    st.markdown(
        f"Here m = {nt['m']} and n_B = {nt['n_B']} ({nt['n_train']} training images ÷ {nt['m']}): "
        f"the notes multiply the average batch variance by n_B/(n_B−1) = "
        f"**{nt['notes_factor']:.4f}**, the paper by m/(m−1) = **{nt['paper_factor']:.4f}**."
    )
    st.markdown(
        "**The paper is right; the notes mix up two counts.** A batch variance σ²_B divides "
        "by m and measures the spread around the batch's own mean, which sits closer to the "
        "batch's points than the true mean does: on average it is (m−1)/m of the true "
        "variance. Multiplying the average by m/(m−1) removes that bias (Bessel's "
        "correction, counted in examples per batch). The notes divide a *sum* of n_B "
        "variances by n_B − 1: that is the average batch variance times n_B/(n_B−1), a "
        "correction counted in batches, which tends to 1 as n_B grows. Their estimate "
        "tends to the biased average, too small by (m−1)/m (half at m = 2), and with few "
        "batches it is too large instead (n_B/(n_B−1) = 1.25 for 5 batches)."
    )
    st.markdown(
        f"Hidden layer 1 checks it: its input does not depend on BN, and against the exact "
        f"variance of the training set the average batch variance is **{r1['mean σ²_B']:.3f}×**, "
        f"the notes' estimate **{r1['notes']:.3f}×**, the paper's "
        f"**{r1['paper']:.3f}×** (averaged over the layer's units)."
    )
    if len(ratios) > 1:
        last = len(ratios)
        r2 = ratios.loc[last]
        st.subheader("Deeper layers: why Algorithm 2 overshoots, and the remedy")
        st.markdown(
            f"In hidden layer {last} the paper's estimate is **{r2['paper']:.3f}×** the exact "
            f"variance, the notes' {r2['notes']:.3f}× (test accuracy: Algorithm 2 "
            f"{nt['acc_paper']:.1%}, the notes {nt['acc_notes']:.1%}). In training mode, "
            "layer 1's x̂ is normalised with each batch's own statistics, so **within every "
            "training batch it has variance exactly 1**. In eval mode it is normalised with "
            "fixed statistics, and m examples of it have a within-batch variance of only "
            f"(m−1)/m on average ({(m - 1) / m:.3g} here). So the layer-{last} inputs of a "
            "training batch are already spread more than m eval-mode inputs would be, by about "
            f"m/(m−1), and Algorithm 2 multiplies by m/(m−1) once more: it **overcorrects**. "
            "The notes' formula leaves the m/(m−1) out (its n_B/(n_B−1) is about 1): it "
            "undercorrects, which in this layer partly cancels the inflation — right for the "
            f"wrong reason, as layer 1 shows ({r1['notes']:.3f}×)."
        )
        st.markdown(
            "**The remedy: recompute the statistics layer by layer**, with the layers below "
            "already in inference mode. Run the training batches through the frozen network: "
            "estimate layer 1's statistics (Algorithm 2), switch layer 1 to eval mode with "
            "them, then estimate layer 2's from inputs that come through the eval-mode layer 1, "
            "and so on. Each layer's statistics then describe the inputs it will get at test "
            f"time. Here layer {last}'s estimate becomes **{r2['layer by layer']:.3f}×** the "
            f"exact variance, and test accuracy **{nt['acc_layerwise']:.1%}** (exact statistics: "
            f"{nt['acc_exact']:.1%})."
        )
        code([li.layerwise_statistics], "The code: layerwise_statistics")
    n_left, n_right = st.columns([1, 1], gap="large")
    with n_left:
        st.markdown("**Each estimate ÷ the exact variance** (average over units)")
        table(ratios, 4)
    with n_right:
        st.markdown("**The factor each formula applies** to the average batch variance "
                    f"(n_B = {trained.n_train} // m)")
        table(li.variance_factors(trained.n_train), 4)


# ------------------------------------------------------------------ convergence
with converge_out:
    st.plotly_chart(li.convergence_figure(lesson.convergence), key="fig_converge")
    st.caption(
        f"Hidden layer {config.layer}, unit {config.unit}: the running estimates during training "
        "for several momenta, and the exact statistics of the training set at the weights of that "
        "moment (black). A large momentum follows the latest batches (noisy); a small one "
        "lags behind the moving target; None averages every batch since the start, including "
        "those from the untrained network."
    )
    table(lesson.convergence_table, 3, percent=["test accuracy"])
    st.caption(f"At the end of training, over the {li.WIDTH} units of hidden layer {config.layer}: "
               "how far the running estimates are from the exact statistics, and the test "
               "accuracy they give in eval mode.")
    st.markdown("**PyTorch and Keras write the same update with opposite momenta** "
                "(PyTorch 0.1 = Keras 0.9; Keras's default 0.99 = PyTorch 0.01), **and average "
                "different variances**: PyTorch folds in the unbiased batch variance "
                "σ²_B·m/(m−1), Keras the biased σ²_B it normalised the batch with, so Keras's "
                "moving variance is about (m−1)/m of PyTorch's (half at m = 2).")
    st.table(li.momentum_conventions(config.momentum))
    st.caption(f"Keras: {li.KERAS_SOURCE}. PyTorch: torch.nn.BatchNorm1d (running_var uses the "
               "unbiased variance).")

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
    st.markdown(
        f"The same network trained with batches of {', '.join(map(str, li.SWEEP_SIZES))}, "
        f"each seeing the same {li.SWEEP_EXAMPLES:,} training examples (about "
        f"{li.SWEEP_EXAMPLES / trained.n_train:.0f} epochs: {li.SWEEP_EXAMPLES // li.SWEEP_SIZES[0]:,} "
        f"steps with m = {li.SWEEP_SIZES[0]}, {li.SWEEP_EXAMPLES // li.SWEEP_SIZES[-1]:,} with "
        f"m = {li.SWEEP_SIZES[-1]}; momentum 0.1), tested in eval mode and in training mode "
        "(test batches of the same size m). Equal examples, not equal steps: at equal steps the "
        "large batches would also have seen far more data."
    )
    sweep = None
    with ui.friendly_errors("the batch-size sweep"):
        sweep = batch_size_sweep(config.seed)
    if sweep is not None:
        w_left, w_right = st.columns([3, 2], gap="large")
        with w_left:
            st.plotly_chart(li.sweep_figure(sweep), key="fig_sweep")
        with w_right:
            st.markdown(li.sweep_sentence(sweep))
            st.markdown(
                "Small batches make the batch statistics noisy: μ_B and σ²_B of a few examples "
                "are far from the population's, so training-mode outputs jump with the batch, "
                "and the network learns under that noise. With m = 2, x̂ is ±1 in every unit."
            )
            shown = sweep.drop(columns="diverged").assign(steps=sweep["steps"].map("{:,}".format))
            table(shown, 3, percent=["eval mode", "training mode"])
            st.caption("Test accuracy per training batch size m.")
