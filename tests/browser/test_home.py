"""The Home page in a real browser: it renders, links every lesson, shows no exception."""

from tests.browser.conftest import assert_no_exception, wait_idle


def test_home_in_browser(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="BatchNorm Lab").first.wait_for()
    assert_no_exception(page)
    links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']")
    assert links.count() >= 1 and "Home" in links.first.inner_text()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
