"""Fixtures of the analysis tests: the bundled model and the bag sample as a source, once per test module."""

import pytest

from cnnviz.analyses import Source
from cnnviz.core.data import images
from cnnviz.core.model import models


@pytest.fixture(scope="module")
def model():
    """The bundled Fashion-MNIST model."""
    return models.load_default()


@pytest.fixture(scope="module")
def source(model):
    """The bundled bag sample, preprocessed for :func:`model`."""
    return Source.of_file(model, images.sample("fmnist_bag").path)
