"""The inference lesson's sentences (`bn_core.inference.reading`) say what the numbers say."""

import pandas as pd

from bn_core.inference import reading
from bn_core.inference.reading import sweep_sentence


def test_sweep_sentence_reads_the_numbers():
    frame = pd.DataFrame({"eval mode": [0.30, 0.80, 0.95, 0.96], "training mode": [0.20, 0.60, 0.94, 0.97]},
                         index=pd.Index([2, 4, 16, 64], name="batch size m"))
    text = sweep_sentence(frame)
    assert text.startswith("With batches of 2, the network scores 30% in eval mode and 20% in training mode")
    assert "from m = 16 up" in text and "20 points, is at m = 4, where eval mode does better" in text
    never = sweep_sentence(frame.assign(**{"training mode": [0.1, 0.1, 0.1, 0.1]}))
    assert "never agree within 2 points" in never


def test_the_lesson_sentences_quote_its_numbers(lesson):
    notes, info = lesson.notes, lesson.single_info
    assert f"Test example {info['example']} is a **{info['label']}**" in reading.single_input(info, 16)
    assert f"m/(m−1) = **{16 / 15:.4f}**" in reading.factors(notes)
    r = notes["ratios"]
    assert f"the paper's **{r.loc[1, 'paper']:.3f}×**" in reading.layer_one(notes)
    deeper, m = reading.deeper_layer(notes), notes["m"]
    assert f"**{r.loc[2, 'paper']:.3f}×** the exact" in deeper
    inflation = r.loc[2, "paper"] / r.loc[2, "layer by layer"]      # the decomposition adds up:
    assert f"inflated the spread {inflation:.2f}-fold" in deeper      # m/(m−1) × the rest
    assert f"m/(m−1) = {m / (m - 1):.2f}" in deeper
    assert f"**{inflation * (m - 1) / m:.2f}×** comes from how" in deeper
    assert f"becomes **{r.loc[2, 'layer by layer']:.3f}×**" in reading.remedy(notes)
    assert "12,800 training examples" in reading.sweep_intro(1437)
