"""AppTest of the Experiments page: every experiment with tiny settings, the URL, the extremes."""

import json

import pytest

from tests import apptest
from tests.apptest import texts

PAGE = "pages/4_experiments.py"
TINY = {"seeds": "2", "steps": "10", "depth": "1", "width": "8"}


def open_page(query=None):
    return apptest.open_page(PAGE, query)


def press_run(at):
    return apptest.press_run(at, "experiments")


def test_the_page_opens_on_placement_and_waits_for_run():
    at = open_page()
    assert at.title[0].value == "Experiments across seeds"
    assert at.radio(key="experiments_choice").value == "placement"
    assert "Press **Run**" in at.info[0].value
    assert len(at.get("plotly_chart")) == 0


@pytest.mark.parametrize("query,expect", [
    ({"exp": "placement", "activations": "sigmoid,relu"}, "ReLU —"),
    ({"exp": "lr", "points": "3"}, "learning rate"),
    ({"exp": "init", "points": "3"}, "activation input at step 0"),
    ({"exp": "batch", "batch_sizes": "2,16", "examples": "100"}, "eval mode against training mode"),
    ({"exp": "depth", "depths": "1,3"}, "drift"),
])
def test_each_experiment_runs_with_tiny_settings(query, expect):
    tiny = {k: v for k, v in TINY.items() if k != "depth" or query["exp"] != "depth"}
    at = press_run(open_page({**query, **tiny}))
    assert at.header[0].value == "What the data say"
    assert expect in texts(at)
    assert "Holm's correction" in texts(at)                     # how the error is controlled
    # each chart's title is text above it (it wraps on a phone), not in the chart
    charts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    assert charts and not any(c.get("title", {}).get("text") for c in charts)
    assert "**Final accuracy, paired by seed" in texts(at) or query["exp"] != "placement"
    assert "With 2 seeds nothing on this page can be clear" in texts(at) and " or more seeds" in texts(at)
    assert len(at.get("plotly_chart")) >= 1
    assert len(at.get("download_button")) == 2
    assert at.query_params["exp"] == [query["exp"]] or at.query_params["exp"] == query["exp"]
    # the same settings again: from the cache, the same numbers
    again = press_run(open_page({**query, **tiny}))
    assert [m.value for m in again.markdown] == [m.value for m in at.markdown]


def test_the_url_restores_the_controls_and_bad_values_give_notices():
    at = open_page({"exp": "init", "seeds": "4", "points": "5", "init_min": "0.001",
                    "depth": "abc", "colour": "red"})
    assert at.radio(key="experiments_choice").value == "init"
    assert at.slider(key="experiments_init_seeds").value == 4
    assert at.slider(key="experiments_init_points").value == 5
    assert at.select_slider(key="experiments_init_init_range").value == (0.001, 1.0)
    notices = " ".join(w.value for w in at.warning)
    assert "**depth**: expected a whole number" in notices and "**colour**" in notices


@pytest.mark.parametrize("query", [
    {"exp": "placement", "seeds": "1", "activations": "tanh"},         # one seed
    {"exp": "placement", "lr": "10", "activations": "relu", "init_scale": "1"},   # lr 10
    {"exp": "placement", "batch_size": "2", "activations": "sigmoid"},  # batch 2
    {"exp": "batch", "batch_sizes": "2", "seeds": "1", "examples": "200"},
    {"exp": "lr", "lr_min": "1", "lr_max": "10", "points": "2", "activation": "relu"},
])
def test_extremes_give_results_or_messages_never_a_traceback(query):
    at = press_run(open_page({**TINY, **query}))
    assert at.header and at.header[0].value == "What the data say"
    if query.get("seeds") == "1":
        assert "One seed" in texts(at)


def test_empty_choices_and_too_big_sweeps_give_a_clear_message():
    at = open_page({"exp": "placement", **TINY})
    at.pills(key="experiments_placement_activations").set_value([])
    press_run(at)
    assert "choose at least one activation" in at.error[0].value
    at = open_page({"exp": "lr", "seeds": "10", "points": "13", "steps": "5000", "width": "256",
                    "depth": "8"})
    press_run(at)
    assert "larger than allowed" in at.error[0].value


def test_switching_experiments_keeps_each_ones_settings():
    at = open_page({"exp": "lr", **TINY})
    at.slider(key="experiments_lr_seeds").set_value(4)
    press_run(at)
    assert at.query_params["seeds"] in ("4", ["4"])
    at.radio(key="experiments_choice").set_value("batch").run()
    assert not at.exception and at.query_params["exp"] in ("batch", ["batch"])
    at.radio(key="experiments_choice").set_value("lr").run()
    assert at.slider(key="experiments_lr_seeds").value == 4
    assert at.header[0].value == "What the data say"               # its result, cached


def test_the_batch_budget_is_equal_examples_by_default_or_equal_steps():
    at = press_run(open_page({"exp": "batch", "batch_sizes": "2,16", "examples": "200", **TINY}))
    assert at.radio(key="experiments_batch_budget").value == "examples"
    assert "same 200 training examples" in texts(at) and "100 steps with batches of 2" in texts(at)
    at = press_run(open_page({"exp": "batch", "batch_sizes": "2,16", "budget": "steps", **TINY}))
    assert "8× more training examples" in texts(at) and "10 steps each" in texts(at)
    assert at.query_params["budget"] in ("steps", ["steps"])


def test_the_depth_experiment_by_link_shows_both_charts_the_notes_and_the_why_link():
    at = press_run(open_page({"exp": "depth", "depths": "2,3", "seeds": "2", "steps": "50",
                              "width": "16", "activation": "relu"}))
    assert not at.exception and not at.warning                   # every value of the link used
    assert at.pills(key="experiments_depth_depths").value == [2, 3]
    assert at.selectbox(key="experiments_depth_activation").value == "relu"
    said = texts(at)
    assert "Without BN" in said and "The notes' depth claim, with 2 seeds: not settled" in said
    assert "(/why)" in said and "Santurkar" in said
    assert len(at.get("plotly_chart")) == 2                      # drift by layer; accuracy by depth
    assert len(at.get("download_button")) == 2
    assert at.query_params["depths"] in ("2,3", ["2,3"])


def test_a_broken_rule_is_said_with_the_controls_labels():
    at = open_page({"exp": "lr", **TINY})
    at.session_state["experiments_lr_lr_range"] = (10.0, 10.0)
    press_run(at)
    error = at.error[0].value
    assert "Learning rates (range): expected the lowest less than the highest (10), got 10" in error
    assert "lr_min" not in error and "lr_max" not in error


def test_one_seed_and_few_steps_are_counted_as_they_are():
    at = press_run(open_page({"exp": "placement", "activations": "relu", "seeds": "1",
                              "steps": "10", "depth": "1", "width": "8"}))
    captions = " ".join(c.value for c in at.caption)
    assert "measured in eval mode 11 times per network" in captions and "about 50" not in captions
    assert "(1 step)" in captions and "(1 steps)" not in captions
    bold = " ".join(m.value for m in at.markdown if m.value.startswith("**"))
    assert "1 seed (line)" in bold and "mean of 1 seed" not in bold and "band" not in bold
    frame = at.dataframe[0].value
    assert "sd" not in frame.columns and "± t·SE (95%)" not in frame.columns


def test_batch_sizes_that_train_few_steps_say_how_often_they_were_measured():
    at = press_run(open_page({"exp": "batch", "batch_sizes": "2,512", "examples": "100",
                              "seeds": "2", "depth": "1", "width": "8"}))
    captions = " ".join(c.value for c in at.caption)
    assert ("from 51 times per network (batches of 2) down to 2 times (batches of 512, which "
            "train 1 step)") in captions
