"""The Attribution pane: which input pixels made the network score a class, compared across methods or
classes, with the metrics that say how far each map can be trusted.

Up to four methods side by side for the pane's target class (the shared target: the top-1 class unless
one is pinned in the Predictions pane), or one method for up to four classes (the target and the next
most probable ones by default) to see whether the map depends on the class at all. Each map is an
overlay on the input (opacity, colormap, signed or absolute) captioned with its method, layer and
parameters; under it a metrics row: deletion and insertion AUC and, on request (it is slow), the model
randomisation test, whose curves are plotted below with one line per map. A map that barely changes when
the weights are destroyed is flagged.

The controls are forms of the attribution analysis's :class:`~cnnviz.analyses.attribution.Settings`
(:mod:`~cnnviz.gui.panes.attribution.controls`, :mod:`~cnnviz.gui.panes.attribution.params`); the CAM layer, the
methods' parameters and the classes are live: a change runs the analysis
(:func:`cnnviz.analyses.attribution.run`) again on the compute worker, cancelling a stale run and given the maps
already computed for this input (:class:`~cnnviz.gui.panes.attribution.jobs.MapCache`), so only what changed is
computed; a run stops while the pane is hidden and goes on when it is shown. Its partial and final
:class:`~cnnviz.analyses.attribution.AttributionAnalysis` is what the view
(:class:`~cnnviz.gui.panes.attribution.view.AttributionView`) shows and what :meth:`AttributionPane.analysis_result`
returns, with Run/Cancel (Ctrl+R/Esc), progress and PARTIAL from :class:`~cnnviz.gui.panes.run_pane.RunPane`.
Exports: the analysis's report figure, the maps (.npy), the metrics and curves (CSV).
"""

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QWidget

from cnnviz.analyses import attribution as analysis
from cnnviz.analyses.attribution import AttributionAnalysis, Settings, defaults, wanted_parts
from cnnviz.analyses.base import Source
from cnnviz.core.progress import Step
from cnnviz.core.settings import info
from cnnviz.gui.panes.attribution import exports
from cnnviz.gui.panes.attribution.controls import CompareControls, DisplayRow
from cnnviz.gui.panes.attribution.jobs import (
    DISPLAY_FIELDS,
    AttributionRequest,
    MapCache,
    cam_layer_choices,
    computing,
    parts_done,
    planned,
)
from cnnviz.gui.panes.attribution.params import MethodForms
from cnnviz.gui.panes.attribution.view import AttributionView, Scene, planned_maps
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.panes.tool_pane import same_request
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.settings_form import SettingsForm, widget_for


class AttributionPane(RunPane):
    """See the module docstring. ``result``: the analysis result of the latest run (partial while it runs or after
    a cancel); ``cache``: the maps computed for the current model and input."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "attribution", cam_layer_choices, parent, unit="results")
        self.run_button.setToolTip("Compute what the shown maps still lack after a cancel (Ctrl+R); a change "
                                   "of the settings, the image or the target computes them by itself")
        self.picker.setToolTip("The layer of the CAM methods (PgUp/PgDn: previous/next)")
        self.result: AttributionAnalysis | None = None
        self.cache = MapCache()
        self._merged = -1
        self._resume = False
        self._build_controls()
        self.view = AttributionView(self._class_text, self.partial_label)
        self.make_figure(self._export_name, lambda: exports.map_arrays(self.analysis_result()), self.view,
                         extra=self._write_tables_beside)
        display = QHBoxLayout()
        display.addWidget(self.display_row, 1)
        display.addWidget(self.data_button)
        self.arrange(self.compare, self.method_forms, self.run_controls.row(self.metrics_form, self.random_check),
                     display)
        self._connect()
        self.settings_binding.register(self.compare.form, *self.forms.values(), self.metrics_form,
                                       self.display_row.form)
        self.clear_views()

    def _build_controls(self) -> None:
        self.compare = CompareControls(lambda: list(self.state.model.categories) if self.state.model else None)
        self.method_forms = MethodForms()
        self.forms = self.method_forms.forms
        self.metrics_form = SettingsForm(Settings, fields=("curves",))
        check = widget_for(info(Settings, "randomisation"))
        assert isinstance(check, QCheckBox)
        self.random_check = check
        self.display_row = DisplayRow()
        self.data_button = QPushButton("Export data…")
        self.data_button.setToolTip("Save the maps as .npy files and the metrics and curves as CSV")

    def _connect(self) -> None:
        for form in (self.compare.form, *self.forms.values(), self.metrics_form):
            form.changed.connect(lambda _name: self.schedule())
        self.random_check.toggled.connect(lambda _on: self.schedule())
        self.display_row.form.changed.connect(lambda _name: self._draw())
        self.data_button.clicked.connect(self.export_data)
        self.state.target_changed.connect(lambda _index: self.schedule())
        self.state.predictions_changed.connect(lambda _predictions: self.schedule())
        self.view.hovered.connect(self.jobs.show_info)

    # What is shown.

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The attribution analysis's CAM layer (:func:`cnnviz.analyses.attribution.defaults`, as ``cnnviz run``):
        the last layer whose output still has a grid larger than 1×1."""
        model = self.state.model
        return defaults(model).layer if model is not None else choices[-1].name

    def chosen(self) -> Settings:
        """The analysis settings the controls show, with the pane's CAM layer and target class and the
        randomisation test (not a remembered setting: it is slow); raises ValueError for settings the analysis
        refuses (no method checked, a class picked twice)."""
        values: dict[str, Any] = {}
        for form in (self.compare.form, *self.forms.values(), self.metrics_form, self.display_row.form):
            values |= form.values()
        target = self.state.target
        return Settings(**values, layer=self.layer, target=target if target >= 0 else None,
                        randomisation=self.random_check.isChecked())

    def request(self) -> AttributionRequest | None:
        """What the pane shows now (None without a model, input or target, or with settings the analysis refuses)."""
        model, x = self.state.model, self.state.input_tensor
        if model is None or x is None or self.state.target < 0:
            return None
        try:
            return AttributionRequest(model, x, computing(self.chosen()))
        except ValueError:
            return None

    def shown_result(self, request: AttributionRequest | None = None) -> AttributionAnalysis | None:
        """The result of the latest run if it answers ``request`` (default: the current one), else None."""
        request = request or self.request()
        return self.result if request is not None and same_request(request, self.run_request) else None

    def analysis_result(self) -> AttributionAnalysis | None:
        """The maps shown with their curves (the latest run's result, with the display settings shown now: those
        compute nothing), whose report figure is the export; None while no map is computed."""
        result = self.shown_result()
        if result is None or not result.maps:
            return None
        shown = self.display_row.form.values()
        return dataclasses.replace(result, settings=result.settings.replace(
            **{name: shown[name] for name in DISPLAY_FIELDS}))

    def caption_fields(self) -> dict[str, Any]:
        """The caption fields of :meth:`analysis_result` (the settings that shaped the maps, the target or
        classes, the CAM layer and each map's method, layer and parameters, as ``cnnviz run`` writes them),
        else of the controls' settings."""
        result = self.analysis_result()
        if result is not None:
            return dict(result.caption().fields)
        try:
            return self.chosen().caption_fields()
        except ValueError:
            return {}

    # Runs.

    def refresh(self) -> None:
        """Show the current selection and compute what it lacks (a stale run is replaced)."""
        predictions, model = self.state.predictions, self.state.model
        if predictions is not None and model is not None:
            self.compare.follow_predictions([model.class_name(i) for i in range(len(predictions.probabilities))],
                                            self.state.target, [index for index, _name, _p in predictions.top])
        self.cache.follow(model, self.state.input_tensor)
        request = self.request()
        self._draw()
        if request is None:
            return
        shown = self.shown_result(request)
        if shown is not None and not shown.partial:
            return
        if self._resume or not same_request(request, self.run_request):
            self._start(request)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt API
        """Like every tool pane, compute only while shown: a run stops when the pane is hidden (what it
        computed stays) and goes on when it is shown again."""
        super().hideEvent(event)
        if self.running:
            self._resume = True
            self._dirty = True
            self.cancel()

    def run(self) -> None:
        """Compute what the shown maps lack (after a cancel or a failure); nothing when they lack nothing."""
        request = self.request()
        shown = self.shown_result(request)
        if request is not None and (shown is None or shown.partial):
            self._start(request)

    def _start(self, request: AttributionRequest) -> None:
        self._merged = -1
        self._resume = False
        self.start(analysis.run, request, request.model, Source(self.state.image_name, request.x), request.settings,
                   known=tuple(self.cache.maps.values()), text="Computing attributions…")
        self.run_button.setEnabled(False)

    def clear_views(self) -> None:
        """Forget every result (a new model)."""
        self.cancel()
        self.run_request = None
        self.result = None
        self.cache.clear()
        self.view.clear()
        self.run_controls.reset_progress("Maps are computed as soon as a model and an image are loaded")
        self._draw()

    def on_partial(self, item: Step) -> None:
        """Show what the latest run computed so far (once per part finished: the steps between carry the
        same maps and only move the progress)."""
        if item.done != self._merged:
            self._merged = item.done
            self._show(item.partial)

    def on_done(self, result: AttributionAnalysis) -> None:
        """Show the latest run's result."""
        self._show(result)

    def on_ended(self) -> None:
        """Failures and cancels end the run: show what stays (Run resumes)."""
        self._draw()

    def partial_progress(self) -> tuple[int, int] | None:
        """(parts computed, parts wanted) of the shown maps; None while no map is computed."""
        result = self.shown_result()
        return parts_done(result) if result is not None and result.maps else None

    def _show(self, result: AttributionAnalysis) -> None:
        self.result = result
        self.cache.add(result)
        self._draw()

    # Drawing.

    def _draw(self) -> None:
        request = self.request()
        maps = planned(request, self.state.predictions.probabilities if self.state.predictions else None)
        result = self.shown_result(request)
        self.method_forms.show_methods({method for method, _target in maps} or set(self.compare.methods()))
        failed = result is not None and self.outcome == "failed"
        self.view.show_scene(Scene(self.compare.mode, maps, planned_maps(result, maps),
                                   wanted_parts(request.settings) if request is not None else (),
                                   self.display_row.look(), self.view.pixels(self.state.seen_image),
                                   "Failed (see the status line)" if failed else "Computing…", self._note()))
        computed = result is not None and bool(result.maps)
        self.export.set_enabled(computed)
        self.data_button.setEnabled(result is not None and any(not item.failed for item in result.maps))
        self.run_button.setEnabled(not self.running and request is not None and (result is None or result.partial))
        self.update_partial()

    def _note(self) -> str:
        """What the summary says when no map is planned for the input: why the settings are refused."""
        if self.state.input_tensor is None:
            return ""
        if not self.compare.methods():
            return "Check up to four methods."
        try:
            self.chosen()
        except ValueError as error:
            return str(error)
        return ""

    def _class_text(self, target: int) -> str:
        model, predictions = self.state.model, self.state.predictions
        name = model.class_name(target) if model is not None else str(target)
        p = f", p = {predictions.probability(target):.3g}" if predictions is not None else ""
        return f"{name} ({target}{p})"

    # Exports.

    def _export_name(self) -> str:
        request = self.request()
        if request is None:
            return "attribution"
        if self.compare.mode == "methods":
            return f"attribution-methods-class{self.state.target}"
        return f"attribution-{self.compare.class_method}-classes"

    def _write_tables_beside(self, png: Path) -> list[Path]:
        """The metrics and curves CSV beside an exported figure ``png`` (``<stem>-metrics.csv``, ``-curves.csv``)."""
        result = self.analysis_result()
        return exports.write_tables(result, png.with_suffix("")) if result is not None else []

    def export_data(self) -> list[Path] | None:
        """Ask for a file name and save the maps (.npy) and the metrics and curves (CSV) beside it
        (:func:`~cnnviz.gui.panes.attribution.exports.save_data`); None if cancelled or failed."""
        result = self.analysis_result()
        if result is None:
            return None
        written = save_with_dialog(self, "Export attribution data", f"cnnviz-{self._export_name()}",
                                   "NumPy arrays and CSV (*.npy *.csv)", lambda path: exports.save_data(result, path),
                                   "Could not export the data")
        if written is None:
            return None
        self.state.show_status(f"Saved {len(written)} files beside {written[0]}")
        return written
