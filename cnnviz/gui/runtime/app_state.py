"""The state every pane shares: model, image, network input, predictions, target and selection.

:class:`AppState` only holds values and announces changes with Qt signals; it computes nothing.
Work that takes time (loading, forward passes, the layer table) is started by
:class:`~cnnviz.gui.runtime.controller.Controller`, which writes its results back here on the GUI thread.
Panes read the properties and connect to the signals; they change the state through the setters
(or the controller, for anything that needs the model).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QObject, Signal

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.layers import LayerRow
from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.runtime.model_spec import ModelSpec


@dataclass(frozen=True)
class Predictions:
    """Result of one forward pass of the current input.

    ``top`` holds (class index, class name, probability) of the best classes, best first;
    ``probabilities`` all class probabilities (float32, sums to 1); ``forward_ms`` the time the
    forward pass took in milliseconds.
    """

    top: list[tuple[int, str, float]]
    probabilities: np.ndarray
    forward_ms: float

    def probability(self, index: int) -> float:
        """Probability of class ``index`` (0 for an index outside the outputs)."""
        return float(self.probabilities[index]) if 0 <= index < len(self.probabilities) else 0.0


class AppState(QObject):
    """Current model, image, input, predictions and selections, with a signal for each change.

    Signals (payload in brackets):

    - ``model_changed(LoadedModel)``: a new model is current (``model_spec`` says how it was loaded).
    - ``image_changed(PIL.Image.Image)``: a new original image (``image_name``, ``image_path``).
    - ``input_changed(torch.Tensor)``: the preprocessed input [1, C, H, W] for the current model and
      image; ``seen_image`` is that input turned back into a picture.
    - ``predictions_changed(Predictions)``: the forward pass of the current input finished.
    - ``layer_rows_changed(list[LayerRow])``: the layer table of the current model is ready.
    - ``target_changed(int)``: the target class index (for class-specific tools).
    - ``layer_changed(str)``: the selected layer's dotted name ("" for none).
    - ``channel_changed(int)``: the selected channel of that layer (-1 for none).
    - ``position_changed(object)``: the selected unit position (row, col) in that channel's map, None
      for none (a pane then picks the strongest); a new layer, channel or image resets it.
    - ``pane_requested(str)``: a pane asks the window to bring the pane with that key to the front.
    - ``dataset_changed(object)``: the image collection the dataset tools work on
      (:class:`~cnnviz.core.data.datasets.ImageDataset`, None for none; chosen in any of their panes).
    - ``device_changed(str)``: the device the model runs on ("cpu", "cuda", "mps").
    - ``busy_changed(bool)``: background work started (True) or everything finished (False).
    - ``status_message(str)``: a short message for the status bar.
    """

    model_changed = Signal(object)
    image_changed = Signal(object)
    input_changed = Signal(object)
    predictions_changed = Signal(object)
    layer_rows_changed = Signal(object)
    target_changed = Signal(int)
    layer_changed = Signal(str)
    channel_changed = Signal(int)
    position_changed = Signal(object)
    pane_requested = Signal(str)
    dataset_changed = Signal(object)
    device_changed = Signal(str)
    busy_changed = Signal(bool)
    status_message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model: LoadedModel | None = None
        self.model_spec: ModelSpec | None = None
        self.image: Image.Image | None = None
        self.image_preview: Image.Image | None = None
        self.image_name = ""
        self.image_path: Path | None = None
        self.input_tensor: torch.Tensor | None = None
        self.seen_image: Image.Image | None = None
        self.predictions: Predictions | None = None
        self.layer_rows: list[LayerRow] | None = None
        self.target = -1
        self.layer = ""
        self.channel = -1
        self.position: tuple[int, int] | None = None
        self.dataset: ImageDataset | None = None
        self.device = "cpu"
        self.busy = False

    def set_model(self, model: LoadedModel, spec: ModelSpec) -> None:
        """Make ``model`` current; clears what belonged to the previous one."""
        self.model, self.model_spec = model, spec
        self.input_tensor = self.seen_image = self.predictions = self.layer_rows = None
        self.target, self.layer, self.channel, self.position = -1, "", -1, None
        self.device = str(model.device.type)
        self.model_changed.emit(model)
        self.device_changed.emit(self.device)
        self.target_changed.emit(self.target)
        self.layer_changed.emit(self.layer)
        self.channel_changed.emit(self.channel)
        self.position_changed.emit(None)

    def set_image(self, image: Image.Image, name: str, path: Path | None = None,
                  preview: Image.Image | None = None) -> None:
        """Make ``image`` the original image; ``preview`` is a smaller copy for display."""
        self.image, self.image_name, self.image_path = image, name, path
        self.image_preview = preview if preview is not None else image
        self.input_tensor = self.seen_image = self.predictions = None
        self.set_position(None)
        self.image_changed.emit(image)

    def set_input(self, tensor: torch.Tensor, seen: Image.Image) -> None:
        """Set the preprocessed input of the current model and image and its picture."""
        self.input_tensor, self.seen_image = tensor, seen
        self.input_changed.emit(tensor)

    def set_predictions(self, predictions: Predictions) -> None:
        """Set the predictions for the current input."""
        self.predictions = predictions
        self.predictions_changed.emit(predictions)

    def set_layer_rows(self, rows: list[LayerRow]) -> None:
        """Set the layer table of the current model."""
        self.layer_rows = rows
        self.layer_rows_changed.emit(rows)

    def set_target(self, index: int) -> None:
        """Select target class ``index`` (-1 for none)."""
        if index != self.target:
            self.target = index
            self.target_changed.emit(index)

    def set_layer(self, name: str) -> None:
        """Select the layer called ``name`` ("" for none); resets the channel."""
        if name != self.layer:
            self.layer = name
            self.layer_changed.emit(name)
            self.set_channel(-1)

    def set_channel(self, index: int) -> None:
        """Select channel ``index`` of the selected layer (-1 for none)."""
        if index != self.channel:
            had_position = self.position is not None
            self.channel, self.position = index, None
            self.channel_changed.emit(index)
            if had_position:
                self.position_changed.emit(None)

    def set_position(self, position: tuple[int, int] | None) -> None:
        """Select the unit at ``position`` (row, col) of the selected channel's map (None for none)."""
        if position != self.position:
            self.position = position
            self.position_changed.emit(position)

    def request_pane(self, key: str) -> None:
        """Ask the window to bring the pane ``key`` (a registry key, e.g. ``"deconvnet"``) to the front."""
        self.pane_requested.emit(key)

    def set_dataset(self, dataset: ImageDataset | None) -> None:
        """Make ``dataset`` the collection the dataset tools work on (None for none)."""
        if dataset is not self.dataset:
            self.dataset = dataset
            self.dataset_changed.emit(dataset)

    def set_device(self, device: str) -> None:
        """Record that the model now runs on ``device``."""
        if device != self.device:
            self.device = device
            self.device_changed.emit(device)

    def set_busy(self, busy: bool) -> None:
        """Record whether background work is running."""
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)

    def show_status(self, message: str) -> None:
        """Ask the status bar to show ``message``."""
        self.status_message.emit(message)
