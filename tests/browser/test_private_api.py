"""Surviving a Streamlit upgrade (#26): with the private parts this app uses deleted before the
server starts (what a rename in a release would do), every page opens and the lab trains, with no
exception; the features that need them are off and say so in the server's log."""

import os
from pathlib import Path

from tests.browser.conftest import assert_no_exception, streamlit_server, wait_idle

import ui

LAUNCHER = str(Path(__file__).parent / "apps" / "no_private_api.py")


def test_every_page_works_without_streamlits_private_parts(browser):
    with streamlit_server(launcher=LAUNCHER) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for p in ui.PAGES:
            path = "/" if p.path == "app.py" else "/" + Path(p.path).stem.split("_", 1)[1]
            page.goto(url + path)
            wait_idle(page)
            assert_no_exception(page)
            assert page.get_by_role("heading").count() > 0, path
        page.goto(url + "/lab?steps=100")
        wait_idle(page)
        page.locator(".st-key-lab_train button").first.click()
        page.get_by_text("Step 100 of 100 · finished").wait_for(timeout=120_000)
        wait_idle(page)
        assert_no_exception(page)
        page.close()
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{url.rsplit(':', 1)[1]}.log"
        text = log.read_text()
        assert "streamlit_compat: the janitor of closed tabs is off" in text, text[-2000:]
