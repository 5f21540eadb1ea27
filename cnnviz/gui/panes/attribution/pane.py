"""The Attribution pane: which input pixels made the network score a class, compared across methods or
classes, with the metrics that say how far each map can be trusted.

Up to four methods side by side for the pane's target class (the shared target: the top-1 class unless
one is pinned in the Predictions pane), or one method for up to four classes (the target and the next
most probable ones by default) to see whether the map depends on the class at all. Each map is an
overlay on the input (opacity, colormap, signed or absolute) captioned with its method, layer and
parameters; under it a metrics row: deletion and insertion AUC and, on request (it is slow), the model
randomisation test, whose curves are plotted below with one line per map. A map that barely changes when
the weights are destroyed is flagged. The CAM layer, the methods' parameters (from
:func:`cnnviz.core.per_image.attribution.parameters`, so every method the core offers appears here) and the
classes are live: a change computes the maps shown again, cancelling a stale run; maps and metrics
already computed for this input are kept, and a run stops while the pane is hidden and goes on when it
is shown. All computing runs on the compute worker
(:func:`~cnnviz.gui.panes.attribution.jobs.attribution_job`) with Run/Cancel (Ctrl+R/Esc), progress and
PARTIAL from :class:`~cnnviz.gui.panes.run_pane.RunPane`. Exports: the report figure of the attribution
analysis (:mod:`cnnviz.analyses.attribution`, as ``cnnviz run`` draws it) built from the maps and curves shown,
the maps (.npy), the metrics and curves (CSV).
"""

import dataclasses
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget

from cnnviz.analyses.attribution import NAME, AttributionAnalysis, Map, Settings, defaults
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.settings import from_json
from cnnviz.core.per_image import attribution
from cnnviz.core.progress import Step
from cnnviz.gui.panes.attribution import exports
from cnnviz.gui.panes.attribution.controls import MAX_PANELS, CompareControls, DisplayRow, method_title
from cnnviz.gui.panes.attribution.curves import CurvesPlot
from cnnviz.gui.panes.attribution.jobs import (
    AttributionRequest,
    PanelKey,
    PanelResult,
    attribution_job,
    cam_layer_choices,
    missing,
)
from cnnviz.gui.panes.attribution.map_grid import WARNING_STYLE, Look, MapGrid
from cnnviz.gui.panes.attribution.params import ParamForm
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import save_with_dialog
from cnnviz.gui.panes.tool_pane import same_request
from cnnviz.gui.runtime.control_state import Custom, Value
from cnnviz.gui.widgets.collapsible import Section
from cnnviz.gui.widgets.image_view import image_array
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.layouts import wrapped_label


class AttributionPane(RunPane):
    """See the module docstring. ``results``: what is computed for the current model and input, by panel."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "attribution", cam_layer_choices, parent, unit="results")
        self.run_button.setToolTip("Compute what the shown maps still lack after a cancel (Ctrl+R); a change "
                                   "of the settings, the image or the target computes them by itself")
        self.picker.setToolTip("The layer of the CAM methods (PgUp/PgDn: previous/next)")
        self.results: dict[PanelKey, PanelResult] = {}
        self._results_for: tuple | None = None
        self._merged = -1
        self._resume = False
        self._pixels: tuple = (None, None)
        self._build_controls()
        self._build_figure()
        self.arrange(self.compare, self.forms_section,
                     self.run_controls.row(self.metrics_check, self.random_check), self._display_row())
        self._connect()
        self._register_controls()
        self.clear_views()

    def _build_controls(self) -> None:
        self.compare = CompareControls()
        self.forms = {m: ParamForm(m, method_title(m)) for m in attribution.METHODS}
        self.forms_area = QWidget()
        column = QVBoxLayout(self.forms_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        for form in self.forms.values():
            column.addWidget(form)
        self.forms_section = Section("Method parameters", expanded=False)
        self.forms_section.toggleButton().setToolTip("Show or hide the parameters of the methods shown (each "
                                                     "map's caption lists those it used)")
        holder = QVBoxLayout(self.forms_section.content())
        holder.setContentsMargins(0, 0, 0, 0)
        holder.addWidget(self.forms_area)
        self.metrics_check = QCheckBox("Curves")
        self.metrics_check.setChecked(True)
        self.metrics_check.setToolTip("Deletion and insertion curves of each map and their areas (Petsiuk et al. "
                                      "2018)")
        self.random_check = QCheckBox("Randomisation (slow)")
        self.random_check.setToolTip("Re-initialise the layers from the top on a copy of the model and compare "
                                     "each map with the original (Adebayo et al. 2018)")
        self.display_row = DisplayRow()
        self.data_button = QPushButton("Export data…")
        self.data_button.setToolTip("Save the maps as .npy files and the metrics and curves as CSV")

    def _build_figure(self) -> None:
        self.summary = wrapped_label()
        self.warning = wrapped_label()
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        self.grid = MapGrid()
        self.curves = CurvesPlot()
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.partial_label)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.grid)
        body.addWidget(self.curves)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([3000, 1000])  # the maps get three quarters of the height at first
        body.setChildrenCollapsible(False)
        self.make_figure(self._export_name, lambda: exports.map_arrays(self.shown_results()), header, self.warning,
                         body, extra=self._write_tables_beside)

    def _display_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.display_row, 1)
        row.addWidget(self.data_button)
        return row

    def _connect(self) -> None:
        self.compare.changed.connect(self.schedule)
        for form in self.forms.values():
            form.changed.connect(self.schedule)
        self.metrics_check.toggled.connect(lambda _on: self.schedule())
        self.random_check.toggled.connect(lambda _on: self.schedule())
        self.display_row.changed.connect(self._draw)
        self.data_button.clicked.connect(self.export_data)
        self.state.target_changed.connect(lambda _index: self.schedule())
        self.state.predictions_changed.connect(lambda _predictions: self.schedule())
        for column in self.grid.columns:
            column.panel.canvas.hovered.connect(lambda row, col, column=column: self._hovered(column, row, col))

    # What is shown.

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The attribution analysis's CAM layer (:func:`cnnviz.analyses.attribution.defaults`, as ``cnnviz run``):
        the last layer whose output still has a grid larger than 1×1."""
        model = self.state.model
        return defaults(model).layer if model is not None else choices[-1].name

    def analysis_result(self) -> AttributionAnalysis | None:
        """The maps shown with their curves, as the attribution analysis's result (its report figure is the
        export); None while no map is shown. The analysis's maps have no gaps: one not computed (yet, or failed)
        is left out, so the figure shows the computed ones in the screen's order, then "computing…" in the
        places left."""
        model, predictions, pixels = self.state.model, self.state.predictions, self._input_pixels()
        request, shown = self.request(), self.shown_results()
        if request is None or model is None or predictions is None or pixels is None or not any(
                r.attribution is not None for r in shown):
            return None
        layer = next((key.layer for key in request.panels if key.layer), None)
        maps = tuple(dataclasses.replace(Map.of(r.attribution), deletion=r.deletion, insertion=r.insertion)
                     for r in shown if r.attribution is not None)
        return AttributionAnalysis(
            settings=self._chosen(), head=about(NAME, model, Source(self.state.image_name, request.x)),
            partial=self.figure_partial(), maps=maps, planned=tuple((k.method, k.target) for k in request.panels),
            layer=layer, image=pixels, probabilities=predictions.probabilities,
            classes=tuple(model.categories))

    def caption_fields(self) -> dict[str, Any]:
        """The caption fields of :meth:`analysis_result` (the settings that shaped the maps, the target or
        classes, the CAM layer and each map's method, layer and parameters, as ``cnnviz run`` writes them),
        else of the controls' settings."""
        result = self.analysis_result()
        if result is not None:
            return dict(result.caption().fields)
        return self._chosen().caption_fields()

    def _chosen(self) -> Settings:
        """The controls' settings as the analysis's, the target resolved (GUI-only ones dropped)."""
        return from_json(Settings, self.settings() | {"target": self.state.target})[0]

    def targets(self) -> list[int]:
        """The target classes shown: the pane's target (methods mode) or the classes picked."""
        if self.compare.mode == "methods":
            return [self.state.target] if self.state.target >= 0 else []
        return self.compare.class_row.targets()

    def panel_key(self, method: str, target: int) -> PanelKey:
        """The panel of ``method`` for ``target`` with the current layer and parameters."""
        layer = (self.layer or None) if method in attribution.LAYER_METHODS else None
        return PanelKey(method, target, layer, tuple(sorted(self.forms[method].values().items())))

    def request(self) -> AttributionRequest | None:
        """What the pane shows now (None without a model, input or target)."""
        model, x, targets = self.state.model, self.state.input_tensor, self.targets()
        if model is None or x is None or not targets:
            return None
        if self.compare.mode == "methods":
            panels = tuple(self.panel_key(m, targets[0]) for m in self.compare.checked())
        else:
            panels = tuple(self.panel_key(self.compare.class_method, t) for t in targets)
        parts = ("map",) + (("deletion", "insertion") if self.metrics_check.isChecked() else ()) + (
            ("randomisation",) if self.random_check.isChecked() else ())
        return AttributionRequest(model, x, panels, parts)

    def result_of(self, key: PanelKey) -> PanelResult:
        """What is computed for ``key`` on the current model and input (an empty result if nothing)."""
        current = same_request(self._results_for, (self.state.model, self.state.input_tensor))
        return self.results.get(key, PanelResult(key)) if current else PanelResult(key)

    def shown_results(self) -> list[PanelResult]:
        """The results of the maps shown, left to right."""
        request = self.request()
        return [self.result_of(key) for key in request.panels] if request is not None else []

    # Runs.

    def refresh(self) -> None:
        """Show the current selection and compute what it lacks (a stale run is replaced)."""
        self._sync_classes()
        request = self.request()
        if request is not None and not same_request(self._results_for, (request.model, request.x)):
            self.results = {}
            self._results_for = (request.model, request.x)
        self._draw()
        if request is None:
            return
        if not missing(self.shown_results(), request.parts):
            if self.running:
                self.cancel()
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
        """Compute what the shown maps lack (after a cancel); nothing when they lack nothing."""
        request = self.request()
        if request is not None and missing(self.shown_results(), request.parts):
            self._start(request)

    def _start(self, request: AttributionRequest) -> None:
        known = {r.key: r for r in self.shown_results()}
        self._merged = -1
        self._resume = False
        self.start(attribution_job, request, request.model, request.x, request.panels, request.parts, known,
                   text="Computing attributions…")
        self.run_button.setEnabled(False)

    def clear_views(self) -> None:
        """Forget every result (a new model)."""
        self.cancel()
        self.run_request = None
        self.results = {}
        self._results_for = None
        self.grid.clear()
        self.curves.clear()
        self.summary.clear()
        self.warning.hide()
        self.run_controls.reset_progress("Maps are computed as soon as a model and an image are loaded")
        self._draw()

    def on_partial(self, item: Step) -> None:
        """Show what the latest run computed so far (once per part finished: the items between carry the
        same results and only move the progress)."""
        if item.done != self._merged:
            self._merged = item.done
            self._merge(item.partial)

    def on_done(self, result: tuple[PanelResult, ...]) -> None:
        """Show every result of the latest run."""
        self._merge(result)

    def on_ended(self) -> None:
        """Failures and cancels end the run: show what stays (Run resumes)."""
        self._draw()

    def partial_progress(self) -> tuple[int, int] | None:
        """(results computed, results wanted) of the shown maps; None while nothing is shown."""
        request = self.request()
        shown = self.shown_results()
        if request is None or not any(r.attribution is not None for r in shown):
            return None
        total = len(request.panels) * len(request.parts)
        return total - len(missing(shown, request.parts)), total

    def _merge(self, results: tuple[PanelResult, ...]) -> None:
        shown = self.run_request
        if shown is None or not same_request((shown.model, shown.x), self._results_for):
            return
        for result in results:
            self.results[result.key] = result
        self._draw()

    # Controls.

    def _sync_classes(self) -> None:
        """List the classes in the class pickers and, while they follow, pick the target and the next
        most probable classes."""
        predictions, row = self.state.predictions, self.compare.class_row
        if predictions is None or self.state.model is None:
            return
        count = len(predictions.probabilities)
        if row.combos[0].count() != count:
            row.set_classes([self.state.model.class_name(i) for i in range(count)])
        if row.following and self.state.target >= 0:
            others = [index for index, _name, _p in predictions.top if index != self.state.target]
            row.set_targets([self.state.target, *others][:MAX_PANELS])

    def _register_controls(self) -> None:
        """The pane's settings: mode, methods, the classes mode's method, every method's parameters
        (``<method>_<parameter>``), curves and display. The randomisation test, being slow, is not one."""
        compare, row = self.compare, self.display_row
        binding = self.settings_binding
        binding.register(mode=compare.mode_combo, methods=Custom(compare.checked, self._set_methods, compare.changed),
                         class_method=compare.method_combo,
                         classes=Custom(lambda: [] if compare.class_row.following else compare.class_row.targets(),
                                        self._set_classes, compare.changed))
        for form in self.forms.values():
            binding.register(**form.named_controls())
        binding.register(curves=self.metrics_check, display=row.display_combo, colormap=row.colormap_picker,
                         opacity=row.opacity_slider)

    def _set_classes(self, classes: Value) -> None:
        """Pick ``classes`` (output indices) in the classes mode's pickers; empty: follow the target and
        the next most probable classes."""
        row, model = self.compare.class_row, self.state.model
        if not classes:
            row.follow()
            return
        if model is None:
            raise ValueError("no model to pick classes of")
        try:
            indices = [int(c) for c in (classes.split(",") if isinstance(classes, str) else classes)]
        except (TypeError, ValueError):
            raise ValueError(f"expected class indices, not {classes!r}") from None
        count = len(model.categories)
        if not all(0 <= i < count for i in indices):
            raise ValueError(f"class indices run from 0 to {count - 1}, not {indices}")
        if row.combos[0].count() != count:
            row.set_classes([model.class_name(i) for i in range(count)])
        row.set_targets(indices[:MAX_PANELS])
        row.following = False
        row.changed.emit()

    def _set_methods(self, methods: Value) -> None:
        """Check ``methods`` (a list, or names separated by commas), at most four."""
        names = methods.split(",") if isinstance(methods, str) else list(methods)
        unknown = [name for name in names if name.strip() not in self.compare.checks]
        if unknown:
            raise ValueError(f"unknown method {', '.join(map(repr, unknown))}; methods: "
                             f"{', '.join(self.compare.checks)}")
        self.compare.set_checked([name.strip() for name in names])
        self.compare.changed.emit()

    # Drawing.

    def _draw(self) -> None:
        request = self.request()
        panels, parts = (request.panels, request.parts) if request is not None else ((), ())
        self._sync_forms(panels)
        self.grid.set_count(len(panels))
        pixels = self._input_pixels()
        row = self.display_row
        look = Look(row.display, row.colormap_picker.name(), row.opacity)
        shown = [self.result_of(key) for key in panels]
        for column, result in zip(self.grid.columns, shown):
            column.show_result(result, self._label(result.key), pixels, look, parts)
        self.curves.show_results([(self._label(r.key), c.colour, r) for c, r in zip(self.grid.columns, shown)])
        self._show_summary(panels)
        self._show_warning(shown)
        computed = any(r.attribution is not None for r in shown)
        self.export.set_enabled(computed)
        self.data_button.setEnabled(computed)
        self.run_button.setEnabled(request is not None and not self.running and bool(missing(shown, request.parts)))
        self.update_partial()

    def _input_pixels(self):
        """8-bit pixels of the input the network sees, made once per input."""
        seen = self.state.seen_image
        if self._pixels[0] is not seen:
            self._pixels = (seen, image_array(seen) if seen is not None else None)
        return self._pixels[1]

    def _sync_forms(self, panels: tuple[PanelKey, ...]) -> None:
        methods = {key.method for key in panels} if panels else set(self.compare.methods())
        for method, form in self.forms.items():
            form.setVisible(method in methods and not form.empty)

    def _class_text(self, target: int) -> str:
        model, predictions = self.state.model, self.state.predictions
        name = model.class_name(target) if model is not None else str(target)
        p = f", p = {predictions.probability(target):.3g}" if predictions is not None else ""
        return f"{name} ({target}{p})"

    def _label(self, key: PanelKey) -> str:
        """A map's title: its method (methods mode) or its class (classes mode)."""
        return method_title(key.method) if self.compare.mode == "methods" else self._class_text(key.target)

    def _show_summary(self, panels: tuple[PanelKey, ...]) -> None:
        if not panels:
            self.summary.setText("Check up to four methods." if self.state.input_tensor is not None else "")
        elif self.compare.mode == "methods":
            self.summary.setText(f"Target <b>{escape(self._class_text(panels[0].target))}</b>: "
                                 f"{len(panels)} method{'s' if len(panels) > 1 else ''}")
        else:
            self.summary.setText(f"<b>{escape(method_title(panels[0].method))}</b> for {len(panels)} classes: "
                                 "does the map depend on the class?")

    def _show_warning(self, shown: list[PanelResult]) -> None:
        """Warn where a guided or deconvnet pass met nonlinearities without a rule (as the Deconvnet pane)."""
        notes = [f"<b>{escape(method_title(r.key.method))}</b> has no rule for "
                 f"{escape(', '.join(r.attribution.unhandled))}, where the plain gradient passes through"
                 for r in shown if r.attribution is not None and r.attribution.unhandled]
        self.warning.setVisible(bool(notes))
        if notes:
            self.warning.setText(f"⚠ <b>Not exact for this model:</b> {'; '.join(dict.fromkeys(notes))}. "
                                 "The gradient method is exact.")

    def _hovered(self, column, row: int, col: int) -> None:
        values = column.values
        if values is None or row < 0 or not (0 <= row < values.shape[0] and 0 <= col < values.shape[1]):
            return
        self.jobs.show_info(f"{column.label} at ({row}, {col}): {values[row, col]:.4g}")

    # Exports.

    def _export_name(self) -> str:
        request = self.request()
        if request is None or not request.panels:
            return "attribution"
        if self.compare.mode == "methods":
            return f"attribution-methods-class{request.panels[0].target}"
        return f"attribution-{self.compare.class_method}-classes"

    def _class_name(self, target: int) -> str:
        return self.state.model.class_name(target) if self.state.model is not None else str(target)

    def _write_tables_beside(self, png: Path) -> list[Path]:
        """The metrics and curves CSV beside an exported figure ``png`` (``<stem>-metrics.csv``, ``-curves.csv``)."""
        return exports.write_tables(self.shown_results(), png.with_suffix(""), self._class_name)

    def export_data(self) -> list[Path] | None:
        """Ask for a file name and save the maps (.npy) and the metrics and curves (CSV) beside it
        (:func:`~cnnviz.gui.panes.attribution.exports.save_data`); None if cancelled or failed."""
        shown = self.shown_results()
        if not any(r.attribution is not None for r in shown):
            return None
        written = save_with_dialog(self, "Export attribution data", f"cnnviz-{self._export_name()}",
                                   "NumPy arrays and CSV (*.npy *.csv)",
                                   lambda path: exports.save_data(shown, path, self._class_name),
                                   "Could not export the data")
        if written is None:
            return None
        self.state.show_status(f"Saved {len(written)} files beside {written[0]}")
        return written
