"""What the filters, activations and deconvnet panes share: the layer/channel selection, lazy work
while hidden, the activation cache, and Export figure."""

import numpy as np
import pytest
from export_answers import answer_export
from PIL import Image
from PySide6.QtCore import Qt

from cnnviz.core.model import layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.gui.widgets.figure_render import ExportOptions

TOOL_PANES = ("filters", "activations", "deconvnet")


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    assert index >= 0, name
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def test_choosing_a_layer_in_one_pane_selects_it_everywhere(loaded_window, show_pane, qtbot):
    activations = show_pane(loaded_window, "activations")
    pick_layer(activations, "features.relu2")
    deconv = show_pane(loaded_window, "deconvnet")
    assert deconv.layer == "features.relu2"
    architecture = loaded_window.panes["architecture"]
    selected = architecture.view.selectionModel().selectedRows()
    assert architecture.table_model.layer_name(architecture.proxy.mapToSource(selected[0]).row()) == "features.relu2"
    filters = show_pane(loaded_window, "filters")
    assert filters.layer == "features.conv1"
    pick_layer(filters, "features.conv3")
    assert loaded_window.state.layer == "features.conv3"
    assert show_pane(loaded_window, "activations").layer == "features.conv3"
    architecture.view.selectRow(3)
    assert loaded_window.state.layer == "features.conv2"
    assert show_pane(loaded_window, "deconvnet").layer == "features.conv2"
    assert loaded_window.panes["filters"].layer == "features.conv2"


def test_hidden_panes_wait_and_one_capture_serves_all(loaded_window, show_pane, qtbot):
    deconv = loaded_window.panes["deconvnet"]
    assert deconv.result is None and not deconv.isVisible()
    store = loaded_window.controller.activations
    activations = show_pane(loaded_window, "activations")
    pick_layer(activations, "features.conv3")
    qtbot.waitUntil(lambda: activations.settled and activations.output is not None
                    and activations.output.layer == "features.conv3")
    cached = store.get("features.conv3")
    deconv = show_pane(loaded_window, "deconvnet")
    qtbot.waitUntil(lambda: deconv.settled and deconv.result is not None)
    assert deconv.output is cached is activations.output
    assert hook_count(loaded_window.state.model.module) == 0


@pytest.mark.parametrize("key", TOOL_PANES)
def test_export_writes_the_shown_figure_and_its_data(loaded_window, show_pane, qtbot, monkeypatch, tmp_path, key):
    pane = show_pane(loaded_window, key)
    target = tmp_path / "figure.png"
    asked = []
    answer_export(monkeypatch, target, ("png", "npy"), asked=asked)
    assert pane.export.button.isEnabled()
    pane.export.button.click()
    assert asked and asked[0][0].endswith(f"cnnviz-{pane.export.name()}.png")
    with Image.open(target) as image:
        assert image.size[0] == ExportOptions().pixel_width() == 2008
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert pixels.std() > 10.0
    data = pane.export.data()
    assert data and data.keys() == pane.analysis_result().arrays().keys()
    for name, array in data.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"figure-{name}.npy"), array)
    assert str(target) in loaded_window.statusBar().currentMessage()
    assert pane.export.action in pane.figure.actions()


def test_page_down_steps_layers_and_only_the_last_one_is_shown(loaded_window, show_pane, mouse, qtbot):
    pane = show_pane(loaded_window, "activations")
    mouse.click(pane.view.atlas, lambda: pane.view.atlas.scene_centre(0))
    names = [choice.name for choice in pane.picker.choices]
    start = names.index(pane.layer)
    for _ in range(4):
        qtbot.keyClick(pane.view.atlas, Qt.Key.Key_PageDown)
    assert pane.layer == loaded_window.state.layer == names[start + 4]
    qtbot.waitUntil(lambda: pane.settled and pane.output is not None and pane.output.layer == names[start + 4])
    state = loaded_window.state
    expected = layers.capture(state.model, state.input_tensor, layers=[pane.layer])[pane.layer][0]
    np.testing.assert_array_equal(pane.output.values.numpy(), expected.numpy())
    qtbot.keyClick(pane.view.atlas, Qt.Key.Key_PageUp)
    assert pane.layer == names[start + 3]
