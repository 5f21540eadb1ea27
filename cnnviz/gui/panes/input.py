"""The Input tab: the original image and the network's exact input, large, side by side (the Image
dock shows only a thumbnail); the whole tab is its figure (double-click or F11 shows it alone)."""

from PySide6.QtWidgets import QHBoxLayout, QWidget

from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.widgets.figure_area import mark_figure
from cnnviz.gui.widgets.image_view import CaptionedImage
from cnnviz.gui.widgets.labels import image_description, input_description


class InputPane(QWidget):
    """Original image (left) and what the network sees after preprocessing (right)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state
        self.original = CaptionedImage("Original image")
        self.seen = CaptionedImage("What the network sees")
        layout = QHBoxLayout(self)
        layout.addWidget(self.original, 1)
        layout.addWidget(self.seen, 1)
        mark_figure(self)
        self.state.image_changed.connect(self._show_original)
        self.state.input_changed.connect(self._show_seen)
        self.state.model_changed.connect(self._show_seen)
        self._show_original()
        self._show_seen()

    def _show_original(self, *_args: object) -> None:
        image = self.state.image
        detail = f"{self.state.image_name} — {image_description(image)}" if image is not None else ""
        self.original.show_image(self.state.image_preview if image is not None else None, detail)

    def _show_seen(self, *_args: object) -> None:
        model, seen = self.state.model, self.state.seen_image
        if model is None or seen is None:
            self.seen.show_image(None, "")
            return
        height, width = model.input_size
        how = ("resized so the shorter side is "
               f"{model.resize_size} px, centre {width}×{height} cropped, normalised")
        self.seen.show_image(seen, f"{input_description(model)} — {how}")
