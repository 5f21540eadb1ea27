"""Keyboard shortcuts shared by the tool panes.

- PgUp / PgDn anywhere in a pane: previous / next layer.
- Arrow keys in a pane's figure: previous / next channel (Left/Right), a grid row up / down (Up/Down).

Shortcuts are scoped to the widget and its children, so each pane's keys work only while the focus is
in that pane, and arrows typed in a combo box or spin box of the toolbar keep their usual meaning.
Slots connected here return nothing: with PySide6 6.12 a slot returning a bool corrupts the
reference count of True/False.
"""

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def add_shortcut(widget: QWidget, key: Qt.Key | QKeySequence.StandardKey | QKeySequence,
                 slot: Callable[[], object], description: str = "") -> QShortcut:
    """Run ``slot()`` when ``key`` is pressed while the focus is in ``widget`` or its children; ``description``
    (what it does, kept as the shortcut's What's This text) names it in Help → Keyboard shortcuts."""
    shortcut = QShortcut(QKeySequence(key), widget)
    shortcut.setWhatsThis(description)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def activated() -> None:
        slot()

    shortcut.activated.connect(activated)
    return shortcut


def add_layer_keys(pane: QWidget, step_layer: Callable[[int], object]) -> None:
    """PgUp / PgDn in ``pane`` call ``step_layer(-1)`` / ``step_layer(+1)``."""
    add_shortcut(pane, Qt.Key.Key_PageUp, lambda: step_layer(-1), "Previous layer")
    add_shortcut(pane, Qt.Key.Key_PageDown, lambda: step_layer(1), "Next layer")


def add_channel_keys(figure: QWidget, step_channel: Callable[[int], object],
                     row_length: Callable[[], int]) -> None:
    """Arrow keys in ``figure`` call ``step_channel(delta)``: ±1 for Left/Right, ±``row_length()``
    (the grid's columns) for Up/Down. The figure takes the focus when clicked."""
    figure.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    add_shortcut(figure, Qt.Key.Key_Left, lambda: step_channel(-1), "Previous channel (in the figure)")
    add_shortcut(figure, Qt.Key.Key_Right, lambda: step_channel(1), "Next channel (in the figure)")
    add_shortcut(figure, Qt.Key.Key_Up, lambda: step_channel(-max(1, row_length())), "Channel a grid row up")
    add_shortcut(figure, Qt.Key.Key_Down, lambda: step_channel(max(1, row_length())), "Channel a grid row down")
