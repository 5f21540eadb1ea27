"""The Activations pane: every channel of a layer's output on the current image, one channel enlarged
and laid over the input, per-channel statistics and the channels that are dead for this input.

Maps ([C, H, W] outputs) form one atlas image ordered by index, mean or max; a vector output [C]
(fully connected layers, logits) is a bar chart, with class names where the units are the classes.
The layer output comes from the controller's activation store: one forward pass with a hook on the
compute worker, cached per (model, input), so switching panes or orderings costs no new pass.
"""

from html import escape
from typing import Any, cast

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QStackedWidget, QWidget

from cnnviz.analyses import layer_rules
from cnnviz.analyses.activations import NAME, ActivationsResult, Settings
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.settings import from_json, info
from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
from cnnviz.core.per_image import activations
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.atlas_view import AtlasView, tile_gap
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.layouts import column, grid_and_detail, option_combo, option_row, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.shortcuts import add_channel_keys
from cnnviz.gui.widgets.vector_view import VectorView

ORDERS = {"index": "Index", "mean": "Mean (largest first)", "max": "Max (largest first)"}
SCALES = {"layer": "Per layer", "channel": "Per channel"}
DEFAULT_OPACITY = 50
MAX_LISTED = 24
"""Dead channels listed by number in the summary (all of them are in its tooltip)."""
MAX_LIMIT = int(cast(float, info(Settings, "limit").meta.high))  # the analysis bounds its limit
"""Most maps the analysis's figure can show (the grid on screen shows all of them)."""


def scaled_tiles(values: np.ndarray, per: str) -> tuple[np.ndarray, tuple[float, float]]:
    """Maps [C, H, W] for display and their levels: as they are over the layer's min..max
    (``per="layer"``), or each stretched to [0, 1] over its own min..max (``per="channel"``)."""
    if per == "layer":
        return values, (float(values.min()), float(values.max()))
    flat = values.reshape(values.shape[0], -1)
    low = flat.min(axis=1)[:, None, None]
    span = (flat.max(axis=1)[:, None, None] - low)
    return np.divide(values - low, span, out=np.zeros_like(values), where=span > 0), (0.0, 1.0)


def show_channel_grid(view: AtlasView, values: np.ndarray, order: list[int], per: str,
                      colormap_name: str) -> Atlas:
    """Draw maps [C, H, W] in ``order`` as one atlas in ``view``, scaled as :func:`scaled_tiles`
    says, with its colour bar; returns the atlas shown."""
    tiles, levels = scaled_tiles(values, per)
    atlas = make_atlas(tiles, order=order, pad=tile_gap(tiles.shape[1:3]))
    view.show_atlas(atlas, levels, colormap_name)
    view.set_colorbar(levels, colormap_name, "activation" if per == "layer" else "each channel: min → max")
    return atlas


def number_list(indices: list[int], limit: int = MAX_LISTED) -> str:
    """``indices`` as ``3, 7, 19`` (at most ``limit`` of them, then ``… (+N more)``)."""
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", … (+{len(indices) - limit} more)" if len(indices) > limit else "")


def dead_summary(dead: list[int], count: int, unit: str) -> str:
    """The layer summary line about the ``unit``s (channels, units) that are zero everywhere."""
    if not dead:
        return f"No dead {unit}: each of the {count} is non-zero somewhere for this input."
    return (f"<b>Dead for this input</b> (zero everywhere): {len(dead)} of {count} {unit} — "
            f"{number_list(dead)}")


class ActivationsPane(ToolPane):
    """Layer picker, order/scale/colormap/opacity options, the channel grid (or bar chart) and the
    selected channel enlarged and over the input."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "activations", layer_choices, parent)
        self.output: LayerOutput | None = None
        self.order: list[int] = []
        self.selected: int | None = None
        self.dead_channels: list[int] = []
        self.overlay: np.ndarray | None = None
        self._drawn: tuple | None = None
        self._build_controls()
        self._build_figure()
        self._connect()
        self._opacity_changed(self.opacity.value())
        self.settings_binding.register(order=self.order_combo, scale=self.scale_combo, colormap=self.colormap,
                                       opacity=self.opacity)
        self.clear_views()

    def _build_controls(self) -> None:
        self.order_combo = option_combo({key: title.split(" (")[0] for key, title in ORDERS.items()},
                                        "Order of the channels", tips=ORDERS)
        self.scale_combo = option_combo(SCALES, "One colour scale for the layer, or each channel stretched to "
                                                "its own range")
        self.colormap = ColormapPicker("viridis")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(DEFAULT_OPACITY)
        self.opacity.setMaximumWidth(90)
        self.opacity.setToolTip("Opacity of the map over the input")
        self.opacity_label = QLabel()
        shrinkable(self.order_combo, self.scale_combo, self.colormap, self.opacity)

    def _build_figure(self) -> None:
        self.atlas = AtlasView()
        self.vector_view = VectorView()
        self.title = wrapped_label()
        self.summary = wrapped_label(selectable=True)
        self.map_panel = MapPanel(colorbar=True)
        self.overlay_panel = MapPanel(colorbar=True)
        self.stats_label = wrapped_label(selectable=True)
        self.grid_stack = QStackedWidget()
        self.grid_stack.addWidget(self.atlas)
        self.grid_stack.addWidget(self.vector_view)
        self.detail = column(self.map_panel, self.overlay_panel, self.stats_label, stretch=(0, 1))
        self.splitter = grid_and_detail(column(self.title, self.grid_stack, self.summary), self.detail)
        self.make_figure(lambda: f"activations-{self.layer}", self._export_data, self.splitter)
        mark_transient(self.atlas.outline, self.map_panel.detail, self.overlay_panel.detail)
        self.arrange(option_row("Order", self.order_combo, self.scale_combo, self.colormap, "Opacity", self.opacity,
                                self.opacity_label))

    def _connect(self) -> None:
        self.order_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.scale_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.colormap.colormap_changed.connect(lambda _name: self._redraw())
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.atlas.hovered.connect(self._hovered)
        self.atlas.clicked.connect(self.layer_binding.choose_channel)
        self.vector_view.hovered.connect(self._hovered)
        self.vector_view.clicked.connect(self.layer_binding.choose_channel)
        self.map_panel.canvas.hovered.connect(self._map_hovered)
        self.overlay_panel.canvas.hovered.connect(self._overlay_hovered)
        add_channel_keys(self.figure, self._step, self._row_length)

    @property
    def order_by(self) -> str:
        """``"index"``, ``"mean"`` or ``"max"``."""
        return str(self.order_combo.currentData())

    @property
    def per(self) -> str:
        """``"layer"`` or ``"channel"``: how the grid's colours are scaled."""
        return str(self.scale_combo.currentData())

    def caption_fields(self) -> dict[str, Any]:
        """Layer, channel enlarged, channel order, colour scaling, colormap and overlay opacity."""
        return super().caption_fields() | {"channel": self.selected, "order": self.order_by,
                                           "scaling": f"per {self.per}", "colormap": self.colormap.name(),
                                           "opacity": self.opacity.value() / 100}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first convolution, else the first layer with maps (:func:`cnnviz.analyses.layer_rules.first_conv`)."""
        model = self.state.model
        return layer_rules.first_conv(model) if model is not None else choices[0].name

    def analysis_result(self) -> ActivationsResult | None:
        """The layer output shown, in the order shown with the enlarged channel, as the activations analysis's
        result (its report figure is the export; every channel shown, up to the analysis's limit); None while
        nothing is shown."""
        output, choice, channel = self.output, self.layer_binding.choice, self.selected
        if output is None or choice is None or channel is None or output.layer != choice.name:
            return None
        chosen, _dropped = from_json(Settings, self.settings() | {
            "layer": output.layer, "channel": channel, "limit": min(len(self.order), MAX_LIMIT)})
        classes = tuple(output.model.class_name(i) for i in range(choice.channels)) if choice.class_scores else ()
        model, x = output.model, output.input
        return ActivationsResult(settings=chosen, head=about(NAME, model, Source(self.state.image_name, x)),
                                 layer=output.layer, layer_type=choice.type, calls=choice.calls,
                                 values=output.values.numpy(), stats=output.stats, order=tuple(self.order),
                                 channel=channel, overlay=self.overlay, image=np.asarray(model.deprocess(x)),
                                 classes=classes)

    def clear_views(self) -> None:
        """Show nothing."""
        self.output = None
        self.selected = None
        self.order = []
        self.dead_channels = []
        self.overlay = None
        self._drawn = None
        self.atlas.clear_image()
        self.map_panel.canvas.clear_image()
        self.overlay_panel.canvas.clear_image()
        for label in (self.title, self.summary, self.stats_label, self.map_panel.detail,
                      self.overlay_panel.detail):
            label.clear()
        self.map_panel.set_title("")
        self.overlay_panel.set_title("")
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the current layer's output for the current input (capturing it if needed)."""
        output = self.jobs.request_output(self.layer)
        if output is not None:
            self.output_ready(output)
        elif self.output is None or self.output.layer != self.layer:
            waiting = "capturing…" if self.state.input_tensor is not None else "waiting for the image…"
            self.title.setText(f"<b>{escape(self.layer)}</b>: {waiting}")

    def output_ready(self, output: LayerOutput) -> None:
        """Draw ``output`` (the current layer on the current input)."""
        self.output = output
        self._redraw()

    def channel_selected(self, channel: int | None) -> None:
        """Show the shared channel selection (None: the strongest channel)."""
        if self.output is not None and self.output.layer == self.layer:
            self._show_channel()
        else:
            self.schedule()

    def _redraw(self) -> None:
        """Draw the grid (or bars) of ``output`` unless already drawn with these options."""
        output, choice = self.output, self.layer_binding.choice
        if output is None or choice is None or output.layer != choice.name:
            return
        options = (self.order_by, self.per, self.colormap.name())
        if self._drawn is None or self._drawn[0] is not output or self._drawn[1] != options:
            self._drawn = (output, options)
            self.order = activations.channel_order(output.stats, self.order_by)
            self.dead_channels = output.stats.dead
            maps = output.values.dim() == 3
            for control in (self.scale_combo, self.colormap, self.opacity):
                control.setEnabled(maps)
            self.jobs.show_info("")
            if maps:
                self._draw_maps(output)
            else:
                self._draw_vector(output, choice)
            self._write_summary(output, choice)
            self.export.set_enabled(True)
        self._show_channel()

    def _draw_maps(self, output: LayerOutput) -> None:
        self.grid_stack.setCurrentWidget(self.atlas)
        self.detail.show()
        show_channel_grid(self.atlas, output.values.numpy(), self.order, self.per, self.colormap.name())

    def _draw_vector(self, output: LayerOutput, choice: LayerChoice) -> None:
        self.grid_stack.setCurrentWidget(self.vector_view)
        self.detail.hide()
        model = output.model
        names = [model.class_name(i) for i in range(choice.channels)] if choice.class_scores else None
        self.vector_view.show_values(output.values.numpy(), self.order, names)

    def _write_summary(self, output: LayerOutput, choice: LayerChoice) -> None:
        shape = output.values.shape
        unit = "units" if len(shape) == 1 else "channels"
        what = f"{shape[0]} {unit}" + (f" of {shape[2]}×{shape[1]}" if len(shape) == 3 else "")
        calls = (f" (called {choice.calls}× per forward pass; the last call is shown)"
                 if choice.calls > 1 else "")
        self.title.setText(f"<b>{escape(choice.name)}</b> · {escape(choice.type)} · {what} on "
                           f"{escape(self.state.image_name)}{calls}, ordered by {self.order_by}")
        self.summary.setText(dead_summary(self.dead_channels, shape[0], unit))
        self.summary.setToolTip(", ".join(str(i) for i in self.dead_channels))

    def _show_channel(self) -> None:
        """Select the shared channel (else the strongest) and show it enlarged and over the input."""
        output = self.output
        if output is None or output.layer != self.layer:
            return
        count = output.values.shape[0]
        chosen = self.layer_binding.state_channel()
        channel = chosen if chosen is not None and chosen < count else int(np.argmax(output.stats.max))
        self.selected = channel
        stats = output.stats
        if output.values.dim() == 1:
            self.overlay = None
            self.vector_view.select(channel)
            name = f" ({escape(self._unit_name(channel))})" if self._unit_name(channel) else ""
            self.stats_label.setText(f"Unit {channel}{name}: {float(output.values[channel]):.4g}")
            return
        self.atlas.select(channel)
        values = output.values[channel].numpy()
        levels = (float(values.min()), float(values.max()))
        cmap = self.colormap.name()
        self.map_panel.canvas.set_image(values, levels, cmap)
        self.map_panel.canvas.set_colorbar(levels, cmap)
        self.map_panel.set_title(f"Channel {channel}")
        self.map_panel.detail.setText(f"{values.shape[1]}×{values.shape[0]} map; hover for values")
        self._show_overlay(output, channel, levels)
        self.stats_label.setText(
            f"Channel {channel}: mean {stats.mean[channel]:.4g} · max {stats.max[channel]:.4g} · "
            f"zeros {stats.zero_fraction[channel]:.1%}{self._dead_note(channel)}")

    def _show_overlay(self, output: LayerOutput, channel: int, levels: tuple[float, float]) -> None:
        seen = self.state.seen_image
        if seen is None or output.input is not self.state.input_tensor:
            self.overlay = None
            self.overlay_panel.canvas.clear_image()
            return
        size = output.model.input_size
        self.overlay = activations.upsample(output.values[channel], size)
        base = image_array(seen)
        self.overlay_panel.canvas.set_image(base, (0, 255))
        self.overlay_panel.canvas.set_overlay(self.overlay, levels, self.colormap.name(),
                                              self.opacity.value() / 100)
        self.overlay_panel.canvas.set_colorbar(levels, self.colormap.name())
        self.overlay_panel.set_title(f"Channel {channel} over the input")
        self.overlay_panel.detail.setText(f"bilinear upsampling to {size[1]}×{size[0]}")

    def _opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.overlay_panel.canvas.set_opacity(value / 100)

    def _hovered(self, index: int) -> None:
        output = self.output
        if output is None or index < 0:
            self.jobs.show_info("Click a channel to enlarge it; arrow keys step through them.")
            return
        stats = output.stats
        if output.values.dim() == 1:
            name = f" ({self._unit_name(index)})" if self._unit_name(index) else ""
            self.jobs.show_info(f"unit {index}{name}: {float(output.values[index]):.4g}")
            return
        self.jobs.show_info(f"channel {index} · mean {stats.mean[index]:.4g} · max {stats.max[index]:.4g} · "
                            f"zeros {stats.zero_fraction[index]:.1%}{self._dead_note(index)}")

    def _unit_name(self, index: int) -> str:
        """The class name of unit ``index`` where the layer's units are the classes, else ""."""
        choice = self.layer_binding.choice
        if self.output is None or choice is None or not choice.class_scores:
            return ""
        return self.output.model.class_name(index)

    def _dead_note(self, channel: int) -> str:
        return " · dead for this input" if channel in self.dead_channels else ""

    def _map_hovered(self, row: int, col: int) -> None:
        if self.output is None or self.selected is None or row < 0 or self.output.values.dim() != 3:
            return
        value = float(self.output.values[self.selected, row, col])
        self.map_panel.detail.setText(f"({row}, {col}): {value:.4g}")

    def _overlay_hovered(self, row: int, col: int) -> None:
        if self.overlay is None or row < 0:
            return
        value = float(self.overlay[row, col])
        self.overlay_panel.detail.setText(f"input pixel ({row}, {col}): map {value:.4g}")

    def _row_length(self) -> int:
        if self.output is not None and self.output.values.dim() == 3 and self.atlas.atlas is not None:
            return self.atlas.atlas.columns
        return 1

    def _step(self, delta: int) -> None:
        """Select the channel ``delta`` places away in the shown order."""
        if self.selected is None or self.selected not in self.order:
            return
        slot = min(max(self.order.index(self.selected) + delta, 0), len(self.order) - 1)
        self.layer_binding.choose_channel(self.order[slot])

    def _export_data(self) -> dict[str, np.ndarray]:
        if self.output is None:
            return {}
        data = {"activations": self.output.values.numpy(), "order": np.asarray(self.order)}
        if self.selected is not None and self.output.values.dim() == 3:
            data[f"channel{self.selected}"] = self.output.values[self.selected].numpy()
            if self.overlay is not None:
                data["overlay"] = self.overlay
        return data
