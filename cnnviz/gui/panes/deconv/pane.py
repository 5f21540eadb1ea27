"""The Deconvnet pane: project one unit of a layer back to pixel space (Zeiler & Fergus 2014).

Pick a layer, a channel (default: the strongest on this image) and a position (default: the shared
position selection, e.g. a dataset hit's, else that channel's strongest; click the activation map to
pick another), and a method: ``deconvnet``, ``guided`` backpropagation or the plain ``gradient``.
The unit projected is part of the pane's settings as the deconv analysis's ``channel``, ``row`` and ``col``
(None: the strongest), so that a session reopens the same projection.
The pane shows the activation map, the projection (signed, grey = 0, or absolute), the input with
the unit's receptive field boxed, and the field's input crop beside the projection's. "Top 9" shows
the nine strongest channels' projections beside their input patches (Fig. 2 of the paper, for one
image). Where the model has nonlinearities without a deconvnet/guided rule (SiLU, GELU, sigmoid, …)
a warning says the projection is not exact; where a deconvnet projection is the same for every image
(no max pooling before the layer, e.g. MobileNetV2) a note says why. All projections run on the compute worker
(:mod:`cnnviz.core.per_image.deconv`); the model is never changed. "Export figure…" saves the report figure of the
deconv analysis (one unit) or of the top9 analysis (the top 9), as ``cnnviz run`` draws it.
"""

from html import escape
from typing import Any

import numpy as np
import torch
from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox, QStackedWidget, QWidget

from cnnviz.analyses import deconv as unit_analysis
from cnnviz.analyses import layer_rules, top9
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.settings import from_json
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.gui.panes.deconv.job import TOP_K, ProjectionResult, TopResult, project_job, top_job
from cnnviz.gui.panes.deconv.views import DISPLAYS, METHODS, TopView, UnitView, unit_text
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.layouts import option_combo, option_row, wrapped_label
from cnnviz.gui.widgets.shortcuts import add_channel_keys

WARNING_STYLE = ("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c068; "
                 "border-radius: 3px; padding: 3px 6px; }")
NOTE_STYLE = ("QLabel { background: #e7f1fb; color: #0b3d66; border: 1px solid #9cc3e6; "
              "border-radius: 3px; padding: 3px 6px; }")
UNIT_SETTINGS = ("channel", "row", "col")
Unit = tuple[int | None, tuple[int, int] | None]
"""A unit to project: (channel, (row, col)); None for the strongest."""


def unit_from_settings(values: dict[str, Value], choice: LayerChoice | None) -> tuple[Unit | None, dict[str, str]]:
    """The unit that settings ``channel``, ``row`` and ``col`` name (checked as the deconv analysis's and
    against the ``choice`` layer's shape [C] or [C, H, W]), or None and {name: reason} for what is wrong."""
    chosen, dropped = from_json(unit_analysis.Settings, values)
    if dropped:
        return None, {name if name != "*" else "row": reason for name, reason in dropped.items()}
    channel, row, col = chosen.channel, chosen.row, chosen.col
    if choice is None:
        return (channel, None if row is None or col is None else (row, col)), {}
    if channel is not None and channel >= choice.channels:
        return None, {"channel": f"{choice.name} has no channel {channel} ({choice.channels} channels)"}
    if row is None or col is None or choice.is_vector:
        return (channel, None), {}
    if not (row < choice.shape[1] and col < choice.shape[2]):
        return None, {"row": f"({row}, {col}) is outside {choice.name}'s {choice.shape[1]}×{choice.shape[2]} map"}
    return (channel, (row, col)), {}


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
        self._restored_unit: tuple[str, Unit] | None = None  # (layer, unit) set from settings, not yet shown
        self._build_controls()
        self._build_figure()
        self._connect()
        self.settings_binding.register(method=self.method_combo, display=self.display_combo, top9=self.top_button)
        self.settings_binding.add_extra(self.unit_settings, self.apply_unit_settings)
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
        self.note = wrapped_label()
        self.note.setStyleSheet(NOTE_STYLE)
        self.note.hide()

    def _build_figure(self) -> None:
        self.unit_view = UnitView()
        self.top_view = TopView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.unit_view)
        self.pages.addWidget(self.top_view)
        self.make_figure(self._export_name, self._export_data, self.warning, self.note, self.pages)
        self.arrange(option_row(self.channel_spin, self.position_label, self.strongest_button),
                     option_row("Method", self.method_combo, "Show", self.display_combo, self.top_button))

    def _connect(self) -> None:
        self.channel_spin.valueChanged.connect(self.layer_binding.choose_channel)
        self.strongest_button.clicked.connect(lambda: self.choose_position(None))
        self.method_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.display_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.top_button.toggled.connect(lambda _on: self.schedule())
        self.state.position_changed.connect(lambda _position: self.schedule())
        self.unit_view.map_panel.canvas.clicked.connect(lambda row, col: self.choose_position((row, col)))
        self.unit_view.map_panel.canvas.hovered.connect(self._map_hovered)
        self.unit_view.vector_view.clicked.connect(self.layer_binding.choose_channel)
        for atlas in (self.top_view.projections, self.top_view.patches):
            atlas.clicked.connect(self._top_clicked)
            atlas.hovered.connect(self._top_hovered)
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
        """The last convolution (:func:`cnnviz.analyses.layer_rules.last_conv`, as ``cnnviz run deconv``)."""
        model = self.state.model
        return layer_rules.last_conv(model) if model is not None else choices[-1].name

    def analysis_result(self) -> unit_analysis.DeconvResult | top9.Top9Result | None:
        """The projection shown as the deconv analysis's result, or the top 9 shown as the top9 analysis's
        (their report figures are the export); None while neither is shown."""
        model, seen, choice = self.state.model, self.state.seen_image, self.layer_binding.choice
        if model is None or seen is None or choice is None:
            return None
        if self.top_mode:
            return self._top9_result(model, choice)
        result = self._current_result()
        if result is None:
            return None
        _model, x, layer, channel, position, method = result.request
        row, col = position if position is not None else (None, None)
        chosen, _dropped = from_json(unit_analysis.Settings, self.settings() | {
            "layer": layer, "method": method, "channel": channel, "row": row, "col": col})
        unit = result.projection
        return unit_analysis.DeconvResult(
            settings=chosen, head=about(unit_analysis.NAME, model, Source(self.state.image_name, x)),
            projection=unit.image.numpy(), display=unit_analysis.display_array(unit.image, self.display),
            image=image_array(seen), layer=layer, channel=unit.channel, position=unit.position,
            activation=unit.activation, box=unit.box, unit_name=unit_analysis.unit_name(model, choice, unit.channel),
            warning=unit.warning, note=unit.note)

    def _top9_result(self, model: LoadedModel, choice: LayerChoice) -> top9.Top9Result | None:
        top, tiles = self.top, self.top_view.tiles
        if top is None or tiles is None or self.top_view.shown is not top or not self._is_current(top.request[:3]):
            return None
        _model, x, layer, method = top.request
        chosen, _dropped = from_json(top9.Settings, self.settings() | {"layer": layer, "method": method})
        units = top.units
        positions = None if choice.is_vector else np.asarray([u.position for u in units], dtype=np.int64)
        return top9.Top9Result(
            settings=chosen, head=about(top9.NAME, model, Source(self.state.image_name, x)),
            projections=torch.stack([u.image for u in units]).numpy(),
            channels=np.asarray([u.channel for u in units], dtype=np.int64),
            activations=np.asarray([u.activation for u in units], dtype=np.float32), positions=positions,
            boxes=np.asarray([u.box for u in units], dtype=np.int64), projection_tiles=tiles[0], patch_tiles=tiles[1],
            layer=layer, unit_names=tuple(unit_analysis.unit_name(model, choice, u.channel) for u in units),
            warning=units[0].warning, note=units[0].note)

    def caption_fields(self) -> dict[str, Any]:
        """Layer, method, view (unit or top 9), the unit projected (channel, position) and the display."""
        fields = super().caption_fields() | {"method": self.method, "view": f"top {TOP_K}" if self.top_mode else "unit"}
        projection = None if self.top_mode else self._shown_projection()
        if projection is not None:
            fields["channel"] = projection.channel
            if projection.position is not None:
                strongest = " (strongest)" if self.position is None else ""
                fields["position"] = f"{projection.position}{strongest}"
        return fields | {"display": self.display}

    def unit_settings(self) -> dict[str, Value]:
        """The unit projected (or about to be, from settings) as ``channel``, ``row`` and ``col`` (None: the
        strongest)."""
        channel, position = self._restored_unit[1] if self._restored_unit else (self.channel, self.position)
        row, col = (int(position[0]), int(position[1])) if position is not None else (None, None)
        return {"channel": None if channel is None else int(channel), "row": row, "col": col}

    def apply_unit_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Project the unit of this layer named by ``channel``, ``row`` and ``col`` among ``values`` (in place of
        the shared selection, once the current input is there, unless the selection changes first); other names
        are unknown settings."""
        values = dict(values)
        unit = {name: values.pop(name) for name in UNIT_SETTINGS if name in values}
        problems = self.settings_binding.unknown_settings(values, strict)
        if unit:
            restored, wrong = unit_from_settings(unit, self.layer_binding.choice)
            problems |= wrong
            if restored is not None:
                self._restored_unit, self._selection_for = (self.layer, restored), None
                self.schedule()
        return problems

    def choose_position(self, position: tuple[int, int] | None) -> None:
        """Project the unit at ``position`` (row, col) of the map (None: the strongest position)."""
        self.position = position
        self.schedule()

    def clear_views(self) -> None:
        """Show nothing."""
        self.result = self.top = self.output = None
        self.channel = self.position = None
        self._requested = None
        self._selection_for = self._restored_unit = None
        self._unhandled = {}
        self.unit_view.clear()
        self.top_view.clear()
        self.position_label.clear()
        self.warning.hide()
        self.note.hide()
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the current selection, starting the projection (or top 9) it needs."""
        self._follow_selection()
        self._sync_controls()
        output = self.jobs.request_output(self.layer)
        if output is not None:
            self.output_ready(output)
        x = self.state.input_tensor
        if x is None:
            return
        model, layer, method = self.state.model, self.layer, self.method
        check = method != "gradient" and layer not in self._unhandled
        if self.top_mode:
            self.pages.setCurrentIndex(1)
            top_request = (model, x, layer, method)
            if self.top is not None and same_request(self.top.request, top_request):
                self._show_top()
            elif not (self.jobs.is_running("project") and same_request(top_request, self._requested)):
                self._requested = top_request
                self.jobs.submit("project", f"Projecting the top {TOP_K} channels of {layer}…", top_job,
                                 *top_request, check, done=self._top_ready)
        else:
            self.pages.setCurrentIndex(0)
            request = (model, x, layer, self.channel, self.position, method)
            if self.result is not None and same_request(self.result.request, request):
                self._show_result()
            elif not (self.jobs.is_running("project") and same_request(request, self._requested)):
                self._requested = request
                self.jobs.submit("project", f"Projecting {layer} ({method})…", project_job, *request, check,
                                 done=self._result_ready)
        self._show_warning()

    def output_ready(self, output: LayerOutput) -> None:
        """The layer's output arrived: draw the activation map."""
        self.output = output
        self._show_map()

    def channel_selected(self, channel: int | None) -> None:
        """The shared channel changed: project that channel at its strongest position (not a unit set from
        settings)."""
        self._restored_unit = None
        self.schedule()

    def _follow_selection(self) -> None:
        """Take the shared channel and position (None: the strongest) when the layer, input, channel or
        shared position changed; the unit set from settings instead, the first time with an input."""
        channel = self.layer_binding.state_channel()
        position = self.state.position if channel is not None else None
        key = (self.state.model, self.state.input_tensor, self.layer, channel, position)
        if not same_request(key, self._selection_for):
            self._selection_for = key
            self.channel = channel
            self.position = position
            if self._restored_unit is not None and self.state.input_tensor is not None:
                (layer, unit), self._restored_unit = self._restored_unit, None
                if layer == self.layer:
                    self.channel, self.position = unit

    def _sync_controls(self) -> None:
        choice = self.layer_binding.choice
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
        self._show_note()

    def _show_note(self) -> None:
        """The note of the projection shown when it is the same for every image (see
        :attr:`cnnviz.core.per_image.deconv.Projection.note`), else nothing."""
        shown = self._shown_projection()
        note = shown.note if shown is not None and shown.method == self.method else ""
        self.note.setVisible(bool(note))
        if note:
            self.note.setText(f"ⓘ {escape(note)}")

    def _shown_projection(self) -> deconv.Projection | None:
        """The single projection shown, or the first of the top 9 in that view (None if neither is current)."""
        if self.top_mode:
            top = self.top
            if top is not None and top.units and self._is_current(top.request[:3]):
                return top.units[0]
            return None
        result = self._current_result()
        return result.projection if result is not None else None

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
            choice = self.layer_binding.choice
            names = ([output.model.class_name(i) for i in range(values.shape[0])]
                     if choice is not None and choice.class_scores else None)
            unit = f"unit {channel}{self._class_of(channel)} = {float(values[channel]):.4g}"
            self.unit_view.show_vector(values.numpy(), names, channel, f"<b>{escape(self.layer)}</b>: {unit}",
                                       hint="click a bar to project it")
            return
        position = self.position
        if position is None:
            if result is not None and result.projection.channel == channel:
                position = result.projection.position
            else:
                position = deconv.channel_argmax(values, channel)
        strongest = " (strongest)" if self.channel is None else ""
        self.unit_view.show_map(values[channel].numpy(), position,
                                f"{escape(self.layer)} · channel {channel}{strongest}",
                                f"unit {position} = {float(values[channel][position]):.4g}",
                                hint="click to pick a position")

    def _class_of(self, channel: int) -> str:
        """`` (class name)`` where the layer's units are the classes, else ""."""
        choice = self.layer_binding.choice
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
        where = f" at {projection.position}" if projection.position is not None else ""
        unit = f"channel {projection.channel}{self._class_of(projection.channel)}"
        self.unit_view.show_projection(result, self.display, f"{METHODS[result.request[5]][0]}: {unit}{where}",
                                       self.state.seen_image)
        self.export.set_enabled(True)
        self._sync_controls()
        self._show_note()

    def _show_top(self) -> None:
        top, model = self.top, self.state.model
        if top is None or model is None or not self._is_current(top.request[:3]):
            return
        self.top_view.show_units(top, self.display, model.input_size, self.layer)
        self.export.set_enabled(True)
        self._show_note()

    def _top_clicked(self, index: int) -> None:
        if self.top is None or not 0 <= index < len(self.top.units):
            return
        self.top_button.blockSignals(True)
        self.top_button.setChecked(False)
        self.top_button.blockSignals(False)
        self.layer_binding.choose_channel(self.top.units[index].channel)
        self.schedule()

    def _top_hovered(self, index: int) -> None:
        if self.top is not None and 0 <= index < len(self.top.units):
            unit = self.top.units[index]
            top, left, bottom, right = unit.box
            self.jobs.show_info(f"{index + 1}: {unit_text(unit)} · field {right - left}×{bottom - top} px "
                                f"from ({top}, {left})")

    def _map_hovered(self, row: int, col: int) -> None:
        output = self.output
        if output is None or row < 0 or output.values.dim() != 3 or output.layer != self.layer:
            return
        channel = self.channel if self.channel is not None else deconv.strongest_unit(output.values)[0]
        value = float(output.values[channel, row, col])
        self.jobs.show_info(f"unit ({row}, {col}) of channel {channel}: {value:.4g}")

    def _step(self, delta: int) -> None:
        choice = self.layer_binding.choice
        if choice is None or self.top_mode:
            return
        current = self.channel
        if current is None:
            result = self._current_result()
            current = result.projection.channel if result is not None else 0
        self.layer_binding.choose_channel(min(max(current + delta, 0), choice.channels - 1))

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
