"""The Image pane (a dock): open, paste or pick a sample image, with a thumbnail of the image opened
and a line on what the network gets; the Input tab shows the original and the network input large."""

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.data import images
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.worker import Task
from cnnviz.gui.widgets.image_view import CaptionedImage
from cnnviz.gui.widgets.labels import image_description, input_description

THUMBNAIL_HEIGHT = 120
"""Height of the Image dock's thumbnail, in pixels (the Input tab shows the images large)."""
IMAGE_FILE_FILTER = ("Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm *.pgm);;"
                     "All files (*)")


def available_samples() -> list[images.Sample]:
    """The bundled samples, or none when their list is missing or unreadable."""
    try:
        return images.samples()
    except (OSError, ValueError, KeyError):
        return []


def ask_image_file(controller: Controller, parent: QWidget) -> Task | None:
    """Ask for an image file and start loading it; None if no file was chosen."""
    path, _filter = QFileDialog.getOpenFileName(parent, "Open image", "", IMAGE_FILE_FILTER)
    return controller.open_image(path) if path else None


def open_mime_data(controller: Controller, mime: QMimeData | None, name: str) -> Task | None:
    """Load the image a clipboard or drop holds: image data, a local file, or a file path as text."""
    if mime is None:
        return None
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile():
            return controller.open_image(url.toLocalFile())
    if mime.hasImage():
        image = mime.imageData()
        if image is not None and not image.isNull():
            return controller.open_qimage(image, name)
    path = named_file(mime.text()) if mime.hasText() else None
    return controller.open_image(path) if path is not None else None


def named_file(text: str) -> Path | None:
    """The existing regular file that one line of pasted or dropped text names, or None."""
    text = text.strip()
    if not text or "\n" in text:
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, RuntimeError):  # a name too long for the file system, an unknown home folder
        return None


def paste_image(controller: Controller) -> Task | None:
    """Load the image on the clipboard; None (with a status message) if it holds none."""
    task = open_mime_data(controller, QGuiApplication.clipboard().mimeData(), "pasted image")
    if task is None:
        controller.state.show_status("The clipboard holds no image.")
    return task


class ImagePane(QWidget):
    """Image choice (file, clipboard, samples), a thumbnail of the image and what the network gets
    (``input_label``; its link brings the Input tab to the front)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = context.state
        self.controller = context.controller

        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an image file (Ctrl+O); you can also drop one on the window")
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Use the image on the clipboard (Ctrl+V)")
        self.samples = QComboBox()
        self.samples.addItem("Samples…", None)
        for sample in available_samples():
            self.samples.addItem(sample.title, sample)
        self.samples.setToolTip("Bundled sample images")
        self.samples.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.samples.setMinimumContentsLength(12)
        self.name_label = QLabel()
        self.name_label.setWordWrap(True)
        self.thumbnail = CaptionedImage("Image")
        self.thumbnail.canvas.setFixedHeight(THUMBNAIL_HEIGHT)
        self.input_label = QLabel()
        self.input_label.setWordWrap(True)
        self.input_label.setTextFormat(Qt.TextFormat.RichText)
        self.input_label.setToolTip("The original and the network input, large, are in the Input tab")

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.paste_button)
        buttons.addWidget(self.samples, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.name_label)
        layout.addWidget(self.thumbnail)
        layout.addWidget(self.input_label)
        layout.addStretch(1)

        self.open_button.clicked.connect(lambda: ask_image_file(self.controller, self))
        self.paste_button.clicked.connect(lambda: paste_image(self.controller))
        self.samples.activated.connect(self._sample_chosen)
        self.input_label.linkActivated.connect(lambda _link: self.state.request_pane("input"))
        self.state.image_changed.connect(self._show_image)
        self.state.input_changed.connect(self._show_input)
        self.state.model_changed.connect(self._show_input)
        self._show_image()
        self._show_input()

    def choose_sample(self, title: str) -> Task | None:
        """Select the sample titled ``title`` in the combo and load it."""
        index = self.samples.findText(title)
        if index < 1:
            return None
        self.samples.setCurrentIndex(index)
        return self._sample_chosen(index)

    def _sample_chosen(self, index: int) -> Task | None:
        sample = self.samples.itemData(index)
        return self.controller.open_sample(sample) if sample is not None else None

    def _show_image(self, *_args: object) -> None:
        image = self.state.image
        if image is None:
            self.name_label.setText("<i>No image</i>")
            self.thumbnail.show_image(None)
            return
        self.name_label.setText(self.state.image_name)
        self.name_label.setToolTip(str(self.state.image_path or ""))
        self.thumbnail.show_image(self.state.image_preview, image_description(image))
        matching = [i for i in range(1, self.samples.count())
                    if self.samples.itemData(i).path == self.state.image_path]
        self.samples.setCurrentIndex(matching[0] if matching else 0)

    def _show_input(self, *_args: object) -> None:
        model = self.state.model
        if model is None or self.state.seen_image is None:
            self.input_label.setText("")
            return
        self.input_label.setText(f"Network input: {input_description(model)} · "
                                 "<a href='input'>see the Input tab</a>")
