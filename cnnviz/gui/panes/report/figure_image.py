"""The image of a pane's figure that goes into a report: the one place that decides how it is made.

The figure is rendered as for *Export figure…* (:func:`~cnnviz.gui.widgets.figure_render.render_image`:
170 mm at 300 dpi, independent of the window's size, without hover marks), but without the caption
strip: the report prints the caption, which the user may edit, and its parameter table under the image.
"""

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QWidget

from cnnviz.gui.widgets.figure_render import ExportOptions, render_image

REPORT_OPTIONS = ExportOptions(caption=False)


def figure_png(pane: QWidget) -> bytes:
    """``pane.figure`` (a tool pane's figure widget) rendered as PNG bytes; raises AttributeError for a
    pane without a figure and OSError if it cannot be encoded."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not render_image(pane.figure, REPORT_OPTIONS).save(buffer, "PNG"):
        raise OSError("could not encode the figure as PNG")
    buffer.close()
    return bytes(data.data())
