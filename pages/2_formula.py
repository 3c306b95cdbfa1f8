"""Lesson: the formula. One concrete mini-batch through Algorithm 1, step by step; ε; the backward pass."""

import inspect
import math

import streamlit as st

import ui
from bn_core import batchnorm
from bn_core import lesson_formula as lf

ui.page_setup("The formula", ":material/functions:")

P = "formula_"                      # session-state keys of this page's widgets


def fmt(value, digits: int = 4) -> str:
    """A number as the tables show it: NaN and ∞ spelled out, small and large in e-notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    if isinstance(value, str):
        return value
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def num(value) -> str:
    """A number for a sentence: thousands with separators, else 3 significant digits."""
    if isinstance(value, float) and math.isfinite(value) and 1e3 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return fmt(value, 3)


def table(frame, digits: int = 4, height="auto"):
    st.dataframe(frame.style.format(lambda v: fmt(v, digits), na_rep="NaN"), height=height,
                 placeholder="NaN")


def rows(n: int) -> int:
    """Height (px) of a table of n rows and a header, at most 420 (then it scrolls)."""
    return min(420, 35 * (n + 1) + 3)


def code(obj, title: str):
    with st.expander(title, icon=":material/code:"):
        st.code(inspect.getsource(obj), language="python")


# ------------------------------------------------------------------ state: URL → widgets
ui.preset_from_url(lf.FormulaConfig, P)

# ------------------------------------------------------------------ intro and batch controls
st.title("The formula: one mini-batch through BN")
st.markdown(
    "In training mode, BN normalises each feature **over the mini-batch**: it subtracts the batch "
    "mean, divides by the batch standard deviation, then applies a learned scale γ and shift β "
    "(Ioffe & Szegedy 2015, Algorithm 1). Here is a small batch you can move around; every "
    "number below is computed by the code shown in the expanders."
)
st.latex(
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i \qquad "
    r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2 \qquad "
    r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}} \qquad "
    r"y_i = \gamma\,\hat{x}_i + \beta"
)

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4, gap="medium")
    with c1:
        st.slider("Batch size m", 2, lf.MAX_BATCH, key=P + "batch_size")
        features = st.slider("Features D", 1, lf.MAX_FEATURES, key=P + "features")
    with c2:
        st.slider("Shift (added to every value)", -50.0, 50.0, step=0.5, key=P + "shift",
                  help="Moves the batch away from mean 0.")
        st.select_slider("Scale (multiplies every value)", lf.SCALE_CHOICES, key=P + "scale",
                         format_func=lambda v: f"{v:g}", help="Moves the batch away from variance 1.")
    with c3:
        st.select_slider("ε", lf.EPS_CHOICES, key=P + "eps", format_func=lf.format_eps,
                         help="PyTorch uses 1e-5, Keras 1e-3. 0 is allowed: see *Why ε?* below.")
        st.number_input("Seed", 0, lf.MAX_SEED, step=1, key=P + "seed")
    with c4:
        constant = st.toggle("Constant feature 1", key=P + "constant",
                             help="Makes feature 1 almost the same for every example, to see what ε is for.")
        st.select_slider("its spread δ", lf.SPREAD_CHOICES, key=P + "spread",
                         format_func=lambda v: "0 (exactly constant)" if v == 0 else f"{v:g}",
                         disabled=not constant,
                         help="Feature 1 becomes k + δ·z: its values differ only by about δ.")

if st.session_state[P + "feature"] > features:      # before the widget that shows it exists
    st.session_state[P + "feature"] = 1

nan_note = st.container()
walk = st.container()
eps_section = st.container()
backward_section = st.container()

with walk:
    st.header(r"Step 1 · the batch mean $\mu_B$")
    s1_left, s1_right = st.columns([5, 6], gap="large")
    st.header(r"Step 2 · the batch variance $\sigma^2_B$")
    s2_left, s2_right = st.columns([5, 6], gap="large")
    st.header(r"Step 3 · normalise: $\hat{x}$")
    s3_left, s3_right = st.columns([5, 6], gap="large")
    st.header(r"Step 4 · scale and shift: $y = \gamma\hat{x} + \beta$")
    s4_controls = st.container()
    s4_left, s4_right = st.columns([5, 6], gap="large")
    s4_after = st.container()
with s4_controls:
    g1, g2, g3 = st.columns([3, 3, 4], gap="medium", vertical_alignment="bottom")
    identity = g3.toggle("Undo it: γ = √σ²_B, β = μ_B", key=P + "identity",
                         help="Per feature: γ = the batch standard deviation, β = the batch mean.")
    g1.slider("γ (scale)", -5.0, 5.0, step=0.1, key=P + "gamma", disabled=identity)
    g2.slider("β (shift)", -10.0, 10.0, step=0.5, key=P + "beta", disabled=identity)
with backward_section:
    st.header("The backward pass")
    st.markdown(
        "Training needs the gradient of the loss ℓ with respect to BN's input x, γ and β. "
        "Choose the gradient ∂ℓ/∂y that arrives from the layers above:"
    )
    b1, b2 = st.columns([3, 1], gap="medium")
    b1.selectbox("Upstream gradient dy = ∂ℓ/∂y", list(lf.UPSTREAM), key=P + "upstream",
                 format_func=lf.UPSTREAM.get)
    b2.selectbox("Feature to split into paths", list(range(1, features + 1)), key=P + "feature",
                 format_func=lambda j: f"feature {j}")
    backward_out = st.container()

# ------------------------------------------------------------------ one call into the core
lesson = None
with ui.friendly_errors("the formula walk"):
    config = lf.FormulaConfig(**{name: st.session_state[P + name]
                                 for name in lf.FormulaConfig.__dataclass_fields__})
    lesson = lf.formula_lesson(config)
if lesson is None:
    st.stop()
st.query_params.from_dict(config.to_query())

m, d = lesson.x.shape
eps_text = lf.format_eps(config.eps)
x_digits = 7 if config.constant else 5

if lesson.nonfinite:
    with nan_note:
        st.warning(f"ε = 0 and feature {', '.join(map(str, lesson.nonfinite))} is exactly constant: "
                   "its x̂ is 0/0 = NaN below. *Why ε?* explains.", icon=":material/warning:")

# ------------------------------------------------------------------ the walk
with s1_left:
    st.latex(r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i")
    table(lesson.batch_frame(lesson.x, extra={"μ_B": lesson.xmean}), x_digits, height=rows(m + 1))
    st.caption(f"The batch x: m = {m} examples (rows) × D = {d} features; the last row is μ_B, "
               "the mean of each column.")
with s1_right:
    st.plotly_chart(lf.step_figure(lesson.x, lesson.xc, "x", "x − μ_B (centred)", [0.0]),
                    key="fig_step1")
    st.caption("Each dot is one example; the black tick is each feature's mean. Subtracting μ_B "
               "moves every feature to mean 0 without changing its spread.")

with s2_left:
    st.latex(r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2")
    table(lesson.batch_frame(lesson.sq, extra={"σ²_B": lesson.xvar, "σ_B": lesson.sigma}),
          4, height=rows(m + 2))
    st.caption("The squared deviations (x − μ_B)². σ²_B is their mean of the squared deviations: it divides by m (the *biased* "
               "variance), as the paper and PyTorch do in training mode.")
with s2_right:
    st.plotly_chart(lf.step_figure(lesson.xc, lesson.sq, "x − μ_B", "(x − μ_B)², its mean is σ²_B"),
                    key="fig_step2")

with s3_left:
    st.latex(r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}}"
             + rf"\qquad \varepsilon = {lf.latex_eps(config.eps)}")
    table(lesson.batch_frame(lesson.xhat, extra={"mean": lesson.xhat_mean, "var": lesson.xhat_var}),
          4, height=rows(m + 2))
    st.caption("x̂, with its mean and variance per feature. Every feature now has mean 0 and variance σ²_B/(σ²_B + ε): 1 up to ε, "
               "whatever its shift and scale were.")
with s3_right:
    st.plotly_chart(lf.step_figure(lesson.xc, lesson.xhat, "x − μ_B", "x̂ (dotted: ±1)", [-1.0, 1.0]),
                    key="fig_step3")
    if m == 2:
        st.info("With m = 2 the two values of a feature always become −1 and +1 (up to ε): "
                "x̂ keeps only which of the two is larger.", icon=":material/info:")

with s4_left:
    if identity:
        st.latex(r"\begin{gathered}\gamma = \sqrt{\sigma_B^2},\quad \beta = \mu_B \\ "
                 r"\Rightarrow\; y_i = \sqrt{\tfrac{\sigma_B^2}{\sigma_B^2+\varepsilon}}\,(x_i-\mu_B)"
                 r" + \mu_B \approx x_i\end{gathered}")
    else:
        st.latex(rf"y_i = \gamma\,\hat x_i + \beta \qquad \gamma = {config.gamma:g},\ \beta = {config.beta:g}")
    table(lesson.batch_frame(lesson.y, extra={"mean": lesson.y_mean, "std": lesson.y_std}),
          x_digits if identity else 4, height=rows(m + 2))
    st.caption("The output y of every example, with its mean (β) and standard deviation (|γ|, up to ε).")
with s4_right:
    st.plotly_chart(lf.step_figure(lesson.xhat, lesson.y, "x̂", "y = γ x̂ + β"), key="fig_step4")
with s4_after:
    finite = [j for j in range(d) if j + 1 not in lesson.nonfinite]
    err = max(lesson.identity_error[finite], default=math.nan)
    err_exact = max(lesson.identity_error_exact[finite], default=math.nan)
    if config.eps > 0:
        why = (f"the largest |y − x| in this batch is **{fmt(err, 3)}**, not exactly 0 because ε "
               "stays under the square root (y = √(σ²_B/(σ²_B+ε))·(x − μ_B) + μ_B); with "
               f"γ = √(σ²_B + ε) it is **{fmt(err_exact, 3)}** (rounding only).")
    else:
        why = f"the largest |y − x| in this batch is **{fmt(err, 3)}** (rounding only, as ε = 0)."
    if lesson.nonfinite:
        why += " (Not for the constant feature at ε = 0: its x̂ is NaN.)"
    st.markdown(
        "**γ and β give back what normalising took away.** With γ = √σ²_B and β = μ_B (turn on "
        f"the toggle), y returns the input: {why} So BN can always represent “no "
        "normalisation”, and the network learns how much of it to keep."
    )
    st.subheader("The walk in one table")
    table(lesson.summary_frame(), 4)
    code(batchnorm.batchnorm_forward, "The code that computed the walk: bn_core.batchnorm.batchnorm_forward")

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
    with e_left:
        st.plotly_chart(lf.epsilon_figure(lesson.eps_study, config.eps, lesson.eps_reference),
                        key="fig_eps")
    with e_right:
        st.markdown(
            "**How to read it.** The gain of each feature against ε (log scales). While "
            "ε ≪ σ²_B the gain is 1/σ_B and ε changes nothing: that is the case of ordinary "
            "features (solid lines, yours). Once ε ≫ σ²_B the gain is 1/√ε: ε damps the "
            "feature. The dashed lines are two reference features: a *nearly* constant one "
            "(values differing by about 0.001, σ²_B ≈ 10⁻⁶) whose gain climbs to about 1,000 "
            "as ε → 0, and an *exactly* constant one whose gain 1/√ε has no limit: at ε = 0 "
            "it is 1/0."
        )
        f1_var = float(lesson.xvar[0])
        if config.constant and config.spread == 0:
            st.markdown(
                "Your feature 1 is **exactly constant**: x − μ_B = 0 and σ²_B = 0, so "
                "x̂ = 0/√ε = 0 for every ε > 0. At ε = 0 the formula is 0/0 = **NaN**: what a "
                "framework without ε would produce."
            )
        elif config.constant:
            st.markdown(
                f"Your feature 1 is **nearly constant** (δ = {config.spread:g}, "
                f"σ²_B = {fmt(f1_var, 3)}). With ε well below σ²_B its gain reaches "
                f"1/σ_B ≈ {num(1 / math.sqrt(f1_var))} and x̂ spreads to about ±1 like any "
                "other feature: differences of about δ are amplified as if they were signal."
            )
        else:
            st.markdown(
                f"Your feature 1 has σ²_B = {fmt(f1_var, 3)}, far above any usual ε. Turn on "
                "**Constant feature 1** above to put it where ε matters."
            )
    st.markdown(f"**Feature 1 at ε = 0, at yours ({eps_text}), at PyTorch's default 1e-5 and at "
                "Keras's default 1e-3**")
    table(lf.eps_table(lesson, 1), 4)
    if lesson.nonfinite:
        bad = ", ".join(str(j) for j in lesson.nonfinite)
        st.error(
            f"**ε = 0 on a constant feature: division by zero.** Feature {bad} has σ²_B = 0, so "
            f"x̂ = 0/√0 = 0/0 = NaN (not a number): see the NaN in steps 3 and 4 and in the "
            "gradients below. Any ε > 0 gives x̂ = 0 instead. This is why ε exists, and why "
            "PyTorch refuses ε = 0 in training.", icon=":material/error:")

# ------------------------------------------------------------------ backward
with backward_out:
    st.latex(
        r"\frac{\partial \ell}{\partial \beta} = \sum_i dy_i \qquad "
        r"\frac{\partial \ell}{\partial \gamma} = \sum_i dy_i\,\hat x_i \qquad "
        r"\frac{\partial \ell}{\partial x_i} = "
        r"\underbrace{\frac{d\hat x_i}{\sqrt{\sigma_B^2+\varepsilon}}}_{\text{direct}} + "
        r"\underbrace{\frac{1}{m}\frac{\partial \ell}{\partial \mu_B}}_{\text{through }\mu_B} + "
        r"\underbrace{\frac{2(x_i-\mu_B)}{m}\frac{\partial \ell}{\partial \sigma_B^2}}_{\text{through }\sigma_B^2}"
        r"\qquad d\hat x_i = \gamma\, dy_i"
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
    table(lesson.gradient_frame().T, 4)
    st.caption(
        "Per feature: the parameter gradients, the two sums, what ε predicts for Σ dx·x̂, the "
        f"forward check (shift every input by {lf.SHIFT_TEST:g}, or multiply by "
        f"{lf.SCALE_TEST:g}: how much does BN's output move?), and the largest relative error of "
        "dx against central finite differences (relative to the largest path term)."
    )
    j = config.feature
    p_left, p_right = st.columns([2, 3], gap="medium")      # the table's 7 columns need room
    with p_left:
        if j in lesson.nonfinite:
            st.info(f"Feature {j}'s gradients are NaN or infinite (ε = 0 on a constant feature: "
                    "division by zero), so there is nothing to draw. Pick another feature or "
                    "raise ε.", icon=":material/info:")
        else:
            st.plotly_chart(lf.paths_figure(lesson, j), key="fig_paths")
            st.caption(f"dx of feature {j}, example by example: the three paths (bars, stacked) "
                       "and their sum (diamonds).")
    with p_right:
        table(lesson.paths_frame(j), 4, height=rows(m + 1))
        st.caption("The Σ row: the path through μ_B cancels the sum of the direct path, and the "
                   "path through σ²_B adds nothing to it (Σ x̂ = 0).")
    code(batchnorm.batchnorm_backward, "The code that computed the gradients: bn_core.batchnorm.batchnorm_backward")
    code(lf.backward_paths, "The three paths, for display: bn_core.lesson_formula.backward_paths")
