"""The Experiments page in a real browser: run one tiny experiment, see its chart, verdict and rule."""

from tests.browser.conftest import assert_no_exception, wait_idle


def test_a_tiny_learning_rate_sweep_in_the_browser(page, app_url, tmp_path):
    page.goto(f"{app_url}/experiments?exp=lr&seeds=2&steps=50&points=3&depth=2&width=16")
    wait_idle(page)
    page.get_by_role("heading", name="Experiments across seeds").wait_for()
    assert_no_exception(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_text("What the data say").wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    verdict = page.locator("[data-testid='stMarkdownContainer']", has_text="learning rate")
    assert verdict.count() >= 1 and verdict.first.is_visible()
    rule = page.locator("[data-testid='stCaptionContainer']", has_text="Holm's correction")
    assert rule.count() == 1 and rule.first.is_visible()          # how the error is controlled
    assert page.get_by_text("Use 7 or more seeds").first.is_visible()   # 2 seeds: says why
    assert "lr_min" not in page.url and "exp=lr" in page.url and "points=3" in page.url
    assert page.get_by_role("button", name="Results (CSV)").count() == 1
    page.set_viewport_size({"width": 1400, "height": 2000})          # the whole result
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "experiments-lr.png"), full_page=True)


def test_a_tiny_depth_experiment_in_the_browser(page, app_url, tmp_path):
    page.goto(f"{app_url}/experiments?exp=depth&seeds=2&steps=50&depths=2,3&width=16")
    wait_idle(page)
    page.get_by_role("heading", name="Experiments across seeds").wait_for()
    assert_no_exception(page)
    page.get_by_role("button", name="Run").click()
    page.get_by_text("What the data say").wait_for(timeout=120_000)
    wait_idle(page, timeout_ms=120_000)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.locator("[data-testid='stPlotlyChart']").count() == 2     # drift; accuracy
    assert page.get_by_text("The notes' depth claim, with 2 seeds: not settled").first.is_visible()
    why = page.get_by_role("link", name="Why does BN work?")
    hrefs = [why.nth(i).get_attribute("href") for i in range(why.count())]
    assert "/why" in hrefs, hrefs                          # the verdict's link (the nav's: "why")
    assert "exp=depth" in page.url and ("depths=2%2C3" in page.url or "depths=2,3" in page.url)
    assert page.get_by_role("button", name="Results (CSV)").count() == 1
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "experiments-depth.png"), full_page=True)
