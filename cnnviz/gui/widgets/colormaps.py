"""The colormaps the panes offer for maps and weights, and a picker for them.

Sequential maps (grey, viridis, inferno, magma) suit activations, which are mostly non-negative;
the diverging map (blue–white–red) suits signed values such as weights, with white at the centre.
"""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QWidget

COLORMAPS: dict[str, str] = {
    "grey": "Grey",
    "viridis": "Viridis",
    "inferno": "Inferno",
    "magma": "Magma",
    "diverging": "Diverging (blue–white–red)",
}
"""Colormap key -> title shown in pickers."""

DIVERGING = "diverging"
_PYQTGRAPH_NAMES = {"viridis": "viridis", "inferno": "inferno", "magma": "magma", "diverging": "CET-D1A"}
_ICON_SIZE = QSize(48, 12)


def colormap(name: str) -> pg.ColorMap:
    """The pyqtgraph colormap for key ``name`` (one of :data:`COLORMAPS`); raises KeyError otherwise."""
    if name == "grey":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)], name="grey")
    return pg.colormap.get(_PYQTGRAPH_NAMES[name])


def lookup_table(name: str) -> np.ndarray:
    """The 256-entry RGB lookup table [256, 3] (uint8) of colormap ``name``."""
    return colormap(name).getLookupTable(nPts=256, alpha=False)


def ramp_icon(name: str) -> QIcon:
    """A small horizontal colour ramp of colormap ``name``, for menus and pickers."""
    table = lookup_table(name)
    columns = np.linspace(0, 255, _ICON_SIZE.width()).astype(int)
    pixels = np.ascontiguousarray(np.repeat(table[columns][None], _ICON_SIZE.height(), axis=0))
    image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                   QImage.Format.Format_RGB888)
    return QIcon(QPixmap.fromImage(image.copy()))


class ColormapPicker(QComboBox):
    """A combo box of the :data:`COLORMAPS`, each with its ramp; emits ``colormap_changed(key)``."""

    colormap_changed = Signal(str)

    def __init__(self, default: str = "viridis", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(_ICON_SIZE)
        for key, title in COLORMAPS.items():
            self.addItem(ramp_icon(key), title.split(" (")[0], key)
            self.setItemData(self.count() - 1, title, Qt.ItemDataRole.ToolTipRole)
        self.setToolTip("Colormap")
        self.set_name(default)
        self.currentIndexChanged.connect(self._index_changed)

    def name(self) -> str:
        """Key of the chosen colormap."""
        return str(self.currentData())

    def _index_changed(self, _index: int) -> None:
        self.colormap_changed.emit(self.name())

    def set_name(self, name: str) -> None:
        """Choose colormap ``name`` (emits ``colormap_changed`` if it changes)."""
        index = self.findData(name)
        if index < 0:
            raise KeyError(f"no colormap called {name!r}; choose one of {', '.join(COLORMAPS)}")
        self.setCurrentIndex(index)
