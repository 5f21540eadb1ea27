"""The layers the Invariance pane compares: their list (shown with each layer's pen style), *Add layer* and
*Remove layer* for the picker's layer, *Default layers*, and the list as a setting."""

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.plots import style_name
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.control_state import Value


def layer_names(value: Value) -> list[str] | None:
    """The layer names of a ``layers`` setting (a list of names, or comma-separated text from the command line),
    each once; None for anything else."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return None
    return list(dict.fromkeys(value))


class CompareLayers:
    """The compared layers ``names`` (in order; each layer's pen style by its place), shown in ``label``; the
    buttons act on ``layer()``, the picker's layer; default layers are listed on the compute worker of
    ``jobs`` for the model of ``state``; ``known(name)`` says whether the model has layer ``name``."""

    def __init__(self, state: AppState, jobs: JobRunner, layer: Callable[[], str],
                 known: Callable[[str], bool]) -> None:
        self.state, self.jobs, self.known = state, jobs, known
        self.names: list[str] = []
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.add_button = QPushButton("Add layer")
        self.add_button.setToolTip("Also plot the feature distance at the layer chosen in the picker")
        self.remove_button = QPushButton("Remove layer")
        self.remove_button.setToolTip("Stop plotting the feature distance at the layer chosen in the picker")
        self.default_button = QPushButton("Default layers")
        self.default_button.setToolTip("The first conv block and the penultimate layer (the paper's layers 1 and 7)")
        self.add_button.clicked.connect(lambda: self.add(layer()))
        self.remove_button.clicked.connect(lambda: self.remove(layer()))
        self.default_button.clicked.connect(lambda: self.use_defaults())
        self.show_names()

    def row(self) -> QHBoxLayout:
        """The list beside *Default layers*."""
        row = QHBoxLayout()
        row.addWidget(self.label, 1)
        row.addWidget(self.default_button)
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
        """Show the list with each layer's pen style."""
        if not self.names:
            self.label.setText("Compared layers: none chosen (a run compares the default layers)")
            return
        styles = ", ".join(f"{name} ({style_name(i)})" for i, name in enumerate(self.names))
        self.label.setText(f"Compared layers: {styles}")

    def _defaults_ready(self, model: LoadedModel, names: list[str], keep_chosen: bool) -> None:
        if model is self.state.model and not (keep_chosen and self.names):
            self.set_names(names)
