"""Dataset scans of rectified maps and block outputs (Zeiler & Fergus show rectified maps): the default layers
are the ReLUs after the convolutions, and a ReLU's or a block's top images equal a brute-force ranking."""

import numpy as np
import pytest
import torch
from PIL import Image
from scan_reference import assert_top_matches, brute_force, jpeg_bytes
from torch import nn

from cnnviz.analyses import scan as scan_analysis
from cnnviz.analyses.base import Source
from cnnviz.core.data import datasets
from cnnviz.core.model import layers, models
from cnnviz.core.model.loaded_model import wrap
from cnnviz.core.per_dataset import scan

IMAGES = 10
K = 3


def random_folder(root) -> datasets.ImageDataset:
    """``IMAGES`` random RGB JPEGs in ``root``, opened as a dataset."""
    root.mkdir()
    for i in range(IMAGES):
        (root / f"{i:02d}.jpg").write_bytes(jpeg_bytes(i, (48, 40)))
    return datasets.open_folder(root)


def assert_scan_matches_brute_force(model: models.LoadedModel, ds: datasets.ImageDataset, chosen: list[str]) -> None:
    index = scan.build(model, ds, layers=chosen, k=K, batch_size=4, workers=0)
    inputs = []
    for i in range(len(ds)):
        with Image.open(ds.path(i)) as image:
            inputs.append(model.preprocess(image.copy()))
    reference = brute_force(model.module, inputs, chosen)
    maps = {layer: layers.capture(model, torch.cat(inputs), layers=[layer])[layer].numpy() for layer in chosen}
    for layer in chosen:
        assert index.spatial(layer) and index.channels(layer) == reference[layer].scores.shape[1]
        for channel in range(index.channels(layer)):
            assert_top_matches(index.top(layer, channel=channel), reference[layer],
                               lambda image, c, at, layer=layer: float(maps[layer][image, c, at[0], at[1]]),
                               channel, K, atol=1e-4)


def test_default_layers_are_the_relus_after_the_convs(bundled):
    assert scan.default_layers(bundled) == ["features.relu1", "features.relu2", "features.relu3"]
    assert scan_analysis.defaults(bundled).layers == ("features.relu1", "features.relu2", "features.relu3")


def test_a_conv_without_a_relu_after_it_is_scanned_itself():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Tanh(),
                        nn.Conv2d(4, 4, 3), nn.Flatten(), nn.Linear(4 * 36, 3))
    model = wrap(net.eval(), name="tiny", input_size=(12, 12))
    assert scan.conv_layers(model) == ["0", "3", "5"]
    assert scan.default_layers(model) == ["2", "3", "5"]


def test_a_shared_relu_is_not_a_convs_rectified_output():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2, self.relu = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.conv2(self.relu(self.conv1(x))) + x)

    model = wrap(Block().eval(), name="block", input_size=(8, 8))
    assert scan.default_layers(model) == ["conv1", "conv2"]


def test_bundled_relu_and_block_output_match_brute_force(bundled, tmp_path):
    ds = random_folder(tmp_path / "images")
    assert_scan_matches_brute_force(bundled, ds, ["features.relu2", "features"])


def test_scan_analysis_accepts_a_relu_and_a_block_and_refuses_others(bundled, tmp_path):
    ds = random_folder(tmp_path / "images")
    settings = scan_analysis.Settings(layers=("features.relu3", "features"), layer="features", k=K, batch_size=4,
                                      workers=0, per_page=2)
    steps = scan_analysis.scan_steps(bundled, Source.of_dataset(ds), settings)
    with pytest.raises(StopIteration) as stop:
        while True:
            next(steps)
    result = stop.value.value
    assert result.layer == "features" and result.index.layers == ["features.relu3", "features"]
    index = scan.build(bundled, ds, layers=["features"], k=K, workers=0)
    np.testing.assert_array_equal(result.top_images, scan_analysis.top_arrays(index, "features")[0])
    with pytest.raises(ValueError, match=r"no layer called 'features\.nothing'"):
        next(scan_analysis.scan_steps(bundled, Source.of_dataset(ds), settings.replace(layers=("features.nothing",),
                                                                                        layer="")))


def test_squeezenet_defaults_and_fire_block_match_brute_force(shared_model, tmp_path):
    model = models.load_file(shared_model("squeezenet1_0_imagenet"))
    modules = dict(model.module.named_modules())
    defaults = scan.default_layers(model)
    assert len(defaults) == len(scan.conv_layers(model)) == 26
    assert defaults[:4] == ["features.1", "features.3.squeeze_activation", "features.3.expand1x1_activation",
                            "features.3.expand3x3_activation"]
    assert all(isinstance(modules[name], nn.ReLU) for name in defaults)
    ds = random_folder(tmp_path / "images")
    assert_scan_matches_brute_force(model, ds, ["features.3.expand3x3_activation", "features.4"])
