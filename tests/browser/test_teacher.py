"""Teacher mode in a real browser (#24): a locked link, the view in the link, an exercise from
prediction to reveal, two runs compared, a run too long for the server refused."""

import re

from tests.browser.conftest import assert_no_exception, streamlit_server, wait_idle


def test_a_locked_link_keeps_its_locks_through_training(page, app_url):
    page.goto(f"{app_url}/lab?lr=2&steps=100&lock=lr,placement&hide=eps")
    wait_idle(page)
    lr = page.locator(".st-key-lab_lr input[type='range']").first
    assert lr.is_disabled()
    assert page.locator(".st-key-lab_eps").count() == 0                   # hidden
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 100 of 100 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert "lock=lr%2Cplacement" in page.url and "hide=eps" in page.url
    assert page.locator(".st-key-lab_lr input[type='range']").first.is_disabled()


def test_the_view_goes_into_the_link_and_comes_back_from_it(page, app_url):
    page.goto(f"{app_url}/lab?steps=100&unit=3&time=linear")
    wait_idle(page)
    assert page.locator(".st-key-lab_view_unit input").first.input_value() == "unit 3"
    page.locator(".st-key-lab_view_layer input").first.click()
    page.get_by_role("option", name="layer 1").click()
    page.wait_for_url(re.compile(r"layer=1\b"), timeout=60_000)     # (idle may come before
    wait_idle(page)                                                # the rerun has started)
    assert "unit=3" in page.url and "time=linear" in page.url
    page.goto(page.url)                                                   # the link, reopened
    wait_idle(page)
    assert page.locator(".st-key-lab_view_layer input").first.input_value() == "layer 1"
    assert page.locator("[data-testid='stAlert']").filter(has_text="unknown").count() == 0
    assert_no_exception(page)


def test_an_exercise_from_prediction_to_reveal_then_two_runs_compared(page, app_url):
    page.goto(f"{app_url}/lab?exercise=break&lr=10&lock=placement&steps=300")
    wait_idle(page)
    train = page.locator(".st-key-lab_train button").first
    assert train.is_disabled()                                            # predict first
    page.locator(".st-key-lab_task").get_by_text("both learn").click()
    wait_idle(page)
    train.click()
    page.get_by_text("Step 300 of 300 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    card = page.locator(".st-key-lab_task").inner_text()
    assert "This run:" in card and "You predicted: both learn" in card
    page.get_by_role("button", name="Close the exercise").click()
    wait_idle(page)
    handle = page.locator(".st-key-lab_lr input[type='range']").first    # a small rate now
    handle.focus()
    page.keyboard.press("Home")
    wait_idle(page)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 300 of 300 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_role("tab", name="Compare runs").click()
    page.get_by_text("lr 10", exact=True).first.wait_for()
    page.get_by_text("lr 0.0001", exact=True).first.wait_for()
    page.wait_for_function("() => window.__bnLiveChart && window.__bnLiveChart.charts.has("
                           "'lab_compare')", timeout=30_000)             # the compare chart
    assert_no_exception(page)


def test_a_run_too_long_for_the_server_is_refused(browser):
    with streamlit_server(env={"BN_LAB_MAX_RUN_S": "2"}) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/lab?steps=100000")
        wait_idle(page)
        assert page.get_by_text(re.compile("This run would take about")).is_visible()
        assert page.locator(".st-key-lab_train button").first.is_disabled()
        assert_no_exception(page)
        page.close()
