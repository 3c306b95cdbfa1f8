"""A teacher's links (#24): lock= and hide= on every lesson page, the lab's view (layer, unit,
time) and its setups (setup=paper) in the link, long values cut in notices. AppTest, reached
through app.py as a learner would."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bn_core.lab.presets import PAPER_SETUP, NOTES

ROOT = Path(__file__).resolve().parents[1]


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(page)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def widget_keys(at) -> set[str]:
    kinds = ("select_slider", "slider", "radio", "selectbox", "toggle", "number_input",
             "multiselect")
    return {w.key for kind in kinds for w in at.get(kind) if w.key}


def test_a_locked_control_is_disabled_and_a_hidden_one_is_not_made_and_both_stay():
    at = open_page("pages/1_lab.py", lr="2", lock="lr,placement", hide="eps", steps="60")
    lr = at.select_slider(key="lab_lr")
    assert lr.value == 2.0 and lr.disabled and "Set for this exercise" in lr.help
    assert at.radio(key="lab_placement").disabled
    assert "lab_eps" not in widget_keys(at)                       # hidden
    assert not at.select_slider(key="lab_steps").disabled        # the others as usual
    assert not at.warning                                         # no "unknown parameter"
    at.button(key="lab_train").click().run()                      # Train works
    assert not at.exception and at.session_state.lab.run.done
    assert at.session_state.lab.run.config.lr == 2.0
    assert at.query_params["lock"] == "lr,placement" and at.query_params["hide"] == "eps"
    at.button(key="lab_reset").click().run()                      # Reset: still locked
    assert at.select_slider(key="lab_lr").disabled and at.query_params["lock"] == "lr,placement"
    at.query_params.clear()                   # as a browser does on a page change (AppTest
    at.switch_page("pages/2_formula.py").run()                    # keeps them): another page,
    assert not at.exception and not at.get("select_slider")[0].disabled     # its own lists
    at.query_params.clear()
    at.switch_page("pages/1_lab.py").run()                        # back: still locked
    assert at.select_slider(key="lab_lr").disabled and "lab_eps" not in widget_keys(at)
    assert at.query_params["lock"] == "lr,placement"


def test_a_setup_that_would_change_what_the_link_fixes_is_disabled_and_says_why():
    at = open_page("pages/1_lab.py", lr="10", placement="both", lock="lr,placement", hide="eps")
    for name in ("paper", "eps0", "default"):         # each changes lr (and eps0 the hidden ε)
        button = at.button(key=f"lab_{name}")
        assert button.disabled and "“Learning rate”" in button.help, (name, button.help)
    assert "“BN epsilon ε”" in at.button(key="lab_eps0").help          # hidden: fixed too
    assert at.select_slider(key="lab_lr").value == 10.0
    intro = " ".join(m.value for m in at.markdown)                 # nor does the introduction
    assert "then try the **Paper setup**" not in intro and "watch them move" in intro   # offer them
    at = open_page("pages/1_lab.py", steps="1500", lock="steps")   # only the Paper setup's 50,000
    assert at.button(key="lab_paper").disabled                      # steps change it
    assert not at.button(key="lab_default").disabled and not at.button(key="lab_eps0").disabled
    at.button(key="lab_eps0").click().run()                         # applied; steps kept
    assert not at.exception and at.session_state.lab_config.eps == 0.0
    assert at.session_state.lab_config.steps == 1500
    at = open_page("pages/1_lab.py", lr="10")                      # no lists: all apply
    assert not any(at.button(key=f"lab_{name}").disabled for name in ("paper", "eps0", "default"))
    assert "then try the **Paper setup**" in " ".join(m.value for m in at.markdown)


def test_unknown_names_in_a_list_give_a_notice_naming_the_page_controls():
    at = open_page("pages/1_lab.py", lock="lr,colour,x" + "y" * 80)
    notices = [w.value for w in at.warning]
    assert len(notices) == 1 and "**lock**" in notices[0]
    assert "'colour'" in notices[0] and "lr, " in notices[0]
    assert "y" * 41 not in notices[0] and "…" in notices[0]        # a long name is cut
    assert at.select_slider(key="lab_lr").disabled                 # the known one still locks


@pytest.mark.parametrize("page,name,key", [
    ("pages/2_formula.py", "eps", "formula_eps"),
    ("pages/3_inference.py", "batch_size", None),
    ("pages/4_experiments.py", "seeds", None),
    ("pages/5_why.py", "seeds", None),
    ("pages/6_norms.py", "seeds", None),
])
def test_every_lesson_page_takes_lock_and_hide(page, name, key):
    locked = open_page(page, lock=name)
    hidden = open_page(page, hide=name)
    assert not locked.warning and not hidden.warning, [w.value for w in locked.warning]
    assert len(widget_keys(hidden)) < len(widget_keys(locked))
    locked_help = [w for kind in ("select_slider", "slider", "radio", "selectbox", "number_input")
                   for w in locked.get(kind) if "Set for this exercise" in (w.help or "")]
    assert locked_help and all(w.disabled for w in locked_help)
    assert locked.query_params["lock"] == name


def test_the_view_is_part_of_the_link_without_notices():
    at = open_page("pages/1_lab.py", layer="2", unit="3", time="linear", steps="60")
    assert not at.warning, [w.value for w in at.warning]
    view = at.session_state.lab_view
    assert (view.layer, view.unit, view.time_axis) == (2, 3, "linear")
    at.selectbox(key="lab_view_unit").set_value(5).run()          # changed: written
    assert at.query_params["unit"] == "5" and at.query_params["layer"] == "2"
    assert at.query_params["time"] == "linear" and at.query_params["steps"] == "60"


def test_a_setup_in_a_link_restores_it_and_its_explanation():
    at = open_page("pages/1_lab.py", setup="paper")
    assert at.session_state.lab_config == PAPER_SETUP
    assert any(NOTES["paper"][:40] in i.value for i in at.info)
    assert dict(at.query_params) == {"setup": "paper"}           # the short link stays
    at.select_slider(key="lab_lr").set_value(0.2).run()            # no longer the setup
    assert "setup" not in at.query_params and at.query_params["lr"] == "0.2"
    assert not any(NOTES["paper"][:40] in i.value for i in at.info)
    bad = open_page("pages/1_lab.py", setup="nope")
    assert any("**setup**" in w.value and "paper" in w.value for w in bad.warning)


def test_an_exercise_asks_for_a_prediction_then_reveals_what_the_run_showed():
    from bn_core.lab.exercises import EXERCISES

    e = EXERCISES["eps0"]
    at = open_page("pages/1_lab.py", **e.query())
    assert not at.warning and any(e.title in m.value for m in at.markdown)
    assert at.button(key="lab_train").disabled                     # predict first
    assert at.select_slider(key="lab_eps").disabled                # the link locks ε
    at.radio(key="lab_prediction").set_value("the BN network trains as usual").run()
    assert not at.button(key="lab_train").disabled
    at.button(key="lab_train").click().run()
    assert not at.exception and at.session_state.lab.run.done
    text = "\n".join(m.value for m in at.markdown)
    step = at.session_state.lab.run.history.divergence["after"].step
    assert f"**This run: the BN network diverges.** It stopped at step {step:,}" in text
    assert "You predicted: *the BN network trains as usual* — not what this run showed." in text
    assert at.radio(key="lab_prediction").disabled                 # the prediction stands
    assert at.query_params["exercise"] == "eps0"


def test_break_it_then_compare_the_two_runs_side_by_side():
    at = open_page("pages/1_lab.py", steps="200")
    at.button(key="lab_train").click().run()                      # lr 0.5
    at.select_slider(key="lab_lr").set_value(10.0).run()          # break it
    at.button(key="lab_train").click().run()
    assert not at.exception
    lab = at.session_state.lab
    assert len(lab.runs()) == 2 and lab.kept[0].config.lr == 0.5
    at.session_state["lab_tab"] = "Compare runs"                  # drawn when its tab is open
    at.run()
    boxes = [c.label for c in at.checkbox if (c.key or "").startswith("lab_compare_")]
    assert boxes == ["lr 0.5", "lr 10"]
    sent = [e for e in at.get("bidi_component") if (e.key or "") == "lc-lab_compare"]
    assert sent and "lr 10, without BN" in sent[0].proto.bytes.decode()


def test_a_run_longer_than_the_server_allows_is_refused_with_a_way_out(monkeypatch):
    monkeypatch.setenv("BN_LAB_MAX_RUN_S", "1")
    at = open_page("pages/1_lab.py", steps="100000", width="256", depth="8")
    assert at.button(key="lab_train").disabled
    notice = next(w.value for w in at.warning if "would take about" in w.value)
    assert "steps or fewer" in notice
    assert "about" in at.get("progress")[0].proto.text
    monkeypatch.setenv("BN_LAB_MAX_RUN_S", "100000")
    at.run()
    assert not at.button(key="lab_train").disabled
    assert not any("would take about" in w.value for w in at.warning)
