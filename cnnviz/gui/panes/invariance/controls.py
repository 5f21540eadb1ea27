"""The range row of the Invariance pane: the transform kind and the values it is evaluated at."""

import numpy as np
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from cnnviz.core import invariance
from cnnviz.gui.panes.invariance.plots import KIND_TITLES
from cnnviz.gui.panes.tool_pane import shrinkable


class RangeRow(QWidget):
    """The transform kind and its range: from, to (included) and step; "Defaults" asks for the
    kind's default range (the pane connects it, as it knows the input size)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox()
        for key, title in KIND_TITLES.items():
            self.kind_combo.addItem(title, key)
        self.kind_combo.setToolTip("How the image is transformed (the paper's three rows)")
        self.from_spin, self.to_spin, self.step_spin = (QDoubleSpinBox() for _ in range(3))
        for spin, tip in ((self.from_spin, "First value"), (self.to_spin, "Last value (included)"),
                          (self.step_spin, "Step between values")):
            spin.setRange(-100_000, 100_000)
            spin.setDecimals(2)
            spin.setToolTip(tip)
        self.reset_button = QPushButton("Defaults")
        self.reset_button.setToolTip("The paper's range for this kind, scaled to the input size")
        shrinkable(self.kind_combo, self.from_spin, self.to_spin, self.step_spin)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.kind_combo, QLabel("from"), self.from_spin, QLabel("to"), self.to_spin,
                       QLabel("step"), self.step_spin, self.reset_button):
            row.addWidget(widget)
        row.addStretch(1)

    @property
    def kind(self) -> str:
        """The transform kind: one of :data:`cnnviz.core.invariance.KINDS`."""
        return str(self.kind_combo.currentData())

    def values(self) -> np.ndarray:
        """The transform values of the range fields (:func:`cnnviz.core.invariance.value_range`)."""
        return invariance.value_range(self.from_spin.value(), self.to_spin.value(), self.step_spin.value())

    def set_values(self, start: float, stop: float, step: float) -> None:
        """Set the range fields."""
        self.from_spin.setValue(start)
        self.to_spin.setValue(stop)
        self.step_spin.setValue(step)

    def reset(self, input_size: tuple[int, int]) -> None:
        """The kind's default range for an input of ``input_size`` (height, width) pixels
        (:func:`cnnviz.core.invariance.default_range`), with the kind's unit on the fields."""
        height, width = input_size
        unit = invariance.UNITS[self.kind]
        for spin in (self.from_spin, self.to_spin, self.step_spin):
            spin.setSuffix(f" {unit}" if unit != "×" else "×")
        self.set_values(*invariance.default_range(self.kind, height if self.kind == "vertical" else width))
