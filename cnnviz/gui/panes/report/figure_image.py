"""The image of a pane's figure that goes into a report: the one place that decides how it is made.

The figure is drawn as for *Export figure…* (the analysis's matplotlib report figure, or for a pane without
one :func:`~cnnviz.gui.widgets.figure_render.render_image`: 170 mm at 300 dpi, independent of the window's
size, without hover marks), but without the caption: the report prints the caption, which the user may
edit, and its parameter table under the image.
"""

import io
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice

from cnnviz.gui.widgets.figure_render import ExportOptions, render_image

if TYPE_CHECKING:
    from cnnviz.gui.panes.tool_pane import ToolPane

REPORT_OPTIONS = ExportOptions(caption=False)


def figure_png(pane: "ToolPane") -> bytes:
    """``pane``'s report figure (the analysis's matplotlib figure where the pane has one, else its figure
    widget rendered) as PNG bytes; raises AttributeError for a pane without a figure and OSError if it
    cannot be encoded."""
    report_figure = getattr(pane.export, "report_figure", None)
    drawn = report_figure(REPORT_OPTIONS) if report_figure else None
    if drawn is not None:
        buffer_ = io.BytesIO()
        drawn.savefig(buffer_, format="png", dpi=drawn.dpi)
        return buffer_.getvalue()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not render_image(pane.figure, REPORT_OPTIONS).save(buffer, "PNG"):  # type: ignore[call-overload]  # stubs: bytes; runtime: str
        raise OSError("could not encode the figure as PNG")
    buffer.close()
    return bytes(data.data())
