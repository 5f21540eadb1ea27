"""Augmentation by name: each one changes the image as named and keeps the model's input shape."""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnviz.core import models
from cnnviz.core.training.augment import Augmented


@pytest.fixture(scope="module")
def preprocess():
    return models.load_default().preprocessor()


@pytest.fixture
def image():
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:12, 2:9] = 255  # a bright block in the top left
    return Image.fromarray(pixels)


def test_hflip_mirrors_about_half_of_the_images(preprocess, image):
    plain = preprocess(image)
    torch.manual_seed(0)
    outputs = [Augmented(("hflip",), preprocess)(image) for _ in range(200)]
    flipped = sum(torch.equal(x, plain.flip(-1)) for x in outputs)
    kept = sum(torch.equal(x, plain) for x in outputs)
    assert flipped + kept == 200 and 70 < flipped < 130


def test_noise_has_the_standard_deviation_asked_in_pixel_units(preprocess, image):
    torch.manual_seed(0)
    noisy = Augmented(("noise:0.1",), preprocess)(image)
    difference = (noisy - preprocess(image)) * torch.tensor(preprocess.std).view(-1, 1, 1)
    assert float(difference.std()) == pytest.approx(0.1, rel=0.1)


@pytest.mark.parametrize("item", ["rotate:30", "crop:0.5", "colour:0.5"])
def test_geometric_and_colour_changes_keep_the_shape_and_change_the_pixels(preprocess, image, item):
    torch.manual_seed(1)
    plain = preprocess(image)
    changed = [Augmented((item,), preprocess)(image) for _ in range(5)]
    assert all(x.shape == plain.shape for x in changed)
    assert any(not torch.allclose(x, plain) for x in changed)


def test_colour_works_on_rgb_images_too():
    model = models.load_zoo("alexnet", pretrained=False)
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    torch.manual_seed(2)
    x = Augmented(("colour:0.4", "crop:0.6", "hflip"), model.preprocessor())(photo)
    assert x.shape == (3, 224, 224)
