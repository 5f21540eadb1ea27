"""Reading and setting a control's value by its type: spin boxes, combo boxes (by item data or text), check
boxes and radio buttons, sliders, line edits, :class:`~cnnviz.gui.widgets.log_spin_box.LogSlider` and
:class:`~cnnviz.gui.widgets.colormaps.ColormapPicker`; anything else (a compound control) as a :class:`Custom`
with its own getter and setter. :class:`~cnnviz.gui.runtime.control_state.Controls` (a pane's named settings)
and :class:`~cnnviz.gui.widgets.settings_form.SettingsForm` read and set their controls through these.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.log_spin_box import LogSlider

Value = Any
"""A JSON value: bool, int, float, str, or lists and dicts of them."""


@dataclass(frozen=True)
class Custom:
    """A control read by ``get()`` and set by ``set(value)``; ``changed`` (optional) is emitted when the
    user changes it, for remembering."""

    get: Callable[[], Value]
    set: Callable[[Value], None]
    changed: SignalInstance | None = None


Control = QWidget | Custom


def read(control: Control) -> Value:
    """The value ``control`` shows."""
    if isinstance(control, Custom):
        return control.get()
    if isinstance(control, ColormapPicker):
        return control.name()
    if isinstance(control, LogSlider):
        return control.value()
    if isinstance(control, QComboBox):
        data = control.currentData()
        return data if isinstance(data, (str, int, float, bool)) else control.currentText()
    if isinstance(control, QAbstractButton):
        return control.isChecked()
    if isinstance(control, (QSpinBox, QDoubleSpinBox, QAbstractSlider)):
        return control.value()
    if isinstance(control, QLineEdit):
        return control.text()
    raise TypeError(f"cannot read a {type(control).__name__}")


def write(control: Control, value: Value) -> None:
    """Show ``value`` in ``control`` as a user change would. Raises ValueError for a value the control
    cannot take (a combo box item that does not exist, a number out of range)."""
    if isinstance(control, Custom):
        control.set(value)
    elif isinstance(control, ColormapPicker):
        try:
            control.set_name(str(value))
        except KeyError:
            raise ValueError(f"unknown colormap {value!r}") from None
    elif isinstance(control, LogSlider):
        control.set_value(_number(control.spin, value))
    elif isinstance(control, QComboBox):
        _write_combo(control, value)
    elif isinstance(control, QAbstractButton):
        control.setChecked(_flag(value))
    elif isinstance(control, QSpinBox):
        control.setValue(int(_number(control, value)))
    elif isinstance(control, QDoubleSpinBox):
        control.setValue(_number(control, value))
    elif isinstance(control, QAbstractSlider):
        control.setValue(int(_number(control, value)))
    elif isinstance(control, QLineEdit):
        control.setText(str(value))
    else:
        raise TypeError(f"cannot set a {type(control).__name__}")


def _write_combo(combo: QComboBox, value: Value) -> None:
    index = combo.findData(value)
    if index < 0:
        index = combo.findText(str(value))
    if index < 0:
        choices = [str(combo.itemData(i) if combo.itemData(i) is not None else combo.itemText(i))
                   for i in range(combo.count())]
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _flag(value: Value) -> bool:
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, not {value!r}")
    return bool(value)


def _number(box: QAbstractSpinBox | QAbstractSlider, value: Value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, not {value!r}") from None
    low, high = box.minimum(), box.maximum()  # type: ignore[union-attr]
    if not low <= number <= high:
        raise ValueError(f"{number:g} is outside {low:g}…{high:g}")
    return int(number) if isinstance(box, (QSpinBox, QAbstractSlider)) else number


def changed_signal(control: Control) -> SignalInstance | None:
    """The signal emitted when the user changes ``control`` (None if it has none)."""
    if isinstance(control, Custom):
        return control.changed
    if isinstance(control, ColormapPicker):
        return control.colormap_changed
    if isinstance(control, LogSlider):
        return control.value_changed
    if isinstance(control, QComboBox):
        return control.currentIndexChanged
    if isinstance(control, QAbstractButton):
        return control.toggled
    if isinstance(control, (QSpinBox, QDoubleSpinBox, QAbstractSlider)):
        return control.valueChanged
    if isinstance(control, QLineEdit):
        return control.editingFinished
    return None
