"""Benchmark of the covariate-shift lab (pages/1_lab.py): prints figures and ratios, asserts nothing.

    python benchmarks/bench_lab.py             # throughput, JSON sizes, Pause bound (~2 minutes)
    python benchmarks/bench_lab.py --full      # + the real 50,000-step paper run (+ ~4 minutes)
    python benchmarks/bench_lab.py --browser   # + live charts and Pause measured in Chromium
    python benchmarks/bench_lab.py --server-cpu  # only 5 and 6 below (a few minutes)

1. Throughput at the default settings: the headless trainer (Run.stream) against the page's
   training path, side by side in one process, alternating, medians of --repeats runs:
     page path = the page's loop: Run.advance() per record interval, the progress text every
     0.15 s, and at each UpdatePacer tick the reading plus the live figure of LIVE_SCHEDULE,
     serialised as st.plotly_chart does (plotly.io.to_json(fig, validate=False)).
   Both wall-clock and CPU time of this process are printed: on a shared machine the CPU time
   is the steadier measure (other processes stretch the wall-clock of either run at random).
   Also end to end through AppTest (the real page script: Train clicked, until the run is done
   and redrawn at rest) against the headless trainer.
2. JSON sizes: every live figure at the end of the default run and of a paper-sized run; the
   animation of a 50,000-step paper run (523 snapshots, thinned to MAX_ANIMATION_FRAMES).
3. Pause: the page checks for a click at every st.* call, so a click waits at most for the
   longest stretch between two st.* calls of the loop (one record interval, plus a live update
   when one is due): measured here for the default and paper settings. --browser clicks Pause in
   Chromium during a run and reads, from the server's trace (BN_LAB_TRACE), when it took effect.
5. (--browser, --server-cpu) The server's CPU time (its process's user + system time, from
   /proc) for one default lab run watched in Chromium (BN_LAB_WATCH_SECONDS=0: full speed), from
   the click on Train to the page at rest, against the CPU time of the same run headless in this
   process (target ≤ 1.3×), and the learners per core it implies at one run a minute.
6. (--browser, --server-cpu) The first /lab load after a fresh install: a copy of the project
   with no compiled caches (no __pycache__), a new server, the time from opening /lab to the
   page at rest, then a second load in a new tab (target: first ≤ 2 × second + 1 s); with the
   loops compiled on first use (BN_WARM_UP=0, as before issue #25) and off the request path.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import plotly.io  # noqa: E402

from bn_core.lab import histograms, views  # noqa: E402
from bn_core.lab.presets import PAPER_SETUP, record_every_for  # noqa: E402
from bn_core.lab.reading import read_history  # noqa: E402
from bn_core.records import History, Snapshot, fixed_edges, layer_records  # noqa: E402
from bn_core.trainer import Run, TrainConfig, snapshot_steps  # noqa: E402


PACER_INTERVAL = 0.45          # as in pages/1_lab.py


def lab_config(config: TrainConfig) -> TrainConfig:
    return config.replace(record_every=record_every_for(config))


def headless(config: TrainConfig) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to train `config` headless."""
    t, c = time.perf_counter(), time.process_time()
    run = Run(config)
    for _ in run.stream():
        pass
    return time.perf_counter() - t, time.process_time() - c


def page_path(config: TrainConfig, gaps: list | None = None) -> tuple[float, dict]:
    """The page's loop without Streamlit (see the module doc). Returns (seconds, details)."""
    t, c = time.perf_counter(), time.process_time()
    run = Run(config)
    run.advance()                                   # the page shows step 0 before Train
    pacer = views.UpdatePacer(interval=PACER_INTERVAL, share=0.2)
    layer, unit = config.depth - 1, 0
    last_call, sizes, mark = 0.0, [], time.perf_counter()
    while not run.done:
        run.advance()
        now = time.perf_counter()
        if now - last_call >= 0.15 or run.done:
            _ = f"Step {run.step:,} of {config.steps:,}"          # the progress call
            last_call = now
        if pacer.due() and not run.done:
            t0 = time.perf_counter()
            read_history(run.history, layer)
            for fig in views.live_figures(run.history, layer, unit, update=pacer.draws).values():
                sizes.append(len(plotly.io.to_json(fig, validate=False)))
            pacer.drawn(time.perf_counter() - t0)
        end = time.perf_counter()
        if gaps is not None:
            gaps.append(end - mark)                 # time between two st.* call points
        mark = end
    seconds = time.perf_counter() - t
    return seconds, {"draws": pacer.draws, "draw_s": pacer.draw_seconds, "cpu": time.process_time() - c,
                     "max_json": max(sizes, default=0)}


def throughput(repeats: int) -> None:
    config = lab_config(TrainConfig())
    print(f"\n1. Throughput, default settings ({config.steps:,} steps, {config.depth}×{config.width} "
          f"{config.activation}, placement {config.placement}, record_every {config.record_every})")
    headless(config)                                 # warm up (imports, dataset cache)
    page_path(config.replace(steps=200))
    h_wall, h_cpu, p_wall, p_cpu, details = [], [], [], [], []
    for _ in range(repeats):
        wall, cpu = headless(config)
        h_wall.append(wall)
        h_cpu.append(cpu)
        wall, d = page_path(config)
        p_wall.append(wall)
        p_cpu.append(d["cpu"])
        details.append(d)
    med = statistics.median
    for label, h, p in (("wall-clock", med(h_wall), med(p_wall)), ("CPU time", med(h_cpu), med(p_cpu))):
        print(f"   {label:10s}: headless {h:5.2f} s ({config.steps / h:,.0f} steps/s), page path "
              f"{p:5.2f} s ({config.steps / p:,.0f} steps/s): display cost {1 - h / p:.1%} of "
              f"throughput (target ≤ 25%)")
    print(f"   (wall runs: headless {[round(x, 2) for x in h_wall]}, page {[round(x, 2) for x in p_wall]})")
    share = med([d["draw_s"] / w for d, w in zip(details, p_wall)])
    print(f"   time the page path spent drawing (the display cost without the noise): {share:.1%}")
    draws = med([d["draws"] / w for d, w in zip(details, p_wall)])
    ms = med([1000 * d["draw_s"] / max(d["draws"], 1) for d in details])
    print(f"   live updates: median {draws:.1f}/s, {ms:.0f} ms each to build (the figure, its "
          f"JSON and the reading); largest live figure JSON {max(d['max_json'] for d in details) / 1024:.0f} KB")


def apptest_end_to_end(repeats: int) -> None:
    from streamlit.testing.v1 import AppTest

    config = lab_config(TrainConfig())
    print("\n   end to end through AppTest (page script: click Train → trained and redrawn at rest)")
    page, head = [], []
    for _ in range(repeats):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        at.switch_page("pages/1_lab.py").run()
        t = time.perf_counter()
        at.button(key="lab_train").click().run()
        page.append(time.perf_counter() - t)
        assert not at.exception and at.session_state.lab.run.done
        head.append(headless(config)[0])
    p, h = statistics.median(page), statistics.median(head)
    print(f"   AppTest page {p:.2f} s vs headless {h:.2f} s: ratio {p / h:.2f} "
          f"(includes the final redraw with the animation and AppTest's own overhead)")


def synthetic_paper_history(seed: int = 0) -> History:
    """A History shaped like the paper run: its snapshot steps, two networks, 3×100 units,
    records computed (bn_core.records.layer_records) from random inputs over a 360-example probe."""
    cfg = lab_config(PAPER_SETUP)
    rng = np.random.default_rng(seed)
    nets = cfg.networks
    z = rng.normal(size=(len(nets), 360, cfg.width)).astype(np.float32)
    h = History(cfg, nets, fixed_edges([z.ravel()], cfg.bins), probe_size=360)
    for step in snapshot_steps(cfg.steps, cfg.record_every):
        layers = [layer_records(z * (1 + 0.1 * rng.random()), h.edges, cfg.activation)
                  for _ in range(cfg.depth)]
        h.frames.append({net: Snapshot(net, int(step), float(rng.random()), float(rng.random()),
                                       [layers[l][k] for l in range(cfg.depth)])
                         for k, net in enumerate(nets)})
    return h


def sizes(full: bool) -> None:
    print("\n2. Figure JSON sizes (len(fig.to_json()))")
    run = Run(lab_config(TrainConfig(placement="both")))
    for _ in run.stream():
        pass
    live = {k: len(f.to_json()) for k, f in views.live_figures(run.history, 2, 0).items()}
    print(f"   default run, three networks, {len(run.history.frames)} snapshots: "
          + ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in live.items()) + " (target ≤ 300 KB each)")
    if full:
        config = lab_config(PAPER_SETUP)
        t = time.perf_counter()
        paper = Run(config)
        for _ in paper.stream():
            pass
        history, what = paper.history, f"real paper run ({time.perf_counter() - t:.0f} s to train)"
    else:
        history, what = synthetic_paper_history(), "synthetic paper-sized history"
    live = {k: len(f.to_json()) for k, f in views.live_figures(history, 2, 0).items()}
    print(f"   {what}, {len(history.frames):,} snapshots: "
          + ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in live.items()))
    t = time.perf_counter()
    anim = histograms.histogram_figure(history, animate=True)
    text = anim.to_json()
    print(f"   paper animation: {len(anim.frames)} of {len(history.frames):,} snapshots "
          f"(every ~{(len(history.frames) - 1) / max(len(anim.frames) - 1, 1):.0f}th), "
          f"{len(text) / 1e6:.2f} MB (target ≤ 5 MB), built in {time.perf_counter() - t:.2f} s")
    unthinned = histograms.histogram_figure(history, animate=True, max_frames=len(history.frames))
    print(f"   (all {len(history.frames):,} snapshots would be {len(unthinned.to_json()) / 1e6:.2f} MB)")


def pause_bound() -> None:
    print("\n3. Pause: the longest stretch between two st.* calls in the training loop")
    for name, config in (("default", lab_config(TrainConfig())),
                         ("paper", lab_config(PAPER_SETUP).replace(steps=5000))):
        gaps: list[float] = []
        page_path(config, gaps)
        g = np.array(gaps)
        print(f"   {name:8s} (record_every {config.record_every}): median {1000 * np.median(g):.0f} ms, "
              f"95th percentile {1000 * np.percentile(g, 95):.0f} ms, max {1000 * g.max():.0f} ms "
              f"(target: Pause within 500 ms)")


def live_in_browser(browser, url: str, idle: str, repeats: int, trace: Path) -> None:
    """The lab page in Chromium during a default-shaped 10,000-step run: redraws per second of
    each chart in view (live_chart's own count), WebSocket bytes per chart update, and the run's
    wall time against the headless trainer's (display cost), the browser's milliseconds per chart
    redraw, the share of redraws done in place (live_chart.js: only data moved), how busy its
    main thread was and the longest a chart in view went without a redraw
    (until its last live redraw: the page's rerun at the end is not counted).
    Windows: laptop ones as the page opens, with no scrolling (1280 × 800 and 1400 × 1000: the
    first screen holds the settings, the buttons and the two charts that move), one scrolled to
    loss and accuracy, and a full-HD one (1920 × 1080); the other views wait in tabs. Also the
    time from the click on Train to the first redraw of each chart in view (target ≤ 1 s)."""
    config = lab_config(TrainConfig(steps=10_000))
    stats = """() => Object.fromEntries([...window.__bnLiveChart.charts.values()].map(c => {
        const r = c.node.getBoundingClientRect();
        return [c.key, [c.stats.draws, c.stats.deltas + c.stats.fulls,
                        r.height > 0 && r.bottom > 0 && r.top < window.innerHeight,
                        c.stats.inPlace]]; }))"""
    drawn = """(k) => { const s = window.__bnLiveChart.charts.get(k).stats;
        return [s.drawMs.slice(-500), s.drawAt.slice(-500)]; }"""
    windows = (("laptop window 1280 × 800, first screen, no scrolling", 1280, 800, None),
               ("laptop window 1400 × 1000, first screen, no scrolling", 1400, 1000, None),
               ("laptop window 1400 × 1000, scrolled to loss and accuracy", 1400, 1000,
                "lab_curves"),
               ("full-HD window 1920 × 1080, no scrolling", 1920, 1080, None))
    for label, width, height, first in windows:
        rates, kbs, costs, sent, draws_ms, chart_ms, busy, still = {}, [], [], [], [], {}, [], {}
        in_place, first_change = {}, {}
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": width, "height": height})
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Performance.enable")
            received = [0]
            cdp.on("Network.webSocketFrameReceived", lambda e: received.__setitem__(
                0, received[0] + len(e["response"]["payloadData"])))
            page.goto(f"{url}/lab?steps=10000")
            page.wait_for_selector(idle, timeout=120_000)
            page.wait_for_function("() => window.__bnLiveChart && "
                                   "window.__bnLiveChart.charts.size >= 3", timeout=120_000)
            if first:
                page.evaluate("(k) => document.querySelector(`[data-key=${k}]`)"
                              ".scrollIntoView({block: 'start'})", first)
            page.wait_for_timeout(500)
            clicked = page.evaluate("performance.now()")
            page.locator(".st-key-lab_train button").first.click()
            page.get_by_text(re.compile(r"steps/s")).first.wait_for(timeout=60_000)
            page.wait_for_selector(".bn-live-chart", timeout=60_000)   # (a rerun remounts them)
            trace.write_text("")
            task0 = _task_seconds(cdp)
            before, bytes0, t0 = page.evaluate(stats), received[0], time.perf_counter()
            page_t0 = page.evaluate("performance.now()")
            page.get_by_text("Step 10,000 of 10,000").first.wait_for(timeout=300_000)
            seconds = time.perf_counter() - t0
            page_t1 = page.evaluate("performance.now()")
            busy.append((_task_seconds(cdp) - task0) / seconds)
            after = page.evaluate(stats)
            updates = sum(after[k][1] - before.get(k, [0, 0])[1] for k in after)
            for key, (draws, got, _, fast) in after.items():
                if before[key][2]:        # in view as the run began (the page at rest moves)
                    rates.setdefault(key, []).append((draws - before[key][0]) / seconds)
                    in_place.setdefault(key, []).append(
                        (fast - before[key][3]) / max(draws - before[key][0], 1))
                    ms, at = page.evaluate(drawn, key)
                    new = draws - before[key][0]
                    chart_ms.setdefault(key, []).extend(ms[-new:] if new else [])
                    marks = [page_t0, *(t for t in at if page_t0 < t < page_t1)]
                    later = [t for t in at if t > clicked]
                    if later:
                        first_change.setdefault(key, []).append((min(later) - clicked) / 1000)
                    still.setdefault(key, []).append(max(np.diff(marks), default=0) / 1000)
                sent.append((got - before[key][1]) / seconds)
            kbs.append((received[0] - bytes0) / 1024 / max(updates, 1))
            draws_ms += [1000 * float(line.split()[1]) for line in trace.read_text().splitlines()
                         if line.startswith("draw ")]
            costs.append(1 - headless(config)[0] / seconds)
            page.close()
        med = statistics.median
        print(f"\n4. Live charts in Chromium (/lab?steps=10000), {label}, medians of {repeats}:")
        print("   redraws per second of the charts in view: " + ", ".join(
            f"{k.removeprefix('lab_')} {med(v):.1f}" for k, v in rates.items()) + " (target ≥ 4); "
              f"updates received per chart per second: {med(sent):.1f}; server time per update "
              f"(all six charts and the reading): median {med(draws_ms or [0]):.0f} ms")
        print("   browser ms per redraw: " + ", ".join(
            f"{k.removeprefix('lab_')} {med(v):.0f}" for k, v in chart_ms.items() if v) +
              f"; the browser's main thread was busy {med(busy):.0%} of the run")
        print("   redrawn in place (Plotly.animate, not Plotly.react): " + ", ".join(
            f"{k.removeprefix('lab_')} {med(v):.0%}" for k, v in in_place.items()))
        print("   longest a chart in view stood still (s): " + ", ".join(
            f"{k.removeprefix('lab_')} {med(v):.2f}" for k, v in still.items()))
        print(f"   charts in view: {len(rates)}; from the click on Train to a chart's first "
              "change (s): " + ", ".join(f"{k.removeprefix('lab_')} {med(v):.2f}"
                                          for k, v in first_change.items()) + " (target ≤ 1)")
        print(f"   WebSocket KB per chart update: {med(kbs):.1f}; display cost (page run against "
              f"the headless trainer, wall clock): {med(costs):.0%} (target ≤ 25%)")


def _task_seconds(cdp) -> float:
    """Seconds the page's main thread has spent running tasks (Chrome's Performance metrics)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def pause_in_browser(repeats: int) -> None:
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("\n   (no Chromium at /usr/bin/chromium: browser Pause measurement skipped)")
        return
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    trace = Path(tempfile.mkdtemp()) / "lab_trace.txt"
    env = {**os.environ, "BN_LAB_TRACE": str(trace)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        latencies, idles = [], []
        args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
            live_in_browser(browser, url, idle, repeats, trace)
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/lab?steps=20000")
                page.wait_for_selector(idle, timeout=120_000)
                page.locator(".st-key-lab_train button").first.click()
                page.wait_for_timeout(4000)
                before = trace.read_text().count("pause") if trace.exists() else 0
                clicked = page.evaluate("""() => { const b = [...document.querySelectorAll('button')]
                    .find(e => e.innerText.trim().endsWith('Pause'));
                    const t = Date.now() / 1000; b.click(); return t; }""")
                t0 = time.time()
                page.wait_for_selector(idle, timeout=120_000)
                idles.append(time.time() - t0)
                for _ in range(200):
                    lines = [line for line in (trace.read_text().splitlines() if trace.exists()
                                               else []) if line.startswith("pause")]
                    if len(lines) > before:
                        break
                    time.sleep(0.05)
                latencies.append(float(lines[before].split()[1]) - clicked)
                page.close()
            browser.close()
        print(f"   Chromium, /lab?steps=20000: click → Pause took effect on the server: "
              f"median {1000 * statistics.median(latencies):.0f} ms {[round(1000 * x) for x in latencies]} "
              f"(target ≤ 500 ms); click → page idle (browser done redrawing): median "
              f"{statistics.median(idles):.1f} s")
    finally:
        server.terminate()
        server.wait(10)


def _start_server(cwd: Path, env: dict) -> tuple[subprocess.Popen, str]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.25)
    return server, url


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_and_first_load(repeats: int, first_load: bool = True, root: Path = ROOT) -> None:
    """Parts 5 and 6 of the module doc (6 only with first_load; root: the project to serve)."""
    import shutil

    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        print("\n   (no Chromium at /usr/bin/chromium: server CPU and first load skipped)")
        return
    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    config = lab_config(TrainConfig())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=args)
        server, url = _start_server(root, {"BN_LAB_WATCH_SECONDS": "0"})
        try:
            headless(config)
            watched, alone = [], []
            for i in range(repeats + 1):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/lab")
                page.wait_for_selector(idle, timeout=120_000)
                page.wait_for_timeout(1500)
                c0 = _cpu_seconds(server.pid)
                page.locator(".st-key-lab_train button").first.click()
                page.get_by_text(f"Step {config.steps:,} of {config.steps:,}").first.wait_for(
                    timeout=300_000)
                page.wait_for_selector(idle, timeout=120_000)
                c1 = _cpu_seconds(server.pid)
                page.close()
                if i:                                   # the first one warms the server up
                    watched.append(c1 - c0)
                    alone.append(headless(config)[1])
                else:                                   # (and its compiled loops: bn_core.warm)
                    time.sleep(10)
        finally:
            server.terminate()
            server.wait(10)
        med = statistics.median
        ratio = med([w / a for w, a in zip(watched, alone)])
        print(f"\n5. Server CPU for one default lab run ({config.steps:,} steps) watched in "
              f"Chromium: median {med(watched):.2f} s {[round(x, 2) for x in watched]}, headless "
              f"{med(alone):.2f} s {[round(x, 2) for x in alone]}: ratio {ratio:.2f} (target ≤ 1.3); "
              f"one core serves about {60 / med(watched):.0f} learners pressing Train once a minute")

        for warm in ("0", "1") if first_load else ():   # compiled on first use / off the path
            fresh = Path(tempfile.mkdtemp()) / "fresh"
            shutil.copytree(ROOT, fresh, ignore=shutil.ignore_patterns(
                "__pycache__", ".git", "*.nbi", "*.nbc", ".pytest_cache"))
            server, url = _start_server(fresh, {"BN_WARM_UP": warm})
            try:
                loads = []
                for _ in range(2):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    t0 = time.perf_counter()
                    page.goto(f"{url}/lab")
                    page.wait_for_selector("[data-testid='stPlotlyChart'], .bn-live-chart",
                                           timeout=120_000)
                    page.wait_for_selector(idle, timeout=120_000)
                    loads.append(time.perf_counter() - t0)
                    page.close()
            finally:
                server.terminate()
                server.wait(10)
                shutil.rmtree(fresh.parent, ignore_errors=True)
            how = "warm-up (bn_core.warm)" if warm == "1" else "BN_WARM_UP=0 (compiled on first use)"
            print(f"6. First /lab load on a fresh copy (no compiled caches), {how}: "
                  f"{loads[0]:.1f} s, second {loads[1]:.1f} s: first / (2 × second + 1 s) = "
                  f"{loads[0] / (2 * loads[1] + 1):.2f} (target ≤ 1)", flush=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also train the real paper run")
    parser.add_argument("--browser", action="store_true", help="also time Pause in Chromium")
    parser.add_argument("--server-cpu", action="store_true",
                        help="only the server's CPU per watched run and the first load (5, 6)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.server_cpu:
        server_cpu_and_first_load(3)
        return
    print(f"BatchNorm Lab, covariate-shift lab benchmark ({os.cpu_count()} CPUs; timings are "
          "noisy on a shared machine: compare the ratios)")
    throughput(args.repeats)
    apptest_end_to_end(max(1, args.repeats // 2))
    sizes(args.full)
    pause_bound()
    if args.browser:
        pause_in_browser(3)
        server_cpu_and_first_load(3)


if __name__ == "__main__":
    main()
