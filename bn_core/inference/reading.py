"""The inference lesson's numbers in plain sentences (markdown), as the page shows them.

    single_input(info, m)        one test example in eval mode and in three training batches
    factors(notes)               the notes' n_B/(n_B−1) against the paper's m/(m−1), here
    layer_one(notes)             hidden layer 1: each estimate against the exact variance
    deeper_layer(notes)          why Algorithm 2 overshoots in the last layer
    remedy(notes)                what Algorithm 2 layer by layer gives there
    sweep_intro(n_train), sweep_sentence(frame)     the small-batch study
"""

from __future__ import annotations

import pandas as pd

from bn_core.inference.batch_sizes import SWEEP_EXAMPLES, SWEEP_SIZES

__all__ = ["single_input", "factors", "layer_one", "deeper_layer", "remedy", "sweep_intro",
           "sweep_sentence"]


def single_input(info: dict, m: int) -> str:
    """`info`: InferenceLesson.single_info; m: the training batch size."""
    preds, p_true = info["train_predictions"], info["train_p_true"]
    differ = (f" and even different predictions ({', '.join(map(str, preds))})"
              if len(set(preds)) > 1 else "")
    return (f"Test example {info['example']} is a **{info['label']}**. In eval mode the network "
            f"predicts **{info['eval_prediction']}**, the same in any batch (across the three "
            f"batches below its logits move by {info['eval_change_across_batches']:.2g}: float "
            f"rounding). In training mode, put with {m - 1} other test "
            f"example{'s' if m > 2 else ''} in a batch, it gets P(true label) = "
            f"{', '.join(f'{p:.0%}' for p in p_true)} in three batches{differ}: its output "
            "depends on what else is in the batch.")


def factors(notes: dict) -> str:
    """`notes`: InferenceLesson.notes."""
    m, n_b = notes["m"], notes["n_B"]
    return (f"Here m = {m} and n_B = {n_b} ({notes['n_train']} training images ÷ {m}): the notes "
            "multiply the average batch variance by n_B/(n_B−1) = "
            f"**{notes['notes_factor']:.4f}**, the paper by m/(m−1) = "
            f"**{notes['paper_factor']:.4f}**.")


def layer_one(notes: dict) -> str:
    r1 = notes["ratios"].loc[1]
    return ("Hidden layer 1 checks it: its input does not depend on BN, and against the exact "
            "variance of the training set the average batch variance is "
            f"**{r1['mean σ²_B']:.3f}×**, the notes' estimate **{r1['notes']:.3f}×**, the "
            f"paper's **{r1['paper']:.3f}×** (averaged over the layer's units).")


def deeper_layer(notes: dict) -> str:
    """Why Algorithm 2 overcorrects the last hidden layer (a network of two or more), and by how
    much: Algorithm 2 = m/(m−1) · mean σ²_B, and the m/(m−1) only undoes the (m−1)/m by which m
    eval-mode inputs would under-spread; so its ratio to the exact variance is the inflation I
    of the training batches' spread, measured against the layer-by-layer estimate (the same
    Algorithm 2 on inputs that come through an eval-mode layer 1):

        I = ratio(Algorithm 2) / ratio(layer by layer)
          = m/(m−1)               (layer 1's x̂ has within-batch variance 1, not (m−1)/m)
          × I · (m−1)/m           (the rest: how layer 2's inputs add up those values)
    """
    ratios, m = notes["ratios"], notes["m"]
    last = len(ratios)
    r1, r2 = ratios.loc[1], ratios.loc[last]
    inflation = r2["paper"] / r2["layer by layer"]
    rest = inflation * (m - 1) / m
    return (f"In hidden layer {last} the paper's estimate is **{r2['paper']:.3f}×** the exact "
            f"variance, the notes' {r2['notes']:.3f}× (test accuracy: Algorithm 2 "
            f"{notes['acc_paper']:.1%}, the notes {notes['acc_notes']:.1%}). In training mode, "
            "layer 1's x̂ is normalised with each batch's own statistics, so **within every "
            "training batch it has variance exactly 1**. In eval mode it is normalised with "
            "fixed statistics, and m examples of it have a within-batch variance of only "
            f"(m−1)/m on average ({(m - 1) / m:.3g} here). So the layer-{last} inputs of a "
            "training batch are already spread more than m eval-mode inputs would be, and "
            "Algorithm 2 multiplies by m/(m−1) once more: it **overcorrects**. By how much? "
            f"The same Algorithm 2 on layer-{last} inputs that came through an eval-mode layer 1 "
            f"gives {r2['layer by layer']:.3f}×, so layer 1's training-mode normalisation "
            f"inflated the spread {inflation:.2f}-fold. The variance of x̂ accounts for "
            f"m/(m−1) = {m / (m - 1):.2f} of that; the remaining **{rest:.2f}×** comes from how "
            f"layer {last} adds those values up: "
            + ("with m = 2 every unit of layer 1 sits at exactly −1 or +1, all of them at their "
               "extremes at once, and the weighted sum of such pinned values spreads further "
               "than the sum of eval-mode values of the same variance. "
               if m == 2 else "each unit's values pinned to the batch's own spread at once. ")
            + "The notes' formula leaves the m/(m−1) out (its n_B/(n_B−1) is about 1): it "
            "undercorrects, which in this layer partly cancels the inflation — right for the "
            f"wrong reason, as layer 1 shows ({r1['notes']:.3f}×).")


def remedy(notes: dict) -> str:
    last = len(notes["ratios"])
    r2 = notes["ratios"].loc[last]
    return ("**The remedy: recompute the statistics layer by layer**, with the layers below "
            "already in inference mode. Run the training batches through the frozen network: "
            "estimate layer 1's statistics (Algorithm 2), switch layer 1 to eval mode with "
            "them, then estimate layer 2's from inputs that come through the eval-mode layer 1, "
            "and so on. Each layer's statistics then describe the inputs it will get at test "
            f"time. Here layer {last}'s estimate becomes **{r2['layer by layer']:.3f}×** the "
            f"exact variance, and test accuracy **{notes['acc_layerwise']:.1%}** (exact "
            f"statistics: {notes['acc_exact']:.1%}).")


def sweep_intro(n_train: int, sizes=SWEEP_SIZES, examples: int = SWEEP_EXAMPLES) -> str:
    return (f"The same network trained with batches of {', '.join(map(str, sizes))}, each seeing "
            f"the same {examples:,} training examples (about {examples / n_train:.0f} epochs: "
            f"{examples // sizes[0]:,} steps with m = {sizes[0]}, {examples // sizes[-1]:,} with "
            f"m = {sizes[-1]}; momentum 0.1), tested in eval mode and in training mode (test "
            "batches of the same size m). Equal examples, not equal steps: at equal steps the "
            "large batches would also have seen far more data.")


def sweep_sentence(frame: pd.DataFrame) -> str:
    """One sentence reading the sweep: where the two modes part, and how far."""
    ev = frame["eval mode"]
    tr = frame["training mode"]
    sizes = list(frame.index)
    gap = (ev - tr).abs()
    small, large = sizes[0], sizes[-1]
    agree = [m for m in sizes if all(gap[k] <= 0.02 for k in sizes if k >= m)]
    text = (f"With batches of {small}, the network scores {ev[small]:.0%} in eval mode and "
            f"{tr[small]:.0%} in training mode; with batches of {large}, {ev[large]:.0%} and "
            f"{tr[large]:.0%}. ")
    if agree:
        text += f"The two modes agree within 2 points from m = {agree[0]} up"
    else:
        text += "The two modes never agree within 2 points here"
    worst = gap.idxmax()
    better = "eval" if ev[worst] > tr[worst] else "training"
    text += (f"; the widest gap, {gap[worst] * 100:.0f} points, is at m = {worst}, where {better} "
             "mode does better.")
    return text
