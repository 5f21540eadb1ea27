"""The Training pane's Confusion tab: its controls (the split scored, counts or shares) and its jobs — the
confusion analysis of the selected run's chosen checkpoint on the compute worker (it loads its own copy of the
checkpoint, so a run training on the dataset worker goes on), and the thumbnails of a clicked cell on the loader
worker."""

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from cnnviz.analyses import confusion
from cnnviz.analyses.base import Source
from cnnviz.analyses.confusion import ConfusionResult
from cnnviz.core.training.runs import RunRecord
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.training.confusion_view import MAX_TILES, ConfusionView, cell_tiles
from cnnviz.gui.runtime.worker import Worker
from cnnviz.gui.widgets.thumbnails import thumbnails

JOB = "confusion"


class ConfusionPart(QObject):
    """``widget`` (the tab: controls above the ``view``); ``compute_button`` scores the run
    ``selected()`` gives at ``epoch()`` (None: its best) on the split chosen in ``split_combo``; ``result``:
    the result shown (``updated()`` follows each new one)."""

    def __init__(self, owner: QWidget, jobs_runner: JobRunner, loader_worker: Worker,
                 selected: Callable[[], RunRecord | None], epoch: Callable[[], int | None],
                 updated: Callable[[], None] = lambda: None) -> None:
        super().__init__(owner)
        self.updated = updated
        self.jobs, self.loader_worker = jobs_runner, loader_worker
        self.selected, self.epoch = selected, epoch
        self.result: ConfusionResult | None = None
        self.view = ConfusionView()
        self.split_combo = QComboBox()
        for split in confusion.SPLIT_CHOICES:
            self.split_combo.addItem(f"{split} split", split)
        self.split_combo.setToolTip("The run's own split the checkpoint scores (as recorded when it trained)")
        self.show_combo = QComboBox()
        self.show_combo.addItems(["counts", "share of the true class"])
        self.show_combo.setToolTip("Colour the cells by their counts or by their share of the row")
        self.compute_button = QPushButton("Confusion of the selected run")
        self.compute_button.setToolTip("Score the selected run's checkpoint (chosen below the run list) on the split")
        self.widget = QWidget()
        row = QHBoxLayout()
        for control in (self.compute_button, self.split_combo, self.show_combo):
            row.addWidget(control)
        row.addStretch(1)
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.compute_button.clicked.connect(self.compute)
        self.show_combo.currentIndexChanged.connect(lambda _index: self.view.show_result(self.result,
                                                                                         self.normalised()))
        self.view.cell_clicked.connect(self.show_cell)

    def normalised(self) -> bool:
        """True to colour by share of the true class."""
        return self.show_combo.currentIndex() == 1

    def compute(self) -> None:
        """Score the selected run's chosen checkpoint on the chosen split."""
        record = self.selected()
        if record is None:
            self.jobs.show_info("Select a run in the list first.")
            return
        settings = confusion.Settings(epoch=self.epoch(), split=str(self.split_combo.currentData()))
        self.jobs.submit(JOB, "Scoring the checkpoint…", confusion.run, None, Source.of_runs([record.folder]),
                         settings, done=self._done)

    def _done(self, result: ConfusionResult) -> None:
        self.result = result
        self.view.show_result(result, self.normalised())
        self.updated()

    def show_cell(self, true: int, predicted: int) -> None:
        """List the images of cell (``true``, ``predicted``), decoded on the loader worker."""
        result = self.result
        if result is None:
            return
        chosen = result.cell(true, predicted)[:MAX_TILES]
        images = [int(result.predictions.indices[slot]) for slot in chosen]
        self.jobs.submit("cell", "Loading the images…", thumbnails, result.images, images, worker=self.loader_worker,
                         done=lambda pictures: self.view.show_cell(cell_tiles(result, true, predicted, pictures)))
