"""The Occlusion pane: occlusion sensitivity maps (Zeiler & Fergus 2014, Fig. 7).

A square occluder (window, stride, fill) slides over the input; for every position the pane maps
(b) the total activation of the strongest feature map of the chosen layer, beside (c) that map's
deconvnet projection for the unoccluded image, (d) the probability of the target class (the shared
target: the top-1 class unless one is picked in the Predictions pane) and (e) the most probable
class, each over the input with an opacity slider. Maps fill in as batches complete; a cancelled run
keeps its partial maps, marked "PARTIAL". Hovering a map shows the occluder there, the values and
the occluded image. A new target class runs again; a new image or model clears the result (or runs
again with "Auto"), as does any change of the settings with "Auto". The work runs on the compute
worker (:func:`cnnviz.core.per_image.occlusion.occlusion_job`), with Run/Cancel, progress and PARTIAL from
:class:`~cnnviz.gui.panes.run_pane.RunPane`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.occlusion import OcclusionAnalysis, Settings
from cnnviz.analyses.settings import from_json
from cnnviz.core.model.models import LoadedModel, class_name
from cnnviz.core.per_image import deconv, occlusion
from cnnviz.core.per_image.deconv import Projection
from cnnviz.core.per_image.occlusion import OcclusionResult, OcclusionRun
from cnnviz.core.progress import Step
from cnnviz.gui.panes import captions
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.panes.tool_pane import same_request, shrinkable
from cnnviz.gui.widgets.class_colours import class_counts, class_image, colours_in_order, legend_html
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.figure_render import mark_transient, while_exported
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.map_view import MapCanvas, MapPanel
from cnnviz.gui.widgets.pointer import hover_left

FILL_TITLES = {"mean": "Mean (grey)", "black": "Black", "blur": "Blurred patch", "noise": "Noise"}
IDLE_TEXT = "Press Run (Ctrl+R) to compute the maps"
FEATURE_TITLE = "(b) Strongest feature map"
PROB_TITLE = "(d) Target probability"
"""Titles of panels (b) and (d) while no maps are shown (with maps they name the layer and class)."""
MAX_BATCH = 512
"""Largest batch the batch box offers (the core lowers any batch to what fits in memory)."""


@dataclass(frozen=True, eq=False)
class OcclusionRequest:
    """What one run computes: ``model`` and input ``x`` (compared by identity; None while there is none), the
    ``target`` class (None: top-1), occluder ``window``/``stride`` (px), ``fill``, ``layer`` (None: no feature map),
    noise ``seed`` and ``batch_size`` (None: automatic)."""

    model: LoadedModel | None
    x: torch.Tensor | None
    target: int | None
    window: int
    stride: int
    fill: str
    layer: str | None
    seed: int
    batch_size: int | None


def place_overlay(canvas: MapCanvas, result: OcclusionResult) -> None:
    """Put the overlay item of ``canvas`` over the input area the maps cover."""
    canvas.overlay_item.setRect(QRectF(*result.extent()))


class OcclusionPane(RunPane):
    """Occluder settings, Run/Cancel with progress, the Fig. 7 figure and its exports."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "occlusion", layer_choices, parent, unit="positions")
        self.run_button.setToolTip("Compute the occlusion maps (Ctrl+R)")
        self._build_controls()
        self._build_figure()
        self.arrange(*self._settings_rows(), self.run_controls.row(), self._display_row())
        self.result: OcclusionResult | None = None
        self.projection: Projection | None = None
        self._fill_source: tuple[tuple, torch.Tensor] | None = None
        self._connect()
        self._fill_changed()
        self.settings_binding.register(window=self.window_spin, stride=self.stride_spin, fill=self.fill_combo,
                                       seed=self.seed_spin, batch_size=self.batch_spin, auto=self.auto_check,
                                       colormap=self.colormap_picker, opacity=self.opacity_slider)
        self.clear_views()

    def _build_controls(self) -> None:
        self.window_spin = self._pixel_spin("Side of the square occluder, in input pixels")
        self.stride_spin = self._pixel_spin("Step between occluder positions, in input pixels")
        self.fill_combo = QComboBox()
        for key, title in FILL_TITLES.items():
            self.fill_combo.addItem(title, key)
        self.fill_combo.setToolTip("What the occluder shows: the dataset mean colour (the paper's grey "
                                   "square), black, a blurred copy of the patch or seeded noise")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("Seed of the noise fill")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, MAX_BATCH)
        self.batch_spin.setSpecialValueText("auto")
        self.batch_spin.setPrefix("batch ")
        self.batch_spin.setToolTip(f"Occluded images per forward pass, at most {MAX_BATCH} (auto: 64); either is "
                                   "lowered to what fits in memory and keeps a batch short")
        self.auto_check = QCheckBox("Auto")
        self.auto_check.setToolTip("Run again when the image, model, layer or settings change "
                                   "(otherwise a new image clears the maps)")
        self.colormap_picker = ColormapPicker("inferno")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(70)
        self.opacity_slider.setToolTip("Opacity of the maps over the input")
        self.opacity_slider.setMinimumWidth(60)
        self.opacity_slider.setMaximumWidth(180)
        self.data_button = QPushButton("Export data…")
        self.data_button.setToolTip("Save the raw maps as .npy files and a CSV of all positions")
        shrinkable(self.window_spin, self.stride_spin, self.fill_combo, self.seed_spin, self.batch_spin,
                   self.colormap_picker)

    @staticmethod
    def _pixel_spin(tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(1, 4096)
        spin.setSuffix(" px")
        spin.setToolTip(tip)
        return spin

    def _build_figure(self) -> None:
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.input_panel = MapPanel("Input", zoomable=False)
        self.feature_panel = MapPanel(FEATURE_TITLE, colorbar=True, zoomable=False)
        self.projection_panel = MapPanel("(c) Its deconvnet projection", zoomable=False)
        self.prob_panel = MapPanel(PROB_TITLE, colorbar=True, zoomable=False)
        self.class_panel = MapPanel("(e) Most probable class", zoomable=False)
        self.class_panel.detail.setTextFormat(Qt.TextFormat.RichText)
        grid = QGridLayout()
        grid.addWidget(self.input_panel, 0, 0)
        grid.addWidget(self.feature_panel, 0, 1)
        grid.addWidget(self.projection_panel, 0, 2)
        grid.addWidget(self.prob_panel, 1, 0)
        grid.addWidget(self.class_panel, 1, 1, 1, 2)
        for index in range(3):
            grid.setColumnStretch(index, 1)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.partial_label)
        self.make_figure(self._export_name, self._export_data, header, grid)
        self.panels = (self.input_panel, self.feature_panel, self.projection_panel, self.prob_panel, self.class_panel)
        while_exported(self.figure, lambda: hover_left(panel.canvas for panel in self.panels))  # un-hovered

    def _settings_rows(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        rows = (QHBoxLayout(), QHBoxLayout())
        for row, widgets in zip(rows, ((QLabel("Fill"), self.fill_combo, self.seed_spin, self.batch_spin,
                                        self.auto_check),
                                       (QLabel("Window"), self.window_spin, QLabel("Stride"), self.stride_spin))):
            for widget in widgets:
                row.addWidget(widget)
            row.addStretch(1)
        return rows

    def _display_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for widget in (QLabel("Colormap"), self.colormap_picker, QLabel("Opacity"), self.opacity_slider):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.data_button)
        return row

    def _connect(self) -> None:
        self.data_button.clicked.connect(self.export_data)
        self.colormap_picker.colormap_changed.connect(lambda _name: self._redraw())
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        self.fill_combo.currentIndexChanged.connect(self._fill_changed)
        for spin in (self.window_spin, self.stride_spin, self.seed_spin):
            spin.valueChanged.connect(lambda _value: self._settings_changed())
        self.fill_combo.currentIndexChanged.connect(lambda _index: self._settings_changed())
        self.state.target_changed.connect(lambda _index: self.schedule())
        self.state.model_changed.connect(self._set_defaults)
        for panel in self.panels:
            panel.canvas.hovered.connect(self._hovered)
            mark_transient(panel.canvas.box_item)  # the occluder under the mouse

    @property
    def fill(self) -> str:
        """The occluder fill: one of :data:`cnnviz.core.per_image.occlusion.FILLS`."""
        return str(self.fill_combo.currentData())

    def caption_fields(self) -> dict[str, object]:
        """Target, occluder window, stride and fill, and the feature map (:func:`captions.occlusion_fields`)."""
        return captions.occlusion_fields(self.run_request or self.request(), self.result, self.figure_part.class_text)

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The last ReLU or convolution with feature maps (:func:`cnnviz.analyses.layer_rules.last_rectified`)."""
        model = self.state.model
        return layer_rules.last_rectified(model) if model is not None else choices[-1].name

    def analysis_result(self) -> OcclusionAnalysis | None:
        """The maps shown, as the occlusion analysis's result (its report figure is the export)."""
        request, result, model = self.run_request, self.result, self.state.model
        if request is None or result is None or model is None:
            return None
        chosen, _dropped = from_json(Settings, self.settings() | {
            "layer": request.layer or "", "target": request.target, "window": request.window,
            "stride": request.stride})
        shown = None if self.projection is None else deconv.to_display(self.projection.image)
        source = Source(self.state.image_name, request.x)
        return OcclusionAnalysis(settings=chosen, head=about("occlusion", model, source), partial=self.figure_partial(),
                                 maps=result, image=np.asarray(model.deprocess(request.x)), projection=shown,
                                 classes=tuple(model.categories))

    def request(self) -> OcclusionRequest:
        """The :class:`OcclusionRequest` of a run now."""
        return OcclusionRequest(
            model=self.state.model, x=self.state.input_tensor,
            target=self.state.target if self.state.target >= 0 else None, window=self.window_spin.value(),
            stride=self.stride_spin.value(), fill=self.fill, layer=self.layer or None,
            seed=self.seed_spin.value(), batch_size=self.batch_spin.value() or None)

    def run(self) -> None:
        """Start computing the maps with the current settings (a running one is replaced)."""
        request = self.request()
        if request.model is None or request.x is None or not self.layer:
            return
        self.clear_result()
        height, width = request.x.shape[-2:]
        tops, lefts = occlusion.grid((height, width), request.window, request.stride)
        self.start(occlusion.occlusion_job, request, request.model, request.x, text="Occluding…",
                   planned=len(tops) * len(lefts),
                   target=request.target, window=request.window, stride=request.stride, fill=request.fill,
                   layer=request.layer, batch_size=request.batch_size, seed=request.seed)

    def clear_result(self) -> None:
        """Forget the shown result and empty the maps."""
        self.result = self.projection = None
        self._fill_source = None
        for panel in (self.feature_panel, self.prob_panel, self.class_panel, self.projection_panel):
            panel.canvas.clear_image()
            panel.detail.clear()
        self.input_panel.canvas.set_box(None)
        self.input_panel.detail.clear()
        self.feature_panel.set_title(FEATURE_TITLE)
        self.prob_panel.set_title(PROB_TITLE)
        self.update_partial()
        self.summary.clear()
        self.run_controls.reset_progress(IDLE_TEXT)
        self.export.set_enabled(False)
        self.data_button.setEnabled(False)
        self._show_input()

    def clear_views(self) -> None:
        """Show nothing (new model)."""
        self.cancel()
        self.run_request = None
        self.clear_result()
        self.input_panel.canvas.clear_image()

    def refresh(self) -> None:
        """Keep the figure in step with the state: a new image or model clears the maps (or runs
        again with Auto); a new target class runs again when maps are shown or being computed."""
        if self.state.input_tensor is None:
            return
        wanted, shown = self.request(), self.run_request
        if shown is None:
            self._show_input()
            if self.auto_check.isChecked():
                self.run()
            return
        if not same_request((shown.model, shown.x), (wanted.model, wanted.x)):
            if self.auto_check.isChecked():
                self.run()
            else:
                self.clear_views()
                self.jobs.show_info("The image or model changed: press Run (Ctrl+R) for new maps.")
            return
        if same_request(shown, wanted):
            return
        if self.auto_check.isChecked() or shown.target != wanted.target:
            self.run()

    def export_data(self) -> list[Path] | None:
        """Ask for a file name and save the raw maps (:func:`cnnviz.core.per_image.occlusion.save_data`); None
        if cancelled."""
        if self.result is None:
            return None
        result = self.result
        written = save_with_dialog(self, "Export occlusion data", f"cnnviz-{self._export_name()}",
                                   "NumPy arrays and CSV (*.npy *.csv)",
                                   lambda path: occlusion.save_data(result, path), "Could not export the data")
        if written is None:
            return None
        self.state.show_status(f"Saved {len(written)} files beside {written[0]}")
        return written

    def on_partial(self, item: Step) -> None:
        """Show the maps so far."""
        self._show(item.partial)

    def on_done(self, result: OcclusionRun) -> None:
        """Show the complete maps."""
        self._show(result)

    def partial_progress(self) -> tuple[int, int] | None:
        """(done, total) positions of the maps shown."""
        return (self.result.done, self.result.total) if self.result is not None else None

    def _settings_changed(self) -> None:
        if self.auto_check.isChecked():
            self.schedule()

    def _fill_changed(self) -> None:
        self.seed_spin.setEnabled(self.fill == "noise")

    def _set_defaults(self, model: LoadedModel) -> None:
        size = min(model.input_size)
        for spin in (self.window_spin, self.stride_spin):
            spin.blockSignals(True)
        self.window_spin.setRange(1, size)
        self.stride_spin.setRange(1, size)
        self.window_spin.setValue(occlusion.default_window(size))
        self.stride_spin.setValue(occlusion.default_stride(occlusion.default_window(size)))
        for spin in (self.window_spin, self.stride_spin):
            spin.blockSignals(False)

    def _input_pixels(self) -> np.ndarray | None:
        seen = self.state.seen_image
        return image_array(seen) if seen is not None else None

    def _show_input(self) -> None:
        pixels = self._input_pixels()
        canvases = [self.input_panel.canvas, self.feature_panel.canvas, self.prob_panel.canvas,
                    self.class_panel.canvas]
        for canvas in canvases:
            if pixels is None:
                canvas.clear_image()
            else:
                canvas.set_image(pixels, (0, 255))

    def _show(self, run: OcclusionRun) -> None:
        result, projection, projection_error = run.result, run.projection, run.projection_error
        if self.result is None or self.result.target != result.target:
            self._fill_source = None
        self.result, self.projection = result, projection
        self._redraw()
        if projection is not None:
            display = deconv.to_display(projection.image)
            self.projection_panel.canvas.set_image(display[:, :, 0] if display.shape[2] == 1 else display)
            self.projection_panel.detail.setText(
                f"channel {projection.channel} at {projection.position}, unoccluded image"
                if projection.position is not None else f"unit {projection.channel}, unoccluded image")
        elif projection_error:
            self.projection_panel.canvas.clear_image()
            self.projection_panel.detail.setText(f"No projection: {projection_error}")
        self.export.set_enabled(True)
        self.data_button.setEnabled(True)
        self.update_partial()

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            return
        names = result.classes
        target_name = class_name(names, result.target)
        self.summary.setText(
            f"Occluder {result.window}×{result.window} px, stride {result.stride} px, fill "
            f"{FILL_TITLES[result.fill].lower()} — {len(result.positions[0])}×{len(result.positions[1])} "
            f"positions. Target <b>{target_name}</b>: p = {result.baseline_prob:.3f} unoccluded.")
        colormap_name = self.colormap_picker.name()
        opacity = self.opacity_slider.value() / 100
        self.prob_panel.set_title(f"(d) Probability of {target_name}")
        self.prob_panel.canvas.set_overlay(result.prob, (0.0, 1.0), colormap_name, opacity)
        self.prob_panel.canvas.set_colorbar((0.0, 1.0), colormap_name, "probability")
        place_overlay(self.prob_panel.canvas, result)
        if result.feature is not None:
            levels = self._feature_levels(result)
            self.feature_panel.set_title(f"(b) {result.layer}, map {result.channel}: total activation")
            self.feature_panel.canvas.set_overlay(result.feature, levels, colormap_name, opacity)
            self.feature_panel.canvas.set_colorbar(levels, colormap_name, "Σ activation")
            self.feature_panel.detail.setText(f"unoccluded: {result.baseline_feature:.4g}")
            place_overlay(self.feature_panel.canvas, result)
        canvas = self.class_panel.canvas
        canvas.overlay = None
        canvas.overlay_item.setLookupTable(None)
        colours = colours_in_order(result.top_class.ravel())
        canvas.overlay_item.setImage(class_image(result.top_class, colours), autoLevels=False, levels=(0, 255))
        canvas.overlay_item.setOpacity(opacity)
        place_overlay(canvas, result)
        self.class_panel.detail.setText(legend_html(class_counts(result.top_class), names, colours, "positions"))

    @staticmethod
    def _feature_levels(result: OcclusionResult) -> tuple[float, float]:
        values = result.feature[np.isfinite(result.feature)] if result.feature is not None else np.array([])
        if values.size == 0:
            return 0.0, 1.0
        return float(values.min()), float(values.max())

    def _opacity_changed(self, value: int) -> None:
        for panel in (self.feature_panel, self.prob_panel, self.class_panel):
            panel.canvas.set_opacity(value / 100)

    def _hovered(self, row: int, col: int) -> None:
        result = self.result
        canvases = [p.canvas for p in (self.input_panel, self.feature_panel, self.prob_panel, self.class_panel)]
        if result is None or row < 0 or self.run_request is None:
            for canvas in canvases:
                canvas.set_box(None)
            self.input_panel.set_title("Input")
            self._show_input_only()
            return
        i, j = occlusion.cell_at(result, row, col)
        top, left = int(result.positions[0][i]), int(result.positions[1][j])
        box = (top, left, top + result.window, left + result.window)
        for canvas in canvases:
            canvas.set_box(box)
        self._show_occluded(top, left)
        self.jobs.show_info(captions.occlusion_hover_text(result, i, j, top, left))

    def _show_input_only(self) -> None:
        pixels = self._input_pixels()
        if pixels is not None:
            self.input_panel.canvas.set_image(pixels, (0, 255))

    def _show_occluded(self, top: int, left: int) -> None:
        shown = self.run_request
        model, x, window, fill, seed = shown.model, shown.x, shown.window, shown.fill, shown.seed
        key = (window, fill, seed)
        if self._fill_source is None or self._fill_source[0] != key:
            self._fill_source = (key, occlusion.fill_image(model, x, fill=fill, window=window, seed=seed))
        example = occlusion.occluded(x, self._fill_source[1], top, left, window)
        self.input_panel.canvas.set_image(image_array(model.deprocess(example)), (0, 255))
        self.input_panel.set_title(f"Occluded at ({top}, {left})")

    def _export_name(self) -> str:
        result = self.result
        if result is None:
            return "occlusion"
        return f"occlusion-w{result.window}-s{result.stride}-{result.fill}-class{result.target}"

    def _export_data(self) -> dict[str, np.ndarray]:
        return self.result.arrays() if self.result is not None else {}
