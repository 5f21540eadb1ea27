"""The Filters pane: every filter of a conv layer in one zoomable grid, and one filter enlarged
beside its activation map on the current image (Zeiler & Fergus's filter ↔ activation figure).

A filter with 3 input channels shows as an RGB image; other layers show one input channel's slice
or the L2 norm over input channels. Filters are scaled to [0, 1] by their own min..max or by the
layer's; the grid's colour bar gives the weight values (per layer) or says that each filter is
stretched, the enlarged filter's gives its own weight values either way.
The grid is computed on the compute worker, so layers with thousands of filters keep the window
responsive.
"""

from dataclasses import dataclass
from html import escape
from typing import Any, cast

import numpy as np
import torch
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QSpinBox, QWidget

from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.filters import NAME, FiltersResult, Settings
from cnnviz.analyses.settings import from_json, info
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
from cnnviz.core.per_image import filters
from cnnviz.core.per_image.filters import FilterStats
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.atlas_view import AtlasView, tile_gap
from cnnviz.gui.widgets.colormaps import DIVERGING, ColormapPicker
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.layer_picker import LayerChoice, conv_choices
from cnnviz.gui.widgets.layouts import column, grid_and_detail, option_combo, option_row, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.shortcuts import add_channel_keys

Levels = tuple[float, float]

VIEWS = {"rgb": "RGB", "channel": "Input channel", "norm": "L2 norm over inputs"}
SCALES = {"filter": "Per filter", "layer": "Per layer"}
MAX_LIMIT = int(cast(float, info(Settings, "limit").meta.high))  # the analysis bounds its limit
"""Most filters the analysis's figure can show (the grid on screen shows all of them)."""


@dataclass(frozen=True)
class FilterGrid:
    """The filters of ``layer`` drawn for display with ``view``/``channel``/``per`` (see
    :func:`cnnviz.core.per_image.filters.filter_images`): raw ``weights`` [out, in, kH, kW], ``images``
    [out, kH, kW] or [out, kH, kW, 3] in [0, 1], the weight range ``layer_range`` the layer's images
    span, each filter's shown range ``ranges`` [out, 2] (:func:`cnnviz.core.per_image.filters.view_ranges`),
    per-filter ``stats``, ``biases`` [out] (None without bias) and the ``atlas`` of the images."""

    model: LoadedModel
    layer: str
    view: str
    channel: int
    per: str
    weights: torch.Tensor
    images: np.ndarray
    layer_range: tuple[float, float]
    ranges: np.ndarray
    stats: list[FilterStats]
    biases: np.ndarray | None
    atlas: Atlas

    @property
    def request(self) -> tuple:
        """What it was computed for: (model, layer, view, channel, per)."""
        return self.model, self.layer, self.view, self.channel, self.per


def filter_grid(model: LoadedModel, layer: str, view: str, channel: int, per: str) -> FilterGrid:
    """Weights, display images, statistics and atlas of conv layer ``layer`` (compute worker)."""
    weights = filters.weights(model, layer)
    images, layer_range = filters.filter_images(weights, view=view, channel=channel, per=per)
    bias = dict(model.module.named_modules())[layer].bias
    biases = None if bias is None else bias.detach().float().cpu().numpy()
    return FilterGrid(model, layer, view, channel, per, weights, images, layer_range,
                      filters.view_ranges(weights, view, channel), filters.stats(weights), biases,
                      make_atlas(images, pad=tile_gap(images.shape[1:3])))


def display_levels(grid: FilterGrid, colormap_name: str, index: int | None = None) -> tuple[Levels, Levels, str]:
    """How to colour ``grid``'s [0, 1] images: (image levels, colour-bar values, colour-bar label);
    for the whole grid, or with ``index`` for filter ``index`` alone.

    Per layer the bar shows weight values; with the diverging colormap the levels are widened so
    that weight 0 sits at its white centre. Per filter the grid's bar runs 0..1 of each filter's own
    range, filter ``index``'s bar over its own weight values.
    """
    label = "L2 norm" if grid.view == "norm" else "weight"
    if grid.per == "filter":
        if index is None:
            return (0.0, 1.0), (0.0, 1.0), "each filter: min → max"
        low, high = (float(v) for v in grid.ranges[index])
        return (0.0, 1.0), (low, high), label
    low, high = grid.layer_range
    if colormap_name != DIVERGING or grid.view in ("rgb", "norm") or high <= low:
        return (0.0, 1.0), (low, high), label
    bound = max(abs(low), abs(high))
    span = high - low
    return ((-bound - low) / span, (bound - low) / span), (-bound, bound), label


def filter_text(stat: FilterStats, bias: float | None = None) -> str:
    """One line about a filter: index, shape, L2 norm, min, max (and bias)."""
    shape = "×".join(str(v) for v in stat.shape)
    text = (f"filter {stat.index} · {shape} · L2 norm {stat.norm:.4g} · min {stat.min:.4g} · "
            f"max {stat.max:.4g}")
    return text if bias is None else f"{text} · bias {bias:.4g}"


class FiltersPane(ToolPane):
    """Conv layer picker, view and scale options, the filter grid and the selected filter."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "filters", conv_choices, parent)
        self.grid: FilterGrid | None = None
        self.selected: int | None = None
        self._requested: tuple | None = None
        self._in_channels = 0
        self._build_controls()
        self._build_figure()
        self._connect()
        self._register_controls()
        self.clear_views()

    def _register_controls(self) -> None:
        self.settings_binding.register(view=self.view_combo, in_channel=self.channel_spin, scale=self.scale_combo,
                                       colormap=self.colormap)

    def layer_applied(self) -> None:
        """Range the input-channel control over the layer's input channels."""
        if self.state.model is not None:
            self._sync_controls()

    def _build_controls(self) -> None:
        self.view_combo = option_combo(VIEWS, "How a filter with several input channels is drawn")
        self.channel_spin = QSpinBox()
        self.channel_spin.setPrefix("in ")
        self.channel_spin.setToolTip("Input channel shown")
        self.scale_combo = option_combo(SCALES, "Normalise each filter to its own min..max, or all filters to "
                                                "the layer's")
        self.colormap = ColormapPicker("grey")
        shrinkable(self.view_combo, self.channel_spin, self.scale_combo, self.colormap)

    def _build_figure(self) -> None:
        self.atlas = AtlasView()
        self.filter_panel = MapPanel(colorbar=True)
        self.activation_panel = MapPanel(colorbar=True)
        self.title = wrapped_label()
        self.stats_label = wrapped_label(selectable=True)
        splitter = grid_and_detail(column(self.title, self.atlas, stretch=(1,)),
                                   column(self.filter_panel, self.activation_panel, self.stats_label, stretch=(0, 1)))
        self.make_figure(lambda: f"filters-{self.layer}", self._export_data, splitter)
        mark_transient(self.atlas.outline, self.filter_panel.detail, self.activation_panel.detail)
        self.arrange(option_row("Show", self.view_combo, self.channel_spin, 8, self.scale_combo, 8, self.colormap))

    def _connect(self) -> None:
        self.view_combo.currentIndexChanged.connect(lambda _i: self._options_changed())
        self.channel_spin.valueChanged.connect(lambda _v: self._options_changed())
        self.scale_combo.currentIndexChanged.connect(lambda _i: self._options_changed())
        self.colormap.colormap_changed.connect(lambda _name: self._draw())
        self.atlas.hovered.connect(self._hovered)
        self.atlas.clicked.connect(self.layer_binding.choose_channel)
        self.filter_panel.canvas.hovered.connect(self._filter_hovered)
        self.activation_panel.canvas.hovered.connect(self._activation_hovered)
        add_channel_keys(self.figure, self._step, lambda: self.atlas.atlas.columns if self.atlas.atlas else 1)

    @property
    def view(self) -> str:
        """The filter view: ``"rgb"``, ``"channel"`` or ``"norm"``."""
        return str(self.view_combo.currentData())

    @property
    def per(self) -> str:
        """The normalisation: ``"filter"`` or ``"layer"``."""
        return str(self.scale_combo.currentData())

    def caption_fields(self) -> dict[str, Any]:
        """Layer, filter enlarged, view (and input channel), scaling and colormap."""
        fields = super().caption_fields() | {"filter": self.selected, "view": self.view}
        if self.view == "channel":
            fields["input_channel"] = self.channel_spin.value()
        return fields | {"scaling": f"per {self.per}", "colormap": self.colormap.name()}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first convolution (:func:`cnnviz.analyses.layer_rules.first_conv`, as the filters analysis)."""
        model = self.state.model
        first = layer_rules.first_conv(model) if model is not None else ""
        return first if any(c.name == first for c in choices) else choices[0].name

    def analysis_result(self) -> FiltersResult | None:
        """The grid and the enlarged filter shown, as the filters analysis's result (its report figure is the
        export; every filter shown, up to the analysis's limit); None without a grid or an image."""
        grid, x, index = self.grid, self.state.input_tensor, self.selected
        if grid is None or x is None or index is None:
            return None
        count = len(grid.images)
        output = self.store.get(grid.layer)
        activation = output.values[index].numpy() if output is not None and index < output.values.shape[0] else None
        chosen, _dropped = from_json(Settings, self.settings() | {
            "layer": grid.layer, "view": grid.view, "in_channel": grid.channel, "scale": grid.per, "filter": index,
            "limit": min(count, MAX_LIMIT)})
        return FiltersResult(settings=chosen, head=about(NAME, grid.model, Source(self.state.image_name, x)),
                             layer=grid.layer, view=grid.view, in_channel=grid.channel, weights=grid.weights.numpy(),
                             biases=grid.biases, images=grid.images, layer_range=grid.layer_range, ranges=grid.ranges,
                             filter=index, activation=activation, image=np.asarray(grid.model.deprocess(x)))

    def clear_views(self) -> None:
        """Show nothing."""
        self.grid = None
        self.selected = None
        self._requested = None
        self.atlas.clear_image()
        self.filter_panel.canvas.clear_image()
        self.activation_panel.canvas.clear_image()
        self.filter_panel.set_title("Filter")
        self.activation_panel.set_title("Activation map")
        self.filter_panel.detail.clear()
        self.activation_panel.detail.clear()
        self.title.clear()
        self.stats_label.clear()
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the grid of the current layer and options (computing it if needed) and the filter."""
        self._sync_controls()
        request = (self.state.model, self.layer, self.view, self.channel_spin.value(), self.per)
        if self.grid is not None and same_request(self.grid.request, request):
            self._show_filter()
            return
        if not (self.jobs.is_running("grid") and same_request(request, self._requested)):
            self._requested = request
            self.jobs.submit("grid", f"Drawing the filters of {self.layer}…", filter_grid, *request,
                             done=self._grid_ready)

    def output_ready(self, output: LayerOutput) -> None:
        """The layer's output arrived: show the selected filter's activation map."""
        self._show_activation(output)

    def channel_selected(self, channel: int | None) -> None:
        """Another pane (or a click here) selected a channel of this layer: enlarge that filter."""
        if self.grid is not None and self.grid.layer == self.layer:
            self._show_filter()

    def _sync_controls(self) -> None:
        """Match the view and input-channel controls to the layer's number of input channels."""
        model = self.state.model
        assert model is not None  # layer_applied and refresh (by way of schedule) run only with a model
        weight = getattr(dict(model.module.named_modules()).get(self.layer), "weight", None)
        inputs = int(weight.shape[1]) if weight is not None and weight.dim() == 4 else 0
        for control in (self.view_combo, self.channel_spin):
            control.blockSignals(True)
        if inputs != self._in_channels:
            self._in_channels = inputs
            items = cast(QStandardItemModel, self.view_combo.model())  # a combo box's own model
            rgb_item = items.item(self.view_combo.findData("rgb"))
            rgb_item.setEnabled(inputs == 3)
            if inputs == 3:
                self.view_combo.setCurrentIndex(self.view_combo.findData("rgb"))
            elif self.view == "rgb":
                self.view_combo.setCurrentIndex(self.view_combo.findData("channel"))
            self.channel_spin.setRange(0, max(0, inputs - 1))
            self.channel_spin.setSuffix(f" of {inputs}")
        self.channel_spin.setEnabled(self.view == "channel" and inputs > 1)
        for control in (self.view_combo, self.channel_spin):
            control.blockSignals(False)

    def _options_changed(self) -> None:
        self.schedule()

    def _grid_ready(self, grid: FilterGrid) -> None:
        if not same_request(grid.request, self._requested):
            return
        self.grid = grid
        self._draw()

    def _draw(self) -> None:
        """Draw the grid with the current colormap, then the selected filter."""
        grid = self.grid
        if grid is None:
            return
        levels, bar_values, bar_label = display_levels(grid, self.colormap.name())
        rgb = grid.images.ndim == 4
        self.atlas.show_atlas(grid.atlas, levels, None if rgb else self.colormap.name())
        self.atlas.set_colorbar(bar_values, "grey" if rgb else self.colormap.name(), bar_label)
        count, shape = len(grid.stats), "×".join(str(v) for v in grid.weights.shape[1:])
        shown = {"rgb": "as RGB", "channel": f"input channel {grid.channel}",
                 "norm": "L2 norm over input channels"}[grid.view]
        scale = "each filter scaled to its own range" if grid.per == "filter" else "one scale for the layer"
        self.title.setText(f"<b>{escape(grid.layer)}</b>: {count} filters of {shape}, {shown}; {scale}")
        self.export.set_enabled(True)
        self._show_filter()

    def _show_filter(self) -> None:
        """Enlarge the selected filter (the shared channel, else filter 0) and show its activation."""
        grid = self.grid
        if grid is None:
            return
        index = self.layer_binding.state_channel()
        index = index if index is not None and index < len(grid.stats) else 0
        self.selected = index
        self.atlas.select(index)
        levels, bar_values, bar_label = display_levels(grid, self.colormap.name(), index)
        rgb = grid.images.ndim == 4
        self.filter_panel.canvas.set_image(grid.images[index], levels, self.colormap.name())
        self.filter_panel.canvas.set_colorbar(bar_values, "grey" if rgb else self.colormap.name(), bar_label)
        self.filter_panel.set_title(f"Filter {index} of {grid.layer}")
        self.filter_panel.detail.setText("hover for weights")
        bias = None if grid.biases is None else float(grid.biases[index])
        self.stats_label.setText(filter_text(grid.stats[index], bias))
        output = self.jobs.request_output(grid.layer) if self.state.input_tensor is not None else None
        if output is not None:
            self._show_activation(output)
            return
        self.activation_panel.canvas.clear_image()
        self.activation_panel.set_title(f"Activation map of filter {index}")
        self.activation_panel.detail.setText(
            "waiting for the image…" if self.state.input_tensor is None else "capturing…")

    def _show_activation(self, output: LayerOutput) -> None:
        """Show channel ``selected`` of ``output`` (the conv layer's output for the current image)."""
        if self.selected is None or output.layer != self.layer or self.selected >= output.values.shape[0]:
            return
        values = output.values[self.selected].numpy()
        levels = (float(values.min()), float(values.max()))
        self.activation_panel.canvas.set_image(values, levels, self.colormap.name())
        self.activation_panel.canvas.set_colorbar(levels, self.colormap.name())
        height, width = values.shape
        self.activation_panel.set_title(f"Activation map of filter {self.selected}")
        self.activation_panel.detail.setText(
            f"{width}×{height} output of {escape(output.layer)} on {escape(self.state.image_name)}")

    def _hovered(self, index: int) -> None:
        if self.grid is None or index < 0:
            self.jobs.show_info("Click a filter to enlarge it; wheel zooms, double-click fits.")
            return
        bias = None if self.grid.biases is None else float(self.grid.biases[index])
        self.jobs.show_info(filter_text(self.grid.stats[index], bias))

    def _filter_hovered(self, row: int, col: int) -> None:
        grid = self.grid
        if grid is None or self.selected is None or row < 0:
            self.filter_panel.detail.setText("hover for weights")
            return
        weights = grid.weights[self.selected, :, row, col]
        if grid.view == "rgb":
            text = "RGB weights " + ", ".join(f"{float(v):.4g}" for v in weights)
        elif grid.view == "channel":
            text = f"weight {float(weights[grid.channel]):.4g} (input channel {grid.channel})"
        else:
            text = f"L2 norm over inputs {float(weights.norm()):.4g}"
        self.filter_panel.detail.setText(f"({row}, {col}): {text}")

    def _activation_hovered(self, row: int, col: int) -> None:
        output = self.store.get(self.layer)
        if output is None or self.selected is None or row < 0:
            return
        value = float(output.values[self.selected, row, col])
        self.activation_panel.detail.setText(f"({row}, {col}): {value:.4g}")

    def _step(self, delta: int) -> None:
        if self.grid is not None and self.selected is not None:
            self.layer_binding.choose_channel(min(max(self.selected + delta, 0), len(self.grid.stats) - 1))

    def _export_data(self) -> dict[str, np.ndarray]:
        if self.grid is None:
            return {}
        data = {"weights": self.grid.weights.numpy(), "images": self.grid.images}
        output = self.store.get(self.layer)
        if output is not None and self.selected is not None:
            data["activation"] = output.values[self.selected].numpy()
        return data
