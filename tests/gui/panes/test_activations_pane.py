"""The Activations pane: channel grid, ordering, enlarged map and overlay, dead channels, bar chart; its
result as the activations analysis's and the export drawn from it."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from cnnviz.analyses import registry
from cnnviz.core.data import images
from cnnviz.core.model import layers
from cnnviz.core.per_image import activations
from cnnviz.gui.widgets.figure_render import ExportOptions


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    assert index >= 0, name
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def captured(window, layer: str):
    state = window.state
    return layers.capture(state.model, state.input_tensor, layers=[layer])[layer][0]


def show_layer(window, show_pane, qtbot, layer: str):
    pane = show_pane(window, "activations")
    pick_layer(pane, layer)
    qtbot.waitUntil(lambda: pane.settled and pane.output is not None and pane.output.layer == layer)
    return pane


def test_grid_has_a_tile_per_channel_and_max_order_puts_the_strongest_first(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "activations")
    assert pane.layer == "features.conv1"
    assert pane.layer == registry.get("activations").settings_for(loaded_window.state.model).layer
    assert pane.view.atlas.atlas.count == 32
    pane = show_layer(loaded_window, show_pane, qtbot, "features.conv2")
    assert pane.view.atlas.atlas.count == 64
    assert list(pane.view.atlas.atlas.order) == list(range(64))
    pane.form.widget("order").setCurrentIndex(pane.form.widget("order").findData("max"))
    stats = activations.channel_stats(captured(loaded_window, "features.conv2"))
    assert list(pane.view.atlas.atlas.order) == activations.channel_order(stats, "max")
    assert pane.view.atlas.atlas.order[0] == int(np.argmax(stats.max))
    np.testing.assert_allclose(pane.view.atlas.tile_array(pane.view.atlas.atlas.order[0]),
                               captured(loaded_window, "features.conv2")[int(np.argmax(stats.max))].numpy())


def test_clicking_a_channel_enlarges_it_and_overlays_it_on_the_input(loaded_window, show_pane, mouse, qtbot):
    pane = show_layer(loaded_window, show_pane, qtbot, "features.relu2")
    values = captured(loaded_window, "features.relu2")
    mouse.click(pane.view.atlas, lambda: pane.view.atlas.scene_centre(17))
    qtbot.waitUntil(lambda: pane.selected == 17)
    assert (loaded_window.state.layer, loaded_window.state.channel) == ("features.relu2", 17)
    np.testing.assert_array_equal(pane.view.map_panel.canvas.image, values[17].numpy())
    levels = (float(values[17].min()), float(values[17].max()))
    assert pane.view.map_panel.canvas.colorbar.levels() == pytest.approx(levels)
    overlay = pane.view.overlay_panel.canvas.overlay
    assert overlay.shape == loaded_window.state.model.input_size == (28, 28)
    np.testing.assert_allclose(overlay, activations.upsample(values[17], (28, 28)))
    assert pane.view.overlay_panel.canvas.image.shape[:2] == overlay.shape
    pane.form.widget("opacity").setValue(80)
    assert pane.view.overlay_panel.canvas.overlay_item.opacity() == pytest.approx(0.8)
    stats = activations.channel_stats(values)
    assert f"zeros {stats.zero_fraction[17]:.1%}" in pane.view.stats_label.text()
    qtbot.keyClick(pane.view.atlas, Qt.Key.Key_Right)
    assert loaded_window.state.channel == 18


def test_dead_channels_are_the_cores(loaded_window, show_pane, qtbot):
    pane = show_layer(loaded_window, show_pane, qtbot, "features.relu3")
    dead = activations.channel_stats(captured(loaded_window, "features.relu3")).dead
    assert dead and list(pane.result.stats.dead) == dead
    assert f"{len(dead)} of 128 channels" in pane.view.summary.text()
    assert ", ".join(str(i) for i in dead) in pane.view.summary.text()


def test_fully_connected_logits_show_as_bars_with_class_names(loaded_window, show_pane, qtbot):
    pane = show_layer(loaded_window, show_pane, qtbot, "classifier.fc2")
    model = loaded_window.state.model
    assert pane.view.grid_stack.currentWidget() is pane.view.vector_view and pane.view.detail.isHidden()
    assert pane.view.vector_view.labels == model.categories
    np.testing.assert_allclose(pane.view.vector_view.values, model.logits(loaded_window.state.input_tensor)[0].numpy(),
                               rtol=1e-5, atol=1e-5)
    top = loaded_window.state.predictions.top[0]
    assert pane.selected == top[0] and top[1] in pane.view.stats_label.text()
    pick_layer(pane, "classifier.fc1")
    qtbot.waitUntil(lambda: pane.settled and pane.output.layer == "classifier.fc1")
    assert pane.view.vector_view.labels[:3] == ["0", "1", "2"] and len(pane.view.vector_view.labels) == 128


def test_a_new_image_updates_the_maps(loaded_window, show_pane, qtbot, settle):
    pane = show_layer(loaded_window, show_pane, qtbot, "features.conv3")
    before = pane.output
    sneaker = images.sample("fmnist_sneaker")
    loaded_window.controller.open_sample(sneaker)
    qtbot.waitUntil(lambda: loaded_window.state.image_path == sneaker.path, timeout=10_000)
    settle(loaded_window)
    qtbot.waitUntil(lambda: pane.settled and pane.output is not before)
    np.testing.assert_array_equal(pane.output.values.numpy(), captured(loaded_window, "features.conv3").numpy())
    assert "fmnist_sneaker.png" in pane.view.title.text()


def show_relu2_channel(window, show_pane, qtbot, channel: int):
    """The Activations pane on features.relu2 by max, per channel in inferno at 70 % opacity, ``channel``
    enlarged."""
    pane = show_layer(window, show_pane, qtbot, "features.relu2")
    pane.form.widget("order").setCurrentIndex(pane.form.widget("order").findData("max"))
    pane.form.widget("scale").setCurrentIndex(pane.form.widget("scale").findData("channel"))
    pane.form.widget("colormap").set_name("inferno")
    pane.form.widget("opacity").setValue(70)
    pane.layer_binding.choose_channel(channel)
    qtbot.waitUntil(lambda: pane.selected == channel and pane.settled)
    return pane


def test_the_analysis_result_is_the_output_shown_in_its_order(loaded_window, show_pane, qtbot):
    pane = show_relu2_channel(loaded_window, show_pane, qtbot, 17)
    result = pane.analysis_result()
    assert (result.layer, result.channel, result.layer_type) == ("features.relu2", 17, "ReLU")
    settings = result.settings
    assert (settings.layer, settings.order, settings.scale, settings.channel) == (
        "features.relu2", "max", "channel", 17)
    assert (settings.colormap, settings.opacity, settings.limit) == ("inferno", 70, pane.view.atlas.atlas.count)
    stats = activations.channel_stats(captured(loaded_window, "features.relu2"))
    assert list(result.order) == list(pane.view.atlas.atlas.order) == activations.channel_order(stats, "max")
    np.testing.assert_array_equal(result.values, pane.output.values.numpy())
    np.testing.assert_array_equal(result.values[17], pane.view.map_panel.canvas.image)
    np.testing.assert_array_equal(result.overlay, pane.view.overlay_panel.canvas.overlay)
    np.testing.assert_array_equal(result.image, pane.view.overlay_panel.canvas.image)
    assert result.stats.dead == stats.dead and not result.classes
    caption, shown = result.caption(), pane.caption()
    assert (caption.model, caption.checksum, caption.image) == (shown.model, shown.checksum, shown.image)
    assert caption.fields["channel"] == 17 and not caption.partial


def test_the_analysis_result_of_the_logits_names_the_classes(loaded_window, show_pane, qtbot):
    pane = show_layer(loaded_window, show_pane, qtbot, "classifier.fc2")
    result = pane.analysis_result()
    assert result.is_vector and result.overlay is None
    assert result.channel == pane.selected == loaded_window.state.predictions.top[0][0]
    assert list(result.classes) == pane.view.vector_view.labels == loaded_window.state.model.categories
    np.testing.assert_array_equal(result.values, pane.view.vector_view.values)


def test_the_export_is_the_analysis_figure_of_what_is_shown(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_relu2_channel(loaded_window, show_pane, qtbot, 5)
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    result = pane.analysis_result()
    expected = registry.get("activations").figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert image.size == pytest.approx(tuple(expected), abs=1)
    root = ET.parse(tmp_path / "x.svg").getroot()
    text = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert result.caption().checksum in text and "channel=5" in text
