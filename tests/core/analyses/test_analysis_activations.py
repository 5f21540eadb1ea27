"""The activations analysis: its arrays equal a direct capture, its settings check themselves, its figure
reads well for maps and for a vector layer."""

import dataclasses

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import registry
from cnnviz.analyses.activations import Settings, grid_columns, mosaic
from cnnviz.core.model import layers
from cnnviz.core.per_image import activations


@pytest.fixture(scope="module")
def result(model, source):
    settings = Settings(layer="features.relu2", order="mean", scale="channel", limit=12)
    return registry.get("activations").compute(model, source, settings)


@pytest.fixture(scope="module")
def vector(model, source):
    return registry.get("activations").compute(model, source, Settings(layer="classifier.fc2", order="max"))


def test_arrays_equal_a_direct_capture(model, source, result):
    expected = layers.capture(model, source.x, layers="features.relu2")["features.relu2"][0]
    np.testing.assert_allclose(result.values, expected.numpy(), rtol=1e-6, atol=1e-6)
    means = expected.flatten(1).mean(dim=1).numpy()
    assert list(result.order) == [int(i) for i in np.argsort(-means, kind="stable")]
    assert result.channel == int(np.argmax(expected.flatten(1).max(dim=1).values))
    np.testing.assert_allclose(result.overlay, activations.upsample(expected[result.channel], (28, 28)))
    assert result.image.shape == (28, 28) and result.image.dtype == np.uint8
    assert result.stats.dead == [i for i in range(64) if not expected[i].any()]


def test_default_layer_is_the_first_convolution_and_steps_say_so(model, source):
    analysis = registry.get("activations")
    assert analysis.settings_for(model).layer == "features.conv1"
    steps = analysis.run(model, source)
    step = next(steps)
    assert (step.done, step.total, step.partial) == (0, 1, None) and "features.conv1" in step.message
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value.layer == "features.conv1" and stop.value.value.values.shape == (32, 28, 28)


def test_a_chosen_channel_is_enlarged_and_exported(model, source, tmp_path):
    result = registry.get("activations").compute(model, source, Settings(channel=5))
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"), stem="act")}
    assert {"act-activations.npy", "act-order.npy", "act-channel5.npy", "act-overlay.npy", "act-channel5.csv",
            "act-channels.csv"} <= written
    np.testing.assert_array_equal(np.load(tmp_path / "act-channel5.npy"), result.values[5])
    table = (tmp_path / "act-channels.csv").read_text(encoding="utf-8")
    assert table.startswith("# analysis: activations") and "channel,mean,max,zero_fraction,dead,name" in table


def test_vector_layers_name_their_class_units(vector):
    assert vector.is_vector and vector.values.shape == (10,)
    assert vector.channel == int(np.argmax(vector.values)) and vector.unit_name(8) == "Bag"
    assert set(vector.arrays()) == {"activations", "order"}
    assert vector.caption().fields["channel_name"] == "Bag"


def test_caption_names_settings_and_what_they_resolved_to(result):
    fields = result.caption().fields
    assert fields["layer"] == "features.relu2" and fields["order"] == "mean" and fields["scale"] == "channel"
    assert fields["shape"] == "64×14×14" and fields["dead"] == len(result.stats.dead)
    assert "colormap" not in fields and "opacity" not in fields and "limit" not in fields


@pytest.mark.parametrize(("changes", "message"), [
    ({"order": "median"}, "order: 'median' is not one of index, mean, max"),
    ({"scale": "image"}, "scale: 'image' is not one of layer, channel"),
    ({"opacity": 101}, "opacity: 101 is outside 0…100 %"),
    ({"limit": 0}, "limit: 0 is outside 1…1024"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_model_dependent_checks_name_the_field(model, source):
    analysis = registry.get("activations")
    with pytest.raises(ValueError, match="channel: 32 is outside 0…31"):
        analysis.compute(model, source, Settings(channel=32))
    with pytest.raises(ValueError, match="layer: 'nope' is not a layer"):
        analysis.compute(model, source, Settings(layer="nope"))


def test_grid_columns_keep_tiles_readable():
    assert grid_columns(64, 6.0) == 11
    assert grid_columns(128, 3.0) <= 10
    assert grid_columns(1, 6.0) == 1


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("activations").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    titles = [ax.get_title().replace("\n", " ") for ax in figure.axes]
    assert "(d) features.relu2: first 12 of 64 maps, by mean" in titles
    assert_readable(figure)


def test_vector_figure_reads_well(vector):
    figure = registry.get("activations").figure(vector, width_px=1200, dpi=150)
    assert round(figure.get_figwidth() * figure.dpi) == 1200
    assert any("Bag" in t.get_text() for ax in figure.axes for t in ax.get_yticklabels())
    assert_readable(figure)


def _tiles_of(array):
    """The tiles of a mosaic image in reading order, found by its blank (NaN) gutters."""
    filled = np.isfinite(array)

    def runs(mask):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
        return list(zip(edges[::2], edges[1::2]))

    found = []
    for top, bottom in runs(filled.any(axis=1)):
        for left, right in runs(filled[top:bottom].any(axis=0)):
            found.append(array[top:bottom, left:right])
    return found


def _grid_axes(figure):
    return next(ax for ax in figure.axes if ax.get_title().startswith("(d)"))


@pytest.mark.parametrize("scale", ["channel", "layer"])
def test_the_grid_is_one_mosaic_whose_tiles_are_the_scaled_maps(model, source, scale):
    result = registry.get("activations").compute(model, source, Settings(layer="features.relu2", order="mean",
                                                                         scale=scale, limit=12))
    ax = _grid_axes(registry.get("activations").figure(result, width_mm=170, caption=False))
    assert len(ax.images) == 1 and [t.get_text() for t in ax.texts] == [str(i) for i in result.order[:12]]
    tiles = _tiles_of(np.ma.filled(ax.images[0].get_array().astype(float), np.nan))
    assert len(tiles) == 12
    for slot, channel in enumerate(result.order[:12]):
        expected = result.values[channel]
        if scale == "channel":
            low, high = expected.min(), expected.max()
            expected = (expected - low) / (high - low) if high > low else np.zeros_like(expected)
        zoom = tiles[slot].shape[0] // expected.shape[0]
        assert tiles[slot].shape == (expected.shape[0] * zoom, expected.shape[1] * zoom)
        np.testing.assert_allclose(tiles[slot][::zoom, ::zoom], expected, rtol=1e-5, atol=1e-6)


def test_mosaic_places_tiles_in_reading_order_with_blank_gutters():
    tiles = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = mosaic(tiles, 3, band=0.25)
    assert (grid.rows, grid.columns, grid.zoom) == (2, 3, 11) and grid.gap >= 1 and grid.band >= 1
    for slot in range(5):
        y, x = grid.origin(slot)
        block = grid.array[y:y + grid.tile[0], x:x + grid.tile[1]]
        np.testing.assert_array_equal(block[::grid.zoom, ::grid.zoom], tiles[slot])
    assert np.isnan(grid.array).sum() == grid.array.size - 5 * grid.tile[0] * grid.tile[1]


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_512_maps_draw_as_one_image_with_row_labels(model, source, width_mm):
    result = registry.get("activations").compute(model, source, Settings(layer="features.conv3", limit=512))
    rng = np.random.default_rng(0)
    values = rng.normal(size=(512, 7, 7)).astype(np.float32)
    stats = activations.channel_stats(torch.from_numpy(values))
    big = dataclasses.replace(result, values=values, stats=stats, order=tuple(range(512)), channel=3,
                              overlay=result.overlay)
    figure = registry.get("activations").figure(big, width_mm=width_mm)
    ax = _grid_axes(figure)
    assert len(figure.axes) <= 8 and len(ax.images) == 1 and not ax.texts
    assert "reading order" in ax.get_title().replace("\n", " ")
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "0" and len(rows) >= 10 and all(r.isdigit() for r in rows)
    assert_readable(figure)
