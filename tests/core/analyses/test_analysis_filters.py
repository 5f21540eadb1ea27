"""The filters analysis: its images equal the core's, its settings check themselves against the layer, its
figure reads well."""

import numpy as np
import pytest
from figure_layout import assert_readable

from cnnviz.analyses import Source, registry
from cnnviz.analyses.filters import Settings
from cnnviz.core import filters, images, layers, models


@pytest.fixture(scope="module")
def model():
    return models.load_default()


@pytest.fixture(scope="module")
def source(model):
    return Source.of_file(model, images.sample("fmnist_bag").path)


@pytest.fixture(scope="module")
def result(model, source):
    settings = Settings(layer="features.conv2", view="channel", in_channel=3, scale="layer", limit=12)
    return registry.get("filters").compute(model, source, settings)


def test_images_equal_the_core(model, result):
    weights = filters.weights(model, "features.conv2")
    expected, layer_range = filters.filter_images(weights, view="channel", channel=3, per="layer")
    np.testing.assert_array_equal(result.images, expected)
    np.testing.assert_array_equal(result.weights, weights.numpy())
    assert result.layer_range == layer_range and result.images.shape == (64, 3, 3)
    np.testing.assert_array_equal(result.ranges, filters.view_ranges(weights, "channel", 3))
    bias = dict(model.module.named_modules())["features.conv2"].bias
    np.testing.assert_array_equal(result.biases, bias.detach().numpy())


def test_the_strongest_filter_is_enlarged_with_its_map(model, source, result):
    maps = layers.capture(model, source.x, layers="features.conv2")["features.conv2"][0]
    strongest = int(np.argmax(maps.flatten(1).max(dim=1).values))
    assert result.filter == strongest and not result.partial
    np.testing.assert_allclose(result.activation, maps[strongest].numpy(), rtol=1e-6, atol=1e-6)


def test_defaults_and_the_partial_step(model, source):
    analysis = registry.get("filters")
    assert analysis.settings_for(model).layer == "features.conv1"
    steps = list(analysis.run(model, source, Settings(filter=4)))
    assert len(steps) == 1 and steps[0].partial.partial and steps[0].partial.activation is None
    final = analysis.compute(model, source, Settings(filter=4))
    assert final.view == "channel" and final.filter == 4 and final.images.shape == (32, 5, 5)


def test_caption_names_settings_and_what_they_resolved_to(result):
    fields = result.caption().fields
    assert fields["layer"] == "features.conv2" and fields["view"] == "channel" and fields["in_channel"] == 3
    assert fields["scale"] == "layer" and fields["shape"] == "64×32×3×3" and fields["filter"] == result.filter
    assert "colormap" not in fields and "limit" not in fields


def test_export_keeps_the_pane_array_names(result, tmp_path):
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"), stem="f")}
    assert {"f-weights.npy", "f-images.npy", "f-activation.npy", "f-activation.csv", "f-stats.csv"} <= written
    np.testing.assert_array_equal(np.load(tmp_path / "f-weights.npy"), result.weights)
    table = (tmp_path / "f-stats.csv").read_text(encoding="utf-8")
    first = table.split("filter,l2_norm,min,max,bias\n")[1].splitlines()[0].split(",")
    assert int(first[0]) == 0 and float(first[1]) == pytest.approx(np.linalg.norm(result.weights[0]), rel=1e-6)


@pytest.mark.parametrize(("changes", "message"), [
    ({"view": "colour"}, "view: 'colour' is not one of auto, rgb, channel, norm"),
    ({"scale": "channel"}, "scale: 'channel' is not one of filter, layer"),
    ({"in_channel": -1}, "in_channel: -1 is outside 0…"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"view": "rgb"}, "view: rgb needs 3 input channels, features.conv1 has 1"),
    ({"in_channel": 1}, "in_channel: 1 is outside 0…0"),
    ({"filter": 32}, "filter: 32 is outside 0…31"),
    ({"layer": "features.relu1"}, "layer: 'features.relu1' is not a 2-D convolution"),
])
def test_checks_against_the_layer_name_the_field(model, source, changes, message):
    with pytest.raises(ValueError, match=message):
        registry.get("filters").compute(model, source, Settings(**changes))


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("filters").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    assert any("first 12 of 64 filters" in ax.get_title() for ax in figure.axes)
    assert_readable(figure)


def test_figure_width_in_pixels(result):
    figure = registry.get("filters").figure(result, width_px=1000, dpi=150, caption=False)
    assert round(figure.get_figwidth() * figure.dpi) == 1000
    assert_readable(figure)
