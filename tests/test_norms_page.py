"""AppTest of the regularisation-and-alternatives page: defaults, each experiment with tiny
settings, the extremes (batch 2, groups = width, one seed), the URL, kind messages."""

import pytest

from tests import apptest
from tests.apptest import texts

PAGE = "pages/6_norms.py"
TINY = {"seeds": "2", "depth": "2", "width": "8"}
RUNS = {"regular": {"batch_sizes": "8,32", "train_size": "100", "epochs": "3"},
        "shift": {"steps": "30", "batch_size": "16"},
        "batch": {"batch_sizes": "2,8", "examples": "200", "groups": "2"}}


def open_page(query=None):
    return apptest.open_page(PAGE, query)


def press_run(at):
    return apptest.press_run(at, "norms")


def test_defaults_open_on_the_regularisation_claim_and_wait_for_run():
    at = open_page()
    assert at.title[0].value == "BN as a regulariser, and its alternatives"
    assert at.radio(key="norms_choice").value == "regular"
    assert "Press **Run** to train 120 networks (3 stacks" in at.info[0].value
    assert at.pills(key="norms_regular_batch_sizes").value == [8, 32, 128]
    assert len(at.get("plotly_chart")) == 0
    at.radio(key="norms_choice").set_value("batch").run()        # the "which axis" grid, static
    assert not at.exception and len(at.get("plotly_chart")) == 1
    assert "23.6% to 34.7%" in texts(at)                          # Wu & He's numbers, as quoted


@pytest.mark.parametrize("experiment,expect", [
    ("regular", "no dropout-only ablation"),
    ("shift", "BN's stored variance is"),
    ("batch", "Training and eval mode agree"),
])
def test_each_experiment_runs_with_tiny_settings(experiment, expect):
    at = press_run(open_page({"exp": experiment, **TINY, **RUNS[experiment]}))
    assert at.header[0].value == "What the data say"
    assert expect in texts(at)
    assert "Holm's correction" in texts(at)                       # how the error is controlled
    assert "With 2 seeds" in texts(at)
    assert len(at.get("plotly_chart")) >= 1 + (experiment == "batch")
    assert len(at.get("download_button")) == 1
    assert at.query_params["exp"] in (experiment, [experiment])


@pytest.mark.parametrize("query", [
    {"exp": "batch", "batch_sizes": "2", "seeds": "1", "groups": "8", "width": "8",
     "examples": "200", "norms": "batch,group"},                  # batch 2, groups = width, 1 seed
    {"exp": "shift", "seeds": "1", "dropout": "0.9", "steps": "20", "width": "8"},
    {"exp": "regular", "lr": "1", "batch_sizes": "128,256", "train_size": "300", "epochs": "3",
     "width": "8", "seeds": "2", "activation": "sigmoid"},        # lr 4 and 8 after scaling
])
def test_extremes_give_results_never_a_traceback(query):
    at = press_run(open_page(query))
    assert at.header and at.header[0].value == "What the data say"
    assert ("With one seed" if query["seeds"] == "1" else "With 2 seeds") in texts(at)


def test_the_url_restores_the_controls_and_bad_values_give_notices():
    at = open_page({"exp": "batch", "seeds": "3", "groups": "4", "depth": "abc", "colour": "red",
                    "epochs": "5"})
    assert at.radio(key="norms_choice").value == "batch"
    assert at.slider(key="norms_batch_seeds").value == 3
    assert at.select_slider(key="norms_batch_groups").value == 4
    notices = " ".join(w.value for w in at.warning)
    assert "**depth**: expected a whole number" in notices and "**colour**" in notices
    assert "**epochs**: not a setting of this experiment" in notices


def test_bad_combinations_and_too_big_runs_give_a_clear_message():
    at = open_page({"exp": "batch", "width": "16", "groups": "32"})
    notices = " ".join(w.value for w in at.warning)
    assert "groups" in notices                                    # 32 does not divide 16
    at = open_page({"exp": "regular", "seeds": "10", "epochs": "500", "width": "256"})
    press_run(at)
    assert "larger than allowed" in at.error[0].value
