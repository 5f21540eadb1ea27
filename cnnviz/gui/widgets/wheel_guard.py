"""Mouse-wheel turns over a column of controls scroll the column, not the control under the pointer.

A spin box, combo box or slider (not a scroll bar) inside a scroll area — a pane's settings column,
a table of editors — takes the wheel only while it has keyboard focus (click it or Tab to it first);
otherwise the turn goes to the nearest scroll area around it that can still scroll that way, so
scrolling down a column never changes the settings it passes over. :func:`install` puts one
application-wide event filter in place (once, however often it is called). The filter also gives
every such control ``Qt.StrongFocus`` instead of ``Qt.WheelFocus`` when it is polished (and
:func:`install` those that exist already), so a wheel turn never hands a control the focus, and with
it the turn.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeGuard, cast

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)
"""The kinds of control that the wheel changes (scroll bars excepted)."""


def is_guarded(widget: QObject) -> TypeGuard[QWidget]:
    """True for a spin box, combo box or slider that is not a scroll bar."""
    return isinstance(widget, GUARDED) and not isinstance(widget, QScrollBar)


def scroll_areas(widget: QWidget) -> list[QAbstractScrollArea]:
    """The scroll areas whose viewport holds ``widget``, nearest first."""
    areas = []
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and child is parent.viewport():
            areas.append(parent)
        child, parent = parent, parent.parentWidget()
    return areas


def _strong_focus(widget: QWidget) -> None:
    """Replace wheel focus by strong focus on ``widget`` and on its focus proxy (a spin box's editor)."""
    for target in (widget, widget.focusProxy()):
        if target is not None and target.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            target.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def scroll_instead(event: QWheelEvent, areas: list[QAbstractScrollArea]) -> bool:
    """Hand the turn ``event`` to the first of ``areas`` that scrolls with it; False if none did."""
    for area in areas:
        viewport = area.viewport()
        turn = QWheelEvent(viewport.mapFromGlobal(event.globalPosition()), event.globalPosition(),
                           event.pixelDelta(), event.angleDelta(), event.buttons(), event.modifiers(),
                           event.phase(), event.inverted(), event.source(), event.pointingDevice())
        turn.ignore()
        QCoreApplication.sendEvent(viewport, turn)
        if turn.isAccepted():
            return True
    return False


class WheelGuard(QObject):
    """The application-wide filter of :func:`install` (see the module docstring)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Send a wheel turn over an unfocused control in a scroll area to the scroll area instead."""
        kind = event.type()
        if kind == QEvent.Type.Wheel and is_guarded(watched) and not watched.hasFocus():
            areas = scroll_areas(watched)
            if areas:
                scroll_instead(cast(QWheelEvent, event), areas)  # a Wheel event is a QWheelEvent
                event.accept()
                return True
        elif kind == QEvent.Type.Polish and is_guarded(watched):
            _strong_focus(watched)
        return False


GUARD_NAME = "cnnviz-wheel-guard"
"""Object name of the installed guard (a child of the application)."""


def install(app: QApplication) -> WheelGuard:
    """Filter the wheel turns of every control of ``app`` (see the module docstring); the same guard
    when called again."""
    guard = app.findChild(WheelGuard, GUARD_NAME)
    if guard is None:
        guard = WheelGuard(app)
        guard.setObjectName(GUARD_NAME)
        app.installEventFilter(guard)
        for widget in QApplication.allWidgets():
            if is_guarded(widget):
                _strong_focus(widget)
    return guard


@contextmanager
def paused() -> Iterator[None]:
    """Leave the events alone while the block runs (a window building its thousands of widgets: each event would
    pass through this Python filter), then filter again and give the controls made meanwhile the focus policy
    their Polish events would have given them."""
    app = QCoreApplication.instance()
    guard = app.findChild(WheelGuard, GUARD_NAME) if app is not None else None
    if app is None or guard is None:
        yield
        return
    app.removeEventFilter(guard)
    try:
        yield
    finally:
        app.installEventFilter(guard)
        for widget in QApplication.allWidgets():
            if is_guarded(widget):
                _strong_focus(widget)
