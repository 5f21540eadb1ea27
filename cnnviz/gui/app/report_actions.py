"""The window's report actions: *Add to report* (Ctrl+Shift+A) and *Export report…*.

*Add to report* adds the current tab's figure, with its caption, to the Report dock
(:class:`~cnnviz.gui.panes.report.pane.ReportPane`); it is enabled on tabs that show a figure (a tool
pane whose *Export figure…* is enabled) and is also offered in the dock and, as *Add to report*, in each
figure's context menu beside *Export figure…* (that one adds its own pane's figure, and is enabled with
it). *Export report…* is enabled while the report has figures.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from cnnviz.core.files import report_pdf
from cnnviz.core.files.report import ReportItem
from cnnviz.gui.panes.report.figure_image import figure_png
from cnnviz.gui.panes.report.pane import ReportPane
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.widgets.dialogs import show_error

if TYPE_CHECKING:
    from cnnviz.gui.app.main_window import MainWindow

ADD_SHORTCUT = "Ctrl+Shift+A"


def figure_pane(widget: QWidget | None) -> ToolPane | None:
    """``widget`` if it is a tool pane showing a figure (its *Export figure…* is enabled), else None."""
    if not isinstance(widget, ToolPane) or getattr(widget, "figure", None) is None:
        return None
    return widget if widget.export.action.isEnabled() else None


def item_title(window: "MainWindow", pane: ToolPane) -> str:
    """The title of ``pane``'s figure in a report: its tab's title and what its caption says the analysis
    used (the compared layers for Invariance, else the layer or method)."""
    title = window.tabs.tabText(window.tabs.indexOf(pane)) or pane.key
    used = report_pdf.item_title(ReportItem.of("", b"", pane.caption())).partition(" — ")[2]
    return f"{title} – {used}" if used else title


def add_to_report(window: "MainWindow", pane: QWidget | None = None) -> ReportItem | None:
    """Add ``pane``'s figure (default: the current tab's) with its caption to the Report dock; returns
    the item added, None when the pane has no figure or it could not be made (shown in a dialog)."""
    tool = figure_pane(window.tabs.currentWidget() if pane is None else pane)
    report = window.panes.get("report")
    if tool is None or not isinstance(report, ReportPane):
        window.show_status("This tab has no figure to add to the report.")
        return None
    try:
        item = ReportItem.of(item_title(window, tool), figure_png(tool), tool.caption())
    except OSError as error:
        show_error(window, "Could not add the figure to the report", str(error))
        return None
    report.add(item)
    window.show_status(f"Added figure {len(report.items())} to the report: {item.title}")
    return item


def follow_export(pane: ToolPane, update: Callable[[], None]) -> None:
    """Enable ``pane``'s *Add to report* entry as its *Export figure…* is, then ``update()`` the window's."""
    pane.report_action.setEnabled(pane.export.action.isEnabled())
    update()


def place_report_dock(window: "MainWindow") -> None:
    """Put the Report dock in a tab behind the Predictions dock (which stays in front)."""
    if "report" in window.docks and "predictions" in window.docks:
        window.tabifyDockWidget(window.docks["predictions"], window.docks["report"])
        window.docks["predictions"].raise_()


def add_report_actions(window: "MainWindow", menu: QMenu) -> None:
    """Add *Add to report* and *Export report…* to ``menu`` (as ``menu_actions`` ``add_to_report`` and
    ``export_report``) and connect every tool pane's *Add to report* entry."""
    report = window.panes.get("report")
    if not isinstance(report, ReportPane):
        return
    add = QAction("&Add to report", window)
    add.setShortcut(QKeySequence(ADD_SHORTCUT))
    add.setToolTip(f"Add the current tab's figure with its caption to the report ({ADD_SHORTCUT})")
    add.triggered.connect(lambda _checked=False: add_to_report(window))
    export = QAction("Export &report…", window)
    export.triggered.connect(lambda _checked=False: report.export_report())
    menu.addActions([add, export])
    window.menu_actions |= {"add_to_report": add, "export_report": export}
    report.set_add_action(add)

    def update() -> None:
        add.setEnabled(figure_pane(window.tabs.currentWidget()) is not None)
        export.setEnabled(bool(report.items()))

    for widget in window.panes.values():
        if isinstance(widget, ToolPane):
            widget.report_requested.connect(lambda w=widget: add_to_report(window, w))
            widget.export.action.changed.connect(lambda w=widget: follow_export(w, update))
            widget.report_action.setEnabled(widget.export.action.isEnabled())
    window.tabs.currentChanged.connect(lambda _index: update())
    report.changed.connect(update)
    update()
