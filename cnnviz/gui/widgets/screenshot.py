"""Saving a widget (the whole window or one pane) as a PNG, at the screen's device-pixel ratio.

Works without a visible screen (``QT_QPA_PLATFORM=offscreen``); used by the Export menu and by
``cnnviz --screenshot``.
"""

from pathlib import Path

from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QWidget


def grab(widget: QWidget) -> QPixmap:
    """Render ``widget`` with its children into a pixmap of its size times its device-pixel ratio.

    Pending events are processed first so that the latest state is painted.
    """
    QApplication.processEvents()
    widget.ensurePolished()
    return widget.grab()


def save_png(widget: QWidget, path: str | Path) -> Path:
    """Save ``widget`` as a PNG file at ``path`` (folders are created); returns the path.

    Raises OSError if the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixmap = grab(widget)
    if pixmap.isNull() or not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write the screenshot {path}")
    return path
