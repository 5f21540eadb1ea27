"""A pane's settings as named values: one registry per pane of the controls that change what it shows.

A pane registers each such control once, under a short name (``window``, ``stride``, ``colormap``):
``controls.add("window", spin_box)``. The registry then gives the pane's settings as a JSON-ready dict
(:meth:`Controls.state`) and sets them back (:meth:`Controls.apply`), which is what sessions save and
open, what ``cnnviz run --set key=value`` sets and what is remembered across restarts (QSettings, under
``panes/<pane key>/<name>``). A value set back goes through the control itself, so the pane reacts as if
the user had changed it.

Plain Qt controls are read and set by type (spin boxes, combo boxes by item data or text, check
boxes and radio buttons, sliders, line edits, :class:`~cnnviz.gui.widgets.log_spin_box.LogSlider`,
:class:`~cnnviz.gui.widgets.colormaps.ColormapPicker`). Anything else (a compound control such as a
parameter form) registers as a :class:`Custom` with its own getter and setter.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, SignalInstance
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

from cnnviz.gui.runtime import settings_store
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


class Controls(QObject):
    """The named controls of the pane ``key``; see the module docstring. ``remember``: save each change
    in the settings (restored by :meth:`restore_remembered`)."""

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.controls: dict[str, Control] = {}
        self.defaults: dict[str, Value] = {}
        self.remember = False

    def add(self, name: str, control: Control) -> Control:
        """Register ``control`` as ``name`` (its current value is the default); returns it."""
        if name in self.controls:
            raise ValueError(f"{self.key} already has a setting called {name!r}")
        self.controls[name] = control
        self.defaults[name] = read(control)
        if isinstance(control, QWidget) and not control.objectName():
            control.setObjectName(f"{self.key}_{name}")
        signal = changed_signal(control)
        if signal is not None:
            signal.connect(lambda *_args, n=name: self._changed(n))
        return control

    def state(self) -> dict[str, Value]:
        """Every setting's current value."""
        return {name: read(control) for name, control in self.controls.items()}

    def apply(self, values: dict[str, Value], strict: bool = True) -> dict[str, str]:
        """Set every setting named in ``values``; returns {name: reason} for those that could not be set.
        ``strict``: an unknown name raises KeyError before anything is set (else it is reported)."""
        unknown = [name for name in values if name not in self.controls]
        if unknown and strict:
            raise KeyError(f"{self.key} has no setting {', '.join(map(repr, unknown))}; "
                           f"settings: {', '.join(self.controls)}")
        problems = dict.fromkeys(unknown, "no such setting")
        for name, value in values.items():
            if name in self.controls:
                try:
                    write(self.controls[name], value)
                except (TypeError, ValueError) as error:
                    problems[name] = str(error)
        return problems

    def remembered(self) -> dict[str, Value]:
        """The values remembered in the settings, by name (those unreadable are left out)."""
        values = {}
        for name in self.controls:
            text = settings_store.load_text(self._settings_key(name), "")
            if text:
                try:
                    values[name] = json.loads(text)
                except ValueError:
                    continue
        return values

    def restore_remembered(self) -> None:
        """Set the controls to the values remembered in the settings (bad or stale values are skipped),
        then remember every later change."""
        self.apply(self.remembered(), strict=False)
        self.remember = True

    def _changed(self, name: str) -> None:
        if self.remember:
            settings_store.save_text(self._settings_key(name), json.dumps(read(self.controls[name])))

    def _settings_key(self, name: str) -> str:
        return f"panes/{self.key}/{name}"
