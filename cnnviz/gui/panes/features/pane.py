"""The Feature space pane: a dataset's images as a 2-D map of one layer's features (t-SNE, PCA or
UMAP), coloured by class, and image retrieval with those features.

Choose the dataset (shared with the other dataset tools), the layer (its feature size is shown) and, in the
form of the feature space analysis's settings (``form``), the pooling and the method; Compute runs the
analysis (:func:`cnnviz.analyses.feature_space.run`, features cached in the data folder) on the compute worker,
its partial t-SNE maps shown as they come (:mod:`~.maps_view`). Hover a point to see its image, click it to
make it the current image, drag with Shift to select images (:mod:`~.browse`). "Keep for comparison" keeps the
map shown on the left of the next one, also across a new model (a base model beside its fine-tuned checkpoint).
The current image (also one from outside the dataset) is the retrieval query (:mod:`~.retrieval`); "Compare
poolings" scores the layer's average, max, GeM and flatten features. A new dataset clears the maps, a new model
all but the kept one. The figure's export is the analysis's report figure of the result shown
(:meth:`FeaturesPane.analysis_result`). Besides its controls, the dataset and the map shown are settings, and
the layer is remembered across restarts (:mod:`~.saved`): a restored map is shown from the feature cache.
"""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QWidget

from cnnviz.analyses import feature_space
from cnnviz.analyses.base import Source
from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.per_dataset.retrieval import PoolingScore
from cnnviz.core.progress import Step
from cnnviz.gui.panes.features import job
from cnnviz.gui.panes.features.browse import PointBrowser
from cnnviz.gui.panes.features.controls import map_form, size_text
from cnnviz.gui.panes.features.exports import MapExports
from cnnviz.gui.panes.features.maps_view import MapsView
from cnnviz.gui.panes.features.retrieval import Retrieval
from cnnviz.gui.panes.features.saved import SavedState
from cnnviz.gui.panes.features.scatter import SELECT_MODES
from cnnviz.gui.panes.features.side import SIDE_WIDTH, SidePanel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.widgets.dataset_source import SourceRow
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices

IDLE_TEXT = "Choose a dataset, a layer and a method, then Compute (Ctrl+R)"
CACHE_FOLDER = "features"
"""Folder of the cached features under :func:`~cnnviz.gui.runtime.settings_store.data_folder`."""


class FeaturesPane(RunPane):
    """See the module docstring. ``maps``: [kept map or None, current map or None] (the analysis's results);
    ``partial_map``: the partial result shown in the current map's place while no finished one is;
    ``comparison``: the pooling scores shown; ``cache_folder``: where features are cached (None: not cached);
    ``iterations``: t-SNE's (early exaggeration, normal) iterations. Parts: ``form``, ``maps_view`` (its
    ``views`` and ``legend``), ``side``, ``browser`` (hover, click, selection), ``retrieval`` (the query) and
    ``exports`` (the CSV files) and ``saved`` (the dataset and map as settings, the remembered layer)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "features", layer_choices, parent, unit="steps", run_title="Compute")
        self.run_button.setToolTip("Extract the features and compute the map (Ctrl+R)")
        self.maps: list[FeatureSpaceResult | None] = [None, None]
        self.partial_map: FeatureSpaceResult | None = None
        self.comparison: list[PoolingScore] = []
        self.cache_folder: Path | None = settings_store.data_folder(CACHE_FOLDER)
        self.iterations: tuple[int, int] = feature_space.ITERATIONS
        self._shown_progress: tuple[int, int] | None = None
        self.form = map_form()
        self.maps_view, self.side = MapsView(), SidePanel()
        self.views, self.legend = self.maps_view.views, self.maps_view.legend
        self.browser = PointBrowser(self.jobs, self.side, lambda slot: self.maps[slot], self)
        self.retrieval = Retrieval(self.jobs, self.side.retrieval, lambda: self.current, self.browser.query_image,
                                   self, kept=lambda: self.maps[0] if self.maps[1] is not None else None)
        self.exports = MapExports(self, lambda: self.current, lambda: self.comparison, self.state.show_status)
        self.saved = SavedState(self.jobs, self.layer_binding, self.controls, lambda: self.current, self.compute,
                                lambda: self.cache_folder, self.run_controls.reset_progress, self)
        self._build()
        self._connect()
        self.settings_binding.register(self.form, drag=self.select_combo, **self.saved.controls())
        self._dataset_changed(self.state.dataset)

    def _build(self) -> None:
        self.size_label = QLabel()
        self.size_label.setToolTip("Feature length per image with this layer and pooling")
        self.source = SourceRow()
        self.keep_button = QPushButton("Keep for comparison")
        self.keep_button.setToolTip("Keep this map on the left; the next Compute shows its map beside it")
        self.select_combo = QComboBox()
        for mode, title in zip(SELECT_MODES, ("Drag pans", "Drag selects", "Lasso selects")):
            self.select_combo.addItem(title, mode)
        self.select_combo.setToolTip("What dragging on a map does: pan (Shift+drag selects a rectangle), select "
                                     "a rectangle, or select inside a free outline")
        shrinkable(self.select_combo, self.keep_button)
        self.make_figure(self.exports.name, lambda: r.arrays() if (r := self.analysis_result()) is not None else {},
                         self.maps_view, extra=self.exports.beside)
        self.map_csv_button = QPushButton("Map CSV…")
        self.map_csv_button.setToolTip("Save the current map's coordinates and labels (index, file, label, x, y)")
        source_row = QHBoxLayout()
        for widget, stretch in ((QLabel("Dataset"), 0), (self.source, 1), (self.map_csv_button, 0)):
            source_row.addWidget(widget, stretch)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.figure_area)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([3 * SIDE_WIDTH, SIDE_WIDTH])  # the maps get most of the width at first
        self.arrange(source_row, self.form, self.run_controls.row(self.keep_button, self.select_combo,
                                                                   self.partial_label),
                     layer_widgets=(self.size_label,), body=splitter)

    def _connect(self) -> None:
        self.source.folder_requested.connect(lambda: self.saved.ask_folder(self))
        self.source.fashion_mnist_requested.connect(lambda: self.open_dataset(dataset_source.FASHION_MNIST))
        self.form.changed.connect(lambda name: self._show_size() if name == "pooling" else None)
        self.picker.layer_chosen.connect(lambda _name: self._show_size())
        self.keep_button.clicked.connect(self.keep)
        self.select_combo.currentIndexChanged.connect(
            lambda _i: self.maps_view.set_select_mode(str(self.select_combo.currentData())))
        self.maps_view.hovered.connect(self.browser.hover)
        self.maps_view.clicked.connect(self.browser.pick)
        self.maps_view.selected.connect(self.browser.select)
        self.state.dataset_changed.connect(self._dataset_changed)
        self.side.selection.image_clicked.connect(self.browser.open_image)
        self.side.retrieval.matches.image_clicked.connect(self.browser.open_image)
        self.side.retrieval.compare_button.clicked.connect(self.compare_poolings)
        self.side.retrieval.scores_csv_button.clicked.connect(lambda: self.exports.ask("scores"))
        self.side.retrieval.compare_csv_button.clicked.connect(lambda: self.exports.ask("poolings"))
        self.map_csv_button.clicked.connect(lambda: self.exports.ask("map"))

    @property
    def dataset(self) -> ImageDataset | None:
        """The shared dataset."""
        return self.state.dataset

    @property
    def current(self) -> FeatureSpaceResult | None:
        """The map retrieval uses: the latest one (the kept one while no later map is shown)."""
        return self.maps[1] or self.maps[0]

    def open_dataset(self, kind: str, path: Path | None = None) -> None:
        """Open a dataset (``kind`` :data:`~cnnviz.gui.runtime.dataset_source.FOLDER` at ``path``, or
        :data:`~cnnviz.gui.runtime.dataset_source.FASHION_MNIST`: its test set) on the loader worker; it becomes
        the shared dataset."""
        self.saved.open({"kind": kind, "path": str(path or "")} if kind == dataset_source.FOLDER
                        else {"kind": dataset_source.FASHION_MNIST, "split": "test"})

    def _dataset_changed(self, ds: ImageDataset | None) -> None:
        self.cancel()
        self.browser.set_dataset(ds)
        self.source.show_dataset(ds)
        self.clear_maps()
        self.saved.dataset_changed(ds)

    def refresh(self) -> None:
        """Show the layer's feature size and search with the current image."""
        self._show_size()
        self.retrieval.search()

    def clear_views(self) -> None:
        """A new model: forget the current map; a kept map stays beside the next one (its caption names its
        model: before and after fine-tuning, on the same dataset)."""
        self.cancel()
        kept = self.maps[0]
        self.clear_maps()
        if kept is not None:
            self.maps = [kept, None]
            self.maps_view.keep(kept)
            self._sync_buttons()

    def clear_maps(self) -> None:
        """Show no map, retrieval or comparison."""
        self.maps = [None, None]
        self.partial_map = None
        self.retrieval.clear()
        self.comparison = []
        self._shown_progress = None
        self.maps_view.clear()
        self.side.clear()
        self.run_controls.reset_progress(IDLE_TEXT)
        self._sync_buttons()
        self.update_partial()
        self.saved.map_changed.emit()

    def run(self) -> None:
        """Compute a map with the form's settings (replacing the current map; a kept one stays)."""
        if self.state.model is not None and self.dataset is not None and self.layer:
            self.compute(self.form.settings(layer=self.layer))
        else:
            self.jobs.show_error("Choose a dataset and a layer first." if self.state.model is not None
                                 else "Load a model first.")

    def compute(self, settings: feature_space.Settings) -> None:
        """Compute the map of ``settings`` over the shared dataset (features and map read from the cache when
        there), replacing the current map; a kept one stays."""
        model, ds = self.state.model, self.dataset
        if model is None or ds is None:
            return
        request = job.MapRequest(model, ds, settings, self.iterations, self.cache_folder)
        self._shown_progress = None
        self.start(feature_space.run, request, model, Source.of_dataset(ds), request.settings, cache=request.cache,
                   iterations=request.iterations, text="Computing the map…", on_copy=True)

    def compare_poolings(self) -> None:
        """Score the current map's layer with each pooling of :data:`job.COMPARED` (as a run, with progress)."""
        result, model, ds = self.current, self.state.model, self.dataset
        if result is None or result.features.labels is None or model is None or ds is None:
            self.jobs.show_error("Compute a map of a labelled dataset first.")
            return
        layer, p = result.features.layer, result.settings.p
        self.start(job.compare_job, ("compare", model, ds, layer), model, ds, layer, p, self.cache_folder,
                   text="Comparing poolings…", on_copy=True)

    def on_partial(self, item: Step) -> None:
        """A partial map of the latest run: show it in the current map's place."""
        if not isinstance(self.run_request, job.MapRequest) or not isinstance(item.partial, FeatureSpaceResult):
            return
        self.maps_view.show_partial(item.partial, item.done, item.total, kept=self.maps[0] is not None)
        self.maps[1] = None
        self.partial_map = item.partial
        self._shown_progress = (item.done, item.total)
        self.update_partial()

    def on_done(self, result: FeatureSpaceResult | list[PoolingScore]) -> None:
        """A finished map (shown if it is still of the current model and dataset) or pooling comparison."""
        if not isinstance(result, FeatureSpaceResult):
            self.comparison = result
            self.side.retrieval.show_comparison(result)
            return
        request = self.run_request
        if request.model is not self.state.model or request.dataset is not self.dataset:
            return
        self.maps[1] = result
        self.partial_map = None
        self._shown_progress = None
        self.maps_view.show_map(result, kept=self.maps[0] is not None)
        self.side.retrieval.show_scores(result.scores, result.scores_note)
        self._sync_buttons()
        self.retrieval.search()
        self.saved.map_changed.emit()

    def on_ended(self) -> None:
        """Buttons follow the outcome."""
        self._sync_buttons()

    def partial_progress(self) -> tuple[int, int] | None:
        """(steps done, steps) of a partial map shown."""
        return self._shown_progress

    def keep(self) -> None:
        """Keep the current map on the left for comparison with the next one."""
        kept = self.maps[1]
        if kept is not None:
            self.maps = [kept, None]
            self.maps_view.keep(kept)
            self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.run_button.setEnabled(self.dataset is not None)
        self.keep_button.setEnabled(self.maps[1] is not None)
        self.map_csv_button.setEnabled(self.current is not None)
        self.export.set_enabled(self.current is not None)
        self.side.retrieval.compare_button.setEnabled(self.current is not None
                                                      and self.current.features.labels is not None)

    def _show_size(self) -> None:
        self.size_label.setText(size_text(self.layer_binding.choice, str(self.form.value("pooling"))))

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The layer remembered from the last run of a window that remembers, else the analysis's default layer
        (:func:`cnnviz.analyses.feature_space.default_layer`: the first offered)."""
        model = self.state.model
        remembered = self.saved.remembered_layer(choices)
        return remembered or (feature_space.default_layer(model) if model is not None else choices[0].name)

    def figure_partial(self) -> bool:
        """True while the map in the figure is a partial one (a running, cancelled or failed t-SNE)."""
        return self.maps[1] is None and self.partial_map is not None

    def analysis_result(self) -> FeatureSpaceResult | None:
        """The feature space analysis's result shown (its report figure is the export): the partial map in the
        current map's place, else :attr:`current` with the query's nearest images when the query is an image of
        the dataset; None while no map is shown. A kept map shown beside a newer one is not in it."""
        if self.figure_partial():
            return self.partial_map
        query = self.retrieval.query
        if query is not None and query.map_result is self.current and query.result is not None:
            return query.result
        return self.current

    def caption_fields(self) -> dict[str, object]:
        """The caption fields of :meth:`analysis_result` (layer, pooling, map method and what they resolved to),
        else of the form's settings."""
        result = self.analysis_result()
        if result is not None:
            return dict(result.caption().fields)
        return self.form.settings(layer=self.layer).caption_fields()

    def caption_dataset(self) -> str:
        """The dataset of the map shown (else the current one): the figure is about it, not the current image."""
        result = self.analysis_result()
        if result is not None:
            return result.head.dataset
        return self.dataset.name if self.dataset is not None else "none"
