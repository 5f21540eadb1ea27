"""The Training pane's Layer probes tab (Zeiler & Fergus Table 7): how well each layer's frozen features separate
the classes — a linear probe per layer of the current model and, beside it, of the selected run's checkpoint (the
base model against its fine-tuned version), trained on (a sample of) the run's training images and scored on its
test images; bars of test top-1 (solid) and top-3 (light) per layer."""

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses import probe
from cnnviz.analyses.base import Source
from cnnviz.analyses.curves import COLOUR_NAMES, RUN_COLOURS
from cnnviz.analyses.probe import ProbeResult
from cnnviz.core.model import models
from cnnviz.core.progress import Step
from cnnviz.core.training.evolution import sample
from cnnviz.core.training.runs import RunRecord, read_splits
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.panes.training.plots import tab_plot, title_label

JOB = "probe"


def probe_job(model: Any, folder: Any, settings: probe.Settings, images: int, compare: bool,
              checkpoint: Any) -> Generator[Step, None, ProbeResult]:
    """Probe ``model`` (and, with ``compare``, the ``checkpoint`` folder's model on the same layers) on the run
    ``folder``'s recorded splits: at most ``images`` training images, every test image."""
    splits = read_splits(folder)
    if "train" not in splits or "test" not in splits:
        raise ValueError(f"{folder} recorded no train and test splits to probe on")
    source = Source(splits["train"].name, dataset=sample(splits["train"], images), test=splits["test"])
    layers = settings.layers or probe.defaults(model).layers
    chosen = settings.replace(layers=layers)
    first = yield from probe.run(model, source, chosen)
    if not compare:
        return first
    trained = models.load_checkpoint(checkpoint, device=str(model.device))
    second = yield from probe.run(trained, source, chosen)
    return probe.ProbeResult(settings=first.settings, head=first.head, scores=first.scores, model=first.model,
                             test=first.test, others=(second,))


class ProbePart(QObject):
    """``widget`` (the tab: controls above the bar ``plot``); ``compute_button`` probes the current model
    (``model()``) on the run ``selected()`` gives, and its checkpoint at ``epoch()`` beside it; ``result``: the
    result shown (``updated()`` follows each new one)."""

    def __init__(self, owner: QWidget, jobs_runner: JobRunner, model: Callable[[], Any],
                 selected: Callable[[], RunRecord | None], epoch: Callable[[], int | None],
                 updated: Callable[[], None] = lambda: None) -> None:
        super().__init__(owner)
        self.jobs, self.model, self.selected, self.epoch, self.updated = jobs_runner, model, selected, epoch, updated
        self.result: ProbeResult | None = None
        self.layers_edit = QLineEdit()
        self.layers_edit.setPlaceholderText("up to 8 spread over the depth")
        self.layers_edit.setToolTip("The layers to probe, separated by commas")
        self.images_spin = QSpinBox()
        self.images_spin.setRange(20, 1_000_000)
        self.images_spin.setValue(2000)
        self.images_spin.setSuffix(" images")
        self.images_spin.setToolTip("At most this many training images fit each probe (drawn with seed 0)")
        self.compare_check = QCheckBox("and the run's checkpoint")
        self.compare_check.setChecked(True)
        self.compare_check.setToolTip("Probe the selected run's checkpoint too, beside the current model")
        self.compute_button = QPushButton("Probe layers")
        self.compute_button.setToolTip("Fit a linear probe on each layer's frozen features, on the selected run's "
                                       "splits")
        self.title = title_label("Choose a run in the list: its splits are probed.")
        self.plot, _ = tab_plot()
        self.plot.getPlotItem().setLabel("left", "test accuracy of a linear probe")
        self.plot.setYRange(0, 1.0)
        self.bars: list[pg.BarGraphItem] = []
        self.widget = QWidget()
        row = QHBoxLayout()
        for control in (self.compute_button, QLabel("Layers"), self.layers_edit, self.images_spin, self.compare_check):
            row.addWidget(control)
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        self.compute_button.clicked.connect(self.compute)

    def compute(self) -> None:
        """Probe the current model (and the selected run's checkpoint) on the selected run's splits."""
        record, model = self.selected(), self.model()
        if record is None or model is None:
            self.jobs.show_info("Select a run in the list first.")
            return
        layers = tuple(part.strip() for part in self.layers_edit.text().split(",") if part.strip())
        settings = probe.Settings(layers=layers)
        self.jobs.submit(JOB, "Probing the layers…", probe_job, model, record.folder, settings,
                         self.images_spin.value(), self.compare_check.isChecked(), record.checkpoint(self.epoch()),
                         on_copy=True, done=self.show_result)

    def show_result(self, result: ProbeResult) -> None:
        """Draw the bars of ``result`` and its comparisons."""
        self.result = result
        for bar in self.bars:
            self.plot.removeItem(bar)
        self.bars.clear()
        shown = [result, *result.others]
        layers = result.layers()
        width = 0.8 / len(shown)
        for index, probed in enumerate(shown):
            colour = RUN_COLOURS[index % len(RUN_COLOURS)]
            x = np.arange(len(layers)) - 0.4 + width * (index + 0.5)
            top1 = [probed.scores[layer].top1 for layer in layers]
            top3 = [probed.scores[layer].top3 for layer in layers]
            light = pg.mkColor(colour)
            light.setAlpha(80)
            for heights, brush in ((top3, light), (top1, pg.mkColor(colour))):
                bar = pg.BarGraphItem(x=x, height=heights, width=width * 0.9, brush=brush, pen=None)
                self.plot.addItem(bar)
                self.bars.append(bar)
        self.plot.getPlotItem().getAxis("bottom").setTicks([[(i, str(i + 1)) for i in range(len(layers))]])
        self.plot.getPlotItem().setLabel("bottom", "layer (numbered as in the tooltip)")
        self.plot.setToolTip("\n".join(f"{i + 1}: {name}" for i, name in enumerate(layers)))
        names = " · ".join(f"{probed.model} ({COLOUR_NAMES[i % len(COLOUR_NAMES)]})" for i, probed in enumerate(shown))
        self.title.setText(f"Solid: test top-1, light: top-3, on {result.test} — {names}")
        self.updated()
