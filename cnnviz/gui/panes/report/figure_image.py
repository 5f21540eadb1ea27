"""The image of a pane's figure that goes into a report: the one place that decides how it is made."""

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QWidget

from cnnviz.gui.widgets.screenshot import grab


def figure_png(pane: QWidget) -> bytes:
    """``pane.figure`` (a tool pane's figure widget) as PNG bytes; raises AttributeError for a pane
    without a figure and OSError if it cannot be encoded."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not grab(pane.figure).save(buffer, "PNG"):
        raise OSError("could not encode the figure as PNG")
    buffer.close()
    return bytes(data.data())
