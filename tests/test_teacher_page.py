"""AppTest of the Teacher page (pages/7_teacher.py): the exercises' links, and a link built from
chosen settings with controls locked and hidden, which the lab then obeys."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from streamlit.testing.v1 import AppTest

from bn_core.lab.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]


def open_teacher() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/7_teacher.py").run()
    assert not at.exception
    return at


def test_the_exercises_are_listed_with_their_links():
    at = open_teacher()
    codes = [c.value for c in at.code]
    for e in EXERCISES.values():
        assert any(c.endswith(f"exercise={e.name}" + (f"&lock={'%2C'.join(e.lock)}"
                                                         if e.lock else "")) for c in codes), e.name


def test_a_built_link_sets_locks_and_hides_and_the_lab_obeys_it():
    at = open_teacher()
    at.select_slider(key="teacher_lr").set_value(2.0).run()
    at.checkbox(key="teacher_lock_lr").check().run()
    at.checkbox(key="teacher_hide_eps").check().run()
    link = at.code[-1].value
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path.endswith("/lab")
    assert query == {"lr": ["2.0"], "lock": ["lr"], "hide": ["eps"]}, query
    lab = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    lab.switch_page("pages/1_lab.py")
    for k, v in query.items():
        lab.query_params[k] = v[0]
    lab.run()
    assert not lab.exception and not lab.warning
    assert lab.select_slider(key="lab_lr").value == 2.0 and lab.select_slider(key="lab_lr").disabled
    assert "lab_eps" not in {w.key for w in lab.select_slider}


def test_the_link_builder_offers_only_what_the_lab_can_train():
    """The lab always trains a BN network beside the plain one: "no BN network" is not a choice
    for its link, and a teacher's own link saying so gets the notice the lab gives."""
    at = open_teacher()
    placement = at.radio(key="teacher_placement")
    assert placement.options == ["before the activation (the paper)", "after the activation",
                                 "both (three networks)"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/7_teacher.py")
    at.query_params["placement"] = "none"                     # /teacher?placement=none
    at.run()
    assert not at.exception
    assert any("**placement**" in w.value and "always trains" in w.value for w in at.warning)
    assert at.radio(key="teacher_placement").value == "before"


def test_each_lock_and_hide_box_says_which_control_it_is_for():
    at = open_teacher()
    boxes = {c.key: c.label for c in at.checkbox}
    assert boxes["teacher_lock_lr"].startswith("lock") and "Learning rate" in boxes["teacher_lock_lr"]
    assert boxes["teacher_hide_eps"].startswith("hide") and "BN epsilon" in boxes["teacher_hide_eps"]
    assert len(set(boxes.values())) == len(boxes)             # no two alike


def test_teacher_headings_do_not_skip_a_level():
    at = open_teacher()
    assert [h.tag for h in at.header] and all(h.tag == "h2" for h in at.header)
    assert [h.value for h in at.header] == ["Exercises", "Build a link"]
    assert not at.subheader
