"""The Model pane: pick the bundled model, a zoo model or a file, the device, and load it."""

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.model import models
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.runtime.model_loader import ModelLoader
from cnnviz.gui.runtime.model_spec import ModelSpec, default_model_name, spec_from_text
from cnnviz.gui.runtime.worker import Task
from cnnviz.gui.widgets.labels import UNTRAINED, input_description, parameter_count

OPEN_FILE = "Open file…"
FILE_ENTRY = "file"
"""Picker data of the entry for the model file loaded last."""
MODEL_FILE_FILTER = ("Model files (*.pth *.pt *.py checkpoint.json);;Training checkpoints (checkpoint.json);;"
                     "All files (*)")
_BADGE = "QLabel {{ background: {background}; color: white; border-radius: 3px; padding: 1px 6px; font-weight: bold; }}"


def ask_model_file(loader: ModelLoader, device: str, parent: QWidget) -> bool:
    """Ask for a model file and start loading it on ``device``; False if no file was chosen."""
    path, _filter = QFileDialog.getOpenFileName(parent, "Open model file", "", MODEL_FILE_FILTER)
    if not path:
        return False
    loader.load(spec_from_text(path, device=device))
    return True


def cached_zoo_names() -> set[str]:
    """The zoo models whose pretrained weights are in the cache."""
    return {name for name in models.zoo_names() if models.is_cached(name)}


def badge(text: str, background: str) -> QLabel:
    """A small coloured label for a model property."""
    label = QLabel(text)
    label.setStyleSheet(_BADGE.format(background=background))
    label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return label


class ModelPane(QWidget):
    """Model picker, pretrained and device choices, Load button, and what the current model is."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller
        self.loader = context.model_loader
        self._build_controls()
        self._arrange()
        self.cached: set[str] = set()
        self.file_spec: ModelSpec | None = None
        self._cached_stale = True
        self.fill_models()
        self._connect()
        self._show_model(self.state.model)
        self._selection_changed()

    def _build_controls(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The network to load: the bundled model, a torchvision model or a model file")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(16)
        self.pretrained = QCheckBox("Pretrained weights")
        self.pretrained.setChecked(True)
        self.pretrained.setToolTip("Unchecked: the architecture with random weights (no download)")
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the model runs: the CPU, or a GPU (CUDA, MPS) where available")
        self.device_combo.addItems(models.available_devices())
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load the chosen model on the chosen device")
        self.load_button.setDefault(True)
        self.name_label = QLabel()
        self.name_label.setWordWrap(True)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cached_badge = badge("cached", "#2e7d32")
        self.untrained_badge = badge(UNTRAINED, "#c62828")
        self.details = QLabel()
        self.details.setWordWrap(True)

    def _arrange(self) -> None:
        picker = QFormLayout()
        picker.addRow("Model", self.model_combo)
        options = QHBoxLayout()
        options.addWidget(self.pretrained)
        options.addStretch(1)
        options.addWidget(QLabel("Device"))
        options.addWidget(self.device_combo)
        options.addWidget(self.load_button)
        badges = QHBoxLayout()
        badges.addWidget(self.cached_badge)
        badges.addWidget(self.untrained_badge)
        badges.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(picker)
        layout.addLayout(options)
        layout.addWidget(self.name_label)
        layout.addLayout(badges)
        layout.addWidget(self.details)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.model_combo.currentIndexChanged.connect(self._selection_changed)
        self.model_combo.activated.connect(self._activated)
        self.load_button.clicked.connect(self.load_selected)
        self.device_combo.currentTextChanged.connect(self.controller.set_device)
        self.state.model_changed.connect(self._show_model)
        self.state.predictions_changed.connect(self._refresh_cached_if_stale)
        self.state.device_changed.connect(self._show_device)

    def fill_models(self) -> None:
        """(Re)fill the model picker, marking the zoo models last found cached."""
        current = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(f"Bundled: {default_model_name()}", "default")
        for name in models.zoo_names():
            self.model_combo.addItem(models.zoo_title(name, cached=name in self.cached), name)
            self.model_combo.setItemData(self.model_combo.count() - 1, f"torchvision: {name}",
                                         Qt.ItemDataRole.ToolTipRole)
        if self.file_spec is not None:
            self.model_combo.addItem(f"File: {self.file_spec.short_name}", FILE_ENTRY)
            self.model_combo.setItemData(self.model_combo.count() - 1, self.file_spec.name,
                                         Qt.ItemDataRole.ToolTipRole)
        self.model_combo.addItem(OPEN_FILE, "")
        index = self.model_combo.findData(current) if current is not None else 0
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self._selection_changed()

    def refresh_cached(self) -> Task:
        """Find out in the background which zoo models are cached, then mark them in the picker.

        Looking up the weight file names imports torchvision, which holds the interpreter for
        a second in stretches, so this runs once the current model's first predictions are shown.
        """
        self._cached_stale = False
        task = self.controller.loader.submit(cached_zoo_names)
        task.succeeded.connect(self._cached_found)
        return task

    def _refresh_cached_if_stale(self) -> None:
        if self._cached_stale:
            self.refresh_cached()

    def _cached_found(self, names: set[str]) -> None:
        if names != self.cached:
            self.cached = names
            self.fill_models()

    def select(self, text: str) -> None:
        """Select ``"default"``, a zoo name or :data:`FILE_ENTRY` in the picker."""
        index = self.model_combo.findData(text)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def selected_spec(self) -> ModelSpec | None:
        """The spec of the picker's selection, or None for "Open file…"."""
        data = self.model_combo.currentData()
        if not data:
            return None
        if data == FILE_ENTRY and self.file_spec is not None:
            return self.file_spec.with_changes(device=self.device_combo.currentText())
        return spec_from_text(data, pretrained=self.pretrained.isChecked(),
                              device=self.device_combo.currentText())

    def load_selected(self) -> None:
        """Load the selected model, or ask for a file for "Open file…"."""
        spec = self.selected_spec()
        if spec is None:
            if not ask_model_file(self.loader, self.device_combo.currentText(), self):
                self._select_current_model()
            return
        self.loader.load(spec)

    def _selection_changed(self) -> None:
        data = self.model_combo.currentData()
        self.pretrained.setEnabled(data in models.zoo_names())

    def _activated(self, index: int) -> None:
        if self.model_combo.itemData(index) == "":
            self.load_selected()

    def _select_current_model(self) -> None:
        spec = self.state.model_spec
        if spec is not None:
            self.select(FILE_ENTRY if spec.source == "file" else spec.text)

    def _show_model(self, model: models.LoadedModel | None) -> None:
        if model is None:
            self.name_label.setText("<i>No model loaded</i>")
            self.cached_badge.hide()
            self.untrained_badge.hide()
            self.details.clear()
            return
        spec = self.state.model_spec
        if spec is not None and spec.source == "file":
            self.file_spec = spec
            self.fill_models()
        self._cached_stale = True
        self._select_current_model()
        if model.source == "zoo":
            self.pretrained.setChecked(model.pretrained)
        self.name_label.setText(f"<b>{escape(model.name)}</b>")
        self.cached_badge.setVisible(model.source == "zoo" and model.pretrained)
        self.untrained_badge.setVisible(not model.pretrained)
        source = {"default": "bundled with cnnviz", "zoo": "torchvision",
                  "file": str(model.path) if model.path else "file",
                  "checkpoint": f"training checkpoint {model.path}" if model.path else "training checkpoint",
                  }.get(model.source, model.source)
        self.details.setText(
            f"Source: {escape(source)}<br>Input: {input_description(model)}<br>"
            f"Classes: {len(model.categories):,} · Parameters: {parameter_count(model):,}")
        self.details.setToolTip(str(model.path) if model.path else "")

    def _show_device(self, device: str) -> None:
        self.device_combo.blockSignals(True)
        self.device_combo.setCurrentText(device)
        self.device_combo.blockSignals(False)

