"""The lesson's words: the introduction, each experiment's claim and method, the noise model as
used (checked against the paper), and what is disputed. Markdown strings; no computation."""

from __future__ import annotations

from bn_core.why.config import SCALE_FACTOR
from bn_core.why.training import DLN_EXAMPLES, DLN_WIDTH

__all__ = ["CLAIMS", "DISPUTED", "INTRO", "NOISE_MODEL", "claim"]

INTRO = (
    "The 2015 paper designed BN to reduce *internal covariate shift*: the change of each layer's "
    "input distribution as the layers below it learn. The lab shows that BN does steady those "
    "distributions. But is that **why** it helps? Santurkar, Tsipras, Ilyas and Madry, *How Does "
    "Batch Normalization Help Optimization?* (NeurIPS 2018, arXiv 1805.11604) argue it is not: "
    "BN helps even when the distributions are deliberately shaken, it does not reduce the shift "
    "as an optimizer feels it, and what it does instead is make the loss landscape smoother. "
    "Here you test their experiments yourself, in miniature, on real networks trained from "
    "several seeds — and see which parts hold up.")

CLAIMS = {
    "noise": (
        "**Claim (their §2.1, Figure 2):** inject noise after every BN layer, so that every "
        "unit's input distribution changes at every step. If BN worked by keeping those "
        "distributions steady, this *noisy BN* network should lose BN's advantage. They found "
        "it trains about as well as BN, and better than the network without BN, although its "
        "distributions are the least stable of the three. Here the same three networks train "
        "from each seed, on the same mini-batches."),
    "ics": (
        "**Claim (their §2.2, Figure 3):** measure internal covariate shift the way an optimizer "
        "feels it. For layer i at step t, G is the gradient of its weights; G′ is the same "
        "gradient, on the same batch, after layers 1 … i−1 have taken their step. If BN reduced "
        "the shift, G′ would stay closer to G (cos near 1, ‖G − G′‖ small) with BN. They found "
        "it does not — and in a 25-layer deep linear network, G and G′ are almost uncorrelated "
        "with BN while it trains far better."),
    "landscape": (
        "**Claim (their §3.2, Figure 4):** BN makes the landscape smoother. At points of "
        "training, step along the gradient by 0.5 … 4 × the learning rate, on the same batch, "
        "and record how much the loss varies, how much the gradient changes "
        "(*predictiveness*), and the largest change of the gradient per distance moved (an "
        "*effective β-smoothness*). BN's running statistics are saved and restored around each "
        "probe, so probing changes nothing. They found all three much smaller with BN, "
        "especially early in training."),
    "scale": (
        "**A fact behind all of this:** with BN after a bias-free linear layer, BN(a·W·u) = "
        "BN(W·u) for any a > 0, so the loss does not depend on the size of W, and ∇L(a·W) = "
        "∇L(W)/a. Plain SGD then makes ‖W‖ grow (each step is orthogonal to W), and the step "
        "that matters, relative to W, is about η/‖w‖²: a growing norm quietly lowers the "
        "learning rate, and weight decay stops it at an equilibrium. Press **Multiply W by "
        f"{SCALE_FACTOR:g}** to train copies that start with {SCALE_FACTOR:g}× larger weights."),
}

NOISE_MODEL = (
    "**The noise, as used here** (the engine's `NetSpec.noise`, strength s; the values checked "
    "against the paper's appendix A.2.1 and its Algorithm 1): after each BN, in training mode "
    "only, for every unit and step μ ~ U(−0.5·s, 0.5·s) and σ ~ U(1, 1 + 0.25·s), as the paper's "
    "Algorithm 1 draws them in its loop over units, and for every example and unit "
    "m ~ U(μ − 0.1·s, μ + 0.1·s) and n ~ N(σ, 0.1·s) (0.1·s: the standard deviation); the BN "
    "output a becomes n·a + m. At s = 1 these are the paper's constants n_μ = 0.5, n_σ = 1.25, "
    "r_μ = r_σ = 0.1. Test accuracy is measured in eval mode, without noise.")

LINEAR_NOTE = (
    f"The deep linear network: {{depth}} layers of {DLN_WIDTH} × {DLN_WIDTH} weights, no "
    f"nonlinearity, fitting y = A·x on {DLN_EXAMPLES} Gaussian examples (the paper used 1,000) "
    "with the mean squared error, full-batch gradient descent, Glorot initialisation; with BN, "
    "BN after every layer but the last.")

DISPUTED = """
**What the evidence supports, and what is disputed.**

- *The noise experiment* shows that steady layer-input distributions are not necessary for BN's
  benefit. It does not show that they play no role at all.
- *Internal covariate shift* has no single definition. Santurkar et al. replaced the 2015
  paper's distributional one by a gradient-based one (G against G′) and found that BN does not
  reduce it; defenders of the covariate-shift view answer that this measures something else,
  and the intuition behind the 2015 paper still has defenders.
- *Smoothness.* Their theory covers **one** BN layer with γ and β held fixed, and bounds the
  gradient's size and its change in the directions the network actually moves; it is not a proof
  for deep networks. The measurements here are on small MLPs and can come out differently from
  their VGG (look at what the verdicts say for your settings).
- *Depth.* Yang et al. (ICLR 2019, "A Mean Field Theory of Batch Normalization") show that deep
  BN networks **without skip connections** have gradients that explode at initialisation —
  the opposite of a smooth landscape at the start; in practice, residual connections and
  learning-rate warm-up deal with it.
- *Other explanations* are in play too: the scale invariance shown in experiment 4 (an
  automatic tuning of the effective learning rate), the decoupling of a weight vector's length
  from its direction, and the noise of batch statistics as a regulariser.

So the page teaches the evidence, not a slogan: each experiment says whether its result
reproduces at the settings you chose.
"""


def claim(config) -> str:
    """The experiment's claim, with the linear network's description where it is chosen."""
    text = CLAIMS[config.experiment]
    if config.experiment == "ics" and config.network == "linear":
        text += "\n\n" + LINEAR_NOTE.format(depth=config.dln_depth)
    return text
