"""A QImage's pixels as a numpy array, for tests that compare rendered figures pixel by pixel."""

import numpy as np
from PySide6.QtGui import QImage


def qimage_pixels(image: QImage) -> np.ndarray:
    """``image`` as an [H, W, 3] uint8 RGB array (a copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return rows[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()
