"""The Invariance pane's figure on screen: a view of the curves shown, one per image
(:class:`~cnnviz.gui.panes.invariance.plots.Curve`).

:class:`InvarianceView` stacks a summary line (beside the run's PARTIAL mark), the legend of images and
layers, the three plots (:class:`~cnnviz.gui.panes.invariance.plots.InvariancePlots`) beside the hover panel
(:class:`~cnnviz.gui.panes.invariance.hover.HoverPanel`) and the legend of top-1 classes. Hovering a plot marks
the transform value under the mouse and shows every curve's values there and the current input transformed.
"""

from collections.abc import Callable

import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.hover import HoverPanel
from cnnviz.gui.panes.invariance.plots import (
    KIND_TITLES,
    Curve,
    InvariancePlots,
    class_counts,
    curve_colours,
    legend_html,
)
from cnnviz.gui.widgets.class_colours import legend_html as class_legend_html
from cnnviz.gui.widgets.figure_render import mark_transient

IDLE_TEXT = "Press Run (Ctrl+R) to plot the curves of the current image."
CurrentInput = Callable[[], tuple[LoadedModel | None, torch.Tensor | None]]
"""The current model and input [1, C, H, W] (either None while there is none), transformed on hover."""


def wrapped_rich_label() -> QLabel:
    """A word-wrapping rich-text label (a legend)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def kind_of(curves: list[Curve], chosen: str) -> str:
    """The transform kind of ``curves`` (all of one kind), ``chosen`` when there are none."""
    return curves[0].result.kind if curves else chosen


class InvarianceView(QWidget):
    """The curves on screen: ``summary`` (with ``partial_label`` beside it), ``curve_legend``, ``plots`` and
    ``hover_panel`` side by side, and ``class_legend``; ``current_input()`` gives what the hover transforms."""

    def __init__(self, partial_label: QWidget, current_input: CurrentInput, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current_input = current_input
        self.plots = InvariancePlots()
        self.hover_panel = HoverPanel()
        self.curve_legend, self.class_legend = wrapped_rich_label(), wrapped_rich_label()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.curves: list[Curve] = []
        self.relative = False
        self.hovered: int | None = None
        """The index of the transform value hovered (None: none)."""
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(partial_label)
        body = QHBoxLayout()
        body.addWidget(self.plots, 1)
        body.addWidget(self.hover_panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for part, stretch in ((header, 0), (self.curve_legend, 0), (body, 1), (self.class_legend, 0)):
            if isinstance(part, QHBoxLayout):
                layout.addLayout(part, stretch)
            else:
                layout.addWidget(part, stretch)
        mark_transient(*self.plots.cursors, self.hover_panel)
        self.plots.scene().sigMouseMoved.connect(self._mouse_moved)

    def clear(self) -> None:
        """Show no curves."""
        self.curves = []
        self.plots.clear_curves()
        self.curve_legend.clear()
        self.class_legend.clear()
        self.hover_panel.clear()
        self.summary.setText(IDLE_TEXT)

    def draw(self, curves: list[Curve], relative: bool) -> None:
        """Draw ``curves`` (at least one, all of one kind; those drawn before are updated), distances ``relative``
        to ‖f(x)‖ or not, with their legends, and the values at the value hovered."""
        self.curves, self.relative = curves, relative
        kind = kind_of(curves, "")
        colours = curve_colours(curves)
        layer_order = self.plots.draw(curves, kind, relative, colours)
        self.curve_legend.setText(legend_html(curves, layer_order, relative))
        counts = class_counts(curves)
        self.class_legend.setText("Top-1 class: " + class_legend_html(counts, curves[0].result.classes, colours))
        crop = " with centre crop" if curves[-1].result.crop else ""
        self.summary.setText(f"{len(curves)} image(s), {KIND_TITLES[kind].lower()}{crop}")
        if self.hovered is not None:
            self.hover_index(self.hovered)

    def hover_index(self, index: int | None) -> None:
        """Show the values at transform value ``index`` of the latest curve and the current input transformed
        there (None hides the cursor)."""
        self.hovered = index
        if index is None or not self.curves:
            self.plots.show_cursor(None)
            return
        values = self.curves[-1].result.values
        value = float(values[min(max(index, 0), len(values) - 1)])
        self.plots.show_cursor(value)
        self.hover_panel.show_value(self.curves, value, self.relative, *self.current_input())

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.curves:
            return
        x = self.plots.value_at(scene_pos)
        if x is not None:
            self.hover_index(invariance.value_index(self.curves[-1].result.values, x))
