"""The parameter widgets of the Attribution pane, built from :func:`cnnviz.core.attribution.parameters`.

Every parameter of a method gets a widget chosen by its name when it is a known one (the baseline,
the Riemann rule, the channel reduction as combo boxes; steps, samples, σ, window and stride as spin
boxes with sensible ranges) and otherwise by the type of its default (a check box for a bool, a spin
box for an int or float, a line edit for text). A parameter whose default is None and that has no
known widget keeps its default. :class:`ParamForm` holds one method's widgets and emits ``changed``
when the user edits one (spin boxes once the edit is finished, not at every key).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from cnnviz.core import attribution
from cnnviz.core.occlusion import FILLS

CHOICES: dict[str, tuple[str, ...]] = {
    "baseline": ("black", "mean", "blur", "noise"),
    "rule": ("riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gausslegendre"),
    "reduce": attribution.REDUCTIONS,
    "fill": tuple(FILLS),
}
"""The values offered for the known text parameters (the core checks them)."""
INT_RANGES = {"steps": (1, 1024), "samples": (1, 1024), "seed": (0, 2**31 - 1), "window": (0, 4096),
              "stride": (0, 4096), "batch_size": (0, 4096)}
"""(least, largest) of the known whole-number parameters; 0 stands for None ("auto") where the default is None."""
TITLES = {"sigma": "σ", "samples": "samples", "steps": "steps", "baseline": "baseline", "rule": "rule",
          "reduce": "channels", "window": "window", "stride": "stride", "fill": "fill", "seed": "seed"}
TIPS = {
    "baseline": "Integrated gradients' reference input: black (0 before normalising), the dataset mean, a "
                "blurred copy or noise",
    "steps": "Points on the path from the baseline to the input (batched)",
    "rule": "How the path integral is summed (Captum's names)",
    "sigma": "Noise standard deviation as a share of the input range",
    "samples": "Noisy copies averaged (batched)",
    "reduce": "How the channels of the input attributions become one value per pixel",
    "window": "Occluder side in input pixels (auto: the Occlusion pane's default)",
    "stride": "Step between occluder positions in input pixels (auto: from the window)",
}


@dataclass
class ParamField:
    """One parameter's ``widget`` with ``get()`` (its value for the core) and ``set(value)``."""

    name: str
    widget: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]


def _combo(name: str, default: str, changed: Callable[[], None]) -> ParamField:
    combo = QComboBox()
    values = CHOICES[name] if default in CHOICES[name] else (default, *CHOICES[name])
    for value in values:
        combo.addItem(value.replace("_", " "), value)
    combo.currentIndexChanged.connect(lambda _i: changed())

    def set_value(value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    set_value(default)
    return ParamField(name, combo, lambda: str(combo.currentData()), set_value)


def _int_spin(name: str, default: int | None, changed: Callable[[], None]) -> ParamField:
    spin = QSpinBox()
    low, high = INT_RANGES.get(name, (0 if default is None else min(0, default), 2**31 - 1))
    spin.setRange(low, high)
    if default is None:
        spin.setSpecialValueText("auto")
    spin.setKeyboardTracking(False)
    spin.setValue(default or 0)
    spin.valueChanged.connect(lambda _v: changed())

    def get() -> int | None:
        return None if default is None and spin.value() == 0 else spin.value()

    return ParamField(name, spin, get, lambda value: spin.setValue(int(value or 0)))


def _float_spin(name: str, default: float, changed: Callable[[], None]) -> ParamField:
    spin = QDoubleSpinBox()
    spin.setDecimals(3)
    if name == "sigma":
        spin.setRange(0.0, 1.0)
    else:
        spin.setRange(-1e6, 1e6)
    spin.setSingleStep(0.05 if name == "sigma" else 0.1)
    spin.setKeyboardTracking(False)
    spin.setValue(default)
    spin.valueChanged.connect(lambda _v: changed())
    return ParamField(name, spin, spin.value, lambda value: spin.setValue(float(value)))


def _check(name: str, default: bool, changed: Callable[[], None]) -> ParamField:
    box = QCheckBox(TITLES.get(name, name.replace("_", " ")))
    box.setChecked(default)
    box.toggled.connect(lambda _on: changed())
    return ParamField(name, box, box.isChecked, lambda value: box.setChecked(bool(value)))


def _line(name: str, default: str, changed: Callable[[], None]) -> ParamField:
    edit = QLineEdit(default)
    edit.editingFinished.connect(changed)
    return ParamField(name, edit, edit.text, lambda value: edit.setText(str(value)))


def param_field(name: str, default: Any, changed: Callable[[], None]) -> ParamField | None:
    """The widget of parameter ``name`` with ``default``, calling ``changed()`` on an edit; None for a
    parameter left at its default (a None default without a known widget)."""
    if isinstance(default, bool):
        field = _check(name, default, changed)
    elif name in CHOICES and isinstance(default, str):
        field = _combo(name, default, changed)
    elif isinstance(default, int) or (default is None and name in INT_RANGES):
        field = _int_spin(name, default, changed)
    elif isinstance(default, float):
        field = _float_spin(name, default, changed)
    elif isinstance(default, str):
        field = _line(name, default, changed)
    else:
        return None
    field.widget.setToolTip(TIPS.get(name, f"{name} (default {default!r})"))
    return field


class ParamForm(QWidget):
    """The parameters of one ``method`` in a row, titled ``title``; ``changed`` on every edit."""

    changed = Signal()

    def __init__(self, method: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = method
        self.fields = [f for name, default in attribution.parameters(method).items()
                       if (f := param_field(name, default, self.changed.emit)) is not None]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(f"<b>{title}</b>"))
        for field in self.fields:
            if not isinstance(field.widget, QCheckBox):
                layout.addWidget(QLabel(TITLES.get(field.name, field.name.replace("_", " "))))
            layout.addWidget(field.widget)
        layout.addStretch(1)

    @property
    def empty(self) -> bool:
        """True for a method without parameters to set."""
        return not self.fields

    def values(self) -> dict[str, Any]:
        """The parameters set, by name (those without a widget are left to the core's defaults)."""
        return {field.name: field.get() for field in self.fields}

    def set_values(self, values: dict[str, Any]) -> None:
        """Set the parameters named in ``values`` (others and unknown names are left), without ``changed``."""
        self.blockSignals(True)
        for field in self.fields:
            if field.name in values:
                field.widget.blockSignals(True)
                field.set(values[field.name])
                field.widget.blockSignals(False)
        self.blockSignals(False)
