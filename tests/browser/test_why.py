"""The "Why does BN work?" page in a real browser: the default experiment (noisy BN, ten seeds)
from the Run button to its verdict, charts and downloads."""

from tests.browser.conftest import assert_no_exception, wait_idle


def test_the_default_noisy_bn_experiment_in_the_browser(page, app_url, tmp_path):
    page.goto(f"{app_url}/why")
    wait_idle(page)
    page.get_by_role("heading", name="Why does BN work?").wait_for()
    assert_no_exception(page)
    assert page.get_by_text("Press Run to train 30 networks").first.is_visible()
    page.get_by_role("button", name="Run").click()
    page.get_by_text("What the data say").wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.locator("[data-testid='stPlotlyChart']").count() == 3
    verdict = page.locator("[data-testid='stMarkdownContainer']", has_text="noisy BN")
    assert verdict.count() >= 1 and verdict.first.is_visible()
    rule = page.locator("[data-testid='stCaptionContainer']", has_text="Holm's correction")
    assert rule.count() == 1
    assert "exp=noise" in page.url
    assert page.get_by_role("button", name="Curves (CSV)").count() == 1
    assert page.get_by_role("button", name="Measurements (CSV)").count() == 1
    page.set_viewport_size({"width": 1400, "height": 4200})          # the whole result
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "why-noise.png"), full_page=True)
