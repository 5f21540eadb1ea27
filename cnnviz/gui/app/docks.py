"""The window's docks: each dock pane built in a dock with a folding title bar, and their starting sizes."""

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.app.registry import DOCK_PANES, Pane
from cnnviz.gui.app.report_actions import place_report_dock
from cnnviz.gui.widgets.dock_title import DockTitle

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

SIDE_DOCK_WIDTH = 360
RIGHT_DOCK_WIDTH = 290
FIRST_LEFT_DOCK_HEIGHT = 230
OTHER_LEFT_DOCK_HEIGHT = 400
BOTTOM_DOCK_HEIGHT = 280
"""Starting sizes of the docks, in pixels (the window's layout is then remembered)."""
AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea,
         "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
"""The dock areas by the names :class:`~cnnviz.gui.app.registry.Pane` uses."""


def add_dock(window: "MainWindow", pane: Pane) -> QDockWidget:
    """Build ``pane`` in a dock (with a :class:`DockTitle`) in its area of ``window``; the widget, dock and title
    go in ``window.panes``, ``window.docks`` and ``window.dock_titles``."""
    widget = pane.factory(window.context)
    widget.setObjectName(f"pane_{pane.key}")
    dock = QDockWidget(pane.title, window)
    dock.setObjectName(f"dock_{pane.key}")
    dock.setWidget(widget)
    height = BOTTOM_DOCK_HEIGHT if pane.area == "bottom" else OTHER_LEFT_DOCK_HEIGHT
    window.dock_titles[pane.key] = DockTitle(dock, height)
    window.addDockWidget(AREAS[pane.area], dock)
    window.panes[pane.key] = widget
    window.docks[pane.key] = dock
    return dock


def arrange_docks(window: "MainWindow") -> None:
    """Give the docks of ``window`` their starting sizes and put the Report dock behind the Predictions dock."""
    by_area: dict[str, list[QDockWidget]] = {}
    for pane in DOCK_PANES:
        by_area.setdefault(pane.area, []).append(window.docks[pane.key])
    for area, width in (("left", SIDE_DOCK_WIDTH), ("right", RIGHT_DOCK_WIDTH)):
        if by_area.get(area):
            window.resizeDocks(by_area[area][:1], [width], Qt.Orientation.Horizontal)
    left = by_area.get("left", [])
    if len(left) > 1:
        heights = [FIRST_LEFT_DOCK_HEIGHT] + [OTHER_LEFT_DOCK_HEIGHT] * (len(left) - 1)
        window.resizeDocks(left, heights, Qt.Orientation.Vertical)
    if by_area.get("bottom"):
        window.resizeDocks(by_area["bottom"][:1], [BOTTOM_DOCK_HEIGHT], Qt.Orientation.Vertical)
    place_report_dock(window)
