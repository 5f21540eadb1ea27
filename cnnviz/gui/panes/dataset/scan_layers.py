"""The layers a scan of the Dataset pane tracks, as the scan analysis's ``layers`` setting: the
:class:`~cnnviz.gui.panes.dataset.controls.LayerChecklist` of the current model (the default layers, each
convolution's rectified output, ticked once they are listed on the compute worker) and the names settings gave
before the list showed the model's layers."""

from collections.abc import Callable

from PySide6.QtCore import QObject

from cnnviz.analyses import scan as scan_analysis
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import scan
from cnnviz.core.settings import from_json
from cnnviz.gui.panes.dataset.controls import LayerChecklist
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.layer_picker import LayerPicker

Unknown = Callable[[dict[str, Value], bool], dict[str, str]]
"""Answers settings of names a part does not know (``(values, strict)`` -> {name: reason})."""


class ScanLayers(QObject):
    """The ticked layers (``checklist``) of the model the list was made for. ``picker`` lists the model's
    layers; ``unknown(values, strict)`` answers names that are not this part's; ``changed()`` asks the pane to
    list them again (settings named layers before they were listed)."""

    def __init__(self, jobs: JobRunner, picker: LayerPicker, unknown: Unknown, changed: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.picker = jobs, picker
        self._unknown, self._changed = unknown, changed
        self.checklist = LayerChecklist()
        self._listed_for: LoadedModel | None = None
        self._named: list[str] | None = None

    def list_for(self, model: LoadedModel) -> None:
        """List the layers of ``model`` (its default layers, or those settings named, ticked) unless listed."""
        if self._listed_for is model:
            return
        self._listed_for = model
        self.jobs.submit("defaults", "Listing the rectified convolutions…", scan.default_layers, model,
                         done=lambda names: self._listed(model, names))

    def clear(self) -> None:
        """List nothing (a new model); the names settings gave are forgotten."""
        self._listed_for = self._named = None
        self.checklist.set_layers([], [])

    def settings(self) -> dict[str, Value]:
        """The ticked layers as the scan analysis's ``layers`` (those set from settings until they are listed)."""
        return {"layers": list(self._named if self._named is not None else self.checklist.checked())}

    def apply_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Tick the layers ``layers`` among ``values`` names (empty: the default ones), now if the list shows the
        current model's layers, else once it does; other names are unknown settings."""
        values = dict(values)
        given = {"layers": values.pop("layers")} if "layers" in values else {}
        problems = self._unknown(values, strict)
        chosen, dropped = from_json(scan_analysis.Settings, given)
        unknown = [name for name in chosen.layers if self.picker.choices and self.picker.choice(name) is None]
        if unknown:
            dropped["layers"] = f"no layer {', '.join(unknown)} in this model"
        if not given or dropped:
            return problems | dropped
        if chosen.layers and self.checklist.layers():
            self.checklist.set_layers(self.picker.choices, chosen.layers)
        else:
            self._named = list(chosen.layers)
            self._listed_for = None  # listed again (with the default layers where none are named)
            self._changed()
        return problems

    def _listed(self, model: LoadedModel, names: list[str]) -> None:
        if model is self._listed_for:
            self.checklist.set_layers(self.picker.choices, self._named or names)
            self._named = None
