"""Loading a model at the user's request: download progress with Cancel, and a dialog for each failure.

- a download shows a progress dialog with the bytes received and a Cancel button;
- :class:`~cnnviz.core.model.models.WeightsDownloadError` asks whether to load the model untrained;
- :class:`~cnnviz.core.model.models.UntrustedFileError` asks whether the file is trusted;
- :class:`~cnnviz.core.model.models.UnknownArchitectureError` asks which zoo architecture the weights are for;
- any other error is shown in an error box.

The current model stays until a new one has loaded.
"""

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QProgressDialog, QWidget

from cnnviz.core.model import models
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.runtime.trusted_files import trust_file
from cnnviz.gui.runtime.worker import Task
from cnnviz.gui.widgets.dialogs import (
    ChoiceDialog,
    download_failed_dialog,
    show_error,
    untrusted_file_dialog,
)
from cnnviz.gui.widgets.labels import format_bytes, model_label


class ModelLoader(QObject):
    """Drives one model load at a time for the user, with its dialogs parented to ``parent``.

    Signals: ``done(bool)`` once a load request has ended (True if a model was loaded, False if it
    failed or was cancelled, including after the user's answer to a question dialog).
    Attributes ``task``, ``progress_dialog`` and ``question`` expose what is going on (for tests).
    """

    done = Signal(bool)

    def __init__(self, controller: Controller, parent: QWidget) -> None:
        super().__init__(parent)
        self.controller = controller
        self.parent_widget = parent
        self.task: Task | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.question: ChoiceDialog | QInputDialog | None = None

    def load(self, spec: ModelSpec) -> Task:
        """Start loading ``spec``; a load still running is cancelled."""
        self._close_progress()
        task = self.controller.load_model(spec)
        self.task = task
        ident = task.ident
        self.controller.state.show_status(f"Loading {spec.short_name}…")
        task.progress.connect(lambda done, total: self._progress(ident, spec, done, total))
        task.succeeded.connect(lambda model: self._succeeded(ident, model, spec))
        task.failed.connect(lambda error: self._failed(ident, spec, error))
        task.cancelled.connect(lambda: self._cancelled(ident, spec))
        return task

    def cancel(self) -> None:
        """Cancel the load in progress, if any."""
        if self.task is not None:
            self.task.cancel()

    def _progress(self, ident: int, spec: ModelSpec, done: int, total: int) -> None:
        if not self._is_current(ident):
            return
        dialog = self.progress_dialog
        if dialog is None:
            dialog = QProgressDialog(self.parent_widget)
            dialog.setWindowTitle("Downloading pretrained weights")
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.setMinimumDuration(0)
            dialog.setMinimumWidth(420)
            dialog.canceled.connect(self.cancel)
            self.progress_dialog = dialog
            dialog.show()
        what = f"Downloading the weights of {spec.short_name}…"
        if total > 0:
            dialog.setRange(0, 1000)
            dialog.setValue(int(1000 * done / total))
            dialog.setLabelText(f"{what}\n{format_bytes(done)} of {format_bytes(total)}")
        else:
            dialog.setRange(0, 0)
            dialog.setLabelText(f"{what}\n{format_bytes(done)}")

    def _succeeded(self, ident: int, model: models.LoadedModel, spec: ModelSpec) -> None:
        if spec.source == "file":
            trust_file(spec.name)  # loading a file is the choice to run it: a session naming it won't ask
        if not self._is_current(ident):
            return
        self._finish(True, f"Loaded {model_label(model)} in {model.load_seconds:.1f} s")

    def _cancelled(self, ident: int, spec: ModelSpec) -> None:
        if not self._is_current(ident):
            return
        self._finish(False, f"Loading {spec.short_name} cancelled; {self._keeping()}")

    def _failed(self, ident: int, spec: ModelSpec, error: Exception) -> None:
        if not self._is_current(ident):
            return
        self._close_progress()
        self.task = None
        self.controller.state.show_status(f"Could not load {spec.short_name}.")
        if isinstance(error, models.WeightsDownloadError):
            self._ask(download_failed_dialog(self.parent_widget, error), spec,
                      {"untrained": spec.with_changes(pretrained=False)})
        elif isinstance(error, models.UntrustedFileError):
            self._ask(untrusted_file_dialog(self.parent_widget, error), spec,
                      {"trust": spec.with_changes(trust=True)})
        elif isinstance(error, models.UnknownArchitectureError):
            self._ask_architecture(spec, error)
        else:
            self._finish(False, f"Could not load {spec.short_name}; {self._keeping()}")
            show_error(self.parent_widget, "Could not load the model", str(error))

    def _ask(self, dialog: ChoiceDialog, spec: ModelSpec, next_specs: dict[str, ModelSpec]) -> None:
        """Open ``dialog``; its answer's key picks the spec to load next (none: give up)."""
        def chosen(key: str) -> None:
            self.question = None
            dialog.deleteLater()
            if key in next_specs:
                self.load(next_specs[key])
            else:
                self._finish(False, f"{spec.short_name} not loaded; {self._keeping()}")

        dialog.chosen.connect(chosen)
        self.question = dialog
        dialog.open()

    def _ask_architecture(self, spec: ModelSpec, error: Exception) -> None:
        dialog = QInputDialog(self.parent_widget)
        dialog.setWindowTitle("Choose the architecture")
        dialog.setLabelText(f"{error}\n\nArchitecture of these weights:")
        dialog.setComboBoxItems(models.zoo_names())
        dialog.setComboBoxEditable(False)
        dialog.textValueSelected.connect(lambda arch: self.load(spec.with_changes(arch=arch)))
        dialog.rejected.connect(
            lambda: self._finish(False, f"{spec.short_name} not loaded; {self._keeping()}"))
        dialog.finished.connect(lambda _result: self._forget_question(dialog))
        self.question = dialog
        dialog.open()

    def _forget_question(self, dialog: QInputDialog) -> None:
        if self.question is dialog:
            self.question = None
        dialog.deleteLater()

    def _is_current(self, ident: int) -> bool:
        return self.task is not None and self.task.ident == ident

    def _keeping(self) -> str:
        model = self.controller.state.model
        return f"keeping {model_label(model)}" if model is not None else "no model loaded"

    def _finish(self, loaded: bool, message: str) -> None:
        self._close_progress()
        self.task = None
        self.controller.state.show_status(message)
        self.done.emit(loaded)

    def _close_progress(self) -> None:
        dialog = self.progress_dialog
        if dialog is not None:
            self.progress_dialog = None
            dialog.canceled.disconnect()
            dialog.hide()
            dialog.deleteLater()
