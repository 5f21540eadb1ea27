"""Small real data for the training tests: Fashion-MNIST subsets (skipped where it is not installed)."""

import pytest

from cnnviz.core import datasets
from cnnviz.core.data import fashion_mnist


@pytest.fixture(scope="session")
def fmnist_small():
    """(train, val, test): 300, 100 and 200 Fashion-MNIST images, every class in each."""
    if not fashion_mnist.available():
        pytest.skip("Fashion-MNIST is not installed")
    whole = datasets.fashion_mnist("train", limit=400)
    train = whole.subset(range(300), "fm train")
    val = whole.subset(range(300, 400), "fm val")
    test = datasets.fashion_mnist("test", limit=200)
    return train, val, test
