"""Browser tests: a real `streamlit run app.py` server and headless Debian Chromium via Playwright.

They skip, saying why, where no Chromium is found; CI installs Debian's chromium so they run.
Use the `page` fixture (a fresh Playwright page) with `app_url` (the server's base URL) and
`wait_idle(page)` after every action.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                             shutil.which("chromium")) if p and Path(p).exists()), None)
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@contextlib.contextmanager
def streamlit_server(script: str = "app.py", env: dict | None = None, launcher: str | None = None,
                     warm_up: bool = False):
    """`streamlit run script` on a free port (headless); yields its base URL once
    /_stcore/health answers ok; stops it afterwards. env: extra environment variables;
    launcher: a Python file to start Streamlit's CLI with instead of `-m streamlit`;
    warm_up: whether the server compiles bn_core's loops in the background when its first page
    runs (classroom.warm_kernels, on in production). Off by default: a compiling child process
    per server is CPU the other servers' tests wait for on two cores; the session's `app_url`
    server, which most browser tests share, runs with it on, as in production.

    The server is stopped in a thread of its own (SIGTERM, then up to 10 s for Streamlit to shut
    down, ~1.5 s): the next test need not wait for it; Python waits for that thread at exit."""
    if CHROMIUM is None:
        pytest.skip("no Chromium found (install Debian's chromium: apt-get install -y chromium)")
    port = _free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, *([launcher] if launcher else ["-m", "streamlit"]), "run", script,
         "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "BN_WARM_UP": "1" if warm_up else "0", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"streamlit did not start; see {log.name}")
        time.sleep(0.3)
    try:
        yield url
    finally:
        threading.Thread(target=_stop, args=(proc, log), name=f"stop streamlit {port}").start()


@pytest.fixture(scope="session")
def app_url():
    """The app as deployed (kernel warm-up on), shared by the browser tests that need no
    special setting."""
    with streamlit_server(warm_up=True) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    yield p
    context.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script has run: the app reports 'notRunning'."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout_ms)
    page.wait_for_timeout(300)


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
