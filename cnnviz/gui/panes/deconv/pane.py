"""The Deconvnet pane: project one unit of a layer back to pixel space (Zeiler & Fergus 2014).

Pick a layer, a channel (default: the strongest on this image) and a position (default: the shared
position selection, e.g. a dataset hit's, else that channel's strongest; click the activation map to
pick another), and a method: ``deconvnet``, ``guided`` backpropagation or the plain ``gradient``.
The unit projected is part of the pane's settings (:mod:`.unit`), so that a session reopens the same projection.
The pane shows the activation map (from the shared activation store), the projection (signed, grey = 0, or
absolute), the input with the unit's receptive field boxed, and the field's input crop beside the projection's.
"Top 9" shows the nine strongest channels' projections beside their input patches (Fig. 2 of the paper, for one
image). Where the model has nonlinearities without a deconvnet/guided rule (SiLU, GELU, sigmoid, …) a warning
says the projection is not exact; where a deconvnet projection is the same for every image (no max pooling
before the layer, e.g. MobileNetV2) a note says why. The method and display come from a form built from the
deconv analysis's ``Settings``; the projections are the deconv and top9 analyses' results, run on the compute
worker (:mod:`.job`) and drawn by :mod:`.views`; "Export figure…" saves their report figures, as ``cnnviz run``
draws them. Changing the display shows the same projections again (no new projection).
"""

import dataclasses
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QSpinBox, QStackedWidget, QWidget

from cnnviz.analyses import deconv as unit_analysis
from cnnviz.analyses import layer_rules, top9
from cnnviz.analyses.finite import is_finite, non_finite_message
from cnnviz.core.per_image import deconv
from cnnviz.core.settings import info
from cnnviz.gui.panes.deconv.job import TOP_K, Projected, project_job, top_job
from cnnviz.gui.panes.deconv.unit import UnitChoice
from cnnviz.gui.panes.deconv.views import DISPLAYS, METHODS, Remarks, TopView, UnitView
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.tool_pane import ToolPane, same_request, shrinkable
from cnnviz.gui.runtime.activation_store import LayerOutput
from cnnviz.gui.widgets.layer_picker import LayerChoice, layer_choices
from cnnviz.gui.widgets.layouts import option_row
from cnnviz.gui.widgets.settings_form import SettingsForm, set_spin_range, widget_for
from cnnviz.gui.widgets.shortcuts import add_channel_keys

JOB = "project"


def settings_form() -> SettingsForm:
    """The form of the deconv analysis's ``method`` and ``display``, each method's item with its tooltip."""
    form = SettingsForm(unit_analysis.Settings, fields=("method", "display"),
                        titles={"method": {key: title for key, (title, _tip) in METHODS.items()}, "display": DISPLAYS})
    method, display = form.widget("method"), form.widget("display")
    assert isinstance(method, QComboBox) and isinstance(display, QComboBox)
    for index in range(method.count()):
        method.setItemData(index, METHODS[method.itemData(index)][1], Qt.ItemDataRole.ToolTipRole)
    shrinkable(method, display)
    return form


def displayed(projected: Projected | None, display: str) -> Projected | None:
    """``projected`` shown with ``display`` (the analysis's ``with_display``: the projections are kept)."""
    if projected is None or projected.result.settings.display == display:
        return projected
    result = projected.result
    again = (top9.with_display(result, display) if isinstance(result, top9.Top9Result)
             else unit_analysis.with_display(result, display))
    return dataclasses.replace(projected, result=again)


def channel_spin() -> QSpinBox:
    """The channel picker: the deconv analysis's ``channel`` (its least value: the strongest)."""
    spin = widget_for(info(unit_analysis.Settings, "channel"), {None: "strongest"})
    assert isinstance(spin, QSpinBox)
    spin.setPrefix("channel ")
    shrinkable(spin)
    return spin


class DeconvPane(ToolPane):
    """Layer, channel, position, method and display choices; the single-unit view or the top 9. Attributes:
    ``form`` (method, display), ``channel_spin``, ``top_button``, ``unit`` (the :class:`~.unit.UnitChoice`),
    ``output`` (the layer output whose map is shown), ``remarks``, ``unit_view``, ``top_view``."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "deconv", layer_choices, parent)
        self.unit = UnitChoice(self.layer_binding, self.settings_binding.unknown_settings, self.schedule)
        self.projected: Projected | None = None  # the single unit's projection
        self.top_projected: Projected | None = None
        self.output: LayerOutput | None = None
        self._requested: tuple | None = None
        self._build()
        self._connect()
        self.settings_binding.register(self.form, top9=self.top_button)
        self.settings_binding.add_extra(self.unit.settings, self.unit.apply)
        self.clear_views()

    def _build(self) -> None:
        self.form = settings_form()
        self.channel_spin = channel_spin()
        self.position_label = QLabel()
        self.strongest_button = QPushButton("Strongest position")
        self.strongest_button.setToolTip("Use the channel's strongest position (click the map to pick another)")
        self.top_button = QPushButton(f"Top {TOP_K}")
        self.top_button.setCheckable(True)
        self.top_button.setToolTip(f"Projections of the {TOP_K} strongest channels of the layer, with their input "
                                   "patches")
        self.form.add_widgets(self.top_button)
        self.remarks = Remarks()
        self.unit_view, self.top_view = UnitView(), TopView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.unit_view)
        self.pages.addWidget(self.top_view)
        self.make_figure(lambda: f"deconv-{self.form.value('method')}-{self.layer}-"
                         + (f"top{TOP_K}" if self.top_mode else "unit"),
                         lambda: result.arrays() if (result := self.analysis_result()) is not None else {},
                         self.remarks, self.pages)
        self.arrange(option_row(self.channel_spin, self.position_label, self.strongest_button), self.form)

    def _connect(self) -> None:
        self.channel_spin.valueChanged.connect(self.layer_binding.choose_channel)
        self.strongest_button.clicked.connect(lambda: self.choose_position(None))
        self.form.changed.connect(lambda name: self._display_changed() if name == "display" else self.schedule())
        self.top_button.toggled.connect(lambda _on: self.schedule())
        self.state.position_changed.connect(lambda _position: self.schedule())
        canvas = self.unit_view.map_panel.canvas
        canvas.clicked.connect(lambda row, col: self.choose_position((row, col)))
        canvas.hovered.connect(lambda row, col: self._hover_info(self.unit_view.map_text(row, col)))
        self.unit_view.vector_view.clicked.connect(self.layer_binding.choose_channel)
        for atlas in (self.top_view.projections, self.top_view.patches):
            atlas.clicked.connect(self._top_clicked)
            atlas.hovered.connect(lambda index: self._hover_info(self.top_view.hover_text(index)))
        add_channel_keys(self.figure, self._step, lambda: 1)

    @property
    def top_mode(self) -> bool:
        """True while the top-9 view is shown."""
        return self.top_button.isChecked()

    @property
    def result(self) -> unit_analysis.DeconvResult | None:
        """The single unit's projection last made (current or not: see :meth:`_current_result`)."""
        result = self.projected.result if self.projected is not None else None
        return result if isinstance(result, unit_analysis.DeconvResult) else None

    @property
    def top(self) -> top9.Top9Result | None:
        """The top 9 last projected (current or not)."""
        result = self.top_projected.result if self.top_projected is not None else None
        return result if isinstance(result, top9.Top9Result) else None

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The last convolution (:func:`cnnviz.analyses.layer_rules.last_conv`, as ``cnnviz run deconv``)."""
        model = self.state.model
        return layer_rules.last_conv(model) if model is not None else choices[-1].name

    def analysis_result(self) -> unit_analysis.DeconvResult | top9.Top9Result | None:
        """The projection shown (the deconv analysis's result) or the top 9 shown (the top9 analysis's); their
        report figures are the export. None while neither is shown."""
        shown = self._current_result()
        return shown.result if shown is not None else None

    def caption_fields(self) -> dict[str, Any]:
        """Layer, method, view (unit or top 9), the unit projected (channel, position) and the display."""
        fields = super().caption_fields() | {"method": self.form.value("method"),
                                             "view": f"top {TOP_K}" if self.top_mode else "unit"}
        shown = None if self.top_mode else self._current_result()
        if shown is not None and isinstance(shown.result, unit_analysis.DeconvResult):
            fields["channel"] = shown.result.channel
            if shown.result.position is not None:
                strongest = " (strongest)" if self.unit.position is None else ""
                fields["position"] = f"{shown.result.position}{strongest}"
        return fields | {"display": self.form.value("display")}

    def choose_position(self, position: tuple[int, int] | None) -> None:
        """Project the unit at ``position`` (row, col) of the map (None: the strongest position)."""
        self.unit.choose_position(position)

    def clear_views(self) -> None:
        """Show nothing."""
        self.projected = self.top_projected = self.output = self._requested = None
        self.unit.clear()
        self.unit_view.clear()
        self.top_view.clear()
        self.position_label.clear()
        self.remarks.show_remarks("", "")
        self.export.set_enabled(False)

    def refresh(self) -> None:
        """Show the current selection, starting the projection (or top 9) it needs."""
        self.unit.follow()
        self._sync_controls()
        output = self.jobs.request_output(self.layer)
        if output is not None:
            self.output_ready(output)
        model, x, method = self.state.model, self.state.input_tensor, self.form.value("method")
        if model is None or x is None:
            return
        self.pages.setCurrentIndex(1 if self.top_mode else 0)
        request = ((model, x, self.layer, method) if self.top_mode else
                   (model, x, self.layer, self.unit.channel, self.unit.position, method))
        shown = self.top_projected if self.top_mode else self.projected
        fresh = shown is not None and same_request(shown.request, request)
        if not fresh and not (self.jobs.is_running(JOB) and same_request(request, self._requested)):
            self._requested = request
            job, text = ((top_job, f"Projecting the top {TOP_K} channels of {self.layer}…") if self.top_mode else
                         (project_job, f"Projecting {self.layer} ({method})…"))
            self.jobs.submit(JOB, text, job, request, self.state.image_name, self.form.value("display"),
                             done=self._projected)
        self._show()

    def output_ready(self, output: LayerOutput) -> None:
        """The layer's output arrived: draw the activation map."""
        self.output = output
        self._show_map()

    def channel_selected(self, channel: int | None) -> None:
        """The shared channel changed: project that channel at its strongest position (not a unit set from
        settings)."""
        self.unit.selection_changed()
        self.schedule()

    def _sync_controls(self) -> None:
        choice = self.layer_binding.choice
        self.channel_spin.blockSignals(True)
        set_spin_range(self.channel_spin, 0, choice.channels - 1 if choice else 0, with_none=True)
        self.channel_spin.setValue(-1 if self.unit.channel is None else self.unit.channel)
        self.channel_spin.blockSignals(False)
        vector, position = choice is not None and choice.is_vector, self.unit.position
        self.position_label.setText("" if vector else f"position: {position or 'strongest'}")
        self.strongest_button.setEnabled(not vector and position is not None and not self.top_mode)
        self.channel_spin.setEnabled(not self.top_mode)

    def _projected(self, projected: Projected) -> None:
        if not same_request(projected.request, self._requested):
            return
        if isinstance(projected.result, top9.Top9Result):
            self.top_projected = projected
        else:
            self.projected = projected
        self._display_changed()
        self._show_map()

    def _display_changed(self) -> None:
        """Show the projections with the display chosen now (the projections are kept)."""
        display = self.form.value("display")
        self.projected, self.top_projected = displayed(self.projected, display), displayed(self.top_projected, display)
        self._show()

    def _current_result(self) -> Projected | None:
        """The single unit's projection (the top 9 in that view) for the current model, input and layer, else
        None."""
        shown = self.top_projected if self.top_mode else self.projected
        current = (self.state.model, self.state.input_tensor, self.layer)
        return shown if shown is not None and same_request(shown.request[:3], current) else None

    def _show(self) -> None:
        """Draw the projection (or top 9) shown with its warning and note (those of the method chosen only)."""
        shown = self._current_result()
        result = shown.result if shown is not None else None
        if isinstance(result, top9.Top9Result):
            self.top_view.show_units(result)
        elif isinstance(result, unit_analysis.DeconvResult):
            self.unit_view.show_projection(result)
            self._sync_controls()
        warning = note = ""
        if result is not None and result.settings.method == self.form.value("method"):
            warning, note = result.warning, result.note
            self.export.set_enabled(True)
        self.remarks.show_remarks(warning, note)

    def _show_map(self) -> None:
        """Draw the activation map of the channel projected (or to be projected) with its unit marked."""
        output, choice = self.output, self.layer_binding.choice
        if output is None or choice is None or output.layer != self.layer:
            return
        if output.input is not self.state.input_tensor:
            return
        if not is_finite(output.values):
            self.unit_view.clear()
            self.export.set_enabled(False)
            self.jobs.show_error(non_finite_message(output.model, self.layer))
            return
        values, channel, position = output.values, self.unit.channel, self.unit.position
        strongest = channel is None
        if channel is None:
            channel = deconv.strongest_unit(values)[0]
        shown = None if self.top_mode else self._current_result()
        if position is None and values.dim() == 3:
            done = shown.result if shown is not None else None
            position = (done.position if isinstance(done, unit_analysis.DeconvResult) and done.channel == channel
                        else deconv.channel_argmax(values, channel))
        names = [output.model.class_name(i) for i in range(choice.channels)] if choice.class_scores else None
        self.unit_view.show_output(values.numpy(), self.layer, channel, position, names, strongest)

    def _top_clicked(self, index: int) -> None:
        top = self.top
        if top is None or not 0 <= index < len(top.channels):
            return
        self.top_button.blockSignals(True)
        self.top_button.setChecked(False)
        self.top_button.blockSignals(False)
        self.layer_binding.choose_channel(int(top.channels[index]))
        self.schedule()

    def _hover_info(self, text: str) -> None:
        if text:
            self.jobs.show_info(text)

    def _step(self, delta: int) -> None:
        choice = self.layer_binding.choice
        if choice is None or self.top_mode:
            return
        current = self.unit.channel
        if current is None:
            result = self.analysis_result()
            current = result.channel if isinstance(result, unit_analysis.DeconvResult) else 0
        self.layer_binding.choose_channel(min(max(current + delta, 0), choice.channels - 1))
