"""Fixtures shared by the browser tests (tests/browser/) and the deploy tests (tests/deploy/):
one headless Chromium for the whole session (two Playwright instances cannot run at once)."""

import os

import pytest

# The lab's "watchable" speed spreads a short run over ~12 s (pages/1_lab.py): the tests train at
# full speed unless one asks for it (a browser server started with BN_LAB_WATCH_SECONDS=12).
os.environ.setdefault("BN_LAB_WATCH_SECONDS", "0")
# ... and start long runs (to pause them) whatever the machine's load makes the estimate say;
# the run-length guard's own tests set BN_LAB_MAX_RUN_S themselves.
os.environ.setdefault("BN_LAB_MAX_RUN_S", "100000")
# The test process itself compiles bn_core's loops on first use: a warm-up thread started by the
# first import of classroom.py would switch kernels under the tests' feet (tests/test_warm_up.py
# tests it on its own). The browser tests' app_url server and the deploy tests' cluster warm
# up as usual (tests/browser/conftest.py: streamlit_server's warm_up).
os.environ["BN_WARM_UP"] = "0"

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium found (install Debian's chromium: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()
