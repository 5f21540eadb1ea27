"""The Invariance pane's settings form, built from the invariance analysis's
:class:`~cnnviz.analyses.invariance.Settings`: the transform kind and the values it is evaluated at (from,
to, step in the kind's unit, bounded for the kind and the input size), centre crop and relative distance."""

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QPushButton

from cnnviz.analyses.invariance import Settings
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.plots import KIND_TITLES
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.widgets.settings_form import SettingsForm

FIELDS = ("kind", "start", "stop", "step", "crop", "relative")
"""The fields of the form, in order (four to the first row)."""
DEFAULT_SIZE = (224, 224)
"""The input size (height, width) the range fits before a model is loaded."""


def value_limits(kind: str, size: int) -> tuple[float, float]:
    """Lowest and highest value the range fields allow for ``kind`` on an input of ``size`` pixels:
    rotation ±3600°, translation ± the input size (beyond it the image is gone), scale 0.01–20×."""
    if kind == "rotation":
        return -3600.0, 3600.0
    if kind == "scale":
        return 0.01, 20.0
    return -float(size), float(size)


def input_size(state: AppState) -> tuple[int, int]:
    """The (height, width) in pixels of the current model's input (:data:`DEFAULT_SIZE` without a model)."""
    return state.model.input_size if state.model is not None else DEFAULT_SIZE


def range_spin(tip: str) -> QDoubleSpinBox:
    """A range field: two decimals, ±3600 until the kind bounds it."""
    spin = QDoubleSpinBox()
    spin.setRange(-3600, 3600)
    spin.setDecimals(2)
    spin.setToolTip(tip)
    return spin


class RangeForm:
    """The settings :class:`SettingsForm` (``form``) with its range fields ``from_spin``, ``to_spin`` and
    ``step_spin``, the ``reset_button`` ("Defaults": the kind's range for the input of ``input_size()``,
    (height, width) pixels, also chosen with a new kind) and the ``limit_label`` shown while the range has too
    many values."""

    def __init__(self, input_size: Callable[[], tuple[int, int]]) -> None:
        self.input_size = input_size
        self.from_spin = range_spin("First value")
        self.to_spin = range_spin("Last value (included)")
        self.step_spin = range_spin("Step between values")
        self.step_spin.setRange(0.01, 3600)
        start, stop, step = invariance.default_range("rotation", DEFAULT_SIZE[1])
        self.form = SettingsForm(Settings, fields=FIELDS, titles={"kind": KIND_TITLES}, per_row=4,
                                 overrides={"start": self.from_spin, "stop": self.to_spin, "step": self.step_spin},
                                 initial=Settings(start=start, stop=stop, step=step))
        self.reset_button = QPushButton("Defaults")
        self.reset_button.setToolTip("The paper's range for this kind, scaled to the input size")
        self.limit_label = QLabel()
        self.limit_label.setStyleSheet("color: #b00")
        self.limit_label.hide()
        self.form.add_widgets(self.reset_button, self.limit_label, row=0)
        kind = self.form.widget("kind")
        assert isinstance(kind, QComboBox)
        shrinkable(kind, self.from_spin, self.to_spin, self.step_spin)
        for spin in (self.from_spin, self.to_spin, self.step_spin):
            spin.valueChanged.connect(self._update_limit)
        self.form.changed.connect(lambda name: self.reset() if name == "kind" else None)
        self.reset_button.clicked.connect(lambda: self.reset())

    @property
    def kind(self) -> str:
        """The transform kind: one of :data:`cnnviz.core.per_image.invariance.KINDS`."""
        return str(self.form.value("kind"))

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

    def settings(self, **fixed: Any) -> Settings:
        """The analysis settings the form shows (a stop below the start taken as the start), with ``fixed``
        values for other fields (``layers``, ``target``); raises ValueError naming a field."""
        start = self.from_spin.value()
        return self.form.settings(**({"stop": max(self.to_spin.value(), start)} | fixed))

    def set_values(self, start: float, stop: float, step: float) -> None:
        """Set the range fields."""
        self.from_spin.setValue(start)
        self.to_spin.setValue(stop)
        self.step_spin.setValue(step)

    def reset(self) -> None:
        """The kind's default range for the input (:func:`cnnviz.core.per_image.invariance.default_range`), with the
        kind's unit on the fields and their bounds (:func:`value_limits`)."""
        height, width = self.input_size()
        kind = self.kind
        size = height if kind == "vertical" else width
        unit = invariance.UNITS[kind]
        low, high = value_limits(kind, size)
        for spin in (self.from_spin, self.to_spin, self.step_spin):
            spin.setSuffix(f" {unit}" if unit != "×" else "×")
        for spin in (self.from_spin, self.to_spin):
            spin.setRange(low, high)
        self.step_spin.setRange(0.01, high - low)
        self.set_values(*invariance.default_range(kind, size))

    def _update_limit(self, *_args: object) -> None:
        message = self.limit_message()
        self.limit_label.setText(f"at most {invariance.MAX_VALUES} values" if message else "")
        self.limit_label.setToolTip(message)
        self.limit_label.setVisible(bool(message))
