"""The Architecture pane: layer table with totals, filter, copy to the clipboard, layer selection."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from cnnviz.core.model import layers
from cnnviz.core.model.layers import HEADERS

PARAMS = HEADERS.index("Params")


def cell(pane, row: int, column: int) -> str:
    return pane.proxy.index(row, column).data()


def test_totals_row_equals_the_parameter_count(loaded_window):
    pane = loaded_window.panes["architecture"]
    model = loaded_window.state.model
    expected = sum(p.numel() for p in model.module.parameters())
    rows = pane.proxy.rowCount()
    assert rows == len(loaded_window.state.layer_rows) + 1
    last = rows - 1
    assert cell(pane, last, 0) == "Total"
    assert cell(pane, last, PARAMS) == f"{expected:,}"
    assert pane.proxy.index(last, 0).data(Qt.ItemDataRole.FontRole).bold()
    alignment = Qt.AlignmentFlag(pane.proxy.index(0, PARAMS).data(Qt.ItemDataRole.TextAlignmentRole))
    assert alignment & Qt.AlignmentFlag.AlignRight
    assert [pane.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(len(HEADERS))] == HEADERS
    assert f"{expected:,} parameters" in pane.summary.text()


def test_copy_as_csv_and_markdown(loaded_window):
    pane = loaded_window.panes["architecture"]
    rows = loaded_window.state.layer_rows
    pane.copy_csv.click()
    assert QGuiApplication.clipboard().text() == layers.to_csv(rows)
    assert QGuiApplication.clipboard().text().splitlines()[0].startswith("Layer,Type,Output shape")
    pane.copy_markdown.click()
    assert QGuiApplication.clipboard().text() == layers.to_markdown(rows)


def test_filter_keeps_matching_rows_and_the_totals(loaded_window):
    pane = loaded_window.panes["architecture"]
    pane.filter.setText("conv")
    names = [cell(pane, r, 0) for r in range(pane.proxy.rowCount())]
    assert names[-1] == "Total"
    assert names[:-1] and all("conv" in n.lower() or "conv" in cell(pane, i, 1).lower()
                              for i, n in enumerate(names[:-1]))
    pane.filter.clear()
    assert pane.proxy.rowCount() == len(loaded_window.state.layer_rows) + 1


def test_selecting_a_row_selects_the_layer(loaded_window, qtbot):
    pane = loaded_window.panes["architecture"]
    target = loaded_window.state.layer_rows[3].name
    with qtbot.waitSignal(loaded_window.state.layer_changed, timeout=2000) as blocker:
        pane.view.selectRow(3)
    assert blocker.args == [target]
    loaded_window.state.set_layer(loaded_window.state.layer_rows[0].name)
    assert pane.view.selectionModel().selectedRows()[0].row() == 0
    pane.view.selectRow(pane.proxy.rowCount() - 1)
    assert loaded_window.state.layer == loaded_window.state.layer_rows[0].name


def test_estimated_fields_are_marked_with_a_tooltip(qtbot):
    import torch.nn.functional as F
    from torch import nn

    from cnnviz.gui.panes.architecture import LayerTableModel

    class Upsampling(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)
            self.head = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            return self.head(F.interpolate(self.conv(x), scale_factor=2))

    model = LayerTableModel()
    rows = layers.layer_table(Upsampling(), input_size=(16, 16), in_channels=1)
    model.set_rows(rows)
    field, jump = HEADERS.index("Receptive field (px)"), HEADERS.index("Jump (px)")
    assert [model.data(model.index(0, c)) for c in (field, jump)] == ["3", "1"]
    assert [model.data(model.index(1, c)) for c in (field, jump)] == [f"≈{rows[1].receptive_field}",
                                                                       f"≈{rows[1].jump}"]
    assert "estimated" in model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole)
    assert "estimated" not in model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
