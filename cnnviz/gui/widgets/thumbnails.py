"""Thumbnails of dataset images: decoding and shrinking (for a worker), a small cache of the hovered
ones, and a grid of captioned thumbnails (a selection of a map, the nearest images of a query, the images of a
confusion matrix cell).
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.data.images import ImageLoadError
from cnnviz.gui.widgets.pixmaps import pixmap_of

SIDE = 64
"""Longest side of a thumbnail, in pixels."""
CACHED = 64
"""Thumbnails the hover cache keeps (least recently used dropped first)."""


def thumbnail(dataset: ImageDataset, image: int, side: int = SIDE) -> Image.Image | None:
    """Image ``image`` of ``dataset`` as RGB, scaled so that its longest side is ``side`` (small images
    are enlarged without smoothing); None when it cannot be decoded."""
    try:
        picture = dataset.image(image)
    except (ImageLoadError, OSError, ValueError):
        return None
    return fit(picture, side)


def fit(picture: Image.Image, side: int = SIDE) -> Image.Image:
    """``picture`` as RGB, scaled so that its longest side is ``side`` pixels (small images enlarged without
    smoothing)."""
    picture = picture.convert("RGB")
    scale = side / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    method = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BILINEAR
    return picture.resize(size, method)


def thumbnails(dataset: ImageDataset, images: Sequence[int], side: int = SIDE) -> list[Image.Image | None]:
    """:func:`thumbnail` of each of ``images`` (for a worker thread)."""
    return [thumbnail(dataset, int(i), side) for i in images]


class ThumbnailCache:
    """The last :data:`CACHED` hover thumbnails of one dataset (decoded by the caller, on a worker)."""

    def __init__(self) -> None:
        self.dataset: ImageDataset | None = None
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()

    def set_dataset(self, dataset: ImageDataset | None) -> None:
        """Serve ``dataset`` (forgets the thumbnails of the previous one)."""
        if dataset is not self.dataset:
            self.dataset = dataset
            self._pixmaps.clear()

    def get(self, image: int) -> QPixmap | None:
        """The thumbnail of ``image`` if cached (an empty pixmap: not decodable), else None."""
        pixmap = self._pixmaps.get(image)
        if pixmap is not None:
            self._pixmaps.move_to_end(image)
        return pixmap

    def add(self, image: int, picture: Image.Image | None) -> QPixmap:
        """Cache the thumbnail ``picture`` of ``image`` (None: not decodable); returns it as a pixmap."""
        pixmap = pixmap_of(picture)
        self._pixmaps[image] = pixmap
        while len(self._pixmaps) > CACHED:
            self._pixmaps.popitem(last=False)
        return pixmap

    def __len__(self) -> int:
        return len(self._pixmaps)


@dataclass(frozen=True)
class Tile:
    """One thumbnail of a grid: dataset ``image``, its ``picture`` (None: not decodable), a ``caption``
    under it and a ``tip``."""

    image: int
    picture: Image.Image | None
    caption: str
    tip: str = ""


class ThumbGrid(QListWidget):
    """Captioned thumbnails in rows; clicking one emits ``image_clicked(dataset index)``."""

    image_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(SIDE, SIDE))
        self.setGridSize(QSize(SIDE + 14, SIDE + 30))
        self.setWordWrap(True)
        self.setUniformItemSizes(True)
        self.itemClicked.connect(lambda item: self.image_clicked.emit(int(item.data(Qt.ItemDataRole.UserRole))))

    def show_tiles(self, tiles: Sequence[Tile]) -> None:
        """Show ``tiles`` in order (replacing what was shown)."""
        self.clear()
        for tile in tiles:
            item = QListWidgetItem(QIcon(pixmap_of(tile.picture)), tile.caption)
            item.setData(Qt.ItemDataRole.UserRole, tile.image)
            item.setToolTip(tile.tip or tile.caption)
            self.addItem(item)

    def images(self) -> list[int]:
        """The dataset indices shown, in order."""
        return [int(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]

    def captions(self) -> list[str]:
        """The captions shown, in order."""
        return [self.item(i).text() for i in range(self.count())]
