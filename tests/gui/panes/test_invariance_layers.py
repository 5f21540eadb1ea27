"""The Invariance pane's one layer control: the compared layers with their *Add layer…* and *Remove layer…*
menus; no other layer box is shown, and the caption and report title name the compared layers only."""

from PySide6.QtWidgets import QComboBox, QLabel

from cnnviz.gui.app.report_actions import item_title
from cnnviz.gui.panes.invariance.layers import ADD_TEXT, REMOVE_TEXT, LayerMenu


def choose(menu: LayerMenu, name: str) -> None:
    """Pick ``name`` in ``menu`` as a user does (the menu lists its entries as it opens)."""
    menu.fill()
    menu.activated.emit(menu.findData(name))


def test_the_compared_list_is_the_only_layer_control(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "invariance")
    compared = pane.compared
    qtbot.waitUntil(lambda: pane.layers == ["features.relu1", "classifier.relu4"], timeout=30_000)
    layer_names = {choice.name for choice in pane.picker.choices}
    assert "features.conv2" in layer_names and not pane.picker.isVisible()
    boxes = [box for box in pane.findChildren(QComboBox) if box.isVisible()]
    assert compared.add_menu in boxes and compared.remove_menu in boxes
    others = [box for box in boxes if box not in (compared.add_menu, compared.remove_menu)]
    assert all(box.itemText(i) not in layer_names and box.itemData(i) not in layer_names
               for box in others for i in range(box.count()))
    assert not [label for label in pane.findChildren(QLabel) if label.isVisible() and label.text() == "Layer"]
    assert compared.add_menu.currentText() == ADD_TEXT and compared.remove_menu.currentText() == REMOVE_TEXT

    compared.add_menu.fill()
    assert compared.add_menu.names() == [c.name for c in pane.picker.choices if c.name not in pane.layers]
    choose(compared.add_menu, "features.conv2")
    assert pane.layers == ["features.relu1", "classifier.relu4", "features.conv2"]
    assert compared.add_menu.currentText() == ADD_TEXT and "features.conv2" not in compared.add_menu.names()
    assert compared.remove_menu.names() == pane.layers
    choose(compared.remove_menu, "features.relu1")
    assert pane.layers == ["classifier.relu4", "features.conv2"] == compared.remove_menu.names()
    assert compared.label.text() == "Compared layers: classifier.relu4 (solid), features.conv2 (dashed)"

    fields = pane.caption().fields
    assert fields["layers"] == ["classifier.relu4", "features.conv2"] and "layer" not in fields
    assert item_title(loaded_window, pane).endswith("classifier.relu4, features.conv2")
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.curves and pane.curves[-1].result.complete, timeout=60_000)
    fields = pane.caption().fields
    assert fields["layers"] == ["classifier.relu4", "features.conv2"] == list(pane.curves[-1].result.distance)
    assert "layer" not in fields
    assert item_title(loaded_window, pane).endswith("classifier.relu4, features.conv2")
