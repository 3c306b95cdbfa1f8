"""Closed tabs give their memory back, in a real server (classroom.Janitor with
BN_LAB_RELEASE_AFTER_S=1): a closed tab's run is released about a second later (said in the
server's log), and a tab whose connection was away longer than that comes back to its settings,
a note, and a fresh run when it presses Train, never a traceback."""

import os
import re
import time
from pathlib import Path

import pytest

from tests.browser.conftest import assert_no_exception, streamlit_server, wait_idle

# Streamlit's frontend keeps its websocket to itself: record each one it opens, to close it.
RECORD_SOCKETS = """(() => { const WS = window.WebSocket; window.__sockets = [];
  window.WebSocket = new Proxy(WS, {construct(target, args) {
    const ws = new target(...args); window.__sockets.push(ws); return ws; }}); })();"""


@pytest.fixture(scope="module")
def url():
    with streamlit_server(env={"BN_LAB_RELEASE_AFTER_S": "1"}) as url:
        yield url


def released(url) -> int:
    """How many sessions the server's janitor has released so far (from its log)."""
    port = url.rsplit(":", 1)[1]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{port}.log"
    return sum(int(n) for n in re.findall(r"released the runs of (\d+) closed", log.read_text()))


def wait_released(url, more_than: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while released(url) <= more_than:
        assert time.monotonic() < deadline, "the janitor did not release the closed tab's run"
        time.sleep(0.2)


def trained_lab(browser, url, steps: int):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.add_init_script(RECORD_SOCKETS)
    page.goto(f"{url}/lab?steps={steps}&width=16&depth=2")
    wait_idle(page)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text(re.compile(rf"Step {steps:,} of {steps:,}")).first.wait_for(timeout=60_000)
    wait_idle(page)
    return context, page


def test_a_closed_tabs_run_is_released(browser, url):
    context, _ = trained_lab(browser, url, steps=200)
    before = released(url)
    context.close()
    wait_released(url, before)


def test_a_tab_away_too_long_keeps_its_settings_and_trains_afresh(browser, url, tmp_path):
    context, page = trained_lab(browser, url, steps=3000)
    page.get_by_role("slider", name="Learning rate").wait_for()
    before = released(url)
    context.set_offline(True)                   # the laptop's lid closes …
    page.evaluate("window.__sockets.forEach(ws => ws.close())")
    wait_released(url, before)
    context.set_offline(False)                  # … and opens: the same session reconnects
    page.wait_for_function("window.__sockets.length >= 2 && "
                           "window.__sockets.at(-1).readyState === WebSocket.OPEN",
                           timeout=60_000)
    page.locator(".st-key-lab_train button").first.click()
    note = page.get_by_text(re.compile("This tab was away for a while"))
    note.first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "away.png"))
    assert "?steps=3000" in page.url or "steps=3000" in page.url    # the settings are kept
    page.get_by_text(re.compile(r"Step 3,000 of 3,000")).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    context.close()
