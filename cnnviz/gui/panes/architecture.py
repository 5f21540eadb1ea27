"""The Architecture pane: the layer table (shapes, parameters, receptive fields) with totals.

The table comes from :func:`cnnviz.core.model.layers.layer_table`, computed by the controller in the
background. Selecting a row selects that layer in the app state; the buttons copy the table as CSV or
Markdown.
"""

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.model import layers
from cnnviz.gui.panes.pane_context import PaneContext

NUMERIC_COLUMNS = frozenset({3, 4, 5, 9, 10})
"""Columns of :data:`cnnviz.core.model.layers.HEADERS` holding counts, shown right-aligned."""
CENTRED_COLUMNS = frozenset({6, 7, 8})
SEARCHED_COLUMNS = (0, 1)
CELL_PADDING = 18
"""Pixels added to a column's widest text (cell margins and grid)."""
TITLE_PADDING = 6
"""Extra pixels for a column title (header sections have wider margins than cells)."""

_ROOT = QModelIndex()
"""The invisible root of the table model (Qt's default parent index)."""
AnyIndex = QModelIndex | QPersistentModelIndex


def display_cell(column: int, text: str) -> str:
    """A table cell for display: counts get thousands separators."""
    if column in NUMERIC_COLUMNS and text.isdigit():
        return f"{int(text):,}"
    return text


class LayerTableModel(QAbstractTableModel):
    """The layer table as a Qt model: one row per layer, then a bold totals row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[layers.LayerRow] = []
        self._cells: list[list[str]] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: list[layers.LayerRow]) -> None:
        """Show ``rows`` (an empty list clears the table)."""
        self.beginResetModel()
        self.rows = list(rows)
        cells = layers.table_cells(self.rows) if self.rows else []
        self._cells = [[display_cell(c, text) for c, text in enumerate(row)] for row in cells]
        self.endResetModel()

    def is_total(self, row: int) -> bool:
        """True for the totals row."""
        return bool(self._cells) and row == len(self._cells) - 1

    def rowCount(self, parent: AnyIndex = _ROOT) -> int:  # noqa: N802 - Qt API
        """Number of layers plus the totals row."""
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: AnyIndex = _ROOT) -> int:  # noqa: N802 - Qt API
        """Number of columns (:data:`cnnviz.core.model.layers.HEADERS`)."""
        return 0 if parent.isValid() else len(layers.HEADERS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Cell text, alignment, bold font for totals and a tooltip with the full layer name."""
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row][column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in NUMERIC_COLUMNS:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column in CENTRED_COLUMNS:
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.is_total(row):
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and not self.is_total(row):
            layer = self.rows[row]
            calls = f", called {layer.calls}×" if layer.calls > 1 else ""
            unused = " (not called by the forward pass)" if layer.calls == 0 else ""
            estimated = ("\n≈ receptive field and jump estimated: the forward pass goes through an op whose "
                         "geometry is not traced (e.g. an upsampling)") if layer.field_uncertain else ""
            return f"{layer.name}: {layer.type}{calls}{unused}{estimated}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Column titles from :data:`cnnviz.core.model.layers.HEADERS`."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return layers.HEADERS[section]
        return None

    def column_texts(self, column: int) -> list[str]:
        """Every cell text of ``column``, totals included."""
        return [row[column] for row in self._cells]

    def layer_name(self, row: int) -> str:
        """Name of the layer in ``row`` ("" for the totals row)."""
        return "" if self.is_total(row) or not 0 <= row < len(self.rows) else self.rows[row].name


class LayerFilter(QSortFilterProxyModel):
    """Keeps the rows whose layer name or type contains the filter text, and always the totals."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""

    def set_text(self, text: str) -> None:
        """Filter on ``text`` (case-insensitive; empty shows every row)."""
        self.text = text.strip().lower()
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:  # noqa: N802
        """See the class docstring."""
        model = self.sourceModel()
        if not self.text or (isinstance(model, LayerTableModel) and model.is_total(source_row)):
            return True
        return any(self.text in str(model.index(source_row, c, source_parent).data()).lower()
                   for c in SEARCHED_COLUMNS)


class ArchitecturePane(QWidget):
    """Layer table with a filter box and copy buttons; selecting a row selects the layer."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state

        self.table_model = LayerTableModel(self)
        self.proxy = LayerFilter(self)
        self.proxy.setSourceModel(self.table_model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setStretchLastSection(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter layers by name or type…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Show only the layers whose name or type contains this text (the totals stay)")
        self.copy_csv = QPushButton("Copy as CSV")
        self.copy_csv.setToolTip("Copy the layer table to the clipboard as CSV")
        self.copy_markdown = QPushButton("Copy as Markdown")
        self.copy_markdown.setToolTip("Copy the layer table to the clipboard as a Markdown table")
        self.summary = QLabel()

        tools = QHBoxLayout()
        tools.addWidget(self.filter, 1)
        tools.addWidget(self.summary)
        tools.addWidget(self.copy_csv)
        tools.addWidget(self.copy_markdown)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)

        self.filter.textChanged.connect(self.proxy.set_text)
        self.copy_csv.clicked.connect(lambda: self._copy(layers.to_csv, "CSV"))
        self.copy_markdown.clicked.connect(lambda: self._copy(layers.to_markdown, "Markdown"))
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.state.model_changed.connect(lambda _model: self._show_rows(None))
        self.state.layer_rows_changed.connect(self._show_rows)
        self.state.layer_changed.connect(self._show_layer)
        self._show_rows(self.state.layer_rows)

    def _show_rows(self, rows: list[layers.LayerRow] | None) -> None:
        self.table_model.set_rows(rows or [])
        has_rows = bool(rows)
        self.copy_csv.setEnabled(has_rows)
        self.copy_markdown.setEnabled(has_rows)
        self._fit_columns()
        if rows:
            total = layers.totals(rows)["params"]
            self.summary.setText(f"{len(rows)} layers, {total:,} parameters")
            self._show_layer(self.state.layer)
        else:
            self.summary.setText("Computing the layer table…" if self.state.model is not None else "")

    def _fit_columns(self) -> None:
        """Size each column to its widest text (measured directly: much faster than asking the view
        for every cell's size hint, which takes ~70 ms for GoogLeNet)."""
        header = self.view.horizontalHeader()
        cells = self.view.fontMetrics()
        bold_font = QFont(self.view.font())
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)
        titles = header.fontMetrics()
        for column, title in enumerate(layers.HEADERS):
            texts = self.table_model.column_texts(column)
            widest = max((cells.horizontalAdvance(text) for text in texts[:-1]), default=0)
            widest = max(widest, bold.horizontalAdvance(texts[-1]) if texts else 0,
                         titles.horizontalAdvance(title) + TITLE_PADDING)
            header.resizeSection(column, widest + CELL_PADDING)

    def _show_layer(self, name: str) -> None:
        selection = self.view.selectionModel()
        names = [self.table_model.layer_name(r) for r in range(self.table_model.rowCount())]
        if not name or name not in names:
            selection.clearSelection()
            return
        index = self.proxy.mapFromSource(self.table_model.index(names.index(name), 0))
        if index.isValid() and not selection.isRowSelected(index.row(), QModelIndex()):
            flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QItemSelectionModel.SelectionFlag.Rows)
            selection.select(index, flags)
            self.view.scrollTo(index)

    def _selection_changed(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if rows:
            source = self.proxy.mapToSource(rows[0])
            name = self.table_model.layer_name(source.row())
            if name:
                self.state.set_layer(name)

    def _copy(self, render: Callable[[list[layers.LayerRow]], str], kind: str) -> None:
        rows = self.table_model.rows
        if rows:
            QGuiApplication.clipboard().setText(render(rows))
            self.state.show_status(f"Copied the layer table ({len(rows)} layers) as {kind}.")
