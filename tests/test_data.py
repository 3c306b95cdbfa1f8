"""`bn_core.data.load_dataset`: every dataset, the split, the standardisation, and mnist offline."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from bn_core import data
from bn_core.data import DATASETS, TEST_FRACTION, load_dataset

LOCAL = [name for name in DATASETS if name != "mnist"]
SYNTHETIC = [name for name in LOCAL if name != "digits"]
EXPECTED = {   # name: (examples, features, classes)
    "digits": (1797, 64, 10),
    "moons": (1000, 2, 2),
    "circles": (1000, 2, 2),
    "spiral": (999, 2, 3),        # 3 arms of 1000 // 3 points
    "xor": (1000, 2, 2),
}


def uncached(name, seed):
    """A fresh load, bypassing the lru_cache, so determinism is tested for real."""
    return load_dataset.__wrapped__(name, seed)


def test_expected_covers_all_local_datasets():
    assert sorted(EXPECTED) == sorted(LOCAL)


@pytest.mark.parametrize("name", LOCAL)
@pytest.mark.parametrize("seed", [0, 3])
def test_loads_with_types_split_and_standardisation(name, seed):
    ds = load_dataset(name, seed)
    n, d, k = EXPECTED[name]
    assert ds.name == name and isinstance(ds.description, str) and ds.description
    for x in (ds.x_train, ds.x_test):
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 2
        assert x.shape[1] == d and torch.isfinite(x).all()
    for y in (ds.y_train, ds.y_test):
        assert isinstance(y, torch.Tensor) and y.dtype == torch.int64 and y.dim() == 1
    assert ds.x_train.shape[0] == ds.y_train.shape[0]
    assert ds.x_test.shape[0] == ds.y_test.shape[0]
    assert ds.n_features == d and ds.n_classes == k
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    assert n_train + n_test == n
    assert abs(n_test / n - TEST_FRACTION) < 0.005

    labels = torch.cat([ds.y_train, ds.y_test])
    assert set(labels.tolist()) == set(range(k))
    assert int(labels.min()) >= 0 and int(labels.max()) < ds.n_classes
    # stratified: each class has about the same share in test as overall
    overall = np.bincount(labels.numpy(), minlength=k) / n
    in_test = np.bincount(ds.y_test.numpy(), minlength=k) / n_test
    np.testing.assert_allclose(in_test, overall, atol=0.01)

    x = ds.x_train.double().numpy()
    mean, std = x.mean(0), x.std(0)
    constant = std < 1e-6
    np.testing.assert_allclose(mean, 0, atol=1e-5)
    np.testing.assert_allclose(std[~constant], 1, atol=1e-5)
    if name != "digits":
        assert not constant.any()


def test_digits_shape_and_constant_features_only_centred():
    ds = load_dataset("digits", 0)
    assert ds.n_features == 64 and ds.n_classes == 10
    raw = load_digits().data
    assert ds.x_train.shape[0] + ds.x_test.shape[0] == raw.shape[0]
    # label multiset is preserved by the split
    labels = torch.cat([ds.y_train, ds.y_test]).numpy()
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(load_digits().target))
    # pixels that never light up in the training set are constant: centred to exactly 0
    x = ds.x_train.numpy()
    constant = x.std(0) == 0
    assert constant.any()        # digits has blank border pixels
    assert np.all(x[:, constant] == 0)


def test_digits_test_set_uses_training_statistics():
    """Per feature, train and test together are one affine image (a·v + b) of the raw pixels:
    the test set is mapped with the same a, b as the training set (not its own statistics)."""
    ds = load_dataset("digits", 1)
    raw = load_digits().data
    both = torch.cat([ds.x_train, ds.x_test]).double().numpy()
    n_train = len(ds.y_train)
    checked = 0
    for j in range(64):
        r = np.sort(raw[:, j])
        s = np.sort(both[:, j])
        if r[0] == r[-1]:
            continue
        a, b = np.polyfit(r, s, 1)
        np.testing.assert_allclose(a * r + b, s, atol=1e-4)
        # with a > 0 and the training part at mean 0, std 1, the one map is the training
        # standardisation
        assert a > 0
        x_tr = both[:n_train, j]
        if x_tr.std() > 0:
            assert abs(x_tr.mean()) < 1e-5 and abs(x_tr.std() - 1) < 1e-5
            checked += 1
    assert checked > 50
    # while the test part alone is not standardised to mean 0
    test_means = ds.x_test.double().numpy().mean(0)
    assert np.max(np.abs(test_means)) > 1e-3


@pytest.mark.parametrize("name", LOCAL)
def test_deterministic_per_seed(name):
    a, b = uncached(name, 5), uncached(name, 5)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    # the cached loader gives the same values
    c = load_dataset(name, 5)
    assert torch.equal(a.x_train, c.x_train) and torch.equal(a.y_test, c.y_test)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_different_seeds_differ(name):
    a, b = uncached(name, 0), uncached(name, 1)
    assert a.x_train.shape == b.x_train.shape
    assert not torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_test, b.x_test)


def test_default_is_digits_seed_0():
    ds = load_dataset()
    assert ds.name == "digits"
    assert torch.equal(ds.x_train, uncached("digits", 0).x_train)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as info:
        load_dataset("cifar", 0)
    msg = str(info.value)
    assert "'cifar'" in msg
    for name in DATASETS:
        assert name in msg


# ------------------------------------------------------------------ mnist, offline

@pytest.fixture
def fresh_cache():
    load_dataset.cache_clear()
    data.forget_mnist_failure()
    yield
    load_dataset.cache_clear()
    data.forget_mnist_failure()


@pytest.mark.parametrize("exc", [PermissionError("cache"), ConnectionError("reset"),
                                 __import__("urllib.error").error.URLError("down"),
                                 RuntimeError("broken cache")])
def test_mnist_fetch_failure_suggests_digits(monkeypatch, fresh_cache, exc):
    def fail():
        raise exc

    monkeypatch.setattr(data, "_fetch_mnist", fail)
    with pytest.raises(ValueError, match="'digits'") as info:
        load_dataset("mnist", 0)
    assert "mnist" in str(info.value)
    if isinstance(exc, (__import__("urllib.error").error.URLError, ConnectionError)):
        assert "no connection to openml.org" in str(info.value)     # said in words
        assert type(exc).__name__ not in str(info.value)
    else:                                           # e.g. a cache that cannot be written: named
        assert type(exc).__name__ in str(info.value)
    assert info.value.__cause__ is exc


class FakeOpenML:
    """What fetch_openml('mnist_784', as_frame=False) returns: .data (N, 784) floats and
    .target an object array of the strings '0'..'9'. Pixel 5 encodes the label
    (20·label + noise in [0, 10)), so it shows whether labels stay with their rows."""

    def __init__(self, n_per_class=12, seed=0):
        rng = np.random.default_rng(seed)
        n = 10 * n_per_class
        labels = rng.permutation(np.arange(n) % 10)
        self.data = rng.integers(0, 256, size=(n, 784)).astype(np.float64)
        self.data[:, :5] = 0.0                      # blank corner pixels, like real MNIST
        self.data[:, 5] = 20 * labels + rng.uniform(0, 10, size=n)
        self.target = np.array([str(v) for v in labels], dtype=object)


def test_mnist_with_fake_fetch(monkeypatch, fresh_cache):
    fake = FakeOpenML()
    calls = []

    def fetch():
        calls.append(1)
        return fake

    monkeypatch.setattr(data, "_fetch_mnist", fetch)
    ds = load_dataset("mnist", 0)
    assert ds.name == "mnist"
    assert ds.n_features == 784 and ds.n_classes == 10
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.y_test.dtype == torch.int64 and ds.x_test.dtype == torch.float32
    n = len(fake.target)
    assert len(ds.y_train) + len(ds.y_test) == n
    assert abs(len(ds.y_test) / n - TEST_FRACTION) < 0.01
    labels = torch.cat([ds.y_train, ds.y_test])
    np.testing.assert_array_equal(np.bincount(labels.numpy()), np.full(10, n // 10))
    x = ds.x_train.double().numpy()
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0)[5:], 1, atol=1e-5)
    assert np.all(x[:, :5] == 0)                    # constant pixels only centred
    # the string labels became the right integers, attached to the right rows: pixel 5 grows
    # with the label, so the classes occupy disjoint increasing ranges of standardised pixel 5
    xs = torch.cat([ds.x_train, ds.x_test])[:, 5].numpy()
    ys = labels.numpy()
    for k in range(9):
        assert xs[ys == k].max() < xs[ys == k + 1].min()
    # cached afterwards: a second call does not fetch again
    load_dataset("mnist", 0)
    assert len(calls) == 1


class Clock:
    """A stand-in for time.monotonic that moves only when told."""

    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_mnist_failure_is_remembered_then_retried(monkeypatch, fresh_cache):
    clock = Clock()
    monkeypatch.setattr(data, "_clock", clock)
    calls = []
    cause = __import__("urllib.error").error.URLError("no network")

    def fail():
        calls.append(clock.t)
        raise cause

    monkeypatch.setattr(data, "_fetch_mnist", fail)
    with pytest.raises(ValueError) as first:
        load_dataset("mnist", 0)
    assert calls == [1000.0]
    # within the retry interval: the same message at once, for any seed, without a new fetch
    for dt, seed in [(0.0, 0), (1.0, 1), (data.MNIST_RETRY_AFTER - 1.0, 0)]:
        clock.t = 1000.0 + dt
        with pytest.raises(ValueError) as again:
            load_dataset("mnist", seed)
        assert str(again.value) == str(first.value)
        assert "'digits'" in str(again.value) and "no connection to openml.org" in str(again.value)
        assert again.value.__cause__ is cause
    assert calls == [1000.0]
    # other datasets are unaffected
    assert load_dataset("moons", 0).name == "moons"
    # after the interval: one new try; it fails again, and that failure is remembered afresh
    clock.t = 1000.0 + data.MNIST_RETRY_AFTER
    with pytest.raises(ValueError, match="'digits'"):
        load_dataset("mnist", 0)
    assert calls == [1000.0, clock.t]
    clock.t += 10.0
    with pytest.raises(ValueError, match="'digits'"):
        load_dataset("mnist", 0)
    assert len(calls) == 2
    # the network is back after the next interval: the retry loads the data
    fake = FakeOpenML()

    def fetch():
        calls.append(clock.t)
        return fake

    monkeypatch.setattr(data, "_fetch_mnist", fetch)
    clock.t += data.MNIST_RETRY_AFTER
    ds = load_dataset("mnist", 0)
    assert len(calls) == 3 and ds.name == "mnist"
    assert len(ds.y_train) + len(ds.y_test) == len(fake.target)
    assert data._mnist_failure is None


def test_forget_mnist_failure_allows_an_immediate_retry(monkeypatch, fresh_cache):
    monkeypatch.setattr(data, "_clock", Clock())
    calls = []

    def fail():
        calls.append(1)
        raise OSError("no network")

    monkeypatch.setattr(data, "_fetch_mnist", fail)
    for _ in range(3):
        with pytest.raises(ValueError):
            load_dataset("mnist", 0)
    assert len(calls) == 1
    data.forget_mnist_failure()
    with pytest.raises(ValueError):
        load_dataset("mnist", 0)
    assert len(calls) == 2
