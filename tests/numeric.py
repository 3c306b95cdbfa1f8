"""Comparisons shared by the tests of the numpy references (test_batchnorm, test_norms)."""

import numpy as np

ATOL = 1e-10


def assert_close(actual, expected, atol=ATOL):
    """max |actual − expected| <= atol, scaled up by the magnitude of `expected` when it is > 1."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol * scale)


def rel_error(a, b):
    """The largest elementwise |a − b| / (|a| + |b|) (1e-12 keeps 0/0 out)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))
