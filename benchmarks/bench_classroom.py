"""A class on one server: N learners in real Chromium (one browser context each, so N sessions)
press Train on the covariate-shift lab at the same moment. Prints figures and ratios, asserts
nothing.

    python benchmarks/bench_classroom.py                  # N = 6, the default lesson
    python benchmarks/bench_classroom.py -n 8 --steps 1000

The script starts its own `streamlit run app.py` (a fresh process) and measures:
1. Alone: one learner presses Train on /lab and waits until the run has finished and the page
   is at rest ("Train again" then starts a fresh run): the median of --repeats runs, wall-clock
   and the server's CPU time (utime + stime from /proc).
2. Waves (--waves, default 2): N new learners open /lab, then all press Train within a fraction
   of a second; the wave lasts until the last page is finished and at rest. Meanwhile a thread polls
   /_stcore/health every 0.1 s (latency against the idle server's). Each wave's learners
   close their tabs before the next wave's open theirs.
3. Server memory (VmRSS from /proc): at rest, after each wave (its learners still there), and
   after every tab closed (+ --settle seconds; Streamlit keeps a closed tab's session for
   server.disconnectedSessionTTL, 120 s by default, before it may drop it).
From the server's CPU time per run in a wave it derives the capacity: how many learners one
core serves when they all press Train at once and may wait --wait-budget seconds.

The browsers run on the same machine and take their share of its cores (printed: the server's
share of the CPU time that server and browsers used in a wave), so the figures are on the pessimistic side for a real class,
whose browsers run on the learners' own computers. Needs Chromium (/usr/bin/chromium or
$CHROMIUM) and the Python playwright package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, _free_port  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
AT_REST = "[data-testid='stApp'][data-test-script-state='notRunning']"


# ----------------------------------------------------------------------------- the server

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS in /proc/{pid}/status")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def tree_cpu_s(root: int) -> float:
    """CPU time of `root`'s live descendants, with what their finished children used: this
    benchmark's browsers and server (not the other work on a shared machine)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return sum(stats[pid][1] for pid in tree - {root} if pid in stats) / HZ


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit(f"streamlit did not start; see {log}")


class HealthPoller(threading.Thread):
    """GET /_stcore/health every `every` seconds; latencies in seconds (10 s for a failure)."""

    def __init__(self, url: str, every: float = 0.1):
        super().__init__(daemon=True)
        self.url, self.every, self.latencies = url, every, []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            t = time.perf_counter()
            try:
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=10).read()
                self.latencies.append(time.perf_counter() - t)
            except OSError:
                self.latencies.append(10.0)
            self.stopping.wait(max(0.0, self.every - (time.perf_counter() - t)))

    def stop(self) -> list[float]:
        self.stopping.set()
        self.join()
        return self.latencies


# ----------------------------------------------------------------------------- the learners

WAVE_LIMIT_S = 600                  # a wave that takes longer is reported as stuck


def open_learners(browser, url: str, n: int) -> list:
    """n pages on the lab, each in its own browser context; they load side by side."""
    pages = []
    for _ in range(n):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(600_000)
        pages.append(context.new_page())
        pages[-1].goto(url, wait_until="commit")
    for page in pages:
        page.wait_for_selector(AT_REST)
        page.locator("[data-testid='stProgress']").first.wait_for()
    return pages


def progress(page) -> str:
    """The run's progress line, read without waiting (a waiting read of a page that is between
    two renders would stall the loop while the others' runs start and finish unseen)."""
    texts = page.locator("[data-testid='stProgress']").all_inner_texts()
    return texts[0] if texts else ""


def finished(text: str) -> bool:
    return "finished" in text or "diverged" in text


def press_train_and_wait(pages: list) -> tuple[float, float, list[float]]:
    """All pages press Train (Train again) at once: a click in each page's script, no waiting
    in between. Returns (seconds from the first click until the last page is finished and at
    rest, the spread of the clicks, each page's time from its click). A page counts as done
    once it is finished and at rest after a run started: it was seen not finished after its
    click, or its progress line changed (a fresh page's "Step 0" to "finished")."""
    before = [progress(page) for page in pages]
    clicks = []
    for page in pages:
        page.evaluate("document.querySelector('.st-key-lab_train button').click()")
        clicks.append(time.perf_counter())
    started, done = set(), {}
    deadline = time.perf_counter() + WAVE_LIMIT_S
    while len(done) < len(pages):
        if time.perf_counter() > deadline:
            stuck = [i for i in range(len(pages)) if i not in done]
            for i in stuck:
                pages[i].screenshot(path=f"{tempfile.gettempdir()}/bench_classroom_stuck_{i}.png")
            sys.exit(f"learners {stuck} not done after {WAVE_LIMIT_S} s (seen training: "
                     f"{sorted(started & set(stuck))}); screenshots in "
                     f"{tempfile.gettempdir()}/bench_classroom_stuck_*.png")
        for i, page in enumerate(pages):
            if i in done:
                continue
            text = progress(page)
            if text and (not finished(text) or text != before[i]):
                started.add(i)
            if finished(text) and i in started and page.locator(AT_REST).count():
                done[i] = time.perf_counter()
        time.sleep(0.05)
    return (max(done.values()) - clicks[0], clicks[-1] - clicks[0],
            [done[i] - clicks[i] for i in range(len(pages))])


def close(pages: list) -> None:
    for page in pages:
        page.context.close()


# ----------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--learners", type=int, default=6)
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: the lab's default lesson)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the learner alone")
    parser.add_argument("--waves", type=int, default=2,
                        help="waves of new learners (a third shows whether memory levels off "
                        "once the closed tabs' sessions expire)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the tabs close before the last memory reading")
    parser.add_argument("--wait-ttl", action="store_true",
                        help="also read the memory after server.disconnectedSessionTTL + 5 s, "
                        "when Streamlit may have dropped the closed tabs' sessions")
    parser.add_argument("--wait-budget", type=float, default=10.0,
                        help="seconds a learner may wait for a run, for the capacity figure")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("no Chromium found (install Debian's chromium, or set CHROMIUM=...)")
    from playwright.sync_api import sync_playwright

    os.chdir(ROOT)                   # .streamlit/config.toml, as the server reads it
    path = "/lab" + (f"?steps={args.steps}" if args.steps else "")
    log = Path(tempfile.gettempdir()) / f"bench_classroom_{os.getpid()}.log"
    load_before = os.getloadavg()
    server, url = start_server(log)
    pid = server.pid
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=LAUNCH_ARGS)
            # 1. alone (the first page load also warms the server: imports, kernels)
            [page] = open_learners(browser, url + path, 1)
            alone, alone_cpu = [], []
            for _ in range(args.repeats):
                c = cpu_s(pid)
                alone.append(press_train_and_wait([page])[0])
                alone_cpu.append(cpu_s(pid) - c)
            close([page])
            idle = HealthPoller(url)
            idle.start()
            time.sleep(3)
            idle_lat = idle.stop()
            rss = {"at rest": rss_mb(pid)}

            # 2. the waves
            waves = []
            for w in range(1, args.waves + 1):
                pages = open_learners(browser, url + path, args.learners)
                poller = HealthPoller(url)
                poller.start()
                c, ours = cpu_s(pid), tree_cpu_s(os.getpid())
                wall, spread, each = press_train_and_wait(pages)
                server_cpu, ours = cpu_s(pid) - c, tree_cpu_s(os.getpid()) - ours
                lat = poller.stop()
                rss[f"after wave {w}"] = rss_mb(pid)
                waves.append(dict(wall=wall, spread=spread, each=each, cpu=server_cpu,
                                  ours=ours, lat=lat))
                close(pages)
            time.sleep(args.settle)
            rss[f"tabs closed + {args.settle:g} s"] = rss_mb(pid)
            browser.close()
        if args.wait_ttl:               # (outside Playwright: an idle driver may not close later)
            from streamlit import config
            ttl = config.get_option("server.disconnectedSessionTTL") + 5
            time.sleep(max(0.0, ttl - args.settle))
            rss[f"tabs closed + {ttl:g} s"] = rss_mb(pid)
    finally:
        server.terminate()
        server.wait(30)
    load_after = os.getloadavg()

    n, t1 = args.learners, statistics.median(alone)
    c1 = statistics.median(alone_cpu)
    print(f"BatchNorm Lab, one server, {n} learners in Chromium on {path} "
          f"({os.cpu_count()} CPUs; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after)")
    print(f"\nalone: {t1:.2f} s per run (median of {args.repeats}: "
          f"{', '.join(f'{t:.2f}' for t in alone)}), server CPU {c1:.2f} s per run")
    q = statistics.quantiles
    print(f"health, idle: median {1000 * statistics.median(idle_lat):.0f} ms, "
          f"max {1000 * max(idle_lat):.0f} ms ({len(idle_lat)} polls)")
    for w, wave in enumerate(waves, 1):
        lat = wave["lat"]
        p95 = q(lat, n=20)[-1] if len(lat) >= 2 else lat[0]
        print(f"\nwave {w}: {n} learners pressed Train within {wave['spread']:.2f} s; "
              f"the last was done after {wave['wall']:.1f} s")
        print(f"  wave / alone                  {wave['wall'] / t1:6.1f}×   "
              f"(each learner: median {statistics.median(wave['each']) / t1:.1f}×, "
              f"max {max(wave['each']) / t1:.1f}× a run alone)")
        print(f"  throughput                    {n * t1 / wave['wall']:6.2f}×   "
              "(learner-runs per run-time alone)")
        print(f"  server CPU per run            {wave['cpu'] / n:6.2f} s   "
              f"({wave['cpu'] / n / c1:.2f}× alone); the server used "
              f"{wave['cpu'] / wave['wall']:.2f} cores on average, "
              f"{100 * wave['cpu'] / max(wave['ours'], 1e-9):.0f}% of the CPU time of server + "
              "browsers")
        print(f"  health latency                median {1000 * statistics.median(lat):.0f} ms, "
              f"p95 {1000 * p95:.0f} ms, max {1000 * max(lat):.0f} ms "
              f"({max(lat) / max(statistics.median(idle_lat), 1e-9):.0f}× idle median; "
              f"{len(lat)} polls)")
    print("\nserver memory (RSS)")
    first = rss["after wave 1"]
    for name, mb in rss.items():
        print(f"  {name:<24} {mb:7.0f} MB   {mb / first:5.2f}× after wave 1")
    per_run = max(w["cpu"] / n for w in waves)
    print(f"\ncapacity at this lesson: one run costs the server ≈ {per_run:.2f} CPU-seconds in "
          f"a wave, so one core serves ≈ {args.wait_budget / per_run:.0f} learners pressing "
          f"Train at the same moment if each may wait {args.wait_budget:g} s "
          f"(≈ {60 / per_run:.0f} if each presses Train once a minute)")


if __name__ == "__main__":
    main()
