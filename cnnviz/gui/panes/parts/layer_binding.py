"""A pane's layer picker, listed for each model and kept in step with the shared layer and channel.

A :class:`LayerBinding` lists the layers a pane offers (``list_layers(model)``, run on the compute worker
through the pane's :class:`~cnnviz.gui.panes.parts.job_runner.JobRunner`) whenever the model changes, then
selects the shared layer if listed, else the pane's default. Choosing a layer in the picker selects it in
the shared state (and so in every pane that lists it, and in the Architecture table); a layer chosen
elsewhere is selected here when listed. What the pane does about it, it gives as callables: ``changed()``
(show the new selection), ``cleared()`` (a new model is being listed), ``channel_selected(channel)`` (the
shared channel of the pane's layer changed) and ``output_ready(output)`` (an output of its layer was
captured). :meth:`LayerBinding.when_listed` waits for the current model's list (settings of a session
that name a layer).
"""

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.widgets.layer_picker import LayerChoice, LayerPicker

ListLayers = Callable[[LoadedModel], list[LayerChoice]]
"""The layers a pane offers for a model, in display order (run on the compute worker)."""


def first_layer(choices: list[LayerChoice]) -> str:
    """The default default layer: the first of ``choices`` (never empty)."""
    return choices[0].name


class LayerBinding(QObject):
    """The layer selection of one pane; see the module docstring.

    ``shared``: choosing a layer here selects it in the shared state (False: only in this picker, for a
    pane whose picker picks layers to add to a list). ``default_layer(choices)`` picks the layer to show
    when the shared selection is none of ``choices``. Attribute ``picker``: the
    :class:`~cnnviz.gui.widgets.layer_picker.LayerPicker`.
    """

    def __init__(self, state: AppState, jobs: JobRunner, list_layers: ListLayers, *,
                 changed: Callable[[], None], cleared: Callable[[], None],
                 default_layer: Callable[[list[LayerChoice]], str] = first_layer,
                 channel_selected: Callable[[int | None], None] | None = None,
                 output_ready: Callable[[LayerOutput], None] | None = None,
                 shared: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.jobs, self.list_layers, self.shared = state, jobs, list_layers, shared
        self.picker = LayerPicker()
        self._changed, self._cleared, self._default_layer = changed, cleared, default_layer
        self._channel_selected = channel_selected or (lambda _channel: changed())
        self._output_ready = output_ready
        self._listed_for: LoadedModel | None = None
        self._waiting: Callable[[], None] | None = None
        self.picker.layer_chosen.connect(self.choose_layer)
        state.model_changed.connect(self._model_changed)
        state.layer_changed.connect(self._state_layer_changed)
        state.channel_changed.connect(self._state_channel_changed)
        jobs.store.captured.connect(self._captured)

    @property
    def layer(self) -> str:
        """The layer shown ("" before the model's layers are listed)."""
        choice = self.picker.current()
        return choice.name if choice is not None else ""

    @property
    def choice(self) -> LayerChoice | None:
        """The :class:`LayerChoice` of the layer shown (None before the layers are listed)."""
        return self.picker.current()

    @property
    def listed(self) -> bool:
        """True once the current model's layers are listed."""
        return self.state.model is not None and self._listed_for is self.state.model

    def choose_layer(self, name: str) -> None:
        """The user picked layer ``name`` here: select it everywhere (its channel: none) and show it; only
        here for a binding that is not ``shared``."""
        self.picker.select(name)
        if self.shared:
            self.state.set_layer(name)
            self._changed()

    def choose_channel(self, channel: int) -> None:
        """The user picked ``channel`` (-1: none) of this pane's layer: select layer and channel everywhere."""
        if self.state.layer != self.layer:
            self.state.set_layer(self.layer)
        self.state.set_channel(channel)

    def state_channel(self) -> int | None:
        """The shared channel selection if it belongs to this pane's layer, else None."""
        if self.state.layer == self.layer and self.state.channel >= 0:
            return self.state.channel
        return None

    def when_listed(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the current model's layers are listed: now if they are, else right after
        they are (before the pane is refreshed). A later call replaces a waiting callback."""
        self._waiting = callback
        if self.listed:
            self._run_waiting()

    def row(self, *widgets: QWidget) -> QHBoxLayout:
        """A row: "Layer", the picker (stretching) and ``widgets``."""
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.picker, 1)
        for widget in widgets:
            row.addWidget(widget)
        return row

    def _run_waiting(self) -> None:
        callback, self._waiting = self._waiting, None
        if callback is not None:
            callback()

    def _model_changed(self, model: LoadedModel) -> None:
        self._listed_for = None
        self.picker.set_choices([])
        self.jobs.stop_waiting()
        self._cleared()
        self.jobs.show_info("Listing the layers…")
        self.jobs.submit("layers", "Listing layers…", self.list_layers, model,
                         done=lambda choices: self._layers_listed(model, choices))

    def _layers_listed(self, model: LoadedModel, choices: list[LayerChoice]) -> None:
        if model is not self.state.model:
            return
        self.picker.set_choices(choices)
        self.picker.setEnabled(bool(choices))
        self._listed_for = model
        if not choices:
            self.jobs.show_info("This model has no layer this pane can show.")
            self._run_waiting()
            return
        self.jobs.show_info("")
        shared = self.state.layer
        self.picker.select(shared if self.picker.choice(shared) else self._default_layer(choices))
        self._run_waiting()
        self._changed()

    def _state_layer_changed(self, name: str) -> None:
        if name and name != self.layer and self.picker.select(name):
            self._changed()

    def _state_channel_changed(self, channel: int) -> None:
        if self.state.layer == self.layer and self.layer:
            self._channel_selected(channel if channel >= 0 else None)

    def _captured(self, output: LayerOutput) -> None:
        if self._output_ready is not None and output.layer == self.layer:
            self._output_ready(output)
