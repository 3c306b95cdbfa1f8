"""BatchNorm Lab — the Home page and entry point: `streamlit run app.py`."""

import streamlit as st

import ui

ui.page_setup("Home", ":material/home:", layout="centered")

st.title("BatchNorm Lab")
st.markdown(
    "**Batch Normalization** (Ioffe & Szegedy, 2015) normalises the input of a layer over each "
    "mini-batch: every feature is shifted to mean 0 and scaled to variance 1, then given a learned "
    "scale γ and shift β. It lets deep networks train with larger learning rates and makes them "
    "less sensitive to how their weights start. It is a standard part of convolutional networks "
    "for images (ResNet and its relatives); transformers, and so most language models, use "
    "LayerNorm or RMSNorm instead, which normalise each token over its own features rather than "
    "over the batch."
)
st.latex(
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i \qquad "
    r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2 \qquad "
    r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}} \qquad "
    r"y_i = \gamma\,\hat{x}_i + \beta"
)
st.markdown(
    "In this app you train real small neural networks, right here, and watch what BN does to "
    "them: the same network without BN and with BN, side by side, from the same starting "
    "weights and the same mini-batches, so every difference you see comes from BN alone. "
    "Move the sliders (learning rate, where BN goes, epsilon, momentum, batch size…), press "
    "**Train**, and look."
)

st.subheader("The lessons")
LESSONS = {
    "pages/1_lab.py": "Train a network with and without BN and watch each layer's input "
    "distribution move (or not) — the paper's Figure 1, live. Why was BN said to fix "
    "*internal covariate shift*, and what does the picture really show?",
    "pages/2_formula.py": "One mini-batch through Algorithm 1, step by step: the batch mean, "
    "variance, normalisation, γ and β, what ε is for, and the backward pass.",
    "pages/3_inference.py": "Why a trained BN network behaves differently in eval mode, the "
    "running averages behind it, the paper's population statistics, and the two classic failures.",
    "pages/4_experiments.py": "Settle claims across many seeds: BN before or after the "
    "activation, larger learning rates, bad initialisation, small batches.",
}
for path, label, icon in ui.PAGES[1:]:
    if (ui.ROOT / path).exists():
        st.page_link(path, label=f"**{label}**", icon=icon)
        st.caption(LESSONS.get(path, ""))

st.divider()
st.caption(
    "Everything is computed live by the code shown in the lessons (numpy and PyTorch). "
    "Every run is seeded: the same settings give the same result, and a page's URL "
    "reproduces what it shows."
)
