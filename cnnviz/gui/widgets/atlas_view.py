"""A zoomable grid of many small maps (filters, feature maps) drawn as ONE image, with a colour bar.

The grid is a :class:`~cnnviz.core.per_dataset.atlas.Atlas` shown by a single pyqtgraph ``ImageItem``, so 512
feature maps cost one texture, not 512 widgets. The mouse position is mapped back to the map under
it with :meth:`Atlas.slot_at <cnnviz.core.per_dataset.atlas.Atlas.slot_at>`: hovering emits ``hovered(index)``
(-1 over a gap or outside) and a left click emits ``clicked(index)``. Wheel zooms, dragging pans and
a double click fits the whole grid again.
"""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from cnnviz.core.per_dataset.atlas import Atlas
from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.colormaps import colormap
from cnnviz.gui.widgets.image_view import BACKGROUND
from cnnviz.gui.widgets.pointer import PointerReports

SELECTION_COLOUR = "#ff9800"
PADDING = 0.01
"""Fraction of the grid's size left around it when fitted."""
COLORBAR_WIDTH = 10
"""Width in pixels of a colour bar's colour strip (its tick labels come beside it)."""


def make_colorbar() -> pg.ColorBarItem:
    """A read-only vertical colour bar (no handles, no colormap menu) for a graphics layout; its
    ticks give the values (:func:`~cnnviz.gui.widgets.axes.plain_axes`)."""
    colorbar = pg.ColorBarItem(width=COLORBAR_WIDTH, interactive=False, colorMapMenu=False)
    plain_axes(colorbar)
    return colorbar


def show_colorbar(colorbar: pg.ColorBarItem | None, values: tuple[float, float], colormap_name: str,
                  label: str = "") -> None:
    """Show ``colorbar`` for ``values`` (low, high) in colormap ``colormap_name`` with an axis ``label``
    (nothing for None: a view built without a colour bar)."""
    if colorbar is None:
        return
    colorbar.setColorMap(colormap(colormap_name))
    colorbar.setLevels(safe_levels(values))
    colorbar.getAxis("right").setLabel(label or None)
    colorbar.show()


def tile_gap(tile: tuple[int, int]) -> int:
    """Pixels between tiles of size ``tile`` (h, w) in an atlas: 1, or a sixteenth of the larger side."""
    return max(1, max(tile) // 16)


def safe_levels(levels: tuple[float, float]) -> tuple[float, float]:
    """``levels`` (low, high) widened to a non-empty range, so that a constant map still gets a colour."""
    low, high = float(levels[0]), float(levels[1])
    if not high > low:
        return low - 0.5, low + 0.5
    return low, high


def selection_pen(width: float = 2.0) -> QPen:
    """A cosmetic (zoom-independent) pen for selection outlines and boxes."""
    pen = QPen(QColor(SELECTION_COLOUR))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    return pen


class AtlasView(PointerReports, pg.GraphicsLayoutWidget):
    """One atlas image with a selection outline and a colour bar; see the module docstring.

    ``atlas`` is the atlas shown (None before the first); ``image_item`` and ``colorbar`` (None when
    built with ``colorbar=False``) are the pyqtgraph items; the colour bar says which values the
    colours stand for.
    """

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, colorbar: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.view_box = self.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False,
                                        defaultPadding=PADDING)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.outline = QGraphicsRectItem(self.image_item)
        self.outline.setPen(selection_pen())
        self.outline.hide()
        self.colorbar = make_colorbar() if colorbar else None
        if self.colorbar is not None:
            self.addItem(self.colorbar, row=0, col=1)
        self.atlas: Atlas | None = None
        self.selected: int | None = None
        self.setMinimumSize(160, 120)
        self.track_pointer(-1)

    def show_atlas(self, atlas: Atlas, levels: tuple[float, float], colormap_name: str | None) -> None:
        """Show ``atlas``: a single-channel atlas through ``colormap_name`` over ``levels``, a colour
        atlas ([..., 3], values in ``levels``) as RGB (``colormap_name`` None)."""
        shape_changed = self.atlas is None or self.atlas.image.shape[:2] != atlas.image.shape[:2]
        self.atlas = atlas
        if atlas.image.ndim == 2 and colormap_name is not None:
            self.image_item.setColorMap(colormap(colormap_name))
        else:
            self.image_item.setLookupTable(None)
        self.image_item.setImage(atlas.image, autoLevels=False, levels=safe_levels(levels))
        self.select(self.selected if self.selected is not None and self.selected in atlas.order else None)
        if shape_changed:
            self.fit()

    def set_colorbar(self, values: tuple[float, float], colormap_name: str, label: str = "") -> None:
        """Show the colour bar for ``values`` in colormap ``colormap_name`` with an axis ``label``
        (nothing for a view built without one)."""
        show_colorbar(self.colorbar, values, colormap_name, label)

    def clear_image(self) -> None:
        """Show nothing."""
        self.atlas = None
        self.selected = None
        self.image_item.clear()
        self.outline.hide()

    def fit(self) -> None:
        """Zoom so that the whole grid is visible."""
        self.view_box.autoRange(padding=PADDING)

    def double_clicked(self) -> None:
        """Fit the whole grid again."""
        self.fit()

    def select(self, index: int | None) -> None:
        """Outline map ``index`` (None: no outline)."""
        self.selected = index
        if self.atlas is None or index is None or index not in self.atlas.order:
            self.outline.hide()
            return
        top, left = self.atlas.origin(index)
        height, width = self.atlas.tile
        self.outline.setRect(QRectF(left, top, width, height))
        self.outline.show()

    def item_at(self, scene_pos: QPointF) -> int | None:
        """Index of the map under scene position ``scene_pos``, or None."""
        if self.atlas is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.image_item.mapFromScene(scene_pos)
        return self.atlas.slot_at(point.y(), point.x())

    def scene_centre(self, index: int) -> QPointF:
        """Scene position of the centre of map ``index`` (for tests and automation)."""
        if self.atlas is None:
            raise ValueError("no atlas is shown")
        top, left = self.atlas.origin(index)
        height, width = self.atlas.tile
        return self.image_item.mapToScene(QPointF(left + width / 2, top + height / 2))

    def tile_array(self, index: int) -> np.ndarray:
        """The pixels of map ``index`` as shown in the atlas."""
        if self.atlas is None:
            raise ValueError("no atlas is shown")
        top, left = self.atlas.origin(index)
        height, width = self.atlas.tile
        return self.atlas.image[top:top + height, left:left + width]
