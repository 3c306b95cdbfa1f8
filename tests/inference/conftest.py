"""The inference lesson's network, trained once for all its tests (tests.inference.reference.CONFIG)."""

import pytest

from bn_core.data import load_dataset
from bn_core.inference.lesson import inference_lesson
from bn_core.inference.training import rebuild, train_network
from tests.inference.reference import CONFIG


@pytest.fixture(scope="session")
def trained():
    return train_network(CONFIG.train_config())


@pytest.fixture(scope="session")
def lesson(trained):
    return inference_lesson(trained, CONFIG)


@pytest.fixture(scope="session")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def weights(trained):
    """The trained parameters as float64 numpy arrays, per layer."""
    stack = rebuild(trained)
    L = len(stack.hidden)
    return {
        "W": [stack.W[l][0].double().numpy() for l in range(L)],
        "b": [stack.b[l][0].double().numpy() for l in range(L)],
        "gamma": [stack.gamma[l][0].double().numpy() for l in range(L)],
        "beta": [stack.beta[l][0].double().numpy() for l in range(L)],
        "Wo": stack.Wo[0].double().numpy(), "bo": stack.bo[0].double().numpy(),
        "eps": CONFIG.train_config().eps,
    }
