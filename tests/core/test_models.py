"""Model loaders: bundled default, zoo cache and downloads, and the three kinds of model file."""

import io
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from cnnviz.core import Cancelled, images, models
from cnnviz.core.models import ModelLoadError, UntrustedFileError, WeightsDownloadError


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


def test_untrained_zoo_model_is_labelled(torch_home):
    model = models.load_zoo("resnet18", pretrained=False)
    assert not model.pretrained
    assert "untrained" in model.display_name
    assert model.categories[0] == "tench" and len(model.categories) == 1000
    assert (model.input_size, model.resize_size) == ((224, 224), 256)
    assert not models.is_cached("resnet18")


def test_cached_weights_load_without_network(torch_home, no_network):
    reference = torchvision.models.get_model("squeezenet1_1", weights=None)
    path = models.weights_path("squeezenet1_1")
    assert path.parent == torch_home / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    assert models.is_cached("squeezenet1_1")
    model = models.load_zoo("squeezenet1_1")
    assert model.pretrained
    for key, value in reference.state_dict().items():
        assert torch.equal(model.module.state_dict()[key], value)


def test_failed_download_names_the_file_and_the_folder(torch_home, no_network):
    with pytest.raises(WeightsDownloadError) as caught:
        models.load_zoo("alexnet")
    error = caught.value
    assert error.path.name == "alexnet-owt-7be5be79.pth"
    assert error.folder == torch_home / "hub" / "checkpoints"
    assert error.path.name in str(error) and str(error.folder) in str(error)
    assert "untrained" in str(error)
    assert not list(error.folder.glob("*.partial"))


class FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}

    def read(self, size=-1):
        return super().read(min(size, 1000) if size > 0 else size)


def test_download_reports_progress_and_checks_the_hash(torch_home, monkeypatch):
    payload = b"x" * 3500
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: FakeResponse(payload))
    steps = models.download_weights("alexnet")
    seen = []
    with pytest.raises(WeightsDownloadError, match="checksum"):
        for step in steps:
            seen.append(step)
    assert seen[0] == (0, 3500) and seen[-1] == (3500, 3500)
    assert not models.is_cached("alexnet")
    assert not list(models.weights_cache_dir().glob("*.partial"))


def test_cancelled_download_leaves_no_partial_file(torch_home, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: FakeResponse(b"y" * 5000))
    calls = []

    def progress(done, total):
        calls.append(done)
        return done < 2000

    with pytest.raises(Cancelled):
        models.load_zoo("alexnet", progress=progress)
    assert calls[-1] == 2000
    assert not any(models.weights_cache_dir().iterdir())


def test_load_python_file_with_build(tmp_path):
    source = tmp_path / "tiny.py"
    source.write_text(
        "import torch.nn as nn\n"
        "CATEGORIES = ['left', 'right']\n"
        "MEAN = (0.5,)\nSTD = (0.25,)\nINPUT_SIZE = (16, 12)\n"
        "def build():\n"
        "    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
        "                         nn.Flatten(), nn.Linear(4, 2))\n"
    )
    model = models.load_file(source)
    assert (model.name, model.in_channels, model.input_size) == ("tiny", 1, (16, 12))
    assert model.categories == ["left", "right"] and model.mean == (0.5,) and model.std == (0.25,)
    assert model.resize_size == 12
    prediction = model.predict(model.preprocess(Image.new("L", (40, 40))), k=5)
    assert len(prediction) == 2 and {p[1] for p in prediction} == {"left", "right"}


def test_python_file_errors_are_clear(tmp_path):
    no_build = tmp_path / "nobuild.py"
    no_build.write_text("x = 1\n")
    with pytest.raises(ModelLoadError, match="build"):
        models.load_file(no_build)
    broken = tmp_path / "broken.py"
    broken.write_text("def build():\n    raise ValueError('no weights here')\n")
    with pytest.raises(ModelLoadError, match="no weights here"):
        models.load_file(broken)
    wrong_size = tmp_path / "wrong.py"
    wrong_size.write_text(
        "import torch.nn as nn\nINPUT_SIZE = (8, 8)\n"
        "def build():\n    return nn.Sequential(nn.Flatten(), nn.Linear(100, 2))\n")
    with pytest.raises(ModelLoadError, match="failed on an input"):
        models.load_file(wrong_size)


def test_state_dict_with_arch_and_guessed_arch(tmp_path):
    reference = torchvision.models.get_model("squeezenet1_1", weights=None)
    path = tmp_path / "weights.pth"
    torch.save(reference.state_dict(), path)
    for arch in ("squeezenet1_1", None):
        model = models.load_file(path, arch=arch)
        assert model.arch == "squeezenet1_1"
        assert len(model.categories) == 1000
        assert torch.equal(model.module.features[0].weight, reference.features[0].weight)


def test_state_dict_mismatch_lists_keys(tmp_path):
    state = torchvision.models.get_model("squeezenet1_1", weights=None).state_dict()
    state.pop("features.0.bias")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ModelLoadError) as caught:
        models.load_file(path, arch="squeezenet1_1")
    assert "missing keys: features.0.bias" in str(caught.value)
    assert "unexpected keys: extra.weight" in str(caught.value)
    with pytest.raises(ModelLoadError, match="match no zoo architecture"):
        models.load_file(path)


class PickledNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.conv(x)).flatten(1)


def test_pickled_module_needs_trust(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(PickledNet(), path)
    with pytest.raises(UntrustedFileError, match="runs code"):
        models.load_file(path)
    model = models.load_file(path, trust=True)
    assert isinstance(model.module, PickledNet)
    assert model.in_channels == 3 and model.input_size == (224, 224)
    assert model.predict(model.dummy_input(), k=1)[0][1] in ("class 0", "class 1")


def test_not_a_torch_file(tmp_path):
    path = tmp_path / "text.pth"
    path.write_text("hello")
    with pytest.raises(ModelLoadError, match="not a PyTorch weights file"):
        models.load_file(path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        models.load_file(tmp_path / "missing.pth")


def test_load_dispatches_by_spec(tmp_path):
    assert models.load("default").source == "default"
    assert models.load("alexnet", pretrained=False).arch == "alexnet"


def test_shared_squeezenet_recognises_the_cat(shared_model):
    skimage_data = pytest.importorskip("skimage.data")
    model = models.load_file(shared_model("squeezenet1_0_imagenet"))
    assert (model.input_size, model.resize_size, len(model.categories)) == ((224, 224), 256, 1000)
    index, name, probability = model.predict(model.preprocess(Image.fromarray(skimage_data.chelsea())))[0]
    assert name == "Egyptian cat" and probability > 0.4


def test_shared_mobilenet_recognises_the_espresso(shared_model):
    skimage_data = pytest.importorskip("skimage.data")
    model = models.load_file(shared_model("mobilenet_v2_imagenet"))
    assert model.predict(model.preprocess(Image.fromarray(skimage_data.coffee())))[0][1] == "espresso"
