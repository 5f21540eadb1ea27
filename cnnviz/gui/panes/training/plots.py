"""The plots of the Training pane's tabs: white, with plain axes (values, not SI-rescaled ticks), no context menu,
and for a picture (a matrix, a grid of patches) equal aspect with rows downwards; and the one-line title above."""

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QSizePolicy

from cnnviz.gui.widgets.axes import plain_axes

LEAST_SIZE = (240, 160)
"""Least size of a tab's plot (px)."""


def tab_plot(picture: bool = False) -> tuple[pg.PlotWidget, pg.ImageItem | None]:
    """A tab's plot and, with ``picture``, the image item it shows (equal aspect, rows downwards)."""
    plot = pg.PlotWidget()
    plot.setBackground("w")
    plain_axes(plot)
    plot.setMinimumSize(*LEAST_SIZE)
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    if not picture:
        return plot, None
    item.getViewBox().setAspectLocked(True)
    item.getViewBox().invertY(True)
    image = pg.ImageItem()
    item.addItem(image)
    return plot, image


def title_label(text: str) -> QLabel:
    """A one-line title that gives up its width rather than widening the tab (its text is cut, not wrapped)."""
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
