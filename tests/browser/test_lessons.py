"""The formula and inference lessons in a real browser: each page renders, one control changes
it, and the key numbers (computed here by the core) appear; no exception. Screenshots go to tmp_path."""

import pytest
from playwright.sync_api import expect

from bn_core.formula.config import FormulaConfig
from bn_core.formula.lesson import formula_lesson
from bn_core.data import load_dataset
from tests.browser.conftest import assert_no_exception, wait_idle


@pytest.fixture(scope="module")
def lesson_page(browser, app_url):
    """One browser page for both lessons: Chromium then loads plotly.js and the app's scripts
    once (in a fresh context that alone takes ~10 s on a busy 2-core machine)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def wait_for_text(page, text: str) -> None:
    """After a change, wait until the rerun shows `text` (the script state alone may still read
    'notRunning' from before the rerun started)."""
    expect(page.locator("[data-testid='stMain']")).to_contain_text(text, timeout=90_000)
    wait_idle(page)


def test_formula_page_in_browser(lesson_page, app_url, tmp_path):
    page = lesson_page
    page.goto(f"{app_url}/formula")
    wait_idle(page)
    page.get_by_role("heading", name="The formula: one mini-batch through BN").wait_for()
    assert_no_exception(page)
    default = formula_lesson(FormulaConfig())
    text = main_text(page)
    assert f"Your feature 1 has σ²_B = {default.xvar[0]:.3g}" in text
    assert f"the largest |y − x| in this batch is {max(default.identity_error):.3g}" in text
    page.locator("[data-testid='stPlotlyChart']").nth(5).wait_for(timeout=60_000)   # 6 charts
    page.screenshot(path=str(tmp_path / "formula-default.png"))

    page.locator("[data-testid='stCheckbox']", has_text="Constant feature 1").click()
    wait_for_text(page, "Your feature 1 is nearly constant")
    assert_no_exception(page)
    constant = formula_lesson(FormulaConfig(constant=True))
    text = main_text(page)
    assert f"σ²_B = {constant.xvar[0]:.3g}" in text
    assert "constant=true" in page.url
    page.screenshot(path=str(tmp_path / "formula-constant.png"))

    # "Undo it" on: its formula fits its column; so does every table (the backward paths' dx)
    page.goto(f"{app_url}/formula?identity=true")
    wait_idle(page)
    page.get_by_text("The three paths, for display").wait_for()
    page.mouse.wheel(0, 20_000)
    page.wait_for_timeout(1500)
    assert_no_exception(page)
    assert_nothing_clipped(page)
    page.screenshot(path=str(tmp_path / "formula-undo.png"), full_page=True)


def assert_nothing_clipped(page) -> None:
    """No formula (KaTeX) and no table (the data grid's scroller) is wider than its box."""
    clipped = page.evaluate("""() => [
        ...Array.from(document.querySelectorAll('.katex-display'), e => ['formula', e.textContent.slice(0, 30), e.scrollWidth, e.clientWidth]),
        ...Array.from(document.querySelectorAll("[data-testid='stDataFrame'] .dvn-scroller"), e => ['table', '', e.scrollWidth, e.clientWidth]),
    ].filter(([kind, text, scroll, client]) => scroll > client + 4)""")
    assert clipped == [], clipped


def test_inference_page_in_browser(lesson_page, app_url, tmp_path):
    page = lesson_page
    page.goto(f"{app_url}/inference?steps=200")          # the shortest training: a quicker first visit
    wait_idle(page, timeout_ms=180_000)                 # the first visit trains the networks
    page.get_by_role("heading", name="Inference: train vs eval").wait_for()
    assert_no_exception(page)
    y_test = load_dataset("digits").y_test
    text = main_text(page)
    assert f"Test example 0 is a {int(y_test[0])}" in text
    assert f"{32 / 31:.4f}" in text and "With batches of 2, the network scores" in text
    assert "The remedy: recompute the statistics layer by layer" in text
    page.locator("[data-testid='stPlotlyChart']").nth(1).wait_for(timeout=60_000)   # 2 charts
    page.screenshot(path=str(tmp_path / "inference-default.png"))

    box = page.get_by_label("Test example (0–359)")
    box.fill("5")
    box.press("Enter")
    wait_for_text(page, f"Test example 5 is a {int(y_test[5])}")
    assert_no_exception(page)
    assert "example=5" in page.url and "steps=200" in page.url
    page.screenshot(path=str(tmp_path / "inference-example5.png"))
