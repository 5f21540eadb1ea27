"""One enlarged map or image with what the tool panes draw on it: a colour bar, a semi-transparent
overlay, a receptive-field box and a marked position; clicks and hovers report pixel positions.

:class:`MapCanvas` is the pyqtgraph view (aspect locked, row 0 at the top, pixels not smoothed);
:class:`MapPanel` adds a title above, a detail line below and an on-screen hint. Coordinates are image pixels
(row, col); pixel (r, c) covers [c, c+1) × [r, r+1) in the view, so an input-sized overlay lies
exactly on the input image.
"""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QWidget

from cnnviz.gui.widgets.atlas_view import make_colorbar, safe_levels, selection_pen, show_colorbar
from cnnviz.gui.widgets.colormaps import colormap
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.image_view import BACKGROUND
from cnnviz.gui.widgets.layouts import stack, wrapped_label
from cnnviz.gui.widgets.pointer import PointerReports

Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in image pixels, bottom and right exclusive."""


PREFERRED_SIZE = (220, 220)
"""A map canvas's preferred size in pixels (width, height)."""
MARGINS = (2, 6, 2, 6)
"""Pixels left around a canvas's map and colour bar (left, top, right, bottom): room for the colour bar's end
labels, not pyqtgraph's 9 px on every side."""
SPACING = 3
"""Pixels between the map and its colour bar."""


class MapCanvas(PointerReports, pg.GraphicsLayoutWidget):
    """An image (grey/colormapped [H, W] or RGB [H, W, 3]), an optional overlay, box and marker.

    Signals: ``clicked(row, col)`` for a left click on a pixel, ``hovered(row, col)`` for the pixel
    under the mouse ((-1, -1) when it leaves the image). ``zoomable``: wheel zoom and drag pan (a
    double click fits the image again).
    """

    clicked = Signal(int, int)
    hovered = Signal(int, int)

    def __init__(self, colorbar: bool = False, zoomable: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.layout.setContentsMargins(*MARGINS)
        self.ci.layout.setSpacing(SPACING)
        self.view_box = self.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False,
                                        enableMouse=zoomable, defaultPadding=0.0)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.overlay_item = pg.ImageItem(axisOrder="row-major")
        self.overlay_item.setZValue(1)
        self.view_box.addItem(self.image_item)
        self.view_box.addItem(self.overlay_item)
        self.box_item = QGraphicsRectItem(self.image_item)
        self.box_item.setPen(selection_pen())
        self.box_item.setZValue(2)
        self.box_item.hide()
        self.marker_item = QGraphicsRectItem(self.image_item)
        self.marker_item.setPen(selection_pen(2.5))
        self.marker_item.setZValue(3)
        self.marker_item.hide()
        self.colorbar = make_colorbar() if colorbar else None
        if self.colorbar is not None:
            self.addItem(self.colorbar, row=0, col=1)
            self.colorbar.hide()
        self.image: np.ndarray | None = None
        self.overlay: np.ndarray | None = None
        self.setMinimumSize(80, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.track_pointer((-1, -1))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """:data:`PREFERRED_SIZE`: a figure's rows are laid out from it (pyqtgraph's own hint, 640×480, made a
        two-row figure twice as high as a laptop's pane, so that it scrolled); the canvas still grows to fill."""
        return QSize(*PREFERRED_SIZE)

    def set_image(self, array: np.ndarray, levels: tuple[float, float] = (0.0, 1.0),
                  colormap_name: str = "grey") -> None:
        """Show ``array``: [H, W] through ``colormap_name`` over ``levels``, or [H, W, 3] as RGB
        with ``levels`` mapping to black..full colour. The view is fitted when the size changes."""
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        fit = self.image is None or self.image.shape[:2] != array.shape[:2]
        self.image = array
        if array.ndim == 2:
            self.image_item.setColorMap(colormap(colormap_name))
        else:
            self.image_item.setLookupTable(None)
        self.image_item.setImage(array, autoLevels=False, levels=safe_levels(levels))
        if fit:
            self.fit()

    def set_overlay(self, array: np.ndarray | None, levels: tuple[float, float] = (0.0, 1.0),
                    colormap_name: str = "viridis", opacity: float = 0.5) -> None:
        """Draw map ``array`` [H, W] (the image's size) over the image through ``colormap_name``,
        with ``opacity`` in [0, 1]; None removes the overlay."""
        self.overlay = array
        if array is None:
            self.overlay_item.clear()
            return
        self.overlay_item.setColorMap(colormap(colormap_name))
        self.overlay_item.setImage(array, autoLevels=False, levels=safe_levels(levels))
        self.overlay_item.setOpacity(opacity)

    def set_opacity(self, opacity: float) -> None:
        """Opacity of the overlay, in [0, 1]."""
        self.overlay_item.setOpacity(opacity)

    def set_colorbar(self, values: tuple[float, float], colormap_name: str, label: str = "") -> None:
        """Show the colour bar for ``values`` in ``colormap_name`` (only for a canvas built with one)."""
        show_colorbar(self.colorbar, values, colormap_name, label)

    def set_box(self, box: Box | None) -> None:
        """Outline ``box`` (top, left, bottom, right), or nothing for None."""
        if box is None:
            self.box_item.hide()
            return
        top, left, bottom, right = box
        self.box_item.setRect(QRectF(left, top, right - left, bottom - top))
        self.box_item.show()

    def set_marker(self, position: tuple[int, int] | None) -> None:
        """Outline pixel ``position`` (row, col), or nothing for None."""
        if position is None:
            self.marker_item.hide()
            return
        row, col = position
        self.marker_item.setRect(QRectF(col, row, 1, 1))
        self.marker_item.show()

    def clear_image(self) -> None:
        """Show nothing (no image, overlay, box or marker)."""
        self.image = self.overlay = None
        self.image_item.clear()
        self.overlay_item.clear()
        self.box_item.hide()
        self.marker_item.hide()
        if self.colorbar is not None:
            self.colorbar.hide()

    def fit(self) -> None:
        """Zoom so that the whole image is visible."""
        if self.image is not None:
            height, width = self.image.shape[:2]
            self.view_box.setRange(QRectF(0, 0, width, height), padding=0.0)

    def double_clicked(self) -> None:
        """Fit the whole image again."""
        self.fit()

    def item_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(row, col) of the image pixel under scene position ``scene_pos``, or None."""
        if self.image is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.image_item.mapFromScene(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        height, width = self.image.shape[:2]
        return (row, col) if 0 <= row < height and 0 <= col < width else None

    def scene_point(self, row: int, col: int) -> QPointF:
        """Scene position of the centre of pixel (row, col) (for tests and automation)."""
        return self.image_item.mapToScene(QPointF(col + 0.5, row + 0.5))


class MapPanel(QWidget):
    """A :class:`MapCanvas` with a bold ``title`` above, a ``detail`` line below and a ``hint`` line
    under it that exports leave out (:meth:`set_hint`)."""

    def __init__(self, title: str = "", colorbar: bool = False, zoomable: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.canvas = MapCanvas(colorbar=colorbar, zoomable=zoomable)
        self.detail = wrapped_label(selectable=True)
        self.hint = QLabel()
        self.hint.setVisible(False)
        mark_transient(self.hint)
        stack(self, self.title, self.canvas, self.detail, self.hint, spacing=2)
        # the room a layout has left goes to the map, not to the lines of text beside the panel
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_title(title)

    def set_title(self, text: str) -> None:
        """Set the (rich-text) title; shown bold."""
        self.title.setText(f"<b>{text}</b>" if text else "")

    def set_hint(self, text: str) -> None:
        """Show ``text`` (what to do next, e.g. "click to pick a position") under the detail line; left
        out of exports, hidden when empty."""
        self.hint.setText(text)
        self.hint.setVisible(bool(text))
