"""The layers the Invariance pane compares, its one layer control: their list (shown with each layer's pen style),
an *Add layer…* menu of the model's other layers, a *Remove layer…* menu of the compared ones, *Default layers*,
and the list as a setting."""

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.layer_choices import LayerChoice
from cnnviz.gui.panes.invariance.plots import style_name
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.control_state import Value

ADD_TEXT, REMOVE_TEXT = "Add layer…", "Remove layer…"
"""The titles the two menus show when closed."""


def layer_names(value: Value) -> list[str] | None:
    """The layer names of a ``layers`` setting (a list of names, or comma-separated text from the command line),
    each once; None for anything else."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return None
    return list(dict.fromkeys(value))


class LayerMenu(QComboBox):
    """A menu titled ``title`` of the (label, layer name) pairs ``entries()`` gives, listed afresh each time it
    opens (and by :meth:`fill`); choosing one emits ``chosen(name)`` and shows the title again."""

    chosen = Signal(str)

    def __init__(self, title: str, entries: Callable[[], list[tuple[str, str]]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self._entries = title, entries
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(len(title))
        self.activated.connect(self._activated)
        self.fill()

    def fill(self) -> None:
        """List the title, then the entries."""
        self.blockSignals(True)
        self.clear()
        self.addItem(self.title, "")
        for label, name in self._entries():
            self.addItem(label, name)
        self.setCurrentIndex(0)
        self.blockSignals(False)

    def names(self) -> list[str]:
        """The layer names listed, in order."""
        return [self.itemData(i) for i in range(1, self.count())]

    def showPopup(self) -> None:  # noqa: N802 - Qt API
        """List the entries as they are now, then open."""
        self.fill()
        super().showPopup()

    def _activated(self, index: int) -> None:
        name = self.itemData(index)
        self.setCurrentIndex(0)
        if name:
            self.chosen.emit(name)


class CompareLayers:
    """The compared layers ``names`` (in order; each layer's pen style by its place), shown in ``label``, chosen
    with ``add_menu`` (the model's layers, ``choices()``, not compared yet), ``remove_menu`` (the compared ones)
    and ``default_button``; default layers are listed on the compute worker of ``jobs`` for the model of
    ``state``; ``known(name)`` says whether the model has layer ``name``."""

    def __init__(self, state: AppState, jobs: JobRunner, choices: Callable[[], list[LayerChoice]],
                 known: Callable[[str], bool]) -> None:
        self.state, self.jobs, self.known = state, jobs, known
        self.names: list[str] = []
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.add_menu = LayerMenu(ADD_TEXT, lambda: [(c.label, c.name) for c in choices() if c.name not in self.names])
        self.add_menu.setToolTip("Also plot the feature distance at a layer of the model")
        self.remove_menu = LayerMenu(REMOVE_TEXT, lambda: [(name, name) for name in self.names])
        self.remove_menu.setToolTip("Stop plotting the feature distance at one of the compared layers")
        self.default_button = QPushButton("Default layers")
        self.default_button.setToolTip("The first conv block and the penultimate layer (the paper's layers 1 and 7)")
        self.add_menu.chosen.connect(self.add)
        self.remove_menu.chosen.connect(self.remove)
        self.default_button.clicked.connect(lambda: self.use_defaults())
        self.show_names()

    def row(self, *widgets: QWidget) -> QHBoxLayout:
        """The list, the menus, *Default layers* and ``widgets``."""
        row = QHBoxLayout()
        row.addWidget(self.label, 1)
        for widget in (self.add_menu, self.remove_menu, self.default_button, *widgets):
            row.addWidget(widget)
        return row

    def add(self, name: str) -> None:
        """Compare features of layer ``name`` too."""
        if name and name not in self.names:
            self.names.append(name)
            self.show_names()

    def remove(self, name: str) -> None:
        """Stop comparing features of layer ``name``."""
        if name in self.names:
            self.names.remove(name)
            self.show_names()

    def set_names(self, names: list[str]) -> None:
        """Compare ``names``."""
        self.names = list(names)
        self.show_names()

    def use_defaults(self, keep_chosen: bool = False) -> None:
        """Compare the default layers (:func:`invariance.default_layers`), listed on the compute worker;
        ``keep_chosen``: only if no layers are chosen by then (a session's layers win)."""
        model = self.state.model
        if model is not None:
            self.jobs.submit("defaults", "Finding the default layers…", invariance.default_layers, model,
                             done=lambda names: self._defaults_ready(model, names, keep_chosen))

    def model_changed(self, _model: LoadedModel) -> None:
        """A new model: no layers until its default ones are listed (unless a session sets others first)."""
        self.set_names([])
        self.use_defaults(keep_chosen=True)

    def apply(self, value: Value) -> str:
        """Compare the layers of setting ``value`` (see :func:`layer_names`); returns why it could not, or ""."""
        names = layer_names(value)
        if names is None:
            return f"expected a list of layer names, not {value!r}"
        unknown = [name for name in names if not self.known(name)]
        if unknown:
            return f"no layer {', '.join(unknown)} in this model"
        self.set_names(names)
        return ""

    def show_names(self) -> None:
        """Show the list with each layer's pen style (and list it in the menus)."""
        self.add_menu.fill()
        self.remove_menu.fill()
        if not self.names:
            self.label.setText("Compared layers: none chosen (a run compares the default layers)")
            return
        styles = ", ".join(f"{name} ({style_name(i)})" for i, name in enumerate(self.names))
        self.label.setText(f"Compared layers: {styles}")

    def _defaults_ready(self, model: LoadedModel, names: list[str], keep_chosen: bool) -> None:
        if model is self.state.model and not (keep_chosen and self.names):
            self.set_names(names)
