"""A light image display: a pyqtgraph ImageItem in a fixed, aspect-locked view, with a caption.

Pixels are drawn without smoothing, so a 28×28 input scaled up shows its real pixels.
"""

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from cnnviz.core.data.images import to_channels
from cnnviz.gui.widgets.layouts import stack, wrapped_label

BACKGROUND = "#3c3f41"
"""Colour around the image, so that black or white image borders stay visible."""

_DIRECT_MODES = {"L", "RGB", "RGBA"}


def image_array(image: Image.Image) -> np.ndarray:
    """8-bit pixels of ``image`` as [H, W] (grey), [H, W, 3] (RGB) or [H, W, 4] (RGBA)."""
    if image.mode not in _DIRECT_MODES:
        grey = image.mode in ("1", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "LA", "La")
        image = to_channels(image, 1 if grey else 3)
    return np.asarray(image)


class ImageCanvas(pg.GraphicsView):
    """Shows one image scaled to fit, centred, aspect kept; no mouse interaction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self._box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                               defaultPadding=0.0)
        self.setCentralItem(self._box)
        self._item = pg.ImageItem(axisOrder="row-major")
        self._box.addItem(self._item)
        self._shape: tuple[int, ...] | None = None
        self.setMinimumSize(64, 64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_array(self, pixels: np.ndarray, levels: tuple[float, float] = (0, 255)) -> None:
        """Show ``pixels`` ([H, W] with a grey ramp over ``levels``, or [H, W, 3|4] colour)."""
        self._item.setImage(pixels, autoLevels=False, levels=levels)
        if pixels.shape[:2] != (self._shape or ())[:2]:
            self._box.autoRange(padding=0.0)
        self._shape = pixels.shape

    def set_image(self, image: Image.Image | None) -> None:
        """Show a PIL image (any mode), or nothing for None."""
        if image is None:
            self.clear_image()
        else:
            self.set_array(image_array(image))

    def clear_image(self) -> None:
        """Show nothing."""
        self._item.clear()
        self._shape = None

    def has_image(self) -> bool:
        """True while an image is shown."""
        return self._shape is not None


class CaptionedImage(QWidget):
    """An :class:`ImageCanvas` with a title above and a detail line below."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(f"<b>{title}</b>")
        self.canvas = ImageCanvas()
        self.detail = wrapped_label(selectable=True)
        stack(self, self.title, self.canvas, self.detail, spacing=2)

    def show_image(self, image: Image.Image | None, detail: str = "") -> None:
        """Show ``image`` with ``detail`` under it."""
        self.canvas.set_image(image)
        self.detail.setText(detail)
