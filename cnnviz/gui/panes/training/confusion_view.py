"""The Training pane's confusion matrix: the confusion analysis's matrix of a run's checkpoint (counts in the
cells, coloured by count or by share of the true class), class names along the axes; a click on a cell lists
its images, most confident first, as thumbnails captioned with their predicted class and probability."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from cnnviz.analyses.confusion import ConfusionResult
from cnnviz.gui.panes.training.plots import tab_plot, title_label
from cnnviz.gui.widgets.colormaps import lookup_table
from cnnviz.gui.widgets.thumbnails import ThumbGrid, Tile

MAX_CELL_TEXTS = 30
"""Above this many classes the cells show no counts (hover shows them)."""
MAX_TILES = 60
"""Most thumbnails listed for a cell."""


def cell_tiles(result: ConfusionResult, true: int, predicted: int, pictures: list) -> list[Tile]:
    """The tiles of a cell's images (``pictures``: their thumbnails, in :meth:`ConfusionResult.cell` order)."""
    p = result.predictions
    tiles = []
    for slot, picture in zip(result.cell(true, predicted)[:MAX_TILES], pictures):
        image = int(p.indices[slot])
        caption = f"{result.classes[predicted]} {p.probabilities[slot, 0]:.0%}"
        tip = (f"{result.images.files[image]}: true {result.classes[true]}, predicted "
               f"{result.classes[predicted]} (p = {p.probabilities[slot, 0]:.3f})")
        tiles.append(Tile(image, picture, caption, tip))
    return tiles


class ConfusionView(QWidget):
    """The matrix plot (``plot``, its ``image`` item) above the ``cells`` grid; ``cell_clicked(true, predicted)``
    is emitted by a click on a cell; ``result``: the result shown (None: none)."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: ConfusionResult | None = None
        self.normalised = False
        self.plot, image = tab_plot(picture=True)
        assert image is not None
        self.image = image
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "predicted (top-1), by class number")
        item.setLabel("left", "true class")
        self.texts: list[pg.TextItem] = []
        self.title = title_label("Choose a run in the list, then Confusion.")
        self.cells = ThumbGrid()
        self.cells.setToolTip("The images of the cell clicked, most confident first")
        self.cells.setMinimumHeight(100)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.cells)
        splitter.setSizes([300, 110])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        self.image.mouseClickEvent = self._clicked

    def show_result(self, result: ConfusionResult | None, normalised: bool = False) -> None:
        """Draw ``result`` (None: empty); ``normalised``: colour by share of the true class."""
        self.result, self.normalised = result, normalised
        for text in self.texts:
            self.plot.removeItem(text)
        self.texts.clear()
        self.cells.clear()
        if result is None:
            self.image.clear()
            self.title.setText("Choose a run in the list, then Confusion.")
            return
        counts = result.counts()
        values = np.nan_to_num(result.normalised()) if normalised else counts.astype(float)
        self.image.setImage(values, levels=(0.0, 1.0 if normalised else max(1.0, float(values.max()))),
                            lut=lookup_table("viridis"), axisOrder="row-major")
        self._label_axes(result)
        if len(result.classes) <= MAX_CELL_TEXTS:
            self._write_counts(counts, values)
        m = result.metrics
        self.title.setText(f"Epoch {result.epoch} on {result.images.name}: {m.count} images · top-1 {m.top1:.3f} · "
                           f"top-3 {m.top3:.3f} · log-loss {m.loss:.3f} · click a cell for its images")
        self.title.setToolTip(f"{result.run}, epoch {result.epoch}, on {result.images.name}")

    def show_cell(self, tiles: list[Tile]) -> None:
        """List a cell's images."""
        self.cells.show_tiles(tiles)

    def _label_axes(self, result: ConfusionResult) -> None:
        k = len(result.classes)
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setTicks([[(i + 0.5, str(i)) for i in range(k)]])
        item.getAxis("left").setTicks([[(i + 0.5, f"{name[:14]} {i}") for i, name in enumerate(result.classes)]])
        item.getViewBox().setRange(xRange=(0, k), yRange=(0, k), padding=0.02)

    def _write_counts(self, counts: np.ndarray, values: np.ndarray) -> None:
        top = max(float(values.max()), 1e-9)
        for true in range(counts.shape[0]):
            for predicted in range(counts.shape[1]):
                colour = "k" if values[true, predicted] / top > 0.6 else "w"
                text = pg.TextItem(str(counts[true, predicted]), color=colour, anchor=(0.5, 0.5))
                text.setPos(predicted + 0.5, true + 0.5)
                self.plot.addItem(text)
                self.texts.append(text)

    def _clicked(self, event: object) -> None:
        position = event.pos() if hasattr(event, "pos") else QPointF()
        if self.result is None:
            return
        true, predicted = int(position.y()), int(position.x())
        k = len(self.result.classes)
        if 0 <= true < k and 0 <= predicted < k:
            self.cell_clicked.emit(true, predicted)
