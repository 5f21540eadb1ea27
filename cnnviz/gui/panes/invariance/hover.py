"""The hover side of the Invariance pane: the current input transformed to the value hovered, and
each image's probability of its own target class, top-1 class and distances there.

The values sit in a scroll area under the thumbnail: however many images and layers there are, the
text is never cut off (it scrolls when it does not fit).
"""

from html import escape

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from cnnviz.core.model.models import LoadedModel, class_name
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.plots import Curve
from cnnviz.gui.widgets.image_view import CaptionedImage

PANEL_WIDTH = (140, 220)
"""Least and largest width of the hover panel, in pixels."""
THUMBNAIL_HEIGHT = 150
"""Largest height of the transformed input, in pixels (the values get the rest)."""


def curve_text(curve: Curve, number: int, value: float, relative: bool) -> str:
    """HTML for ``curve`` (image ``number``, from 1) at transform ``value``: a line naming the image,
    then the probability of its target class and its top-1 class, then each layer's distance
    (``relative`` to ‖f(x)‖ or not); or "not computed"."""
    result = curve.result
    head = f"<span style='color:{curve.colour}'>━━</span> #{number} {escape(curve.name)}"
    i = invariance.value_index(result.values, value)
    if result.values[i] != value or result.top_class[i] < 0:
        return f"{head}<br>not computed"
    target = class_name(result.classes, result.target)
    top = class_name(result.classes, int(result.top_class[i]))
    distances = result.relative_distance if relative else result.distance
    lines = [head, f"p({escape(target)}) = {result.prob[i]:.4f}", f"top-1 {escape(top)}"]
    lines += [f"{escape(layer)}: {distances[layer][i]:.4g}" for layer in distances]
    return "<br>".join(lines)


class HoverPanel(QWidget):
    """The transformed input above the curves' values at the hovered transform value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail = CaptionedImage("Transformed input")
        self.thumbnail.canvas.setMaximumHeight(THUMBNAIL_HEIGHT)
        self.hover_label = QLabel()
        self.hover_label.setWordWrap(True)
        self.hover_label.setTextFormat(Qt.TextFormat.RichText)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(self.hover_label)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(PANEL_WIDTH[0])
        self.setMaximumWidth(PANEL_WIDTH[1])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.thumbnail)
        layout.addWidget(self.scroll_area, 1)

    def clear(self) -> None:
        """Show nothing."""
        self.hover_label.clear()
        self.thumbnail.show_image(None)

    def show_value(self, curves: list[Curve], value: float, relative: bool, model: LoadedModel | None,
                   x: torch.Tensor | None) -> None:
        """The values of ``curves`` (at least one, all of one kind) at transform ``value``, distances
        ``relative`` or not, and the input ``x`` of ``model`` transformed as the latest curve's (if any)."""
        kind = curves[0].result.kind
        unit = invariance.UNITS[kind]
        lines = [f"<b>{kind} {value:g}{unit}</b>"]
        lines += [curve_text(curve, number, value, relative) for number, curve in enumerate(curves, 1)]
        self.hover_label.setText("<br>".join(lines))
        if model is not None and x is not None:
            result = curves[-1].result
            image = model.deprocess(invariance.transform(x, result.kind, value, crop=result.crop))
            self.thumbnail.show_image(image, f"current input, {result.kind} {value:g}{unit}")
