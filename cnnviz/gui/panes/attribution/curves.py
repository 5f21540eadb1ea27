"""The curves plot of the Attribution pane: deletion and insertion curves (target probability against
the share of pixels changed) and, once computed, the randomisation curve (rank correlation with the
original map against the layers re-initialised from the top), one line per map in its column's colour."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.gui.panes.attribution.jobs import PanelResult


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#222", size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=(-4, 4), labelTextColor="#222", labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 200),
                   verSpacing=-8)
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
        for plot in self.plots:
            plot.getPlotItem().clear()
            plot.getPlotItem().legend.clear()
        self.random_plot.hide()

    def show_results(self, lines: list[tuple[str, str, PanelResult]]) -> None:
        """Draw (label, colour, result) lines: each result's curves that are computed."""
        self.clear()
        randomised = False
        for label, colour, result in lines:
            pen = pg.mkPen(colour, width=2)
            for plot, curve in ((self.deletion_plot, result.deletion), (self.insertion_plot, result.insertion)):
                if curve is not None:
                    plot.plot(np.asarray(curve.fractions, dtype=float), np.asarray(curve.probabilities, dtype=float),
                              pen=pen, name=f"{label} ({curve.auc:.3f})")
            if result.randomisation:
                randomised = True
                self._randomisation(label, colour, result.randomisation)
        self.random_plot.setVisible(randomised)

    def _randomisation(self, label: str, colour: str, records: tuple) -> None:
        """Spearman ρ (solid, with markers) and SSIM (dashed) of each step's map with the original map."""
        steps = np.arange(len(records), dtype=float)
        pen = pg.mkPen(colour, width=2)
        self.random_plot.plot(steps, np.asarray([r.spearman for r in records], dtype=float), pen=pen, name=label,
                              symbol="o", symbolSize=5, symbolPen=pen, symbolBrush=pen.color())
        self.random_plot.plot(steps, np.asarray([r.ssim for r in records], dtype=float),
                              pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))

    def line_counts(self) -> tuple[int, int, int]:
        """How many lines each plot shows (deletion, insertion, randomisation)."""
        return tuple(len(p.getPlotItem().listDataItems()) for p in self.plots)  # type: ignore[return-value]
