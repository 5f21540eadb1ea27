"""PIL images as Qt pixmaps."""

from PIL import Image
from PySide6.QtGui import QImage, QPixmap


def pixmap_of(picture: Image.Image | None) -> QPixmap:
    """An RGB PIL image as a QPixmap (an empty one for None)."""
    if picture is None:
        return QPixmap()
    rgb = picture.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())
