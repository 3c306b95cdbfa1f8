"""The lab's live charts are live, loudly (#26 item 3): a real `streamlit run app.py`, the lab
trained in Chromium with every request to another host blocked, then it fails if

  - any live chart fell back to st.plotly_chart (its caption), or the browser's registry of live
    charts reports a failure (no plotly.js);
  - plotly.js did not come from the app's static folder (/app/static/plotly-<version>.min.js,
    status 200, a JavaScript MIME type: the page loads it with a <script> tag) exactly once;
  - live_chart.js found the app's base URL by guessing from the page's URL, not from Streamlit's
    bundle (a release renamed `/static/js/index.<hash>.js`);
  - a feeder element (live_chart.py's hidden message carriers) was not found in Streamlit's
    element container (a release renamed `stElementContainer` / `st-key-…`), or takes any space:
    its slot in the layout is shown, or the chart's block is taller than the chart.

It is one of the smoke tests tools/check-streamlit-upgrade runs against the newest Streamlit.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.browser.conftest import assert_no_exception, wait_idle

import live_chart
from bn_core.lab.views import LIVE_VIEWS

STATE = """() => {
    const reg = window.__bnLiveChart;
    // The slot of an element in Streamlit's layout: its ancestor that is a flex item (found by
    // the layout, not by Streamlit's class names). A feeder's must not be shown.
    const slot = (el) => {
        while (el.parentElement && !/flex|grid/.test(getComputedStyle(el.parentElement).display))
            el = el.parentElement;
        return el;
    };
    const feeders = [...document.querySelectorAll('[data-bn-feeder]')];
    return {
        failed: reg ? reg.failed : 'no registry', base: reg && reg.base,
        loads: reg && reg.plotlyLoads, charts: reg ? reg.charts.size : 0,
        drawn: document.querySelectorAll('.bn-live-chart .main-svg').length,
        counted: window.__bnLiveChartFeeders || null,
        feeders: feeders.length,
        shown: feeders.filter(f => f.getClientRects().length > 0
                                   || slot(f).getClientRects().length > 0).length,
        // the layout block holding feeder slots is no taller than its shown children and the
        // gaps between them (a shown feeder of no height still adds a gap)
        taller: [...new Set(feeders.map(f => slot(f).parentElement))].map(b => {
            const shown = [...b.children].filter(c => c.getClientRects().length > 0);
            const gap = parseFloat(getComputedStyle(b).rowGap) || 0;
            const inner = shown.reduce((h, c) => h + c.getBoundingClientRect().height, 0)
                + gap * Math.max(0, shown.length - 1);
            return b.getBoundingClientRect().height - inner;
        }).filter(d => d > 1),
    };
}"""


def test_the_labs_charts_stay_live_and_their_feeders_take_no_space(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    blocked, plotly = [], []

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1",
                                                                                "localhost"):
            blocked.append(r.request.url)
            return r.abort()
        return r.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("response", lambda r: plotly.append((urlparse(r.url).path, r.status,
                                                 r.headers.get("content-type", "")))
            if "plotly" in urlparse(r.url).path else None)
    try:
        page.goto(f"{app_url}/lab?steps=4000")              # long enough to look while training
        wait_idle(page)
        page.locator(".st-key-lab_train button").first.click()
        # while it trains: the feeders are in the page
        page.wait_for_function("() => (window.__bnLiveChartFeeders || {hidden: 0}).hidden >= 3"
                               " && document.querySelector('.bn-live-chart .main-svg')",
                               timeout=120_000)
        during = page.evaluate(STATE)
        page.get_by_text(re.compile(r"Step 4,000 of 4,000 · finished")).wait_for(timeout=240_000)
        wait_idle(page)
        assert_no_exception(page)
        after = page.evaluate(STATE)
        fallbacks = page.get_by_text(live_chart.FALLBACK_CAPTION[:40]).count()
    finally:
        context.close()

    for when, s in (("while training", during), ("finished", after)):
        assert s["failed"] is None, f"{when}: live charts failed: {s['failed']}"
        assert s["charts"] >= len(LIVE_VIEWS) + 1 and s["drawn"] >= 1, (when, s)  # + open tab
        assert s["base"] and s["base"]["from"] == "Streamlit's bundle", (
            f"{when}: live_chart.js did not find Streamlit's bundle (/static/js/index.*.js): "
            f"{s['base']}")
        assert s["loads"] == 1, (when, s)
        assert s["counted"] and s["counted"]["guessed"] == 0, (
            f"{when}: a feeder outside Streamlit's element container (renamed?): {s['counted']}")
        assert s["shown"] == 0, f"{when}: {s['shown']} of {s['feeders']} feeders take space"
        assert s["taller"] == [], f"{when}: feeders add space to their block: {s}"
    assert during["feeders"] >= 1, during
    assert fallbacks == 0, f"{fallbacks} live charts fell back: see the server's log for why"
    want = f"/app/static/{live_chart.plotly_js_name()}"
    assert [p for p, _, _ in plotly] == [want], plotly
    _, status, mime = plotly[0]
    assert status == 200 and re.match(r"(text|application)/(x-)?javascript", mime), plotly

