"""A step-size control: a logarithmic slider kept in step with a spin box in scientific notation."""

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSlider, QWidget

TICKS_PER_DECADE = 20


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

    def validate(self, text: str, pos: int) -> object:
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


class LogSlider(QWidget):
    """A log-scale slider beside a :class:`LogSpinBox`; emits ``value_changed(float)`` once per
    change made through either."""

    value_changed = Signal(float)

    def __init__(self, low: float = 1e-6, high: float = 10.0, value: float = 0.02,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.low_exponent = math.log10(low)
        self.slider = QSlider(Qt.Orientation.Horizontal)
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
        self.slider.valueChanged.connect(self._slid)
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
        if tick != self._tick(self.spin.value()):
            self.spin.setValue(10 ** (self.low_exponent + tick / TICKS_PER_DECADE))

    def _typed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._tick(value))
        self.slider.blockSignals(False)
        self.value_changed.emit(value)
