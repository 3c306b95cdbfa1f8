"""The deployment recipes agree with the app and with each other: what can be checked without
Docker or a Kubernetes cluster. The Dockerfile's warm-up command runs against this checkout;
the nginx configuration, rendered as deploy/local-cluster renders it, passes `nginx -t`;
compose and the Kubernetes manifests name the same port, health endpoint, user and services.
(The YAML checks need PyYAML and skip without it.)
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import HAVE_NGINX, NGINX, NO_NGINX, ROOT

DEPLOY = ROOT / "deploy"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def exposed_port() -> int:
    [port] = instructions("EXPOSE")
    return int(port)


def render(listen: str, upstreams: str) -> subprocess.CompletedProcess:
    with open(DEPLOY / "nginx.conf") as template:
        return subprocess.run(["sh", str(DEPLOY / "render-nginx-conf"), listen, upstreams],
                              stdin=template, capture_output=True, text=True)


def yaml_docs(path: Path) -> list[dict]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml)")
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


# ----------------------------------------------------------------------------- Dockerfile

def test_dockerfile_installs_the_cpu_torch_of_requirements_then_the_rest():
    [base] = instructions("FROM")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base
    pinned = re.search(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)[1]
    [torch_arg] = [a for a in instructions("ARG") if a.startswith("TORCH=")]
    assert torch_arg == f"TORCH=torch=={pinned}+cpu"
    runs = instructions("RUN")
    torch_run = next(i for i, r in enumerate(runs) if "${TORCH}" in r)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in runs[torch_run]
    requirements_run = next(i for i, r in enumerate(runs) if "pip install -r requirements.txt"
                            in r)
    assert torch_run < requirements_run       # so requirements.txt finds torch installed


def test_dockerfile_runs_streamlit_unprivileged_with_a_healthcheck_on_its_port():
    steps = dockerfile()
    words = [w for w, _ in steps]
    [user] = instructions("USER")
    assert user not in ("root", "0")
    assert words.index("USER") < words.index("CMD")
    [uid] = [m[1] for r in instructions("RUN")
             if (m := re.search(r"useradd .*--uid (\d+) .*\b" + re.escape(user) + r"$", r))]
    assert int(uid) >= 1000
    port = exposed_port()
    [health] = instructions("HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/_stcore/health" in health
    [cmd] = instructions("CMD")
    args = eval(cmd)                                  # the exec (JSON array) form
    assert args[:3] == ["streamlit", "run", "app.py"]
    assert "--server.address=0.0.0.0" in args and f"--server.port={port}" in args


def test_dockerfile_warm_up_command_runs_against_this_checkout():
    """The build compiles the kernels with this command: it must still work with bn_core."""
    [warm_up] = [r for r in instructions("RUN") if r.startswith("python -c ")]
    code = shlex.split(warm_up)[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def dockerignore_patterns() -> list[re.Pattern]:
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert not line.startswith("!"), "keep .dockerignore a plain denylist"
            rx = re.escape(line.strip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
            out.append(re.compile(rx.replace(r"\?", "[^/]")))
    return out


def ignored(path: str, patterns: list[re.Pattern]) -> bool:
    """Docker's rule: a path is left out if it, or a folder above it, matches a pattern."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


def test_dockerignore_keeps_what_the_app_runs_and_leaves_out_the_rest():
    patterns = dockerignore_patterns()
    needed = ["app.py", "ui.py", "requirements.txt", ".streamlit/config.toml"]
    needed += [str(p.relative_to(ROOT)) for pattern in ("*.py", "pages/*.py", "bn_core/**/*.py",
                                                        "assets/*", "*_assets/*")
               for p in ROOT.glob(pattern) if "__pycache__" not in p.parts]
    assert len(needed) > 10
    assert [p for p in needed if ignored(p, patterns)] == []
    for left_out in (".git/HEAD", "tests/deploy/test_recipes.py", "deploy/Dockerfile",
                     "bn_core/__pycache__/kernels.cpython-311.pyc", "README.md",
                     "benchmarks/bench_classroom.py"):
        assert ignored(left_out, patterns), left_out


# ----------------------------------------------------------------------------- nginx

@pytest.mark.skipif(not HAVE_NGINX, reason=NO_NGINX)
def test_nginx_conf_rendered_for_three_replicas_is_valid(tmp_path):
    done = render("127.0.0.1:18080", "127.0.0.1:18501 127.0.0.1:18502 127.0.0.1:18503")
    assert done.returncode == 0, done.stderr
    conf = done.stdout
    assert "${LAB_" not in "\n".join(l for l in conf.splitlines() if not l.strip()
                                     .startswith("#"))
    servers = re.findall(r"^\s*server (\S+) ", conf, re.M)
    assert servers == ["127.0.0.1:18501", "127.0.0.1:18502", "127.0.0.1:18503"]
    assert re.search(r"^\s*listen 127\.0\.0\.1:18080;", conf, re.M)
    (tmp_path / "nginx.conf").write_text(conf)
    check = subprocess.run([NGINX, "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
                            "-e", "stderr"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_render_nginx_conf_refuses_missing_arguments():
    done = render("8080", " ")
    assert done.returncode == 2 and "usage" in done.stderr


# ----------------------------------------------------------------------------- compose

def test_compose_puts_every_app_replica_behind_the_shared_nginx_conf():
    [compose] = yaml_docs(DEPLOY / "compose.yaml")
    services = compose["services"]
    apps = sorted(name for name, s in services.items() if "build" in s)
    assert len(apps) >= 2
    port = exposed_port()
    for name in apps:
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() \
            == DEPLOY / "Dockerfile"
        assert services[name]["expose"] == [str(port)]
        assert services[name]["healthcheck"]["test"][1:] == eval(instructions("HEALTHCHECK")[0]
                                                                 .split("CMD", 1)[1])
    proxy = services["proxy"]
    env = proxy["environment"]
    assert sorted(env["LAB_UPSTREAMS"].split()) == [f"{name}:{port}" for name in apps]
    assert {name: d["condition"] for name, d in proxy["depends_on"].items()} \
        == {name: "service_healthy" for name in apps}
    mounts = {v.split(":")[1]: (DEPLOY / v.split(":")[0]).resolve() for v in proxy["volumes"]}
    assert mounts["/lab/nginx.conf"] == DEPLOY / "nginx.conf"
    assert mounts["/lab/render-nginx-conf"] == DEPLOY / "render-nginx-conf"
    command = " ".join(proxy["command"]).replace("$$", "$")
    assert 'render-nginx-conf "$LAB_LISTEN" "$LAB_UPSTREAMS" < /lab/nginx.conf' in command
    assert proxy["ports"][0].endswith(f":{env['LAB_LISTEN']}")
    rendered = render(env["LAB_LISTEN"], env["LAB_UPSTREAMS"]).stdout
    assert re.findall(r"^\s*server (\S+) ", rendered, re.M) == env["LAB_UPSTREAMS"].split()


# ----------------------------------------------------------------------------- Kubernetes

def manifests() -> dict[str, dict]:
    out = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml_docs(path):
            out[doc["kind"]] = doc
    return out


def test_kubernetes_manifests_agree_with_the_image_and_each_other():
    m = manifests()
    kustomization = m.pop("Kustomization")
    files = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    deployment, service, ingress, hpa = (m["Deployment"], m["Service"], m["Ingress"],
                                         m["HorizontalPodAutoscaler"])
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    [port] = container["ports"]
    assert port["containerPort"] == exposed_port()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": port["name"]}
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    uid = re.search(r"useradd .*--uid (\d+)", " ".join(instructions("RUN")))[1]
    assert pod["spec"]["securityContext"]["runAsUser"] == int(uid)
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels == service["spec"]["selector"]
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"] == {"name": service_port["name"]}
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
