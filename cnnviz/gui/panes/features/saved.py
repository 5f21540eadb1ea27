"""What the Feature space pane keeps across restarts and in sessions besides its controls: the dataset, the map
shown and (across restarts) the layer.

The dataset (``dataset``: ``{"kind": "folder", "path": …}`` or ``{"kind": "fashion-mnist", "split": "test"}``)
and the map (``map``: its dataset and its analysis settings) are pane settings (:class:`SavedState.controls`):
remembered with the other controls and saved in sessions (where the session's own dataset record reopens the
dataset). Setting the dataset reopens it on the loader worker, as *Folder…* does; a folder that no longer exists
is named on the status bar. Setting the map waits until its dataset is the shared one and the model's layers are
listed, then shows it when the feature cache holds its features (the map itself then comes from the cache too:
:func:`cnnviz.analyses.feature_space.run`); otherwise Compute is left ready. The layer is remembered under
:data:`LAYER_KEY` and chosen again when the model's layers are listed.
"""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from cnnviz.analyses import feature_space
from cnnviz.analyses.feature_space import FeatureSpaceResult, Settings
from cnnviz.core import settings as analysis_settings
from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.parts.layer_binding import LayerBinding
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.runtime.control_state import Controls, Custom, Value
from cnnviz.gui.widgets.layer_picker import LayerChoice

LAYER_KEY = "panes/features/last_layer"
"""Settings key of the layer the pane showed last (remembered only by a window that remembers)."""
FASHION_MNIST_PREFIX = "Fashion-MNIST "
NOT_CACHED = "The saved map's features are not cached for this model: Compute (Ctrl+R) makes it again"


def dataset_value(ds: ImageDataset | None) -> dict[str, str] | None:
    """The setting naming ``ds``: its folder, or Fashion-MNIST and the split (None: no dataset)."""
    if ds is None:
        return None
    if ds.kind == dataset_source.FASHION_MNIST:
        return {"kind": dataset_source.FASHION_MNIST, "split": ds.name.removeprefix(FASHION_MNIST_PREFIX)}
    return {"kind": dataset_source.FOLDER, "path": str(ds.root)}


def dataset_problem(value: dict[str, str]) -> str:
    """Why the dataset ``value`` names cannot be opened here ("" when it can be tried); ValueError for a value
    that names no dataset."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind == dataset_source.FASHION_MNIST and value.get("split") in ("test", "train"):
        return "" if datasets.fashion_mnist_available() else "Fashion-MNIST is not installed here"
    if kind == dataset_source.FOLDER and value.get("path"):
        return "" if Path(value["path"]).is_dir() else f"the dataset folder {value['path']} no longer exists"
    raise ValueError(f"{value!r} names no dataset (a folder path or Fashion-MNIST test/train)")


def open_value(value: dict[str, str]) -> ImageDataset:
    """Open the dataset ``value`` names (off the GUI thread); raises what opening a folder raises."""
    if value["kind"] == dataset_source.FASHION_MNIST:
        return datasets.fashion_mnist(value["split"])
    if not value.get("path"):
        raise ValueError("no folder chosen")
    return datasets.open_folder(Path(value["path"]))


def map_value(result: FeatureSpaceResult | None, ds: ImageDataset | None) -> dict[str, Value] | None:
    """The setting of the finished map ``result`` of ``ds``: its dataset and its settings without a query."""
    if result is None or ds is None:
        return None
    chosen = result.settings.values() | {"query": None}
    return {"dataset": dataset_value(ds), "settings": chosen}


def map_request(value: dict[str, Value]) -> tuple[dict[str, str], Settings]:
    """(dataset value, settings) of the map setting ``value``; ValueError for a bad one."""
    if not isinstance(value, dict) or not isinstance(value.get("dataset"), dict):
        raise ValueError(f"{value!r} is not a saved map (its dataset and settings)")
    chosen, dropped = analysis_settings.from_json(Settings, value.get("settings") or {})
    if dropped:
        raise ValueError("the saved map's settings: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()))
    dataset_problem(value["dataset"])
    return value["dataset"], chosen


class SavedState(QObject):
    """See the module docstring. Opens datasets through the pane's ``jobs`` (the pane's *open* job); ``layers``:
    the pane's layer binding; ``remembered``: the pane's controls (whether the window remembers); ``current()``:
    the finished map shown; ``compute(settings)`` starts a map; ``cache()``: the feature cache folder (None:
    none); ``idle(text)``: what the progress bar says while no run goes. ``map_changed()``: the map shown
    changed (emitted by the pane)."""

    map_changed = Signal()

    def __init__(self, jobs: JobRunner, layers: LayerBinding, remembered: Controls,
                 current: Callable[[], FeatureSpaceResult | None], compute: Callable[[Settings], None],
                 cache: Callable[[], Path | None], idle: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.layers, self.remembered = jobs, layers, remembered
        self.state = jobs.state
        self.current, self.compute, self.cache, self.idle = current, compute, cache, idle
        self.opening: dict[str, str] | None = None
        self.pending: dict[str, Value] | None = None
        layers.picker.layer_chosen.connect(lambda _name: self._remember_layer())
        self.state.layer_changed.connect(lambda _name: self._remember_layer())  # after the binding selects it

    def controls(self) -> dict[str, Custom]:
        """The pane settings ``dataset`` and ``map``."""
        return {"dataset": Custom(self.dataset_setting, self.set_dataset, self.state.dataset_changed),
                "map": Custom(self.map_setting, self.set_map, self.map_changed)}

    def dataset_setting(self) -> dict[str, str] | None:
        """The dataset being opened from a setting, else the shared one."""
        return self.opening or dataset_value(self.state.dataset)

    def set_dataset(self, value: Value) -> None:
        """Open the dataset ``value`` names in the background unless it is the shared one or being opened; a
        dataset that cannot be opened here is named on the status bar. None: keep the dataset."""
        if not value or value in (self.opening, dataset_value(self.state.dataset)):
            return
        problem = dataset_problem(value)
        if problem:
            self.state.show_status(f"Feature space: {problem}.")
            return
        self.open(value)

    def open(self, value: dict[str, str]) -> None:
        """Open the dataset ``value`` on the loader worker; it becomes the shared dataset."""
        self.opening = value
        task = self.jobs.submit("open", "Opening the dataset…", open_value, value,
                                worker=self.jobs.controller.loader, done=self.state.set_dataset)
        task.finished.connect(lambda: self._opened(value))

    def ask_folder(self, parent: QWidget) -> None:
        """Ask for an image folder (starting at the last one the dataset tools opened) and open it."""
        start = settings_store.load_path(dataset_source.FOLDER_KEY) or Path.home()
        chosen = QFileDialog.getExistingDirectory(parent, "Open an image folder", str(start))
        if chosen:
            settings_store.save_path(dataset_source.FOLDER_KEY, Path(chosen))
            self.open({"kind": dataset_source.FOLDER, "path": chosen})

    def map_setting(self) -> dict[str, Value] | None:
        """The map waiting to be shown, else the finished map shown."""
        return self.pending or map_value(self.current(), self.state.dataset)

    def set_map(self, value: Value) -> None:
        """Show the saved map ``value`` once its dataset and the layers are there (see the module docstring);
        None: nothing to show."""
        if value is not None:
            map_request(value)
        if value is not None and value == map_value(self.current(), self.state.dataset):
            return  # shown already
        self.pending = value
        self.restore()

    def dataset_changed(self, ds: ImageDataset | None) -> None:
        """A new shared dataset (the maps are cleared): a waiting map of another dataset is dropped, one of
        this dataset shown."""
        if self.pending is not None and ds is not None and self.pending["dataset"] != dataset_value(ds):
            self.pending = None
        self.restore()

    def restore(self) -> None:
        """Show the waiting map if its dataset is the shared one and the layers are listed: from the feature
        cache, else leave Compute ready (:data:`NOT_CACHED`)."""
        model, ds, cache = self.state.model, self.state.dataset, self.cache()
        if self.pending is None or model is None or ds is None or not self.layers.listed:
            return
        wanted, chosen = map_request(self.pending)
        if wanted != dataset_value(ds):
            return
        self.pending = None
        if cache is not None and feature_space.features_cached(model, ds, chosen, cache):
            self.compute(chosen)
        else:
            self.idle(NOT_CACHED)

    def remembered_layer(self, choices: list[LayerChoice]) -> str | None:
        """The layer remembered from the last run when it is one of ``choices`` (None: none, or the window
        does not remember)."""
        name = settings_store.load_text(LAYER_KEY) if self.remembered.remember else ""
        return name if any(choice.name == name for choice in choices) else None

    def _remember_layer(self) -> None:
        layer = self.layers.layer
        if layer and self.remembered.remember:
            settings_store.save_text(LAYER_KEY, layer)

    def _opened(self, value: dict[str, str]) -> None:
        if self.opening == value:
            self.opening = None
