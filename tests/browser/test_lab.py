"""The covariate-shift lab in a real browser: open a shared link, press Train, watch it finish;
controls changed in sequence (depth up and down with the last layer shown, quick key presses on
the learning rate) never break the page; the three downloads after a run; leave mid-training and come back to find the run
paused; with every request outside the server blocked, everything (icons included) renders."""

import re
import time

from tests.browser.conftest import assert_no_exception, wait_idle


def test_lab_trains_from_a_shared_link(page, app_url, tmp_path):
    page.goto(f"{app_url}/lab?steps=300&lr=0.5&placement=both")
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_role("heading", name="Covariate-shift lab").wait_for()
    # the link restored the controls
    placement = page.locator(".st-key-lab_placement")
    placement.get_by_text("both (three networks)").wait_for()          # drawn, then read:
    assert placement.locator("input[type='radio']").nth(2).is_checked()
    progress = page.locator("[data-testid='stProgress']").first
    assert "Step 0 of 300" in progress.inner_text()

    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 300 of 300 · finished").wait_for(timeout=240_000)
    wait_idle(page, timeout_ms=120_000)
    assert_no_exception(page)
    page.screenshot(path=str(tmp_path / "lab_top.png"))

    reading = page.get_by_text("the middle (median) of a typical unit's inputs moved by")
    assert reading.is_visible()
    assert page.get_by_text("Test accuracy at the last snapshot").is_visible()
    charts = page.locator(".bn-live-chart")
    charts.nth(2).wait_for(timeout=60_000)           # the first screen's two, loss and accuracy
    for tab, view in (("Shift as a speed", "shift"), ("Every layer", "histograms"),
                      ("Saturation and gradients", "health"),
                      ("All units of the layer", "layer")):   # the other views, one tab each,
        page.get_by_role("tab", name=tab).click()            # drawn when their tab opens
        chart = page.locator(f".bn-live-chart[data-key='lab_{view}']")
        chart.wait_for(timeout=60_000)
        chart.scroll_into_view_if_needed()                   # (a chart out of sight waits)
        page.wait_for_function("""key => [...window.__bnLiveChart.charts.values()].some(c =>
            c.key === key && c.node.isConnected && c.node.getBoundingClientRect().height > 0
            && c.stats.draws > 0)""", arg=f"lab_{view}", timeout=60_000)
        wait_idle(page)
        assert_no_exception(page)
    page.get_by_role("tab", name="Every layer").click()
    page.get_by_text("▶ Replay").nth(1).wait_for(timeout=60_000)   # first screen and every layer
    page.screenshot(path=str(tmp_path / "lab_histograms.png"))
    assert_no_exception(page)

    page.get_by_role("tab", name="Share and export").click()    # each download, after the run:
    wait_idle(page)                                              # made when clicked, so it must
    files = {}                                                   # still find what it is made of
    for name in ("Recorded data (CSV)", "Figures (standalone HTML)", "PyTorch script (.py)"):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=name).click()
        files[name] = open(download.value.path(), encoding="utf-8").read()
    assert files["Recorded data (CSV)"].count("\n") > 10
    assert "plotly" in files["Figures (standalone HTML)"].lower()
    compile(files["PyTorch script (.py)"], "script.py", "exec")
    assert "BatchNorm1d" in files["PyTorch script (.py)"]


def in_view(page) -> dict:
    """The live charts wholly inside the window: key → redraws so far."""
    return page.evaluate("""() => Object.fromEntries([...window.__bnLiveChart.charts.values()]
        .filter(c => { const r = c.node.getBoundingClientRect();
                       return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })
        .map(c => [c.key, c.stats.draws]))""")


def test_the_first_screen_holds_the_controls_and_two_charts_that_move(browser, app_url,
                                                                      tmp_path):
    """The lab is one instrument: at a laptop's 1280 × 800, without scrolling, after Train, the
    learning rate, placement and ε, the four buttons and the two charts of the chosen layer (its
    histogram per network, the unit's band over time) are in view, and both charts redraw."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{app_url}/lab?steps=20000")
    wait_idle(page)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    before = in_view(page)
    page.wait_for_timeout(3000)
    after = in_view(page)
    page.screenshot(path=str(tmp_path / "first_screen_1280x800.png"))
    page.locator(".st-key-lab_pause button").first.click()
    wait_idle(page)
    assert {"lab_now", "lab_unit"} <= set(before) & set(after), (before, after)
    for key in ("lab_now", "lab_unit"):
        assert after[key] - before[key] >= 3, (key, before, after)
    for key in ("lr", "placement", "eps", "train", "pause", "step_button", "reset"):
        box = page.locator(f".st-key-lab_{key}").first.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 800, (key, box)
    assert_no_exception(page)
    context.close()


def test_on_a_phone_the_panels_stack_with_no_sideways_scroll(browser, app_url, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.goto(f"{app_url}/lab?steps=200&placement=both")
    wait_idle(page)
    box = page.locator(".st-key-lab_train").first.bounding_box()
    assert box and box["y"] + box["height"] <= 844              # Train in the first screen
    page.get_by_role("button", name="Train").first.tap()
    page.get_by_text("Step 200 of 200 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    widths = page.evaluate("""() => [document.documentElement.scrollWidth,
        document.querySelector("[data-testid='stMain']").scrollWidth]""")
    assert max(widths) <= 390, widths
    page.locator(".bn-live-chart").first.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "phone.png"))
    context.close()


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
    page.locator(".bn-live-chart").first.wait_for(timeout=30_000)   # the charts
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


def charts_drawn(page, at_least: int = 1) -> None:
    page.wait_for_timeout(300)
    page.locator(".bn-live-chart").first.wait_for(timeout=60_000)
    assert page.locator(".bn-live-chart").count() >= at_least


def press_slider(page, key: str, keys: list[str], wait: bool = True) -> None:
    """Focus the slider keyed `key` (the hidden range input is the focusable element) and press
    the keys, one after another."""
    handle = page.locator(f".st-key-{key} input[type='range']").first
    handle.focus()
    for k in keys:
        page.keyboard.press(k)
        if wait:
            wait_idle(page)


def test_depth_up_and_down_with_the_last_layer_shown_then_train_step_reset(page, app_url,
                                                                         tmp_path):
    """The bug this guards: the layer box's label changed with the depth ("layer 3 (last)"),
    the browser sent the old label back, and the page crashed on the next rerun."""
    page.goto(f"{app_url}/lab?steps=200&width=16")
    wait_idle(page)
    page.get_by_text("More: the network").click()
    wait_idle(page)
    for keys in (["ArrowRight"], ["ArrowRight"] * 4, ["ArrowLeft"] * 3, ["ArrowLeft"]):
        press_slider(page, "lab_depth", keys)                  # 3 → 4 → 8 → 5 → 4
        assert_no_exception(page)
    assert "depth=4" in page.url
    box = page.locator(".st-key-lab_view_layer input").first
    assert box.input_value() == "the last layer"
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 200 of 200 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    press_slider(page, "lab_depth", ["ArrowLeft", "ArrowLeft"])   # 4 → 2, after training
    assert_no_exception(page)
    page.locator(".st-key-lab_step_button button").first.click()
    wait_idle(page)
    page.locator(".st-key-lab_reset button").first.click()
    wait_idle(page)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 200 of 200 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert page.get_by_text("the middle (median) of a typical unit's inputs moved by"
                            ).is_visible()
    charts_drawn(page, at_least=1)
    page.screenshot(path=str(tmp_path / "after_depth_changes.png"))
    assert_no_exception(page)


def test_quick_key_presses_leave_the_slider_and_the_address_bar_agreeing(page, app_url):
    page.goto(f"{app_url}/lab?steps=100")
    wait_idle(page)
    press_slider(page, "lab_lr", ["ArrowRight"] * 3, wait=False)   # 0.5 → 1 → 2 → 3, quickly
    page.wait_for_timeout(1500)
    wait_idle(page)
    page.wait_for_timeout(1000)
    shown = page.locator(".st-key-lab_lr [data-testid='stSliderThumbValue']").first.inner_text()
    assert f"lr={shown}" in page.url.replace("lr=3.0", "lr=3").replace("lr=2.0", "lr=2") \
        .replace("lr=1.0", "lr=1"), (shown, page.url)
    assert_no_exception(page)


def test_the_lab_works_with_every_outside_request_blocked(browser, app_url, tmp_path):
    """A classroom behind a firewall: only the app's own server answers. The page, its icons
    (Material Symbols, bundled), its favicon and its charts must all come from it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside = []

    def only_the_server(route):
        if route.request.url.startswith(app_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(f"{app_url}/lab?steps=100")
    wait_idle(page)
    assert_no_exception(page)
    page.locator(".st-key-lab_train [data-testid='stIconMaterial']").first.wait_for()
    icons = page.locator("[data-testid='stIconMaterial']")
    for i in range(icons.count()):                              # drawn by the bundled font: a
        box = icons.nth(i).bounding_box()                       # glyph, not the icon's name
        assert box is None or box["width"] < 40, icons.nth(i).inner_text()
    assert page.evaluate("document.fonts.check('24px \"Material Symbols Rounded\"')")
    favicon = page.evaluate("document.querySelector('link[rel*=icon]').href")
    assert favicon.startswith(app_url)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text("Step 100 of 100 · finished").wait_for(timeout=120_000)
    wait_idle(page)
    charts_drawn(page)
    page.screenshot(path=str(tmp_path / "offline.png"))
    assert not [u for u in failed if u.startswith(app_url)], failed
    assert not outside, f"the page asked the outside world for {outside}"
    context.close()


def test_every_chart_on_screen_updates_in_place_while_training(page, app_url, tmp_path):
    """Live means live: while a run trains, the charts in view are redrawn in place many times
    (the same chart element: Plotly.animate where only data moved, else Plotly.react), not
    re-created."""
    page.goto(f"{app_url}/lab?steps=20000")
    wait_idle(page)
    charts_drawn(page, at_least=1)
    page.locator(".st-key-lab_train button").first.click()
    page.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)                                 # the first screen's charts
    nodes = page.evaluate("[...document.querySelectorAll('.bn-live-chart')].map(n => n.dataset.key)")

    def draws():
        return page.evaluate("""() => Object.fromEntries([...window.__bnLiveChart.charts.values()]
            .map(c => [c.key, c.stats.draws]))""")

    before = draws()
    page.wait_for_timeout(4000)
    after = draws()
    visible = page.evaluate("""() => [...window.__bnLiveChart.charts.values()].filter(c => {
        const r = c.node.getBoundingClientRect();
        return r.height > 0 && r.bottom > 0 && r.top < window.innerHeight; }).map(c => c.key)""")
    page.screenshot(path=str(tmp_path / "live.png"))
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    assert visible, "no chart in view"
    for key in visible:
        assert after[key] - before.get(key, 0) >= 3, (key, before, after)
    again = page.evaluate("[...document.querySelectorAll('.bn-live-chart')].map(n => n.dataset.key)")
    assert again == nodes                                     # the same elements, kept
    assert_no_exception(page)
