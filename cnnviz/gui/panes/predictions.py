"""The Predictions pane: top-5 classes with probability bars, and the target class.

Clicking a row makes that class the target; the search box picks any class. Until the user picks
one, the target follows the top prediction.
"""

import math
from html import escape

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.runtime.controller import TOP_K
from cnnviz.gui.widgets.class_search import ClassSearch
from cnnviz.gui.widgets.labels import UNTRAINED, model_label, percent

PROBABILITY_ROLE = Qt.ItemDataRole.UserRole + 1
CLASS_ROLE = Qt.ItemDataRole.UserRole + 2
TARGET_ROLE = Qt.ItemDataRole.UserRole + 3
ROW_HEIGHT = 26
BAR_COLOUR = QColor("#3d7ebf")
TARGET_BAR_COLOUR = QColor("#e08a1e")


class ProbabilityBarDelegate(QStyledItemDelegate):
    """Paints a cell's probability (``PROBABILITY_ROLE``) as a bar with its percentage.

    The target class's bar (``TARGET_ROLE`` true) has its own colour.
    """

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        """Draw the selection background, the bar and the percentage."""
        probability = index.data(PROBABILITY_ROLE)
        if probability is None:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        rect = option.rect.adjusted(3, 4, -3, -4)
        is_target = bool(index.data(TARGET_ROLE))
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.color(QPalette.ColorRole.AlternateBase).darker(108))
        painter.drawRoundedRect(rect, 2, 2)
        bar = QRect(rect)
        fraction = float(probability) if math.isfinite(float(probability)) else 0.0
        bar.setWidth(max(1, round(rect.width() * fraction)))
        painter.setBrush(TARGET_BAR_COLOUR if is_target else BAR_COLOUR)
        painter.drawRoundedRect(bar, 2, 2)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        text_rect = rect.adjusted(4, 0, -4, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         percent(float(probability)))
        painter.restore()


class PredictionsPane(QWidget):
    """Top classes as probability bars, target class search and the target shown."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        self._build_table()
        self._build_target()
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addWidget(self.table)
        layout.addLayout(self._target_row())
        layout.addWidget(self.target_label)
        layout.addStretch(1)
        self._connect()
        self._show_model(self.state.model)
        self._show_predictions()

    def _build_table(self) -> None:
        """The model line and the table of the top classes with probability bars."""
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Class", "Probability"])
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setItemDelegateForColumn(1, ProbabilityBarDelegate(self.table))
        self.table.setToolTip("Click a class to make it the target class")
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + ROW_HEIGHT * TOP_K + 2 * self.table.frameWidth())
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _build_target(self) -> None:
        """The class search, the Top-1 button and the target line."""
        self.search = ClassSearch()
        self.follow_button = QPushButton("Top-1")
        self.follow_button.setToolTip("Let the target follow the top prediction")
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)

    def _target_row(self) -> QHBoxLayout:
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Target"))
        pick.addWidget(self.search, 1)
        pick.addWidget(self.follow_button)
        return pick

    def _connect(self) -> None:
        self.table.cellClicked.connect(self._row_clicked)
        self.search.chosen.connect(self.controller.choose_target)
        self.follow_button.clicked.connect(self.controller.follow_top_prediction)
        self.state.model_changed.connect(self._show_model)
        self.state.predictions_changed.connect(self._show_predictions)
        self.state.image_changed.connect(self._show_predictions)
        self.state.target_changed.connect(self._show_target)

    def _show_model(self, model: LoadedModel | None) -> None:
        if model is None:
            self.model_label.setText("<i>No model loaded</i>")
        elif model.pretrained:
            self.model_label.setText(f"<b>{escape(model_label(model))}</b>")
        else:
            self.model_label.setText(
                f"<b>{escape(model.name)}</b> — <b style='color:#c62828'>{UNTRAINED}</b>: "
                "its predictions are meaningless.")
        self._show_predictions()

    def _show_predictions(self, *_args: object) -> None:
        predictions = self.state.predictions
        self.table.setRowCount(0)
        if predictions is None:
            self.target_label.setText("<i>Waiting for the forward pass…</i>" if self.state.model else "")
            return
        self.search.fill(self.state.model, len(predictions.probabilities))
        self.table.setRowCount(len(predictions.top))
        for row, (index, name, probability) in enumerate(predictions.top):
            label = QTableWidgetItem(name)
            label.setData(CLASS_ROLE, index)
            label.setToolTip(f"class {index}: {name}")
            bar = QTableWidgetItem()
            bar.setData(PROBABILITY_ROLE, probability)
            bar.setData(CLASS_ROLE, index)
            bar.setToolTip(f"{probability:.6f}")
            self.table.setItem(row, 0, label)
            self.table.setItem(row, 1, bar)
        self._show_target(self.state.target)

    def _show_target(self, target: int) -> None:
        bold = QFont(self.table.font())
        bold.setBold(True)
        self.table.blockSignals(True)
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            label, bar = self.table.item(row, 0), self.table.item(row, 1)
            assert label is not None and bar is not None  # _show_predictions fills both cells of every row
            is_target = label.data(CLASS_ROLE) == target
            for item in (label, bar):
                item.setData(Qt.ItemDataRole.FontRole, bold if is_target else None)
                item.setData(TARGET_ROLE, is_target)
            if is_target:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        model, predictions = self.state.model, self.state.predictions
        if model is None or target < 0:
            self.target_label.setText("target: none")
            return
        name = model.class_name(target)
        probability = percent(predictions.probability(target)) if predictions is not None else "?"
        self.target_label.setText(f"target: <b>{escape(name)}</b> (class {target}, p = {escape(probability)})")
        self.search.show_class(target)

    def _row_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.controller.choose_target(int(item.data(CLASS_ROLE)))
