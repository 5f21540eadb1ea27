"""The Dataset pane: what each unit detects across an image folder (Zeiler & Fergus 2014, Fig. 2), and
which units never fire.

The pane is a view of the scan analysis (:mod:`cnnviz.analyses.scan`), whose two stages it runs itself.
Choose a source (:mod:`~cnnviz.gui.panes.dataset.sources`: a folder, opened on the loader worker, or
Fashion-MNIST test; also the dataset another pane chose) and the layers (:mod:`~.scan_layers`), then Scan: a
:class:`~cnnviz.gui.panes.run_pane.RunPane` run of the first stage (:func:`cnnviz.analyses.scan.scan_steps`,
each step's partial a :class:`~cnnviz.analyses.scan.ScanAnalysis`) with images/s and the time left. Cancel keeps
the partial index and Resume continues it. Every index a scan ends with is saved under the application's data
folder and reopened for the same model and dataset. The view (:mod:`~.view`) pages through a layer's units: for
each page, order, layer or threshold the pane builds the result of what is shown from the index
(:func:`cnnviz.analyses.scan.shown_result`, :meth:`DatasetPane.analysis_result`) and the view draws it; the
projected hits of the units on screen come from the second stage (:func:`cnnviz.analyses.scan.patch_steps`, for
the missing units only, on the compute worker, :mod:`~.patch_fetcher`) and are kept until the model or index
changes. Click a unit to enlarge it, one of its hits to make that image current and open Deconvnet on the unit
and position.

The form (``form``) holds the scan analysis's ``sort``, ``per_page`` and ``threshold`` (the last two are the
page's and the statistics' own spin boxes); the ticked layers are its ``layers``, so a session keeps them. The
figure's export and caption are the result shown (:meth:`DatasetPane.analysis_result`).
"""

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPushButton, QSplitter, QVBoxLayout, QWidget

from cnnviz.analyses import scan as scan_analysis
from cnnviz.analyses.base import Source, about
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.core.progress import Step
from cnnviz.gui.panes.dataset.fig2 import export_name, write_hits
from cnnviz.gui.panes.dataset.jobs import ScanRequest
from cnnviz.gui.panes.dataset.patch_fetcher import PatchFetcher
from cnnviz.gui.panes.dataset.scan_layers import ScanLayers
from cnnviz.gui.panes.dataset.scan_settings import scan_settings, shown_settings
from cnnviz.gui.panes.dataset.sources import ScanSources
from cnnviz.gui.panes.dataset.view import SORT_TITLES, ScanView, offer_selectivity
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.runtime import dataset_source
from cnnviz.gui.widgets.control_values import Custom
from cnnviz.gui.widgets.dataset_source import SourceRow
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.settings_form import SettingsForm
from cnnviz.gui.widgets.shortcuts import add_shortcut

IDLE_TEXT = "Choose a dataset and the layers, then Scan (Ctrl+R)"
BATCH_SIZE = 64
CHECKLIST_WIDTH = 230  # starting width of the layer list, in pixels


def scan_form(view: ScanView) -> SettingsForm:
    """The form of the scan analysis's unit order (a combo box), units per page and nearly-dead threshold (the
    spin boxes of ``view``'s page and statistics, which keep their own places)."""
    per_page, threshold = view.fig2.per_page_spin, view.stats.threshold_spin
    form = SettingsForm(scan_analysis.Settings, fields=("sort", "per_page", "threshold"), titles={"sort": SORT_TITLES},
                        overrides={"per_page": Custom(per_page.value, per_page.setValue, per_page.valueChanged),
                                   "threshold": Custom(threshold.value, threshold.setValue, threshold.valueChanged)},
                        initial=scan_analysis.Settings(per_page=per_page.value(), threshold=threshold.value()))
    sort = form.widget("sort")
    assert isinstance(sort, QComboBox)
    sort.setToolTip("Order of the units (largest first, but by number)")
    sort.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    sort.setMinimumContentsLength(10)
    shrinkable(sort)
    return form


class DatasetPane(RunPane):
    """Source, layers, Scan/Cancel/Resume and the view of the scan (``view``).

    ``dataset``: the dataset chosen; ``index``: the scan shown (None while scanning or before any);
    ``cache_file``: where the index of the current model and dataset is saved; ``loader_workers``: DataLoader
    worker processes of a scan (None: automatic); ``batch_size``: images per forward pass of a scan. Parts:
    ``sources`` (datasets and saved scans), ``scan_layers`` (the ticked layers), ``patch_fetcher`` (the
    projected hits of the units on screen, into the view), ``form`` and ``view`` (which draws
    :meth:`analysis_result`).
    """

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "dataset", layer_choices, parent, unit="images", run_title="Scan",
                         rate=True, layer_keys=False)
        self.run_button.setToolTip("Scan the dataset with the ticked layers (Ctrl+R)")
        self.dataset: ImageDataset | None = None
        self.index: ScanIndex | None = None
        self.cache_file: Path | None = None
        self.loader_workers: int | None = None
        self.batch_size = BATCH_SIZE
        self._scanned: ScanIndex | None = None
        self.sources = ScanSources(self.jobs, self.controller.loader, self)
        self.view = ScanView()
        self.patch_fetcher = PatchFetcher(self.jobs, self.view, lambda request: request.model is self.state.model
                                          and request.index is self.index, lambda: self.show_result(fetch=False), self)
        self.scan_layers = ScanLayers(self.jobs, self.picker, self.settings_binding.unknown_settings, self.schedule,
                                      self)
        self.form = scan_form(self.view)
        self._build()
        self._connect()
        self.settings_binding.register(self.form)
        self.settings_binding.add_extra(self.scan_layers.settings, self.scan_layers.apply_settings)
        self.clear_views()

    def _build(self) -> None:
        view = self.view
        self.source, self.checklist, self.resume_button = SourceRow(), self.scan_layers.checklist, QPushButton("Resume")
        self.resume_button.setToolTip("Continue the partial scan shown")
        self.fig2, self.detail, self.stats, self.patches = view.fig2, view.detail, view.stats, view.patches
        self.make_figure(lambda: export_name(self.dataset, view.view_layer, view.fig2.page), dict, view.heading,
                         view.fig2, extra=lambda png: write_hits(png, self.analysis_result()))
        view.add_figure(self.figure_area)
        view.row.addWidget(self.form, 1)
        view.row.addWidget(self.export.button)
        view.fig2.controls.addStretch(1)
        views = QWidget()
        layout = QVBoxLayout(views)
        layout.setContentsMargins(0, 0, 0, 0)
        for row in (view.row, view.fig2.controls):
            layout.addLayout(row)
        layout.addWidget(view.tabs, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.checklist)
        splitter.addWidget(views)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([CHECKLIST_WIDTH, 4 * CHECKLIST_WIDTH])
        splitter.setChildrenCollapsible(False)
        self.arrange(self.source, self.run_controls.row(self.resume_button, self.partial_label), body=splitter,
                     with_layer_row=False)

    def _connect(self) -> None:
        self.state.dataset_changed.connect(lambda ds: self._opened(ds) if ds is not None and ds is not self.dataset
                                           else None)  # chosen in another pane
        self.source.folder_requested.connect(self.sources.ask_folder)
        self.source.fashion_mnist_requested.connect(lambda: self.sources.open_source(
            dataset_source.FASHION_MNIST, None, "Opening Fashion-MNIST…"))
        self.sources.opened.connect(self._opened)
        self.sources.reopened.connect(self._reopened)
        self.resume_button.clicked.connect(self.resume)
        self.form.changed.connect(lambda name: self.view.show_layer() if name == "sort" else None)
        self.form.changed.connect(lambda name: self.show_result(fetch=False) if name == "threshold" else None)
        self.view.result_wanted.connect(self.show_result)
        self.view.patches_wanted.connect(self._request_patches)
        self.view.hit_chosen.connect(self.open_hit)
        add_shortcut(self, Qt.Key.Key_PageUp, lambda: self.view.fig2.step_page(-1), "Previous page of units")
        add_shortcut(self, Qt.Key.Key_PageDown, lambda: self.view.fig2.step_page(1), "Next page of units")

    def caption_fields(self) -> dict[str, object]:
        """The caption fields of :meth:`analysis_result` (the settings of the page shown and what they resolved
        to: layers, units, images scanned, dead units), else of the form's settings."""
        result = self.analysis_result()
        if result is not None:
            return dict(result.caption().fields)
        return self.form.settings(layers=tuple(self.checklist.checked())).caption_fields()

    def caption_dataset(self) -> str:
        """The dataset scanned (the figure is about it, not the current image)."""
        return self.dataset.name if self.dataset is not None else "none"

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first layer a scan tracks by default (:func:`cnnviz.analyses.scan.defaults`: the first
        convolution's rectified output), else the first listed."""
        model = self.state.model
        return (scan_analysis.defaults(model).layer if model is not None else "") or choices[0].name

    def analysis_result(self) -> scan_analysis.ScanAnalysis | None:
        """The scan analysis's result of what is shown (its report figure is the export): the layer shown, the
        Fig. 2 page on screen in the order chosen with the projected hits that came so far, and the statistics at
        the threshold set (:func:`cnnviz.analyses.scan.shown_result`); None while no index is shown."""
        model, ds, index, layer = self.state.model, self.dataset, self.index, self.view.view_layer
        if model is None or ds is None or index is None or layer not in index.layers:
            return None
        settings = shown_settings(self.form, index, layer, self.fig2.page, batch_size=self.batch_size,
                                  workers=self.loader_workers)
        channels = scan_analysis.shown_units(index, layer, settings)
        found = {int(c): self.patches[(layer, int(c))] for c in channels if (layer, int(c)) in self.patches}
        return scan_analysis.shown_result(settings, about(scan_analysis.NAME, model, Source.of_dataset(ds)), ds,
                                          index, layer, channels, found, self.view.input_size,
                                          partial=self.figure_partial())

    def show_result(self, fetch: bool = True) -> None:
        """Draw :meth:`analysis_result` and, with ``fetch``, project the hits of the units on screen that have
        none yet."""
        self.view.show_result(self.analysis_result())
        if fetch:
            self._request_patches()

    def open_folder(self, path: Path) -> None:
        """Open the image folder ``path`` on the loader worker (remembered as the last folder)."""
        self.sources.open_folder(path)

    def refresh(self) -> None:
        """List the layers to scan, look for a saved scan, and request the patches on screen."""
        model = self.state.model
        assert model is not None  # schedule() refreshes only with a model
        self.scan_layers.list_for(model)
        if self.dataset is not None and not self.running:
            self.sources.look_for_scan(model, self.dataset)
        self._request_patches()

    def clear_views(self) -> None:
        """Forget the index, its views and the layer list (a new model); a running scan is cancelled
        (and saved when it stops)."""
        self.cancel()
        if not self.running:
            self.run_request = None
        self.cache_file = None
        self.sources.forget()
        self.scan_layers.clear()
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
        """The scan's latest partial result (its index; None before an image is scored)."""
        if item.partial is not None:
            self._scanned = item.partial.index
        self.update_partial()

    def on_done(self, result: scan_analysis.ScanAnalysis) -> None:
        """The scan's result (its complete index)."""
        self._scanned = result.index

    def on_ended(self) -> None:
        """Save what the scan reached and show it (if it is still of the current model and dataset)."""
        request, index = self.run_request, self._scanned
        self._scanned = None
        if index is not None:
            self.sources.save(index, request.cache)
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
        self.patch_fetcher.forget()
        model = self.state.model
        self.view.input_size = model.input_size if model is not None else (1, 1)
        self.view.set_index(index, "Scanning…" if self.running else "")
        offer_selectivity(self.form.widget("sort"), index is not None and index.labels is not None)
        self.export.set_enabled(index is not None)
        self._sync_buttons()
        self.update_partial()

    def _opened(self, ds: ImageDataset) -> None:
        self.cancel()
        self.dataset = ds
        self.source.show_dataset(ds)
        self.cache_file = None
        self.sources.forget()
        self.set_index(None)
        self.jobs.show_info(f"Opened {ds.name}: {len(ds)} images.")
        self.state.set_dataset(ds)
        self.schedule()

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
        settings = scan_settings(self.form, ds, layers, resume, batch_size=self.batch_size,
                                 workers=self.loader_workers)
        self._scanned = resume
        self.start(scan_analysis.scan_steps, request, model, Source.of_dataset(ds), settings,
                   text=f"Scanning {ds.name}…", on_copy=True, resume=resume)
        self.set_index(None)

    def _sync_buttons(self) -> None:
        index = self.index
        self.resume_button.setEnabled(index is not None and index.partial and not self.running)
        self.run_button.setEnabled(self.dataset is not None)

    def _request_patches(self) -> None:
        model, ds, index, layer = self.state.model, self.dataset, self.index, self.view.view_layer
        if model is None or ds is None or index is None or layer not in index.layers or not self.isVisible():
            return
        missing = self.view.missing_channels()
        if missing:
            settings = shown_settings(self.form, index, layer, self.fig2.page, batch_size=self.batch_size,
                                      workers=self.loader_workers)
            self.patch_fetcher.fetch(model, ds, index, settings, missing)

    def open_hit(self, layer: str, channel: int, patch: HitPatch) -> None:
        """Make the image of the hit ``patch`` of unit ``channel`` of ``layer`` current (decoded on the loader
        worker) and open the Deconvnet pane on that unit and position."""
        ds = self.dataset
        if ds is not None:
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
