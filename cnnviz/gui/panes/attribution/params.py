"""The parameter forms of the Attribution pane: one :class:`MethodForm` per method, the
:class:`~cnnviz.gui.widgets.settings_form.SettingsForm` of the attribution analysis's ``<method>_<parameter>``
settings (:func:`method_fields`: every parameter of :func:`cnnviz.core.per_image.attribution.parameters` but the
batch size, which the core fits to the memory).

Under the method's title, the fields go :data:`FIELDS_PER_ROW` to a row, labelled with the parameter's short
name (:data:`TITLES`, the method being in the title), "auto" standing for the core's choice; a field that only
matters when another one of the same method has a value (:data:`NEEDS`) is disabled otherwise. :class:`MethodForms`
folds the forms of every method in one section, showing those of the methods shown.
"""

from typing import Any

from PySide6.QtWidgets import QAbstractButton, QDoubleSpinBox, QLabel, QVBoxLayout, QWidget

from cnnviz.analyses.attribution import Settings, method_title
from cnnviz.core.per_image import attribution
from cnnviz.core.settings import infos
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.collapsible import Section
from cnnviz.gui.widgets.settings_form import SettingsForm

FIELDS_PER_ROW = 3
TITLES = {"sigma": "σ", "blur_sigma": "blur σ", "base": "over", "reduce": "channels", "window": "window",
          "squared": "squared"}
"""Short labels of parameters whose name does not say it; the others are labelled with their name."""
NEEDS = {"steps": ("base", "integrated_gradients"), "baseline": ("base", "integrated_gradients"),
         "rule": ("base", "integrated_gradients"), "blur_sigma": ("baseline", "blur")}
"""A parameter that only matters when another one of the same method has a value (SmoothGrad's path
settings when it averages integrated gradients, the blur σ of the blurred baseline): disabled otherwise."""
AUTO = {None: "auto"}
"""What an optional parameter shows for None (the core's choice; its tooltip says which)."""
BLUR_STEP = 0.5
"""Arrow-key step of a blur σ, in pixels."""


def method_fields(method: str) -> tuple[str, ...]:
    """The settings of ``method``'s parameters (``<method>_<parameter>``), in the core's order."""
    names = {entry.name for entry in infos(Settings)}
    return tuple(f"{method}_{name}" for name in attribution.parameters(method) if f"{method}_{name}" in names)


class MethodForm(SettingsForm):
    """The parameters of one ``method`` under its title; ``changed(name)`` on every edit (spin boxes once the
    edit is finished, not at every key)."""

    def __init__(self, method: str, parent: QWidget | None = None) -> None:
        fields = method_fields(method)
        super().__init__(Settings, fields=fields, per_row=FIELDS_PER_ROW, titles=dict.fromkeys(fields, AUTO),
                         parent=parent)
        self.method = method
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.setSpacing(2)
        heading = QLabel(f"<b>{method_title(method)}</b>")
        heading.setWordWrap(True)
        layout.insertWidget(0, heading)
        for name in self.names:
            self._relabel(name)
        self.changed.connect(lambda _name: self._sync())
        self._sync()

    def _relabel(self, name: str) -> None:
        short = name.removeprefix(f"{self.method}_")
        title = TITLES.get(short, short.replace("_", " "))
        control, label = self.widget(name), self.label(name)
        if isinstance(control, QAbstractButton):
            control.setText(title)
        elif isinstance(control, QWidget):
            shrinkable(control)
            if label is not None:
                label.setText(title)
        if short == "blur_sigma" and isinstance(control, QDoubleSpinBox):
            control.setSingleStep(BLUR_STEP)
            self.set_range(name, 0.0, control.maximum())

    @property
    def empty(self) -> bool:
        """True for a method without parameters to set."""
        return not self.names

    def parameters(self) -> dict[str, Any]:
        """The parameters set, by the core's name (``reduce``, not ``gradient_reduce``)."""
        return {name.removeprefix(f"{self.method}_"): value for name, value in self.values().items()}

    def _sync(self) -> None:
        """Enable each field whose :data:`NEEDS` are met."""
        values = self.parameters()
        for name in self.names:
            needed = NEEDS.get(name.removeprefix(f"{self.method}_"))
            on = needed is None or needed[0] not in values or values[needed[0]] == needed[1]
            for widget in self.pair(name):
                widget.setEnabled(on)


class MethodForms(Section):
    """The folding section *Method parameters* with a :class:`MethodForm` for every method (``forms``, by method);
    only the forms of the methods shown are visible."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Method parameters", expanded=False, parent=parent)
        self.toggleButton().setToolTip("Show or hide the parameters of the methods shown (each map's caption lists "
                                       "those it used)")
        self.forms = {method: MethodForm(method) for method in attribution.METHODS}
        area = QWidget()
        column = QVBoxLayout(area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        for form in self.forms.values():
            column.addWidget(form)
        holder = QVBoxLayout(self.content())
        holder.setContentsMargins(0, 0, 0, 0)
        holder.addWidget(area)

    def show_methods(self, methods: set[str]) -> None:
        """Show the forms of ``methods`` that have parameters, hide the others."""
        for method, form in self.forms.items():
            form.setVisible(method in methods and not form.empty)
