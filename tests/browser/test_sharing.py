"""Fair sharing in a real browser: a server that trains one run at a time (BN_LAB_MAX_TRAININGS=1)
queues the second learner with a clear note, Pause answers while queued, and the queued run
starts by itself when the first one stops."""

import re

import pytest

from tests.browser.conftest import assert_no_exception, streamlit_server, wait_idle


@pytest.fixture(scope="module")
def one_slot_url():
    with streamlit_server(env={"BN_LAB_MAX_TRAININGS": "1"}) as url:
        yield url


def open_lab(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/lab?steps=100000&width=16&depth=2")
    wait_idle(page)
    return context, page


def test_the_second_learner_is_queued_then_starts_by_itself(browser, one_slot_url, tmp_path):
    first_ctx, first = open_lab(browser, one_slot_url)
    second_ctx, second = open_lab(browser, one_slot_url)
    first.locator(".st-key-lab_train button").first.click()
    first.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)    # it trains
    second.locator(".st-key-lab_train button").first.click()
    queued = second.get_by_text(re.compile(r"Queued.*you are next"))
    queued.first.wait_for(timeout=60_000)
    second.screenshot(path=str(tmp_path / "queued.png"))
    # Pause while queued: answers without waiting for the slot (the first learner still holds
    # it, training), and gives the place in line back
    second.get_by_role("button", name="Pause").click()
    wait_idle(second)
    assert first.get_by_role("button", name="Pause").is_enabled()      # still training
    assert second.get_by_text(re.compile("Queued")).count() == 0
    assert second.get_by_role("button", name="Train").is_enabled()
    # queued again; the first learner pauses: the second starts by itself
    second.locator(".st-key-lab_train button").first.click()
    queued.first.wait_for(timeout=60_000)
    first.get_by_role("button", name="Pause").click()
    wait_idle(first)
    second.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)
    assert second.get_by_text(re.compile("Queued")).count() == 0
    second.get_by_role("button", name="Pause").click()
    wait_idle(second)
    for page in (first, second):
        assert_no_exception(page)
    first_ctx.close()
    second_ctx.close()
