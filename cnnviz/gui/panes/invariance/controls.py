"""The range row of the Invariance pane: the transform kind and the values it is evaluated at."""

import numpy as np
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.plots import KIND_TITLES
from cnnviz.gui.panes.tool_pane import shrinkable


def value_limits(kind: str, size: int) -> tuple[float, float]:
    """Lowest and highest value the range fields allow for ``kind`` on an input of ``size`` pixels:
    rotation ±3600°, translation ± the input size (beyond it the image is gone), scale 0.01–20×."""
    if kind == "rotation":
        return -3600.0, 3600.0
    if kind == "scale":
        return 0.01, 20.0
    return -float(size), float(size)


class RangeRow(QWidget):
    """The transform kind and its range: from, to (included) and step; "Defaults" asks for the
    kind's default range (the pane connects it, as it knows the input size)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox()
        for key, title in KIND_TITLES.items():
            self.kind_combo.addItem(title, key)
        self.kind_combo.setToolTip("How the image is transformed (the paper's three rows)")
        self.limit_label = QLabel()
        self.limit_label.setStyleSheet("color: #b00")
        self.limit_label.hide()
        self.from_spin, self.to_spin, self.step_spin = (QDoubleSpinBox() for _ in range(3))
        for spin, tip in ((self.from_spin, "First value"), (self.to_spin, "Last value (included)"),
                          (self.step_spin, "Step between values")):
            spin.setRange(-3600, 3600)
            spin.setDecimals(2)
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._update_limit)
        self.step_spin.setRange(0.01, 3600)
        self.reset_button = QPushButton("Defaults")
        self.reset_button.setToolTip("The paper's range for this kind, scaled to the input size")
        shrinkable(self.kind_combo, self.from_spin, self.to_spin, self.step_spin)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.kind_combo, QLabel("from"), self.from_spin, QLabel("to"), self.to_spin,
                       QLabel("step"), self.step_spin, self.reset_button, self.limit_label):
            row.addWidget(widget)
        row.addStretch(1)

    @property
    def kind(self) -> str:
        """The transform kind: one of :data:`cnnviz.core.per_image.invariance.KINDS`."""
        return str(self.kind_combo.currentData())

    def values(self) -> np.ndarray:
        """The transform values of the range fields (:func:`cnnviz.core.per_image.invariance.value_range`); a
        ValueError when there would be more than :data:`cnnviz.core.per_image.invariance.MAX_VALUES`."""
        return invariance.value_range(self.from_spin.value(), self.to_spin.value(), self.step_spin.value())

    def limit_message(self) -> str:
        """Why the range cannot be run (too many values), or "" when it can."""
        try:
            self.values()
        except ValueError as error:
            return str(error)
        return ""

    def _update_limit(self, *_args: object) -> None:
        message = self.limit_message()
        self.limit_label.setText(f"at most {invariance.MAX_VALUES} values" if message else "")
        self.limit_label.setToolTip(message)
        self.limit_label.setVisible(bool(message))

    def set_values(self, start: float, stop: float, step: float) -> None:
        """Set the range fields."""
        self.from_spin.setValue(start)
        self.to_spin.setValue(stop)
        self.step_spin.setValue(step)

    def reset(self, input_size: tuple[int, int]) -> None:
        """The kind's default range for an input of ``input_size`` (height, width) pixels
        (:func:`cnnviz.core.per_image.invariance.default_range`), with the kind's unit on the fields."""
        height, width = input_size
        unit = invariance.UNITS[self.kind]
        low, high = value_limits(self.kind, height if self.kind == "vertical" else width)
        for spin in (self.from_spin, self.to_spin, self.step_spin):
            spin.setSuffix(f" {unit}" if unit != "×" else "×")
        for spin in (self.from_spin, self.to_spin):
            spin.setRange(low, high)
        self.step_spin.setRange(0.01, high - low)
        self.set_values(*invariance.default_range(self.kind, height if self.kind == "vertical" else width))
