"""What the experiment pages' AppTests share: open a page as a learner reaches it (through
app.py, then the page, with a link's query), press its form's Run, and read every text shown."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def press_run(at: AppTest, prefix: str) -> AppTest:
    """Submit the form of the experiment shown (radio `{prefix}_choice`)."""
    experiment = at.radio(key=f"{prefix}_choice").value
    at.button(key=f"FormSubmitter:{prefix}_{experiment}_form-Run").click()
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [e.value for e in at.error] + [w.value for w in at.warning]
                    + [i.value for i in at.info])
