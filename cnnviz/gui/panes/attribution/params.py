"""The parameter widgets of the Attribution pane, built from :func:`cnnviz.core.per_image.attribution.parameters`.

Every parameter of a method gets a widget chosen by its name when it is a known one (the baseline,
the Riemann rule, SmoothGrad's base method, the channel reduction and the occluder fill as combo
boxes; steps, samples, σ, window and stride as spin boxes with sensible ranges, "auto" standing for a
None default) and otherwise by the type of its default (a check box for a bool, a spin box for an int
or float, a line edit for text). A parameter whose default is None without a known widget, and the
batch size (the core fits it to the memory), keep their defaults. :class:`ParamForm` holds one method's
widgets and emits ``changed`` when the user edits one (spin boxes once the edit is finished, not at
every key).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QLineEdit, QSpinBox, QWidget

from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution.integrated import BASELINES, RULES
from cnnviz.core.per_image.attribution.smooth import BASES
from cnnviz.core.per_image.occlusion import FILLS
from cnnviz.gui.panes.tool_pane import SHRUNK_WIDTH
from cnnviz.gui.runtime import control_state
from cnnviz.gui.runtime.control_state import Custom

CHOICES: dict[str, tuple[str, ...]] = {
    "baseline": BASELINES,
    "rule": RULES,
    "base": BASES,
    "reduce": attribution.REDUCTIONS,
    "fill": tuple(FILLS),
}
"""The values offered for the known text parameters (the core checks them)."""
INT_RANGES = {"steps": (1, 1024), "samples": (1, 1024), "seed": (0, 2**31 - 1), "window": (0, 4096),
              "stride": (0, 4096), "batch_size": (0, 4096)}
"""(least, largest) of the known whole-number parameters; 0 stands for None ("auto") where the default is None."""
AUTO_FLOATS = ("blur_sigma",)
"""Known parameters in pixels whose None default means "chosen by the core"; 0 stands for None."""
HIDDEN = ("batch_size",)
"""Parameters left to the core (it sizes batches to the memory)."""
NEEDS = {"steps": ("base", "integrated_gradients"), "baseline": ("base", "integrated_gradients"),
         "rule": ("base", "integrated_gradients"), "blur_sigma": ("baseline", "blur")}
"""A parameter that only matters when another one of the same method has a value (SmoothGrad's path
settings when it averages integrated gradients, the blur σ of the blurred baseline): disabled otherwise."""
FIELDS_PER_ROW = 3
TITLES = {"sigma": "σ", "blur_sigma": "blur σ", "base": "over", "samples": "samples", "steps": "steps",
          "baseline": "baseline", "rule": "rule",
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
    "base": "The method averaged over the noisy copies",
    "squared": "Average the squared attributions (SmoothGrad²)",
    "blur_sigma": "σ of the blurred baseline in pixels (auto: the core's share of the image side)",
    "seed": "Seed of the random noise",
}


@dataclass
class ParamField:
    """One parameter's ``widget`` with ``get()`` (its value for the core) and ``set(value)``."""

    name: str
    widget: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]


def _combo(name: str, default: str | None, changed: Callable[[], None]) -> ParamField:
    combo = QComboBox()
    values = CHOICES[name] if default in CHOICES[name] else (default, *CHOICES[name])
    for value in values:
        combo.addItem("auto" if value is None else value.replace("_", " "), value)

    def set_value(value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    set_value(default)
    combo.currentIndexChanged.connect(lambda _i: changed())
    return ParamField(name, combo, combo.currentData, set_value)


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


def _float_spin(name: str, default: float | None, changed: Callable[[], None]) -> ParamField:
    spin = QDoubleSpinBox()
    spin.setDecimals(3)
    if name == "sigma":
        spin.setRange(0.0, 1.0)
    elif default is None:
        spin.setRange(0.0, 1e4)
        spin.setSpecialValueText("auto")
    else:
        spin.setRange(-1e6, 1e6)
    spin.setSingleStep(0.05 if name == "sigma" else 0.5)
    spin.setKeyboardTracking(False)
    spin.setValue(default or 0.0)
    spin.valueChanged.connect(lambda _v: changed())

    def get() -> float | None:
        return None if default is None and spin.value() == 0 else spin.value()

    return ParamField(name, spin, get, lambda value: spin.setValue(float(value or 0.0)))


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
    if name in HIDDEN:
        return None
    if isinstance(default, bool):
        field = _check(name, default, changed)
    elif name in CHOICES and (default is None or isinstance(default, str)):
        field = _combo(name, default, changed)
    elif isinstance(default, int) or (default is None and name in INT_RANGES):
        field = _int_spin(name, default, changed)
    elif isinstance(default, float) or (default is None and name in AUTO_FLOATS):
        field = _float_spin(name, default, changed)
    elif isinstance(default, str):
        field = _line(name, default, changed)
    else:
        return None
    field.widget.setToolTip(TIPS.get(name, f"{name} (default {default!r})"))
    if not isinstance(field.widget, QCheckBox):
        field.widget.setMinimumWidth(SHRUNK_WIDTH)
    return field


class ParamForm(QWidget):
    """The parameters of one ``method`` titled ``title``, :data:`FIELDS_PER_ROW` to a row; ``changed``
    on every edit. ``fields``: the :class:`ParamField` of each parameter with a widget."""

    changed = Signal()

    def __init__(self, method: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = method
        self.fields = [f for name, default in attribution.parameters(method).items()
                       if (f := param_field(name, default, self._edited)) is not None]
        self.labels: dict[str, QLabel] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(2)
        heading = QLabel(f"<b>{title}</b>")
        heading.setWordWrap(True)
        layout.addWidget(heading, 0, 0, Qt.AlignmentFlag.AlignTop)
        for index, field in enumerate(self.fields):
            row, column = divmod(index, FIELDS_PER_ROW)
            if not isinstance(field.widget, QCheckBox):
                self.labels[field.name] = QLabel(TITLES.get(field.name, field.name.replace("_", " ")))
                layout.addWidget(self.labels[field.name], row, 1 + 2 * column)
            layout.addWidget(field.widget, row, 2 + 2 * column)
        layout.setColumnStretch(2 * FIELDS_PER_ROW + 1, 1)
        self._sync()

    def field(self, name: str) -> ParamField | None:
        """The field of parameter ``name``, None if it has no widget."""
        return next((f for f in self.fields if f.name == name), None)

    def _edited(self) -> None:
        self._sync()
        self.changed.emit()

    def _sync(self) -> None:
        """Enable each field whose :data:`NEEDS` are met."""
        values = self.values()
        for field in self.fields:
            needed = NEEDS.get(field.name)
            on = needed is None or needed[0] not in values or values[needed[0]] == needed[1]
            field.widget.setEnabled(on)
            if field.name in self.labels:
                self.labels[field.name].setEnabled(on)

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
        self._sync()

    def set_field(self, name: str, value: Any) -> None:
        """Set parameter ``name`` to ``value`` as a user edit would (None or "auto": the core's choice, where
        the parameter has one); raises ValueError for a value its widget cannot show."""
        field = self.field(name)
        if field is None:
            raise ValueError(f"{self.method} has no parameter {name!r}")
        if value is None or (isinstance(value, str) and value.lower() == "auto"):
            value = "auto" if isinstance(field.widget, QComboBox) else 0
        field.widget.blockSignals(True)
        try:
            control_state.write(field.widget, value)
        finally:
            field.widget.blockSignals(False)
        self._edited()

    def named_controls(self) -> dict[str, Custom]:
        """Each parameter as a setting named ``<method>_<parameter>`` (e.g. ``smoothgrad_samples``)."""
        return {f"{self.method}_{field.name}":
                Custom(field.get, partial(self.set_field, field.name), self.changed)
                for field in self.fields}
