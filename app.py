"""BatchNorm Lab — the Home page and entry point: `streamlit run app.py`."""

import streamlit as st

import ui

ui.page_setup("Home", layout="centered")

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
ui.equations([
    r"\mu_B = \frac{1}{m}\sum_{i=1}^{m} x_i",
    r"\sigma_B^2 = \frac{1}{m}\sum_{i=1}^{m} (x_i-\mu_B)^2",
    r"\hat{x}_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\varepsilon}}",
    r"y_i = \gamma\,\hat{x}_i + \beta",
])
st.markdown(
    "In this app you train real small neural networks, right here, and watch what BN does to "
    "them: the same network without BN and with BN, side by side, from the same starting "
    "weights and the same mini-batches, so every difference you see comes from BN alone. "
    "Move the sliders (learning rate, where BN goes, epsilon, momentum, batch size…), press "
    "**Train**, and look."
)

st.header("The lessons")
for page in ui.PAGES[1:]:
    if (ui.ROOT / page.path).exists():
        st.page_link(page.path, label=f"**{page.label}**", icon=page.icon)
        st.caption(page.summary)

st.divider()
st.caption(
    "Everything is computed live by the code shown in the lessons (numpy and PyTorch). "
    "Every run is seeded: the same settings give the same result, and a page's URL "
    "reproduces what it shows."
)
