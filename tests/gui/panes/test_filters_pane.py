"""The Filters pane: the filter grid of a conv layer, views, normalisation, hover and click; its result
as the filters analysis's and the export drawn from it; the filters without an image."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from cnnviz.analyses import registry
from cnnviz.analyses.base import Source
from cnnviz.core.data import images
from cnnviz.core.model import layers
from cnnviz.core.per_image import filters
from cnnviz.gui.panes.filters.pane import NO_IMAGE, NO_MODEL
from cnnviz.gui.panes.filters.view import filter_text
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.figure_render import ExportOptions


def choose(combo, data) -> None:
    """Pick the item of ``combo`` holding ``data``, as a user would."""
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def test_first_layer_grid_has_one_tile_per_filter(loaded_window, show_pane):
    pane = show_pane(loaded_window, "filters")
    model = loaded_window.state.model
    assert pane.layer == filters.conv_layers(model)[0] == "features.conv1"
    assert pane.layer == registry.get("filters").settings_for(model).layer  # as `cnnviz run filters`
    assert pane.view.atlas.atlas.count == 32
    assert pane.form.value("view") == "channel" and not pane.form.widget("in_channel").isEnabled()
    rgb = pane.form.widget("view").model().item(pane.form.widget("view").findData("rgb"))
    assert not rgb.isEnabled()
    expected, _ = filters.filter_images(filters.weights(model, "features.conv1"), "channel", 0, "filter")
    for index in (0, 13, 31):
        np.testing.assert_array_equal(pane.view.atlas.tile_array(index), expected[index])
    np.testing.assert_array_equal(pane.view.atlas.image_item.image, pane.view.atlas.atlas.image)
    assert [type(item).__name__ for item in pane.view.atlas.view_box.addedItems] == ["ImageItem"]
    assert "32 filters of 1×5×5" in pane.view.title.text()


def test_deeper_layer_shows_an_input_channel_or_the_norm(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "filters")
    pick_layer(pane, "features.conv2")
    assert loaded_window.state.layer == "features.conv2"
    pane.form.widget("in_channel").setValue(5)
    qtbot.waitUntil(lambda: pane.settled and pane.result.layer == "features.conv2" and pane.result.in_channel == 5)
    weights = filters.weights(loaded_window.state.model, "features.conv2")
    assert pane.view.atlas.atlas.count == 64 and pane.form.widget("in_channel").maximum() == 31
    expected, _ = filters.filter_images(weights, "channel", 5, "filter")
    np.testing.assert_array_equal(pane.view.atlas.tile_array(40), expected[40])
    choose(pane.form.widget("view"), "norm")
    qtbot.waitUntil(lambda: pane.settled and pane.result.view == "norm")
    assert not pane.form.widget("in_channel").isEnabled()
    expected, _ = filters.filter_images(weights, "norm", per="filter")
    np.testing.assert_array_equal(pane.view.atlas.tile_array(40), expected[40])


def test_hover_and_click_select_a_filter_with_its_stats_and_activation(loaded_window, show_pane, mouse, qtbot):
    pane = show_pane(loaded_window, "filters")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    stats = filters.stats(filters.weights(model, "features.conv1"))
    bias = float(model.module.features.conv1.bias[7].detach())
    mouse.hover(pane.view.atlas, lambda: pane.view.atlas.scene_centre(7))
    assert pane.info.text() == filter_text(stats[7], bias)
    assert "1×5×5" in pane.info.text() and f"L2 norm {stats[7].norm:.4g}" in pane.info.text()
    mouse.click(pane.view.atlas, lambda: pane.view.atlas.scene_centre(7))
    qtbot.waitUntil(lambda: pane.selected == 7 and pane.settled)
    assert (loaded_window.state.layer, loaded_window.state.channel) == ("features.conv1", 7)
    assert pane.view.atlas.selected == 7 and pane.view.atlas.outline.isVisible()
    np.testing.assert_array_equal(pane.view.filter_panel.canvas.image, pane.result.images[7])
    assert pane.view.stats_label.text() == filter_text(stats[7], bias)
    expected = layers.capture(model, x, layers=["features.conv1"])["features.conv1"][0, 7].numpy()
    np.testing.assert_allclose(pane.view.activation_panel.canvas.image, expected, rtol=1e-6, atol=1e-6)
    assert pane.view.activation_panel.canvas.image.shape == (28, 28)


def test_per_filter_and_per_layer_normalisation_change_the_levels(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "filters")
    weights = filters.weights(loaded_window.state.model, "features.conv1")
    assert pane.form.value("scale") == "filter"
    assert pane.view.atlas.colorbar.levels() == pytest.approx((0.0, 1.0))
    per_filter = pane.view.atlas.tile_array(3).copy()
    choose(pane.form.widget("scale"), "layer")
    qtbot.waitUntil(lambda: pane.settled and pane.result.settings.scale == "layer")
    expected, layer_range = filters.filter_images(weights, "channel", 0, "layer")
    np.testing.assert_array_equal(pane.view.atlas.tile_array(3), expected[3])
    assert not np.array_equal(pane.view.atlas.tile_array(3), per_filter)
    assert pane.view.atlas.colorbar.levels() == pytest.approx(layer_range)
    assert layer_range == pytest.approx((float(weights.min()), float(weights.max())))
    pane.form.widget("colormap").set_name("diverging")
    bound = max(abs(layer_range[0]), abs(layer_range[1]))
    assert pane.view.atlas.colorbar.levels() == pytest.approx((-bound, bound))
    low, high = pane.view.atlas.image_item.getLevels()
    centre = -layer_range[0] / (layer_range[1] - layer_range[0])
    assert (low + high) / 2 == pytest.approx(centre)


def test_arrow_keys_step_through_the_filters(loaded_window, show_pane, mouse, qtbot):
    pane = show_pane(loaded_window, "filters")
    mouse.click(pane.view.atlas, lambda: pane.view.atlas.scene_centre(4))
    qtbot.waitUntil(lambda: pane.selected == 4)
    qtbot.keyClick(pane.view.atlas, Qt.Key.Key_Right)
    assert loaded_window.state.channel == 5
    qtbot.keyClick(pane.view.atlas, Qt.Key.Key_Down)
    assert loaded_window.state.channel == 5 + pane.view.atlas.atlas.columns


def tick_labels(axis) -> tuple[list[float], list[str]]:
    """The tick values of ``axis`` over its range and the labels it draws for them."""
    low, high = axis.range
    values, labels = [], []
    for spacing, ticks in axis.tickValues(low, high, 200):
        values += ticks
        labels += axis.tickStrings(ticks, axis.autoSIPrefixScale * axis.scale, spacing)
    return values, labels


def test_colour_bars_give_the_weights_in_readable_ticks(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "filters")
    weights = filters.weights(loaded_window.state.model, "features.conv1")
    pane.layer_binding.choose_channel(6)
    qtbot.waitUntil(lambda: pane.selected == 6 and pane.settled)
    low, high = float(weights[6, 0].min()), float(weights[6, 0].max())
    assert pane.view.filter_panel.canvas.colorbar.levels() == pytest.approx((low, high))
    assert pane.view.filter_panel.canvas.colorbar.axis.labelText == "weight"
    pick_layer(pane, "features.conv2")
    choose(pane.form.widget("view"), "norm")
    choose(pane.form.widget("scale"), "layer")
    qtbot.waitUntil(lambda: pane.settled and pane.result.layer == "features.conv2"
                    and pane.result.settings.scale == "layer" and pane.result.view == "norm")
    norms = filters.weights(loaded_window.state.model, "features.conv2").norm(dim=1)
    assert pane.view.atlas.colorbar.levels() == pytest.approx((float(norms.min()), float(norms.max())))
    for axis in (pane.view.atlas.colorbar.axis, pane.view.filter_panel.canvas.colorbar.axis):
        assert "(x" not in axis.labelString() and axis.labelText == "L2 norm"
        values, labels = tick_labels(axis)
        assert len(values) >= 2 and [float(label) for label in labels] == pytest.approx(values)
        assert all(float(norms.min()) - 0.1 <= value <= float(norms.max()) + 0.1 for value in values)


def show_conv2_filter(window, show_pane, qtbot, index: int):
    """The Filters pane on features.conv2, input channel 5 per layer in magma, filter ``index`` enlarged
    with its activation map."""
    pane = show_pane(window, "filters")
    pick_layer(pane, "features.conv2")
    pane.form.widget("in_channel").setValue(5)
    choose(pane.form.widget("scale"), "layer")
    pane.form.widget("colormap").set_name("magma")
    pane.layer_binding.choose_channel(index)
    qtbot.waitUntil(lambda: pane.settled and pane.result.layer == "features.conv2" and pane.result.in_channel == 5
                    and pane.result.settings.scale == "layer" and pane.selected == index
                    and not pane.result.partial)
    return pane


def test_the_analysis_result_is_the_grid_and_the_filter_shown(loaded_window, show_pane, qtbot):
    pane = show_conv2_filter(loaded_window, show_pane, qtbot, 9)
    result = pane.analysis_result()
    assert (result.layer, result.view, result.in_channel, result.filter) == ("features.conv2", "channel", 5, 9)
    settings = result.settings
    assert (settings.layer, settings.view, settings.in_channel, settings.scale, settings.filter) == (
        "features.conv2", "channel", 5, "layer", 9)
    assert settings.colormap == pane.form.widget("colormap").name() == "magma"
    assert settings.limit == pane.view.atlas.atlas.count == 64
    np.testing.assert_array_equal(result.images[9], pane.view.filter_panel.canvas.image)
    np.testing.assert_array_equal(result.activation, pane.view.activation_panel.canvas.image)
    state = loaded_window.state
    ran = registry.get("filters").compute(state.model, Source(state.image_name, state.input_tensor), settings)
    for name, array in ran.arrays().items():
        np.testing.assert_array_equal(result.arrays()[name], array)
    assert result.layer_range == ran.layer_range and not result.partial
    np.testing.assert_array_equal(result.ranges, ran.ranges)
    np.testing.assert_array_equal(result.image, np.asarray(loaded_window.state.seen_image))
    caption, shown = result.caption(), pane.caption()
    assert (caption.model, caption.checksum, caption.image) == (shown.model, shown.checksum, shown.image)
    assert caption.fields["layer"] == "features.conv2" and caption.fields["filter"] == 9 and not caption.partial


def test_the_export_is_the_analysis_figure_of_what_is_shown(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_conv2_filter(loaded_window, show_pane, qtbot, 3)
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    result = pane.analysis_result()
    expected = registry.get("filters").figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert image.size == pytest.approx(tuple(expected), abs=1)
    root = ET.parse(tmp_path / "x.svg").getroot()
    text = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert result.caption().checksum in text and "filter=3" in text


def test_without_an_image_the_filters_are_shown_and_nothing_waits_for_it(window, settle, qtbot):
    pane = window.capture_target("filters")

    def texts() -> str:
        return " ".join(label.text() for label in pane.findChildren(QLabel))

    assert NO_MODEL in pane.view.title.text() and "waiting for" not in texts()
    window.controller.load_model(ModelSpec())
    qtbot.waitUntil(lambda: window.state.model is not None and pane.settled and pane.grid is not None,
                    timeout=60_000)
    model = window.state.model
    assert window.state.input_tensor is None and pane.layer == "features.conv1"
    weights = filters.weights(model, pane.layer)
    assert pane.view.atlas.atlas.count == weights.shape[0] == 32 and "32 filters of 1×5×5" in pane.view.title.text()
    expected, _ = filters.filter_images(weights, "channel", 0, "filter")
    for index in (0, 31):
        np.testing.assert_array_equal(pane.view.atlas.tile_array(index), expected[index])
    assert "waiting for" not in texts() and NO_MODEL not in texts()
    assert pane.view.activation_panel.detail.text() == NO_IMAGE and pane.result.activation is None
    assert pane.analysis_result() is None and not pane.export.action.isEnabled()
    pick_layer(pane, "features.conv2")
    qtbot.waitUntil(lambda: pane.settled and pane.result is not None and pane.result.layer == "features.conv2")
    assert pane.view.atlas.atlas.count == 64 and "waiting for" not in texts()

    window.controller.open_sample(images.default_sample())
    settle(window)
    qtbot.waitUntil(lambda: pane.settled and pane.result is not None and pane.result.activation is not None,
                    timeout=60_000)
    assert pane.analysis_result() is pane.result and pane.export.action.isEnabled()
    assert pane.view.atlas.atlas.count == 64
