"""live_chart.py in a real browser, on its own demo page (tests/browser/apps/live_chart_demo.py):
five charts redrawn in a loop inside one script run, with every request to anything but this
server blocked. The charts update in place several times during the loop, plotly.js loads once,
the data in the browser at the end equals the figures, Pause stops the loop, and where plotly.js
cannot load the page falls back to st.plotly_chart with a caption. Lost and swapped messages leave
every chart equal to its figure, and a chart redrawn in place (Plotly.animate) shows the same
markup as Plotly.react draws, for the lab's own figures. plotly.js comes from the app's static
folder (live_chart.py copies it into tests/browser/apps/static/, next to the demo script)."""

from __future__ import annotations

import base64
import json
import math
import re
import sys
import time
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.browser.conftest import ROOT, assert_no_exception, streamlit_server, wait_idle

sys.path.insert(0, str(ROOT / "tests" / "browser" / "apps"))
from live_chart_figures import NAMES, build

DEMO = "tests/browser/apps/live_chart_demo.py"
CHART_STATE = """() => [...document.querySelectorAll('.bn-live-chart')].map(n => {
    const ch = window.__bnLiveChart.charts.get(n.dataset.key);
    return {key: n.dataset.key, marked: n.__testMark === 1, seq: ch.state && ch.state.seq,
            redrawn: ch.stats.afterplots + ch.stats.animated, draws: ch.stats.draws,
            deltas: ch.stats.deltas, fulls: ch.stats.fulls, waiting: ch.held.length,
            data: (n.data || []).map(t => Object.fromEntries(Object.entries(t).map(
                ([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v) : v])))};
})"""


@pytest.fixture(scope="module")
def demo_url():
    """`streamlit run` of the demo page (conftest's server, the same flags as app_url)."""
    with streamlit_server(DEMO) as url:
        yield url


@pytest.fixture
def offline_page(browser, demo_url):
    """A page whose requests to any host but this server are aborted (and counted), tall enough
    to show all five charts (charts off screen are drawn only when they scroll into view)."""
    context = browser.new_context(viewport={"width": 1200, "height": 2600})
    seen = {"blocked": [], "plotly": 0}

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1",
                                                                                "localhost"):
            seen["blocked"].append(r.request.url)
            return r.abort()
        if re.search(r"/app/static/plotly-[^/]+\.min\.js$", url.path):   # live_chart.py's copy
            seen["plotly"] += 1
        return r.continue_()

    context.route("**/*", route)
    p = context.new_page()
    p.seen, p.demo_url = seen, demo_url
    yield p
    context.close()


def values(v):
    """A figure's array attribute as Python floats (plotly's base64 typed arrays decoded)."""
    if isinstance(v, dict) and "bdata" in v:
        kind = {"f4": np.float32, "f8": np.float64, "i1": np.int8, "i2": np.int16,
                "i4": np.int32, "u1": np.uint8, "u2": np.uint16}[v["dtype"]]
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=kind).astype(float).tolist()
    return v


def same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def wait_charts(page, n: int = len(NAMES)) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('.bn-live-chart .main-svg').length >= {n}",
        timeout=60_000)


def test_live_charts_update_in_place_offline_and_end_equal_to_the_figures(offline_page, tmp_path):
    page, updates = offline_page, 14
    page.set_viewport_size({"width": 1200, "height": 1000})   # curves and band on screen
    page.goto(_url(page, f"mode=live&updates={updates}&interval=0.2"))
    wait_idle(page)
    wait_charts(page, 2)
    before = {c["key"]: c for c in page.evaluate(CHART_STATE)}
    assert sorted(before) == sorted(f"demo_{n}" for n in NAMES)
    page.evaluate("() => document.querySelectorAll('.bn-live-chart')"
                  ".forEach(n => n.__testMark = 1)")

    page.get_by_role("button", name="Start").click()          # a new script run: the loop
    page.get_by_text("done: ").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    during = {c["key"]: c for c in page.evaluate(CHART_STATE)}
    for name in ("curves", "band"):                            # on screen: drawn as it trains
        c, b = during[f"demo_{name}"], before[f"demo_{name}"]
        assert c["redrawn"] - b["redrawn"] >= 3, (name, c)   # plotly.js events: drawn
    assert during["demo_curves"]["deltas"] >= 3                # only what changed was sent

    for name in NAMES:                                         # off screen: drawn when seen
        page.locator(f".st-key-box_{name}").scroll_into_view_if_needed()
        page.wait_for_function(
            f"() => {{ const n = document.querySelector('[data-key=demo_{name}]');"
            f" return n.dataset.seq == window.__bnLiveChart.charts.get('demo_{name}')"
            f".state.seq; }}", timeout=30_000)
    page.screenshot(path=str(tmp_path / "live_chart_demo.png"))
    after = {c["key"]: c for c in page.evaluate(CHART_STATE)}
    for name in NAMES:
        c = after[f"demo_{name}"]
        assert c["marked"], f"{name}: the chart element was re-created"
        assert c["deltas"] >= updates - 1 and c["waiting"] == 0, (name, c)
        want = json.loads(build(name, updates).to_json())["data"]
        assert len(c["data"]) == len(want)
        for i, (got, w) in enumerate(zip(c["data"], want)):
            for k in ("x", "y", "mode", "type", "fill"):
                if k in w:
                    assert same(got.get(k), values(w[k])), f"{name} trace {i} {k}"
    assert page.seen["plotly"] == 1                            # plotly.js: once for 5 charts
    assert page.evaluate("() => window.__bnLiveChart.plotlyLoads") == 1
    assert page.evaluate(
        "() => document.querySelectorAll('script[data-bn-live-chart]').length") == 1
    assert page.locator("[data-testid='stPlotlyChart']").count() == 0


def test_lost_late_and_early_messages_leave_every_chart_equal_to_its_figure(offline_page):
    """The real live_chart.js against live_chart.FigureStream's messages, delivered as a loaded
    browser may get them: one never (a feeder that did not run: a delta, and a full one), two
    swapped, and a delta before its full figure. After each, the chart's state is a figure."""
    import live_chart as L

    page = offline_page
    page.goto(_url(page, "mode=live&updates=0"))              # loads live_chart.js
    wait_idle(page)
    page.wait_for_function("() => window.__bnLiveChart", timeout=60_000)
    state = """(key) => { const st = window.__bnLiveChart.charts.get(key).state;
        return st.data.map(t => Object.fromEntries(Object.entries(t).map(
            ([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v) : v]))); }"""
    extra = {"height": 300, "config": {}, "plotly": "component/x/plotly.min.js"}

    def shows(key, fig) -> bool:
        got, want = page.evaluate(state, key), json.loads(fig.to_json())["data"]
        return len(got) == len(want) and all(
            same(g.get(k), values(w[k])) for g, w in zip(got, want) for k in ("x", "y", "mode")
            if k in w)

    for name in NAMES:
        key = f"lost_{name}"
        s = L.FigureStream(key, keyframe_every=4)
        msgs = [s.full(L.figure_dict(build(name, 0)), extra)] + [
            s.update(L.figure_dict(build(name, u)), extra) for u in range(1, 11)]
        assert [m["kind"] for m in msgs].count("full") == 3             # 0, 5 and 10
        order = [0, 1, 3, 2, 4, 6, 7, 9, 10]     # 2 after 3; 5 (a full one) and 8 lost
        for u in order:
            page.evaluate("(m) => window.__bnLiveChart.deliver(m)", L.encode(msgs[u]).decode())
            want = max(x for x in order[:order.index(u) + 1])
            assert shows(key, build(name, want)), f"{name}: after message {u}"
        early = L.FigureStream(key + "_early")
        first = early.full(L.figure_dict(build(name, 0)), extra)
        delta = early.update(L.figure_dict(build(name, 1)), extra)
        delta.pop("keyframe")
        page.evaluate("(m) => window.__bnLiveChart.deliver(m)", L.encode(delta).decode())
        page.evaluate("(m) => window.__bnLiveChart.deliver(m)", L.encode(first).decode())
        assert shows(key + "_early", build(name, 1)), f"{name}: a delta before its full figure"


def test_pause_stops_the_loop(offline_page):
    page, updates = offline_page, 400
    page.goto(_url(page, f"mode=live&updates={updates}&interval=0.05"))
    wait_idle(page)
    wait_charts(page)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(re.compile(r"update ([5-9]|[1-9][0-9])$")).wait_for(timeout=60_000)
    clicked = time.time()
    page.get_by_role("button", name="Pause").click()
    page.get_by_text(re.compile(r"paused after update \d+")).wait_for(timeout=30_000)
    wait_idle(page)
    caption = page.get_by_text(re.compile(r"paused after update")).first.inner_text()
    stopped, handled = re.search(r"paused after update (\d+) \(at ([\d.]+)\)", caption).groups()
    stopped, handled = int(stopped), float(handled)
    assert 5 <= stopped < updates
    page.wait_for_timeout(500)                                 # it stays stopped
    assert page.locator("[data-testid='stApp']").get_attribute("data-test-script-state") \
        == "notRunning"
    assert page.get_by_text("done: ").count() == 0
    print(f"Pause handled {handled - clicked:.3f} s after the click (update {stopped})")
    assert_no_exception(page)


def test_without_plotly_js_the_page_falls_back_to_plotly_chart(offline_page):
    page = offline_page
    page.context.route("**/app/static/plotly-*.min.js", lambda r: r.abort())
    page.goto(_url(page, "mode=live&updates=3&interval=0.05"))
    page.locator("[data-testid='stPlotlyChart']").nth(len(NAMES) - 1).wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator("[data-testid='stPlotlyChart']").count() == len(NAMES)
    assert page.get_by_text("Drawn with Streamlit's standard chart").count() == len(NAMES)
    assert_no_exception(page)


def _url(page, query: str) -> str:
    return f"{page.demo_url}/?{query}"


CANON = r"""(gd) => {       // a graph div as markup: attributes sorted, plotly's random ids out
    const ids = [gd._fullLayout._uid, ...gd._fullData.map(t => t.uid)];
    const canon = (n) => {
        if (n.nodeType === 3) return n.textContent;
        if (n.nodeType !== 1) return '';
        const attrs = [...n.attributes].map(a => {
            let v = a.value;
            if (a.name === 'style') {
                v = v.split(';').map(x => x.trim()).filter(Boolean).sort().join(';');
            }
            if (a.name === 'transform') {    // an animated group gets scale(1,1): the same
                v = v.replace(/scale\(1,\s*1\)/g, '').replace(/\s+/g, '');
            }
            return a.name + '=' + v; }).filter(x => x !== 'transform=').sort();
        return `<${n.tagName} ${attrs.join(' ')}>${[...n.childNodes].map(canon).join('')}</>`;
    };
    let s = [...gd.querySelectorAll('.svg-container')].map(canon).join('');
    for (const id of ids) s = s.split(id).join('ID');
    return s;
}"""


def test_a_chart_redrawn_in_place_shows_what_plotly_react_draws(offline_page):
    """The lab's own figures at 14 snapshots of a real run (the first 7, where markers, ranges
    and peaks change, and 7 later ones), through FigureStream into the real live_chart.js, which
    redraws in place where only data and the title's text changed. Beside each chart a second
    graph div gets every figure by Plotly.react. After each update the two are the same markup,
    and every view was drawn in place at least 5 times."""
    import live_chart as L
    from bn_core.lab import presets, views
    from bn_core.trainer import Run, TrainConfig

    page = offline_page
    page.goto(_url(page, "mode=live&updates=0"))
    wait_idle(page)
    wait_charts(page, 2)                                       # plotly.js loaded
    config = TrainConfig(steps=2000, seed=3)
    run = Run(config.replace(record_every=presets.record_every_for(config)))
    seq = []
    for i, _ in enumerate(run.stream()):
        if 1 <= i <= 7 or 20 <= i <= 26:
            seq.append(views.live_figures(run.history, config.depth - 1, 0, as_dict=True))
        if i == 26:
            break
    extra = {"config": {"displaylogo": False, "staticPlot": True},
             "plotly": "component/x/plotly.min.js"}
    page.evaluate("""() => { const box = document.createElement('div'); box.id = 'inplace';
        box.style.cssText = 'position:fixed; top:0; left:0; width:1100px; z-index:99999; '
                            + 'background:#fff';
        document.body.appendChild(box); }""")
    for name in views.VIEWS:
        key, stream = f"inplace_{name}", L.FigureStream(f"inplace_{name}", keyframe_every=40)
        page.evaluate("""(key) => { const box = document.getElementById('inplace');
            box.replaceChildren(); const ch = window.__bnLiveChart.chart(key);
            const ref = document.createElement('div'); ref.id = 'ref';
            box.append(ch.node, ref); }""", key)
        for u, figs in enumerate(seq):
            fig = L.figure_dict(figs[name])
            h = {**extra, "height": int(fig["layout"].get("height", 450))}
            msg = stream.full(fig, h) if u == 0 else stream.update(fig, h)
            page.evaluate("(m) => window.__bnLiveChart.deliver(m)", L.encode(msg).decode())
            page.wait_for_function("""(key) => { const ch = window.__bnLiveChart.charts.get(key);
                return ch.node.dataset.seq === String(ch.state.seq); }""", arg=key,
                                   timeout=30_000)
            got, want = page.evaluate("""async (a) => {
                const [key, canon] = a; const f = eval(canon);     // the test's own code
                const ch = window.__bnLiveChart.charts.get(key), st = ch.state;
                const ref = document.getElementById('ref');
                ref.style.height = ch.node.style.height;
                await Plotly.react(ref, {data: st.data.map(t => ({...t})),
                    layout: structuredClone(st.layout),
                    config: {displaylogo: false, responsive: true, ...st.config}});
                return [f(ch.node), f(ref)]; }""", [key, CANON])
            assert len(want) > 5000 and "<svg" in want.lower(), want[:300]    # a whole chart
            if got != want:
                at = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
                pytest.fail(f"{name}, update {u}: differs at {at}:\n in place: "
                            f"{got[at - 150:at + 150]}\n react: {want[at - 150:at + 150]}")
        stats = page.evaluate("(key) => window.__bnLiveChart.charts.get(key).stats", key)
        assert stats["draws"] == len(seq) and stats["inPlace"] >= 5, (name, stats)
    assert_no_exception(page)
