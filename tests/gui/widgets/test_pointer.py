"""The shared hover/click reports (widgets/pointer.py) of the atlas, map and vector views: the mouse
over a tile, pixel or bar reports that item, a click on it reports it once, leaving reports nothing."""

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QApplication

from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.map_view import MapCanvas
from cnnviz.gui.widgets.vector_view import VectorView


def shown(qtbot, view):
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def record(view) -> tuple[list, list]:
    hovered, clicked = [], []
    view.hovered.connect(lambda *item: hovered.append(item))
    view.clicked.connect(lambda *item: clicked.append(item))
    return hovered, clicked


def leave(view) -> None:
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))


def test_atlas_view_reports_the_tile_under_the_mouse(qtbot, mouse):
    view = shown(qtbot, AtlasView())
    # 5 tiles of 4×6 pixels in 3 columns with 1-pixel gaps, drawn in the order 4, 3, 2, 1, 0
    view.show_atlas(make_atlas(np.zeros((5, 4, 6)), columns=3, order=[4, 3, 2, 1, 0]), (0.0, 1.0), "grey")
    hovered, clicked = record(view)
    second_row_first_col = QPointF(1.5, 4 + 1 + 2.5)  # atlas (x, y): slot 3 holds map 1
    mouse.hover(view, lambda: view.image_item.mapToScene(second_row_first_col))
    gap = QPointF(6.5, 1.5)  # the column between slots 0 and 1
    mouse.hover(view, lambda: view.image_item.mapToScene(gap))
    mouse.click(view, lambda: view.image_item.mapToScene(QPointF(7 + 3.0, 0.5)))  # slot 1: map 3
    leave(view)
    assert hovered == [(1,), (-1,), (3,), (-1,)]
    assert clicked == [(3,)]


def test_map_canvas_reports_the_pixel_under_the_mouse(qtbot, mouse):
    view = shown(qtbot, MapCanvas())
    view.set_image(np.zeros((8, 10), dtype=np.float32))
    hovered, clicked = record(view)
    mouse.hover(view, lambda: view.image_item.mapToScene(QPointF(7.25, 2.75)))  # x=7.25, y=2.75
    mouse.hover(view, lambda: view.image_item.mapToScene(QPointF(7.75, 2.25)))  # still pixel (2, 7)
    mouse.click(view, lambda: view.image_item.mapToScene(QPointF(0.5, 7.5)))
    leave(view)
    assert hovered == [(2, 7), (7, 0), (-1, -1)]
    assert clicked == [(7, 0)]


def test_vector_view_reports_the_bar_under_the_mouse(qtbot, mouse):
    view = shown(qtbot, VectorView())
    view.show_values(np.array([0.5, -1.0, 2.0, 0.25]), order=[2, 0, 3, 1])
    hovered, clicked = record(view)
    box = view.plot_item.getViewBox()
    mouse.hover(view, lambda: box.mapViewToScene(QPointF(0.0, 1.2)))  # row 1 shows unit 0
    mouse.click(view, lambda: box.mapViewToScene(QPointF(0.5, 2.9)))  # row 3 shows unit 1
    assert hovered == [(0,), (1,)]
    assert clicked == [(1,)]


def test_a_right_click_reports_no_click(qtbot, mouse):
    view = shown(qtbot, MapCanvas())
    view.set_image(np.zeros((8, 10), dtype=np.float32))
    hovered, clicked = record(view)
    mouse.hover(view, lambda: view.image_item.mapToScene(QPointF(3.5, 4.5)))
    point = view.mapFromScene(view.image_item.mapToScene(QPointF(3.5, 4.5)))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=point)
    assert hovered == [(4, 3)] and clicked == []
