"""A pane's settings by name: what sessions save and open, ``cnnviz run --set`` sets and the app remembers.

A :class:`SettingsBinding` holds the pane's :class:`~cnnviz.gui.runtime.control_state.Controls` registry:
the pane registers each control that changes what it shows (:meth:`SettingsBinding.register`, which also
takes a :class:`~cnnviz.gui.widgets.settings_form.SettingsForm`). Its settings are the pane's layer (from
its :class:`~cnnviz.gui.panes.parts.layer_binding.LayerBinding`), every registered control and what the
extra-settings hooks give (values that are no control's: computed curves, a list of layers);
:meth:`SettingsBinding.apply_settings` sets them back and :meth:`SettingsBinding.apply_settings_when_listed`
first waits until the current model's layers are listed.
"""

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject

from cnnviz.gui.panes.parts.layer_binding import LayerBinding
from cnnviz.gui.runtime.control_state import Control, Controls, Value

ExtraSettings = Callable[[], dict[str, Value]]
"""The settings that are no control's value, by name."""
ApplyExtraSettings = Callable[[dict[str, Value], bool], dict[str, str]]
"""Sets what :data:`ExtraSettings` gave (``(values, strict)``); returns {name: reason} for what it could not
set. Names it does not know it leaves to :meth:`SettingsBinding.unknown_settings`."""
Done = Callable[[dict[str, str]], None]


class Form(Protocol):
    """A group of controls that registers itself, e.g. a :class:`~cnnviz.gui.widgets.settings_form.SettingsForm`."""

    def register(self, registry: Controls) -> None:
        """Add each of its controls to ``registry``."""


class SettingsBinding(QObject):
    """The settings of the pane ``key``; see the module docstring.

    ``layer_applied()`` runs when settings set the layer, before the controls are set (so that controls
    whose range depends on the layer fit the settings' values); ``changed()`` shows the result once settings
    applied after the layers were listed are set. Attribute ``controls``: the
    :class:`~cnnviz.gui.runtime.control_state.Controls` registry.
    """

    def __init__(self, key: str, layers: LayerBinding, *, changed: Callable[[], None],
                 layer_applied: Callable[[], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.layers = layers
        self.controls = Controls(key, self)
        self._changed = changed
        self._layer_applied = layer_applied or (lambda: None)
        self._extra: ExtraSettings = dict
        self._apply_extra: ApplyExtraSettings = self.unknown_settings

    def register(self, *forms: Form, **controls: Control) -> None:
        """Register the controls of each of ``forms`` (:meth:`Form.register`), then each of ``controls``
        under its keyword, in order (:meth:`Controls.add`: names are unique)."""
        for form in forms:
            form.register(self.controls)
        for name, control in controls.items():
            self.controls.add(name, control)

    def add_extra(self, extra: ExtraSettings, apply: ApplyExtraSettings) -> None:
        """Add the settings ``extra()`` gives to :meth:`settings`, set back by ``apply(values, strict)``
        with every name that is neither the layer nor a control's (replaces earlier hooks)."""
        self._extra, self._apply_extra = extra, apply

    def settings(self) -> dict[str, Value]:
        """The pane's settings: the layer (when one is shown), every registered control and the extras."""
        layer = self.layers.layer
        values: dict[str, Value] = {"layer": layer} if layer else {}
        return values | self.controls.state() | self._extra()

    def apply_settings(self, values: dict[str, Value], strict: bool = True) -> dict[str, str]:
        """Set the settings in ``values`` (as from :meth:`settings`; the layer selected everywhere);
        returns {name: reason} for those that could not be set. ``strict``: an unknown name raises
        KeyError (after the layer and controls were set)."""
        values = dict(values)
        problems: dict[str, str] = {}
        layer = values.pop("layer", None)
        if layer is not None:
            if self.layers.picker.choice(str(layer)) is None:
                problems["layer"] = f"no layer {layer!r} in this pane's list"
            else:
                self.layers.choose_layer(str(layer))
                self._layer_applied()
        own = {name: values.pop(name) for name in list(values) if name in self.controls.controls}
        problems |= self.controls.apply(own)
        problems |= self._apply_extra(values, strict)
        return problems

    def apply_settings_when_listed(self, values: dict[str, Value], done: Done | None = None) -> None:
        """Apply ``values`` (as from :meth:`settings`, unknown names reported, not raised) once the pane
        lists the current model's layers: now if it does, else when they are listed (a later call replaces
        a waiting one). The layer is selected in this pane only (the shared selection stays);
        ``done(problems)`` follows with {name: reason} for what could not be set."""
        values = dict(values)
        self.layers.when_listed(lambda: self._apply_listed(values, done))

    def unknown_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """The answer to settings of names the pane does not know: KeyError if ``strict``, else each
        reported as "no such setting"."""
        if values and strict:
            raise KeyError(f"{self.key} has no setting {', '.join(map(repr, values))}; "
                           f"settings: {', '.join(['layer', *self.controls.controls])}")
        return dict.fromkeys(values, "no such setting")

    def _apply_listed(self, values: dict[str, Value], done: Done | None) -> None:
        layer = values.pop("layer", None)
        problems: dict[str, str] = {}
        if layer is not None and self.layers.picker.select(str(layer)):
            self._layer_applied()
        elif layer is not None:
            problems["layer"] = f"no layer {layer!r} in this pane's list"
        problems |= self.apply_settings(values, strict=False)
        self._changed()
        if done is not None:
            done(problems)
