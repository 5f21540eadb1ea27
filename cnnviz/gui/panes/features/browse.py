"""The images behind the Feature space maps: the hovered point's thumbnail and name in the side panel, the
clicked point's image made current, a selection shown as a thumbnail grid, and which dataset image the
current image is (the retrieval query). Images are decoded on the loader worker."""

from collections.abc import Callable
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap

from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.per_dataset import feature_tables
from cnnviz.gui.panes.features.side import SidePanel
from cnnviz.gui.panes.parts.job_runner import JobRunner
from cnnviz.gui.widgets.thumbnails import ThumbnailCache, Tile, thumbnail, thumbnails

MAX_SELECTION = 200
"""Most thumbnails the selection grid shows."""


class PointBrowser(QObject):
    """Hover, click and selection on the maps ``map_of(slot)`` (None: no map in that place) of the shared
    dataset, shown in ``side``; ``thumbs`` caches the hovered thumbnails. Uses the pane's ``jobs``."""

    def __init__(self, jobs: JobRunner, side: SidePanel, map_of: Callable[[int], FeatureSpaceResult | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.side, self.map_of = jobs, side, map_of
        self.state, self.controller = jobs.state, jobs.controller
        self.thumbs = ThumbnailCache()
        self._picked: tuple[object, int] | None = None
        self._hovered: int | None = None

    def set_dataset(self, ds: ImageDataset | None) -> None:
        """Serve ``ds`` (a new dataset: the thumbnails and the picked image are forgotten)."""
        self.thumbs.set_dataset(ds)
        self._picked = self._hovered = None

    def hover(self, slot: int, row: int) -> None:
        """Show the image of point ``row`` of map ``slot`` (-1: none)."""
        result = self.map_of(slot)
        if result is None or not 0 <= row < len(result.features.images):
            return
        f = result.features
        image = int(f.images[row])
        label = feature_tables.label_name(f, row) or "no label"
        self._hovered = image
        pixmap = self.thumbs.get(image)
        self.side.show_hover(pixmap or QPixmap(), f"<b>{escape(f.paths[row])}</b><br>{escape(label)}")
        ds = self.state.dataset
        if pixmap is None and ds is not None:
            task = self.controller.loader.submit(thumbnail, ds, image, key=f"{self.jobs.key}:hover")
            task.succeeded.connect(lambda picture: self._thumbnail_ready(ds, image, picture))

    def _thumbnail_ready(self, ds: ImageDataset, image: int, picture: Image.Image | None) -> None:
        if ds is self.state.dataset:
            pixmap = self.thumbs.add(image, picture)
            if image == self._hovered:
                self.side.thumbnail.setPixmap(pixmap)

    def pick(self, slot: int, row: int) -> None:
        """Make the image of point ``row`` of map ``slot`` the current image."""
        result = self.map_of(slot)
        if result is not None and 0 <= row < len(result.features.images):
            self.open_image(int(result.features.images[row]))

    def open_image(self, image: int) -> None:
        """Make dataset image ``image`` the current image."""
        ds = self.state.dataset
        if ds is not None:
            self.jobs.submit("pick", "Opening the image…", ds.image, image, worker=self.controller.loader,
                             done=lambda picture: self._picked_image(ds, image, picture))

    def _picked_image(self, ds: ImageDataset, image: int, picture: Image.Image) -> None:
        if ds is not self.state.dataset:
            return
        self._picked = (picture, image)
        path = ds.path(image) if ds.kind == "folder" else None
        self.controller.set_image(picture, Path(ds.files[image]).name, path)

    def select(self, slot: int, rows: np.ndarray) -> None:
        """Show the images of ``rows`` of map ``slot`` as a thumbnail grid."""
        result, ds = self.map_of(slot), self.state.dataset
        if result is None or ds is None:
            return
        f, shown = result.features, np.asarray(rows)[:MAX_SELECTION]
        images = [int(i) for i in f.images[shown]]
        names = [(f.paths[r], feature_tables.label_name(f, int(r))) for r in shown]
        more = f" (the first {MAX_SELECTION} shown)" if len(rows) > MAX_SELECTION else ""
        self.side.clear_selection(f"{len(rows)} images selected{more}.")
        self.side.tabs.setCurrentIndex(1)
        self.jobs.submit("select", "Loading thumbnails…", thumbnails, ds, images, worker=self.controller.loader,
                         done=lambda pictures: self.side.selection.show_tiles(
                             [Tile(i, p, Path(n).name, f"{n} · {c}") for i, p, (n, c) in zip(images, pictures, names)]))

    def query_image(self) -> int | None:
        """The dataset index of the current image, None when it is not one of the dataset's images."""
        ds, image = self.state.dataset, self.state.image
        if ds is None or image is None:
            return None
        if self._picked is not None and self._picked[0] is image:
            return self._picked[1]
        if ds.kind == "folder" and self.state.image_path is not None:
            try:
                relative = Path(self.state.image_path).resolve().relative_to(ds.root).as_posix()
            except ValueError:
                return None
            return ds.files.index(relative) if relative in ds.files else None
        return None
