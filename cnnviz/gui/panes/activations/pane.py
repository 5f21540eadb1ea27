"""The Activations pane: every channel of a layer's output on the current image, one channel enlarged
and laid over the input, per-channel statistics and the channels that are dead for this input.

The layer output comes from the controller's activation store (one forward pass with a hook on the compute
worker, cached per model and input and shared with the other panes), so switching panes or orderings costs no
new pass. What the pane shows is the activations analysis's result made from that output
(:func:`cnnviz.analyses.activations.of_output`) with the settings of the form built from the analysis's
``Settings``; :class:`~.view.ActivationsView` draws it.
"""

from html import escape
from typing import Any, cast

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QWidget

from cnnviz.analyses import activations as analysis
from cnnviz.analyses import layer_rules
from cnnviz.analyses.base import Source
from cnnviz.core.settings import info
from cnnviz.gui.panes.activations.view import ActivationsView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.settings_form import SettingsForm
from cnnviz.gui.widgets.shortcuts import add_channel_keys

ORDERS = {"index": "Index", "mean": "Mean", "max": "Max"}
ORDER_TIPS = {"index": "Index", "mean": "Mean (largest first)", "max": "Max (largest first)"}
SCALES = {"layer": "Per layer", "channel": "Per channel"}
FIELDS = ("order", "scale", "colormap", "opacity")
"""The analysis settings the form shows (the layer is the picker's, the channel the shared selection)."""
MAP_FIELDS = ("scale", "colormap", "opacity")
"""The settings that only matter for maps (disabled for a vector output)."""
MAX_LIMIT = int(cast(float, info(analysis.Settings, "limit").meta.high))  # the analysis bounds its limit
"""Most maps the analysis's figure can show (the grid on screen shows all of them)."""


def settings_form() -> SettingsForm:
    """The pane's form of :data:`FIELDS`: the colormap as a picker with ramps (unlabelled, as the scale: the
    row fits a narrow pane), the opacity as a slider."""
    opacity = QSlider(Qt.Orientation.Horizontal)
    opacity.setRange(0, 100)
    opacity.setMaximumWidth(90)
    colormap = ColormapPicker("viridis")
    form = SettingsForm(analysis.Settings, fields=FIELDS, overrides={"colormap": colormap, "opacity": opacity},
                        titles={"order": ORDERS, "scale": SCALES})
    order, scale = form.widget("order"), form.widget("scale")
    assert isinstance(order, QComboBox) and isinstance(scale, QComboBox)
    for index in range(order.count()):
        order.setItemData(index, ORDER_TIPS[order.itemData(index)], Qt.ItemDataRole.ToolTipRole)
    for name in ("scale", "colormap"):
        form.pair(name)[0].hide()
    shrinkable(scale, colormap, opacity)
    return form


class ActivationsPane(ToolPane):
    """Layer picker, the settings form (order, scale, colormap, opacity) and the view: the channel grid (or bar
    chart) and the selected channel enlarged and over the input. Attributes: ``form``, ``view`` (the
    :class:`~.view.ActivationsView`), ``output`` (the layer output shown, None before) and ``result`` (the
    result shown, None before)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "activations", layer_choices, parent)
        self.output: LayerOutput | None = None
        self.result: analysis.ActivationsResult | None = None
        self.form = settings_form()
        self.opacity_label = QLabel()
        self.form.add_widgets(self.opacity_label)
        self.view = ActivationsView()
        self.make_figure(lambda: f"activations-{self.layer}", self._export_data, self.view)
        self.arrange(self.form)
        self._connect()
        self.settings_binding.register(self.form)
        self.clear_views()

    def _connect(self) -> None:
        self.form.changed.connect(lambda _name: self._show())
        opacity = self.form.widget("opacity")
        assert isinstance(opacity, QSlider)
        opacity.valueChanged.connect(lambda value: self.opacity_label.setText(f"{value}%"))
        self.opacity_label.setText(f"{opacity.value()}%")
        for view in (self.view.atlas, self.view.vector_view):
            view.hovered.connect(lambda index: self.jobs.show_info(self.view.hover_text(index)))
            view.clicked.connect(self.layer_binding.choose_channel)
        add_channel_keys(self.figure, self._step, self.view.row_length)

    @property
    def selected(self) -> int | None:
        """The channel (or unit) enlarged, None while nothing is shown."""
        return self.result.channel if self.result is not None else None

    def caption_fields(self) -> dict[str, Any]:
        """Layer, channel enlarged, channel order, colour scaling, colormap and overlay opacity."""
        values = self.form.values()
        return super().caption_fields() | {"channel": self.selected, "order": values["order"],
                                           "scaling": f"per {values['scale']}", "colormap": values["colormap"],
                                           "opacity": values["opacity"] / 100}

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first convolution, else the first layer with maps (:func:`cnnviz.analyses.layer_rules.first_conv`)."""
        model = self.state.model
        return layer_rules.first_conv(model) if model is not None else choices[0].name

    def analysis_result(self) -> analysis.ActivationsResult | None:
        """The layer output shown, in the order shown with the enlarged channel: the activations analysis's
        result (every channel, up to the analysis's limit); None while nothing is shown."""
        return self.result

    def clear_views(self) -> None:
        """Show nothing."""
        self.output = self.result = None
        self.view.clear()
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the current layer's output for the current input (capturing it if needed)."""
        output = self.jobs.request_output(self.layer)
        if output is not None:
            self.output_ready(output)
        elif self.output is None or self.output.layer != self.layer:
            waiting = "capturing…" if self.state.input_tensor is not None else "waiting for the image…"
            self.view.clear(f"<b>{escape(self.layer)}</b>: {waiting}")

    def output_ready(self, output: LayerOutput) -> None:
        """Show ``output`` (the current layer on the current input)."""
        self.output = output
        self.jobs.show_info("")
        self._show()

    def channel_selected(self, channel: int | None) -> None:
        """Show the shared channel selection (None: the strongest channel)."""
        if self.output is not None and self.output.layer == self.layer:
            self._show()
        else:
            self.schedule()

    def _show(self) -> None:
        """Show the result of the output with the form's settings and the shared channel (else the strongest)."""
        output, choice = self.output, self.layer_binding.choice
        if output is None or choice is None or output.layer != choice.name:
            return
        count = output.values.shape[0]
        chosen = self.layer_binding.state_channel()
        settings = self.form.settings(layer=output.layer, channel=chosen if chosen is not None and chosen < count
                                      else None, limit=min(count, MAX_LIMIT))
        try:
            self.result = analysis.of_output(output.model, Source(self.state.image_name, output.input), settings,
                                             choice, output.values, output.stats)
        except ValueError as error:  # NaN or infinite values (a model whose output is not finite for this image)
            self._show_failure(output.layer, str(error))
            return
        for name in MAP_FIELDS:
            control = self.form.widget(name)
            assert isinstance(control, QWidget)
            control.setEnabled(not self.result.is_vector)
        self.view.show_result(self.result, self.state.image_name, output)
        self.export.set_enabled(True)

    def _show_failure(self, layer: str, message: str) -> None:
        """Show no maps, and ``message`` (why ``layer`` cannot be shown) in red on the info line."""
        self.result = None
        self.view.clear(f"<b>{escape(layer)}</b>: not shown")
        self.export.set_enabled(False)
        self.jobs.show_error(message)

    def _step(self, delta: int) -> None:
        """Select the channel ``delta`` places away in the shown order."""
        result = self.result
        if result is None:
            return
        order = list(result.order)
        slot = min(max(order.index(result.channel) + delta, 0), len(order) - 1)
        self.layer_binding.choose_channel(order[slot])

    def _export_data(self) -> dict[str, np.ndarray]:
        return self.result.arrays() if self.result is not None else {}
