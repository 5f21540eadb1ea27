"""Where the Dataset pane's scans come from and go: the dataset (an image folder, remembered as the last one,
or Fashion-MNIST), opened on the loader worker, and the saved index of the current model and dataset under the
application's data folder (:func:`cnnviz.core.per_dataset.scan.cache_path`), looked for once per model and
dataset and written when a scan ends."""

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.gui.panes.dataset import jobs
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.runtime.worker import Worker

SCANS_FOLDER = "scans"
"""Folder of the cached indexes under :func:`~cnnviz.gui.runtime.settings_store.data_folder`."""


class ScanSources(QObject):
    """Opens datasets and finds and saves scans with ``jobs`` on the ``loader`` worker (the compute worker
    for the saved index, which reads the model's weights); ``owner`` parents the folder dialog. Emits
    ``opened(dataset)`` and ``reopened(model, dataset, cache path, saved index or None)``."""

    opened = Signal(object)
    reopened = Signal(object, object, object, object)

    def __init__(self, jobs_: JobRunner, loader: Worker, owner: QWidget) -> None:
        super().__init__(owner)
        self.jobs, self.loader, self.owner = jobs_, loader, owner
        self._looked_for: tuple[LoadedModel, ImageDataset] | None = None

    def ask_folder(self) -> None:
        """Ask for an image folder (starting at the last one) and open it."""
        start = settings_store.load_path(dataset_source.FOLDER_KEY) or Path.home()
        chosen = QFileDialog.getExistingDirectory(self.owner, "Scan an image folder", str(start))
        if chosen:
            self.open_folder(Path(chosen))

    def open_folder(self, path: Path) -> None:
        """Open the image folder ``path`` (remembered as the last folder)."""
        settings_store.save_path(dataset_source.FOLDER_KEY, path)
        self.open_source(dataset_source.FOLDER, path, f"Opening {path.name}…")

    def open_source(self, kind: str, path: Path | None, text: str) -> None:
        """Open a dataset (:func:`dataset_source.open_source`) in the background; ``opened`` follows."""
        self.jobs.submit("open", text, dataset_source.open_source, kind, path, worker=self.loader,
                         done=self.opened.emit)

    def look_for_scan(self, model: LoadedModel, ds: ImageDataset) -> None:
        """Look for the saved index of ``model`` and ``ds`` (once for them); ``reopened`` follows."""
        if self._looked_for is not None and self._looked_for[0] is model and self._looked_for[1] is ds:
            return
        self._looked_for = (model, ds)
        self.jobs.submit("reopen", "Looking for a saved scan…", jobs.reopen, settings_store.data_folder(SCANS_FOLDER),
                         model, ds, done=lambda found: self.reopened.emit(model, ds, *found))

    def forget(self) -> None:
        """Look for a saved index again on the next :meth:`look_for_scan` (a new model or dataset)."""
        self._looked_for = None

    def save(self, index: ScanIndex, path: Path) -> None:
        """Write ``index`` at ``path`` in the background."""
        self.jobs.submit(f"save {path.name}", "Saving the scan…", jobs.save, index, path, worker=self.loader,
                         done=lambda _path: None)
