"""Benchmark of live_chart.py against st.plotly_chart, measured in Chromium: prints figures and
ratios, asserts nothing.

    python benchmarks/bench_live_chart.py                   # synthetic + lab figures (~10 minutes)
    python benchmarks/bench_live_chart.py --viewport laptop  # 1366 × 768: charts off screen wait
    python benchmarks/bench_live_chart.py --figs synthetic --repeats 2

One `streamlit run` of tests/browser/apps/live_chart_demo.py and one headless Chromium (the test
suite's launch flags), every request to another host aborted. Per run the page redraws five
charts in a loop inside one script run, every --interval seconds, either with live_chart
(mode=live) or with st.plotly_chart into the same st.empty() placeholders with a new key each
time (mode=plotly, the lab's way today). Modes alternate, --repeats times; medians.
  figs=synthetic   tests/browser/apps/live_chart_figures.py, --updates updates
  figs=lab         bn_core's five live views of a real 10,000-step training run
                   (TrainConfig(steps=10_000), 4 record intervals between updates), and
                   mode=none (the same loop, figures built but not drawn) for the display cost
Measured, while the loop runs:
  shown/s          per chart: animation frames in which that chart's plot was redrawn (a new
                   plot <div> appeared in its box, or its plot emitted plotly_afterplot), per
                   second ("on screen": the charts inside the viewport when the loop starts);
                   in-place redraws (Plotly.animate) count by their plotly_animated event;
                   the issue's target is ≥ 4 for every chart on screen. The viewport is tall
                   enough to show all five charts (--viewport laptop: 1366 × 768, where charts
                   off screen are not drawn by either way, and only the visible ones count).
  KB/update        WebSocket bytes received by the page / (updates × charts)
  browser ms/upd   main-thread task time (Chrome's Performance.getMetrics TaskDuration) /
                   (updates × charts); also the longest task
  server ms/upd    time in live_chart() or plotly_chart() per chart update (the figure
                   building excluded)
  pause            a real mouse click on Pause during the loop (CDP input, queued behind
                   whatever the page is doing, like a user's) → the Pause callback on the
                   server, in seconds
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DEMO = "tests/browser/apps/live_chart_demo.py"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"tall": {"width": 1200, "height": 2700}, "laptop": {"width": 1366, "height": 768}}

OBSERVE = """() => {
  // Per chart box: a frame counts as an update of that chart if its plot <div> is a new one (a
  // plotly_chart redraw is a new chart) or its plot emitted plotly_afterplot (Plotly.react) or
  // plotly_animated (live_chart's redraw in place, which fires no plotly_afterplot).
  const B = window.__bench = {on: false, counts: {}, longest: 0};
  const boxes = [...document.querySelectorAll('[class*="st-key-box_"]')].map(box => ({box,
      name: [...box.classList].find(c => c.startsWith('st-key-box_')).slice(11), gd: null}));
  for (const b of boxes) {
    const r = b.box.getBoundingClientRect();
    B.counts[b.name] = {dirty: false, n: 0, onScreen: r.top < innerHeight && r.bottom > 0};
  }
  const tick = () => {
    for (const b of boxes) {
      const c = B.counts[b.name];
      const gd = b.box.querySelector('.js-plotly-plot');
      if (gd && gd !== b.gd) {
        if (b.gd !== null) c.dirty = true;
        b.gd = gd;
        if (gd.on) {   // a whole redraw fires plotly_afterplot; live_chart's in-place redraws
          // (Plotly.animate, no redraw) fire plotly_animated only
          gd.on('plotly_afterplot', () => { c.dirty = true; });
          gd.on('plotly_animated', () => { c.dirty = true; });
        }
      }
      if (c.dirty && B.on) c.n += 1;
      c.dirty = false;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (B.on) B.longest = Math.max(B.longest, e.duration);
  }).observe({type: 'longtask'});
}"""


def start_server(port: int) -> subprocess.Popen:
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-live-chart-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", DEMO, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) \
                    .read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not start; see {log.name}")


def idle(page, timeout=120_000):
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)


def metrics(cdp) -> dict:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def one_run(browser, url: str, mode: str, figs: str, args, pause: bool = False) -> dict:
    context = browser.new_context(viewport=VIEWPORTS[args.viewport])

    def route(r):
        host = urlparse(r.request.url).hostname
        return r.continue_() if host in ("127.0.0.1", "localhost") else r.abort()

    context.route("**/*", route)
    page = context.new_page()
    received = {"bytes": 0, "on": False}

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.__setitem__(
            "bytes", received["bytes"] + (len(payload) if received["on"] else 0)))

    page.on("websocket", on_ws)
    query = f"mode={mode}&figs={figs}&updates={args.updates}&interval={args.interval}"
    page.goto(f"{url}/?{query}")
    idle(page)
    if mode != "none":
        page.wait_for_function("() => document.querySelectorAll('.main-svg').length >= 1",
                               timeout=60_000)
    page.wait_for_timeout(1000)
    page.evaluate(OBSERVE)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    pause_box = page.get_by_role("button", name="Pause").bounding_box()
    before = metrics(cdp)
    received["on"] = True
    page.evaluate("() => { window.__bench.on = true; }")
    page.get_by_role("button", name="Start").click()
    out = {"mode": mode}
    if pause:
        page.wait_for_timeout(3000)
        t_click = time.time()
        page.mouse.click(pause_box["x"] + pause_box["width"] / 2,
                         pause_box["y"] + pause_box["height"] / 2)
        caption = page.get_by_text(re.compile(r"paused after update")).first
        caption.wait_for(timeout=60_000)
        handled = float(re.search(r"\(at ([\d.]+)\)", caption.inner_text())[1])
        out["pause_s"] = handled - t_click
        idle(page)
        context.close()
        return out
    stats_line = page.get_by_text(re.compile(r"^stats \{")).first
    stats_line.wait_for(timeout=600_000)
    page.evaluate("() => { window.__bench.on = false; }")
    received["on"] = False
    after = metrics(cdp)
    stats = json.loads(stats_line.inner_text()[len("stats "):])
    idle(page)
    bench = page.evaluate("() => window.__bench")
    n_updates = stats["updates"] * stats["charts"]
    loop = stats["loop_s"]
    shown = {name: c["n"] / loop for name, c in sorted(bench["counts"].items())}
    on_screen = [name for name, c in bench["counts"].items() if c["onScreen"]]
    if mode == "none":
        context.close()
        return {"mode": mode, "loop_s": loop, "updates": stats["updates"],
                "browser_ms": 1e3 * (after["TaskDuration"] - before["TaskDuration"]) / n_updates}
    out.update(
        loop_s=loop, updates=stats["updates"], shown=shown, on_screen=on_screen,
        kb_per_update=received["bytes"] / n_updates / 1e3,
        browser_ms=1e3 * (after["TaskDuration"] - before["TaskDuration"]) / n_updates,
        script_ms=1e3 * (after["ScriptDuration"] - before["ScriptDuration"]) / n_updates,
        longest_ms=bench["longest"],
        server_ms=1e3 * stats["draw_s"] / n_updates,
    )
    if mode == "live":
        out["plotly_loads"] = page.evaluate("() => window.__bnLiveChart.plotlyLoads")
        out["in_place"] = page.evaluate(   # live_chart.js's own count, to cross-check shown/s
            "() => [...window.__bnLiveChart.charts.values()].reduce("
            "(a, c) => [a[0] + c.stats.inPlace, a[1] + c.stats.draws], [0, 0])")
        out["draw_ms"] = page.evaluate(
            "() => [...window.__bnLiveChart.charts.values()].flatMap(c => c.stats.drawMs)")
    context.close()
    return out


def med(values):
    return statistics.median(values) if values else float("nan")


def report(figs: str, runs: dict, pauses: dict) -> None:
    live, base, none = runs["live"], runs["plotly"], runs.get("none")
    names = sorted(live[0]["shown"])
    print(f"\n== figs={figs}: {len(live)} runs per mode, "
          f"{live[0]['updates']} updates of {len(names)} charts per run (medians) ==")
    print(f"{'':28}{'live_chart':>12}{'plotly_chart':>14}{'ratio':>8}")

    def row(label, f, fmt="{:.2f}"):
        a, b = med([f(r) for r in live]), med([f(r) for r in base])
        ratio = a / b if b else float("nan")
        print(f"{label:28}{fmt.format(a):>12}{fmt.format(b):>14}{ratio:>8.2f}")

    for name in names:
        row(f"shown/s {name}", lambda r, n=name: r["shown"].get(n, 0.0))
    row("shown/s slowest chart", lambda r: min(r["shown"].values()))
    if any(len(r["on_screen"]) < len(names) for r in live):
        row("shown/s slowest on screen", lambda r: min(r["shown"][n] for n in r["on_screen"]))
    row("updates sent/s per chart", lambda r: r["updates"] / r["loop_s"])
    if none:
        rate = med([r["updates"] / r["loop_s"] for r in none])
        cost = [1 - med([r["updates"] / r["loop_s"] for r in rs]) / rate for rs in (live, base)]
        print(f"{'display cost (vs no charts)':28}{cost[0]:>12.0%}{cost[1]:>14.0%}"
              f"   (the loop without charts: {rate:.2f} updates/s)")
    row("KB per chart update", lambda r: r["kb_per_update"])
    row("browser ms per chart update", lambda r: r["browser_ms"])
    row("  of which script ms", lambda r: r["script_ms"])
    row("longest browser task ms", lambda r: r["longest_ms"], "{:.0f}")
    row("server ms per chart update", lambda r: r["server_ms"])
    if pauses.get("live") and pauses.get("plotly"):
        a, b = med(pauses["live"]), med(pauses["plotly"])
        each = " | ".join(", ".join(f"{p:.2f}" for p in pauses[m]) for m in ("live", "plotly"))
        print(f"{'pause click → callback s':28}{a:>12.3f}{b:>14.3f}{a / b:>8.2f}"
              f"   (each: {each})")
    in_place, draws_all = (sum(r["in_place"][i] for r in live) for i in (0, 1))
    if draws_all:
        print(f"live_chart: {in_place} of {draws_all} draws in place (Plotly.animate), "
              f"{in_place / draws_all:.0%}")
    draws = sorted(d for r in live for d in r["draw_ms"])
    if draws:
        print(f"live_chart: plotly.js loaded {live[0]['plotly_loads']}× per page; one chart draw "
              f"(Plotly.react) median {med(draws):.0f} ms, "
              f"p90 {draws[int(0.9 * (len(draws) - 1))]:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--figs", choices=["synthetic", "lab", "both"], default="both")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--updates", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.15,
                    help="seconds the loop sleeps between updates (besides drawing)")
    ap.add_argument("--viewport", choices=list(VIEWPORTS), default="tall")
    ap.add_argument("--pauses", type=int, default=2, help="Pause measurements per mode")
    args = ap.parse_args()
    import socket

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}"
    print(f"Chromium {CHROMIUM}, viewport {VIEWPORTS[args.viewport]}, interval {args.interval} s, "
          f"{os.cpu_count()} CPUs (shared)")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            one_run(browser, url, "live", "synthetic", args)          # warm up both ways
            one_run(browser, url, "plotly", "synthetic", args)
            for figs in (["synthetic", "lab"] if args.figs == "both" else [args.figs]):
                modes = ("live", "plotly", "none") if figs == "lab" else ("live", "plotly")
                runs = {mode: [] for mode in modes}
                for r in range(args.repeats):
                    for mode in (modes if r % 2 == 0 else modes[::-1]):
                        runs[mode].append(one_run(browser, url, mode, figs, args))
                pauses = {"live": [], "plotly": []}
                if figs == "synthetic":
                    for r in range(args.pauses):
                        for mode in ("live", "plotly"):
                            pauses[mode].append(
                                one_run(browser, url, mode, figs, args, pause=True)["pause_s"])
                report(figs, runs, pauses)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
