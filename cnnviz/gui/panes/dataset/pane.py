"""The Dataset pane: what each unit detects across an image folder (Zeiler & Fergus 2014, Fig. 2), and
which units never fire.

Choose a source (a folder, opened on the loader worker, or Fashion-MNIST test; also the dataset another pane chose)
and the layers, then Scan: a :class:`~cnnviz.gui.panes.run_pane.RunPane` run of
:func:`cnnviz.core.per_dataset.scan.build_steps`
with images/s and the time left. Cancel keeps the partial index and Resume continues it. Every index a scan ends
with is saved under the application's data folder (:func:`cnnviz.core.per_dataset.scan.cache_path`) and reopened for the
same model and dataset. The Fig. 2 tab (:mod:`~cnnviz.gui.panes.dataset.fig2`) pages through a layer's units, their
patches computed lazily on the compute worker (:func:`cnnviz.core.per_dataset.top_patches.patches_steps`) and kept until
the model or index changes. Click a unit to enlarge it (:mod:`~cnnviz.gui.panes.dataset.detail`), one of its hits to
make that image current and open Deconvnet on the unit and position. The statistics tab
(:mod:`~cnnviz.gui.panes.dataset.stats`) shows fire rates, dead units and class profiles. The ticked layers are
part of the pane's settings as the scan analysis's ``layers`` (empty: the default ones), so a session keeps them.
"""

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses import scan as scan_analysis
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.settings import from_json
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import scan, top_patches
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.core.progress import Step
from cnnviz.gui.panes import captions
from cnnviz.gui.panes.dataset import jobs
from cnnviz.gui.panes.dataset.controls import LayerChecklist
from cnnviz.gui.panes.dataset.detail import UnitDetail
from cnnviz.gui.panes.dataset.fig2 import Fig2View, write_hits
from cnnviz.gui.panes.dataset.jobs import PatchesRequest, ScanRequest
from cnnviz.gui.panes.dataset.stats import StatsView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.dataset_source import SourceRow
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.layouts import grid_and_detail, option_combo, wrapped_label
from cnnviz.gui.widgets.shortcuts import add_shortcut

SCANS_FOLDER = "scans"
"""Folder of the cached indexes under :func:`~cnnviz.gui.runtime.settings_store.data_folder`."""
IDLE_TEXT = "Choose a dataset and the layers, then Scan (Ctrl+R)"
SORTS = {"index": "Unit number", "max": "Largest score", "fire_rate": "Fire rate", "selectivity": "Class selectivity"}
BATCH_SIZE = 64
CHECKLIST_WIDTH = 230  # starting width of the layer list, in pixels


class DatasetPane(RunPane):
    """Source, layers, Scan/Cancel/Resume, the Fig. 2 view with its enlarged unit, and unit statistics.

    ``dataset``: the dataset chosen; ``index``: the scan shown (None while scanning or before any);
    ``cache_file``: where the index of the current model and dataset is saved; ``patches``: the Fig. 2
    patches computed for ``index``, by (layer, channel); ``selected``: the enlarged unit;
    ``loader_workers``: DataLoader worker processes of a scan (None: automatic); ``batch_size``: images
    per forward pass of a scan.
    """

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "dataset", layer_choices, parent, unit="images", run_title="Scan",
                         rate=True, layer_keys=False)
        self.run_button.setToolTip("Scan the dataset with the ticked layers (Ctrl+R)")
        self.dataset: ImageDataset | None = None
        self.index: ScanIndex | None = None
        self.cache_file: Path | None = None
        self.patches: dict[tuple[str, int], list[HitPatch]] = {}
        self.selected: int | None = None
        self.loader_workers: int | None = None
        self.batch_size = BATCH_SIZE
        self._scanned: ScanIndex | None = None
        self._checklist_for: LoadedModel | None = None
        self._scan_layers: list[str] | None = None
        self._reopen_for: tuple[LoadedModel, ImageDataset] | None = None
        self._patches_request: PatchesRequest | None = None
        self._build_controls()
        self._build_figure()
        self._build_layout()
        self._connect()
        self.settings_binding.register(sort=self.sort_combo, per_page=self.fig2.per_page_spin,
                                       threshold=self.stats.threshold_spin)
        self.settings_binding.add_extra(self.scan_layer_settings, self.apply_scan_layer_settings)
        self.clear_views()

    def _build_controls(self) -> None:
        self.source = SourceRow()
        self.checklist = LayerChecklist()
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the partial scan shown")
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Layer of the scan shown")
        self.sort_combo = option_combo(SORTS, "Order of the units (largest first, but by number)")
        for combo, letters in ((self.layer_combo, 14), (self.sort_combo, 10)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(letters)
        shrinkable(self.layer_combo, self.sort_combo)

    def _build_figure(self) -> None:
        self.fig2 = Fig2View()
        self.heading = wrapped_label()
        self.make_figure(self._export_name, dict, self.heading, self.fig2, extra=lambda png: write_hits(
            png, self.index, self.dataset, self.view_layer, self.fig2.page_channels()))
        self.detail = UnitDetail()
        self.stats = StatsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(grid_and_detail(self.figure_area, self.detail), "Fig. 2")
        self.tabs.addTab(self.stats, "Unit statistics")

    def _build_layout(self) -> None:
        view_row = QHBoxLayout()
        for widget in (QLabel("Layer"), self.layer_combo, QLabel("Sort"), self.sort_combo):
            view_row.addWidget(widget, 1 if isinstance(widget, QComboBox) else 0)
        view_row.addWidget(self.export.button)
        self.fig2.controls.addStretch(1)
        views = QWidget()
        layout = QVBoxLayout(views)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(view_row)
        layout.addLayout(self.fig2.controls)
        layout.addWidget(self.tabs, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.checklist)
        splitter.addWidget(views)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([CHECKLIST_WIDTH, 4 * CHECKLIST_WIDTH])
        splitter.setChildrenCollapsible(False)
        self.arrange(self.source, self.run_controls.row(self.resume_button, self.partial_label), body=splitter,
                     with_layer_row=False)

    def _connect(self) -> None:
        self.state.dataset_changed.connect(self._shared_dataset_changed)
        self.source.folder_requested.connect(self.ask_folder)
        self.source.fashion_mnist_requested.connect(
            lambda: self.open_source(dataset_source.FASHION_MNIST, None, "Opening Fashion-MNIST…"))
        self.resume_button.clicked.connect(self.resume)
        self.layer_combo.activated.connect(lambda _i: self._show_layer())
        self.sort_combo.activated.connect(lambda _i: self._show_layer())
        self.fig2.page_changed.connect(self._page_changed)
        self.fig2.unit_clicked.connect(self.select_unit)
        self.stats.unit_chosen.connect(self.select_unit)
        self.detail.hit_chosen.connect(self.open_hit)
        add_shortcut(self, Qt.Key.Key_PageUp, lambda: self.fig2.step_page(-1))
        add_shortcut(self, Qt.Key.Key_PageDown, lambda: self.fig2.step_page(1))

    @property
    def view_layer(self) -> str:
        """The layer of the Fig. 2 view and statistics ("" with no index)."""
        return str(self.layer_combo.currentData() or "")

    @property
    def sort(self) -> str:
        """The unit order: a key of :data:`SORTS`."""
        return str(self.sort_combo.currentData())

    def caption_fields(self) -> dict[str, object]:
        """Layer, order, page and units of the Fig. 2 view (:func:`captions.dataset_fields`)."""
        return captions.dataset_fields(self.index, self.view_layer, self.sort, self.fig2.page,
                                       self.fig2.page_channels())

    def caption_dataset(self) -> str:
        """The dataset scanned (the figure is about it, not the current image)."""
        return captions.dataset_name(self.dataset)

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first layer a scan tracks by default (:func:`cnnviz.analyses.scan.defaults`: the first
        convolution), else the first listed."""
        model = self.state.model
        return (scan_analysis.defaults(model).layer if model is not None else "") or choices[0].name

    def analysis_result(self) -> scan_analysis.ScanAnalysis | None:
        """The index shown as the scan analysis's result (its report figure is the export): the Fig. 2 page on
        screen (layer, order, page, the projections and patches arrived so far) and the statistics at the
        threshold set; None while no index is shown."""
        model, ds, index, layer = self.state.model, self.dataset, self.index, self.view_layer
        if model is None or ds is None or index is None or not layer:
            return None
        chosen, _dropped = from_json(scan_analysis.Settings, self.settings() | {
            "layers": list(index.layers), "layer": layer, "k": index.k, "page": self.fig2.page,
            "batch_size": self.batch_size, "workers": self.loader_workers})
        channels = np.asarray(self.fig2.page_channels(), dtype=np.int64)
        stats = index.stats(layer)
        dead = stats.fire_rate <= 0.0
        images, positions, activations = scan_analysis.top_arrays(index, layer)
        found = {int(c): self.patches[(layer, int(c))] for c in channels if (layer, int(c)) in self.patches}
        size = self._input_size()
        projections, patches = scan_analysis.pictures(found, channels, index.k, (int(size[0]), int(size[1])))
        return scan_analysis.ScanAnalysis(
            settings=chosen, head=about(scan_analysis.NAME, model, Source.of_dataset(ds, self.caption_dataset())),
            partial=self.figure_partial(), index=index, layer=layer, stats=stats, order=index.order(layer, self.sort),
            channels=channels, dead=dead, nearly_dead=(stats.fire_rate <= chosen.threshold) & ~dead,
            top_images=images, top_positions=positions, top_activations=activations, projections=projections,
            patches=patches, hits=top_patches.hits_csv(index, ds, layer, [int(c) for c in channels]))

    def ask_folder(self) -> None:
        """Ask for an image folder (starting at the last one) and open it."""
        start = settings_store.load_path(dataset_source.FOLDER_KEY) or Path.home()
        chosen = QFileDialog.getExistingDirectory(self, "Scan an image folder", str(start))
        if chosen:
            self.open_folder(Path(chosen))

    def open_folder(self, path: Path) -> None:
        """Open the image folder ``path`` on the loader worker (remembered as the last folder)."""
        settings_store.save_path(dataset_source.FOLDER_KEY, path)
        self.open_source(dataset_source.FOLDER, path, f"Opening {path.name}…")

    def open_source(self, kind: str, path: Path | None, text: str) -> None:
        """Open a dataset (:func:`dataset_source.open_source`) in the background; it replaces the current one."""
        self.jobs.submit("open", text, dataset_source.open_source, kind, path, worker=self.controller.loader,
                         done=self._opened)

    def refresh(self) -> None:
        """List the layers to scan, look for a saved scan, and request the patches on screen."""
        model = self.state.model
        assert model is not None  # schedule() refreshes only with a model
        if self._checklist_for is not model:
            self._checklist_for = model
            self.jobs.submit("defaults", "Listing the convolutions…", scan.default_layers, model,
                             done=lambda names: self._defaults_listed(model, names))
        self._reopen_cache()
        self._request_patches()

    def clear_views(self) -> None:
        """Forget the index, its views and the layer list (a new model); a running scan is cancelled
        (and saved when it stops)."""
        self.cancel()
        if not self.running:
            self.run_request = None
        self.cache_file = None
        self._reopen_for = None
        self._checklist_for = self._scan_layers = None
        self.checklist.set_layers([], [])
        self.set_index(None)
        self.run_controls.reset_progress(IDLE_TEXT)

    def run(self) -> None:
        """Scan the dataset from the start with the ticked layers (a running scan is replaced)."""
        layers = self.checklist.checked()
        if not layers:
            self.jobs.show_error("Tick at least one layer to scan.")
            return
        self._start_scan(tuple(layers), None)

    def resume(self) -> None:
        """Continue the partial index shown."""
        if self.index is not None and self.index.partial and not self.running:
            self._start_scan(tuple(self.index.layers), self.index)

    def on_partial(self, item: Step) -> None:
        """The scan's latest partial index."""
        self._scanned = item.partial.index
        self.update_partial()

    def on_done(self, result: ScanIndex) -> None:
        """The complete index."""
        self._scanned = result

    def on_ended(self) -> None:
        """Save what the scan reached and show it (if it is still of the current model and dataset)."""
        request, index = self.run_request, self._scanned
        self._scanned = None
        if index is not None:
            self.jobs.submit(f"save {request.cache.name}", "Saving the scan…", jobs.save, index, request.cache,
                             worker=self.controller.loader, done=lambda _path: None)
            if request.model is self.state.model and request.dataset is self.dataset:
                self.set_index(index)
                self.source.show_dataset(self.dataset)
        if request.model is not self.state.model:
            self.run_request = None
        self._sync_buttons()

    def partial_progress(self) -> tuple[int, int] | None:
        """(images seen, images in all) of the index being built or shown."""
        index = self._scanned if self.running else self.index
        return (index.scanned, index.total) if index is not None else None

    def set_index(self, index: ScanIndex | None) -> None:
        """Show ``index`` (None: nothing); drops the patches computed for the previous one."""
        self.index = index
        self.patches.clear()
        self._patches_request = None
        self.selected = None
        self.detail.clear()
        layer = self.view_layer
        self.layer_combo.clear()
        for name in index.layers if index is not None else []:
            self.layer_combo.addItem(name, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(layer)))
        self._sync_sorts()
        self._show_layer()
        self._sync_buttons()
        self.update_partial()

    def _opened(self, ds: ImageDataset) -> None:
        self.cancel()
        self.dataset = ds
        self.source.show_dataset(ds)
        self.cache_file = None
        self._reopen_for = None
        self.set_index(None)
        self.jobs.show_info(f"Opened {ds.name}: {len(ds)} images.")
        self.state.set_dataset(ds)
        self.schedule()

    def _shared_dataset_changed(self, ds: ImageDataset | None) -> None:  # chosen in another pane
        if ds is not None and ds is not self.dataset:
            self._opened(ds)

    def scan_layer_settings(self) -> dict[str, Value]:
        """The ticked layers as the scan analysis's ``layers`` (those set from settings until they are listed)."""
        return {"layers": list(self._scan_layers if self._scan_layers is not None else self.checklist.checked())}

    def apply_scan_layer_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Tick the layers ``layers`` among ``values`` names (empty: the default ones), now if the list shows the
        current model's layers, else once it does; other names are unknown settings."""
        values = dict(values)
        given = {"layers": values.pop("layers")} if "layers" in values else {}
        problems = self.settings_binding.unknown_settings(values, strict)
        chosen, dropped = from_json(scan_analysis.Settings, given)
        unknown = [name for name in chosen.layers if self.picker.choices and self.picker.choice(name) is None]
        if unknown:
            dropped["layers"] = f"no layer {', '.join(unknown)} in this model"
        if not given or dropped:
            return problems | dropped
        if chosen.layers and self.checklist.layers():
            self.checklist.set_layers(self.picker.choices, chosen.layers)
        else:
            self._scan_layers = list(chosen.layers)
            self._checklist_for = None  # listed again (with the default layers where none are named)
            self.schedule()
        return problems

    def _defaults_listed(self, model: LoadedModel, names: list[str]) -> None:
        if model is self.state.model:
            self.checklist.set_layers(self.picker.choices, self._scan_layers or names)
            self._scan_layers = None

    def _reopen_cache(self) -> None:
        model, ds = self.state.model, self.dataset
        if ds is None or model is None or self.running:
            return
        if self._reopen_for is not None and self._reopen_for[0] is model and self._reopen_for[1] is ds:
            return
        self._reopen_for = (model, ds)
        self.jobs.submit("reopen", "Looking for a saved scan…", jobs.reopen, settings_store.data_folder(SCANS_FOLDER),
                         model, ds, done=lambda found: self._reopened(model, ds, *found))

    def _reopened(self, model: LoadedModel, ds: ImageDataset, path: Path, index: ScanIndex | None) -> None:
        if model is not self.state.model or ds is not self.dataset:
            return
        self.cache_file = path
        if index is not None and self.index is None and not self.running:
            self.set_index(index)
            self.jobs.show_info(f"Reopened the saved scan of {ds.name} ({index.scanned} of {index.total} images).")
        self._sync_buttons()

    def _start_scan(self, layers: tuple[str, ...], resume: ScanIndex | None) -> None:
        model, ds, cache = self.state.model, self.dataset, self.cache_file
        if model is None or ds is None:
            self.jobs.show_error("Choose a dataset to scan first.")
            return
        if cache is None:
            self.jobs.show_info("Still looking for a saved scan of this dataset; try again in a moment.")
            return
        request = ScanRequest(model, ds, layers, resume, cache)
        self._scanned = resume
        self.start(jobs.scan_job, request, model, ds, layers, text=f"Scanning {ds.name}…", resume=resume,
                   workers=self.loader_workers, batch_size=self.batch_size)
        self.set_index(None)

    def _sync_buttons(self) -> None:
        index = self.index
        self.resume_button.setEnabled(index is not None and index.partial and not self.running)
        self.run_button.setEnabled(self.dataset is not None)

    def _sync_sorts(self) -> None:
        labelled = self.index is not None and self.index.labels is not None
        current = self.sort
        self.sort_combo.clear()
        for key, title in SORTS.items():
            if key != "selectivity" or labelled:
                self.sort_combo.addItem(title, key)
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(current)))

    def _show_layer(self) -> None:
        index, layer = self.index, self.view_layer
        self.selected = None
        self.detail.clear()
        if index is None or not layer:
            waiting = "Scanning…" if self.running else "Scan a dataset to see what its units detect."
            self.fig2.set_order([], waiting)
            self.stats.clear()
            self.heading.clear()
            self.export.set_enabled(False)
            return
        self.stats.show_layer(index, layer)
        self.fig2.set_order(index.order(layer, self.sort))
        self.export.set_enabled(True)

    def _page_changed(self) -> None:
        index, layer = self.index, self.view_layer
        if index is None or not layer:
            return
        self.heading.setText(f"<b>{layer}</b> on {self.caption_dataset()}: each unit's {index.k} strongest images — "
                             f"deconvnet projections (left) and image patches (right), sorted by "
                             f"{SORTS[self.sort].lower()}, page {self.fig2.page}")
        self.fig2.show_page(self._captions(self.fig2.page_channels()), self._shown_patches(), self._input_size())
        self._request_patches()

    def _captions(self, channels: list[int]) -> dict[int, str]:
        if self.index is None:
            return {}
        stats = self.index.stats(self.view_layer)
        return {c: f"<b>unit {c}</b> · max {stats.max[c]:.3g} · fires {stats.fire_rate[c]:.0%}"
                + ("" if (self.view_layer, c) in self.patches else " · projecting…") for c in channels}

    def _shown_patches(self) -> dict[int, list[HitPatch]]:
        layer = self.view_layer
        return {c: self.patches[(layer, c)] for c in self.fig2.page_channels() if (layer, c) in self.patches}

    def _input_size(self) -> tuple[int, int]:
        model = self.state.model
        return model.input_size if model is not None else (1, 1)

    def _request_patches(self) -> None:
        model, ds, index, layer = self.state.model, self.dataset, self.index, self.view_layer
        if model is None or ds is None or index is None or not layer or not self.isVisible():
            return
        wanted = self.fig2.page_channels() + ([self.selected] if self.selected is not None else [])
        missing = tuple(dict.fromkeys(c for c in wanted if (layer, c) not in self.patches))
        if not missing:
            return
        request = PatchesRequest(model, index, layer, missing)
        if self.jobs.is_running("patches") and request.same(self._patches_request):
            return
        self._patches_request = request
        task = self.jobs.submit("patches", f"Projecting {len(missing)} units of {layer}…", jobs.patches_job,
                                model, ds, index, layer, missing,
                                done=lambda found: self._patches_arrived(request, found))
        task.partial.connect(lambda item: self._patches_arrived(request, item.partial))

    def _patches_arrived(self, request: PatchesRequest, found: dict[int, list[HitPatch]]) -> None:
        if request.model is not self.state.model or request.index is not self.index:
            return
        new = [c for c in found if (request.layer, c) not in self.patches]
        for channel in new:
            self.patches[(request.layer, channel)] = found[channel]
        if request.layer != self.view_layer:
            return
        captions = self._captions(new)
        for channel in new:
            cell = self.fig2.cell_of(channel)
            if cell is not None:
                cell.show_unit(channel, captions[channel], found[channel], self._input_size())
        if self.selected in new:
            self._show_detail()

    def select_unit(self, channel: int) -> None:
        """Enlarge unit ``channel`` of the layer shown (and draw its class profile)."""
        if self.index is None:
            return
        self.selected = channel
        self.stats.select_unit(channel)
        self._show_detail()
        self._request_patches()

    def _show_detail(self) -> None:
        channel, layer = self.selected, self.view_layer
        if channel is None or self.index is None:
            return
        patches = self.patches.get((layer, channel))
        title = f"<b>{layer}</b> · unit {channel}"
        if patches is None:
            self.detail.clear(f"{title}: projecting…")
        else:
            self.detail.show_unit(title, patches, self._input_size())

    def open_hit(self, rank: int) -> None:
        """Make the image of hit ``rank`` of the enlarged unit current (decoded on the loader worker) and
        open the Deconvnet pane on that unit and position."""
        layer, channel, ds = self.view_layer, self.selected, self.dataset
        patches = self.patches.get((layer, channel)) if channel is not None else None
        if ds is None or channel is None or patches is None or not 0 <= rank < len(patches):
            return
        patch = patches[rank]
        self.jobs.submit("hit", f"Opening {patch.name}…", ds.image, patch.hit.image, worker=self.controller.loader,
                         done=lambda image: self._show_hit(ds, layer, channel, patch, image))

    def _show_hit(self, ds: ImageDataset, layer: str, channel: int, patch: HitPatch, image: Image.Image) -> None:
        if ds is not self.dataset:
            return
        path = ds.path(patch.hit.image) if ds.kind == dataset_source.FOLDER else None
        self.controller.set_image(image, patch.name, path)
        self.state.set_layer(layer)
        self.state.set_channel(channel)
        self.state.set_position(patch.hit.position)
        self.state.request_pane("deconvnet")

    def _export_name(self) -> str:
        name = self.dataset.name if self.dataset is not None else "dataset"
        return f"dataset-{name}-{self.view_layer}-page{self.fig2.page}"

