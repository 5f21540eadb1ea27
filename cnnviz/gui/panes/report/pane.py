"""The Report dock: the figures collected with *Add to report*, in report order.

Each entry shows a thumbnail of the figure, its title and its caption text. Entries are reordered with
*Up*/*Down* or by dragging, their caption text is edited with *Edit caption…* (or a double-click) and
they are removed with *Remove*. *Export report…* writes the report as one self-contained HTML file and
a PDF beside it (:func:`export_files`), starting in the folder of the last export (shared with the figure
exports, :func:`~cnnviz.gui.runtime.settings_store.export_folder`).

The pane knows whether its figures are saved (:attr:`ReportPane.is_saved`): every change makes them unsaved,
:meth:`ReportPane.mark_saved` (a session saved with them, or an export) saved again; the window asks before
quitting with unsaved figures (:mod:`cnnviz.gui.app.quit_guard`).
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.files.report import ReportItem, environment_info, write_html
from cnnviz.core.files.report_pdf import write_pdf
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.dialogs import show_error

THUMBNAIL = QSize(120, 90)
"""Largest thumbnail of a figure in the list, in pixels."""
ITEM_ROLE = Qt.ItemDataRole.UserRole
HTML_FILTER = "Report as HTML, with a PDF beside it (*.html)"


def export_files(items: list[ReportItem], path: str | Path, device: str) -> list[Path]:
    """Write ``items`` as ``<path>.html`` and ``<path>.pdf`` (the HTML file's suffix replaced), with the
    versions and ``device``; returns both paths. Raises OSError."""
    path = Path(path)
    path = path if path.suffix.lower() in (".html", ".htm") else path.with_name(path.name + ".html")
    environment = environment_info(device)
    return [write_html(items, path, environment), write_pdf(items, path.with_suffix(".pdf"), environment)]


class ReportPane(QWidget):
    """The collected figures (see the module docstring). ``changed`` is emitted after any addition,
    removal, move or caption edit (the figures are then unsaved), ``marked_saved`` after
    :meth:`mark_saved`."""

    changed = Signal()
    marked_saved = Signal()

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state
        self.folder = settings_store.export_folder()
        self._saved = True
        self.list = QListWidget()
        self.list.setIconSize(THUMBNAIL)
        self.list.setWordWrap(True)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setToolTip("Figures added with Add to report (Ctrl+Shift+A); drag to reorder, "
                             "double-click to edit a caption")
        self.list.model().rowsMoved.connect(lambda *_args: self._note_change())
        self.list.itemDoubleClicked.connect(lambda item: self.edit_caption(self.list.row(item)))
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.add_button = QToolButton()
        self.up = self._button("Up", "Move the selected figure up",
                               lambda: self.move_figure(self.list.currentRow(), -1))
        self.down = self._button("Down", "Move the selected figure down",
                                 lambda: self.move_figure(self.list.currentRow(), 1))
        self.edit = self._button("Edit caption…", "Edit the selected figure's caption text",
                                 lambda: self.edit_caption(self.list.currentRow()))
        self.remove_button = self._button("Remove", "Remove the selected figure from the report",
                                          lambda: self.remove(self.list.currentRow()))
        self.export_button = self._button("Export report…", "Save the report as HTML and PDF", self.export_report)
        self._lay_out()
        self.changed.connect(self._update_buttons)
        self._update_buttons()

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _lay_out(self) -> None:
        """The list above two columns of buttons, which shrink (eliding their text) in a narrow dock."""
        self.add_button.hide()
        self.add_button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        buttons = QGridLayout()
        rows = ((self.up, self.down), (self.edit, self.remove_button), (self.add_button, self.export_button))
        for row, pair in enumerate(rows):
            for column, button in enumerate(pair):
                shrinkable(button)
                buttons.addWidget(button, row, column)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def set_add_action(self, action: QAction) -> None:
        """Offer the window's *Add to report* ``action`` as a button of the dock."""
        self.add_button.setDefaultAction(action)
        self.add_button.show()

    def items(self) -> list[ReportItem]:
        """The report's figures, in order."""
        return [self.list.item(row).data(ITEM_ROLE) for row in range(self.list.count())]

    def add(self, item: ReportItem) -> None:
        """Append ``item`` to the report and select it."""
        self.list.setCurrentItem(self._append(item))
        self._note_change()

    def set_items(self, items: list[ReportItem], *, saved: bool = False) -> None:
        """Replace the report's figures by ``items``, in order (a session's report), the first selected;
        ``saved``: they are already saved (in the session they come from)."""
        self.list.clear()
        for item in items:
            self._append(item)
        self.list.setCurrentRow(0 if items else -1)
        self._note_change(saved)

    @property
    def is_saved(self) -> bool:
        """True when the report is empty or its figures were saved in a session or exported since their
        last change."""
        return self._saved or not self.list.count()

    def mark_saved(self) -> None:
        """Note that the figures were just saved in a session or exported (emits ``marked_saved``)."""
        self._saved = True
        self.marked_saved.emit()

    def move_figure(self, row: int, offset: int) -> int:
        """Move the figure at ``row`` by ``offset`` places (clamped); returns its new row (-1: no such row)."""
        if not 0 <= row < self.list.count():
            return -1
        target = min(max(row + offset, 0), self.list.count() - 1)
        if target != row:
            entry = self.list.takeItem(row)
            self.list.insertItem(target, entry)
            self.list.setCurrentRow(target)
            self._note_change()
        return target

    def remove(self, row: int) -> None:
        """Remove the figure at ``row`` (nothing for no such row)."""
        if 0 <= row < self.list.count():
            self.list.takeItem(row)
            self._note_change()

    def set_text(self, row: int, text: str) -> None:
        """Replace the caption text of the figure at ``row``."""
        entry = self.list.item(row)
        self._show(entry, dataclasses.replace(entry.data(ITEM_ROLE), text=text))
        self._note_change()

    def edit_caption(self, row: int) -> bool:
        """Ask for a new caption text of the figure at ``row``; True if it was changed."""
        if not 0 <= row < self.list.count():
            return False
        item: ReportItem = self.list.item(row).data(ITEM_ROLE)
        text, accepted = QInputDialog.getMultiLineText(self, "Edit caption", f"Caption of figure {row + 1} "
                                                       f"({item.title}):", item.text)
        if not accepted or text == item.text:
            return False
        self.set_text(row, text)
        return True

    def export_report(self) -> list[Path] | None:
        """Ask for a file name (in the folder of the last export) and write the report as HTML and PDF; None
        if cancelled, empty or failed (a failure is shown in a dialog). The figures are then saved."""
        if not self.list.count():
            return None
        self.folder = settings_store.export_folder()
        suggested = str(self.folder / "cnnviz-report.html")
        path, _chosen = QFileDialog.getSaveFileName(self, "Export report", suggested, HTML_FILTER)
        if not path:
            return None
        try:
            written = export_files(self.items(), path, self.state.device)
        except OSError as error:
            show_error(self, "Could not export the report", str(error))
            return None
        self.folder = written[0].parent
        settings_store.remember_export_folder(written[0])
        self.mark_saved()
        self.state.show_status(f"Saved report {written[0]} and {written[1].name}")
        return written

    def _note_change(self, saved: bool = False) -> None:
        self._saved = saved
        self.changed.emit()

    def _append(self, item: ReportItem) -> QListWidgetItem:
        entry = QListWidgetItem()
        entry.setFlags(entry.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
        self.list.addItem(entry)
        self._show(entry, item)
        return entry

    def _show(self, entry: QListWidgetItem, item: ReportItem) -> None:
        entry.setData(ITEM_ROLE, item)
        entry.setText(f"{item.title}\n{item.text}")
        entry.setToolTip(item.text)
        pixmap = QPixmap()
        pixmap.loadFromData(item.png, "PNG")
        entry.setIcon(pixmap.scaled(THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation))

    def _update_buttons(self) -> None:
        row, count = self.list.currentRow(), self.list.count()
        selected = 0 <= row < count
        self.up.setEnabled(selected and row > 0)
        self.down.setEnabled(selected and row < count - 1)
        self.edit.setEnabled(selected)
        self.remove_button.setEnabled(selected)
        self.export_button.setEnabled(count > 0)
