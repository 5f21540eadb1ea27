"""View boxes build their context menu on the first request, with the actions pyqtgraph gives them."""

import pyqtgraph as pg
from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu

from cnnviz.gui.compat.pyqtgraph_menus import lazy_view_box_menus


def test_a_box_starts_without_a_menu_and_builds_it_when_asked(qtbot):
    assert lazy_view_box_menus() and lazy_view_box_menus()  # patched once, idempotent
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    box = plot.getPlotItem().getViewBox()
    assert box.menu is None and box.menuEnabled()
    actions = box.getContextMenus(None)
    assert isinstance(box.menu, ViewBoxMenu) and box.getMenu(None) is box.menu
    assert "View All" in [action.text() for action in actions]


def test_a_box_without_a_menu_never_gets_one(qtbot):
    box = pg.ViewBox(enableMenu=False)
    assert not box.menuEnabled() and box.getMenu(None) is None and box.getContextMenus(None) == []
    positional = pg.ViewBox(None, None, False, True, False, True)
    assert positional.menuEnabled() and positional.menu is None
    positional.setMenuEnabled(False)
    assert positional.getMenu(None) is None
