"""Deployment tests: deploy/local-cluster (Streamlit replicas behind Debian's nginx) driven by
headless Chromium, and static checks of the container and cluster recipes.

The cluster tests skip, saying why, where no Chromium or no nginx is found; CI installs both.
`LocalCluster` starts `deploy/local-cluster REPLICAS PORT --workdir DIR`, reads what it prints
(the pid and port of every process it started) and parses nginx's access log, whose lines carry
the sticky-session cookie (route=) and the replica that served the request (upstream=).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, _free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CLUSTER = ROOT / "deploy" / "local-cluster"
NGINX = os.environ.get("NGINX") or "/usr/sbin/nginx"
HAVE_NGINX = os.access(NGINX, os.X_OK) or shutil.which(NGINX) is not None
NO_NGINX = f"no nginx at {NGINX} (install Debian's nginx: apt-get install -y nginx)"
NO_CHROMIUM = "no Chromium found (install Debian's chromium: apt-get install -y chromium)"
LOG_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) \d+ route=(?P<route>\S+) '
                      r'upstream=(?P<upstream>.*?) time=')


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, pgid, state) of every process on the machine."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out.append((int(entry.name), int(fields[1]), int(fields[2]), fields[0]))
    return out


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalCluster:
    replicas: int
    workdir: Path | None             # None: the cluster makes (and removes) a temporary one
    port: int = field(default_factory=_free_port)
    lines: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)          # "replica 1", "nginx" -> pid
    ports: dict[str, int] = field(default_factory=dict)
    started: dict[int, int] = field(default_factory=dict)       # pid -> start time
    killed: set[str] = field(default_factory=set)

    def start(self, timeout: float = 120) -> "LocalCluster":
        workdir = ["--workdir", str(self.workdir)] if self.workdir else []
        # every learner of a replica trains at once here (these tests are about where sessions
        # go, not about the fair-sharing queue, which ui.training_slot adds beyond 2 per core)
        env = {**os.environ, "BN_LAB_MAX_TRAININGS": "16",      # long runs to pause: no
               "BN_LAB_MAX_RUN_S": "100000", "BN_WARM_UP": "1"}    # run-length guard here
        self.proc = subprocess.Popen(
            [str(LOCAL_CLUSTER), str(self.replicas), str(self.port), *workdir], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.started[self.proc.pid] = start_time(self.proc.pid)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any(line.startswith("local-cluster: ready") for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("deploy/local-cluster did not start:\n" + "".join(self.lines))
            time.sleep(0.2)
        for line in self.lines:
            m = re.match(r"local-cluster: (replica \d+|nginx) pid (\d+) port (\d+) log (\S+)",
                         line)
            if m:
                self.workdir = Path(m[4]).parent
                self.pids[m[1]], self.ports[m[1]] = int(m[2]), int(m[3])
                self.started[int(m[2])] = start_time(int(m[2]))
        workers = [pid for pid, ppid, _, _ in processes() if ppid == self.pids["nginx"]]
        assert workers, "nginx has no worker processes"
        for pid in workers:
            self.started[pid] = start_time(pid)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def replica_of_port(self, port: int) -> str:
        return next(name for name, p in self.ports.items() if p == port and name != "nginx")

    def access_log(self) -> list[dict]:
        """Every request nginx logged: request, status, route (the cookie), upstreams (the
        replicas tried, in order, by name)."""
        out = []
        for line in (self.workdir / "access.log").read_text().splitlines():
            m = LOG_LINE.search(line)
            if m:
                ups = [self.replica_of_port(int(u.rsplit(":", 1)[1]))
                       for u in re.split(r"[,:] ", m["upstream"]) if u.startswith("127.")]
                out.append({"request": m["request"], "status": int(m["status"]),
                            "route": m["route"], "upstreams": ups})
        return out

    def replica_of(self, route: str) -> str:
        """The replica that served a browser's requests (one, or the test fails)."""
        served = {r["upstreams"][-1] for r in self.access_log() if r["route"] == route}
        assert len(served) == 1, f"route {route} was served by {served}"
        return served.pop()

    def kill(self, name: str) -> None:
        os.kill(self.pids[name], signal.SIGKILL)
        self.killed.add(name)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def leftovers(self) -> list[str]:
        """What is still running of what the cluster started: processes (same pid and start
        time), members of the children's process groups, listening ports."""
        left = [f"pid {pid}" for pid, t in self.started.items() if t and start_time(pid) == t]
        groups = {pid for name, pid in self.pids.items()}
        left += [f"pid {pid} in group {pgid}" for pid, _, pgid, _ in processes()
                 if pgid in groups]
        left += [f"port {port} ({name})" for name, port in self.ports.items()
                 if port_open(port)]
        return left


@pytest.fixture(scope="session")
def deploy_browser(browser):
    """The session's one Chromium (tests/conftest.py)."""
    return browser


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three replicas behind nginx, shared by the tests of a module (they run in file order:
    the last one stops it)."""
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    if not HAVE_NGINX:
        pytest.skip(NO_NGINX)
    c = LocalCluster(3, tmp_path_factory.mktemp("cluster")).start()
    yield c
    c.stop()
