"""The Training pane: train a copy of the current model on the shared dataset and watch it learn.

Choose the dataset (shared with the Dataset and Feature space panes), how a dataset that did not come split is
split (the images of each class per split are listed), and the run's settings (forms of
:class:`~cnnviz.core.training.TrainConfig`: the common ones, and the others under *More settings*). Start
(Ctrl+Return) trains on the dataset worker with a copy of the model (:mod:`~.jobs`), so the other panes keep
working; Pause waits between batches, Stop (Esc) ends the run and keeps its partial checkpoint, Resume goes on
with the selected run on its recorded splits. The curves (:mod:`~.curves_view`) follow every batch and epoch;
the runs of the runs folder are listed (:mod:`~.run_list`), ticked ones drawn beside the run in progress, and
*Use this model* makes a checkpoint the model of every pane (*Previous model* goes back). The figure's export is
the report figure of the tab shown: the curves of the runs ticked (:func:`cnnviz.analyses.curves.figure`), the
confusion matrix of a run's checkpoint with a cell's images on a click (:mod:`~.confusion_part`), the feature
evolution of a run's units over its epochs (Zeiler & Fergus Fig. 4, :mod:`~.evolution_part`), or the layer-wise
linear probes of the current model beside the run's checkpoint (:mod:`~.probe_part`).
"""

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses import curves
from cnnviz.analyses.base import Result, Source, about
from cnnviz.analyses.curves import CurvesResult
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.progress import Step
from cnnviz.core.settings import infos
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.loop import TrainingProgress, TrainingRun
from cnnviz.core.training.runs import RunRecord, run_labels
from cnnviz.core.training.splits import SplitSettings, class_counts, split
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.training import jobs
from cnnviz.gui.panes.training.confusion_part import ConfusionPart
from cnnviz.gui.panes.training.curves_view import CurvesView
from cnnviz.gui.panes.training.evolution_part import EvolutionPart
from cnnviz.gui.panes.training.probe_part import ProbePart
from cnnviz.gui.panes.training.run_actions import RunActions
from cnnviz.gui.panes.training.run_list import RunList
from cnnviz.gui.panes.training.views import TrainingViews
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.widgets.collapsible import Section
from cnnviz.gui.widgets.dataset_source import SourceRow
from cnnviz.gui.widgets.layer_picker import layer_choices
from cnnviz.gui.widgets.settings_form import SettingsForm

MAIN_FIELDS = ("mode", "epochs", "batch_size", "optimizer", "lr", "schedule", "augment", "seed")
"""The settings shown at once; the others are under *More settings*."""
IDLE_TEXT = "Choose a dataset and the settings, then Start (Ctrl+Return)"


def run_folder_name(model: str, dataset: str, mode: str, when: float | None = None) -> str:
    """A new run's folder name: date and time, model, dataset and mode, in safe characters."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{model}-{dataset}-{mode}").strip("-")[:60]
    return f"{stamp}-{slug}"


def unique_folder(folder: Path) -> Path:
    """``folder``, or ``folder-2``, ``folder-3``, … when it exists (two runs started within a second)."""
    candidate, number = folder, 1
    while candidate.exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    return candidate


class TrainingPane(RunPane):
    """See the module docstring. Parts: ``source`` (dataset), ``split_form``, ``main_form`` and ``more_form``
    (the run's settings), ``split_table``, ``curves_view``, ``run_list`` and ``runs`` (its actions and the runs
    folder, :class:`~.run_actions.RunActions`); ``gate`` pauses the run; ``live``: (label, history, batch x,
    batch y) of the run in progress."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "training", layer_choices, parent, unit="batches", run_title="Start",
                         cancel_title="Stop", run_key="Ctrl+Return", rate=True, layer_keys=False, share_layer=False)
        self.run_button.setToolTip("Train a copy of the current model on the dataset (Ctrl+Return)")
        self.cancel_button.setToolTip("Stop the run: the epoch reached is kept as a partial checkpoint (Esc)")
        self.gate = jobs.PauseGate()
        self.live: tuple[str, tuple, list[float], list[float]] | None = None
        self._pace: tuple[float, int, int] = (0.0, 1, 0)
        self.split_form = SettingsForm(SplitSettings, per_row=4)
        self.main_form = SettingsForm(TrainConfig, fields=MAIN_FIELDS, per_row=4)
        self.more_form = SettingsForm(TrainConfig, fields=[e.name for e in infos(TrainConfig)
                                                           if e.name not in MAIN_FIELDS], per_row=4)
        self.source, self.curves_view, self.run_list = SourceRow(), CurvesView(), RunList()
        self.split_table = QTableWidget(0, 4)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Wait between batches (press again to go on)")
        runner, selected, epoch = self.jobs, self.run_list.selected, self.run_list.chosen_epoch
        done = self._update_export
        self.views = TrainingViews(self.curves_view, {
            "confusion": lambda: ConfusionPart(self, runner, self.controller.loader, selected, epoch, done),
            "evolution": lambda: EvolutionPart(self, runner, self.controller.dataset, selected, done),
            "probes": lambda: ProbePart(self, runner, lambda: self.state.model, selected, epoch, done),
        }, self._curves_result, done)
        self.make_figure(self.views.export_name, self._export_data, self.views)
        self.runs = RunActions(self, self.run_list, self.state, self.jobs, context.model_loader, self.draw,
                                  lambda: self.running)
        self._build()
        self._connect()
        self.settings_binding.register(self.split_form, self.main_form, self.more_form)
        self.settings_binding.add_extra(self.runs.settings, self.runs.apply_settings)
        self._dataset_changed(self.state.dataset)
        self.runs.refresh()

    def _build(self) -> None:
        self.split_table.setHorizontalHeaderLabels(["class", "train", "val", "test"])
        self.split_table.verticalHeader().hide()
        self.split_table.setToolTip("Images of each class in each split")
        more = Section("More settings", expanded=False)
        QVBoxLayout(more.content()).addWidget(self.more_form)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Dataset"))
        source_row.addWidget(self.source, 1)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.split_table)
        side.addWidget(self.run_list)
        side.setSizes([150, 350])
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(self.figure_area)
        body.addWidget(side)
        body.setStretchFactor(0, 1)
        body.setSizes([700, 380])
        self.arrange(source_row, self.split_form, self.main_form, more,
                     self.run_controls.row(self.pause_button, self.export.button), body=body, with_layer_row=False)

    def _connect(self) -> None:
        self.source.folder_requested.connect(self.ask_folder)
        self.source.fashion_mnist_requested.connect(lambda: self.open_dataset(dataset_source.FASHION_MNIST))
        self.state.dataset_changed.connect(self._dataset_changed)
        self.split_form.changed.connect(lambda _name: self.show_splits())
        self.pause_button.toggled.connect(self._paused)
        self.run_list.shown_changed.connect(self.draw)
        self.run_list.resume_button.clicked.connect(self.resume)

    # Dataset and splits -------------------------------------------------------------------------

    def open_dataset(self, kind: str, path: Path | None = None) -> None:
        """Open a dataset on the loader worker; it becomes the shared dataset."""
        self.jobs.submit("open", "Opening the dataset…", dataset_source.open_source, kind, path,
                         worker=self.controller.loader, done=self.state.set_dataset)

    def ask_folder(self) -> None:
        """Ask for a labelled image folder (where the dataset tools last opened one) and open it."""
        start = settings_store.load_path(dataset_source.FOLDER_KEY) or Path.home()
        chosen = QFileDialog.getExistingDirectory(self, "Open a labelled image folder", str(start))
        if chosen:
            settings_store.save_path(dataset_source.FOLDER_KEY, Path(chosen))
            self.open_dataset(dataset_source.FOLDER, Path(chosen))

    def _dataset_changed(self, dataset: ImageDataset | None) -> None:
        self.source.show_dataset(dataset)
        self.show_splits()

    def show_splits(self) -> None:
        """List each class's images per split, or say why the dataset cannot be trained on."""
        dataset = self.state.dataset
        self.split_table.setRowCount(0)
        enabled = False
        if dataset is not None and dataset.labels is not None:
            try:
                chosen = self.split_form.settings()
                parts = dict(zip(("train", "val", "test"), split(dataset, chosen.fractions(), seed=chosen.split_seed)))
                self._fill_split_table(dataset.classes, class_counts(parts, list(dataset.classes)))
                enabled = True
            except ValueError as error:
                self.jobs.show_info(str(error))
        elif dataset is not None:
            self.jobs.show_info(f"{dataset.name} has no labels: training needs one folder per class")
        self.split_form.setEnabled(dataset is None or not dataset.splits)
        self.run_button.setEnabled(enabled and self.state.model is not None)
        self.run_controls.reset_progress(IDLE_TEXT if not self.running else "")

    def _fill_split_table(self, classes: list[str], counts: np.ndarray) -> None:
        self.split_table.setRowCount(len(classes) + 1)
        rows = [*zip(classes, counts.tolist()), ("all", counts.sum(axis=0).tolist())]
        for row, (name, numbers) in enumerate(rows):
            for column, value in enumerate([name, *numbers]):
                item = QTableWidgetItem(str(value))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.split_table.setItem(row, column, item)
        self.split_table.resizeColumnsToContents()

    # Runs ---------------------------------------------------------------------------------------

    def run(self) -> None:
        """Start a run with the current settings into a new folder of the runs folder."""
        model, dataset = self.state.model, self.state.dataset
        if model is None or dataset is None or not self.run_button.isEnabled():
            return
        config = TrainConfig(**(self.main_form.values() | self.more_form.values()))
        folder = unique_folder(self.runs.runs_root / run_folder_name(model.name, dataset.name, config.mode))
        plan = jobs.RunPlan(dataset, self.split_form.settings(), config, folder)
        self._start(jobs.train_job, plan, f"{model.name} {config.mode}", (config.epochs, config.batch_size), plan)

    def resume(self) -> None:
        """Go on with the selected run (see the module docstring) up to the epochs set in the form."""
        record = self.run_list.selected()
        if record is None or self.state.model is None:
            return
        epochs = int(self.main_form.value("epochs"))
        batch = int(record.config.get("batch_size", 1))
        self._start(jobs.resume_job, record, f"{record.folder.name} resumed", (epochs, batch), record, epochs)

    def _start(self, job: Any, request: Any, label: str, size: tuple[int, int], *args: Any) -> None:
        """Start ``job`` for ``request`` training ``size`` (epochs, batch size)."""
        self.gate.set(False)
        self.pause_button.setChecked(False)
        self.live = (label, (), [], [])
        self._pace = (time.monotonic(), size[1], 0)
        model = self.state.model
        self.start(job, request, model, *args, self.gate, text="Training…", on_copy=True)
        self.jobs.show_info(f"Training {label} for {size[0]} epochs…")

    def on_partial(self, item: Any) -> None:
        """A batch: the live curves and the info line follow."""
        if not isinstance(item, Step) or not isinstance(item.partial, TrainingProgress) or self.live is None:
            return
        progress = item.partial
        label, _history, xs, ys = self.live
        paused = item.message == "paused"
        if not paused:
            xs.append(progress.epoch - 1 + progress.batch / progress.batches)
            ys.append(progress.loss)
        self.live = (label, progress.history, xs, ys)
        began, batch_size, first = self._pace
        if not first:
            self._pace = began, batch_size, first = (time.monotonic(), batch_size, item.done)  # after the cache
        spent = time.monotonic() - began
        rate = f" · {(item.done - first) * batch_size / spent:.0f} images/s" if spent > 0 and item.done > first else ""
        paused_text = " · paused" if paused else ""
        self.jobs.show_info(f"Epoch {progress.epoch}/{progress.epochs}, batch {progress.batch}/{progress.batches}: "
                            f"training loss {progress.loss:.4f} (running mean){rate}{paused_text}")
        self.draw()

    def on_done(self, result: TrainingRun) -> None:
        """List the finished run, tick it, and say how it ended."""
        self.live = None
        self.runs.refresh(show=result.folder)
        ended = f"stopped: {result.stopped}" if result.stopped else f"best epoch {result.best_epoch}"
        self.jobs.show_info(f"Run finished ({ended}); its checkpoints are in {result.folder}")

    def on_cancelled(self) -> None:
        """A stopped run keeps its partial checkpoint: list it."""
        self.live = None
        self.runs.refresh()

    def on_ended(self) -> None:
        """Pause no longer applies; the progress says how the run ended."""
        self.pause_button.setChecked(False)
        self.run_controls.say({"done": "Finished", "cancelled": "Stopped", "failed": "Failed"}.get(self.outcome, ""))

    def _paused(self, paused: bool) -> None:
        self.gate.set(paused)
        self.pause_button.setText("Continue" if paused else "Pause")

    def draw(self) -> None:
        """The ticked runs and the run in progress."""
        shown = self.run_list.shown()
        self.curves_view.show_runs(shown, run_labels(shown) if shown else [],
                                   [self.run_list.colour(record) for record in shown])
        if self.live is not None:
            label, history, xs, ys = self.live
            self.curves_view.show_live(label, history, (np.asarray(xs), np.asarray(ys)))
        else:
            self.curves_view.clear_live()
        self._update_export()

    # Figure -------------------------------------------------------------------------------------

    def analysis_result(self) -> Result | None:
        """The analysis result of the tab shown (whose report figure is the export; :meth:`TrainingViews.result`)."""
        return self.views.result()

    def _curves_result(self) -> CurvesResult | None:
        shown = self.run_list.shown()
        if not shown:
            return None
        source = Source.of_runs([record.folder for record in shown])
        return CurvesResult(settings=curves.Settings(), head=about(curves.NAME, None, source), runs=tuple(shown),
                            labels=tuple(run_labels(shown)))

    def caption_fields(self) -> dict[str, Any]:
        """The fields of the shown tab's result (the runs drawn, the checkpoint and split scored, …)."""
        result = self.analysis_result()
        return dict(result.caption().fields) if result is not None else {}

    def _update_export(self) -> None:
        self.export.set_enabled(self.analysis_result() is not None)

    def _export_data(self) -> dict[str, np.ndarray]:
        result = self.analysis_result()
        return result.arrays() if result is not None else {}

    def refresh(self) -> None:
        """Nothing follows the image; a new model may make Start possible."""
        self.show_splits()

    def clear_views(self) -> None:
        """A new model: the run in progress goes on (it trains its own copy)."""
        self.show_splits()

    def shown_records(self) -> list[RunRecord]:
        """The runs whose curves are drawn."""
        return self.run_list.shown()
