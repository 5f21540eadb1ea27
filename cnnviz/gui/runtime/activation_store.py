"""Layer outputs of the current model on the current input: captured in the background, cached.

One :class:`ActivationStore` (``controller.activations``) serves every pane. ``request(layer,
requester)`` returns the cached :class:`LayerOutput` at once, or starts a capture on the controller's
compute worker (one forward pass with one hook, ended right after the layer when the layer runs once
per pass) and emits ``captured(output)`` when it is ready. The cache holds the layers requested last
for the current (model, input) pair, at most :data:`MAX_LAYERS` and :data:`MAX_BYTES`; a new model,
image or input empties it and drops the captures still running. When a requester asks for another
layer, its previous capture is cancelled unless another requester still waits for it.
"""

from collections import OrderedDict
from dataclasses import dataclass

import torch
from PySide6.QtCore import QObject, Signal

from cnnviz.core.model import layers
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import activations
from cnnviz.core.per_image.activations import ChannelStats
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.worker import Worker

MAX_LAYERS = 8
MAX_BYTES = 512 * 2**20
"""Cache limits: layers and bytes of layer outputs kept for the current input (the newest output is
kept even when it alone is larger, so that the pane that asked for it can show it)."""


@dataclass(frozen=True)
class LayerOutput:
    """Output of ``layer`` of ``model`` for ``input`` [1, C, H, W]: ``values`` for that one image
    ([C, H, W] or [C], float32, CPU) and their per-channel ``stats``."""

    model: LoadedModel
    input: torch.Tensor
    layer: str
    values: torch.Tensor
    stats: ChannelStats


def capture_layer(model: LoadedModel, x: torch.Tensor, layer: str) -> LayerOutput:
    """Capture ``layer`` for input ``x`` (the last call's output where a pass calls it several times)."""
    traced = layers.trace(model).get(layer)
    once = traced is not None and traced.calls <= 1
    values = layers.capture(model, x, layers=[layer], stop_early=once)[layer][0].detach().float().cpu()
    return LayerOutput(model, x, layer, values, activations.channel_stats(values))


class ActivationStore(QObject):
    """See the module docstring. Signals: ``captured(LayerOutput)`` for the current model and input,
    ``failed(layer, message)`` when a capture raised."""

    captured = Signal(object)
    failed = Signal(str, str)

    def __init__(self, state: AppState, worker: Worker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.worker = worker
        self._cache: OrderedDict[str, LayerOutput] = OrderedDict()
        self._running: dict[str, int] = {}
        self._wanted: dict[str, str] = {}
        for signal in (state.model_changed, state.image_changed, state.input_changed):
            signal.connect(self.reset)

    def get(self, layer: str) -> LayerOutput | None:
        """The cached output of ``layer`` for the current model and input, or None."""
        output = self._cache.get(layer)
        if output is not None:
            self._cache.move_to_end(layer)
        return output

    def is_running(self, layer: str) -> bool:
        """True while a capture of ``layer`` is under way."""
        return layer in self._running

    def request(self, layer: str, requester: str) -> LayerOutput | None:
        """The output of ``layer`` if cached; else start capturing it (unless already under way) and
        return None. ``requester`` names the asking pane; its previous request is dropped."""
        previous = self._wanted.get(requester)
        self._wanted[requester] = layer
        if previous is not None and previous != layer and previous not in self._wanted.values():
            self._cancel(previous)
        cached = self.get(layer)
        model, x = self.state.model, self.state.input_tensor
        if cached is not None or model is None or x is None or layer in self._running:
            return cached
        task = self.worker.submit(capture_layer, model, x, layer, key=f"capture:{layer}")
        self._running[layer] = task.ident
        ident = task.ident
        task.succeeded.connect(self._store)
        task.failed.connect(lambda error: self._failed(layer, ident, error))
        task.finished.connect(lambda: self._finished(layer, ident))
        return None

    def reset(self, *_args: object) -> None:
        """Forget every cached output and cancel every capture under way."""
        self._cache.clear()
        for layer in list(self._running):
            self._cancel(layer)

    def _cancel(self, layer: str) -> None:
        if self._running.pop(layer, None) is not None:
            self.worker.cancel(f"capture:{layer}")

    def _store(self, output: LayerOutput) -> None:
        if output.model is not self.state.model or output.input is not self.state.input_tensor:
            return
        self._cache[output.layer] = output
        self._cache.move_to_end(output.layer)
        while len(self._cache) > MAX_LAYERS or (len(self._cache) > 1 and self.cached_bytes > MAX_BYTES):
            self._cache.popitem(last=False)
        self.captured.emit(output)

    @property
    def cached_bytes(self) -> int:
        """Bytes of the layer outputs in the cache."""
        return sum(o.values.numel() * o.values.element_size() for o in self._cache.values())

    def _failed(self, layer: str, ident: int, error: Exception) -> None:
        if self._running.get(layer) == ident:
            self.failed.emit(layer, str(error))

    def _finished(self, layer: str, ident: int) -> None:
        if self._running.get(layer) == ident:
            del self._running[layer]
