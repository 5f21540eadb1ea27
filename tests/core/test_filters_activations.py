"""Filter weights and images, feature-map statistics, atlases and overlays."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.core.model import layers, models
from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.core.per_image import activations, filters


@pytest.fixture(scope="module")
def alexnet():
    return models.load_zoo("alexnet", pretrained=False)


def test_weights_are_a_cpu_copy(alexnet):
    weights = filters.weights(alexnet, "features.0")
    assert weights.shape == (64, 3, 11, 11) and weights.device.type == "cpu"
    weights.zero_()
    assert alexnet.module.features[0].weight.abs().sum() > 0
    assert filters.conv_layers(alexnet) == ["features.0", "features.3", "features.6", "features.8",
                                            "features.10"]
    with pytest.raises(ValueError, match="not a 2-D convolution"):
        filters.weights(alexnet, "features.1")


def test_filter_stats(alexnet):
    weights = filters.weights(alexnet, "features.3")
    stats = filters.stats(weights)
    assert len(stats) == 192 and stats[5].shape == (64, 5, 5)
    assert stats[5].norm == pytest.approx(float(weights[5].norm()), rel=1e-6)
    assert (stats[5].min, stats[5].max) == (float(weights[5].min()), float(weights[5].max()))


def test_filter_images_views_and_normalisation():
    weights = torch.zeros(2, 3, 2, 2)
    weights[0, 0] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    weights[1, 1] = torch.tensor([[-1.0, 0.0], [0.0, 1.0]])
    rgb, layer_range = filters.filter_images(weights)
    assert rgb.shape == (2, 2, 2, 3) and layer_range == (-1.0, 3.0)
    assert np.allclose(rgb[0, :, :, 0], [[0.0, 1 / 3], [2 / 3, 1.0]])
    by_layer, _ = filters.filter_images(weights, view="channel", channel=1, per="layer")
    assert by_layer[1].tolist() == [[0.0, 0.5], [0.5, 1.0]]  # the view's range is -1..1
    assert by_layer[0].tolist() == [[0.5, 0.5], [0.5, 0.5]]
    norm, _ = filters.filter_images(weights, view="norm", per="layer")
    assert norm.shape == (2, 2, 2) and norm.max() == 1.0
    with pytest.raises(IndexError):
        filters.filter_images(weights, view="channel", channel=3)


def test_view_ranges_are_what_per_filter_scaling_maps_to_0_and_1():
    weights = torch.zeros(2, 3, 2, 2)
    weights[0, 0] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    weights[1, 1] = torch.tensor([[-1.0, 0.0], [0.0, 0.5]])
    assert filters.view_ranges(weights).tolist() == [[0.0, 3.0], [-1.0, 0.5]]
    assert filters.view_ranges(weights, "channel", 1).tolist() == [[0.0, 0.0], [-1.0, 0.5]]
    assert filters.view_ranges(weights, "norm").tolist() == [[0.0, 3.0], [0.0, 1.0]]
    shown = filters.view_values(weights, "channel", 1)
    images, _ = filters.filter_images(weights, "channel", 1, "filter")
    low, high = filters.view_ranges(weights, "channel", 1)[1]
    np.testing.assert_allclose(low + images[1] * (high - low), shown[1].numpy())


def test_channel_stats_and_dead_channels():
    activation = torch.zeros(3, 2, 2)
    activation[0] = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    activation[2] = 5.0
    stats = activations.channel_stats(activation)
    assert stats.mean.tolist() == [1.0, 0.0, 5.0]
    assert stats.max.tolist() == [3.0, 0.0, 5.0]
    assert stats.zero_fraction.tolist() == [0.5, 1.0, 0.0]
    assert stats.dead == [1]
    assert activations.channel_order(stats, "max") == [2, 0, 1]
    assert activations.channel_order(stats, "index") == [0, 1, 2]


def test_upsample_is_aligned_bilinear():
    feature_map = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    big = activations.upsample(feature_map, (4, 4))
    assert big.shape == (4, 4)
    assert big[0, 0] == 0.0 and big[3, 3] == 3.0
    assert big.mean() == pytest.approx(1.5)


def test_atlas_round_trip():
    tiles = np.arange(7 * 3 * 4, dtype=np.float32).reshape(7, 3, 4)
    atlas = make_atlas(tiles, columns=3, pad=2, order=[6, 5, 4, 3, 2, 1, 0])
    assert atlas.image.shape == (3 * 5 - 2, 3 * 6 - 2)
    for index in range(7):
        top, left = atlas.origin(index)
        assert np.array_equal(atlas.image[top:top + 3, left:left + 4], tiles[index])
        assert atlas.slot_at(top + 1, left + 2) == index
    assert atlas.slot_at(3, 0) is None  # a gap row
    assert atlas.slot_at(12, 8) is None  # the empty last slots
    assert np.isnan(atlas.image[3, 0])


def test_dead_channels_on_a_real_forward():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([-1.0, 1.0, -2.0, 0.5]))
    model = models.LoadedModel(net.eval(), "n", [], (8, 8), (0.0,), (1.0,), 1, 8)
    output = layers.capture(model, torch.randn(1, 1, 8, 8), layers=["1"])["1"][0]
    assert activations.channel_stats(output).dead == [0, 2]
