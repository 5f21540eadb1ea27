"""The Training pane's Evolution tab (Zeiler & Fergus Fig. 4): its controls (layer, units, images scanned per
checkpoint, split) and its job — the evolution analysis of the selected run on the dataset worker (a small scan
per checkpoint, cached in the run folder) — and the grid it shows: one row per epoch, one column per unit (each
cell the unit's deconvnet projection left of its strongest patch), the first filters in the last column."""

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses import evolution
from cnnviz.analyses.base import Source
from cnnviz.analyses.evolution import EvolutionResult, grid_picture
from cnnviz.core.training.runs import RunRecord
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.training.plots import tab_plot, title_label
from cnnviz.gui.runtime.worker import Worker

JOB = "evolution"


def parse_units(text: str) -> tuple[int, ...]:
    """``"3, 17 40"`` -> (3, 17, 40); ValueError naming the field for anything else."""
    parts = text.replace(",", " ").split()
    try:
        units = tuple(int(part) for part in parts)
    except ValueError:
        raise ValueError(f"units: expected unit numbers such as 3, 17, 40, not {text!r}") from None
    if any(unit < 0 for unit in units):
        raise ValueError("units: unit numbers are 0 or more")
    return units


class EvolutionPart(QObject):
    """``widget`` (the tab: controls above the ``plot`` of the grid ``image``); ``compute_button`` starts the
    analysis of the run ``selected()`` gives; ``result``: the result shown (``updated()`` follows each new one)."""

    def __init__(self, owner: QWidget, jobs_runner: JobRunner, dataset_worker: Worker,
                 selected: Callable[[], RunRecord | None], updated: Callable[[], None] = lambda: None) -> None:
        super().__init__(owner)
        self.updated = updated
        self.jobs, self.dataset_worker, self.selected = jobs_runner, dataset_worker, selected
        self.result: EvolutionResult | None = None
        self.layer_edit = QLineEdit()
        self.layer_edit.setPlaceholderText("last rectified convolution")
        self.layer_edit.setToolTip("The layer whose units are shown (a name from the Architecture table)")
        self.units_edit = QLineEdit()
        self.units_edit.setPlaceholderText("6 strongest of the last epoch")
        self.units_edit.setToolTip("Unit numbers, separated by commas or spaces")
        self.images_spin = QSpinBox()
        self.images_spin.setRange(10, 1_000_000)
        self.images_spin.setValue(evolution.Settings().images)
        self.images_spin.setSuffix(" images")
        self.images_spin.setToolTip("Images each checkpoint scans, drawn from the run's split (more: slower, "
                                    "stronger patches)")
        self.split_combo = QComboBox()
        for split in evolution.SPLIT_CHOICES:
            self.split_combo.addItem(f"{split} split", split)
        self.compute_button = QPushButton("Evolution of the selected run")
        self.compute_button.setToolTip("Scan a sample with each epoch's checkpoint and show the units' strongest "
                                       "patches by epoch (Zeiler & Fergus Fig. 4)")
        self.title = title_label("Choose a run in the list, then Evolution.")
        self.plot, image = tab_plot(picture=True)
        assert image is not None
        self.image = image
        self.widget = QWidget()
        self._lay_out()
        self.compute_button.clicked.connect(self.compute)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        for control in (self.compute_button, QLabel("Layer"), self.layer_edit, QLabel("Units"), self.units_edit,
                        self.images_spin, self.split_combo):
            row.addWidget(control)
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)

    def settings(self) -> evolution.Settings:
        """The analysis settings of the controls; ValueError naming a bad field."""
        return evolution.Settings(layer=self.layer_edit.text().strip(), units=parse_units(self.units_edit.text()),
                                  images=self.images_spin.value(), split=str(self.split_combo.currentData()))

    def compute(self) -> None:
        """Start the analysis of the selected run."""
        record = self.selected()
        if record is None:
            self.jobs.show_info("Select a run in the list first.")
            return
        try:
            settings = self.settings()
        except ValueError as error:
            self.jobs.show_error(str(error))
            return
        self.jobs.submit(JOB, "Scanning the checkpoints…", evolution.run, None, Source.of_runs([record.folder]),
                         settings, worker=self.dataset_worker, done=self.show_result)

    def show_result(self, result: EvolutionResult) -> None:
        """Draw ``result``'s grid with the units along the top and the epochs down the side."""
        self.result = result
        picture, columns, rows = grid_picture(result)
        self.image.setImage((picture * 255).astype(np.uint8), axisOrder="row-major", levels=(0, 255))
        grid = result.evolution
        names = [f"unit {unit}" for unit in grid.units] + (["first filters"] if len(columns) > len(grid.units) else [])
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setTicks([list(zip(columns, names))])
        item.getAxis("left").setTicks([[(y, f"epoch {epoch}") for y, epoch in zip(rows, grid.epochs)]])
        item.getViewBox().setRange(xRange=(0, picture.shape[1]), yRange=(0, picture.shape[0]), padding=0.02)
        self.title.setText(f"{grid.layer}: each cell the unit's deconvnet projection (left) and strongest patch "
                           f"(right) among {len(grid.images)} images of {result.run}")
        self.updated()
