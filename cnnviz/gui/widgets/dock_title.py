"""A dock title bar with a collapse arrow: one click folds the dock to its title bar (the space goes
to its neighbours), another unfolds it to the height it had; float and close buttons as usual.

Dragging the title moves the dock (drop it on another dock to tab the two); a double-click floats or
docks it, as with the standard title bar.
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStyle,
    QToolButton,
    QWidget,
)

QWIDGETSIZE_MAX = (1 << 24) - 1
"""Qt's largest widget size (no limit)."""


class DockTitle(QWidget):
    """The title bar of ``dock``; ``expanded_height`` (pixels) is the height it unfolds to when it was
    folded before it was ever shown unfolded. Emits ``collapsed_changed(bool)``."""

    collapsed_changed = Signal(bool)

    def __init__(self, dock: QDockWidget, expanded_height: int = 250) -> None:
        super().__init__(dock)
        self.dock = dock
        self.expanded_height = expanded_height
        self._collapsed = False
        self.arrow = QToolButton()
        self.arrow.setAutoRaise(True)
        self.arrow.setArrowType(Qt.ArrowType.DownArrow)
        self.arrow.setToolTip("Fold this pane to its title bar (click again to unfold)")
        self.label = QLabel(dock.windowTitle())
        self.float_button = self._button(QStyle.StandardPixmap.SP_TitleBarNormalButton, "Float or dock this pane")
        self.close_button = self._button(QStyle.StandardPixmap.SP_TitleBarCloseButton,
                                         "Close this pane (View menu: show it again)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 1, 2, 1)
        layout.setSpacing(2)
        layout.addWidget(self.arrow)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.float_button)
        layout.addWidget(self.close_button)
        self.arrow.clicked.connect(lambda: self.set_collapsed(not self._collapsed))
        self.float_button.clicked.connect(lambda: dock.setFloating(not dock.isFloating()))
        self.close_button.clicked.connect(dock.close)
        dock.setTitleBarWidget(self)

    @property
    def collapsed(self) -> bool:
        """True while the dock shows only its title bar."""
        return self._collapsed

    def set_collapsed(self, collapsed: bool) -> None:
        """Fold the dock to its title bar (True) or unfold it."""
        if collapsed == self._collapsed:
            return
        self._collapsed = collapsed
        content = self.dock.widget()
        self.arrow.setArrowType(Qt.ArrowType.RightArrow if collapsed else Qt.ArrowType.DownArrow)
        if collapsed:
            if self.dock.isVisible() and self.dock.height() > 2 * self.sizeHint().height():
                self.expanded_height = self.dock.height()
            if content is not None:  # kept shown at no height: a hidden one would narrow the dock
                content.setMaximumHeight(0)
            self._relayout()
        else:
            if content is not None:
                content.setMaximumHeight(QWIDGETSIZE_MAX)
            window = self._relayout()
            if window is not None and not self.dock.isFloating():
                window.resizeDocks([self.dock], [self.expanded_height], Qt.Orientation.Vertical)
        self.collapsed_changed.emit(collapsed)

    def _relayout(self) -> QMainWindow | None:
        """Apply the content's new maximum height to the dock and its window now; returns the window."""
        _activate_layout(self.dock)
        window = self.dock.parentWidget()
        if not isinstance(window, QMainWindow):
            return None
        _activate_layout(window)
        return window

    def _button(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton()
        button.setAutoRaise(True)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        return button


def _activate_layout(widget: QDockWidget | QMainWindow) -> None:
    """Invalidate and redo ``widget``'s layout now."""
    layout = widget.layout()
    assert layout is not None  # a dock widget and a main window always have their own layout
    layout.invalidate()
    layout.activate()
