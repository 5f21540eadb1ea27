"""The Report dock: Add to report (Ctrl+Shift+A) on the tool panes, reorder, edit, remove, and
Export report as HTML and PDF."""

import base64
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from cnnviz.core.files.caption import Caption
from cnnviz.core.files.report import ReportItem, png_size
from cnnviz.gui.app.report_actions import ADD_SHORTCUT, add_to_report
from cnnviz.gui.panes.report.figure_image import REPORT_OPTIONS


def pdf_page_count(path: Path) -> int:
    """Pages of the PDF at ``path``, read with QtPdf where PySide6 has it, else from the page tree."""
    try:
        from PySide6.QtPdf import QPdfDocument
    except ImportError:
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    return document.pageCount()


def press_add(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.tabs.currentWidget(), Qt.Key.Key_A,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def png_of(value: int, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def synthetic(report, count: int) -> list[ReportItem]:
    made = [ReportItem.of(f"Figure {index}", png_of(40 * index),
                          Caption("filters", "net", fields={"layer": f"c{index}"})) for index in range(count)]
    for item in made:
        report.add(item)
    return made


def test_ctrl_shift_a_adds_each_panes_figure_with_its_caption(loaded_window, show_pane, qtbot):
    window = loaded_window
    report = window.panes["report"]
    assert window.menu_actions["add_to_report"].shortcut().toString() == ADD_SHORTCUT
    assert not window.menu_actions["export_report"].isEnabled() and not report.export_button.isEnabled()
    added = []
    for count, key in enumerate(("filters", "activations"), start=1):
        pane = show_pane(window, key)
        assert window.menu_actions["add_to_report"].isEnabled()
        press_add(qtbot, window)
        qtbot.waitUntil(lambda n=count: len(report.items()) == n)
        added.append(pane)
    items = report.items()
    assert [item.caption.analysis for item in items] == ["filters", "activations"]
    for item, pane in zip(items, added):
        assert item.caption.model == window.state.model.name and item.caption.checksum
        assert item.caption.fields["layer"] == pane.layer and pane.layer in item.title
        assert item.text == pane.caption().text()
        width, height = png_size(item.png)
        assert width == REPORT_OPTIONS.pixel_width() == 2008 and height > 200
        assert QImage.fromData(item.png).width() == width
    assert window.menu_actions["export_report"].isEnabled() and report.export_button.isEnabled()
    assert report.list.item(1).text().startswith(items[1].title) and not report.list.item(1).icon().isNull()


def test_context_menu_entry_adds_its_own_panes_figure(loaded_window, show_pane):
    deconv = loaded_window.panes["deconvnet"]
    assert not deconv.report_action.isEnabled()  # hidden, so not computed yet
    show_pane(loaded_window, "deconvnet")
    show_pane(loaded_window, "filters")
    assert deconv.report_action in deconv.figure.actions() and deconv.report_action.isEnabled()
    deconv.report_action.trigger()
    (item,) = loaded_window.panes["report"].items()
    assert item.caption.analysis == deconv.key and item.title.startswith("Deconvnet")


def test_add_is_disabled_and_harmless_on_a_tab_without_a_figure(loaded_window, show_pane, qtbot):
    window = loaded_window
    window.tabs.setCurrentWidget(window.panes["input"])
    action = window.menu_actions["add_to_report"]
    assert not action.isEnabled()
    press_add(qtbot, window)
    action.trigger()
    qtbot.wait(50)
    assert window.panes["report"].items() == []
    show_pane(window, "filters")
    assert action.isEnabled()


def test_add_is_disabled_while_a_pane_shows_nothing(window, qtbot):
    filters = window.panes["filters"]
    window.tabs.setCurrentWidget(filters)
    assert not filters.export.action.isEnabled()
    assert not window.menu_actions["add_to_report"].isEnabled() and not filters.report_action.isEnabled()
    assert add_to_report(window) is None and add_to_report(window, filters) is None
    assert window.panes["report"].items() == []
    filters.export.set_enabled(True)
    assert window.menu_actions["add_to_report"].isEnabled() and filters.report_action.isEnabled()


def test_reorder_edit_and_remove(window, qtbot, monkeypatch):
    report = window.panes["report"]
    made = synthetic(report, 4)
    changes = []
    report.changed.connect(lambda: changes.append(1))
    report.list.setCurrentRow(0)
    report.down.click()
    assert report.items() == [made[1], made[0], made[2], made[3]] and report.list.currentRow() == 1
    report.list.setCurrentRow(3)
    assert not report.down.isEnabled()
    report.up.click()
    assert report.items() == [made[1], made[0], made[3], made[2]]
    assert report.list.model().moveRow(QModelIndex(), 0, QModelIndex(), 4)  # what a drag does
    assert report.items() == [made[0], made[3], made[2], made[1]]
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *args: ("New <caption> & text\nline 2", True))
    report.list.setCurrentRow(2)
    report.edit.click()
    edited = report.items()[2]
    assert edited.text == "New <caption> & text\nline 2" and edited.caption == made[2].caption
    assert report.list.item(2).text() == f"{made[2].title}\nNew <caption> & text\nline 2"
    report.list.setCurrentRow(1)
    report.remove_button.click()
    assert [item.title for item in report.items()] == ["Figure 0", "Figure 2", "Figure 1"]
    assert len(changes) == 5
    for row in reversed(range(3)):
        report.remove(row)
    assert not window.menu_actions["export_report"].isEnabled() and not report.export_button.isEnabled()


def test_export_writes_html_with_the_edited_caption_and_a_pdf(loaded_window, show_pane, qtbot, monkeypatch,
                                                              tmp_path):
    window = loaded_window
    report = window.panes["report"]
    show_pane(window, "filters")
    press_add(qtbot, window)
    synthetic(report, 1)
    qtbot.waitUntil(lambda: len(report.items()) == 2)
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *args: ("Conv1 filters <edited>", True))
    assert report.edit_caption(0)
    target = tmp_path / "out" / "my report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    window.menu_actions["export_report"].trigger()
    text = target.read_text(encoding="utf-8")
    assert html.escape("Conv1 filters <edited>") in text and "<edited>" not in text
    sources = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert [base64.b64decode(source) for source in sources] == [item.png for item in report.items()]
    assert window.state.model.name in text and f"<td>{window.state.device}</td>" in text
    pdf = target.with_suffix(".pdf")
    assert pdf_page_count(pdf) >= 2


def test_export_failure_shows_an_error(window, monkeypatch, tmp_path):
    report = window.panes["report"]
    synthetic(report, 1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(blocker / "r.html"), ""))
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(title))
    assert report.export_report() is None
    assert errors == ["Could not export the report"]


@pytest.mark.parametrize("name", ["report", "report.htm"])
def test_export_names_html_and_pdf(window, monkeypatch, tmp_path, name):
    report = window.panes["report"]
    synthetic(report, 2)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / name), ""))
    written = report.export_report()
    stem = tmp_path / "report"
    assert written == [stem.with_suffix(Path(name).suffix or ".html"), stem.with_suffix(".pdf")]
    assert pdf_page_count(written[1]) >= 2
