"""The scroll area around a pane's figure: the figure fills it while there is room and keeps a
readable least size (scroll bars appear) when the pane is smaller.

:class:`FigureArea` marks itself as a figure (:data:`FIGURE_PROPERTY`), which the main window uses to
show one figure alone (double-click or F11, :mod:`cnnviz.gui.app.figure_alone`); any other widget can
be marked with :func:`mark_figure`. The figure widget itself stays what exports render.
"""

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

FIGURE_PROPERTY = "cnnvizFigure"
"""Dynamic property (True) of a widget that is one pane's figure."""
FIGURE_MIN_SIZE = (360, 260)
"""Least (width, height) in pixels of a figure before its area scrolls."""


def mark_figure(widget: QWidget) -> None:
    """Mark ``widget`` as a pane's figure (a double-click in it shows it alone)."""
    widget.setProperty(FIGURE_PROPERTY, True)


def figure_of(widget: QWidget | None) -> QWidget | None:
    """The nearest marked figure holding ``widget`` (itself included), or None."""
    while widget is not None:
        if widget.property(FIGURE_PROPERTY):
            return widget
        widget = widget.parentWidget()
    return None


class FigureWidget(QWidget):
    """A pane's figure: a plain widget whose least size is its layout's, but at least ``min_size``
    (width, height) in pixels (so content that grows still raises it)."""

    def __init__(self, min_size: tuple[int, int] = FIGURE_MIN_SIZE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.least = QSize(*min_size)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """The layout's least size, but not below :attr:`least`."""
        return super().minimumSizeHint().expandedTo(self.least)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        """The least height at ``width`` (wrapped text included), not the preferred one: a scroll area
        then makes the figure as high as its viewport, and only a smaller viewport scrolls."""
        layout = self.layout()
        least = layout.minimumHeightForWidth(width) if layout is not None else -1
        return max(least, self.least.height())


class FigureArea(QScrollArea):
    """A frameless scroll area holding ``figure``, which is resized to fill it but never below its
    minimum size hint (a :class:`FigureWidget`'s least readable size)."""

    def __init__(self, figure: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = figure
        self.setWidget(figure)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        mark_figure(self)
