"""How the Deep dream pane is laid out: the settings column (the whole height, under the run buttons) left of
the result buttons, progress bar and image, over the plots."""

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cnnviz.gui.widgets.layouts import grid_and_detail

CONTROLS_WIDTH = 340
"""Width of the settings column, in pixels: the layer, class and guide image names fit their boxes."""


def button(title: str, tip: str) -> QPushButton:
    """A push button titled ``title`` with tooltip ``tip``."""
    made = QPushButton(title)
    made.setToolTip(tip)
    return made


def _settings_column(controls: QWidget, run_buttons: Sequence[QWidget]) -> QWidget:
    scroll = QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    row = QHBoxLayout()
    for widget in run_buttons:
        row.addWidget(widget)
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addLayout(row)
    layout.addWidget(scroll, 1)
    column.setFixedWidth(CONTROLS_WIDTH)
    return column


def body(controls: QWidget, run_buttons: Sequence[QWidget], result_buttons: Sequence[QWidget],
         progress: QWidget, view: QWidget, plots: QWidget) -> QWidget:
    """The pane's body: ``controls`` under ``run_buttons`` (left, the whole height); ``result_buttons`` (two a
    row), ``progress`` and ``view`` over ``plots`` in a splitter (right)."""
    grid = QGridLayout()
    for index, widget in enumerate(result_buttons):
        grid.addWidget(widget, index // 2, index % 2)
    grid.setColumnStretch(2, 1)
    top = QWidget()
    right = QVBoxLayout(top)
    right.setContentsMargins(0, 0, 0, 0)
    right.addLayout(grid)
    right.addWidget(progress)
    right.addWidget(view, 1)
    splitter = grid_and_detail(top, plots, Qt.Orientation.Vertical)
    made = QWidget()
    layout = QHBoxLayout(made)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(_settings_column(controls, run_buttons))
    layout.addWidget(splitter, 1)
    return made
