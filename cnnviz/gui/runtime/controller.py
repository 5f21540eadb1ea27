"""Starting the core work the panes ask for, off the GUI thread, and storing the results in the state.

The :class:`Controller` owns three workers: ``loader`` (loading models and decoding images; these touch
nothing shared), ``compute`` (one thread: everything that runs the current model, so hooks of one
task never see another task's forward pass; each task holds ``model_lock``) and ``dataset`` (one thread:
long dataset jobs on a copy of the model, :meth:`Controller.submit_dataset_job`, so the per-image tools
keep working meanwhile), and the ``activations`` store that captures and caches
layer outputs of the current input on ``compute`` for the tool panes. It keeps
:class:`~cnnviz.gui.runtime.app_state.AppState` up to date: a new model or image is followed by a fresh
input, predictions and, for a new model, the layer table.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QImage

from cnnviz.core.data import images
from cnnviz.core.model import layers
from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.runtime.activation_store import ActivationStore
from cnnviz.gui.runtime.app_state import AppState, Predictions
from cnnviz.gui.runtime.model_sharing import on_own_copy
from cnnviz.gui.runtime.model_spec import ModelSpec, load_model
from cnnviz.gui.runtime.worker import Task, Worker

TOP_K = 5
NON_FINITE_WARNING = ("Warning: the model's output for this image is not finite (NaN or inf), so its "
                      "predictions are meaningless.")
PREVIEW_SIDE = 1024
"""Longest side of the copy of an image used for display."""


@dataclass(frozen=True)
class LoadedImage:
    """An image decoded by a background task: the full image, a display copy and where it came from."""

    image: Image.Image
    preview: Image.Image
    name: str
    path: Path | None


@dataclass(frozen=True)
class InputResult:
    """The network input made from an image and the forward pass on it."""

    tensor: torch.Tensor
    seen: Image.Image
    predictions: Predictions


def decode_file(path: str | Path) -> LoadedImage:
    """Load an image file (raises :class:`~cnnviz.core.data.images.ImageLoadError`)."""
    path = Path(path)
    image = images.load_image(path)
    return LoadedImage(image, preview_of(image), path.name, path)


def decode_bytes(data: bytes, name: str) -> LoadedImage:
    """Decode encoded image bytes (raises :class:`~cnnviz.core.data.images.ImageLoadError`)."""
    image = images.load_image_bytes(data, name=name)
    return LoadedImage(image, preview_of(image), name, None)


def decode_qimage(qimage: QImage, name: str) -> LoadedImage:
    """Turn a QImage (e.g. from the clipboard) into an image by way of PNG bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buffer, "PNG", 100)  # type: ignore[call-overload]  # stubs: bytes; runtime: str
    data: QByteArray = buffer.data()
    return decode_bytes(bytes(data.data()), name)


def preview_of(image: Image.Image) -> Image.Image:
    """``image`` itself if small, else a copy whose longest side is :data:`PREVIEW_SIDE`."""
    if max(image.size) <= PREVIEW_SIDE:
        return image
    preview = image.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
    return preview


def run_input(model: LoadedModel, image: Image.Image, k: int = TOP_K) -> InputResult:
    """Preprocess ``image`` for ``model``, picture that input and run the forward pass on it."""
    tensor = model.preprocess(image)
    seen = model.deprocess(tensor)
    start = time.perf_counter()
    probabilities = model.probabilities(tensor)[0].float().cpu()
    forward_ms = (time.perf_counter() - start) * 1000.0
    values, indices = probabilities.topk(min(k, probabilities.numel()))
    top = [(int(i), model.class_name(int(i)), float(v)) for v, i in zip(values, indices)]
    return InputResult(tensor, seen, Predictions(top, probabilities.numpy(), forward_ms))


class Controller(QObject):
    """Runs loading and forward passes in the background and writes the results into ``state``.

    Signals: ``image_failed(str)`` with the message of an image that could not be loaded (the state
    keeps its previous image).
    """

    image_failed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.loader = Worker("loader", threads=2, parent=self)
        self.model_lock = threading.Lock()
        self.compute = Worker("compute", threads=1, parent=self, hold=self.model_lock)
        self.dataset = Worker("dataset", threads=1, parent=self)
        self.workers = (self.loader, self.compute, self.dataset)
        self.activations = ActivationStore(state, self.compute, self)
        self._follow_top1 = True
        for worker in self.workers:
            worker.busy_changed.connect(self._update_busy)
        state.model_changed.connect(self._on_model_changed)
        state.image_changed.connect(self._on_image_changed)

    @property
    def busy(self) -> bool:
        """True while any background task is running or waiting."""
        return any(worker.busy for worker in self.workers)

    @property
    def settled(self) -> bool:
        """True when nothing is running and the model, image, predictions and layer table are shown."""
        state = self.state
        return (not self.busy and state.model is not None and state.image is not None
                and state.predictions is not None and state.layer_rows is not None)

    @property
    def follows_top_prediction(self) -> bool:
        """True while the target follows the top prediction (no class chosen since the model loaded)."""
        return self._follow_top1

    def load_model(self, spec: ModelSpec) -> Task:
        """Load ``spec`` in the background; on success it becomes the current model.

        The caller handles ``failed``/``cancelled`` (the current model stays). A newer load cancels
        an older one still running.
        """
        task = self.loader.submit(load_model, spec, key="model", with_progress=True)
        task.succeeded.connect(lambda model: self.state.set_model(model, spec))
        return task

    def set_model(self, model: LoadedModel, spec: ModelSpec) -> None:
        """Make an already loaded ``model`` current (e.g. one the command line loaded)."""
        self.loader.cancel("model")
        self.state.set_model(model, spec)

    def open_image(self, path: str | Path, quiet: bool = False) -> Task:
        """Load the image file ``path`` in the background.

        A failure is announced with ``image_failed`` unless ``quiet`` (the caller handles the task's
        ``failed`` signal itself).
        """
        return self._load_image(decode_file, path, quiet=quiet)

    def open_sample(self, sample: images.Sample) -> Task:
        """Load a bundled sample image in the background."""
        return self._load_image(decode_file, sample.path)

    def open_qimage(self, qimage: QImage, name: str = "pasted image") -> Task:
        """Use a QImage (from the clipboard or a drop) as the image."""
        return self._load_image(decode_qimage, QImage(qimage), name)

    def set_image(self, image: Image.Image, name: str, path: Path | None = None) -> None:
        """Make an already loaded ``image`` current."""
        self.loader.cancel("image")
        self.state.set_image(image, name, path, preview_of(image))

    def choose_target(self, index: int) -> None:
        """The user picked target class ``index``: keep it until the model changes."""
        self._follow_top1 = False
        self.state.set_target(index)

    def follow_top_prediction(self) -> None:
        """Let the target follow the top prediction again."""
        self._follow_top1 = True
        if self.state.predictions is not None:
            self.state.set_target(self.state.predictions.top[0][0])

    def set_device(self, device: str) -> Task | None:
        """Move the current model to ``device`` and run the forward pass again there."""
        model = self.state.model
        if model is None or device == self.state.device:
            self.state.set_device(device)
            return None
        task = self.compute.submit(model.to, device, key="device")
        task.succeeded.connect(lambda moved: self._device_moved(moved, device))
        task.failed.connect(lambda error: self.state.show_status(f"Could not use {device}: {error}"))
        return task

    def refresh_input(self) -> Task | None:
        """Recompute the network input and predictions for the current model and image."""
        model, image = self.state.model, self.state.image
        if model is None or image is None:
            return None
        task = self.compute.submit(run_input, model, image, key="input")
        task.succeeded.connect(lambda result: self._input_ready(model, image, result))
        task.failed.connect(lambda error: self.state.show_status(f"Forward pass failed: {error}"))
        return task

    def refresh_layer_table(self) -> Task | None:
        """Compute the layer table of the current model."""
        model = self.state.model
        if model is None:
            return None
        task = self.compute.submit(layers.layer_table, model, key="layers")
        task.succeeded.connect(lambda rows: self._rows_ready(model, rows))
        task.failed.connect(lambda error: self.state.show_status(f"Layer table failed: {error}"))
        return task

    def submit_dataset_job(self, function: Callable[..., object], model: LoadedModel, *args: object,
                           key: str, **kwargs: Any) -> Task:
        """Run ``function(copy, *args, **kwargs)`` on the dataset worker with a copy of ``model`` (see
        :func:`~cnnviz.gui.runtime.model_sharing.on_own_copy`) as the task of ``key``."""
        return self.dataset.submit(on_own_copy, self.model_lock, function, model, *args, key=key, **kwargs)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel all background work and wait at most ``timeout_ms`` in all for it; True if every
        job returned in time (one stuck in user code is left to its daemon thread)."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        for worker in self.workers:
            worker.shutdown(0)
        self.activations.reset()
        done = True
        for worker in self.workers:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            done = worker.wait(left_ms) and done
        return done

    def _load_image(self, decode: Callable[..., LoadedImage], *args: object, quiet: bool = False) -> Task:
        task = self.loader.submit(decode, *args, key="image")
        task.succeeded.connect(self._image_loaded)
        if not quiet:
            task.failed.connect(lambda error: self.image_failed.emit(str(error)))
        return task

    def _image_loaded(self, loaded: LoadedImage) -> None:
        self.state.set_image(loaded.image, loaded.name, loaded.path, loaded.preview)

    def _on_model_changed(self, model: LoadedModel) -> None:
        self._follow_top1 = True
        self.refresh_input()
        self.refresh_layer_table()

    def _on_image_changed(self, _image: Image.Image) -> None:
        self.refresh_input()

    def _input_ready(self, model: LoadedModel, image: Image.Image, result: InputResult) -> None:
        if model is not self.state.model or image is not self.state.image:
            return
        self.state.set_input(result.tensor, result.seen)
        self.state.set_predictions(result.predictions)
        if not np.isfinite(result.predictions.probabilities).all():
            self.state.show_status(NON_FINITE_WARNING)
        if self._follow_top1 or self.state.target < 0:
            self.state.set_target(result.predictions.top[0][0])

    def _rows_ready(self, model: LoadedModel, rows: list[layers.LayerRow]) -> None:
        if model is self.state.model:
            self.state.set_layer_rows(rows)

    def _device_moved(self, model: LoadedModel, device: str) -> None:
        if model is self.state.model:
            self.state.set_device(device)
            self.refresh_input()

    def _update_busy(self) -> None:
        self.state.set_busy(self.busy)
