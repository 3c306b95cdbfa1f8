"""AppTest of the inference page (pages/3_inference.py) through app.py: defaults, extremes, the URL.

Training results are cached (st.cache_data) for the whole test process, so later tests that
reuse a configuration do not train again.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bn_core.inference.config import WIDTH, InferenceConfig
from bn_core.inference.lesson import METHODS, inference_lesson
from bn_core.inference.training import train_network

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/3_inference.py"


def open_page(query=None):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def markdown(at):
    return " ".join(m.value for m in at.markdown)


def test_defaults_train_and_show_every_section():
    at = open_page()
    assert at.title[0].value == "Inference: train vs eval"
    assert [h.value for h in at.header] == [
        "One input, two modes", "Four ways to get the statistics",
        "The notes' variance vs the paper's", "How the running averages converge",
        "Two classic failures"]
    assert not at.error
    text = markdown(at)
    assert "Test example 0 is a" in text
    assert f"m/(m−1) = **{32 / 31:.4f}**" in text
    n_b = 1437 // 32
    assert f"n_B/(n_B−1) = **{n_b / (n_b - 1):.4f}**" in text
    assert "With batches of 2, the network scores" in text
    accuracy = next(d.value for d in at.dataframe if "test accuracy" in d.value.columns
                    and len(d.value) == len(METHODS))
    assert accuracy["test accuracy"].between(0.8, 1.0).all()      # a trained digits classifier
    assert len(at.get("plotly_chart")) == 2
    codes = " ".join(c.value for c in at.code)
    assert "def population_statistics(" in codes and "def running_estimates(" in codes
    assert "def __call__(" in codes
    assert "more than 1 value per channel when training" in codes


def test_display_controls_at_their_extremes():
    at = open_page()
    for kind, key, value in [
        ("select_slider", "inference_momentum", None), ("select_slider", "inference_momentum", 0.0),
        ("select_slider", "inference_momentum", 1.0), ("radio", "inference_layer", 1),
        ("slider", "inference_unit", WIDTH), ("number_input", "inference_example", 359),
        ("number_input", "inference_example", 0),
    ]:
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, (key, value)
        assert not at.error, (key, value)
    assert at.query_params["momentum"] == "1.0" and at.query_params["layer"] == "1"


@pytest.mark.parametrize("batch_size", [2, 256])
def test_training_batch_size_extremes(batch_size):
    at = open_page({"batch_size": str(batch_size), "steps": "200"})
    assert at.select_slider(key="inference_batch_size").value == batch_size
    assert not at.error
    text = markdown(at)
    assert f"m/(m−1) = **{batch_size / (batch_size - 1):.4f}**" in text
    at.select_slider(key="inference_momentum").set_value(None).run()
    assert not at.exception


def test_the_url_presets_and_bad_values_are_reported():
    at = open_page({"momentum": "none", "layer": "1", "unit": "7", "example": "12", "steps": "200"})
    assert at.select_slider(key="inference_momentum").value is None
    assert at.radio(key="inference_layer").value == 1
    assert at.slider(key="inference_unit").value == 7
    assert at.number_input(key="inference_example").value == 12
    assert "Test example 12 is a" in markdown(at)
    bad = open_page({"momentum": "2", "batch_size": "3", "steps": "200"})
    assert len(bad.warning) == 2
    assert bad.select_slider(key="inference_batch_size").value == 32


def test_the_page_explains_the_m_2_contradiction_and_shows_the_layer_by_layer_remedy():
    at = open_page({"batch_size": "2", "steps": "200"})
    config = InferenceConfig(batch_size=2, steps=200)
    lesson = inference_lesson(train_network(config.train_config()), config)
    r2 = lesson.notes["ratios"].loc[2]
    assert "Deeper layers: why Algorithm 2 overshoots, and the remedy" in [s.value for s in at.subheader]
    text = markdown(at)
    assert f"the paper's estimate is **{r2['paper']:.3f}×**" in text and "overcorrects" in text
    assert "within every training batch it has variance exactly 1" in text
    assert "The remedy: recompute the statistics layer by layer" in text
    assert f"becomes **{r2['layer by layer']:.3f}×** the exact variance" in text
    assert f"test accuracy **{lesson.notes['acc_layerwise']:.1%}**" in text
    assert "the course notes' “Batch Normalization” revision page" in text  # cited by name
    assert "batch-normalization-notes.txt" not in text and "shared/" not in text
    accuracy = next(d.value for d in at.dataframe if "test accuracy" in d.value.columns
                    and len(d.value) == len(METHODS))
    assert accuracy.loc[METHODS["layerwise"], "test accuracy"] == pytest.approx(
        lesson.notes["acc_layerwise"])
    assert "keras/src/layers/normalization/batch_normalization.py" in " ".join(c.value for c in at.caption)
