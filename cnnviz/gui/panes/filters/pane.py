"""The Filters pane: every filter of a conv layer in one zoomable grid, and one filter enlarged
beside its activation map on the current image (Zeiler & Fergus's filter ↔ activation figure).

A filter with 3 input channels shows as an RGB image; other layers show one input channel's slice
or the L2 norm over input channels. Filters are scaled to [0, 1] by their own min..max or by the
layer's. The settings form is built from the filters analysis's ``Settings``; the filters are drawn by the
analysis on the compute worker (:mod:`.grid`) and the enlarged filter's map comes from the shared activation
store, so what the pane shows is the analysis's :class:`~cnnviz.analyses.filters.FiltersResult`
(:meth:`FiltersPane.analysis_result`), drawn by :class:`~.view.FiltersView`. The filters need no image: without
one they are drawn (on the model's blank input) and the enlarged filter's map waits for an image; the export and
the report, whose figure shows the input, wait for it too.
"""

import dataclasses
from typing import Any, cast

import numpy as np
import torch
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

from cnnviz.analyses import filters as analysis
from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.settings import info
from cnnviz.gui.panes.filters.grid import FilterGrid, filter_grid, grid_request
from cnnviz.gui.panes.filters.view import FiltersView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.layer_picker import LayerChoice, conv_choices
from cnnviz.gui.widgets.layouts import option_combo
from cnnviz.gui.widgets.settings_form import SettingsForm
from cnnviz.gui.widgets.shortcuts import add_channel_keys

VIEWS = {"rgb": "RGB", "channel": "Input channel", "norm": "L2 norm over inputs"}
"""The views the pane offers (the analysis's ``auto`` is resolved here: RGB for 3 input channels, else one)."""
SCALES = {"filter": "Per filter", "layer": "Per layer"}
FIELDS = ("view", "in_channel", "scale", "colormap")
"""The analysis settings the form shows (the layer is the picker's, the filter the shared channel)."""
MAX_LIMIT = int(cast(float, info(analysis.Settings, "limit").meta.high))  # the analysis bounds its limit
"""Most filters the analysis's figure can show (the grid on screen shows all of them)."""
NO_MODEL = "Load a model to see its filters."
"""What the pane says without a model."""
NO_IMAGE = "open an image to see this filter's map"
"""What the enlarged filter's map panel says without an image."""


def settings_form() -> SettingsForm:
    """The pane's form of :data:`FIELDS`: the view without ``auto``, the colormap as a picker with ramps (the
    input channel and the colormap unlabelled: the prefix and the ramps say what they are, and the row fits a
    narrow pane)."""
    view = option_combo(VIEWS)
    colormap = ColormapPicker("grey")
    form = SettingsForm(analysis.Settings, fields=FIELDS, overrides={"view": view, "colormap": colormap},
                        titles={"scale": SCALES}, initial=analysis.Settings(view="channel"))
    spin, scale = form.widget("in_channel"), form.widget("scale")
    assert isinstance(spin, QSpinBox) and isinstance(scale, QComboBox)
    spin.setPrefix("in ")
    for name in ("in_channel", "colormap"):
        form.pair(name)[0].hide()
    shrinkable(view, spin, scale, colormap)
    return form


class FiltersPane(ToolPane):
    """Conv layer picker, the settings form (view, input channel, scale, colormap) and the view: the filter
    grid and the selected filter (the shared channel, else filter 0). Attributes: ``form``, ``view`` (the
    :class:`~.view.FiltersView`), ``grid`` (the :class:`~.grid.FilterGrid` drawn, None before) and ``result``
    (the result shown, None before)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "filters", conv_choices, parent)
        self.grid: FilterGrid | None = None
        self.result: analysis.FiltersResult | None = None
        self._requested: tuple | None = None
        self._blank: tuple[LoadedModel, torch.Tensor] | None = None
        self._in_channels = 0
        self.form = settings_form()
        self.view = FiltersView()
        self.make_figure(lambda: f"filters-{self.layer}", self._export_data, self.view)
        self.arrange(self.form)
        self._connect()
        self.settings_binding.register(self.form)
        self.clear_views()

    def _connect(self) -> None:
        self.form.changed.connect(lambda _name: self.schedule())
        self.view.atlas.hovered.connect(lambda index: self.jobs.show_info(self.view.filter_text(index)))
        self.view.atlas.clicked.connect(self.layer_binding.choose_channel)
        add_channel_keys(self.figure, self._step, self.view.columns)

    @property
    def selected(self) -> int | None:
        """The filter enlarged (None while nothing is shown)."""
        return self.result.filter if self.result is not None else None

    def layer_applied(self) -> None:
        """Range the input-channel control over the layer's input channels."""
        if self.state.model is not None:
            self._sync_controls()

    def caption_fields(self) -> dict[str, Any]:
        """Layer, filter enlarged, view (and input channel), scaling and colormap."""
        values = self.form.values()
        fields = super().caption_fields() | {"filter": self.selected, "view": values["view"]}
        if values["view"] == "channel":
            fields["input_channel"] = values["in_channel"]
        return fields | {"scaling": f"per {values['scale']}", "colormap": values["colormap"]}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first convolution (:func:`cnnviz.analyses.layer_rules.first_conv`, as the filters analysis)."""
        model = self.state.model
        first = layer_rules.first_conv(model) if model is not None else ""
        return first if any(c.name == first for c in choices) else choices[0].name

    def analysis_result(self) -> analysis.FiltersResult | None:
        """The grid and the enlarged filter shown: the filters analysis's result (every filter, up to the
        analysis's limit; partial while the map is awaited); None while nothing is shown or without an image (its
        figure shows the input)."""
        return self.result if self.state.input_tensor is not None else None

    def clear_views(self) -> None:
        """Show nothing (without a model: say to load one)."""
        self.grid = self.result = self._requested = None
        self.view.clear("" if self.state.model is not None else NO_MODEL)
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the grid of the current layer and settings (drawing it if needed) and the selected filter."""
        model = self.state.model
        if model is None:
            self.clear_views()
            return
        self._sync_controls()
        x = self._input(model)
        settings = self.form.settings(layer=self.layer)
        request = grid_request(model, x, settings)
        if self.grid is not None and same_request(self.grid.request, request):
            self._show()
        elif not (self.jobs.is_running("grid") and same_request(request, self._requested)):
            self._requested = request
            self.jobs.submit("grid", f"Drawing the filters of {self.layer}…", filter_grid, model,
                             Source(self.state.image_name, x), settings, done=self._grid_ready)

    def _input(self, model: LoadedModel) -> torch.Tensor:
        """The input the filters are drawn for: the current image's, else the model's blank input (made once per
        model, so that the grid drawn for it is kept)."""
        x = self.state.input_tensor
        if x is not None:
            return x
        if self._blank is None or self._blank[0] is not model:
            self._blank = (model, model.dummy_input())
        return self._blank[1]

    def output_ready(self, output: LayerOutput) -> None:
        """The layer's output arrived: show the selected filter's activation map."""
        self._show()

    def channel_selected(self, channel: int | None) -> None:
        """Another pane (or a click here) selected a channel of this layer: enlarge that filter."""
        if self.grid is not None and self.grid.result.layer == self.layer:
            self._show()

    def _sync_controls(self) -> None:
        """Match the view and input-channel controls to the layer's number of input channels."""
        model = self.state.model
        assert model is not None  # layer_applied and refresh (by way of schedule) run only with a model
        weight = getattr(dict(model.module.named_modules()).get(self.layer), "weight", None)
        inputs = int(weight.shape[1]) if weight is not None and weight.dim() == 4 else 0
        combo, spin = self.form.widget("view"), self.form.widget("in_channel")
        assert isinstance(combo, QComboBox) and isinstance(spin, QSpinBox)
        for control in (combo, spin):
            control.blockSignals(True)
        if inputs != self._in_channels:
            self._in_channels = inputs
            cast(QStandardItemModel, combo.model()).item(combo.findData("rgb")).setEnabled(inputs == 3)
            if inputs == 3:
                combo.setCurrentIndex(combo.findData("rgb"))
            elif combo.currentData() == "rgb":
                combo.setCurrentIndex(combo.findData("channel"))
            self.form.set_range("in_channel", 0, max(0, inputs - 1))
            spin.setSuffix(f" of {inputs}")
        spin.setEnabled(combo.currentData() == "channel" and inputs > 1)
        for control in (combo, spin):
            control.blockSignals(False)

    def _grid_ready(self, grid: FilterGrid) -> None:
        if same_request(grid.request, self._requested):
            self.grid = grid
            self._show()

    def _show(self) -> None:
        """Show the grid drawn with the selected filter (the shared channel, else filter 0), the current
        colormap and, once captured, the filter's map (the grid's settings for the rest: a newer grid may be
        on its way); without an image, no map."""
        grid, model, x = self.grid, self.state.model, self.state.input_tensor
        if grid is None or model is None or grid.request[1] is not self._input(model) \
                or grid.result.layer != self.layer:
            return
        count = len(grid.stats)
        index = self.layer_binding.state_channel()
        index = index if index is not None and index < count else 0
        settings = dataclasses.replace(grid.result.settings, filter=index, limit=min(count, MAX_LIMIT),
                                       colormap=self.form.value("colormap"))
        output = self.jobs.request_output(grid.result.layer) if x is not None else None
        maps = output.values if output is not None and output.input is x else None
        self.result = analysis.enlarged(grid.result, settings, maps)
        self.view.show_result(grid, self.result, self.state.image_name, "capturing…" if x is not None else NO_IMAGE)
        self.export.set_enabled(x is not None)

    def _step(self, delta: int) -> None:
        if self.grid is not None and self.selected is not None:
            self.layer_binding.choose_channel(min(max(self.selected + delta, 0), len(self.grid.stats) - 1))

    def _export_data(self) -> dict[str, np.ndarray]:
        return self.result.arrays() if self.result is not None else {}
