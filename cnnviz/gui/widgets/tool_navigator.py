"""A navigation column beside a stack of pages: every tool one click away, grouped, without scroll arrows.

:class:`ToolNavigator` shows a list of page titles under group headings (for example *This image* and
*Dataset*) in a narrow column, with an optional widget above the list (the window puts the model, image and
target there), and the current page beside it. It offers the part of ``QTabWidget``'s API the window uses
(``addTab``, ``currentWidget``, ``setCurrentWidget``, ``currentIndex``, ``setCurrentIndex``, ``count``,
``widget``, ``indexOf``, ``tabText``, ``tabBar`` and the ``currentChanged`` signal), so that code written
for tabs keeps working.
"""

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

COLUMN_WIDTH = 200
"""Width of the navigation column in pixels."""
PAGE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data: the page's index in the stack (absent on group headings)."""
ITEM_HEIGHT = 24
HEADING_HEIGHT = 20
"""Heights of a page's row and of a group heading (px): every tool stays in view with the Architecture dock
open on a 1280×800 screen."""


class ToolNavigator(QWidget):
    """A column (``side``: an optional ``header`` widget, then the ``list`` of pages under group headings) and
    the ``stack`` of pages. ``currentChanged(index)`` is emitted with the new page's index."""

    currentChanged = Signal(int)  # noqa: N815 - the QTabWidget signal's name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("tool_list")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.stack = QStackedWidget()
        self.side = QWidget()
        self.side.setObjectName("tool_column")
        self.side.setFixedWidth(COLUMN_WIDTH)
        self._side_layout = QVBoxLayout(self.side)
        self._side_layout.setContentsMargins(4, 4, 4, 4)
        self._side_layout.addWidget(self.list)
        self._side_layout.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.side)
        layout.addWidget(self.stack, 1)
        self._titles: list[str] = []
        self._group = ""
        self.list.currentItemChanged.connect(self._item_changed)
        self.stack.currentChanged.connect(self._page_changed)

    def set_header(self, widget: QWidget) -> None:
        """Put ``widget`` above the list of pages."""
        self._side_layout.insertWidget(0, widget)

    def addTab(self, widget: QWidget, title: str, group: str = "") -> int:  # noqa: N802 - QTabWidget's name
        """Add page ``widget`` titled ``title`` under heading ``group`` (a new heading when it differs from the
        last page's); returns its index."""
        if group and group != self._group:
            self._add_heading(group)
        self._group = group
        index = self.stack.addWidget(widget)
        self._titles.append(title)
        item = QListWidgetItem(title)
        item.setData(PAGE_ROLE, index)
        item.setSizeHint(QSize(0, ITEM_HEIGHT))
        self.list.addItem(item)
        self._fit_list()
        if index == 0:
            self.list.setCurrentItem(item)
        return index

    def _add_heading(self, group: str) -> None:
        heading = QListWidgetItem(group.upper())
        heading.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(self.list.font())
        font.setBold(True)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        heading.setFont(font)
        heading.setSizeHint(QSize(0, HEADING_HEIGHT))
        self.list.addItem(heading)

    def _fit_list(self) -> None:
        """Make the list exactly as tall as its items, so that it never scrolls."""
        height = sum(self.list.sizeHintForRow(row) for row in range(self.list.count()))
        self.list.setFixedHeight(height + 2 * self.list.frameWidth() + 4)

    def count(self) -> int:
        """The number of pages."""
        return self.stack.count()

    def widget(self, index: int) -> QWidget | None:
        """The page at ``index`` (None outside the range)."""
        return self.stack.widget(index)

    def indexOf(self, widget: QWidget | None) -> int:  # noqa: N802 - QTabWidget's name
        """The index of page ``widget``, -1 when it is none of them."""
        return self.stack.indexOf(widget) if widget is not None else -1

    def tabText(self, index: int) -> str:  # noqa: N802 - QTabWidget's name
        """The title of page ``index`` ("" outside the range)."""
        return self._titles[index] if 0 <= index < len(self._titles) else ""

    def currentIndex(self) -> int:  # noqa: N802 - QTabWidget's name
        """The index of the page shown."""
        return self.stack.currentIndex()

    def currentWidget(self) -> QWidget | None:  # noqa: N802 - QTabWidget's name
        """The page shown."""
        return self.stack.currentWidget()

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802 - QTabWidget's name
        """Show page ``index``."""
        if 0 <= index < self.count():
            self.stack.setCurrentIndex(index)

    def setCurrentWidget(self, widget: QWidget) -> None:  # noqa: N802 - QTabWidget's name
        """Show page ``widget`` (ignored when it is none of them)."""
        self.setCurrentIndex(self.indexOf(widget))

    def tabBar(self) -> QWidget:  # noqa: N802 - QTabWidget's name
        """The navigation column (what a figure shown alone hides)."""
        return self.side

    def item_of(self, index: int) -> QListWidgetItem | None:
        """The list entry of page ``index``."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item is not None and item.data(PAGE_ROLE) == index:
                return item
        return None

    def _item_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None and item.data(PAGE_ROLE) is not None:
            self.stack.setCurrentIndex(int(item.data(PAGE_ROLE)))

    def _page_changed(self, index: int) -> None:
        item = self.item_of(index)
        if item is not None and self.list.currentItem() is not item:
            self.list.setCurrentItem(item)
        self.currentChanged.emit(index)
