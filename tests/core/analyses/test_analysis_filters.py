"""The filters analysis: its images equal the core's, its settings check themselves against the layer, its
figure reads well."""

import dataclasses

import numpy as np
import pytest
from figure_layout import assert_readable

from cnnviz.analyses import figures, registry
from cnnviz.analyses.activations import grid_layout, mosaic
from cnnviz.analyses.filters import Settings
from cnnviz.core.model import layers
from cnnviz.core.per_image import filters


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


def _grid_axes(figure):
    return next(ax for ax in figure.axes if ax.get_title().startswith("(d)"))


def test_the_grid_is_one_mosaic_whose_tiles_are_the_filter_images(result):
    ax = _grid_axes(registry.get("filters").figure(result, width_mm=170, caption=False))
    assert len(ax.images) == 1 and [t.get_text() for t in ax.texts] == [str(i) for i in range(12)]
    shown = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    grid = mosaic(result.images[:12], grid_layout(12, figures.width_inches(170) * 0.85)[0],
                  band=0.0 if not ax.texts else 1.0)
    tile_h, tile_w = grid.tile
    filled = np.argwhere(np.isfinite(shown))
    top, left = filled.min(axis=0)
    np.testing.assert_array_equal(shown[top:top + tile_h, left:left + tile_w][::grid.zoom, ::grid.zoom],
                                  result.images[0])
    x = left + tile_w + grid.gap
    np.testing.assert_array_equal(shown[top:top + tile_h, x:x + tile_w][::grid.zoom, ::grid.zoom], result.images[1])


@pytest.mark.parametrize("width_mm", [85, 170])
def test_512_rgb_filters_draw_as_one_rgb_mosaic(result, width_mm):
    rng = np.random.default_rng(1)
    images = rng.random((512, 3, 3, 3)).astype(np.float32)
    big = dataclasses.replace(result, settings=dataclasses.replace(result.settings, limit=512), view="rgb",
                              images=images, weights=rng.normal(size=(512, 3, 3, 3)))
    figure = registry.get("filters").figure(big, width_mm=width_mm)
    ax = _grid_axes(figure)
    assert len(figure.axes) <= 8 and len(ax.images) == 1 and not ax.texts
    shown = ax.images[0].get_array()
    assert shown.ndim == 3 and shown.shape[2] == 4
    assert "reading order" in ax.get_title().replace("\n", " ")
    opaque = np.argwhere(shown[..., 3] > 0)
    top, left = opaque.min(axis=0)
    zoom = 11
    np.testing.assert_allclose(shown[top:top + 33:zoom, left:left + 33:zoom, :3], images[0], rtol=1e-6)
    assert_readable(figure)
