"""Model files: a .py with build(), state_dicts of zoo architectures and trusted pickled modules."""

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from cnnviz.core.model import models
from cnnviz.core.model.models import ModelLoadError, UntrustedFileError


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
    with pytest.raises(ModelLoadError, match="forward pass on an input of shape 1×3×8×8 failed"):
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
    _index, name, probability = model.predict(model.preprocess(Image.fromarray(skimage_data.chelsea())))[0]
    assert name == "Egyptian cat" and probability > 0.4


def test_shared_mobilenet_recognises_the_espresso(shared_model):
    skimage_data = pytest.importorskip("skimage.data")
    model = models.load_file(shared_model("mobilenet_v2_imagenet"))
    assert model.predict(model.preprocess(Image.fromarray(skimage_data.coffee())))[0][1] == "espresso"
