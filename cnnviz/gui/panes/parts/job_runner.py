"""A pane's background work: jobs by name on the controller's workers, the busy indicator, the info line.

A :class:`JobRunner` submits the pane's jobs under its key (``"<pane key>:<job>"``), so that a newer job of
the same name replaces (cancels) an older one and only the newer one's result is delivered. The busy
indicator shows what the latest job still running does; the info line shows hints and hover details, and a
failed job's error in red until the next job starts. It also tracks the wait for a layer output captured by
the controller's activation store (:meth:`JobRunner.request_output`).
"""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy

from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.worker import Task, Worker
from cnnviz.gui.widgets.busy_indicator import BusyIndicator

ERROR_STYLE = "QLabel { color: #c62828; }"


class JobRunner(QObject):
    """The jobs of the pane ``key``; see the module docstring.

    Attributes: ``key``; ``controller``; ``store`` (the controller's activation store); ``busy`` (the
    :class:`~cnnviz.gui.widgets.busy_indicator.BusyIndicator`); ``info`` (the info line, a ``QLabel``).
    """

    def __init__(self, key: str, state: AppState, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.state = state
        self.controller = controller
        self.store = controller.activations
        self.busy = BusyIndicator()
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._jobs: dict[str, str] = {}
        self._job_idents: dict[str, int] = {}
        self._workers: dict[str, Worker] = {}
        self._waiting_for = ""
        self._showing_error = False
        state.image_changed.connect(self._image_changed)
        self.store.captured.connect(self._captured)
        self.store.failed.connect(self._capture_failed)

    @property
    def settled(self) -> bool:
        """True when no job is running and no layer output is awaited."""
        return not self._jobs and not self._waiting_for

    @property
    def error(self) -> str:
        """The error shown on the info line (a failed job), "" when none is."""
        return self.info.text() if self._showing_error else ""

    def submit(self, job: str, text: str, function: Callable[..., Any], *args: Any,
               done: Callable[[Any], None], worker: Worker | None = None, on_copy: bool = False) -> Task:
        """Run ``function(*args)`` on the compute worker (or ``worker``, e.g. the controller's loader for
        work that does not touch the model) as the pane's ``job`` (a newer one of the same job replaces
        it); ``done(result)`` runs on success. ``on_copy``: a long dataset job whose first argument is the
        model, run on the dataset worker with a copy of it
        (:meth:`~cnnviz.gui.runtime.controller.Controller.submit_dataset_job`). ``text`` shows while it
        runs; a failure shows on the info line until the next job starts."""
        if self._showing_error:
            self.show_info("")
        self._jobs[job] = text
        self._update_busy()
        key = f"{self.key}:{job}"
        self.cancel(job)
        if on_copy:
            worker = self.controller.dataset
            task = self.controller.submit_dataset_job(function, *args, key=key)
        else:
            worker = worker or self.controller.compute
            task = worker.submit(function, *args, key=key)
        self._workers[job] = worker
        ident = task.ident
        task.succeeded.connect(done)
        task.failed.connect(lambda error: self.show_error(f"{text.rstrip('…')} failed: {error}"))
        task.finished.connect(lambda: self._job_finished(job, ident))
        self._job_idents[job] = ident
        return task

    def is_running(self, job: str) -> bool:
        """True while the pane's ``job`` has not finished."""
        return job in self._jobs

    def cancel(self, job: str) -> None:
        """Cancel the pane's ``job`` on the worker it runs on (it ends cancelled; nothing if none runs)."""
        self._workers.get(job, self.controller.compute).cancel(f"{self.key}:{job}")

    def show_error(self, message: str) -> None:
        """Show ``message`` in red on the info line."""
        self._showing_error = True
        self.info.setStyleSheet(ERROR_STYLE)
        self.info.setText(message)
        self.info.setToolTip(message)

    def show_info(self, text: str) -> None:
        """Show ``text`` on the info line (hover details, hints)."""
        self._showing_error = False
        self.info.setStyleSheet("")
        self.info.setText(text)
        self.info.setToolTip("")

    def request_output(self, layer: str) -> LayerOutput | None:
        """The output of ``layer`` for the current input if cached, else None: it is captured and the
        activation store's ``captured`` signal follows (the busy indicator says so meanwhile)."""
        output = self.store.request(layer, self.key)
        self._waiting_for = "" if output is not None or self.state.input_tensor is None else layer
        self._update_busy()
        return output

    def stop_waiting(self) -> None:
        """Stop waiting for a layer output (the input or the model it was for is gone)."""
        self._waiting_for = ""
        self._update_busy()

    def status_row(self) -> QHBoxLayout:
        """A row with the info line and the busy indicator, for the bottom of the pane."""
        row = QHBoxLayout()
        row.addWidget(self.info, 1)
        row.addWidget(self.busy)
        return row

    def _update_busy(self) -> None:
        texts = list(self._jobs.values())
        if self._waiting_for:
            texts.insert(0, f"Capturing {self._waiting_for}…")
        self.busy.set_busy(texts[-1] if texts else "")

    def _job_finished(self, job: str, ident: int) -> None:
        if self._job_idents.get(job) == ident:
            self._jobs.pop(job, None)
            self._update_busy()

    def _image_changed(self, _image: object) -> None:
        self.stop_waiting()

    def _captured(self, output: LayerOutput) -> None:
        if output.layer == self._waiting_for:
            self.stop_waiting()

    def _capture_failed(self, layer: str, message: str) -> None:
        if layer == self._waiting_for:
            self.stop_waiting()
            self.show_error(f"Capturing {layer} failed: {message}")
