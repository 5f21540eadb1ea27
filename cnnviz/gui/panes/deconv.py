"""The Deconvnet pane: project one unit of a layer back to pixel space (Zeiler & Fergus 2014).

Pick a layer, a channel (default: the strongest on this image) and a position (default: that
channel's strongest; click the activation map to pick another), and a method: ``deconvnet``,
``guided`` backpropagation or the plain ``gradient``. The pane shows the activation map, the
projection (signed, grey = 0, or absolute), the input with the unit's receptive field boxed, and the
field's input crop beside the projection's. "Top 9" shows the nine strongest channels' projections
beside their input patches (Fig. 2 of the paper, for one image). Where the model has nonlinearities
without a deconvnet/guided rule (SiLU, GELU, sigmoid, …) a warning says the projection is not exact.
All projections run on the compute worker (:mod:`cnnviz.core.deconv`); the model is never changed.
"""

from dataclasses import dataclass
from html import escape

import numpy as np
import torch
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSpinBox, QStackedWidget, QWidget

from cnnviz.core import deconv
from cnnviz.core.atlas import make_atlas
from cnnviz.core.deconv import Projection
from cnnviz.core.models import LoadedModel
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.layouts import column, option_combo, option_row, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.shortcuts import add_channel_keys
from cnnviz.gui.widgets.vector_view import VectorView

METHODS = {
    "deconvnet": ("Deconvnet", ("Zeiler & Fergus: ReLUs pass relu(signal) backwards, max-poolings use the "
                                "forward switches, convolutions their transposed filters")),
    "guided": ("Guided backprop", ("Guided backpropagation: ReLUs pass relu(signal) only where their "
                                   "forward input was positive")),
    "gradient": ("Gradient", "Plain gradient of the unit with respect to the input (saliency)"),
}
DISPLAYS = {"symmetric": "Signed (grey = 0)", "abs": "Absolute value"}
TOP_K = 9
WARNING_STYLE = ("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c068; "
                 "border-radius: 3px; padding: 3px 6px; }")

Request = tuple
"""(model, input, layer, channel or None, position or None, method) of a single projection."""


@dataclass(frozen=True)
class ProjectionResult:
    """A single unit's ``projection`` for ``request``, the ``input_crop`` under its receptive field
    (8-bit pixels [h, w] or [h, w, 3]) and, when checked, the ``unhandled`` nonlinearities."""

    request: Request
    projection: Projection
    input_crop: np.ndarray
    unhandled: list[str] | None


@dataclass(frozen=True)
class TopResult:
    """The strongest channels' ``units`` (strongest first) for ``request`` (model, input, layer,
    method), their ``input_crops`` and, when checked, the ``unhandled`` nonlinearities."""

    request: tuple
    units: list[Projection]
    input_crops: list[np.ndarray]
    unhandled: list[str] | None


def input_crop(model: LoadedModel, x: torch.Tensor, box: tuple[int, int, int, int]) -> np.ndarray:
    """8-bit pixels of the input ``x`` inside ``box``, as the network sees them."""
    return image_array(model.deprocess(deconv.crop(x, box)))


def project_job(model: LoadedModel, x: torch.Tensor, layer: str, channel: int | None,
                position: tuple[int, int] | None, method: str, check: bool) -> ProjectionResult:
    """One projection with its input crop (compute worker); ``check`` also lists the model's
    nonlinearities without a rule for ``layer``."""
    projection = deconv.project_unit(model, x, layer=layer, channel=channel, position=position, method=method)
    unhandled = list(projection.unhandled) if check else None
    return ProjectionResult((model, x, layer, channel, position, method), projection,
                            input_crop(model, x, projection.box), unhandled)


def top_job(model: LoadedModel, x: torch.Tensor, layer: str, method: str, check: bool) -> TopResult:
    """The :data:`TOP_K` strongest channels' projections with their input crops (compute worker)."""
    units = deconv.top_units(model, x, layer=layer, k=TOP_K, method=method)
    unhandled = list(units[0].unhandled) if check and units else None
    return TopResult((model, x, layer, method), units, [input_crop(model, x, u.box) for u in units],
                     unhandled)


def projection_display(image: torch.Tensor, mode: str) -> np.ndarray:
    """A projection [C, H, W] for display in [0, 1]: [H, W, 3] for colour, [H, W] for one channel."""
    display = deconv.to_display(image, mode)
    return display[:, :, 0] if display.shape[2] == 1 else display


def crop_display(display: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of a display array [H, W(, 3)] inside ``box`` (top, left, bottom, right)."""
    top, left, bottom, right = box
    return display[top:bottom, left:right]


def field_tiles(crops: list[np.ndarray], boxes: list[tuple[int, int, int, int]],
                input_size: tuple[int, int]) -> np.ndarray:
    """Crops of different sizes (fields clipped at the input's border) as equal tiles [N, h, w(, 3)]:
    each crop sits where its field lies (against the border it was clipped at); the rest is NaN."""
    height = max(c.shape[0] for c in crops)
    width = max(c.shape[1] for c in crops)
    tiles = np.full((len(crops), height, width) + crops[0].shape[2:], np.nan, dtype=np.float32)
    for tile, crop, (top, left, bottom, right) in zip(tiles, crops, boxes):
        rows, cols = crop.shape[:2]
        row = height - rows if top == 0 and bottom < input_size[0] else 0
        col = width - cols if left == 0 and right < input_size[1] else 0
        tile[row:row + rows, col:col + cols] = crop
    return tiles


def unit_text(unit: Projection) -> str:
    """``channel 12 = 3.41 at (5, 7)`` (no position for a vector layer)."""
    where = f" at {unit.position}" if unit.position is not None else ""
    return f"channel {unit.channel} = {unit.activation:.4g}{where}"


class DeconvPane(ToolPane):
    """Layer, channel, position, method and display choices; the single-unit view or the top 9."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "deconv", layer_choices, parent)
        self.channel: int | None = None
        self.position: tuple[int, int] | None = None
        self.result: ProjectionResult | None = None
        self.top: TopResult | None = None
        self.output: LayerOutput | None = None
        self._requested: tuple | None = None
        self._unhandled: dict[str, list[str]] = {}
        self._selection_for: tuple | None = None
        self._build_controls()
        self._build_figure()
        self._connect()
        self.clear_views()

    def _build_controls(self) -> None:
        self.channel_spin = QSpinBox()
        self.channel_spin.setRange(-1, 0)
        self.channel_spin.setSpecialValueText("strongest")
        self.channel_spin.setPrefix("channel ")
        self.channel_spin.setToolTip("Channel to project (strongest: the one with the largest activation)")
        self.position_label = QLabel()
        self.strongest_button = QPushButton("Strongest position")
        self.strongest_button.setToolTip("Use the channel's strongest position (click the map to pick "
                                         "another)")
        self.method_combo = option_combo({key: title for key, (title, _tip) in METHODS.items()},
                                         "How the unit is projected back to the input",
                                         tips={key: tip for key, (_title, tip) in METHODS.items()})
        self.display_combo = option_combo(DISPLAYS)
        self.top_button = QPushButton(f"Top {TOP_K}")
        self.top_button.setCheckable(True)
        self.top_button.setToolTip(f"Projections of the {TOP_K} strongest channels of the layer, with "
                                   "their input patches")
        shrinkable(self.channel_spin, self.method_combo, self.display_combo)
        self.warning = wrapped_label()
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()

    def _build_figure(self) -> None:
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_single())
        self.pages.addWidget(self._build_top())
        self.make_figure(self._export_name, self._export_data, self.warning, self.pages)
        self.arrange(option_row(self.channel_spin, self.position_label, self.strongest_button),
                     option_row("Method", self.method_combo, "Show", self.display_combo, self.top_button))

    def _build_single(self) -> QWidget:
        """The page for one unit: its map (or bars), projection, input and receptive field."""
        self.map_panel = MapPanel(colorbar=True)
        self.vector_title = wrapped_label()
        self.vector_view = VectorView()
        self.map_stack = QStackedWidget()
        self.map_stack.addWidget(self.map_panel)
        self.map_stack.addWidget(column(self.vector_title, self.vector_view))
        self.projection_panel = MapPanel()
        self.input_panel = MapPanel()
        self.field_title = wrapped_label()
        self.field_view = AtlasView(colorbar=False)
        self.field_detail = wrapped_label()
        single = QWidget()
        layout = QGridLayout(single)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.map_stack, 0, 0)
        layout.addWidget(self.projection_panel, 0, 1)
        layout.addWidget(self.input_panel, 1, 0)
        layout.addWidget(column(self.field_title, self.field_view, self.field_detail, spacing=2), 1, 1)
        return single

    def _build_top(self) -> QWidget:
        """The page for the layer's strongest channels: projections and input patches side by side."""
        self.top_title = wrapped_label()
        self.top_projections = AtlasView(colorbar=False)
        self.top_patches = AtlasView(colorbar=False)
        self.top_list = wrapped_label(selectable=True)
        top = QWidget()
        layout = QGridLayout(top)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.top_title, 0, 0, 1, 2)
        layout.addWidget(QLabel("<b>Projections</b>"), 1, 0)
        layout.addWidget(QLabel("<b>Input patches</b>"), 1, 1)
        layout.addWidget(self.top_projections, 2, 0)
        layout.addWidget(self.top_patches, 2, 1)
        layout.addWidget(self.top_list, 3, 0, 1, 2)
        layout.setRowStretch(2, 1)
        return top

    def _connect(self) -> None:
        self.channel_spin.valueChanged.connect(self.choose_channel)
        self.strongest_button.clicked.connect(lambda: self.choose_position(None))
        self.method_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.display_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.top_button.toggled.connect(lambda _on: self.schedule())
        self.map_panel.canvas.clicked.connect(lambda row, col: self.choose_position((row, col)))
        self.map_panel.canvas.hovered.connect(self._map_hovered)
        self.vector_view.clicked.connect(self.choose_channel)
        self.top_projections.clicked.connect(self._top_clicked)
        self.top_patches.clicked.connect(self._top_clicked)
        self.top_projections.hovered.connect(self._top_hovered)
        self.top_patches.hovered.connect(self._top_hovered)
        add_channel_keys(self.figure, self._step, lambda: 1)

    @property
    def method(self) -> str:
        """``"deconvnet"``, ``"guided"`` or ``"gradient"``."""
        return str(self.method_combo.currentData())

    @property
    def display(self) -> str:
        """``"symmetric"`` or ``"abs"``."""
        return str(self.display_combo.currentData())

    @property
    def top_mode(self) -> bool:
        """True while the top-9 view is shown."""
        return self.top_button.isChecked()

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The last convolution (else the last layer with maps, else the first layer)."""
        convs = [c.name for c in choices if c.type == "Conv2d"]
        maps = [c.name for c in choices if not c.is_vector]
        return (convs or maps or [choices[0].name])[-1]

    def choose_position(self, position: tuple[int, int] | None) -> None:
        """Project the unit at ``position`` (row, col) of the map (None: the strongest position)."""
        self.position = position
        self.schedule()

    def clear_views(self) -> None:
        """Show nothing."""
        self.result = self.top = self.output = None
        self.channel = self.position = None
        self._requested = None
        self._selection_for = None
        self._unhandled = {}
        for canvas in (self.map_panel.canvas, self.projection_panel.canvas, self.input_panel.canvas):
            canvas.clear_image()
        for view in (self.field_view, self.top_projections, self.top_patches):
            view.clear_image()
        for panel in (self.map_panel, self.projection_panel, self.input_panel):
            panel.set_title("")
            panel.detail.clear()
        for label in (self.field_title, self.field_detail, self.top_title, self.top_list,
                      self.vector_title, self.position_label):
            label.clear()
        self.warning.hide()
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the current selection, starting the projection (or top 9) it needs."""
        self._follow_selection()
        self._sync_controls()
        output = self.request_output(self.layer)
        if output is not None:
            self.output_ready(output)
        x = self.state.input_tensor
        if x is None:
            return
        model, layer, method = self.state.model, self.layer, self.method
        check = method != "gradient" and layer not in self._unhandled
        if self.top_mode:
            self.pages.setCurrentIndex(1)
            request = (model, x, layer, method)
            if self.top is not None and same_request(self.top.request, request):
                self._show_top()
            elif not (self.is_running("project") and same_request(request, self._requested)):
                self._requested = request
                self.submit("project", f"Projecting the top {TOP_K} channels of {layer}…", top_job,
                            *request, check, done=self._top_ready)
        else:
            self.pages.setCurrentIndex(0)
            request = (model, x, layer, self.channel, self.position, method)
            if self.result is not None and same_request(self.result.request, request):
                self._show_result()
            elif not (self.is_running("project") and same_request(request, self._requested)):
                self._requested = request
                self.submit("project", f"Projecting {layer} ({method})…", project_job, *request, check,
                            done=self._result_ready)
        self._show_warning()

    def output_ready(self, output: LayerOutput) -> None:
        """The layer's output arrived: draw the activation map."""
        self.output = output
        self._show_map()

    def channel_selected(self, channel: int | None) -> None:
        """The shared channel changed: project that channel at its strongest position."""
        self.schedule()

    def _follow_selection(self) -> None:
        """Take the shared channel, and reset the position, when the layer, input or channel changed."""
        key = (self.state.model, self.state.input_tensor, self.layer, self.state_channel())
        if not same_request(key, self._selection_for):
            self._selection_for = key
            self.channel = self.state_channel()
            self.position = None

    def _sync_controls(self) -> None:
        choice = self.choice
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(-1, (choice.channels - 1) if choice else 0)
        self.channel_spin.setValue(-1 if self.channel is None else self.channel)
        self.channel_spin.blockSignals(False)
        vector = choice is not None and choice.is_vector
        self.position_label.setText("" if vector else (
            "position: strongest" if self.position is None else f"position: {self.position}"))
        self.strongest_button.setEnabled(not vector and self.position is not None and not self.top_mode)
        self.channel_spin.setEnabled(not self.top_mode)

    def _result_ready(self, result: ProjectionResult) -> None:
        self._note_unhandled(result.request[2], result.unhandled)
        if not same_request(result.request, self._requested):
            return
        self.result = result
        self._show_result()
        self._show_map()

    def _top_ready(self, result: TopResult) -> None:
        self._note_unhandled(result.request[2], result.unhandled)
        if not same_request(result.request, self._requested):
            return
        self.top = result
        self._show_top()

    def _note_unhandled(self, layer: str, unhandled: list[str] | None) -> None:
        if unhandled is not None:
            self._unhandled[layer] = unhandled
            self._show_warning()

    def _show_warning(self) -> None:
        names = self._unhandled.get(self.layer, [])
        exact = self.method == "gradient" or not names
        self.warning.setVisible(not exact)
        if not exact:
            self.warning.setText(
                f"⚠ <b>Not exact for this model:</b> {escape(', '.join(names))} between the input and "
                f"{escape(self.layer)} {'has' if len(names) == 1 else 'have'} no {self.method} rule, so "
                "the plain gradient passes through there. The gradient method is exact.")

    def _current_result(self) -> ProjectionResult | None:
        result = self.result
        return result if result is not None and self._is_current(result.request[:3]) else None

    def _is_current(self, start: tuple) -> bool:
        """True if ``start`` = (model, input, layer) is what the pane shows now."""
        return same_request(start, (self.state.model, self.state.input_tensor, self.layer))

    def _show_map(self) -> None:
        """Draw the activation map of the channel projected (or to be projected) with its unit marked."""
        output = self.output
        if output is None or output.layer != self.layer or output.input is not self.state.input_tensor:
            return
        result = self._current_result()
        values = output.values
        channel = self.channel if self.channel is not None else deconv.strongest_unit(values)[0]
        if values.dim() == 1:
            self.map_stack.setCurrentIndex(1)
            choice = self.choice
            names = ([output.model.class_name(i) for i in range(values.shape[0])]
                     if choice is not None and choice.class_scores else None)
            self.vector_view.show_values(values.numpy(), list(range(values.shape[0])), names)
            self.vector_view.select(channel)
            unit = f"unit {channel}{self._class_of(channel)} = {float(values[channel]):.4g}"
            self.vector_title.setText(f"<b>{escape(self.layer)}</b>: {unit} (click a bar to project it)")
            return
        self.map_stack.setCurrentIndex(0)
        position = self.position
        if position is None:
            projected = result is not None and result.projection.channel == channel
            position = result.projection.position if projected else deconv.channel_argmax(values, channel)
        plane = values[channel].numpy()
        levels = (float(plane.min()), float(plane.max()))
        self.map_panel.canvas.set_image(plane, levels, "viridis")
        self.map_panel.canvas.set_colorbar(levels, "viridis")
        self.map_panel.canvas.set_marker(position)
        strongest = " (strongest)" if self.channel is None else ""
        self.map_panel.set_title(f"{escape(self.layer)} · channel {channel}{strongest}")
        self.map_panel.detail.setText(f"unit {position} = {float(values[channel][position]):.4g}; "
                                      "click to pick a position")

    def _class_of(self, channel: int) -> str:
        """`` (class name)`` where the layer's units are the classes, else ""."""
        choice = self.choice
        if choice is None or not choice.class_scores or self.state.model is None:
            return ""
        return f" ({escape(self.state.model.class_name(channel))})"

    def _redraw(self) -> None:
        if self.top_mode:
            self._show_top()
        else:
            self._show_result()

    def _show_result(self) -> None:
        result = self._current_result()
        if result is None or self.top_mode:
            return
        projection = result.projection
        display = projection_display(projection.image, self.display)
        top, left, bottom, right = projection.box
        where = f" at {projection.position}" if projection.position is not None else ""
        method = METHODS[result.request[5]][0]
        self.projection_panel.canvas.set_image(display, (0.0, 1.0))
        self.projection_panel.canvas.set_box(projection.box)
        unit = f"channel {projection.channel}{self._class_of(projection.channel)}"
        self.projection_panel.set_title(f"{method}: {unit}{where}")
        self.projection_panel.detail.setText(f"activation {projection.activation:.4g} · "
                                             f"{DISPLAYS[self.display].lower()}")
        seen = self.state.seen_image
        if seen is not None:
            self.input_panel.canvas.set_image(image_array(seen), (0, 255))
            self.input_panel.canvas.set_box(projection.box)
        self.input_panel.set_title("Input and receptive field")
        self.input_panel.detail.setText(f"{bottom - top}×{right - left} px box from ({top}, {left})")
        crops = [result.input_crop.astype(np.float32) / 255, crop_display(display, projection.box)]
        pair = make_atlas(np.stack(crops), columns=2, pad=max(1, crops[0].shape[1] // 12))
        self.field_view.show_atlas(pair, (0.0, 1.0), "grey")
        self.field_title.setText("<b>Receptive field</b>: input | projection")
        self.field_detail.setText(f"{right - left}×{bottom - top} px")
        self.export.set_enabled(True)
        self._sync_controls()

    def _show_top(self) -> None:
        top = self.top
        if top is None or not self._is_current(top.request[:3]):
            return
        size = self.state.model.input_size
        boxes = [u.box for u in top.units]
        projections = [crop_display(projection_display(u.image, self.display), u.box) for u in top.units]
        patches = [c.astype(np.float32) / 255 for c in top.input_crops]
        pad = max(1, max(p.shape[1] for p in patches) // 12)
        self.top_projections.show_atlas(make_atlas(field_tiles(projections, boxes, size), columns=3, pad=pad),
                                        (0.0, 1.0), "grey")
        self.top_patches.show_atlas(make_atlas(field_tiles(patches, boxes, size), columns=3, pad=pad),
                                    (0.0, 1.0), "grey")
        method = METHODS[top.request[3]][0]
        self.top_title.setText(f"<b>{escape(self.layer)}</b>: {method} projections of the {len(top.units)} "
                               "strongest channels, each at its strongest position (row by row, strongest "
                               "first; click one to inspect it)")
        self.top_list.setText(" · ".join(f"{i + 1}: {unit_text(u)}" for i, u in enumerate(top.units)))
        self.export.set_enabled(True)

    def _top_clicked(self, index: int) -> None:
        if self.top is None or not 0 <= index < len(self.top.units):
            return
        self.top_button.blockSignals(True)
        self.top_button.setChecked(False)
        self.top_button.blockSignals(False)
        self.choose_channel(self.top.units[index].channel)
        self.schedule()

    def _top_hovered(self, index: int) -> None:
        if self.top is not None and 0 <= index < len(self.top.units):
            unit = self.top.units[index]
            top, left, bottom, right = unit.box
            self.show_info(f"{index + 1}: {unit_text(unit)} · field {right - left}×{bottom - top} px "
                           f"from ({top}, {left})")

    def _map_hovered(self, row: int, col: int) -> None:
        output = self.output
        if output is None or row < 0 or output.values.dim() != 3 or output.layer != self.layer:
            return
        channel = self.channel if self.channel is not None else deconv.strongest_unit(output.values)[0]
        value = float(output.values[channel, row, col])
        self.show_info(f"unit ({row}, {col}) of channel {channel}: {value:.4g}")

    def _step(self, delta: int) -> None:
        choice = self.choice
        if choice is None or self.top_mode:
            return
        current = self.channel
        if current is None:
            current = self.result.projection.channel if self._current_result() is not None else 0
        self.choose_channel(min(max(current + delta, 0), choice.channels - 1))

    def _export_name(self) -> str:
        suffix = f"top{TOP_K}" if self.top_mode else "unit"
        return f"deconv-{self.method}-{self.layer}-{suffix}"

    def _export_data(self) -> dict[str, np.ndarray]:
        if self.top_mode and self.top is not None:
            return {"projections": torch.stack([u.image for u in self.top.units]).numpy(),
                    "boxes": np.asarray([u.box for u in self.top.units]),
                    "channels": np.asarray([u.channel for u in self.top.units])}
        result = self._current_result()
        if result is None:
            return {}
        return {"projection": result.projection.image.numpy(), "box": np.asarray(result.projection.box)}
