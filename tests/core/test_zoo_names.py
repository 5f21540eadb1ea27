"""Zoo architectures by their papers' names with their download size; a failed download on the command line
names --untrained."""

import pytest
import torchvision

from cnnviz import cli
from cnnviz.core.model import models, zoo


def test_every_zoo_model_has_a_title_and_its_download_size():
    assert set(zoo.ZOO_TITLES) == set(zoo.ZOO) == set(zoo.ZOO_DOWNLOAD_MB)
    for name in zoo.ZOO:
        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        if "_file_size" in meta:
            assert zoo.ZOO_DOWNLOAD_MB[name] == pytest.approx(meta["_file_size"], abs=0.06)


def test_titles_read_as_the_papers_name_them():
    assert zoo.zoo_title("regnet_y_400mf") == "RegNetY-400MF · 17 MB download"
    assert zoo.zoo_title("resnet18") == "ResNet-18 · 45 MB download"
    assert zoo.zoo_title("resnet18", cached=True) == "ResNet-18 · cached"
    assert zoo.zoo_title("squeezenet1_0") == "SqueezeNet 1.0 · 5 MB download"


@pytest.fixture
def offline(monkeypatch):
    def refuse(name, *, timeout=30.0):
        raise models.WeightsDownloadError(models.zoo_weights(name).url, models.weights_path(name),
                                          "network error: offline")
        yield  # a generator, as download_weights is

    monkeypatch.setattr(zoo, "download_weights", refuse)
    monkeypatch.setattr(zoo, "is_cached", lambda name: False)


@pytest.mark.parametrize("argv", [
    ["run", "filters", "--model", "alexnet", "--image", "fmnist_bag", "--out", "OUT"],
    ["scan", "--model", "alexnet", "--fashion-mnist", "test", "--out", "OUT/index.npz"],
])
def test_a_failed_download_on_the_command_line_names_untrained(argv, offline, tmp_path, capsys):
    argv = [arg.replace("OUT", str(tmp_path)) for arg in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Could not download the pretrained weights alexnet-owt-7be5be79.pth (network error: offline)" in err
    assert "pass --untrained" in err and "Traceback" not in err
