"""The covariate-shift lab in a real browser: open a shared link, press Train, watch it finish."""

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
