"""The plots of the Invariance pane: target probability, feature distances and top-1 class per value.

:class:`InvariancePlots` stacks the three plots (x axes linked): one line per image for the target
probability, one line per image and compared layer for the distance (colour: the image, pen style:
the layer) and a strip of class-coloured markers per image for the top-1 class; a dashed cursor marks
the value hovered. The legend is not drawn over the plots: :func:`legend_html` gives it as text (each
image with its own target class, each layer with a sample of its pen style) for a label beside them.
"""

from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from cnnviz.analyses.invariance import IMAGE_COLOURS as IMAGE_COLOURS  # the screen draws in the report's colours
from cnnviz.analyses.invariance import InvarianceAnalysis
from cnnviz.core.model.models import class_name
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.invariance import InvarianceResult
from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.class_colours import colours_in_order

KIND_TITLES = {"rotation": "Rotation", "vertical": "Vertical shift", "horizontal": "Horizontal shift",
               "scale": "Scale"}
LAYER_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
"""Pen style of each compared layer's distance curve, in list order (repeating)."""
LAYER_SAMPLES = ("━━━", "╍╍╍", "┅┅┅", "━·━")
"""A text sample of each :data:`LAYER_STYLES` pen, for the legend."""
MARKER_PEN = "#444"
"""Outline of the top-1 class markers (their fill is the class colour)."""


@dataclass(frozen=True)
class Curve:
    """One image's curves: its ``name``, the (possibly partial) ``result``, its line ``colour`` and the invariance
    analysis's result they are part of (``shown``: its ``curves`` are ``result``; None for curves restored from a
    session, whose input is not saved)."""

    name: str
    result: InvarianceResult
    colour: str
    shown: InvarianceAnalysis | None = None


def style_name(index: int) -> str:
    """The name of the pen style of the compared layer at ``index`` (see :data:`LAYER_STYLES`)."""
    return ("solid", "dashed", "dotted", "dash-dotted")[index % len(LAYER_STYLES)]


def curve_colours(curves: list[Curve]) -> dict[int, QColor]:
    """The colour of each top-1 class of ``curves``, in order of first appearance (image by image,
    value by value): the first classes shown never share a colour, and a curve filling in keeps them."""
    return colours_in_order(int(c) for curve in curves for c in curve.result.top_class)


def unbroken(text: str) -> str:
    """``text`` escaped for HTML, its spaces not breaking (a legend entry wraps only between entries)."""
    return escape(text).replace(" ", "&nbsp;")


def legend_html(curves: list[Curve], layer_order: list[str], relative: bool) -> str:
    """The legend of ``curves`` as HTML: each image (colour, number, name, its target class, "partial"
    while incomplete) and, when layers are compared, each layer's pen-style sample."""
    images = []
    for index, curve in enumerate(curves):
        target = class_name(curve.result.classes, curve.result.target)
        partial = " (partial)" if not curve.result.complete else ""
        images.append(f"<span style='color:{curve.colour}'>━━</span>&nbsp;#{index + 1}&nbsp;{unbroken(curve.name)}:"
                      f"&nbsp;target&nbsp;<b>{unbroken(target)}</b>{unbroken(partial)}")
    text = " &nbsp; ".join(images)
    if layer_order:
        what = "relative distance" if relative else "distance ‖f(T(x)) − f(x)‖"
        layers = " &nbsp; ".join(f"{LAYER_SAMPLES[i % len(LAYER_SAMPLES)]}&nbsp;{unbroken(name)}"
                                 for i, name in enumerate(layer_order))
        text += f"<br>Layers ({what}): {layers}"
    return text


def class_counts(curves: list[Curve]) -> dict[int, int]:
    """How many computed values of all ``curves`` have each top-1 class."""
    counts: dict[int, int] = {}
    for curve in curves:
        for index in curve.result.top_class[curve.result.top_class >= 0]:
            counts[int(index)] = counts.get(int(index), 0) + 1
    return counts


class InvariancePlots(pg.GraphicsLayoutWidget):
    """Probability, distance and top-1 class plots, one set of items per image in :attr:`items`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.prob_plot = self.addPlot(row=0, col=0)
        self.distance_plot = self.addPlot(row=1, col=0)
        self.class_plot = self.addPlot(row=2, col=0)
        self.prob_plot.setLabel("left", "p(target)")
        self.prob_plot.setYRange(0, 1.02, padding=0)
        self.class_plot.setLabel("left", "top-1 (image)")
        for row, stretch in enumerate((3, 3, 1)):
            self.ci.layout.setRowStretchFactor(row, stretch)
        for plot in self.all_plots:
            plain_axes(plot)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(60)
            if plot is not self.prob_plot:
                plot.setXLink(self.prob_plot)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
                        for _ in range(3)]
        for plot, cursor in zip(self.all_plots, self.cursors):
            plot.addItem(cursor, ignoreBounds=True)
            cursor.hide()
        self.items: list[dict[str, Any]] = []  # per curve, its pyqtgraph items (untyped) by role
        """Per image drawn: its plot items by key ("prob", "classes", "distance:<layer>")."""

    @property
    def all_plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        """The probability, distance and class plots."""
        return self.prob_plot, self.distance_plot, self.class_plot

    def clear_curves(self) -> None:
        """Remove every curve and class tick; hide the cursor."""
        self.items = []
        for plot in self.all_plots:
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        self.show_cursor(None)
        self.class_plot.getAxis("left").setTicks([[]])

    def show_cursor(self, value: float | None) -> None:
        """Mark transform ``value`` on every plot (None: hide the mark)."""
        for cursor in self.cursors:
            if value is None:
                cursor.hide()
            else:
                cursor.setValue(value)
                cursor.show()

    def value_at(self, scene_pos: QPointF) -> float | None:
        """The transform value under ``scene_pos`` (scene coordinates), None outside the plots."""
        for plot in self.all_plots:
            if plot.sceneBoundingRect().contains(scene_pos):
                return float(plot.vb.mapSceneToView(scene_pos).x())
        return None

    def draw(self, curves: list[Curve], kind: str, relative: bool, colours: dict[int, QColor]) -> list[str]:
        """Draw ``curves`` (the first ones drawn before are updated, new ones added) of transform
        ``kind``, distances ``relative`` to ‖f(x)‖ or not, top-1 classes in ``colours``
        (:func:`curve_colours`); returns the compared layers in legend order."""
        unit = invariance.UNITS[kind]
        for plot in self.all_plots:
            plot.setLabel("bottom", f"{KIND_TITLES[kind].lower()} ({unit})")
        self.distance_plot.setLabel("left", "relative distance" if relative else "distance")
        self.items += [{} for _ in range(len(curves) - len(self.items))]
        layer_order = list(dict.fromkeys(name for curve in curves for name in curve.result.distance))
        for index, (curve, items) in enumerate(zip(curves, self.items)):
            self._draw_curve(index, curve, items, layer_order, relative, colours)
        self.class_plot.getAxis("left").setTicks([[(i, f"#{i + 1}") for i in range(len(curves))]])
        self.class_plot.setYRange(-0.6, len(curves) - 0.4, padding=0)
        return layer_order

    def _draw_curve(self, index: int, curve: Curve, items: dict[str, Any], layer_order: list[str],
                    relative: bool, colours: dict[int, QColor]) -> None:
        result = curve.result
        if "prob" not in items:
            items["prob"] = self.prob_plot.plot(pen=pg.mkPen(curve.colour, width=2), symbol="o", symbolSize=5,
                                                symbolBrush=curve.colour, symbolPen=None)
            items["classes"] = pg.ScatterPlotItem(symbol="s", size=9, pen=pg.mkPen(MARKER_PEN))
            self.class_plot.addItem(items["classes"])
        items["prob"].setData(result.values, result.prob, connect="finite")
        done = result.top_class >= 0
        items["classes"].setData(x=result.values[done], y=np.full(int(done.sum()), index),
                                 brush=[pg.mkBrush(colours[int(c)]) for c in result.top_class[done]])
        for name in result.distance:
            key = f"distance:{name}"
            style = LAYER_STYLES[layer_order.index(name) % len(LAYER_STYLES)]
            if key not in items:
                items[key] = self.distance_plot.plot(pen=pg.mkPen(curve.colour, width=2, style=style))
            data = result.relative_distance[name] if relative else result.distance[name]
            items[key].setData(result.values, data, connect="finite")
