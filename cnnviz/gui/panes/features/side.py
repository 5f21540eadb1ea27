"""The column beside the Feature space maps: the hovered image (thumbnail, file name, label) above two
tabs, the images selected on a map and the retrieval view."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from cnnviz.gui.panes.features.retrieval_view import RetrievalView
from cnnviz.gui.widgets.layouts import wrapped_label
from cnnviz.gui.widgets.thumbnails import SIDE, ThumbGrid

SIDE_WIDTH = 220
"""Least width of the side panel, in pixels."""


class SidePanel(QWidget):
    """Hover box, selection grid and retrieval view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(SIDE + 8, SIDE + 8)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hover_label = wrapped_label(selectable=True)
        self.hover_label.setText("Hover a point to see its image; click it to make it the current image.")
        self.selection_label = wrapped_label()
        self.selection = ThumbGrid()
        selection_page = QWidget()
        page = QVBoxLayout(selection_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.selection_label)
        page.addWidget(self.selection, 1)
        self.retrieval = RetrievalView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.retrieval, "Retrieval")
        self.tabs.addTab(selection_page, "Selection")
        self.setMinimumWidth(SIDE_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.hover_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.tabs, 1)
        self.clear_selection()

    def show_hover(self, pixmap: QPixmap, text: str) -> None:
        """Show the hovered image's thumbnail and ``text``."""
        self.thumbnail.setPixmap(pixmap)
        self.hover_label.setText(text)

    def clear_selection(self, text: str = "Drag with Shift (or in a select mode) to select images on a map.") -> None:
        """Empty the selection grid, showing ``text``."""
        self.selection.show_tiles([])
        self.selection_label.setText(text)

    def clear(self) -> None:
        """Show nothing (no map)."""
        self.thumbnail.clear()
        self.hover_label.setText("")
        self.clear_selection()
        self.retrieval.clear()
