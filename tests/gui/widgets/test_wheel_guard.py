"""Wheel turns over a control in a scroll area scroll the area unless the control has focus, in any
scroll area of the app (the filter is installed once, by create_application) and in the Deep dream
pane's settings column."""

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.gui.widgets import wheel_guard

DOWN = -120
"""One notch of the wheel turned toward the user (scrolls down)."""


def turn(widget: QWidget, notches: int = 1) -> None:
    """Send ``notches`` wheel notches (negative: up) over the centre of ``widget``."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, DOWN * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def focus(qtbot, widget: QWidget) -> None:
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=5000)


def value_of(widget: QWidget):
    return widget.currentIndex() if isinstance(widget, QComboBox) else widget.value()


@pytest.fixture
def column(qtbot):
    """A short scroll area over a tall column holding a spin box, a double spin box, a combo and a slider."""
    holder = QWidget()
    layout = QVBoxLayout(holder)
    spin, double, combo, slider = QSpinBox(), QDoubleSpinBox(), QComboBox(), QSlider(Qt.Orientation.Horizontal)
    spin.setRange(0, 100)
    spin.setValue(50)
    double.setValue(5.0)
    combo.addItems([f"item {i}" for i in range(10)])
    combo.setCurrentIndex(5)
    slider.setRange(0, 100)
    slider.setValue(50)
    controls = [spin, double, combo, slider]
    elsewhere = QPushButton("elsewhere")
    for widget in [elsewhere, *controls]:
        layout.addWidget(widget)
    layout.addSpacing(2000)
    area = QScrollArea()
    area.setWidget(holder)
    area.setWidgetResizable(True)
    area.resize(200, 150)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    focus(qtbot, elsewhere)  # not the first control, which gets the focus when the window is shown
    return area, controls


def test_the_guard_is_installed_once_for_the_application(app):
    guard = wheel_guard.install(app)
    assert wheel_guard.install(app) is guard
    assert app.findChildren(wheel_guard.WheelGuard) == [guard]


def test_a_turn_over_an_unfocused_control_scrolls_the_area_and_leaves_the_value(column):
    area, controls = column
    bar = area.verticalScrollBar()
    for widget in controls:
        assert widget.focusPolicy() == Qt.FocusPolicy.StrongFocus and not widget.hasFocus()  # a turn gives no focus
        before, position = value_of(widget), bar.value()
        turn(widget)
        assert value_of(widget) == before and bar.value() > position, type(widget).__name__
    end = bar.value()
    bar.setValue(bar.maximum())
    turn(controls[0])
    assert bar.value() == bar.maximum() > end and controls[0].value() == 50  # nothing left to scroll


def test_a_turn_over_a_focused_control_changes_it_and_not_the_scroll(column, qtbot):
    area, controls = column
    bar = area.verticalScrollBar()
    for widget in controls:
        focus(qtbot, widget)
        before, position = value_of(widget), bar.value()
        turn(widget)
        assert value_of(widget) != before and bar.value() == position, type(widget).__name__


def test_the_dream_settings_column_scrolls_under_the_wheel(loaded_window, show_pane, qtbot):
    loaded_window.resize(1000, 640)
    pane = show_pane(loaded_window, "dream")
    area = next(a for a in pane.findChildren(QScrollArea) if a.widget() is pane.form)
    bar = area.verticalScrollBar()
    controls = pane.form
    prob_every, step = controls.widget("prob_every"), controls.widget("step_size")
    for section in controls.sections.values():  # every section open: the column is taller than the pane
        section.expand(animate=False)
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=2000)
    probability = prob_every.value()
    for widget in (prob_every, controls.widget("objective"), step.slider, step.spin,
                   controls.widget("octave_scale"), pane.picker):
        before, position = value_of(widget), bar.value()
        turn(widget, -1 if position == bar.maximum() else 1)
        assert value_of(widget) == before and bar.value() != position, type(widget).__name__
    assert prob_every.value() == probability == pane.box().prob_every
    focus(qtbot, prob_every)
    position = bar.value()
    turn(prob_every, -1)
    assert prob_every.value() == probability + 1 and bar.value() == position


def test_while_a_window_builds_the_guard_waits_and_then_guards_every_control(make_window, app):
    window = make_window()
    controls = [w for w in window.findChildren(QWidget) if wheel_guard.is_guarded(w)]
    assert len(controls) > 50
    assert all(c.focusPolicy() != Qt.FocusPolicy.WheelFocus for c in controls)
    guard = app.findChild(wheel_guard.WheelGuard, wheel_guard.GUARD_NAME)
    with wheel_guard.paused():
        spin = QSpinBox()
        spin.ensurePolished()
        assert spin.focusPolicy() == Qt.FocusPolicy.WheelFocus  # not guarded while paused
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus and guard is not None
    other = QSpinBox()
    QCoreApplication.sendEvent(other, QEvent(QEvent.Type.Polish))
    assert other.focusPolicy() == Qt.FocusPolicy.StrongFocus  # guarding again
    spin.deleteLater()
    other.deleteLater()
