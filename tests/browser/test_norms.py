"""The regularisation-and-alternatives page in a real browser: the default run (BN as a
regulariser), its verdicts, rule, chart and caption; then the "which axis" grid. Screenshots go
to the test's tmp_path (set NORMS_SHOTS=folder to keep them)."""

import os
import re
from pathlib import Path

from tests.browser.conftest import assert_no_exception, wait_idle


def _shot(page, tmp_path, name):
    folder = Path(os.environ.get("NORMS_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_the_default_run_in_the_browser(page, app_url, tmp_path):
    page.goto(f"{app_url}/norms")
    wait_idle(page)
    page.get_by_role("heading", name="BN as a regulariser, and its alternatives").wait_for()
    assert_no_exception(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_text("What the data say").wait_for(timeout=180_000)
    wait_idle(page, timeout_ms=180_000)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    claim = page.locator("[data-testid='stMarkdownContainer']", has_text="dropout-only ablation")
    assert claim.count() >= 1 and claim.first.is_visible()       # the 2015 paper's missing test
    rule = page.locator("[data-testid='stCaptionContainer']", has_text="Holm's correction")
    assert rule.count() == 1 and rule.first.is_visible()
    caption = page.locator("[data-testid='stCaptionContainer']", has_text="Train")
    assert caption.count() >= 1
    assert page.get_by_role("button", name="Results (CSV)").count() == 1
    assert "exp=regular" in page.url
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(500)
    _shot(page, tmp_path, "norms-regular.png")
    page.get_by_text("Alternatives across batch sizes").click()      # the radio: the grid figure
    page.wait_for_url(re.compile(r"exp=batch"), timeout=60_000)       # the rerun has begun…
    wait_idle(page)                                                    # …and ended
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    _shot(page, tmp_path, "norms-batch-intro.png")
