"""The curves plot of the Attribution pane: deletion and insertion curves (target probability against
the share of pixels changed) and, once computed, the randomisation curve (rank correlation with the
original map against the layers re-initialised from the top), one line per map in its column's colour. The
plots have no legend drawn over the lines: the colours are those of the squares before the maps' titles, and
each map's areas under the curves are written under it."""

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.analyses.attribution import Map
from cnnviz.gui.widgets.axes import plain_axes

KINDS = ("deletion", "insertion", "randomisation")
"""The curves of a map (its fields), in the order of the plots."""


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plain_axes(plot)
    plot.setTitle(title, color="#222", size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMinimumHeight(140)
    return plot


class CurvesPlot(QWidget):
    """Deletion, insertion and randomisation plots side by side (the last hidden until a test ran)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.deletion_plot = _plot("Deletion (lower area: more faithful)", "p(target)", "share of pixels removed")
        self.insertion_plot = _plot("Insertion (higher area: more faithful)", "p(target)",
                                    "share of pixels inserted")
        self.random_plot = _plot("Randomisation (ρ solid, SSIM dashed)", "similarity to the map",
                                 "layer groups re-initialised")
        for plot in (self.deletion_plot, self.insertion_plot):
            plot.setYRange(0, 1, padding=0.02)
        self.random_plot.setYRange(-1, 1, padding=0.02)
        self.random_plot.hide()
        self._items: dict[tuple[int, str], tuple[tuple[str, str, Any], list[pg.PlotDataItem]]] = {}
        """(column, kind) -> ((label, colour, curve or records), the plot items drawing it)."""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for plot in (self.deletion_plot, self.insertion_plot, self.random_plot):
            layout.addWidget(plot, 1)

    @property
    def plots(self) -> tuple[pg.PlotWidget, pg.PlotWidget, pg.PlotWidget]:
        """The deletion, insertion and randomisation plots."""
        return self.deletion_plot, self.insertion_plot, self.random_plot

    def clear(self) -> None:
        """Remove every line."""
        for key in list(self._items):
            self._remove(key)
        self.random_plot.hide()

    def show_maps(self, lines: list[tuple[str, str, Map | None]]) -> None:
        """Draw (label, colour, map) lines: each map's curves that are computed (none for a map not computed yet).
        Only the lines whose curve, label or colour changed are drawn again."""
        wanted: dict[tuple[int, str], tuple[str, str, Any]] = {}
        for slot, (label, colour, item) in enumerate(lines):
            for kind in KINDS:
                value = getattr(item, kind) if item is not None else None
                if (bool(value) if kind == "randomisation" else value is not None):
                    wanted[(slot, kind)] = (label, colour, value)
        for key, (source, _items) in list(self._items.items()):
            new = wanted.get(key)
            if new is None or new[:2] != source[:2] or new[2] is not source[2]:
                self._remove(key)
        for key, source in wanted.items():
            if key not in self._items:
                self._items[key] = (source, self._draw(key[1], *source))
        self.random_plot.setVisible(any(kind == "randomisation" for _slot, kind in self._items))

    def _remove(self, key: tuple[int, str]) -> None:
        _source, items = self._items.pop(key)
        plot = self.plots[KINDS.index(key[1])]
        for item in items:
            plot.removeItem(item)

    def _draw(self, kind: str, label: str, colour: str, value: Any) -> list[pg.PlotDataItem]:
        pen = pg.mkPen(colour, width=2)
        if kind != "randomisation":
            plot = self.deletion_plot if kind == "deletion" else self.insertion_plot
            return [plot.plot(np.asarray(value.fractions, dtype=float), np.asarray(value.probabilities, dtype=float),
                              pen=pen, name=f"{label} ({value.auc:.3f})")]
        steps = np.arange(len(value), dtype=float)
        return [self.random_plot.plot(steps, np.asarray([r.spearman for r in value], dtype=float), pen=pen, name=label,
                                      symbol="o", symbolSize=5, symbolPen=pen, symbolBrush=pen.color()),
                self.random_plot.plot(steps, np.asarray([r.ssim for r in value], dtype=float),
                                      pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))]

    def line_counts(self) -> tuple[int, int, int]:
        """How many lines each plot shows (deletion, insertion, randomisation)."""
        return tuple(len(p.getPlotItem().listDataItems()) for p in self.plots)  # type: ignore[return-value]
