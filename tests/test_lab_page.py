"""AppTest of the covariate-shift lab (pages/1_lab.py), reached through app.py as a learner would:
controls, URL, training, Step/Reset/presets, leaving the page, and the failure messages."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bn_core.lab.presets import EPS_ZERO, PAPER_SETUP, record_every_for
from bn_core.trainer import Run, TrainConfig

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LAB = "pages/1_lab.py"


def open_lab(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.switch_page(LAB)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def mounted(at) -> dict:
    """The lab's live charts as sent to the browser: view name → the full figure message."""
    out = {}
    for e in at.get("bidi_component"):
        if (e.key or "").startswith("lc-lab_"):
            msg = json.loads(e.proto.bytes)
            if msg.get("kind") == "full":
                out[msg["key"].removeprefix("lab_")] = msg
    return out


def charts(at) -> int:
    return len(mounted(at))


IN_SIGHT = 4        # the first screen (2), loss and accuracy, the open tab's view (the first)


def progress_text(at) -> str:
    return at.get("progress")[0].proto.text


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_default_page_shows_the_starting_distributions():
    at = open_lab()
    assert at.title[0].value == "Covariate-shift lab"
    assert "same" in markdown_text(at) and "Batch Normalization" in markdown_text(at)
    assert sorted(mounted(at)) == ["curves", "layer", "now", "unit"]     # the step-0 snapshot
    assert "Step 0, before any training" in markdown_text(at)
    assert {b.key: b.label for b in at.button} == {
        "lab_train": "Train", "lab_pause": "Pause", "lab_step_button": "Step",
        "lab_reset": "Reset", "lab_paper": "Paper setup (Figure 1)",
        "lab_eps0": "ε = 0 breaks it", "lab_default": "Default setup"}
    assert at.button(key="lab_pause").disabled
    assert at.select_slider(key="lab_lr").value == TrainConfig().lr
    assert at.radio(key="lab_placement").value == "before"
    assert dict(at.query_params) == {}                        # the defaults: a clean URL
    assert at.code[0].value.endswith("/lab")


def test_short_training_driven_through_the_controls():
    at = open_lab()
    at.select_slider(key="lab_steps").set_value(100)
    at.slider(key="lab_depth").set_value(2)
    at.slider(key="lab_width").set_value(8)
    at.radio(key="lab_placement").set_value("both").run()
    assert not at.exception
    assert at.query_params["steps"] == "100" and at.query_params["placement"] == "both"
    assert at.code[0].value.endswith("/lab?depth=2&width=8&placement=both&steps=100")
    at.button(key="lab_train").click().run()
    assert not at.exception
    run = at.session_state.lab.run
    assert run.step == 100 and run.done and run.networks == ["none", "before", "after"]
    assert run.config.record_every == record_every_for(run.config)
    assert progress_text(at).startswith("Step 100 of 100 · finished")
    assert charts(at) == IN_SIGHT
    text = markdown_text(at)
    assert ("**Layer 2, from step 2 to the end (100)**: the middle (median) of a typical unit's "
            "inputs moved") in text
    assert "with BN after activation" in text and "Test accuracy at the last snapshot" in text
    assert any("Santurkar" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == [
        "Recorded data (CSV)", "Figures (standalone HTML)", "PyTorch script (.py)"]
    assert at.button(key="lab_train").label == "Train again"


def test_url_parameters_restore_every_control():
    query = {"dataset": "moons", "activation": "tanh", "depth": "2", "width": "64",
             "placement": "after", "lr": "0.02", "eps": "0.001", "momentum": "none",
             "batch_size": "32", "optimizer": "adam", "init_scale": "0.1", "steps": "300",
             "seed": "7"}
    at = open_lab(**query)
    expected, problems = TrainConfig.from_query(query)
    assert problems == []
    for name in query:
        assert at.session_state[f"lab_{name}"] == getattr(expected, name), name
    assert at.session_state.lab.run.config == expected.replace(record_every=record_every_for(expected))
    assert dict(at.query_params) == expected.to_query()
    assert not at.warning


def test_odd_url_values_are_kept_as_options():
    at = open_lab(lr="0.37", batch_size="50", steps="123")
    assert at.select_slider(key="lab_lr").value == 0.37
    assert 0.37 in at.select_slider(key="lab_lr").options or "0.37" in at.select_slider(key="lab_lr").options
    assert at.select_slider(key="lab_batch_size").value == 50
    assert at.select_slider(key="lab_steps").value == 123


def test_bad_url_parameters_give_notices_not_exceptions():
    at = open_lab(lr="abc", depth="1000", placement="sideways", colour="red")
    notices = [w.value for w in at.warning]
    assert len(notices) == 4, notices
    assert any("**lr**" in n and "'abc'" in n and "using 0.5" in n for n in notices)
    assert any("**depth**" in n and "1000" in n and "using 3" in n for n in notices)
    assert any("**placement**" in n and "sideways" in n for n in notices)
    assert any("**colour**" in n and "unknown" in n for n in notices)
    assert at.slider(key="lab_depth").value == 3 and at.radio(key="lab_placement").value == "before"
    assert charts(at) == IN_SIGHT
    assert dict(at.query_params) == {}                       # the URL now holds what is used


def test_eps_zero_on_a_dead_relu_gives_a_clear_message():
    at = open_lab(activation="relu", placement="after", eps="0", lr="1", depth="2", width="12",
                  batch_size="16", steps="100")
    assert at.select_slider(key="lab_eps").value == 0.0
    at.button(key="lab_train").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert errors[0].startswith("BN after activation: diverged at step")
    assert "ε = 0" in errors[0] and "0 / 0 = NaN" in errors[0] and "kept training" in errors[0]
    assert "stopped at step" in progress_text(at) and at.session_state.lab.run.step == 100


def test_the_eps_zero_setup_breaks_the_bn_network_and_eps_back_mends_it():
    at = open_lab()
    at.button(key="lab_eps0").click().run()
    assert any("**ε = 0**" in i.value for i in at.info)
    assert at.session_state.lab.run.config == EPS_ZERO.replace(record_every=record_every_for(EPS_ZERO))
    at.button(key="lab_train").click().run()
    assert not at.exception
    run = at.session_state.lab.run
    assert set(run.history.divergence) == {"after"}                 # only the BN network dies
    assert any("ε = 0" in e.value for e in at.error)
    at.select_slider(key="lab_eps").set_value(1e-5).run()
    at.button(key="lab_train").click().run()
    assert not at.exception and not at.session_state.lab.run.history.divergence


def test_batch_size_two_explains_bn_with_tiny_batches():
    at = open_lab(batch_size="2", steps="100")
    assert any(i.value.startswith("**BN with mini-batches of 2.**") for i in at.info)


def test_learning_rate_ten_gives_clear_messages():
    at = open_lab(lr="10", activation="relu", steps="100")
    at.button(key="lab_train").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("Without BN: diverged at step") and "learning rate 10" in e
               for e in errors)
    assert "BN before activation" in errors[0]                # ... which kept training
    at = open_lab(lr="10", steps="300")                        # sigmoid: no overflow, it stalls
    at.button(key="lab_train").click().run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Without BN is not learning") and "saturated" in w for w in warnings)


def test_step_reset_presets_and_leaving_the_page_keep_or_clear_the_run():
    at = open_lab(steps="200", depth="2", width="16")
    every = int(at.session_state.lab.run.schedule[1])            # the next snapshot: step 1
    at.button(key="lab_step_button").click().run()
    run = at.session_state.lab.run
    assert run.step == every and at.session_state.lab.mode == "paused"
    assert at.button(key="lab_train").label == "Resume"
    at.switch_page("app.py").run()                              # leave the lab…
    at.switch_page(LAB).run()                                   # …and come back
    assert not at.exception
    assert at.session_state.lab.run is run and run.step == every
    assert at.slider(key="lab_width").value == 16              # the controls came back too
    at.button(key="lab_reset").click().run()
    assert at.session_state.lab.run is not run and at.session_state.lab.run.step == 0
    at.button(key="lab_paper").click().run()
    assert not at.exception
    assert at.select_slider(key="lab_steps").value == 50_000
    assert at.select_slider(key="lab_init_scale").value == PAPER_SETUP.init_scale
    assert at.slider(key="lab_width").value == 100 and at.select_slider(key="lab_batch_size").value == 60
    assert any("Paper setup" in i.value for i in at.info)
    assert at.session_state.lab.run.config.record_every == record_every_for(PAPER_SETUP)
    assert at.session_state.lab_scaling == "raw"
    at.button(key="lab_step_button").click().run()
    at.select_slider(key="lab_lr").set_value(0.2).run()        # a changed control: a fresh run
    assert at.session_state.lab.run.step == 0
    assert "settings changed" in progress_text(at)
    at.select_slider(key="lab_lr").set_value(0.3).run()        # a second change: still said
    assert "settings changed" in progress_text(at)
    at.button(key="lab_step_button").click().run()             # the new run starts: not any more
    assert at.session_state.lab.run.step > 0
    assert "settings changed" not in progress_text(at)
    at.select_slider(key="lab_lr").set_value(0.2).run()
    assert "settings changed" in progress_text(at)
    at.button(key="lab_reset").click().run()                   # Reset: a new start, nothing lost
    assert "settings changed" not in progress_text(at)
    at.select_slider(key="lab_lr").set_value(0.3).run()        # an untrained run: nothing lost
    assert "settings changed" not in progress_text(at)
    at.button(key="lab_default").click().run()
    assert dict(at.query_params) == {} and at.select_slider(key="lab_steps").value == 1500


def test_coming_back_to_the_lab_mid_training_shows_the_run_paused():
    at = open_lab(steps="1000", depth="2", width="16")
    at.button(key="lab_step_button").click().run()
    run = at.session_state.lab.run
    step = run.step
    assert 0 < step < 1000
    # What a click on another page in the sidebar leaves behind mid-training: the script was
    # stopped inside the training loop, before the state could leave "running".
    at.session_state.lab.mode = "running"
    at.switch_page("pages/2_formula.py").run()
    assert not at.exception
    at.switch_page(LAB).run()                                   # come back
    assert not at.exception
    assert at.session_state.lab.run is run and run.step == step  # paused where it was
    assert at.session_state.lab.mode == "paused"
    assert progress_text(at) == f"Step {step:,} of 1,000 · paused"
    assert charts(at) == IN_SIGHT
    train = at.button(key="lab_train")
    assert train.label == "Resume" and not train.disabled
    assert at.button(key="lab_pause").disabled
    at.run()                                                    # an idle rerun: still paused
    assert at.session_state.lab.run.step == step
    at.button(key="lab_train").click().run()                    # Resume: the same run goes on
    assert not at.exception
    assert at.session_state.lab.run is run and run.done and run.step == 1000
    assert progress_text(at).startswith("Step 1,000 of 1,000 · finished")
    # continuing from the same step: the frames are those of one uninterrupted run
    fresh = Run(run.config)
    list(fresh.stream())
    assert [f["none"].step for f in run.history.frames] == \
        [f["none"].step for f in fresh.history.frames]
    for a, b in zip(run.history.frames, fresh.history.frames):
        for n in run.networks:
            assert a[n].loss == b[n].loss and a[n].test_acc == b[n].test_acc


def test_a_rerun_on_the_lab_itself_keeps_training():
    """Only a fresh visit pauses: a rerun while training (here a view control changed) goes on."""
    at = open_lab(steps="300", depth="2", width="16")
    at.button(key="lab_step_button").click().run()
    at.session_state.lab.mode = "running"                       # as if training when clicked
    at.selectbox(key="lab_view_layer").set_value(1).run()
    assert not at.exception
    assert at.session_state.lab.run.done and at.session_state.lab.run.step == 300


def test_mnist_comes_from_the_bundled_file_with_no_network():
    at = open_lab(dataset="mnist", scaling="raw", steps="100", depth="1", width="16")
    assert not at.error and charts(at) == IN_SIGHT
    run = at.session_state.lab.run
    assert run.data.n_features == 784 and run.data.scaling == "raw"


def test_a_deeper_layer_choice_falls_back_to_the_last_layer_when_depth_shrinks():
    at = open_lab(steps="100", depth="4", width="16")
    at.selectbox(key="lab_view_layer").set_value(4).run()
    assert at.session_state.lab_view.layer == 4
    at.slider(key="lab_depth").set_value(2).run()                  # layer 4 no longer exists
    assert not at.exception and charts(at) == IN_SIGHT
    assert at.session_state["lab_view_layer"] == 0                 # "the last layer"
    assert at.selectbox(key="lab_view_layer").options == ["the last layer", "layer 1", "layer 2"]
    at.slider(key="lab_depth").set_value(5).run()                  # and deeper again
    assert not at.exception and "layer 5" in at.selectbox(key="lab_view_layer").options


def _stale_values_script():
    import streamlit as st

    import ui
    from bn_core.lab.presets import LabView
    from bn_core.trainer import TrainConfig

    if "seeded" not in st.session_state:    # what a browser may send back after quick clicks
        st.session_state.seeded = True
        st.session_state["k_lr"] = "2.0"
        st.session_state["k_layer"] = "layer 3 (last)"
    ui.widget(TrainConfig.control("lr"), "k_lr")
    ui.widget(LabView.control("layer"), "k_layer", options=[0, 1, 2, 3])
    ui.reset_notices()


def test_a_value_that_is_not_a_value_is_reset_before_the_widget_is_made():
    at = AppTest.from_function(_stale_values_script).run()
    assert not at.exception
    assert at.session_state["k_lr"] == TrainConfig().lr and at.session_state["k_layer"] == 0
    notices = [w.value for w in at.warning]
    assert len(notices) == 2 and all("unexpected value" in n for n in notices)
    assert "Learning rate: lr: expected a number, got '2.0'" in notices[0]
    at.run()
    assert not at.warning                                          # said once


def test_the_finished_runs_charts_are_the_core_figures():
    """What the live charts hold at rest is what the core's figure builders (and so the HTML
    export) draw: the same traces and values."""
    from bn_core.lab.views import VIEWS, view_figure
    from live_chart import encode, figure_dict

    at = open_lab(steps="60", depth="2", width="8")
    at.button(key="lab_train").click().run()
    assert not at.exception
    run, sent = at.session_state.lab.run, mounted(at)
    for tab in ("Shift as a speed", "Every layer", "Saturation and gradients"):
        at.session_state["lab_tab"] = tab                  # each tab's view, drawn when opened
        at.run()
        sent |= mounted(at)
    assert sorted(sent) == sorted(VIEWS)
    for view in VIEWS:
        core = json.loads(encode(figure_dict(view_figure(view, run.history, 1, 0, True,
                                                          animate=True, as_dict=True))))
        assert sent[view]["data"] == core["data"], view
        assert len(sent[view].get("frames") or []) == len(core.get("frames") or []), view


def test_a_tabs_view_is_drawn_only_while_its_tab_is_open():
    """Issue #25: the server builds and sends the views in sight (the first screen, loss and
    accuracy) and the open tab's, not the six hidden ones (the animated "every layer" alone is
    about 1 MB); opening a tab reruns the page and draws its view."""
    at = open_lab(steps="60", depth="2", width="8")
    at.button(key="lab_train").click().run()
    in_sight = ["curves", "now", "unit"]
    assert sorted(mounted(at)) == sorted([*in_sight, "layer"])
    for tab, view in (("Shift as a speed", "shift"), ("Every layer", "histograms"),
                      ("Saturation and gradients", "health"), ("Compare runs", "compare"),
                      ("Share and export", None)):
        at.session_state["lab_tab"] = tab
        at.run()
        assert not at.exception, tab
        assert sorted(mounted(at)) == sorted(in_sight + ([view] if view else [])), tab
    assert at.session_state.lab.run.done and at.session_state.lab.run.step == 60   # not retrained


def test_a_dropped_run_is_freed_the_buttons_do_not_keep_the_page_alive():
    """What classroom.Janitor relies on: once `lab` leaves the session state, nothing else
    of the session keeps the run (Streamlit keeps the buttons' callbacks with the session, and a
    callback defined on the page would keep the page's globals, `run` among them)."""
    import gc
    import weakref

    at = open_lab(steps="40")
    at.button(key="lab_train").click().run()
    assert not at.exception and at.session_state["lab"].run.done
    ref = weakref.ref(at.session_state["lab"].run)
    del at.session_state["lab"].run
    gc.collect()
    assert ref() is None


def test_runs_the_page_drops_are_kept_to_compare_then_released():
    """Train again, Reset and a changed setting each replace the run: a trained one is kept for
    Compare runs (up to bn_core.lab.state.KEPT), older ones released (classroom.release; the
    real server keeps dropped session values alive)."""
    at = open_lab(steps="40")
    at.button(key="lab_train").click().run()
    first = at.session_state["lab"].run
    assert first.done and not first.released
    at.button(key="lab_train").click().run()                   # "Train again"
    second = at.session_state["lab"].run
    assert second is not first and second.done and at.session_state["lab"].kept == [first]
    at.button(key="lab_reset").click().run()
    assert at.session_state["lab"].kept == [first, second]
    for lr in (1.0, 2.0, 3.0, 5.0):                            # more trained runs …
        at.select_slider(key="lab_lr").set_value(lr).run()
        at.button(key="lab_train").click().run()
    at.select_slider(key="lab_lr").set_value(0.5).run()
    kept = at.session_state["lab"].kept
    assert len(kept) == 5 and first.released and first not in kept   # … the oldest let go
    assert not any(r.released for r in kept)
    assert not at.exception


def test_placement_none_from_a_link_says_the_lab_always_trains_a_bn_network():
    at = open_lab(placement="none", steps="60")
    notices = [w.value for w in at.warning]
    assert len(notices) == 1 and "**placement**" in notices[0], notices
    assert "always trains a BN network" in notices[0] and "'none'" in notices[0]
    assert at.radio(key="lab_placement").value == "before"
    assert at.session_state.lab_config.placement == "before"
    assert "no BN network" not in at.radio(key="lab_placement").options
    assert "placement" not in at.query_params                  # the link now says what it shows
    at.button(key="lab_train").click().run()
    assert at.session_state.lab.run.networks == ["none", "before"]
    bad = open_lab(placement="zzz")                            # the valid values: not "none"
    notice = next(w.value for w in bad.warning if "**placement**" in w.value)
    assert "before, after or both" in notice and "one of before, after, both, none" not in notice


def test_a_layer_or_unit_this_network_lacks_is_named_in_its_terms():
    at = open_lab(layer="99", seed="-5")
    notices = " ".join(w.value for w in at.warning)
    assert "0 to 8" not in notices and "1 to 3" in notices and "0 for the last layer" in notices
    assert "2,147,483,647" in notices and "e+09" not in notices
    assert at.session_state.lab_view.layer == 0
    deep = open_lab(layer="5")                                  # within 0–8, but 3 layers here
    assert any("**layer**" in w.value and "1 to 3" in w.value for w in deep.warning)
    assert open_lab(layer="5", depth="6").session_state.lab_view.layer == 5
    assert not open_lab(layer="5", depth="6").warning
    narrow = open_lab(unit="12", width="8")                    # 8 units: unit 12 is not one
    assert any("**unit**" in w.value and "1 to 8" in w.value for w in narrow.warning)
