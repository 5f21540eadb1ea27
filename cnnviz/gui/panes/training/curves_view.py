"""The Training pane's live learning curves: loss (left) and top-1 / top-3 accuracy (right) by epoch, for the
runs shown (from their folders) and the run in progress (its epochs so far and, within the current epoch, the
running mean of its training loss after each batch)."""

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.analyses.curves import RUN_COLOURS
from cnnviz.core.training.metrics import EpochMetrics
from cnnviz.core.training.runs import METRICS, SPLITS, RunRecord
from cnnviz.gui.widgets.axes import plain_axes

LIVE_COLOUR = "#000000"
"""The run in progress."""
STYLES = {"train": Qt.PenStyle.DashLine, "val": Qt.PenStyle.SolidLine}


def history_table(history: Sequence[EpochMetrics]) -> np.ndarray:
    """``history`` as [epochs, 2 (train, val), 3 (loss, top-1, top-3)], NaN where missing (as
    :meth:`~cnnviz.core.training.runs.RunRecord.table`)."""
    count = max((row.epoch for row in history), default=0)
    table = np.full((count, len(SPLITS), len(METRICS)), np.nan)
    for row in history:
        if row.split in SPLITS:
            table[row.epoch - 1, SPLITS.index(row.split)] = [getattr(row, m) for m in METRICS]
    return table


class CurvesView(QWidget):
    """Two plots; :meth:`show_runs` draws saved runs, :meth:`show_live` the run in progress. ``lines``: the
    plotted curves by (run label, split, score) for the tests and the hover text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot, self.accuracy_plot = pg.PlotWidget(), pg.PlotWidget()
        for plot, title, label in ((self.loss_plot, "Loss", "cross-entropy (nats per image)"),
                                   (self.accuracy_plot, "Accuracy (top-1; top-3 thin)", "accuracy")):
            plot.setBackground("w")
            plain_axes(plot)
            item = plot.getPlotItem()
            item.setTitle(title, color="k")
            item.setLabel("bottom", "epoch")
            item.setLabel("left", label)
            item.showGrid(x=True, y=True, alpha=0.2)
            plot.setMinimumSize(260, 220)
        self.accuracy_plot.setYRange(0, 1.02)
        self.key = QLabel("Solid: validation · dashed: training · thin: top-3 · black: the run in progress (its "
                          "thin line: the epoch's running mean training loss) · colours: as in the run list")
        self.key.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(plots, 1)
        layout.addWidget(self.key)
        self.lines: dict[tuple[str, str, str], np.ndarray] = {}
        self._saved: list[pg.PlotDataItem] = []
        self._live: list[pg.PlotDataItem] = []

    def clear(self) -> None:
        """Remove every curve."""
        self._remove(self._saved)
        self._remove(self._live)
        self.lines.clear()

    def show_runs(self, records: Sequence[RunRecord], labels: Sequence[str], colours: Sequence[str] = ()) -> None:
        """Draw the saved ``records`` (named by ``labels``, in ``colours``: default the run colours in order),
        replacing those drawn before."""
        self._remove(self._saved)
        self.lines = {key: value for key, value in self.lines.items() if key[0] == "live"}
        for index, (record, label) in enumerate(zip(records, labels)):
            colour = colours[index] if index < len(colours) else RUN_COLOURS[index % len(RUN_COLOURS)]
            self._saved += self._draw(label, record.table(), colour)

    def clear_live(self) -> None:
        """Remove the run in progress."""
        self._remove(self._live)
        self.lines = {key: value for key, value in self.lines.items() if key[0] != "live"}

    def show_live(self, label: str, history: Sequence[EpochMetrics], batches: tuple[np.ndarray, np.ndarray]) -> None:
        """Draw the run in progress: its ``history`` so far and ``batches`` (x: fractional epoch, y: the
        epoch's running mean training loss)."""
        self.clear_live()
        self._live = self._draw("live", history_table(history), LIVE_COLOUR, name=label)
        x, y = batches
        if len(x):
            pen = pg.mkPen(LIVE_COLOUR, width=1)
            item = self.loss_plot.plot(x, y, pen=pen, name=f"{label}: training loss, running mean")
            self._live.append(item)
            self.lines[("live", "batches", "loss")] = np.asarray(y)

    def _draw(self, key: str, table: np.ndarray, colour: str, name: str = "") -> list[pg.PlotDataItem]:
        items = []
        epochs = np.arange(1, len(table) + 1)
        for at, split in enumerate(SPLITS):
            style = STYLES[split]
            legend = f"{name or key}, {'validation' if split == 'val' else 'training'}"
            finite = np.isfinite(table[:, at, 0])
            if not finite.any():
                continue
            items.append(self.loss_plot.plot(epochs[finite], table[finite, at, 0], name=legend, symbol="o",
                                             symbolSize=5, symbolBrush=colour,
                                             pen=pg.mkPen(colour, width=2, style=style)))
            items.append(self.accuracy_plot.plot(epochs[finite], table[finite, at, 1], symbol="o", symbolSize=5,
                                                 symbolBrush=colour, pen=pg.mkPen(colour, width=2, style=style)))
            items.append(self.accuracy_plot.plot(epochs[finite], table[finite, at, 2],
                                                 pen=pg.mkPen(colour, width=1, style=style)))
            for score, column in (("loss", 0), ("top1", 1), ("top3", 2)):
                self.lines[(key, split, score)] = table[finite, at, column]
        return items

    def _remove(self, items: list[pg.PlotDataItem]) -> None:
        for item in items:
            for plot in (self.loss_plot, self.accuracy_plot):
                if item.getViewBox() is plot.getPlotItem().getViewBox():
                    plot.removeItem(item)
        items.clear()
