"""The map of the Feature space pane: every image as one point of a single pyqtgraph ScatterPlotItem
(pixel-sized points, one brush per class, unlabelled images grey), with a caption above it. The view keeps one
data unit as many pixels across as up (its aspect is locked), fitting each new map and following resizes.

Hovering looks up the nearest visible point (one vectorised distance over all points, in screen
pixels) and emits ``hovered(row)``; a click on a point emits ``clicked(row)``; dragging with Shift, or
in the "rect"/"lasso" select modes, draws a rectangle or a free outline and emits ``selected(rows)``
with the visible points inside. Rows are rows of the map's features.
"""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QStackedWidget, QVBoxLayout, QWidget

from cnnviz.gui.widgets.axes import plain_axes
from cnnviz.gui.widgets.class_colours import class_colour
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.image_view import BACKGROUND

POINT_SIZE = 5
HOVER_RADIUS = 8
"""Farthest a point may be from the pointer, in screen pixels, to count as hovered or clicked."""
UNLABELLED = -1
UNLABELLED_COLOUR = QColor(150, 150, 150)
SELECT_MODES = ("", "rect", "lasso")
EMPTY_TEXT = ("The map shows each image of the dataset as a point, placed by the features of the chosen layer: "
              "choose a dataset and a layer, then Compute (Ctrl+R).")
"""What an empty map's place says."""
EMPTY_STYLE = f"QLabel {{ background: {BACKGROUND}; color: #d8d8d8; padding: 24px; }}"


def colour_of(label: int) -> QColor:
    """The colour of class ``label`` (:data:`UNLABELLED`: grey)."""
    return UNLABELLED_COLOUR if label == UNLABELLED else class_colour(label)


def point_labels(labels: np.ndarray | None, count: int) -> np.ndarray:
    """Class of each of ``count`` points [count] int64, :data:`UNLABELLED` without labels."""
    return np.full(count, UNLABELLED, np.int64) if labels is None else np.asarray(labels, np.int64)


def nearest(xy: np.ndarray, visible: np.ndarray, point: tuple[float, float], pixel: tuple[float, float],
            radius: float = HOVER_RADIUS) -> int | None:
    """Row of the visible point of ``xy`` [N, 2] nearest to ``point`` when within ``radius`` screen pixels
    (``pixel``: data units per pixel in x and y), else None."""
    if not len(xy) or not visible.any():
        return None
    dx = (xy[:, 0] - point[0]) / max(abs(pixel[0]), 1e-300)
    dy = (xy[:, 1] - point[1]) / max(abs(pixel[1]), 1e-300)
    distance = np.where(visible, dx * dx + dy * dy, np.inf)
    row = int(np.argmin(distance))
    return row if distance[row] <= radius * radius else None


def inside(xy: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Which points of ``xy`` [N, 2] lie inside the polygon ``outline`` [M, 2] (even-odd rule) [N] bool."""
    result = np.zeros(len(xy), dtype=bool)
    if len(outline) < 3:
        return result
    x, y = xy[:, 0], xy[:, 1]
    for (x0, y0), (x1, y1) in zip(outline, np.roll(outline, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        result ^= crosses & (x < at)
    return result


class SelectBox(pg.ViewBox):
    """A ViewBox whose left drag draws a selection outline (with Shift, or always in a select mode)
    instead of panning; emits ``outlined(outline [M, 2] in data coordinates)``."""

    outlined = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.mode = ""
        self._trace: list[QPointF] = []
        self._shape = QGraphicsPathItem()
        self._shape.setPen(pg.mkPen("#ffd54f", width=1.5, style=Qt.PenStyle.DashLine))
        self._shape.setZValue(10)
        self._shape.hide()
        self.addItem(self._shape, ignoreBounds=True)
        mark_transient(self._shape)  # the selection being drawn

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        """Draw the selection outline on a left drag in a select mode or with Shift, else pan/zoom."""
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if ev.button() != Qt.MouseButton.LeftButton or not (self.mode or shift):
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        lasso = self.mode == "lasso" and not shift
        start, here = self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos())
        if ev.isStart() or not self._trace:
            self._trace = [start]
        if lasso:
            self._trace.append(here)
        else:
            self._trace = [start, QPointF(here.x(), start.y()), here, QPointF(start.x(), here.y())]
        path = QPainterPath()
        path.addPolygon(QPolygonF([*self._trace, self._trace[0]]))
        self._shape.setPath(path)
        self._shape.show()
        if ev.isFinish():
            self._shape.hide()
            outline = np.array([[p.x(), p.y()] for p in self._trace], dtype=np.float64)
            self._trace = []
            self.outlined.emit(outline)


class MapView(QWidget):
    """A caption above a scatter plot of one map (without points, ``placeholder`` says what shows there); see the
    module docstring."""

    hovered = Signal(int)
    clicked = Signal(int)
    selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.box = SelectBox()
        self.plot = pg.PlotWidget(viewBox=self.box)
        plain_axes(self.plot)
        self.plot.setMinimumSize(120, 160)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.box.setAspectLocked(True, ratio=1.0)  # one data unit as long across as up: clusters keep their shape
        self.scatter = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE, pen=None)
        self.marker = pg.ScatterPlotItem(pxMode=True, size=13, brush=None, pen=pg.mkPen("w", width=2))
        self.marker.setZValue(5)
        self.plot.addItem(self.scatter)
        self.plot.addItem(self.marker)
        mark_transient(self.marker)  # the ring on the hovered or picked point
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.placeholder = QLabel(EMPTY_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(EMPTY_STYLE)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.placeholder)
        self.stack.setCurrentWidget(self.placeholder)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.xy = np.zeros((0, 2), np.float64)
        self.labels = np.zeros(0, np.int64)
        self.hidden: frozenset[int] = frozenset()
        self.visible = np.zeros(0, dtype=bool)
        self._brushes = np.zeros(0, dtype=object)
        self.plot.scene().sigMouseMoved.connect(self._moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.box.outlined.connect(self.select_outline)

    @property
    def count(self) -> int:
        """Points shown."""
        return len(self.xy)

    def set_map(self, xy: np.ndarray, labels: np.ndarray | None, caption: str = "") -> None:
        """Show the points ``xy`` [N, 2] coloured by ``labels`` [N] (None: all grey) under ``caption``."""
        self.labels = point_labels(labels, len(xy))
        palette = {int(c): pg.mkBrush(colour_of(int(c))) for c in np.unique(self.labels)}
        self._brushes = np.empty(len(xy), dtype=object)
        for label, brush in palette.items():
            self._brushes[self.labels == label] = brush
        self.caption.setText(caption)
        self.move_points(xy, autorange=True)

    def move_points(self, xy: np.ndarray, autorange: bool = False) -> None:
        """Move the points to ``xy`` [N, 2] (e.g. a later partial t-SNE map), keeping colours, hiding and,
        unless ``autorange``, the zoom the user chose (an unzoomed view follows the points)."""
        self.xy = np.asarray(xy, dtype=np.float64)
        self.stack.setCurrentWidget(self.plot if len(self.xy) else self.placeholder)
        self.scatter.setData(pos=self.xy, brush=self._brushes)
        self._apply_hidden()
        if autorange:
            self.box.enableAutoRange()
            self.box.autoRange()

    def set_caption(self, caption: str) -> None:
        """Show ``caption`` (HTML) above the map."""
        self.caption.setText(caption)

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Hide the points of the classes in ``hidden`` (:data:`UNLABELLED` for unlabelled images)."""
        self.hidden = frozenset(hidden)
        self._apply_hidden()

    def mark(self, row: int | None) -> None:
        """Ring point ``row`` (None: none)."""
        self.marker.setData(pos=self.xy[[row]] if row is not None and 0 <= row < self.count else np.zeros((0, 2)))

    def clear(self) -> None:
        """Show nothing."""
        self.set_map(np.zeros((0, 2)), None, "")
        self.mark(None)

    def row_at(self, scene_pos: QPointF) -> int | None:
        """The visible point nearest to ``scene_pos`` within :data:`HOVER_RADIUS` pixels, or None."""
        if not self.count or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.box.mapSceneToView(scene_pos)
        pixel = self.box.viewPixelSize()
        return nearest(self.xy, self.visible, (point.x(), point.y()), pixel)

    def scene_pos(self, row: int) -> QPointF:
        """Where point ``row`` lies in the plot's scene."""
        return self.box.mapViewToScene(QPointF(*self.xy[row]))

    def select_outline(self, outline: np.ndarray) -> None:
        """Emit ``selected`` with the visible rows inside ``outline`` [M, 2] (data coordinates)."""
        self.selected.emit(np.flatnonzero(inside(self.xy, outline) & self.visible))

    def select_rect(self, rect: QRectF) -> None:
        """Emit ``selected`` with the visible rows inside ``rect`` (data coordinates)."""
        corners = [rect.topLeft(), rect.topRight(), rect.bottomRight(), rect.bottomLeft()]
        self.select_outline(np.array([[p.x(), p.y()] for p in corners]))

    def _apply_hidden(self) -> None:
        self.visible = ~np.isin(self.labels, list(self.hidden)) if self.hidden else np.ones(self.count, bool)
        if self.count:
            self.scatter.setPointsVisible(self.visible)

    def _moved(self, scene_pos: QPointF) -> None:
        row = self.row_at(scene_pos)
        self.mark(row)
        self.hovered.emit(-1 if row is None else row)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        row = self.row_at(event.scenePos())
        if row is not None:
            self.clicked.emit(row)
