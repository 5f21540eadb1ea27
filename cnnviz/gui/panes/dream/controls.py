"""The settings column of the Deep dream pane: objective, step, octaves, regularisation, start, size
and the layer cycle, in collapsible sections (:attr:`DreamControls.sections`): the common settings
(layer, objective, step size, iterations, octaves) open, the rest collapsed.

:class:`DreamControls` holds the widgets and builds a whole new
:class:`~cnnviz.core.per_image.dream.DreamConfig` of their values with :meth:`DreamControls.config`; it emits
``changed()`` whenever the user changes one, so the pane can swap the new config into the running
dream, which reads it from its next step.
The guide image is kept as a PIL image (:meth:`DreamControls.guide_image`); the pane preprocesses it
for the current model.
"""

from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.data import images
from cnnviz.core.per_image.dream import DreamConfig
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.collapsible import Section
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.layer_picker import LayerChoice, LayerPicker
from cnnviz.gui.widgets.log_spin_box import LogSlider, LogSpinBox

OBJECTIVE_TITLES = {
    "l2": ("L2 norm ‖a‖²", "Maximise the squared L2 norm of the whole layer response"),
    "channel": ("One channel", "Maximise the mean activation of one channel"),
    "class": ("Class logit", "Maximise one class's pre-softmax score (the whole network runs)"),
    "guided": ("Guide image", "Maximise the dot product with the layer's response to a guide image"),
}
START_TITLES = {"image": "Current image", "uniform": "Uniform noise", "gaussian": "Gaussian noise"}
WORK_AT = {"model": "Model input size", "full": "Full image resolution"}


def _spin(low: int, high: int, value: int, tip: str, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin


def _float_spin(low: float, high: float, value: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1)
    return holder


class CycleEditor(QWidget):
    """A table of (layer, step size) rows used in turn, one per step; empty: off.

    Emits ``changed()`` when a row is added, removed or edited.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: list[LayerChoice] = []
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Layer", "Step size"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMaximumHeight(110)
        self.table.setToolTip("Layers and step sizes used in turn, one per step (empty: use the layer "
                              "and step size above)")
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a row with the layer and step size above")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected row (or the last)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.remove_button.clicked.connect(self.remove_row)

    def set_choices(self, choices: list[LayerChoice]) -> None:
        """Offer ``choices`` as layers; clears the rows (they belonged to the previous model)."""
        self.choices = list(choices)
        self.table.setRowCount(0)
        self.changed.emit()

    def add_row(self, layer: str, step_size: float) -> None:
        """Append a row for ``layer`` with ``step_size``."""
        if not self.choices:
            return
        row = self.table.rowCount()
        self.table.insertRow(row)
        combo = QComboBox()
        for choice in self.choices:
            combo.addItem(choice.name, choice.name)
        combo.setCurrentIndex(max(0, combo.findData(layer)))
        spin = LogSpinBox()
        spin.setValue(step_size)
        combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        spin.valueChanged.connect(lambda _value: self.changed.emit())
        self.table.setCellWidget(row, 0, combo)
        self.table.setCellWidget(row, 1, spin)
        self.changed.emit()

    def remove_row(self) -> None:
        """Remove the selected row, or the last one."""
        rows = self.table.rowCount()
        if not rows:
            return
        selected = self.table.currentRow()
        self.table.removeRow(selected if 0 <= selected < rows else rows - 1)
        self.changed.emit()

    def set_pairs(self, pairs: Any, choices: list[LayerChoice]) -> None:
        """Offer ``choices`` and make ``pairs`` ([layer, step size] each, layers among ``choices``) the rows;
        raises ValueError for anything else."""
        try:
            rows = [(str(layer), float(step)) for layer, step in pairs]
        except (TypeError, ValueError):
            raise ValueError(f"expected [layer, step size] pairs, not {pairs!r}") from None
        unknown = [layer for layer, _step in rows if layer not in {choice.name for choice in choices}]
        if unknown:
            raise ValueError(f"no layer {', '.join(map(repr, unknown))} to cycle through")
        self.set_choices(choices)
        for layer, step in rows:
            self.add_row(layer, step)

    def pairs(self) -> list[tuple[str, float]]:
        """The (layer, step size) rows, in order."""
        # add_row puts a layer combo box in column 0 and a step size box in column 1 of every row.
        return [(cast(QComboBox, self.table.cellWidget(row, 0)).currentData(),
                 cast(LogSpinBox, self.table.cellWidget(row, 1)).value())
                for row in range(self.table.rowCount())]


class DreamControls(QWidget):
    """Every setting of a dream run; ``picker`` is the pane's layer picker, shown at the top.

    Signals: ``changed()`` when a setting the running dream reads changes; ``guide_changed()`` when a
    different guide image is chosen. ``sections`` maps each section's title to its
    :class:`~cnnviz.gui.widgets.collapsible.Section`.
    """

    changed = Signal()
    guide_changed = Signal()

    def __init__(self, picker: LayerPicker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = picker
        picker.setMinimumContentsLength(10)
        self._guide_file: tuple[str, Image.Image] | None = None
        self._guide_sample: tuple[Path, Image.Image] | None = None
        self._vector_layer = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(2)
        self.sections: dict[str, Section] = {}
        for box in (self._build_objective(), self._build_step(), self._build_regularisation(),
                    self._build_start_and_size(), self._build_cycle()):
            self.sections[box.text()] = box
            layout.addWidget(box)
        layout.addStretch(1)
        self._connect()
        self._update_enabled()

    def _build_objective(self) -> Section:
        """The layer, objective, channel, class, guide and probability settings."""
        self.objective = QComboBox()
        for key, (title, tip) in OBJECTIVE_TITLES.items():
            self.objective.addItem(title, key)
            self.objective.setItemData(self.objective.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.channel = _spin(0, 0, 0, "Channel whose mean activation is maximised")
        self.channel.setPrefix("channel ")
        self.target = QComboBox()
        self.target.setToolTip("Class whose logit is maximised; its probability is plotted")
        self.target.setMaxVisibleItems(25)
        self.squared = QCheckBox("squared")
        self.squared.setToolTip("Maximise the squared logit")
        self.guide = QComboBox()
        self.guide.setToolTip("Guide image: the dream is pulled toward what it excites in the layer")
        for sample in images.samples():
            self.guide.addItem(sample.title, str(sample.path))
        self.open_guide = QPushButton("Open file…")
        self.best_match = QCheckBox("best match")
        self.best_match.setToolTip("Match each position with the guide feature vector of highest dot "
                                   "product (as in the original deep-dream code)")
        self.prob_every = _spin(0, 1000, 4, "Compute the target probability every N steps (a full "
                                            "forward pass; 0: never)")
        self.prob_every.setSpecialValueText("never")
        self.prob_every.setPrefix("every ")
        self.prob_every.setSuffix(" steps")
        shrinkable(self.objective, self.target, self.guide)
        box = Section("Objective", expanded=True)
        form = QFormLayout(box.content())
        form.setContentsMargins(6, 0, 0, 4)
        form.addRow("Layer", self.picker)
        form.addRow("Objective", self.objective)
        form.addRow("Channel", self.channel)
        form.addRow("Class", _row(self.target, self.squared))
        form.addRow("Guide", _row(self.guide, self.open_guide))
        form.addRow("", self.best_match)
        form.addRow("Probability", self.prob_every)
        return box

    def _build_step(self) -> Section:
        """Step size, its normalisation, iterations and octaves."""
        self.step = LogSlider(1e-6, 10.0, 0.02)
        self.step.setToolTip("Step size (1e-6 … 10); with 'normalised step', the mean change of a pixel "
                             "per step in normalised units")
        self.normalize = QCheckBox("normalised step")
        self.normalize.setToolTip("Divide the step by the mean |gradient|, so one step size works across "
                                  "layers")
        self.normalize.setChecked(True)
        self.iterations = _spin(1, 100_000, 20, "Ascent steps per octave")
        self.octaves = _spin(1, 12, 3, "Image scales, processed smallest first; the detail gained at one "
                                       "is carried up to the next")
        self.octave_scale = _float_spin(1.05, 4.0, 1.4, 0.05, 2, "Size ratio between octaves")
        box = Section("Step and octaves", expanded=True)
        form = QFormLayout(box.content())
        form.setContentsMargins(6, 0, 0, 4)
        form.addRow("Step size", self.step)
        form.addRow("", self.normalize)
        form.addRow("Iterations", self.iterations)
        form.addRow("Octaves", _row(self.octaves, self.octave_scale))
        return box

    def _build_regularisation(self) -> Section:
        """Jitter, blur, decay and clamping."""
        self.jitter = _spin(0, 256, 8, "Random roll of up to this many pixels per step, undone after",
                            " px")
        self.blur_every = _spin(0, 1000, 0, "Blur the image every N steps (0: never)")
        self.blur_every.setSpecialValueText("never")
        self.blur_every.setPrefix("every ")
        self.blur_sigma = _float_spin(0.1, 10.0, 0.5, 0.1, 2, "Gaussian blur σ in pixels")
        self.blur_sigma.setPrefix("σ ")
        self.clamp = QCheckBox("clamp to valid pixels")
        self.clamp.setChecked(True)
        self.clamp.setToolTip("Keep pixels inside the range the model's normalisation allows")
        self.decay = _float_spin(0.5, 1.0, 1.0, 0.005, 3, "Multiply the offset from the dataset mean "
                                                         "by this factor each step (1: off)")
        box = Section("Regularisation", expanded=False)
        form = QFormLayout(box.content())
        form.setContentsMargins(6, 0, 0, 4)
        form.addRow("Jitter", self.jitter)
        form.addRow("Blur", _row(self.blur_every, self.blur_sigma))
        form.addRow("Decay", self.decay)
        form.addRow("", self.clamp)
        return box

    def _build_start_and_size(self) -> Section:
        """The start image and seed, the resolution worked at and the tiles."""
        self.start = QComboBox()
        for key, title in START_TITLES.items():
            self.start.addItem(title, key)
        self.seed = _spin(0, 999_999, 0, "Seed of the noise and of the jitter")
        self.seed.setPrefix("seed ")
        self.work_at = QComboBox()
        for key, title in WORK_AT.items():
            self.work_at.addItem(title, key)
        self.work_at.setToolTip("Dream on the network input, or on the original image at its own "
                                "resolution (convolutional layers; large images run in tiles)")
        self.tile = _spin(32, 8192, 512, "Images larger than this run in overlapping tiles", " px")
        self.overlap = _spin(0, 511, 64, "Overlap of neighbouring tiles (blended, so no seams; less than the tile)",
                             " px")
        shrinkable(self.start, self.work_at)
        box = Section("Start and size", expanded=False)
        form = QFormLayout(box.content())
        form.setContentsMargins(6, 0, 0, 4)
        form.addRow("Start from", _row(self.start, self.seed))
        form.addRow("Work at", self.work_at)
        form.addRow("Tiles", _row(self.tile, self.overlap))
        return box

    def _build_cycle(self) -> Section:
        """The layer cycle editor."""
        self.cycle = CycleEditor()
        box = Section("Layer cycle", expanded=False)
        body = QVBoxLayout(box.content())
        body.setContentsMargins(6, 0, 0, 4)
        body.addWidget(self.cycle)
        return box

    def _connect(self) -> None:
        for widget in (self.objective, self.target, self.start, self.work_at):
            widget.currentIndexChanged.connect(self._changed)
        for spin in (self.channel, self.iterations, self.octaves, self.jitter, self.blur_every,
                     self.seed, self.tile, self.overlap, self.prob_every):
            spin.valueChanged.connect(self._changed)
        for double_spin in (self.octave_scale, self.blur_sigma, self.decay):
            double_spin.valueChanged.connect(self._changed)
        for check in (self.squared, self.best_match, self.normalize, self.clamp):
            check.toggled.connect(self._changed)
        self.step.value_changed.connect(self._changed)
        self.cycle.changed.connect(self._changed)
        self.guide.currentIndexChanged.connect(self._guide_sample_chosen)
        self.open_guide.clicked.connect(self._open_guide_file)
        self.cycle.add_button.clicked.connect(
            lambda: self.cycle.add_row(self.picker.currentData() or "", self.step.value()))

    def set_classes(self, names: list[str], target: int) -> None:
        """List the class ``names`` and select ``target`` (-1: the first)."""
        self.target.blockSignals(True)
        self.target.clear()
        for index, name in enumerate(names):
            self.target.addItem(f"{index}: {name}", index)
        self.target.setCurrentIndex(max(0, min(target, len(names) - 1)))
        self.target.blockSignals(False)

    def set_target(self, target: int) -> None:
        """Select class ``target`` (programmatic; emits ``changed``)."""
        if 0 <= target < self.target.count():
            self.target.setCurrentIndex(target)

    def set_channels(self, channels: int) -> None:
        """Let the channel spin box range over a layer's ``channels``."""
        self.channel.setRange(0, max(0, channels - 1))

    def set_vector_layer(self, vector: bool) -> None:
        """Whether the dreamed layer has no spatial grid (e.g. a fully connected layer): octaves, tiles
        and full resolution do not apply to it, so their controls are disabled and the config asks
        for one octave at the model's input size."""
        self._vector_layer = vector
        self._update_enabled()

    def guide_image(self) -> Image.Image | None:
        """The chosen guide image (an opened file wins until another sample is chosen), or None."""
        if self._guide_file is not None:
            return self._guide_file[1]
        path = self.guide.currentData()
        if not path:
            return None
        if self._guide_sample is None or self._guide_sample[0] != Path(path):
            self._guide_sample = (Path(path), images.load_image(path))
        return self._guide_sample[1]

    def guide_path(self) -> str:
        """The file of the chosen guide image (an opened file, else the sample's), "" for none."""
        if self._guide_file is not None:
            return self._guide_file[0]
        return str(self.guide.currentData() or "")

    def set_guide_file(self, path: str | Path) -> None:
        """Use the image file ``path`` as guide (raises ImageLoadError)."""
        image = images.load_image(path)
        self._guide_file = (str(path), image)
        self.open_guide.setText(Path(path).name)
        self.open_guide.setToolTip(str(path))
        self.guide_changed.emit()

    def config(self, layer: str, guide: torch.Tensor | None) -> DreamConfig:
        """A new :class:`DreamConfig` of every setting, for ``layer`` and the preprocessed ``guide``
        image tensor (None: none); one octave for a vector layer (:meth:`set_vector_layer`)."""
        return DreamConfig(
            layer=layer, objective=self.objective.currentData(), step_size=self.step.value(),
            normalize=self.normalize.isChecked(), iterations=self.iterations.value(),
            octaves=1 if self._vector_layer else self.octaves.value(), octave_scale=self.octave_scale.value(),
            jitter=self.jitter.value(),
            blur_every=self.blur_every.value(), blur_sigma=self.blur_sigma.value(), clamp=self.clamp.isChecked(),
            decay=self.decay.value(), channel=self.channel.value(), target=self.target.currentData(),
            square_class=self.squared.isChecked(), guide=guide, best_match=self.best_match.isChecked(),
            cycle=tuple(self.cycle.pairs()), tile=self.tile.maximum() if self._vector_layer else self.tile.value(),
            overlap=self.overlap.value(),
            start=self.start.currentData(), seed=self.seed.value(), prob_every=self.prob_every.value())

    @property
    def full_resolution(self) -> bool:
        """True when the dream should run on the original image at its own resolution (never for a
        vector layer)."""
        return self.work_at.currentData() == "full" and not self._vector_layer

    def _changed(self, *_args: object) -> None:
        self._update_enabled()
        self.changed.emit()

    def _update_enabled(self) -> None:
        objective = self.objective.currentData()
        self.channel.setEnabled(objective == "channel")
        self.squared.setEnabled(objective == "class")
        for widget in (self.guide, self.open_guide, self.best_match):
            widget.setEnabled(objective == "guided")
        self.blur_sigma.setEnabled(self.blur_every.value() > 0)
        self.seed.setEnabled(self.start.currentData() != "image" or self.jitter.value() > 0)
        self.tile.setEnabled(self.full_resolution)
        self.overlap.setEnabled(self.full_resolution)
        self.overlap.setMaximum(self.tile.value() - 1)
        for control in (self.octaves, self.octave_scale, self.work_at):
            control.setEnabled(not self._vector_layer)

    def _guide_sample_chosen(self, _index: int) -> None:
        self._guide_file = None
        self.open_guide.setText("Open file…")
        self.open_guide.setToolTip("Use an image file as guide")
        self.guide_changed.emit()

    def _open_guide_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Guide image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)")
        if not path:
            return
        try:
            self.set_guide_file(path)
        except images.ImageLoadError as error:
            show_error(self, "Could not open the guide image", str(error))
