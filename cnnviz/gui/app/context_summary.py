"""The model, the image and the target in a compact form, above the tool list.

:class:`ContextSummary` keeps what every tool depends on in view in about 200 pixels of width: the model's
name (red when its weights are random), a thumbnail of the image with its name, and the target class with
its probability (searchable; *Top-1* lets it follow the top prediction). Its buttons open the image and
bring the full Model, Image and Predictions docks forward.
"""

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget
from superqt import QElidingLabel

from cnnviz.core.model.models import LoadedModel
from cnnviz.gui.panes.image import ask_image_file
from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.widgets.class_search import ClassSearch
from cnnviz.gui.widgets.labels import UNTRAINED, percent
from cnnviz.gui.widgets.pixmaps import pixmap_of

THUMB_SIZE = (184, 104)
"""Largest size of the image thumbnail, in pixels (width, height)."""


def _link_button(text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.clicked.connect(lambda: slot())
    return button


class ContextSummary(QWidget):
    """``model_label`` (bold; ``untrained_label`` below it for random weights), ``thumbnail``, ``image_label``,
    ``target`` (a :class:`ClassSearch`), ``probability`` and the buttons ``open_button``, ``follow_button`` and
    one per dock in ``dock_buttons`` (model, image, predictions); ``show_dock(key)`` brings a dock forward."""

    def __init__(self, state: AppState, controller: Controller, show_dock: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("context_summary")
        self.state, self.controller = state, controller
        self.model_label = QElidingLabel()
        bold = self.model_label.font()
        bold.setBold(True)
        self.model_label.setFont(bold)
        self.untrained_label = QLabel(f"<b style='color:#c62828'>{UNTRAINED}</b>")
        self.untrained_label.setWordWrap(True)
        self.thumbnail = QLabel()
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setFixedHeight(THUMB_SIZE[1])
        self.thumbnail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.image_label = QElidingLabel()
        self.target = ClassSearch(placeholder="Target class…")
        self.target.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.probability = QLabel()
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Open an image file (Ctrl+O); you can also drop one on the window")
        self.follow_button = QPushButton("Top-1")
        self.follow_button.setToolTip("Let the target follow the top prediction")
        self.dock_buttons = {
            "model": _link_button("Model…", "Choose or load a model (the Model dock)", lambda: show_dock("model")),
            "image": _link_button("Image…", "Samples, paste, and what the network gets (the Image dock)",
                                  lambda: show_dock("image")),
            "predictions": _link_button("Top 5…", "The top-5 classes with their probabilities (the Predictions "
                                                  "dock)", lambda: show_dock("predictions")),
        }
        self._arrange()
        self._connect()
        self._show_model(state.model)
        self._show_image()

    def _arrange(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.model_label, 0, 0)
        grid.addWidget(self.dock_buttons["model"], 0, 1)
        grid.addWidget(self.untrained_label, 1, 0, 1, 2)
        grid.addWidget(self.thumbnail, 2, 0, 1, 2)
        grid.addWidget(self.image_label, 3, 0)
        grid.addWidget(self.dock_buttons["image"], 3, 1)
        grid.addWidget(self.open_button, 4, 0, 1, 2)
        grid.addWidget(self.target, 5, 0, 1, 2)
        grid.addWidget(self.probability, 6, 0)
        grid.addWidget(self.dock_buttons["predictions"], 6, 1)
        grid.addWidget(self.follow_button, 7, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setVerticalSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addLayout(grid)

    def _connect(self) -> None:
        self.open_button.clicked.connect(lambda: ask_image_file(self.controller, self))
        self.follow_button.clicked.connect(self.controller.follow_top_prediction)
        self.target.chosen.connect(self.controller.choose_target)
        self.state.model_changed.connect(self._show_model)
        self.state.image_changed.connect(self._show_image)
        self.state.predictions_changed.connect(self._show_target)
        self.state.target_changed.connect(self._show_target)

    def _show_model(self, model: LoadedModel | None) -> None:
        self.model_label.setText(model.name if model is not None else "No model loaded")
        self.untrained_label.setVisible(model is not None and not model.pretrained)
        self.model_label.setToolTip(str(model.path or model.name) if model is not None else "")
        self._show_target()

    def _show_image(self, *_args: object) -> None:
        preview = self.state.image_preview
        self.image_label.setText(self.state.image_name if preview is not None else "No image")
        self.image_label.setToolTip(str(self.state.image_path or ""))
        pixmap = pixmap_of(preview)
        if not pixmap.isNull():
            pixmap = pixmap.scaled(*THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self.thumbnail.setPixmap(pixmap)

    def _show_target(self, *_args: object) -> None:
        model, predictions, target = self.state.model, self.state.predictions, self.state.target
        self.target.fill(model, len(predictions.probabilities) if predictions is not None else 0)
        if model is None or predictions is None or target < 0:
            self.probability.setText("")
            return
        self.target.show_class(target)
        self.probability.setText(f"p = {percent(predictions.probability(target))}")
        self.probability.setToolTip(f"class {target}: {model.class_name(target)}")
