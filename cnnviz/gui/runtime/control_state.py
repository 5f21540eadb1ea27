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
parameter form) registers as a :class:`Custom` with its own getter and setter. Reading and setting by
type lives in :mod:`cnnviz.gui.widgets.control_values` (so that widgets can use it too); its names are
also importable from here.
"""

import json

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.control_values import Control, Value, changed_signal, read, write
from cnnviz.gui.widgets.control_values import Custom as Custom


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
