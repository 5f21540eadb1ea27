"""The bundled default model and LoadedModel's preprocessing and predictions (zoo: test_zoo.py, files:
test_model_files.py)."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from cnnviz.core.data import images
from cnnviz.core.model import models


@pytest.fixture(scope="module")
def default_model():
    return models.load_default()


def test_zoo_offers_the_required_architectures():
    required = {"alexnet", "vgg16", "vgg19", "googlenet", "resnet18", "resnet50", "squeezenet1_0",
                "squeezenet1_1", "mobilenet_v2"}
    assert required <= set(models.zoo_names())


def test_default_model_fields(default_model):
    assert default_model.in_channels == 1
    assert default_model.input_size == (28, 28)
    assert len(default_model.categories) == 10
    assert default_model.categories[9] == "Ankle boot"
    assert not default_model.module.training
    assert default_model.device == torch.device("cpu")
    assert default_model.pretrained and default_model.display_name == default_model.name
    names = default_model.layer_names()
    assert names[:4] == ["features", "features.conv1", "features.relu1", "features.pool1"]
    assert names[-1] == "classifier.fc2"


def test_default_model_predicts_every_bundled_fashion_sample(default_model):
    fashion = [s for s in images.samples() if s.kind == "fashion-mnist"]
    assert len(fashion) >= 3
    for sample in fashion:
        x = default_model.preprocess(images.load_image(sample.path))
        assert x.shape == (1, 1, 28, 28)
        top = default_model.predict(x, k=5)
        assert len(top) == 5
        assert top[0][1] == sample.label, sample.path.name
        probabilities = [p for _, _, p in top]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0.5 < probabilities[0] <= 1.0


def test_preprocess_deprocess_round_trip_grey(default_model):
    pixels = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    x = default_model.preprocess(Image.fromarray(pixels))
    mean, std = default_model.mean[0], default_model.std[0]
    assert torch.allclose(x[0, 0], (torch.from_numpy(pixels).float() / 255 - mean) / std, atol=1e-6)
    back = default_model.deprocess(x)
    assert back.mode == "L" and np.array_equal(np.asarray(back), pixels)


def test_preprocess_resizes_shorter_side_then_centre_crops():
    model = models.load_zoo("squeezenet1_1", pretrained=False)
    image = Image.new("RGB", (512, 300), (255, 0, 0))
    image.paste((0, 255, 0), (0, 0, 100, 300))  # green band on the left is cropped away
    x = model.preprocess(image)
    assert x.shape == (1, 3, 224, 224)
    back = np.asarray(model.deprocess(x))
    assert back.shape == (224, 224, 3)
    assert np.abs(back.astype(int) - [255, 0, 0]).max() <= 1
    torchvision_transform = torchvision.models.get_model_weights("squeezenet1_1").DEFAULT.transforms()
    rng = np.random.default_rng(2)
    photo = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    assert torch.allclose(model.preprocess(photo)[0], torchvision_transform(photo), atol=2e-2)


def test_rgb_model_accepts_grey_and_grey_model_accepts_rgb(default_model):
    zoo = models.load_zoo("squeezenet1_1", pretrained=False)
    assert zoo.preprocess(Image.new("L", (300, 300), 128)).shape == (1, 3, 224, 224)
    assert default_model.preprocess(Image.new("RGBA", (50, 40), (9, 9, 9, 255))).shape == (1, 1, 28, 28)
