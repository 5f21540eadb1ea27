"""The class legend of the Feature space maps: one row per class (coloured square, name, count),
"unlabelled" for images without a label; clicking a row hides that class's points (struck out) or
shows them again, in every map."""

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from cnnviz.gui.panes.features.scatter import UNLABELLED, colour_of

WIDTH = 120


def swatch(colour: QColor) -> QIcon:
    """A small square of ``colour``."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(colour)
    return QIcon(pixmap)


class ClassLegend(QListWidget):
    """See the module docstring; emits ``hidden_changed(frozenset of class indices)``."""

    hidden_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Click a class to hide or show its points")
        self.setFixedWidth(WIDTH)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.hidden: frozenset[int] = frozenset()
        self.itemClicked.connect(lambda item: self.toggle(int(item.data(Qt.ItemDataRole.UserRole))))

    def set_classes(self, classes: list[str], labels: np.ndarray | None, count: int) -> None:
        """List the classes that occur in ``labels`` (None: one "unlabelled" row for all ``count``
        images), all shown."""
        self.clear()
        self.hidden = frozenset()
        if labels is None:
            if count:
                self._add(UNLABELLED, "unlabelled", count)
            return
        values, counts = np.unique(np.asarray(labels), return_counts=True)
        for value, count in zip(values, counts):
            name = classes[int(value)] if 0 <= int(value) < len(classes) else str(int(value))
            self._add(int(value), name, int(count))

    def classes(self) -> list[int]:
        """The class indices listed, in order."""
        return [int(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]

    def row_of(self, label: int) -> QListWidgetItem | None:
        """The row of class ``label``, None if it is not listed."""
        for i in range(self.count()):
            if int(self.item(i).data(Qt.ItemDataRole.UserRole)) == label:
                return self.item(i)
        return None

    def toggle(self, label: int) -> None:
        """Hide class ``label`` if shown, else show it."""
        self.hidden = self.hidden ^ {label}
        item = self.row_of(label)
        if item is not None:
            font = item.font()
            font.setStrikeOut(label in self.hidden)
            item.setFont(font)
            item.setForeground(QColor("#888888") if label in self.hidden else self.palette().text().color())
        self.hidden_changed.emit(self.hidden)

    def _add(self, label: int, name: str, count: int) -> None:
        item = QListWidgetItem(swatch(colour_of(label)), f"{name} ({count})")
        item.setData(Qt.ItemDataRole.UserRole, label)
        self.addItem(item)
