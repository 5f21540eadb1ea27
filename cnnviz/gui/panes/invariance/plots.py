"""The plots of the Invariance pane: target probability, feature distances and top-1 class per value.

:class:`InvariancePlots` stacks the three plots (x axes linked): one line per image for the target
probability, one line per image and compared layer for the distance (colour: the image, pen style:
the layer) and a strip of class-coloured markers per image for the top-1 class; a dashed cursor marks
the value hovered. :func:`curve_text` describes one image's curves at a value.
"""

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QWidget

from cnnviz.core import invariance
from cnnviz.core.invariance import InvarianceResult
from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.class_colours import class_colour

KIND_TITLES = {"rotation": "Rotation", "vertical": "Vertical shift", "horizontal": "Horizontal shift",
               "scale": "Scale"}
LAYER_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
"""Pen style of each compared layer's distance curve, in list order (repeating)."""
IMAGE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
"""Line colour of each image's curves, in the order the images were added (repeating)."""


@dataclass(frozen=True)
class Curve:
    """One image's curves: its ``name``, the (possibly partial) ``result`` and its line ``colour``."""

    name: str
    result: InvarianceResult
    colour: str


def style_name(index: int) -> str:
    """The name of the pen style of the compared layer at ``index`` (see :data:`LAYER_STYLES`)."""
    return ("solid", "dashed", "dotted", "dash-dotted")[index % len(LAYER_STYLES)]


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
        legend_style = {"offset": (-10, 10), "brush": pg.mkBrush(255, 255, 255, 220),
                        "pen": pg.mkPen("#bbb"), "labelTextColor": "#222"}
        self.prob_legend = self.prob_plot.addLegend(**legend_style)
        self.distance_legend = self.distance_plot.addLegend(**legend_style)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
                        for _ in range(3)]
        for plot, cursor in zip(self.all_plots, self.cursors):
            plot.addItem(cursor, ignoreBounds=True)
            cursor.hide()
        self.items: list[dict[str, object]] = []
        """Per image drawn: its plot items by key ("prob", "classes", "distance:<layer>")."""

    @property
    def all_plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        """The probability, distance and class plots."""
        return self.prob_plot, self.distance_plot, self.class_plot

    def clear_curves(self) -> None:
        """Remove every curve, legend entry and class tick; hide the cursor."""
        self.items = []
        for plot in self.all_plots:
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        for legend in (self.prob_legend, self.distance_legend):
            legend.clear()
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

    def draw(self, curves: list[Curve], kind: str, relative: bool) -> list[str]:
        """Draw ``curves`` (the first ones drawn before are updated, new ones added) of transform
        ``kind``, distances ``relative`` to ‖f(x)‖ or not; returns the layers in legend order."""
        unit = invariance.UNITS[kind]
        for plot in self.all_plots:
            plot.setLabel("bottom", f"{KIND_TITLES[kind].lower()} ({unit})")
        self.distance_plot.setLabel("left", "relative distance" if relative else "‖f(T(x)) − f(x)‖")
        self.items += [{} for _ in range(len(curves) - len(self.items))]
        layer_order = list(dict.fromkeys(name for curve in curves for name in curve.result.distance))
        for index, (curve, items) in enumerate(zip(curves, self.items)):
            self._draw_curve(index, curve, items, layer_order, relative)
        self.class_plot.getAxis("left").setTicks([[(i, f"#{i + 1}") for i in range(len(curves))]])
        self.distance_legend.clear()
        for index, name in enumerate(layer_order):
            sample = pg.PlotDataItem(pen=pg.mkPen("#555", width=2, style=LAYER_STYLES[index % len(LAYER_STYLES)]))
            self.distance_legend.addItem(sample, name)
        self.class_plot.setYRange(-0.6, len(curves) - 0.4, padding=0)
        return layer_order

    def _draw_curve(self, index: int, curve: Curve, items: dict[str, object], layer_order: list[str],
                    relative: bool) -> None:
        result = curve.result
        label = f"#{index + 1} {curve.name}" + ("" if result.complete else " (partial)")
        if "prob" not in items:
            items["prob"] = self.prob_plot.plot(pen=pg.mkPen(curve.colour, width=2), symbol="o", symbolSize=5,
                                                symbolBrush=curve.colour, symbolPen=None, name=label)
            items["classes"] = pg.ScatterPlotItem(symbol="s", size=9, pen=pg.mkPen(curve.colour))
            self.class_plot.addItem(items["classes"])
        else:
            self.prob_legend.getLabel(items["prob"]).setText(label)
        items["prob"].setData(result.values, result.prob, connect="finite")
        done = result.top_class >= 0
        items["classes"].setData(x=result.values[done], y=np.full(int(done.sum()), index),
                                 brush=[pg.mkBrush(class_colour(int(c))) for c in result.top_class[done]])
        for name in result.distance:
            key = f"distance:{name}"
            style = LAYER_STYLES[layer_order.index(name) % len(LAYER_STYLES)]
            if key not in items:
                items[key] = self.distance_plot.plot(pen=pg.mkPen(curve.colour, width=2, style=style))
            data = result.relative_distance[name] if relative else result.distance[name]
            items[key].setData(result.values, data, connect="finite")
