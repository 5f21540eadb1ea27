"""Lines that scale with an exported figure: cosmetic pens widened while it is rendered.

pyqtgraph draws curves, axes, grid lines and outlines with cosmetic pens, whose width is in device
units whatever the painter's scale: a 2 px curve would stay 2 px wide in a figure painted at 300 dpi
(about 0.17 mm at 170 mm wide) and thicker than on screen in an SVG or PDF. While a figure is rendered
(:mod:`~cnnviz.gui.widgets.figure_render`), :func:`pens_scaled` gives every cosmetic pen of the
graphics items inside it ``scale`` times its width (a width of 0, one device pixel, counts as 1):
with ``scale`` the device units per logical pixel of the render, a line then keeps the share of the
figure's width it has on screen. The pens are given back afterwards.

Pens handled: those of plain Qt shape items (rectangles, paths), of pyqtgraph curves, axes (line,
ticks, grid), infinite lines, bar graphs and view-box borders. Non-cosmetic pens already scale.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QAbstractGraphicsShapeItem, QGraphicsItem, QGraphicsView, QWidget

Undo = Callable[[], None]


def widened(pen: object, scale: float) -> QPen | None:
    """A copy of ``pen`` (a QPen or what :func:`pyqtgraph.mkPen` takes) ``scale`` times as wide, or
    None when it draws nothing or is not cosmetic (it then scales with the painter already)."""
    if pen is None:
        return None
    pen = pen if isinstance(pen, QPen) else pg.mkPen(pen)
    if not pen.isCosmetic() or pen.style() == Qt.PenStyle.NoPen:
        return None
    wider = QPen(pen)
    wider.setWidthF(max(pen.widthF(), 1.0) * scale)
    return wider


def _shape_item(item: QAbstractGraphicsShapeItem, scale: float) -> list[Undo]:
    pen = item.pen()
    wider = widened(pen, scale)
    if wider is None:
        return []
    item.setPen(wider)
    return [lambda: item.setPen(pen)]


def _options(item: QGraphicsItem, opts: dict, keys: tuple[str, ...], scale: float) -> list[Undo]:
    """Widen the pens kept in ``opts[key]`` (pyqtgraph's option dictionaries)."""
    undo: list[Undo] = []
    for key in keys:
        pen = opts.get(key)
        wider = widened(pen, scale)
        if wider is not None:
            opts[key] = wider
            undo.append(partial(opts.__setitem__, key, pen))
    return undo


def _curve(item: pg.PlotCurveItem, scale: float) -> list[Undo]:
    return _options(item, item.opts, ("pen", "shadowPen"), scale)


def _attribute(item: QGraphicsItem, name: str, scale: float) -> list[Undo]:
    pen = getattr(item, name)
    wider = widened(pen, scale)
    if wider is None:
        return []
    setattr(item, name, wider)
    return [lambda: setattr(item, name, pen)]


def _line(item: pg.InfiniteLine, scale: float) -> list[Undo]:
    return _attribute(item, "currentPen", scale)


def _axis(item: pg.AxisItem, scale: float) -> list[Undo]:
    saved = (item._pen, item._tickPen)
    item._pen = widened(item.pen(), scale) or item._pen
    if item._tickPen is not None:
        item._tickPen = widened(item.tickPen(), scale) or item._tickPen

    def undo() -> None:
        item._pen, item._tickPen = saved
        item.picture = None

    item.picture = None
    return [undo]


def _bars(item: pg.BarGraphItem, scale: float) -> list[Undo]:
    if item.opts.get("pens") is not None:
        return []
    pen = item.opts.get("pen")
    wider = widened(pen, scale)
    if wider is None:
        return []
    item.setOpts(pen=wider)
    return [lambda: item.setOpts(pen=pen)]


def _view_box(item: pg.ViewBox, scale: float) -> list[Undo]:
    return _attribute(item, "border", scale)


# Each widener takes an item of the type it is paired with (hence Any: the pairing is not typeable).
WIDENERS: tuple[tuple[type, Callable[[Any, float], list[Undo]]], ...] = (
    (QAbstractGraphicsShapeItem, _shape_item),
    (pg.PlotCurveItem, _curve),
    (pg.InfiniteLine, _line),
    (pg.AxisItem, _axis),
    (pg.BarGraphItem, _bars),
    (pg.ViewBox, _view_box),
)
"""How the cosmetic pens of each kind of graphics item are widened (each returns how to undo it)."""


def _items(widgets: list[QWidget]) -> list[QGraphicsItem]:
    scenes = []
    for root in widgets:
        for view in [root, *root.findChildren(QGraphicsView)]:
            if isinstance(view, QGraphicsView) and view.scene() is not None and view.scene() not in scenes:
                scenes.append(view.scene())
    return [item for scene in scenes for item in scene.items()]


@contextmanager
def pens_scaled(widgets: list[QWidget], scale: float) -> Iterator[None]:
    """Widen the cosmetic pens of the graphics items inside ``widgets`` ``scale`` times (see the
    module's description) while the block runs."""
    undo: list[tuple[QGraphicsItem, list[Undo]]] = []
    if abs(scale - 1.0) > 1e-6:
        for item in _items(widgets):
            for kind, widen in WIDENERS:
                if isinstance(item, kind):
                    undo.append((item, widen(item, scale)))
                    item.update()
    try:
        yield
    finally:
        for item, steps in reversed(undo):
            for step in steps:
                step()
            item.update()
