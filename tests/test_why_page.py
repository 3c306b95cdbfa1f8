"""AppTest of the "Why does BN work?" page: each experiment with tiny settings, then at its
extremes (noise ×5, one seed, learning rate 10), the W × 10 button, the URL, bad links."""

import pytest

from tests import apptest
from tests.apptest import texts

PAGE = "pages/5_why.py"
TINY = {"seeds": "2", "steps": "10", "depth": "2", "width": "8", "checks": "4"}
CASES = {
    "noise": ({"exp": "noise", **TINY}, {"noise": 5.0, "seeds": 1, "lr": 10.0}),
    "ics": ({"exp": "ics", **TINY}, {"seeds": 1, "lr": 10.0}),
    "linear": ({"exp": "ics", "network": "linear", "seeds": "2", "dln_steps": "10",
                "dln_depth": "4", "checks": "4"}, {"seeds": 1, "dln_lr": 1.0}),
    "landscape": ({"exp": "landscape", **TINY, "points": "3"}, {"seeds": 1, "lr": 10.0}),
    "scale": ({"exp": "scale", **TINY}, {"seeds": 1, "lr": 10.0}),
}


def open_page(query=None):
    return apptest.open_page(PAGE, query)


def press_run(at):
    return apptest.press_run(at, "why")


def test_the_page_opens_on_noisy_bn_and_waits_for_run():
    at = open_page()
    assert at.title[0].value == "Why does BN work?"
    assert at.radio(key="why_choice").value == "noise"
    assert "Press **Run**" in at.info[0].value and "30 networks" in at.info[0].value
    assert len(at.get("plotly_chart")) == 0
    assert "What the evidence supports, and what is disputed" in texts(at)
    assert "n_σ = 1.25" in texts(at)                          # the noise model, as used


@pytest.mark.parametrize("case", CASES)
def test_each_experiment_runs_tiny_and_at_its_extremes(case):
    query, extremes = CASES[case]
    at = press_run(open_page(query))
    assert at.header[0].value == "What the data say"
    assert "Holm's correction" in texts(at) and "With 2 seeds" in texts(at)
    assert len(at.get("plotly_chart")) >= 2 and len(at.get("download_button")) == 2
    assert at.query_params["exp"] in (query["exp"], [query["exp"]])
    experiment = query["exp"]
    for name, value in extremes.items():                     # the extremes, on the widgets
        widget = at.slider(key=f"why_{experiment}_{name}") if name == "seeds" else \
            at.select_slider(key=f"why_{experiment}_{name}")
        widget.set_value(value)
    press_run(at)
    assert at.header and at.header[0].value == "What the data say"
    assert "One seed" in texts(at) or "one seed" in texts(at)
    assert not at.error


def test_the_multiply_button_trains_w_times_10_copies():
    at = press_run(open_page(CASES["scale"][0]))
    next(b for b in at.button if b.label == "Multiply W by 10").click().run()
    assert not at.exception
    assert "W × 10: loss unchanged" in texts(at)
    assert at.query_params["x10"] in ("true", ["true"])
    assert any(b.label == "Back to W × 1" for b in at.button)


def test_a_link_restores_the_settings_and_bad_values_give_notices():
    at = open_page({"exp": "landscape", "seeds": "3", "points": "5", "depth": "abc",
                    "noise": "2", "colour": "red"})
    assert at.radio(key="why_choice").value == "landscape"
    assert at.slider(key="why_landscape_seeds").value == 3
    assert at.slider(key="why_landscape_points").value == 5
    notices = " ".join(w.value for w in at.warning)
    assert "**depth**: expected a whole number" in notices
    assert "**noise**: not a setting" in notices and "**colour**" in notices
