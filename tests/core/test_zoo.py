"""torchvision's zoo: untrained models, the weight cache and downloads with their hash check."""

import io
import urllib.request

import pytest
import torch
import torchvision

from cnnviz.core.model import models
from cnnviz.core.model.models import WeightsDownloadError
from cnnviz.core.progress import Cancelled


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
        seen.extend(steps)
    assert (seen[0].done, seen[0].total) == (0, 3500) and (seen[-1].done, seen[-1].total) == (3500, 3500)
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
