"""Datasets for the lessons: small, bundled or generated, so nothing needs the network.

Every loader returns a `Dataset` of float32 feature tensors and int64 label tensors, split into
train and test with a stated fraction and seed, and standardised with the *training* set's
per-feature mean and std (a feature constant in the training set is only centred).

    digits   scikit-learn's bundled 8×8 handwritten digits: 1,797 images, 64 features, 10 classes
    moons    two interleaving half circles (scikit-learn), 2 features, 2 classes
    circles  a circle inside a circle (scikit-learn), 2 features, 2 classes
    spiral   three interleaved spiral arms, 2 features, 3 classes
    xor      points in the square, label = sign(x₁·x₂), 2 features, 2 classes
    mnist    28×28 handwritten digits through scikit-learn's fetch_openml (needs the network
             once, then its cache); 70,000 images, 784 features, 10 classes

A failed mnist download (offline, blocked, a broken cache) takes several seconds, and lru_cache
does not cache exceptions, so the failure is remembered for the process: for
MNIST_RETRY_AFTER seconds every load_dataset("mnist") raises the same ValueError at once,
without trying again; the first call after that tries the network again.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import urllib.error
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Dataset", "load_dataset", "DATASETS", "TEST_FRACTION", "MNIST_RETRY_AFTER",
           "forget_mnist_failure"]

DATASETS = ("digits", "moons", "circles", "spiral", "xor", "mnist")
TEST_FRACTION = 0.2
N_SYNTHETIC = 1000
MNIST_RETRY_AFTER = 300.0      # seconds a failed mnist download is remembered before a retry

_clock = time.monotonic        # tests replace it to step past MNIST_RETRY_AFTER
_mnist_lock = threading.Lock()
_mnist_failure: tuple[float, str, Exception] | None = None   # (clock time, message, cause)


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor   # (N_train, D) float32, standardised
    y_train: torch.Tensor   # (N_train,) int64
    x_test: torch.Tensor    # (N_test, D) float32, standardised with the training statistics
    y_test: torch.Tensor    # (N_test,) int64
    n_classes: int
    description: str

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def _split_standardise(name, x, y, seed, description) -> Dataset:
    """Stratified split (TEST_FRACTION to test), then standardise with the train statistics."""
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=seed, stratify=y
    )
    mean = x_tr.mean(axis=0)
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
        description=description,
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


def _fetch_mnist():
    from sklearn.datasets import fetch_openml

    return fetch_openml("mnist_784", version=1, as_frame=False, cache=True, parser="liac-arff")


def _mnist_arrays():
    """(x (70000, 784) float64, y (70000,) int) from _fetch_mnist, or the ValueError of a failure
    remembered for MNIST_RETRY_AFTER seconds (see the module doc). The lock makes concurrent
    sessions wait for one download attempt instead of each starting its own."""
    global _mnist_failure
    with _mnist_lock:
        if _mnist_failure is not None:
            failed_at, message, cause = _mnist_failure
            if _clock() - failed_at < MNIST_RETRY_AFTER:
                raise ValueError(message) from cause
            _mnist_failure = None
        try:
            d = _fetch_mnist()
        except Exception as exc:  # offline, blocked, or a broken cache
            offline = isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError,
                                       socket.gaierror))
            why = ("no connection to openml.org, where it is downloaded from once" if offline
                   else f"{type(exc).__name__}: {exc}")
            message = (f"could not load 'mnist' ({why}); use 'digits', the bundled 8×8 digits, "
                       "instead")
            _mnist_failure = (_clock(), message, exc)
            raise ValueError(message) from exc
    return np.asarray(d.data, dtype=np.float64), np.asarray(d.target).astype(int)


def forget_mnist_failure() -> None:
    """Forget a remembered mnist failure: the next load_dataset("mnist") tries the network."""
    global _mnist_failure
    with _mnist_lock:
        _mnist_failure = None


@functools.lru_cache(maxsize=16)
def load_dataset(name: str = "digits", seed: int = 0) -> Dataset:
    """Load dataset `name` (one of DATASETS), split with `seed`. Cached per (name, seed)."""
    from sklearn import datasets as skd

    if name == "digits":
        d = skd.load_digits()
        return _split_standardise(
            name, d.data.astype(np.float64), d.target, seed,
            "8×8 handwritten digits (scikit-learn), 64 features, 10 classes",
        )
    if name == "moons":
        x, y = skd.make_moons(n_samples=N_SYNTHETIC, noise=0.2, random_state=seed)
        return _split_standardise(name, x, y, seed, "two moons, 2 features, 2 classes")
    if name == "circles":
        x, y = skd.make_circles(n_samples=N_SYNTHETIC, noise=0.1, factor=0.5, random_state=seed)
        return _split_standardise(name, x, y, seed, "two circles, 2 features, 2 classes")
    if name == "spiral":
        x, y = _spiral(N_SYNTHETIC, seed)
        return _split_standardise(name, x, y, seed, "three spiral arms, 2 features, 3 classes")
    if name == "xor":
        x, y = _xor(N_SYNTHETIC, seed)
        return _split_standardise(name, x, y, seed, "XOR quadrants, 2 features, 2 classes")
    if name == "mnist":
        x, y = _mnist_arrays()                     # (70000, 784), (70000,)
        return _split_standardise(
            name, x, y, seed,
            "28×28 handwritten digits (MNIST via OpenML), 784 features, 10 classes",
        )
    raise ValueError(f"expected a dataset name in {DATASETS}, got {name!r}")
