"""The Occlusion pane: occlusion sensitivity maps (Zeiler & Fergus 2014, Fig. 7).

A square occluder (window, stride, fill) slides over the input; for every position the pane maps
(b) the total activation of the strongest feature map of the chosen layer, beside (c) that map's
deconvnet projection for the unoccluded image, (d) the probability of the target class (the shared
target: the top-1 class unless one is picked in the Predictions pane) and (e) the most probable
class, each over the input with an opacity slider. Maps fill in as batches complete; a cancelled run
keeps its partial maps, marked "PARTIAL". Hovering a map shows the occluder there, the values and
the occluded image. A new target class runs again; a new image or model clears the result (or runs
again with "Auto"), as does any change of the settings with "Auto". The work runs on the compute
worker (:func:`cnnviz.core.occlusion.occlusion_steps`).
"""

from collections.abc import Generator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import deconv, occlusion
from cnnviz.core.deconv import Projection
from cnnviz.core.models import LoadedModel
from cnnviz.core.occlusion import OcclusionResult
from cnnviz.gui.app.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.widgets.class_colours import class_counts, class_image, legend_html
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.export_dialog import default_folder
from cnnviz.gui.widgets.figure_export import FigureExport
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.map_view import MapCanvas, MapPanel
from cnnviz.gui.widgets.shortcuts import add_shortcut

FILL_TITLES = {"mean": "Mean (grey)", "zero": "Black", "blur": "Blurred patch", "noise": "Noise"}
PARTIAL_STYLE = ("QLabel { background: #c62828; color: white; font-weight: bold; padding: 3px 8px; "
                 "border-radius: 3px; }")
JOB = "run"


class OcclusionRun(NamedTuple):
    """What :func:`occlusion_job` yields and returns: positions ``done`` of ``total``, the (partial)
    ``result`` and the deconvnet ``projection`` of the strongest map on the unoccluded image (None
    without a layer; ``projection_error`` says why it is missing when it failed)."""

    done: int
    total: int
    result: OcclusionResult
    projection: Projection | None
    projection_error: str = ""


def default_window(size: int) -> int:
    """Occluder side in pixels for an input of ``size`` pixels: about a seventh of it (32 for 224),
    but at least 8 px (or half the input, if smaller)."""
    return max(1, max(round(size / 7), min(8, size // 2)))


def default_stride(window: int) -> int:
    """Occluder step in pixels: a quarter of the window (8 for 32, 2 for 8)."""
    return max(1, window // 4)


def occlusion_job(model: LoadedModel, x: torch.Tensor, target: int | None, window: int, stride: int,
                  fill: str, layer: str | None, batch_size: int | None,
                  seed: int) -> Generator[OcclusionRun, None, OcclusionRun]:
    """Occlusion maps batch by batch (compute worker), with the strongest map's deconvnet projection
    computed once, after the first batch has chosen the channel. Arguments as
    :func:`cnnviz.core.occlusion.occlude`."""
    steps = occlusion.occlusion_steps(model, x, target=target, window=window, stride=stride, fill=fill, layer=layer,
                                      batch_size=batch_size, seed=seed)
    projection, error = None, ""
    try:
        first = True
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                result = stop.value
                return OcclusionRun(result.total, result.total, result, projection, error)
            if first and layer is not None:
                first = False
                try:
                    projection = deconv.project_unit(model, x, layer=layer, channel=step.result.channel)
                except (RuntimeError, ValueError, IndexError) as failure:
                    error = str(failure)
            yield OcclusionRun(step.done, step.total, step.result, projection, error)
    finally:
        steps.close()


def cell_image(values: np.ndarray) -> np.ndarray:
    """A float map [nH, nW] for an overlay: NaN cells (not computed) stay NaN (transparent)."""
    return np.asarray(values, dtype=np.float32)


def cell_at(result: OcclusionResult, row: int, col: int) -> tuple[int, int]:
    """The map cell (i, j) whose stride×stride square (see ``extent``) holds input pixel (row, col),
    clamped to the grid."""
    left, top, _width, _height = result.extent()
    rows, cols = result.prob.shape
    i = int(np.clip(np.floor((row - top) / result.stride), 0, rows - 1))
    j = int(np.clip(np.floor((col - left) / result.stride), 0, cols - 1))
    return i, j


def save_data(result: OcclusionResult, path: str | Path) -> list[Path]:
    """Write the raw maps of ``result`` beside ``path``: ``<name>_prob.npy``, ``<name>_top_class.npy``,
    ``<name>_feature.npy`` (with a layer) and ``<name>.csv`` (one line per computed position), where
    ``<name>`` is ``path`` without its suffix. Returns the paths written; raises OSError."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".csv", ".npy") else path
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for name, array in result.arrays().items():
        target = base.with_name(f"{base.name}_{name}.npy")
        np.save(target, array)
        written.append(target)
    csv_path = base.with_name(f"{base.name}.csv")
    csv_path.write_text(result.to_csv(), encoding="utf-8")
    written.append(csv_path)
    return written


def place_overlay(canvas: MapCanvas, result: OcclusionResult) -> None:
    """Put the overlay item of ``canvas`` over the input area the maps cover."""
    canvas.overlay_item.setRect(QRectF(*result.extent()))


class OcclusionPane(ToolPane):
    """Occluder settings, Run/Cancel with progress, the Fig. 7 figure and its exports."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "occlusion", layer_choices, parent)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 4096)
        self.window_spin.setSuffix(" px")
        self.window_spin.setToolTip("Side of the square occluder, in input pixels")
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 4096)
        self.stride_spin.setSuffix(" px")
        self.stride_spin.setToolTip("Step between occluder positions, in input pixels")
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
        self.batch_spin.setRange(0, 4096)
        self.batch_spin.setSpecialValueText("auto")
        self.batch_spin.setPrefix("batch ")
        self.batch_spin.setToolTip("Occluded images per forward pass (auto: 64, halved when memory "
                                   "runs out)")
        self.auto_check = QCheckBox("Auto")
        self.auto_check.setToolTip("Run again when the image, model, layer or settings change "
                                   "(otherwise a new image clears the maps)")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Compute the occlusion maps (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m positions")
        self.progress.setMinimumWidth(60)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
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

        self.partial_label = QLabel()
        self.partial_label.setStyleSheet(PARTIAL_STYLE)
        self.partial_label.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.input_panel = MapPanel("Input", zoomable=False)
        self.feature_panel = MapPanel("(b) Strongest feature map", colorbar=True, zoomable=False)
        self.projection_panel = MapPanel("(c) Its deconvnet projection", zoomable=False)
        self.prob_panel = MapPanel("(d) Target probability", colorbar=True, zoomable=False)
        self.class_panel = MapPanel("(e) Most probable class", zoomable=False)
        self.class_panel.detail.setTextFormat(Qt.TextFormat.RichText)
        self.figure = QWidget()
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.input_panel, 0, 0)
        grid.addWidget(self.feature_panel, 0, 1)
        grid.addWidget(self.projection_panel, 0, 2)
        grid.addWidget(self.prob_panel, 1, 0)
        grid.addWidget(self.class_panel, 1, 1, 1, 2)
        for index in range(3):
            grid.setColumnStretch(index, 1)
        figure_layout = QVBoxLayout(self.figure)
        figure_layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.partial_label)
        figure_layout.addLayout(header)
        figure_layout.addLayout(grid, 1)
        self.export = FigureExport(self.figure, self._export_name, self._export_data,
                                   self.state.show_status, self)

        first = QHBoxLayout()
        first.addWidget(QLabel("Layer"))
        first.addWidget(self.picker, 1)
        first.addWidget(QLabel("Fill"))
        first.addWidget(self.fill_combo)
        first.addWidget(self.seed_spin)
        second = QHBoxLayout()
        second.addWidget(QLabel("Window"))
        second.addWidget(self.window_spin)
        second.addWidget(QLabel("Stride"))
        second.addWidget(self.stride_spin)
        second.addWidget(self.batch_spin)
        second.addWidget(self.auto_check)
        second.addStretch(1)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        third = QHBoxLayout()
        third.addWidget(QLabel("Colormap"))
        third.addWidget(self.colormap_picker)
        third.addWidget(QLabel("Opacity"))
        third.addWidget(self.opacity_slider)
        third.addStretch(1)
        third.addWidget(self.export.button)
        third.addWidget(self.data_button)
        layout = QVBoxLayout(self)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addLayout(run_row)
        layout.addLayout(third)
        layout.addWidget(self.figure, 1)
        layout.addLayout(self.status_row())

        self.result: OcclusionResult | None = None
        self.projection: Projection | None = None
        self.cancelled = False
        self._shown: tuple | None = None
        self._run_ident = 0
        self._fill_source: tuple[tuple, torch.Tensor] | None = None

        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        add_shortcut(self, QKeySequence("Ctrl+R"), self.run)
        self.data_button.clicked.connect(self.export_data)
        self.colormap_picker.colormap_changed.connect(lambda _name: self._redraw())
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        self.fill_combo.currentIndexChanged.connect(self._fill_changed)
        for spin in (self.window_spin, self.stride_spin, self.seed_spin):
            spin.valueChanged.connect(lambda _value: self._settings_changed())
        self.fill_combo.currentIndexChanged.connect(lambda _index: self._settings_changed())
        self.state.target_changed.connect(lambda _index: self.schedule())
        self.state.model_changed.connect(self._set_defaults)
        for panel in (self.input_panel, self.feature_panel, self.projection_panel, self.prob_panel,
                      self.class_panel):
            panel.canvas.hovered.connect(self._hovered)
        self._fill_changed()
        self.clear_views()

    @property
    def fill(self) -> str:
        """The occluder fill: one of :data:`cnnviz.core.occlusion.FILLS`."""
        return str(self.fill_combo.currentData())

    @property
    def running(self) -> bool:
        """True while a run has not finished."""
        return self.is_running(JOB)

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The last ReLU or convolution with feature maps (else the last layer with maps, else the
        first layer): the deepest layer whose maps the paper's column (b) can use."""
        maps = [c for c in choices if not c.is_vector]
        preferred = [c.name for c in maps if c.type in ("ReLU", "Conv2d")]
        return (preferred or [c.name for c in maps] or [choices[0].name])[-1]

    def request(self) -> tuple:
        """(model, input, target or None, window, stride, fill, layer, seed) of a run now."""
        target = self.state.target if self.state.target >= 0 else None
        return (self.state.model, self.state.input_tensor, target, self.window_spin.value(),
                self.stride_spin.value(), self.fill, self.layer or None, self.seed_spin.value())

    def run(self) -> None:
        """Start computing the maps with the current settings (a running one is replaced)."""
        request = self.request()
        model, x = request[0], request[1]
        if model is None or x is None or not self.layer:
            return
        self.clear_result()
        self._shown = request
        self.cancelled = False
        self.progress.setFormat("%v / %m positions")
        batch = self.batch_spin.value() or None
        _model, _x, target, window, stride, fill, layer, seed = request
        task = self.submit(JOB, "Occluding…", occlusion_job, model, x, target, window, stride, fill, layer,
                           batch, seed, done=self._finished)
        ident = task.ident
        self._run_ident = ident
        task.partial.connect(lambda step: self._step(ident, step))
        task.cancelled.connect(lambda: self._cancelled(ident))
        task.finished.connect(lambda: self._run_ended(ident))
        self.cancel_button.setEnabled(True)

    def cancel(self) -> None:
        """Stop the run; the maps computed so far stay, marked PARTIAL."""
        self.controller.compute.cancel(f"{self.key}:{JOB}")

    def clear_result(self) -> None:
        """Forget the shown result and empty the maps."""
        self.result = self.projection = None
        self._fill_source = None
        self.cancelled = False
        for panel in (self.feature_panel, self.prob_panel, self.class_panel, self.projection_panel):
            panel.canvas.clear_image()
            panel.detail.clear()
        self.input_panel.canvas.set_box(None)
        self.input_panel.detail.clear()
        self.partial_label.hide()
        self.summary.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Press Run (Ctrl+R) to compute the maps")
        self.export.set_enabled(False)
        self.data_button.setEnabled(False)
        self._show_input()

    def clear_views(self) -> None:
        """Show nothing (new model)."""
        self.cancel()
        self._shown = None
        self.clear_result()
        self.input_panel.canvas.clear_image()

    def refresh(self) -> None:
        """Keep the figure in step with the state: a new image or model clears the maps (or runs
        again with Auto); a new target class runs again when maps are shown or being computed."""
        if self.state.input_tensor is None:
            return
        wanted = self.request()
        if self._shown is None:
            self._show_input()
            if self.auto_check.isChecked():
                self.run()
            return
        if not same_request(self._shown[:2], wanted[:2]):
            if self.auto_check.isChecked():
                self.run()
            else:
                self.clear_views()
                self.show_info("The image or model changed: press Run (Ctrl+R) for new maps.")
            return
        if same_request(self._shown, wanted):
            return
        if self.auto_check.isChecked() or self._shown[2] != wanted[2]:
            self.run()

    def export_data(self) -> list[Path] | None:
        """Ask for a file name and save the raw maps (see :func:`save_data`); None if cancelled."""
        if self.result is None:
            return None
        suggested = str(default_folder() / f"cnnviz-{self._export_name()}")
        path, _filter = QFileDialog.getSaveFileName(self, "Export occlusion data", suggested,
                                                    "NumPy arrays and CSV (*.npy *.csv)")
        if not path:
            return None
        try:
            written = save_data(self.result, path)
        except OSError as error:
            show_error(self, "Could not export the data", str(error))
            return None
        self.state.show_status(f"Saved {len(written)} files beside {written[0]}")
        return written

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
        self.window_spin.setValue(default_window(size))
        self.stride_spin.setValue(default_stride(default_window(size)))
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

    def _step(self, ident: int, step: OcclusionRun) -> None:
        if ident != self._run_ident:
            return
        self.progress.setRange(0, step.total)
        self.progress.setValue(step.done)
        self._show(step.result, step.projection, step.projection_error)

    def _finished(self, run: OcclusionRun) -> None:
        self.progress.setRange(0, run.total)
        self.progress.setValue(run.done)
        self._show(run.result, run.projection, run.projection_error)

    def _cancelled(self, ident: int) -> None:
        if ident == self._run_ident:
            self.cancelled = True
            self._update_partial()

    def _run_ended(self, ident: int) -> None:
        if ident == self._run_ident:
            self.cancel_button.setEnabled(False)
            self._update_partial()

    def _show(self, result: OcclusionResult, projection: Projection | None, projection_error: str) -> None:
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
        self._update_partial()

    def _update_partial(self) -> None:
        result = self.result
        if result is None or result.complete:
            self.partial_label.hide()
            return
        state = "cancelled" if self.cancelled else "running" if self.running else "stopped"
        self.partial_label.setText(f"PARTIAL — {result.done} of {result.total} positions ({state})")
        self.partial_label.show()

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            return
        names = result.classes
        target_name = names[result.target] if result.target < len(names) else f"class {result.target}"
        self.summary.setText(
            f"Occluder {result.window}×{result.window} px, stride {result.stride} px, fill "
            f"{FILL_TITLES[result.fill].lower()} — {len(result.positions[0])}×{len(result.positions[1])} "
            f"positions. Target <b>{target_name}</b>: p = {result.baseline_prob:.3f} unoccluded.")
        colormap_name = self.colormap_picker.name()
        opacity = self.opacity_slider.value() / 100
        self.prob_panel.set_title(f"(d) Probability of {target_name}")
        self.prob_panel.canvas.set_overlay(cell_image(result.prob), (0.0, 1.0), colormap_name, opacity)
        self.prob_panel.canvas.set_colorbar((0.0, 1.0), colormap_name, "probability")
        place_overlay(self.prob_panel.canvas, result)
        if result.feature is not None:
            levels = self._feature_levels(result)
            self.feature_panel.set_title(f"(b) {result.layer}, map {result.channel}: total activation")
            self.feature_panel.canvas.set_overlay(cell_image(result.feature), levels, colormap_name, opacity)
            self.feature_panel.canvas.set_colorbar(levels, colormap_name, "Σ activation")
            self.feature_panel.detail.setText(f"unoccluded: {result.baseline_feature:.4g}")
            place_overlay(self.feature_panel.canvas, result)
        canvas = self.class_panel.canvas
        canvas.overlay = None
        canvas.overlay_item.setLookupTable(None)
        canvas.overlay_item.setImage(class_image(result.top_class), autoLevels=False, levels=(0, 255))
        canvas.overlay_item.setOpacity(opacity)
        place_overlay(canvas, result)
        self.class_panel.detail.setText(legend_html(class_counts(result.top_class), names, "positions"))

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
        if result is None or row < 0 or self._shown is None:
            for canvas in canvases:
                canvas.set_box(None)
            self.input_panel.set_title("Input")
            self._show_input_only()
            return
        i, j = cell_at(result, row, col)
        top, left = int(result.positions[0][i]), int(result.positions[1][j])
        box = (top, left, top + result.window, left + result.window)
        for canvas in canvases:
            canvas.set_box(box)
        self._show_occluded(top, left)
        self.show_info(self._hover_text(result, i, j, top, left))

    def _hover_text(self, result: OcclusionResult, i: int, j: int, top: int, left: int) -> str:
        where = f"Occluder at top {top}, left {left} px"
        if result.top_class[i, j] < 0:
            return f"{where}: not computed"
        index = int(result.top_class[i, j])
        name = result.classes[index] if index < len(result.classes) else f"class {index}"
        feature = f" · Σ map {result.channel} = {result.feature[i, j]:.4g}" if result.feature is not None else ""
        return f"{where}: p(target) = {result.prob[i, j]:.4f}{feature} · top class: {name}"

    def _show_input_only(self) -> None:
        pixels = self._input_pixels()
        if pixels is not None:
            self.input_panel.canvas.set_image(pixels, (0, 255))

    def _show_occluded(self, top: int, left: int) -> None:
        model, x, _target, window, _stride, fill, _layer, seed = self._shown
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
