"""What the Training pane does with the runs of its runs folder: list them (reading the folder again), choose
the folder (remembered), delete one after asking, make a checkpoint the current model and go back to the
model before; and the runs folder and the runs ticked as pane settings (sessions, restarts)."""

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.training import jobs
from cnnviz.gui.panes.training.run_list import RunList
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.runtime.model_loader import ModelLoader
from cnnviz.gui.runtime.model_spec import ModelSpec

RUNS_KEY = "training/runs_folder"
"""Settings key of the runs folder chosen."""


class RunActions(QObject):
    """The run list's actions for ``owner`` (the pane; dialogs' parent). ``runs_root``: the runs folder;
    ``previous``: the model spec *Previous model* loads (None: none); ``changed()`` is called after the list
    was read again; ``busy()`` says whether a run is going on (no deleting then)."""

    def __init__(self, owner: QWidget, run_list: RunList, state: AppState, jobs_runner: JobRunner,
                 model_loader: ModelLoader, changed: Callable[[], None], busy: Callable[[], bool]) -> None:
        super().__init__(owner)
        self.owner, self.run_list, self.state, self.jobs = owner, run_list, state, jobs_runner
        self.model_loader, self.changed, self.busy = model_loader, changed, busy
        self.runs_root = settings_store.load_path(RUNS_KEY) or settings_store.data_folder("runs")
        self.previous: ModelSpec | None = None
        run_list.folder_button.clicked.connect(self.ask_runs_folder)
        run_list.use_button.clicked.connect(self.use_model)
        run_list.back_button.clicked.connect(self.previous_model)
        run_list.delete_button.clicked.connect(self.delete_run)
        run_list.back_button.setEnabled(False)

    def refresh(self, show: Path | None = None, shown: set[str] | None = None) -> None:
        """Read the runs folder again, keeping the ticks (``show``: a folder to tick and select; ``shown``:
        the folders to tick instead of those ticked now)."""
        ticked = {str(record.folder) for record in self.run_list.shown()} if shown is None else set(shown)
        if show is not None:
            ticked.add(str(Path(show).resolve()))
        records, labels, problems = jobs.read_runs(self.runs_root)
        self.run_list.set_runs(records, labels, ticked)
        if show is not None:
            self.run_list.select(Path(show).resolve())
        if problems:
            self.jobs.show_info("Some runs could not be read: " + "; ".join(problems))
        self.changed()

    def set_root(self, folder: Path, shown: set[str] | None = None) -> None:
        """Make ``folder`` the runs folder (remembered) and list its runs."""
        self.runs_root = folder
        settings_store.save_path(RUNS_KEY, folder)
        self.refresh(shown=shown)

    def ask_runs_folder(self) -> None:
        """Choose the runs folder."""
        chosen = QFileDialog.getExistingDirectory(self.owner, "Choose the runs folder", str(self.runs_root))
        if chosen:
            self.set_root(Path(chosen))

    def delete_run(self) -> None:
        """Delete the selected run's folder after asking (not while a run is going on)."""
        record = self.run_list.selected()
        if record is None or self.busy():
            return
        answer = QMessageBox.question(self.owner, "Delete run", f"Delete the run folder {record.folder} and its "
                                      f"{len(record.epochs)} checkpoints? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            shutil.rmtree(record.folder, ignore_errors=True)
            self.refresh()

    def use_model(self) -> None:
        """Make the selected run's chosen checkpoint the current model (the model before is remembered)."""
        record = self.run_list.selected()
        if record is None:
            return
        checkpoint = record.checkpoint(self.run_list.chosen_epoch())
        self.previous = self.state.model_spec or self.previous
        self.model_loader.load(ModelSpec("file", str(checkpoint)))
        self.run_list.back_button.setEnabled(self.previous is not None)
        self.run_list.back_button.setToolTip(f"Load again {self.previous.short_name}" if self.previous else "")

    def previous_model(self) -> None:
        """Load again the model used before *Use this model*."""
        if self.previous is not None:
            self.model_loader.load(self.previous)
            self.previous = None
            self.run_list.back_button.setEnabled(False)

    def settings(self) -> dict[str, Value]:
        """The runs folder (once it exists: a run made it) and the runs ticked."""
        folder = {"runs_folder": str(self.runs_root)} if self.runs_root.is_dir() else {}
        return folder | {"runs_shown": [str(r.folder) for r in self.run_list.shown()]}

    def apply_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Set what :meth:`settings` gave; a runs folder that is gone is reported and the current one kept."""
        values = dict(values)
        problems: dict[str, str] = {}
        folder, shown = values.pop("runs_folder", None), values.pop("runs_shown", None)
        if strict and values:
            raise KeyError(f"unknown Training setting(s): {', '.join(values)}")
        problems |= dict.fromkeys(values, "no such setting")
        ticked = {str(item) for item in shown} if isinstance(shown, list) else None
        if isinstance(folder, str) and folder and Path(folder).is_dir():
            self.set_root(Path(folder), ticked)
        elif folder:
            problems["runs_folder"] = f"the runs folder {folder} no longer exists"
            self.refresh(shown=ticked)
        elif ticked is not None:
            self.refresh(shown=ticked)
        return problems
