"""A step-size control: a logarithmic slider kept in step with a spin box in scientific notation.

The slider moves in multiplicative steps however narrow it is: an arrow key multiplies or divides
the value by 10^(1/:data:`TICKS_PER_DECADE`), a page step (Page Up/Down, a click beside the handle)
by 10^(:data:`PAGE_TICKS`/:data:`TICKS_PER_DECADE`), and a drag of the handle moves the value from
where it was by one decade per :data:`PIXELS_PER_DECADE` pixels (the handle then need not stay under
the pointer), so a small drag makes a small change.
"""

import math

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QMouseEvent, QValidator
from PySide6.QtWidgets import QAbstractSlider, QDoubleSpinBox, QHBoxLayout, QSlider, QStyle, QStyleOptionSlider, QWidget

TICKS_PER_DECADE = 20
"""Slider positions per factor of 10 (one position: ×1.12)."""
PAGE_TICKS = 5
"""Positions of a page step (×1.78)."""
PIXELS_PER_DECADE = 200
"""Drag distance, in pixels, that multiplies or divides the value by 10."""


class LogSpinBox(QDoubleSpinBox):
    """A QDoubleSpinBox over [``low``, ``high``] (both > 0) shown as ``2.00e-02``; the arrows multiply
    or divide the value by 10^0.1."""

    def __init__(self, low: float = 1e-6, high: float = 10.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(low, high)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        """The value in scientific notation with three significant digits."""
        return f"{value:.2e}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        """The number typed (any float notation)."""
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        """Accept any prefix of a float; a whole float inside the range is acceptable."""
        stripped = text.strip()
        try:
            value = float(stripped)
        except ValueError:
            partial = all(c in "0123456789.eE+-" for c in stripped)
            return QValidator.State.Intermediate if partial else QValidator.State.Invalid, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return QValidator.State.Acceptable if inside else QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        """Multiply the value by 10^(0.1 × ``steps``)."""
        self.setValue(self.value() * 10 ** (0.1 * steps))


class RelativeSlider(QSlider):
    """A horizontal slider whose handle, dragged, moves the value relative to where the drag started,
    by :data:`TICKS_PER_DECADE` positions per :data:`PIXELS_PER_DECADE` pixels, whatever its width;
    a left click beside the handle moves one page step toward the click (never straight to it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setPageStep(PAGE_TICKS)
        self._drag: tuple[float, int] | None = None

    def handle_rect(self) -> QRect:
        """The handle's rectangle in the slider's coordinates."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        return self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        """Start a drag on the handle, or page toward a click beside it (left button only)."""
        if event.button() != Qt.MouseButton.LeftButton or not self.isEnabled():
            event.ignore()
            return
        handle = self.handle_rect()
        x = event.position().x()
        if handle.contains(event.position().toPoint()):
            self._drag = (x, self.value())
            self.setSliderDown(True)
        else:
            forward = (x > handle.center().x()) != self.invertedAppearance()
            self.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd if forward
                               else QAbstractSlider.SliderAction.SliderPageStepSub)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        """Move the value by the drag distance since the press."""
        if self._drag is None:
            event.ignore()
            return
        start_x, start_value = self._drag
        moved = (event.position().x() - start_x) * TICKS_PER_DECADE / PIXELS_PER_DECADE
        self.setSliderPosition(start_value + round(-moved if self.invertedAppearance() else moved))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        """End a drag."""
        if self._drag is None:
            event.ignore()
            return
        self._drag = None
        self.setSliderDown(False)
        event.accept()


class LogSlider(QWidget):
    """A log-scale :class:`RelativeSlider` beside a :class:`LogSpinBox`; emits ``value_changed(float)``
    once per change made through either (a drag shows its value as it goes and emits once, when the
    handle is let go)."""

    value_changed = Signal(float)

    def __init__(self, low: float = 1e-6, high: float = 10.0, value: float = 0.02,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.low_exponent = math.log10(low)
        self.slider = RelativeSlider()
        self.slider.setRange(0, round((math.log10(high) - self.low_exponent) * TICKS_PER_DECADE))
        self.slider.setMinimumWidth(40)
        self.spin = LogSpinBox(low, high)
        self.spin.setMinimumWidth(80)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.spin.setValue(value)
        self.slider.setValue(self._tick(value))
        self._reported = self.spin.value()
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(self._released)
        self.spin.valueChanged.connect(self._typed)

    def value(self) -> float:
        """The current value."""
        return self.spin.value()

    def set_value(self, value: float) -> None:
        """Show ``value`` in both controls (emits ``value_changed`` if it changed)."""
        self.spin.setValue(value)

    def _tick(self, value: float) -> int:
        return round((math.log10(value) - self.low_exponent) * TICKS_PER_DECADE)

    def _slid(self, tick: int) -> None:
        if tick == self._tick(self.spin.value()):
            return
        dragging = self.slider.isSliderDown()
        self.spin.blockSignals(dragging)
        self.spin.setValue(10 ** (self.low_exponent + tick / TICKS_PER_DECADE))
        self.spin.blockSignals(False)

    def _released(self) -> None:
        if self.spin.value() != self._reported:
            self._typed(self.spin.value())

    def _typed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._tick(value))
        self.slider.blockSignals(False)
        self._reported = value
        self.value_changed.emit(value)
