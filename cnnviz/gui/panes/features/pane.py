"""The Feature space pane: a dataset's images as a 2-D map of one layer's features (t-SNE, PCA or
UMAP), coloured by class, and image retrieval with those features.

Choose the dataset (shared with the other dataset tools), the layer (its feature size is shown), the
pooling and the method; Compute runs :func:`~cnnviz.gui.panes.features.job.map_job` on the compute
worker (features, cached in the data folder, then the map, whose partial t-SNE maps are shown as they
come, then the retrieval scores). Hover a point to see its image, click it to make it the current
image, drag with Shift to select images. "Keep for comparison" keeps the map shown on the left of the
next one. The current image (also one from outside the dataset) is the retrieval query; "Compare
poolings" scores the layer's average, max, GeM and flatten features. A new model or dataset clears the maps.
"""

from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QWidget

from cnnviz.analyses import feature_space
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.feature_space import FeatureSpaceResult, Settings
from cnnviz.analyses.settings import from_json
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.files.caption import Caption
from cnnviz.core.per_dataset import feature_tables
from cnnviz.core.per_dataset.embedding import Embedding
from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import PoolingScore
from cnnviz.core.progress import Step
from cnnviz.gui.panes.features import exports, job
from cnnviz.gui.panes.features.controls import METHOD_TITLES, SettingsRow, caption, size_text
from cnnviz.gui.panes.features.legend import ClassLegend
from cnnviz.gui.panes.features.scatter import SELECT_MODES, MapView
from cnnviz.gui.panes.features.side import SIDE_WIDTH, SidePanel
from cnnviz.gui.panes.features.thumbs import ThumbnailCache, Tile, thumbnail, thumbnails
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.widgets.dataset_source import SourceRow
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices

IDLE_TEXT = "Choose a dataset, a layer and a method, then Compute (Ctrl+R)"
CACHE_FOLDER = "features"
"""Folder of the cached features under :func:`~cnnviz.gui.runtime.settings_store.data_folder`."""
MAX_SELECTION = 200
"""Most thumbnails the selection grid shows."""


class FeaturesPane(RunPane):
    """See the module docstring. ``maps``: [kept map or None, current map or None]; ``query``: the shown
    retrieval; ``comparison``: the pooling scores shown; ``cache_folder``: where features are cached
    (None: not cached); ``iterations``: t-SNE's (early exaggeration, normal) iterations; ``partial_map``:
    the request, features and partial map [N, 2] shown in the current map's place while no finished one is."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "features", layer_choices, parent, unit="steps", run_title="Compute")
        self.run_button.setToolTip("Extract the features and compute the map (Ctrl+R)")
        self.maps: list[job.MapResult | None] = [None, None]
        self.query: job.QueryResult | None = None
        self.comparison: list[PoolingScore] = []
        self.cache_folder: Path | None = settings_store.data_folder(CACHE_FOLDER)
        self.iterations: tuple[int, int] = (250, 500)
        self.thumbs = ThumbnailCache()
        self.partial_map: tuple[job.MapRequest, Features, np.ndarray] | None = None
        self._picked: tuple[object, int] | None = None
        self._hovered: int | None = None
        self._query_for: tuple | None = None
        self._shown_progress: tuple[int, int] | None = None
        self._build_controls()
        self._build_figure()
        self.side = SidePanel()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.figure_area)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([3 * SIDE_WIDTH, SIDE_WIDTH])  # the maps get most of the width at first
        self.arrange(self._source_row(), self.settings_row,
                     self.run_controls.row(self.keep_button, self.select_combo, self.partial_label),
                     layer_widgets=(self.size_label,), body=splitter)
        self._connect()
        row = self.settings_row
        self.settings_binding.register(pooling=row.pooling_combo, p=row.p_spin, method=row.method_combo,
                                       perplexity=row.perplexity_spin, seed=row.seed_spin, drag=self.select_combo)
        self._dataset_changed(self.state.dataset)

    def _build_controls(self) -> None:
        self.size_label = QLabel()
        self.size_label.setToolTip("Feature length per image with this layer and pooling")
        self.settings_row = SettingsRow()
        self.source = SourceRow()
        self.keep_button = QPushButton("Keep for comparison")
        self.keep_button.setToolTip("Keep this map on the left; the next Compute shows its map beside it")
        self.select_combo = QComboBox()
        for mode, title in zip(SELECT_MODES, ("Drag pans", "Drag selects", "Lasso selects")):
            self.select_combo.addItem(title, mode)
        self.select_combo.setToolTip("What dragging on a map does: pan (Shift+drag selects a rectangle), select "
                                     "a rectangle, or select inside a free outline")
        shrinkable(self.select_combo, self.keep_button)

    def _build_figure(self) -> None:
        self.views = [MapView(), MapView()]
        self.views[0].hide()  # the kept map, shown by keep()
        self.legend = ClassLegend()
        maps = QHBoxLayout()
        for view in self.views:
            maps.addWidget(view, 1)
        maps.addWidget(self.legend)
        self.make_figure(self._export_name, self._export_data, maps, extra=self._write_map_beside)
        self.map_csv_button = QPushButton("Map CSV…")
        self.map_csv_button.setToolTip("Save the current map's coordinates and labels (index, file, label, x, y)")

    def _source_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Dataset"))
        row.addWidget(self.source, 1)
        row.addWidget(self.map_csv_button)
        return row

    def _connect(self) -> None:
        self.source.folder_requested.connect(self.ask_folder)
        self.source.fashion_mnist_requested.connect(lambda: self.open_dataset(dataset_source.FASHION_MNIST))
        self.settings_row.pooling_combo.currentIndexChanged.connect(lambda _i: self._show_size())
        self.picker.layer_chosen.connect(lambda _name: self._show_size())
        self.keep_button.clicked.connect(self.keep)
        self.select_combo.currentIndexChanged.connect(self._select_mode_changed)
        self.legend.hidden_changed.connect(self._hidden_changed)
        for slot, view in enumerate(self.views):
            view.hovered.connect(lambda row, slot=slot: self.hover(slot, row))
            view.clicked.connect(lambda row, slot=slot: self.pick(slot, row))
            view.selected.connect(lambda rows, slot=slot: self.select(slot, rows))
        self.state.dataset_changed.connect(self._dataset_changed)
        self.side.selection.image_clicked.connect(self.open_image)
        self.side.retrieval.matches.image_clicked.connect(self.open_image)
        self.side.retrieval.compare_button.clicked.connect(self.compare_poolings)
        self.side.retrieval.scores_csv_button.clicked.connect(lambda: self._ask_csv("scores"))
        self.side.retrieval.compare_csv_button.clicked.connect(lambda: self._ask_csv("poolings"))
        self.map_csv_button.clicked.connect(lambda: self._ask_csv("map"))

    # Dataset.

    @property
    def dataset(self) -> ImageDataset | None:
        """The shared dataset."""
        return self.state.dataset

    @property
    def current(self) -> job.MapResult | None:
        """The map retrieval uses: the latest one (the kept one while no later map is shown)."""
        return self.maps[1] or self.maps[0]

    def ask_folder(self) -> None:
        """Ask for an image folder (starting at the last one the dataset tools opened) and open it."""
        start = settings_store.load_path(dataset_source.FOLDER_KEY) or Path.home()
        chosen = QFileDialog.getExistingDirectory(self, "Open an image folder", str(start))
        if chosen:
            settings_store.save_path(dataset_source.FOLDER_KEY, Path(chosen))
            self.open_dataset(dataset_source.FOLDER, Path(chosen))

    def open_dataset(self, kind: str, path: Path | None = None) -> None:
        """Open a dataset (:func:`cnnviz.gui.panes.dataset.dataset_source.open_source`) on the loader worker; it
        becomes the shared dataset."""
        self.jobs.submit("open", "Opening the dataset…", dataset_source.open_source, kind, path,
                         worker=self.controller.loader, done=self.state.set_dataset)

    def _dataset_changed(self, ds: ImageDataset | None) -> None:
        self.cancel()
        self.thumbs.set_dataset(ds)
        self._picked = None
        self.source.show_dataset(ds)
        self.clear_maps()

    # Runs.

    def refresh(self) -> None:
        """Show the layer's feature size and search with the current image."""
        self._show_size()
        self.search()

    def clear_views(self) -> None:
        """Forget the maps (a new model)."""
        self.cancel()
        self.clear_maps()

    def clear_maps(self) -> None:
        """Show no map, retrieval or comparison."""
        self.maps = [None, None]
        self.query = self._query_for = None
        self.partial_map = None
        self._hovered = None
        self.comparison = []
        self._shown_progress = None
        for view in self.views:
            view.clear()
        self.views[0].hide()
        self.legend.set_classes([], None, 0)
        self.side.clear()
        self.run_controls.reset_progress(IDLE_TEXT)
        self._sync_buttons()
        self.update_partial()

    def run(self) -> None:
        """Compute a map with the current settings (replacing the current map; a kept one stays)."""
        request = self._map_request()
        if request is None:
            return
        self._shown_progress = None
        self.start(job.map_job, request, request, text="Computing the map…")

    def _map_request(self) -> job.MapRequest | None:
        model, ds = self.state.model, self.dataset
        if model is None or ds is None or not self.layer:
            self.jobs.show_error("Choose a dataset and a layer first." if model is not None else "Load a model first.")
            return None
        s = self.settings_row.settings()
        return job.MapRequest(model, ds, self.layer, s.pooling, s.p, s.method, s.perplexity, s.seed,
                              self.iterations, self.cache_folder)

    def compare_poolings(self) -> None:
        """Score the current map's layer with each pooling of :data:`job.COMPARED` (as a run, with progress)."""
        result = self.current
        if result is None or result.features.labels is None:
            self.jobs.show_error("Compute a map of a labelled dataset first.")
            return
        r = result.request
        self.start(job.compare_job, ("compare", r.model, r.dataset, r.layer), r.model, r.dataset, r.layer, r.p,
                   r.cache, text="Comparing poolings…")

    def on_partial(self, item: Step) -> None:
        """A partial map of the latest run: show it in the current map's place."""
        done, total, (f, xy) = item.done, item.total, item.partial
        if not isinstance(self.run_request, job.MapRequest) or f is None or xy is None:
            return
        view = self.views[1]
        if view.count != len(xy):
            if self.maps[0] is None:
                self.legend.set_classes(f.classes, f.labels, len(xy))
            view.set_map(xy, f.labels, "")
            view.set_hidden(self.legend.hidden)
        else:
            view.move_points(xy)
        view.set_caption(f"{METHOD_TITLES[self.run_request.method]} of {escape(f.layer)}: {done} / {total} steps")
        self.maps[1] = None
        self.partial_map = (self.run_request, f, xy)
        self._shown_progress = (done, total)
        self.update_partial()

    def on_done(self, result: job.MapResult | list[PoolingScore]) -> None:
        """A finished map or pooling comparison."""
        if isinstance(result, job.MapResult):
            self._show_map(result)
        else:
            self.comparison = result
            self.side.retrieval.show_comparison(result)

    def _show_map(self, result: job.MapResult) -> None:
        if result.request.model is not self.state.model or result.request.dataset is not self.dataset:
            return
        self.maps[1] = result
        self.partial_map = None
        self._shown_progress = None
        self.views[1].set_map(result.embedding.xy, result.features.labels, caption(result))
        self.views[1].set_hidden(self.legend.hidden)
        if self.maps[0] is None:
            self.legend.set_classes(result.features.classes, result.features.labels, len(result.features.images))
        self.side.retrieval.show_scores(result.scores, result.scores_note)
        self._sync_buttons()
        self.search()

    def on_ended(self) -> None:
        """Buttons follow the outcome."""
        self._sync_buttons()

    def partial_progress(self) -> tuple[int, int] | None:
        """(steps done, steps) of a partial map shown."""
        return self._shown_progress

    def keep(self) -> None:
        """Keep the current map on the left for comparison with the next one."""
        kept = self.maps[1]
        if kept is None:
            return
        self.maps = [kept, None]
        self.views[0].set_map(kept.embedding.xy, kept.features.labels, caption(kept))
        self.views[0].set_hidden(self.legend.hidden)
        self.views[0].show()
        self.views[1].clear()
        self.views[1].set_caption("Compute another map to compare it with the kept one.")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.run_button.setEnabled(self.dataset is not None)
        has_map = self.maps[1] is not None
        self.keep_button.setEnabled(has_map)
        self.map_csv_button.setEnabled(self.current is not None)
        self.export.set_enabled(self.current is not None)
        labelled = self.current is not None and self.current.features.labels is not None
        self.side.retrieval.compare_button.setEnabled(labelled)

    def _show_size(self) -> None:
        self.size_label.setText(size_text(self.layer_binding.choice, self.settings_row.pooling))

    # Hover, click, selection.

    def hover(self, slot: int, row: int) -> None:
        """Show the image of point ``row`` of map ``slot`` (-1: none)."""
        result = self.maps[slot]
        if result is None or not 0 <= row < len(result.features.images):
            return
        f = result.features
        image = int(f.images[row])
        label = feature_tables.label_name(f, row) or "no label"
        self._hovered = image
        pixmap = self.thumbs.get(image)
        self.side.show_hover(pixmap or QPixmap(), f"<b>{escape(f.paths[row])}</b><br>{escape(label)}")
        if pixmap is None and self.dataset is not None:
            ds = self.dataset
            task = self.controller.loader.submit(thumbnail, ds, image, key=f"{self.key}:hover")
            task.succeeded.connect(lambda picture: self._thumbnail_ready(ds, image, picture))

    def _thumbnail_ready(self, ds: ImageDataset, image: int, picture) -> None:
        if ds is self.dataset:
            pixmap = self.thumbs.add(image, picture)
            if image == self._hovered:
                self.side.thumbnail.setPixmap(pixmap)

    def pick(self, slot: int, row: int) -> None:
        """Make the image of point ``row`` of map ``slot`` the current image."""
        result = self.maps[slot]
        if result is not None and 0 <= row < len(result.features.images):
            self.open_image(int(result.features.images[row]))

    def open_image(self, image: int) -> None:
        """Make dataset image ``image`` the current image (decoded on the loader worker)."""
        ds = self.dataset
        if ds is None:
            return
        self.jobs.submit("pick", "Opening the image…", ds.image, image, worker=self.controller.loader,
                         done=lambda picture: self._picked_image(ds, image, picture))

    def _picked_image(self, ds: ImageDataset, image: int, picture) -> None:
        if ds is not self.dataset:
            return
        self._picked = (picture, image)
        path = ds.path(image) if ds.kind == "folder" else None
        self.controller.set_image(picture, Path(ds.files[image]).name, path)

    def select(self, slot: int, rows: np.ndarray) -> None:
        """Show the images of ``rows`` of map ``slot`` as a thumbnail grid (decoded on the loader worker)."""
        result = self.maps[slot]
        if result is None or self.dataset is None:
            return
        f, shown = result.features, np.asarray(rows)[:MAX_SELECTION]
        images = [int(i) for i in f.images[shown]]
        names = [(f.paths[r], feature_tables.label_name(f, int(r))) for r in shown]
        more = f" (the first {MAX_SELECTION} shown)" if len(rows) > MAX_SELECTION else ""
        self.side.clear_selection(f"{len(rows)} images selected{more}.")
        self.side.tabs.setCurrentIndex(1)
        self.jobs.submit("select", "Loading thumbnails…", thumbnails, self.dataset, images,
                         worker=self.controller.loader, done=lambda pictures: self.side.selection.show_tiles(
                             [Tile(i, p, Path(n).name, f"{n} · {c}") for i, p, (n, c) in zip(images, pictures, names)]))

    def _hidden_changed(self, hidden: frozenset[int]) -> None:
        for view in self.views:
            view.set_hidden(hidden)

    def _select_mode_changed(self) -> None:
        for view in self.views:
            view.box.mode = str(self.select_combo.currentData())

    # Retrieval.

    def query_image(self) -> int | None:
        """The dataset index of the current image, None when it is not one of the dataset's images."""
        ds, image = self.dataset, self.state.image
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

    def search(self) -> None:
        """Find the nearest images to the current image in the current map's features (on the compute worker)."""
        result, x = self.current, self.state.input_tensor
        if result is None:
            return
        image = self.query_image()
        if image is not None and result.features.row_of(image) is None:
            image = None
        if image is None and x is None:
            return
        key = (result, image, x if image is None else None)
        if self._query_for is not None and all(a is b for a, b in zip(key, self._query_for)):
            return
        self._query_for = key
        self.jobs.submit("query", "Searching…", job.query_job, result, image, x, done=self._query_done)

    def _query_done(self, found: job.QueryResult) -> None:
        if found.map_result is not self.current:
            return
        self.query = found
        where = f"image {found.image} of the dataset" if found.image is not None else "from outside the dataset"
        text = f"<b>Query:</b> {escape(self.state.image_name)} ({where}) — the {len(found.matches)} nearest images"
        self.side.retrieval.show_matches(found.map_result.features, found.matches, found.label, found.pictures, text)

    # Export.

    def export_map_csv(self, path: str | Path) -> Path:
        """Write the current map's coordinates and labels as CSV to ``path``."""
        return exports.write(path, exports.map_table(self.current))

    def export_scores_csv(self, path: str | Path) -> Path:
        """Write the current map's retrieval scores as CSV to ``path``."""
        return exports.write(path, exports.scores_table(self.current))

    def export_comparison_csv(self, path: str | Path) -> Path:
        """Write the pooling comparison as CSV to ``path``."""
        return exports.write(path, exports.comparison_table(self.comparison))

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The analysis's default layer (:func:`cnnviz.analyses.feature_space.default_layer`: the first offered)."""
        model = self.state.model
        return feature_space.default_layer(model) if model is not None else choices[0].name

    def figure_partial(self) -> bool:
        """True while the map in the figure is a partial one (a running, cancelled or failed t-SNE)."""
        return self.maps[1] is None and self.partial_map is not None

    def analysis_result(self) -> FeatureSpaceResult | None:
        """The latest map shown (the partial one in the current map's place, else :attr:`current`) as the
        feature space analysis's result (its report figure is the export), with its retrieval scores and the
        query's nearest images when the query is an image of the dataset; None while no map is shown. A kept
        map shown beside a newer one is not in it."""
        if self.figure_partial():
            assert self.partial_map is not None  # what figure_partial() checks
            request, f, xy = self.partial_map
            return FeatureSpaceResult(settings=self._analysis_settings(request, None), head=self._head(request),
                                      partial=True, features=f, embedding=Embedding(np.asarray(xy), request.method))
        result = self.current
        if result is None:
            return None
        query = self.query if self.query is not None and self.query.map_result is result else None
        if query is not None and query.image is None:
            query = None  # an image from outside the dataset: the analysis's query is a dataset index
        pictures = () if query is None else tuple(None if p is None else np.asarray(p) for p in query.pictures)
        return FeatureSpaceResult(
            settings=self._analysis_settings(result.request, query), head=self._head(result.request),
            features=result.features, embedding=result.embedding, scores=result.scores,
            scores_note=result.scores_note, query=None if query is None else query.image,
            query_label=None if query is None else query.label, matches=() if query is None else tuple(query.matches),
            query_picture=None if query is None or query.query_picture is None else np.asarray(query.query_picture),
            match_pictures=pictures)

    def _analysis_settings(self, request: job.MapRequest, query: job.QueryResult | None) -> Settings:
        """The analysis settings of the map of ``request`` and of ``query`` (None: no retrieval shown)."""
        values = {"layer": request.layer, "pooling": request.pooling, "p": request.p, "method": request.method,
                  "perplexity": request.perplexity, "seed": request.seed}
        if query is not None:
            values |= {"query": query.image, "k": len(query.matches)}
        return from_json(Settings, self.settings() | values)[0]

    def _head(self, request: job.MapRequest) -> Caption:
        return about(feature_space.NAME, request.model, Source.of_dataset(request.dataset))

    def caption_fields(self) -> dict[str, object]:
        """The caption fields of :meth:`analysis_result` (layer, pooling, map method and what they resolved to),
        else of the controls' settings."""
        result = self.analysis_result()
        if result is not None:
            return dict(result.caption().fields)
        return from_json(Settings, self.settings() | {"layer": self.layer})[0].caption_fields()

    def caption_dataset(self) -> str:
        """The dataset of the map shown (else the current one): the figure is about it, not the current image."""
        result = self.analysis_result()
        if result is not None:
            return result.head.dataset
        return self.dataset.name if self.dataset is not None else "none"

    def _write_map_beside(self, png: Path) -> list[Path]:
        """The current map's CSV beside an exported figure ``png`` (``<stem>-map.csv``)."""
        if self.current is None:
            return []
        return [self.export_map_csv(png.with_name(f"{png.stem}-map.csv"))]

    def _ask_csv(self, what: str) -> None:
        tables = {"map": lambda: exports.map_table(self.current), "scores": lambda: exports.scores_table(self.current),
                  "poolings": lambda: exports.comparison_table(self.comparison)}
        exports.ask_and_write(self, what, self._export_name(), tables[what], self.state.show_status)

    def _export_name(self) -> str:
        result = self.current
        if result is None:
            return "features"
        return f"features-{result.features.layer}-{result.features.pooling}-{result.embedding.method}"

    def _export_data(self) -> dict[str, np.ndarray]:
        result = self.current
        if result is None:
            return {}
        f = result.features
        data = {"xy": result.embedding.xy, "images": f.images}
        if f.labels is not None:
            data["labels"] = f.labels
        return data
