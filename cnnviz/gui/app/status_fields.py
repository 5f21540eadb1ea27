"""The window's status bar fields: model, device, input size, time of the last forward pass and a busy indicator,
kept up to date from the app state's signals."""

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFrame, QLabel, QMainWindow, QProgressBar

from cnnviz.gui.runtime.app_state import AppState, Predictions
from cnnviz.gui.widgets.labels import input_description, model_label

UNTRAINED_STYLE = "QLabel { color: #c62828; font-weight: bold; }"
"""How the model field shows a model without trained weights."""


def _busy_indicator() -> QProgressBar:
    """A small endless progress bar, hidden until work runs."""
    busy = QProgressBar()
    busy.setRange(0, 0)
    busy.setMaximumWidth(90)
    busy.setMaximumHeight(14)
    busy.setTextVisible(False)
    busy.setToolTip("Working…")
    busy.hide()
    return busy


def _separator() -> QFrame:
    """A sunken vertical line between two fields."""
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


class StatusFields(QObject):
    """The permanent fields of ``window``'s status bar, separated by sunken lines: ``model`` (its name; red and
    bold without trained weights), ``device``, ``input`` (size and colours the model takes), ``forward`` (time of
    the last forward pass) and ``busy`` (an indicator shown while ``state`` is busy)."""

    def __init__(self, window: QMainWindow, state: AppState) -> None:
        super().__init__(window)
        self.state = state
        self.model, self.device, self.input, self.forward = QLabel(), QLabel(), QLabel(), QLabel()
        self.busy = _busy_indicator()
        bar = window.statusBar()
        for index, widget in enumerate((self.model, self.device, self.input, self.forward)):
            if index:
                bar.addPermanentWidget(_separator())
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.busy)
        for signal in (state.model_changed, state.image_changed, state.input_changed, state.device_changed):
            signal.connect(self.refresh)
        state.predictions_changed.connect(self.show_forward)
        state.busy_changed.connect(self.busy.setVisible)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Show the state's model, device and input size (and "forward …" until a forward pass is timed)."""
        model = self.state.model
        self.model.setText(model_label(model))
        self.model.setStyleSheet("" if model is None or model.pretrained else UNTRAINED_STYLE)
        self.device.setText(f"device: {self.state.device}")
        self.input.setText(f"input {input_description(model)}" if model is not None else "")
        if self.state.predictions is None:
            self.forward.setText("forward …" if model is not None else "")

    def show_forward(self, predictions: Predictions) -> None:
        """Show how long the forward pass that gave ``predictions`` took (milliseconds)."""
        self.forward.setText(f"forward {predictions.forward_ms:.1f} ms")
