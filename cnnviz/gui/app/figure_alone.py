"""One figure alone in the main window: a double-click on a figure, or F11, hides the docks, the tool column
and the pane's controls, so the figure gets the whole window; F11, Esc or another double-click brings
everything back.

A figure is a widget marked by :func:`~cnnviz.gui.widgets.figure_area.mark_figure` (every tool pane's
:class:`~cnnviz.gui.widgets.figure_area.FigureArea`, the whole Input tab). The pane's controls hidden are
the widgets beside each of the figure's ancestors up to its tab (the option rows, a settings column, a
splitter's other side), each shown again on return. A double-click still reaches the figure (a map
view also fits its image).
"""

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QDockWidget,
    QMainWindow,
    QWidget,
)

from cnnviz.gui.widgets.figure_area import figure_of
from cnnviz.gui.widgets.tool_navigator import ToolNavigator


def tab_figure(tab: QWidget | None) -> QWidget | None:
    """The figure of a tab: its ``figure_area`` (tool panes), or the tab itself when it is marked."""
    if tab is None:
        return None
    area = getattr(tab, "figure_area", None)
    return area if isinstance(area, QWidget) else figure_of(tab)


def beside(figure: QWidget, top: QWidget) -> list[QWidget]:
    """The visible widgets beside ``figure`` and beside each of its ancestors below ``top`` (none inside
    a scroll area's frame: its scroll bars)."""
    found: list[QWidget] = []
    child = figure
    while child is not top and (parent := child.parentWidget()) is not None:
        if not isinstance(parent, QAbstractScrollArea):
            found += [w for w in parent.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
                      if w is not child and not w.isWindow() and w.isVisible()]
        child = parent
    return found


class FigureAlone(QObject):
    """Shows one figure of ``window`` (whose central widget is a :class:`ToolNavigator`) alone and back;
    ``figure`` is the one shown alone (None: everything is shown)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.figure: QWidget | None = None
        self._hidden: list[QWidget] = []
        tabs = window.centralWidget()
        assert isinstance(tabs, ToolNavigator)
        self.tabs = tabs
        tabs.currentChanged.connect(lambda _index: self.restore())
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def active(self) -> bool:
        """True while a figure is shown alone."""
        return self.figure is not None

    def toggle(self, figure: QWidget | None = None) -> None:
        """Show ``figure`` (default: the current tab's) alone, or everything again if one is alone."""
        if self.active:
            self.restore()
        else:
            self.show_alone(figure or tab_figure(self.tabs.currentWidget()))

    def show_alone(self, figure: QWidget | None) -> None:
        """Hide the docks, the tab bar and the widgets beside ``figure`` in its tab (None: nothing)."""
        tab = self.tabs.currentWidget()
        if figure is None or tab is None or self.active or not (figure is tab or tab.isAncestorOf(figure)):
            return
        self.figure = figure
        docks = [d for d in self.window.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        self._hidden = [*docks, self.tabs.tabBar(), *beside(figure, tab)]
        for widget in self._hidden:
            widget.hide()

    def restore(self) -> None:
        """Show again everything hidden by :meth:`show_alone`."""
        hidden, self._hidden, self.figure = self._hidden, [], None
        for widget in hidden:
            widget.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """A left double-click on a figure of this window toggles it; Esc while one is alone returns."""
        kind = event.type()
        if kind == QEvent.Type.MouseButtonDblClick and isinstance(event, QMouseEvent):
            self._double_clicked(watched, event)
        elif (kind == QEvent.Type.ShortcutOverride and self.active and isinstance(event, QKeyEvent)
              and event.key() == Qt.Key.Key_Escape and self._in_window(watched)):
            event.accept()  # before the panes' own Esc shortcuts (Stop, Cancel)
            self.restore()
            return True
        return False

    def _double_clicked(self, watched: QObject, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._in_window(watched):
            return
        assert isinstance(watched, QWidget)
        if watched.childAt(event.position().toPoint()) is not None:
            return  # passed on from a child, which saw it first
        figure = figure_of(watched)
        if figure is not None:
            self.toggle(figure)

    def _in_window(self, watched: QObject) -> bool:
        return isinstance(watched, QWidget) and watched.window() is self.window
