"""The covariate-shift lab in a real browser: open a shared link, press Train, watch it finish;
leave the page mid-training and come back to find the run paused."""

import re
import time

from tests.browser.conftest import assert_no_exception, wait_idle


def test_lab_trains_from_a_shared_link(page, app_url, tmp_path):
    page.goto(f"{app_url}/lab?steps=300&lr=0.5&placement=both")
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_role("heading", name="Covariate-shift lab").wait_for()
    # the link restored the controls
    assert "both (three networks)" in page.locator("[data-testid='stRadio']").first.inner_text()
    progress = page.locator("[data-testid='stProgress']").first
    assert "Step 0 of 300" in progress.inner_text()

    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 300 of 300 · finished").wait_for(timeout=240_000)
    wait_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    page.screenshot(path=str(tmp_path / "lab_top.png"))

    reading = page.get_by_text("Without BN, the inputs to layer 3's units drifted by")
    assert reading.is_visible()
    assert page.get_by_text("Test accuracy at the last snapshot").is_visible()
    # charts mount when scrolled into view: visit each section and count them
    for heading in ["1 · Loss and test accuracy", "2 · One unit's input, over training",
                    "3 · The whole layer's input", "4 · Histograms of every layer",
                    "5 · Saturation and gradients, per layer"]:
        page.get_by_role("heading", name=heading).scroll_into_view_if_needed()
        page.wait_for_timeout(400)
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.last.wait_for(timeout=60_000)
    assert charts.count() == 5
    page.get_by_role("heading", name="4 · Histograms of every layer").scroll_into_view_if_needed()
    assert page.get_by_text("▶ Play").count() >= 1                    # the animation's button
    page.screenshot(path=str(tmp_path / "lab_histograms.png"))
    assert_no_exception(page)


def shown_step(page) -> tuple[int, str]:
    text = page.locator("[data-testid='stProgress']").first.inner_text()
    return int(re.search(r"Step ([\d,]+) of", text)[1].replace(",", "")), text


def test_leaving_mid_training_and_coming_back_shows_the_run_paused(page, app_url, tmp_path):
    page.goto(f"{app_url}/lab?steps=20000")
    wait_idle(page)
    page.get_by_text("Step 0 of 20,000").wait_for()
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)    # training
    page.screenshot(path=str(tmp_path / "1_training.png"))

    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_role("link", name="The formula").click()                     # leave…
    wait_idle(page)
    page.get_by_role("heading", name="The formula: one mini-batch through BN").wait_for()
    assert_no_exception(page)
    sidebar.get_by_role("link", name="Covariate-shift lab").click()             # …come back
    wait_idle(page)
    page.get_by_role("heading", name="Covariate-shift lab").wait_for()
    page.get_by_text(re.compile(r"· paused")).first.wait_for(timeout=30_000)
    step, text = shown_step(page)
    assert 0 < step < 20_000, text
    page.wait_for_timeout(2000)                                     # and it stays paused
    assert shown_step(page) == (step, text)
    assert page.locator("[data-testid='stApp']").get_attribute("data-test-script-state") \
        == "notRunning"
    resume = page.get_by_role("button", name="Resume")
    assert resume.is_enabled()
    assert not page.get_by_role("button", name="Pause").is_enabled()
    assert page.get_by_text("Test accuracy at the last snapshot").is_visible()   # the reading
    page.screenshot(path=str(tmp_path / "2_back_paused.png"))
    page.get_by_role("heading", name="1 · Loss and test accuracy").scroll_into_view_if_needed()
    page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=30_000)   # the charts
    page.screenshot(path=str(tmp_path / "2_back_paused_charts.png"))
    assert_no_exception(page)
    page.get_by_role("heading", name="Covariate-shift lab").scroll_into_view_if_needed()

    resume.click()                                                  # only now does it go on
    deadline = time.time() + 60
    while shown_step(page)[0] <= step + 100 and time.time() < deadline:
        page.wait_for_timeout(250)
    assert shown_step(page)[0] > step + 100
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    later, text = shown_step(page)
    assert "· paused" in text and step < later < 20_000
    page.screenshot(path=str(tmp_path / "3_resumed_then_paused.png"))
    assert_no_exception(page)
