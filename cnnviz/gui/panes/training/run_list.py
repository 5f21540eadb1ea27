"""The Training pane's run list: one row per run folder of the runs folder (model, mode, epochs, best validation
top-1, test log-loss / top-1 / top-3, seconds; every setting in the tooltip), sortable by any column; a row's check
box shows or hides its curves. Below it: the epoch of the selected run that *Use this model* loads, and the buttons."""

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses.curves import RUN_COLOURS, RUN_HEADER, run_row
from cnnviz.core.training.runs import RunRecord

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data holding the row's run index in :attr:`RunList.records`."""
NUMBER_FORMATS = {"best val top-1": "{:.3f}", "test log-loss": "{:.4f}", "test top-1": "{:.3f}",
                  "test top-3": "{:.3f}", "seconds": "{:.0f}"}


class NumberItem(QTableWidgetItem):
    """A cell that sorts by its number (NaN last), shown formatted."""

    def __init__(self, value: float, text: str) -> None:
        super().__init__(text)
        self.value = value

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine = self.value
        theirs = other.value if isinstance(other, NumberItem) else math.nan
        if math.isnan(mine) or math.isnan(theirs):
            return not math.isnan(mine) and math.isnan(theirs)
        return mine < theirs


def cell(column: str, value: Any) -> QTableWidgetItem:
    """The item of ``value`` in ``column`` (numbers sort as numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        text = "—" if math.isnan(number) else NUMBER_FORMATS.get(column, "{:g}").format(number)
        item: QTableWidgetItem = NumberItem(number, text)
    else:
        item = QTableWidgetItem(str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def settings_tip(record: RunRecord) -> str:
    """A row's tooltip: the run's folder and every training setting."""
    settings = ", ".join(f"{name}={value}" for name, value in sorted(record.config.items()))
    return f"{record.folder}\n{record.name}\n{settings}"


def swatch(colour: str, size: int = 12) -> QIcon:
    """A square icon of ``colour``."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class RunList(QWidget):
    """The table and its buttons. ``records``/``labels``: the runs listed; signals ``shown_changed()`` (a check
    box), ``selection_changed()``; the buttons are ``folder_button``, ``use_button``, ``back_button``,
    ``delete_button`` and ``resume_button``, the epoch to use is ``epoch_combo``'s."""

    shown_changed = Signal()
    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[RunRecord] = []
        self.labels: list[str] = []
        self.table = QTableWidget(0, len(RUN_HEADER))
        self.table.setHorizontalHeaderLabels(RUN_HEADER)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(True)
        self.table.setToolTip("The runs of the runs folder; tick a run to draw its curves, click a header to sort")
        self.folder_button = QPushButton("Runs folder…")
        self.folder_button.setToolTip("Choose the folder new runs go to and whose runs are listed")
        self.epoch_combo = QComboBox()
        self.epoch_combo.setToolTip("The checkpoint of the selected run that Use this model loads")
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Make the selected run's checkpoint the current model of every pane")
        self.back_button = QPushButton("Previous model")
        self.back_button.setToolTip("Load again the model used before Use this model")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on training the selected run from its last whole epoch, on its own splits")
        self.delete_button = QPushButton("Delete run…")
        self.delete_button.setToolTip("Delete the selected run's folder, after asking")
        self._build()
        self.table.itemChanged.connect(lambda item: self.shown_changed.emit() if item.column() == 0 else None)
        self.table.itemSelectionChanged.connect(self._selected)
        self._selected()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        for widgets in ((self.epoch_combo, self.use_button, self.back_button),
                        (self.folder_button, self.resume_button, self.delete_button)):
            row = QHBoxLayout()
            for widget in widgets:
                row.addWidget(widget)
            layout.addLayout(row)

    def set_runs(self, records: Sequence[RunRecord], labels: Sequence[str], shown: set[str]) -> None:
        """List ``records`` named by ``labels``; those whose folder is in ``shown`` are ticked."""
        selected = self.selected()
        self.records, self.labels = list(records), list(labels)
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.records))
        for row, (record, label) in enumerate(zip(self.records, self.labels)):
            for column, (name, value) in enumerate(zip(RUN_HEADER, run_row(label, record))):
                item = cell(name, value)
                item.setData(RECORD_ROLE, row)
                item.setToolTip(settings_tip(record))
                if column == 0:
                    item.setIcon(swatch(self.colour(record)))
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Checked if str(record.folder) in shown
                                       else Qt.CheckState.Unchecked)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.blockSignals(False)
        if selected is not None:
            self.select(selected.folder)
        self._selected()

    def shown(self) -> list[RunRecord]:
        """The ticked runs, in list order."""
        ticked = [self._record(row) for row in range(self.table.rowCount())
                  if (item := self.table.item(row, 0)) is not None and item.checkState() == Qt.CheckState.Checked]
        return sorted(ticked, key=self.records.index)

    def selected(self) -> RunRecord | None:
        """The selected run, None without one."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._record(rows[0].row()) if rows else None

    def select(self, folder: Any) -> None:
        """Select the run of ``folder`` (no change when it is not listed)."""
        for row in range(self.table.rowCount()):
            if str(self._record(row).folder) == str(folder):
                self.table.selectRow(row)
                return

    def set_shown(self, folder: Any, shown: bool = True) -> None:
        """Tick (or untick) the run of ``folder``."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and str(self._record(row).folder) == str(folder):
                item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)

    def colour(self, record: RunRecord) -> str:
        """The colour of ``record``'s curves: by its place in the list."""
        return RUN_COLOURS[self.records.index(record) % len(RUN_COLOURS)]

    def chosen_epoch(self) -> int | None:
        """The epoch chosen to use (None: the best)."""
        data = self.epoch_combo.currentData()
        return int(data) if data is not None else None

    def _record(self, row: int) -> RunRecord:
        item = self.table.item(row, 0)
        assert item is not None
        return self.records[int(item.data(RECORD_ROLE))]

    def _selected(self) -> None:
        record = self.selected()
        self.epoch_combo.clear()
        if record is not None:
            self.epoch_combo.addItem(f"best (epoch {record.best_epoch})", None)
            for epoch in record.epochs:
                self.epoch_combo.addItem(f"epoch {epoch}", epoch)
        for widget in (self.epoch_combo, self.use_button, self.delete_button, self.resume_button):
            widget.setEnabled(record is not None and bool(record.epochs))
        self.selection_changed.emit()
