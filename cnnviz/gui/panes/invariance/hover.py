"""The hover side of the Invariance pane: the current input transformed to the value hovered, and
each image's probability, top-1 class and distances there."""

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnviz.core import invariance
from cnnviz.core.models import LoadedModel, class_name
from cnnviz.gui.panes.invariance.plots import Curve
from cnnviz.gui.widgets.image_view import CaptionedImage


def curve_text(curve: Curve, value: float, relative: bool) -> str:
    """HTML for ``curve`` at transform ``value``: probability, top-1 class and each layer's distance
    (``relative`` to ‖f(x)‖ or not), or "not computed"."""
    result = curve.result
    i = invariance.value_index(result.values, value)
    if result.values[i] != value or result.top_class[i] < 0:
        return f"<span style='color:{curve.colour}'>■</span> {curve.name}: not computed"
    index = int(result.top_class[i])
    name = class_name(result.classes, index)
    distances = result.relative_distance if relative else result.distance
    parts = ", ".join(f"{layer} {distances[layer][i]:.4g}" for layer in distances)
    return (f"<span style='color:{curve.colour}'>■</span> {curve.name}: p = {result.prob[i]:.4f}, "
            f"top-1 {name}; distance {parts}")


class HoverPanel(QWidget):
    """The transformed input above the curves' values at the hovered transform value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail = CaptionedImage("Transformed input")
        self.thumbnail.setMinimumWidth(120)
        self.thumbnail.setMaximumWidth(170)
        self.hover_label = QLabel()
        self.hover_label.setWordWrap(True)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.hover_label.setMaximumWidth(170)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.thumbnail, 1)
        layout.addWidget(self.hover_label, 2)

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
        lines += [curve_text(curve, value, relative) for curve in curves]
        self.hover_label.setText("<br>".join(lines))
        if model is not None and x is not None:
            result = curves[-1].result
            image = model.deprocess(invariance.transform(x, result.kind, value, crop=result.crop))
            self.thumbnail.show_image(image, f"current input, {result.kind} {value:g}{unit}")
