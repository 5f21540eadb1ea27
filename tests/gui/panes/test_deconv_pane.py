"""The Deconvnet pane: projections equal the core's for the chosen layer, channel, position and
method; clicking the map picks a position; the top-9 view; the not-exact warning; the note on deconvnet
projections that are the same for every image; the unit or top 9 shown as the deconv or top9 analysis's
result, whose report figure is the export."""

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnnviz.analyses import deconv as deconv_analysis
from cnnviz.analyses import registry, top9
from cnnviz.analyses.base import Source
from cnnviz.analyses.deconv import DeconvResult
from cnnviz.analyses.top9 import Top9Result
from cnnviz.core.data import images
from cnnviz.core.model import layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.figure_render import ExportOptions


def projected(pane, qtbot) -> DeconvResult:
    """The unit's projection shown once the latest one asked for is."""
    qtbot.waitUntil(lambda: pane.settled and pane._current_result() is not None
                    and pane._current_result().request == pane._requested)
    return pane.result


def choose(pane, name: str, value: str) -> None:
    """Pick ``value`` in the form's combo box of ``name``, as a user would."""
    combo = pane.form.widget(name)
    combo.setCurrentIndex(combo.findData(value))


def assert_same_projection(shown: DeconvResult, expected: deconv.Projection) -> None:
    assert (shown.channel, shown.position, shown.box) == (expected.channel, expected.position, expected.box)
    assert shown.activation == expected.activation
    np.testing.assert_array_equal(shown.projection, expected.image.numpy())
    assert (shown.warning, shown.note) == (expected.warning, expected.note)


def test_defaults_method_and_channel_changes_match_the_core(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "deconvnet")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    assert pane.layer == "features.conv3" and pane.form.value("method") == "deconvnet" and pane.unit.channel is None
    shown = projected(pane, qtbot)
    expected = deconv.project_unit(model, x, layer="features.conv3", method="deconvnet")
    assert_same_projection(shown, expected)
    activation = layers.capture(model, x, layers=["features.conv3"])["features.conv3"][0]
    assert (shown.channel, shown.position) == deconv.strongest_unit(activation)
    np.testing.assert_array_equal(pane.unit_view.projection_panel.canvas.image,
                                  deconv.to_display(expected.image)[:, :, 0])
    np.testing.assert_array_equal(pane.unit_view.map_panel.canvas.image, activation[shown.channel].numpy())
    assert pane.unit_view.map_panel.canvas.marker_item.isVisible()
    assert pane.channel_spin.text() == "strongest"

    choose(pane, "method", "guided")
    assert_same_projection(projected(pane, qtbot),
                           deconv.project_unit(model, x, layer="features.conv3", method="guided"))
    pane.channel_spin.setValue(5)
    assert loaded_window.state.channel == 5
    shown = projected(pane, qtbot)
    assert_same_projection(shown, deconv.project_unit(model, x, layer="features.conv3", channel=5, method="guided"))
    assert shown.position == deconv.channel_argmax(activation, 5)
    choose(pane, "display", "abs")
    assert pane.result.settings.display == "abs" and pane.result.activation == shown.activation
    np.testing.assert_array_equal(pane.unit_view.projection_panel.canvas.image,
                                  deconv.to_display(torch.from_numpy(shown.projection), "abs")[:, :, 0])
    assert not pane.remarks.warning.isVisible()
    assert not pane.remarks.note.isVisible()


def test_clicking_the_map_projects_that_position(loaded_window, show_pane, mouse, qtbot):
    pane = show_pane(loaded_window, "deconvnet")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    pane.channel_spin.setValue(12)
    first = projected(pane, qtbot)
    target = (1, 5) if first.position != (1, 5) else (2, 2)
    canvas = pane.unit_view.map_panel.canvas
    mouse.click(canvas, lambda: canvas.scene_point(*target))
    assert pane.unit.position == target
    shown = projected(pane, qtbot)
    expected = deconv.project_unit(model, x, layer="features.conv3", channel=12, position=target)
    assert_same_projection(shown, expected)
    assert canvas.marker_item.rect().topLeft().toTuple() == (target[1], target[0])
    assert pane.unit_view.input_panel.canvas.box_item.rect().getRect() == (
        expected.box[1], expected.box[0], expected.box[3] - expected.box[1], expected.box[2] - expected.box[0])
    assert f"position: {target}" == pane.position_label.text()
    pane.strongest_button.click()
    assert projected(pane, qtbot).position == first.position


def test_top_nine_shows_the_cores_units_and_boxes(loaded_window, show_pane, mouse, qtbot):
    pane = show_pane(loaded_window, "deconvnet")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    pane.top_button.click()
    qtbot.waitUntil(lambda: pane.settled and pane.top is not None)
    expected = deconv.top_units(model, x, layer="features.conv3", k=9, method="deconvnet")
    assert [tuple(box) for box in pane.top.boxes] == [u.box for u in expected]
    assert list(pane.top.channels) == [u.channel for u in expected]
    np.testing.assert_array_equal(pane.top.projections, torch.stack([u.image for u in expected]).numpy())
    assert pane.top_view.projections.atlas.count == 9 and pane.top_view.patches.atlas.count == 9
    assert pane.pages.currentIndex() == 1
    assert f"1: channel {expected[0].channel}" in pane.top_view.units_label.text()
    view = pane.top_view.projections
    mouse.click(view, lambda: view.scene_centre(4))
    qtbot.waitUntil(lambda: not pane.top_mode, timeout=3000)  # the click is handled from the event loop
    assert loaded_window.state.channel == expected[4].channel
    assert projected(pane, qtbot).position == expected[4].position


def silu_model() -> LoadedModel:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.SiLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    return LoadedModel(module=module.eval(), name="silu-net", categories=["a", "b", "c", "d"],
                       input_size=(32, 32), mean=(0.5,) * 3, std=(0.25,) * 3, in_channels=3, resize_size=32,
                       source="file")


def test_a_model_with_silu_says_deconvnet_is_not_exact(window, settle, show_pane, qtbot):
    model = silu_model()
    window.controller.set_model(model, ModelSpec("file", "silu_net.py"))
    window.controller.set_image(Image.new("RGB", (40, 40), (120, 60, 200)), "purple")
    settle(window)
    pane = show_pane(window, "deconvnet")
    assert pane.layer == "2"
    projected(pane, qtbot)
    assert pane.remarks.warning.isVisible()
    assert "silu" in pane.remarks.warning.text() and "Not exact" in pane.remarks.warning.text()
    choose(pane, "method", "gradient")
    projected(pane, qtbot)
    assert not pane.remarks.warning.isVisible()
    assert hook_count(model.module) == 0


def mobile_model() -> LoadedModel:
    """A MobileNetV2-like net: strided and depthwise convolutions, BatchNorm and ReLU6, no max pooling."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, 2, padding=1), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
                           nn.Conv2d(8, 8, 3, 2, padding=1, groups=8), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
                           nn.Conv2d(8, 6, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    return LoadedModel(module=module.eval(), name="mobile-net", categories=["a", "b", "c"], input_size=(32, 32),
                       mean=(0.5,) * 3, std=(0.25,) * 3, in_channels=3, resize_size=32, source="file")


def test_a_model_without_max_pooling_notes_that_deconvnet_ignores_the_image(window, settle, show_pane, qtbot):
    model = mobile_model()
    window.controller.set_model(model, ModelSpec("file", "mobile_net.py"))
    window.controller.set_image(Image.new("RGB", (40, 40), (120, 60, 200)), "purple")
    settle(window)
    pane = show_pane(window, "deconvnet")
    assert pane.layer == "6" and pane.form.value("method") == "deconvnet"
    shown = projected(pane, qtbot)
    assert "same for every image" in shown.note
    note, warning = pane.remarks.note, pane.remarks.warning
    assert note.isVisible() and not warning.isVisible()
    assert "same for every image" in note.text() and "max pooling" in note.text()
    pane.top_button.click()
    qtbot.waitUntil(lambda: pane.settled and pane.top is not None)
    assert note.isVisible() and "same for every image" in note.text()
    pane.top_button.click()
    choose(pane, "method", "guided")
    projected(pane, qtbot)
    assert not note.isVisible()


def test_a_new_image_projects_again_with_the_chosen_method(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "deconvnet")
    choose(pane, "method", "gradient")
    before = projected(pane, qtbot)
    bag = images.sample("fmnist_bag")
    loaded_window.controller.open_sample(bag)
    qtbot.waitUntil(lambda: loaded_window.state.image_path == bag.path, timeout=10_000)
    settle(loaded_window)
    shown = projected(pane, qtbot)
    assert shown is not before
    expected = deconv.project_unit(loaded_window.state.model, loaded_window.state.input_tensor, layer="features.conv3",
                                   method="gradient")
    assert_same_projection(shown, expected)


def test_a_failed_projection_is_reported_and_can_be_retried(loaded_window, show_pane, qtbot, monkeypatch):
    pane = show_pane(loaded_window, "deconvnet")
    projected(pane, qtbot)
    real = deconv.project_unit

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(deconv, "project_unit", broken)
    pane.channel_spin.setValue(3)
    qtbot.waitUntil(lambda: pane.settled and "out of memory (simulated)" in pane.info.text())
    assert "failed" in pane.info.text()
    monkeypatch.setattr(deconv, "project_unit", real)
    pane.picker.activated.emit(pane.picker.currentIndex())
    shown = projected(pane, qtbot)
    assert shown.channel == 3 and "failed" not in pane.info.text()


def test_the_shared_position_is_projected_until_the_channel_changes(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "deconvnet")
    model, x, state = loaded_window.state.model, loaded_window.state.input_tensor, loaded_window.state
    state.set_layer("features.conv3")
    state.set_channel(7)
    state.set_position((3, 2))
    shown = projected(pane, qtbot)
    assert_same_projection(shown, deconv.project_unit(model, x, layer="features.conv3", channel=7, position=(3, 2)))
    assert pane.position_label.text() == "position: (3, 2)"
    state.set_channel(8)
    shown = projected(pane, qtbot)
    activation = layers.capture(model, x, layers=["features.conv3"])["features.conv3"][0]
    assert (shown.channel, shown.position) == (8, deconv.channel_argmax(activation, 8))


def assert_exports_the_report_figure(pane, name: str, tmp_path) -> None:
    """The export is the analysis's report figure: a 2008 px PNG of the figure's size at 300 dpi and an SVG
    naming the weights' checksum."""
    result = pane.analysis_result()
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    expected = registry.get(name).figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert abs(image.size[0] - expected[0]) <= 1 and abs(image.size[1] - expected[1]) <= 1
    checksum = result.caption().checksum
    assert checksum and checksum in (tmp_path / "x.svg").read_text(encoding="utf-8")


def test_the_analysis_result_is_the_unit_shown_and_exports_its_report_figure(loaded_window, show_pane, qtbot,
                                                                            tmp_path):
    pane = show_pane(loaded_window, "deconvnet")
    state = loaded_window.state
    assert pane.default_layer(pane.picker.choices) == deconv_analysis.defaults(state.model).layer == top9.defaults(
        state.model).layer == "features.conv3"
    shown = projected(pane, qtbot)
    result = pane.analysis_result()
    assert isinstance(result, DeconvResult) and result is shown and result.layer == "features.conv3"
    assert result.settings == deconv_analysis.Settings(layer="features.conv3", method="deconvnet")
    assert_same_projection(result, deconv.project_unit(state.model, state.input_tensor, layer="features.conv3"))
    np.testing.assert_array_equal(result.display, pane.unit_view.projection_panel.canvas.image)
    np.testing.assert_array_equal(result.image, pane.unit_view.input_panel.canvas.image)
    ran = deconv_analysis.ANALYSIS.compute(state.model, Source(state.image_name, state.input_tensor), result.settings)
    np.testing.assert_array_equal(result.projection, ran.projection)
    np.testing.assert_array_equal(result.image, ran.image)
    assert result.caption() == ran.caption()

    choose(pane, "method", "guided")
    choose(pane, "display", "abs")
    pane.channel_spin.setValue(5)
    shown = projected(pane, qtbot)
    result = pane.analysis_result()
    row, col = shown.position
    assert result.settings == deconv_analysis.Settings(layer="features.conv3", method="guided", display="abs",
                                                       channel=5)
    assert (result.channel, result.position, result.resolved()["row"], result.resolved()["col"]) == (
        5, shown.position, row, col)
    np.testing.assert_array_equal(result.display, pane.unit_view.projection_panel.canvas.image)
    assert_exports_the_report_figure(pane, "deconv", tmp_path)


def test_the_top_nine_shown_is_the_top9_result_and_its_export(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_pane(loaded_window, "deconvnet")
    state = loaded_window.state
    choose(pane, "display", "abs")
    pane.top_button.click()
    qtbot.waitUntil(lambda: pane.settled and pane.top is not None)
    result = pane.analysis_result()
    assert isinstance(result, Top9Result)
    assert result.settings == top9.Settings(layer="features.conv3", method="deconvnet", display="abs")
    for name, array in pane.export.data().items():
        np.testing.assert_array_equal(result.arrays()[name], array)
    assert pane.top_view.projections.atlas.count == len(result.channels) == 9
    for index in (0, 4, 8):
        np.testing.assert_array_equal(pane.top_view.projections.tile_array(index), result.projection_tiles[index])
        np.testing.assert_array_equal(pane.top_view.patches.tile_array(index), result.patch_tiles[index])
    ran = top9.ANALYSIS.compute(state.model, Source(state.image_name, state.input_tensor), result.settings)
    for name in ("projections", "channels", "boxes", "positions"):
        np.testing.assert_array_equal(result.arrays()[name], ran.arrays()[name])
    np.testing.assert_array_equal(result.projection_tiles, ran.projection_tiles)
    np.testing.assert_allclose(result.patch_tiles, ran.patch_tiles)
    assert result.caption() == ran.caption()
    assert_exports_the_report_figure(pane, "top9", tmp_path)
    choose(pane, "display", "symmetric")  # shown again, not projected again
    assert pane.settled and pane.analysis_result().settings.display == "symmetric"
    symmetric = top9.ANALYSIS.compute(state.model, Source(state.image_name, state.input_tensor),
                                      top9.Settings(layer="features.conv3"))
    np.testing.assert_array_equal(pane.analysis_result().projection_tiles, symmetric.projection_tiles)
    np.testing.assert_array_equal(pane.top_view.projections.tile_array(4), symmetric.projection_tiles[4])
    pane.top_button.click()
    assert isinstance(pane.analysis_result(), DeconvResult | None)
