"""Lesson: the formula. One concrete mini-batch through Algorithm 1, step by step; ε; the backward pass.

Controls (the knobs of bn_core.formula.config.FormulaConfig, also the URL) → formula_lesson →
tables, bn_core.formula.figures and the sentences of bn_core.formula.reading → here.
"""

import functools

import streamlit as st

import ui

ui.page_setup("The formula", ":material/functions:")

from bn_core import batchnorm  # noqa: E402
from bn_core.formula import figures, lesson as core, reading  # noqa: E402
from bn_core.formula.config import FormulaConfig, latex_eps  # noqa: E402

P, ss, knob = "formula_", st.session_state, FormulaConfig.control
rows = ui.table_height
table = functools.partial(ui.table, placeholder="NaN")     # the lesson shows NaN as NaN


def control(name, where, **extra):
    return ui.widget(knob(name), P + name, where, **extra)


problems = ui.config_from_url(FormulaConfig, P, kept="formula_config")
st.title("The formula: one mini-batch through BN")
st.markdown(
    "In training mode, BN normalises each feature **over the mini-batch**: it subtracts the batch "
    "mean, divides by the batch standard deviation, then applies a learned scale γ and shift β "
    "(Ioffe & Szegedy 2015, Algorithm 1). Here is a small batch you can move around; every "
    "number below is computed by the code shown in the expanders."
)
ui.equations([
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i",
    r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2",
    r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}}",
    r"y_i = \gamma\,\hat{x}_i + \beta",
], per_row=4)                                      # one line on a wide page, stacked on a phone
with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4, gap="medium")
    control("batch_size", c1)
    features = control("features", c1)
    control("shift", c2, step=0.5)
    control("scale", c2)
    control("eps", c3)
    control("seed", c3)
    constant = control("constant", c4)
    control("spread", c4, disabled=not constant)

notices = st.container()
walk, eps_section, backward_section = st.container(), st.container(), st.container()
with walk:
    st.header(r"Step 1 · the batch mean $\mu_B$")
    s1_left, s1_right = st.columns([5, 6], gap="large")
    st.header(r"Step 2 · the batch variance $\sigma^2_B$")
    s2_left, s2_right = st.columns([5, 6], gap="large")
    st.header(r"Step 3 · normalise: $\hat{x}$")
    s3_left, s3_right = st.columns([5, 6], gap="large")
    st.header(r"Step 4 · scale and shift: $y = \gamma\hat{x} + \beta$")
    g1, g2, g3 = st.columns([3, 3, 4], gap="medium", vertical_alignment="bottom")
    identity = control("identity", g3)
    control("gamma", g1, step=0.1, disabled=identity)
    control("beta", g2, step=0.5, disabled=identity)
    s4_left, s4_right = st.columns([5, 6], gap="large")
    s4_after = st.container()
with backward_section:
    st.header("The backward pass")
    st.markdown("Training needs the gradient of the loss ℓ with respect to BN's input x, γ and "
                "β. Choose the gradient ∂ℓ/∂y that arrives from the layers above:")
    b1, b2 = st.columns([3, 1], gap="medium")
    control("upstream", b1)
    control("feature", b2, options=list(range(1, features + 1)))
    backward_out = st.container()

# ------------------------------------------------------------------ one call into the core
config, bad = ui.config_from_widgets(FormulaConfig, P, ss.formula_config)
ss.formula_config = config
ui.write_url(config)
with notices:
    ui.link_notices(problems if ui.arrived() else [])
    ui.reset_notices()
    for problem in bad:
        st.warning(f"A control sent back an unexpected value ({problem}); it was reset.")
lesson = None
with ui.friendly_errors("the formula walk"):
    lesson = core.formula_lesson(config)
if lesson is None:
    st.stop()
m, d = lesson.x.shape
x_digits = 7 if config.constant else 5
if lesson.nonfinite:
    notices.warning(f"ε = 0 and feature {', '.join(map(str, lesson.nonfinite))} is exactly "
                    "constant: its x̂ is 0/0 = NaN below. *Why ε?* explains.",
                    icon=":material/warning:")

# ------------------------------------------------------------------ the walk
with s1_left:
    st.latex(r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i")
    table(lesson.batch_frame(lesson.x, extra={"μ_B": lesson.xmean}), x_digits, rows(m + 1))
    st.caption(f"The batch x: m = {m} examples (rows) × D = {d} features; the last row is μ_B, "
               "the mean of each column.")
with s1_right:
    st.plotly_chart(figures.step_figure(lesson.x, lesson.xc, "x", "x − μ_B (centred)", [0.0]),
                    key="fig_step1")
    st.caption(figures.CAPTIONS["step1"])
with s2_left:
    st.latex(r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2")
    table(lesson.batch_frame(lesson.sq, extra={"σ²_B": lesson.xvar, "σ_B": lesson.sigma}), 4, rows(m + 2))
    st.caption("The squared deviations (x − μ_B)². σ²_B is their mean: it divides by m (the "
               "*biased* variance), as the paper and PyTorch do in training mode.")
with s2_right:
    st.plotly_chart(figures.step_figure(lesson.xc, lesson.sq, "x − μ_B",
                                        "(x − μ_B)², its mean is σ²_B"), key="fig_step2")
with s3_left:
    st.latex(r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}}"
             + rf"\qquad \varepsilon = {latex_eps(config.eps)}")
    table(lesson.batch_frame(lesson.xhat, extra={"mean": lesson.xhat_mean, "var": lesson.xhat_var}),
          4, rows(m + 2))
    st.caption(reading.normalised(lesson))
with s3_right:
    st.plotly_chart(figures.step_figure(lesson.xc, lesson.xhat, "x − μ_B", "x̂ (dotted: ±1)",
                                        [-1.0, 1.0]), key="fig_step3")
    if m == 2:
        st.info(reading.pair(lesson), icon=":material/info:")
with s4_left:
    if identity:
        st.latex(r"\begin{gathered}\gamma = \sqrt{\sigma_B^2},\quad \beta = \mu_B \\ "
                 r"\Rightarrow\; y_i = \sqrt{\tfrac{\sigma_B^2}{\sigma_B^2+\varepsilon}}\,(x_i-\mu_B)"
                 r" + \mu_B \approx x_i\end{gathered}")
    else:
        st.latex(rf"y_i = \gamma\,\hat x_i + \beta \qquad \gamma = {config.gamma:g},\ \beta = {config.beta:g}")
    table(lesson.batch_frame(lesson.y, extra={"mean": lesson.y_mean, "std": lesson.y_std}),
          x_digits if identity else 4, rows(m + 2))
    st.caption(reading.scaled(lesson))
with s4_right:
    st.plotly_chart(figures.step_figure(lesson.xhat, lesson.y, "x̂", "y = γ x̂ + β"), key="fig_step4")
with s4_after:
    st.markdown(reading.undo(lesson))
    st.subheader("The walk in one table")
    table(lesson.summary_frame(), 4)
    ui.show_source(batchnorm.batchnorm_forward,
                   "The code that computed the walk: bn_core.batchnorm.batchnorm_forward")

# ------------------------------------------------------------------ ε
with eps_section:
    st.header("Why ε?")
    st.markdown(
        "x̂ divides by √(σ²_B + ε). Without ε, a feature that is constant in the batch "
        "(σ²_B = 0, e.g. a ReLU that is off for every example, or a pixel that is always black) "
        "gives x̂ = 0/0: NaN, which then spreads through the whole network. ε keeps the "
        "division finite, and it also caps the **gain** 1/√(σ²_B + ε), the factor by which "
        "BN multiplies a feature's differences x − μ_B: tiny differences (noise, rounding) "
        "are not blown up to ±1 as if they were signal."
    )
    e_left, e_right = st.columns([6, 5], gap="large")
    e_left.plotly_chart(figures.epsilon_figure(lesson.eps_study, config.eps, lesson.eps_reference),
                        key="fig_eps")
    with e_right:
        st.markdown(figures.CAPTIONS["epsilon"])
        st.markdown(reading.feature_one(lesson))
    st.markdown(f"**Feature 1 at ε = 0, at yours ({knob('eps').show(config.eps)}), at PyTorch's "
                "default 1e-5 and at Keras's default 1e-3**")
    table(core.eps_table(lesson, 1), 4)
    if lesson.nonfinite:
        st.error(
            f"**ε = 0 on a constant feature: division by zero.** Feature "
            f"{', '.join(map(str, lesson.nonfinite))} has σ²_B = 0, so x̂ = 0/√0 = 0/0 = NaN (not "
            "a number): see the NaN in steps 3 and 4 and in the gradients below. Any ε > 0 gives "
            "x̂ = 0 instead. This is why ε exists, and why PyTorch refuses ε = 0 in training.",
            icon=":material/error:")

# ------------------------------------------------------------------ backward
with backward_out:
    ui.equations([          # in lines that fit the page (and a phone): nothing to scroll
        r"\frac{\partial \ell}{\partial \beta} = \sum_i dy_i \qquad "
        r"\frac{\partial \ell}{\partial \gamma} = \sum_i dy_i\,\hat x_i",
        r"d\hat x_i = \gamma\, dy_i",
    ])
    st.latex(
        r"\begin{aligned}\frac{\partial \ell}{\partial x_i} ={}& "
        r"\underbrace{\frac{d\hat x_i}{\sqrt{\sigma_B^2+\varepsilon}}}_{\text{direct}} + "
        r"\underbrace{\frac{1}{m}\frac{\partial \ell}{\partial \mu_B}}_{\text{through }\mu_B}"
        r"\\ &+ \underbrace{\frac{2(x_i-\mu_B)}{m}\frac{\partial \ell}{\partial \sigma_B^2}}"
        r"_{\text{through }\sigma_B^2}\end{aligned}"
    )
    st.markdown(
        "μ_B and σ²_B depend on every example of the batch, so the gradient of one example's "
        "input collects three paths. The paths through μ_B and σ²_B remove from dx its "
        "component along a constant shift and along x̂: **Σ dx = 0** and **Σ dx · x̂ ≈ 0** per "
        "feature. That is the backward side of a forward fact: adding a constant to a feature "
        "or multiplying it does not change BN's output, so the loss cannot care about those "
        "directions. With ε > 0 the scale invariance is not quite exact: Σ dx·x̂ is then "
        "ε/(σ²_B + ε) · Σ dx̂·x̂/√(σ²_B + ε) (the table's fifth row), negligible unless σ²_B "
        "is as small as ε."
    )
    table(lesson.gradient_frame().T.rename_axis("per feature"), 4)   # a named corner cell
    st.caption(
        "Per feature: the parameter gradients, the two sums, what ε predicts for Σ dx·x̂, the "
        f"forward check (shift every input by {core.SHIFT_TEST:g}, or multiply by "
        f"{core.SCALE_TEST:g}: how much does BN's output move?), and the largest relative error "
        "of dx against central finite differences (relative to the largest path term)."
    )
    j = config.feature
    p_left, p_right = st.columns([2, 3], gap="medium")      # the table's 7 columns need room
    with p_left:
        if j in lesson.nonfinite:
            st.info(f"Feature {j}'s gradients are NaN or infinite (ε = 0 on a constant feature: "
                    "division by zero), so there is nothing to draw. Pick another feature or "
                    "raise ε.", icon=":material/info:")
        else:
            st.plotly_chart(figures.paths_figure(lesson, j), key="fig_paths")
            st.caption(figures.paths_caption(j))
    with p_right:
        table(lesson.paths_frame(j), 4, rows(m + 1))
        st.caption(reading.paths_sum(lesson, j))
    ui.show_source(batchnorm.batchnorm_backward,
                   "The code that computed the gradients: bn_core.batchnorm.batchnorm_backward")
    ui.show_source(core.backward_paths,
                   "The three paths, for display: bn_core.formula.lesson.backward_paths")
