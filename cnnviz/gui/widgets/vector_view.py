"""A bar chart of a 1-D layer output (fully connected layers, logits): one horizontal bar per unit.

Units are listed top to bottom in a chosen order, labelled with their class names where the output
is the model's class scores, else with their index (every unit up to :data:`MAX_LABELS` units, a
regular subset beyond). Hovering emits ``hovered(index)`` (-1 for none); a left click emits
``clicked(index)``; the selected unit's bar is highlighted.
"""

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QWidget

from cnnviz.gui.widgets.atlas_view import SELECTION_COLOUR
from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.image_view import BACKGROUND
from cnnviz.gui.widgets.pointer import PointerReports

MAX_LABELS = 40
BAR_COLOUR = "#3d7ebf"
BAR_HEIGHT = 0.8


class VectorView(PointerReports, pg.PlotWidget):
    """Horizontal bars of ``values[order[slot]]`` at row ``slot``; see the module docstring.

    ``labels`` are the axis texts of the units, in slot order (for every slot, shown or not).
    """

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.plot_item = self.getPlotItem()
        plain_axes(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.invertY(True)
        self.plot_item.showGrid(x=True, alpha=0.25)
        self.plot_item.setLabel("bottom", "value")
        self.plot_item.getViewBox().setMouseEnabled(x=False, y=True)
        self.bars: pg.BarGraphItem | None = None
        self.values = np.zeros(0, dtype=np.float32)
        self.order: list[int] = []
        self.labels: list[str] = []
        self.selected: int | None = None
        self.setMinimumSize(160, 120)
        self.track_pointer(-1)

    def show_values(self, values: np.ndarray, order: list[int], names: list[str] | None = None) -> None:
        """Show ``values`` [C] in ``order``; ``names`` [C] label the units (None: their index)."""
        self.values = np.asarray(values, dtype=np.float32)
        self.order = list(order)
        self.labels = [names[i] if names else str(i) for i in self.order]
        step = 1 if len(self.order) <= MAX_LABELS else math.ceil(len(self.order) / MAX_LABELS)
        ticks = [(slot, self.labels[slot]) for slot in range(0, len(self.order), step)]
        self.plot_item.getAxis("left").setTicks([ticks, []])
        if self.bars is not None:
            self.plot_item.removeItem(self.bars)
        shown = self.values[self.order] if self.order else self.values[:0]
        slots = np.arange(len(self.order), dtype=np.float64)
        self.bars = pg.BarGraphItem(x0=np.minimum(shown, 0), x1=np.maximum(shown, 0), y=slots,
                                    height=BAR_HEIGHT, brushes=self._brushes(), pen=None)
        self.plot_item.addItem(self.bars)
        low, high = float(min(0.0, shown.min(initial=0.0))), float(max(0.0, shown.max(initial=0.0)))
        self.plot_item.setXRange(low, high if high > low else low + 1.0, padding=0.05)
        self.plot_item.setYRange(-0.5, max(len(self.order), 1) - 0.5, padding=0.0)

    def select(self, index: int | None) -> None:
        """Highlight unit ``index`` (None: no highlight)."""
        self.selected = index
        if self.bars is not None:
            self.bars.setOpts(brushes=self._brushes())

    def item_at(self, scene_pos: QPointF) -> int | None:
        """Unit whose bar row is under scene position ``scene_pos``, or None."""
        box = self.plot_item.getViewBox()
        if not self.order or not box.sceneBoundingRect().contains(scene_pos):
            return None
        slot = round(box.mapSceneToView(scene_pos).y())
        return self.order[slot] if 0 <= slot < len(self.order) else None

    def scene_centre(self, index: int) -> QPointF:
        """Scene position on the bar row of unit ``index`` (for tests and automation)."""
        box = self.plot_item.getViewBox()
        x_range = box.viewRange()[0]
        return box.mapViewToScene(QPointF(sum(x_range) / 2, self.order.index(index)))

    def _brushes(self) -> list[QBrush]:
        normal, chosen = pg.mkBrush(BAR_COLOUR), pg.mkBrush(SELECTION_COLOUR)
        return [chosen if i == self.selected else normal for i in self.order]
