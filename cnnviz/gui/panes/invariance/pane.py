"""The Invariance pane: how outputs and features change under rotation, translation and scale
(Zeiler & Fergus 2014, Fig. 5).

Choose a transform kind and its range (reset to the paper's defaults for the input size), optionally a centre crop,
and the layers whose feature vectors are compared (the pane's one layer control: their list with *Add layer…* and
*Remove layer…* menus; default: the first conv block and the penultimate layer). "Run" plots, one point per value,
the target-class probability, the top-1 class (a strip of coloured markers, with a legend) and the distance
‖f(T(x)) − f(x)‖ per layer (or relative to ‖f(x)‖). "Add current image" keeps the curves shown and adds one for
the current image (one colour per image, as the paper's five images). The legends sit beside the plots, never over
the curves: each image with its own target class, each layer with its pen style. Hovering a plot shows the values
there and the transformed input.

The settings are a form of the invariance analysis's :class:`~cnnviz.analyses.invariance.Settings`
(:mod:`~cnnviz.gui.panes.invariance.controls`); each image's curves are the analysis's
:func:`~cnnviz.analyses.invariance.run` on the compute worker, with Run/Cancel, progress and PARTIAL from
:class:`~cnnviz.gui.panes.run_pane.RunPane`, drawn by :class:`~cnnviz.gui.panes.invariance.view.InvarianceView`.
Exports: the report figure of the analysis's result of every image shown (:meth:`InvariancePane.analysis_result`,
the images' results combined by :func:`~cnnviz.analyses.invariance.combined`), each image's curves as arrays
(.npy and CSV) and all curves in one CSV.
"""

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PySide6.QtWidgets import QPushButton, QWidget

from cnnviz.analyses import invariance as analysis
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.invariance import InvarianceAnalysis, Settings
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.layer_choices import LayerChoice
from cnnviz.core.progress import Step
from cnnviz.gui.panes.invariance.controls import RangeForm, input_size
from cnnviz.gui.panes.invariance.exports import curve_arrays, export_name, write_curves_csv
from cnnviz.gui.panes.invariance.layers import CompareLayers
from cnnviz.gui.panes.invariance.plots import IMAGE_COLOURS, Curve
from cnnviz.gui.panes.invariance.saved import curve_from_dict, curve_to_dict
from cnnviz.gui.panes.invariance.view import InvarianceView, kind_of
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import ask_save_path
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.layer_picker import layer_choices

IDLE_PROGRESS = "Press Run (Ctrl+R) to compute the curves"


@dataclass(frozen=True, eq=False)
class InvarianceRequest:
    """What one run computes: the analysis ``settings`` for input ``x`` of the image called ``image`` under
    ``model`` (both compared by identity); shown as curve ``name`` in ``colour``."""

    model: LoadedModel
    x: torch.Tensor
    image: str
    settings: Settings
    name: str
    colour: str


def result_of(curve: Curve, model: LoadedModel | None, base: Settings) -> InvarianceAnalysis:
    """``curve`` as the analysis's result under its unique name: the run's, or for curves restored from a
    session (their input is not saved) one built from the curves and the ``base`` settings (the form's)
    (:func:`~cnnviz.analyses.invariance.from_curves`) on ``model``, without transformed inputs."""
    if curve.shown is not None:
        return replace(curve.shown, name=curve.name)
    head = about(analysis.NAME, model, Source(curve.name))
    return analysis.from_curves(curve.result, curve.name, head, base)


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``, … the first not in ``taken``."""
    if name not in taken:
        return name
    return next(f"{name} ({n})" for n in range(2, len(taken) + 3) if f"{name} ({n})" not in taken)


class InvariancePane(RunPane):
    """Transform, range, layers and display choices; the view of the curves, hover and exports. Attributes:
    ``ranges`` (its ``form``: the settings), ``compared`` (the compared layers), ``view`` and ``curves`` (one
    :class:`Curve` per image, in the legend's order)."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "invariance", layer_choices, parent, unit="values", share_layer=False,
                         layer_keys=False)
        self.run_button.setToolTip("Curves for the current image, replacing those shown (Ctrl+R)")
        self.ranges = RangeForm(partial(input_size, self.state))
        self.form = self.ranges.form
        self.compared = CompareLayers(self.state, self.jobs, lambda: list(self.picker.choices),
                                      lambda name: not self.picker.choices or self.picker.choice(name) is not None)
        self.add_button = QPushButton("Add current image")
        self.add_button.setToolTip("Curves for the current image, keeping those shown")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every image's curves from the plot")
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save every image's curves in one CSV file")
        self.form.add_widgets(self.csv_button, row=1)
        self.view = InvarianceView(self.partial_label, lambda: (self.state.model, self.state.input_tensor))
        self.make_figure(lambda: export_name(kind_of(self.curves, self.kind)), lambda: curve_arrays(self.curves),
                         self.view, extra=lambda png: list(filter(None, [
                             self.export_csv(png.with_name(f"{png.stem}-curves.csv"))])))
        self.arrange(self.compared.row(self.export.button), self.form,
                     self.run_controls.row(self.add_button, self.clear_button), with_layer_row=False)
        self.curves: list[Curve] = []
        self._open_curve = False
        self._connect()
        self.settings_binding.register(self.form)
        self.settings_binding.add_extra(self.extra_settings, self.apply_extra_settings)
        self.clear_curves()

    def _connect(self) -> None:
        self.add_button.clicked.connect(self.add_image)
        self.clear_button.clicked.connect(self.clear_curves)
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.form.changed.connect(lambda name: self._redraw() if name == "relative" else None)
        self.state.model_changed.connect(lambda _model: self.ranges.reset())
        self.state.model_changed.connect(self.compared.model_changed)
        self.state.target_changed.connect(self._target_changed)

    @property
    def kind(self) -> str:
        """The transform kind chosen: one of :data:`cnnviz.core.per_image.invariance.KINDS`."""
        return self.ranges.kind

    @property
    def layers(self) -> list[str]:
        """The compared layers, in order."""
        return self.compared.names

    def extra_settings(self) -> dict[str, Value]:
        """The compared layers and the computed curves (:mod:`~cnnviz.gui.panes.invariance.saved`): settings
        that are no control's value."""
        return {"layers": list(self.layers), "curves": [curve_to_dict(curve) for curve in self.curves]}

    def apply_extra_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Set the compared layers and show saved curves (replacing those shown); other names are unknown
        settings (``SettingsBinding.unknown_settings``)."""
        values, problems = dict(values), {}
        if "layers" in values and (problem := self.compared.apply(values.pop("layers"))):
            problems["layers"] = problem
        if "curves" in values:
            try:
                curves = [curve_from_dict(value) for value in values.pop("curves")]
            except (TypeError, ValueError) as error:
                problems["curves"] = str(error)
            else:
                self.clear_curves()
                self.curves = curves
                self._redraw()
        return problems | self.settings_binding.unknown_settings(values, strict)

    def run(self) -> None:
        """Curves for the current image, replacing those shown."""
        self.clear_curves()
        self._start()

    def add_image(self) -> None:
        """Curves for the current image, keeping those shown (cleared if they are of another kind)."""
        if self.curves and self.curves[0].result.kind != self.kind:
            self.clear_curves()
            self.state.show_status("The earlier curves were of another transform; they were cleared.")
        self._start()

    def clear_curves(self) -> None:
        """Remove every curve."""
        self.cancel()
        self.curves = []
        self._open_curve = False
        self.view.clear()
        self.run_controls.reset_progress(IDLE_PROGRESS)
        self.update_partial()
        self.export.set_enabled(False)
        self.csv_button.setEnabled(False)

    def clear_views(self) -> None:
        """A new model: no curves, no layers."""
        self.clear_curves()
        self.compared.set_names([])

    def refresh(self) -> None:
        """Nothing to follow: curves belong to the images they were computed for."""

    def hover_index(self, index: int | None) -> None:
        """Show the values at transform value ``index`` of the latest curve and the transformed current input
        (None hides the cursor)."""
        self.view.hover_index(index)

    def caption_fields(self) -> dict[str, Any]:
        """Transform and its range, each image with its target class, the compared layers, distance kind
        and centre crop of the curves shown (else of the controls)."""
        ranges = self.ranges
        fields: dict[str, Any] = {"transform": self.kind, "from": ranges.from_spin.value(),
                                  "to": ranges.to_spin.value(), "step": ranges.step_spin.value()}
        layers, crop = list(self.layers), bool(self.form.value("crop"))
        if self.curves:
            latest = self.curves[-1].result
            values, layers, crop = latest.values, list(latest.distance), latest.crop
            fields = {"transform": latest.kind, "from": float(values[0]), "to": float(values[-1]),
                      "values": len(values)}
        for number, curve in enumerate(self.curves, 1):
            fields[f"image{number}"] = f"{curve.name}, target {self.figure_part.class_text(curve.result.target)}"
        return fields | {"layers": layers, "centre_crop": crop,
                         "distance": "relative" if self.form.value("relative") else "absolute"}

    def caption(self) -> Caption:
        """The caption of :meth:`analysis_result` (each image with its target, the settings and the compared
        layers), else (no curves) of :meth:`caption_fields`."""
        result = self.analysis_result()
        return result.caption() if result is not None else super().caption()

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first of the layers the analysis compares by default
        (:func:`cnnviz.core.per_image.invariance.default_layers`). The picker is not shown: the compared layers
        (:class:`~cnnviz.gui.panes.invariance.layers.CompareLayers`) are this pane's one layer control."""
        model = self.state.model
        names = {choice.name for choice in choices}
        first = next((n for n in invariance.default_layers(model) if n in names), None) if model is not None else None
        return first or choices[0].name

    def analysis_result(self) -> InvarianceAnalysis | None:
        """The curves shown as the invariance analysis's result (as computed so far; distances relative as
        shown), every image's combined in legend order (:func:`~cnnviz.analyses.invariance.combined`): its
        report figure is the export. None without curves."""
        if not self.curves:
            return None
        try:
            base = self.form.settings()
        except ValueError:
            base = Settings()
        result = analysis.combined([result_of(curve, self.state.model, base) for curve in self.curves])
        return replace(result, settings=result.settings.replace(relative=bool(self.form.value("relative"))))

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        """Save all curves as CSV (:func:`~cnnviz.gui.panes.invariance.exports.write_curves_csv`) at ``path``,
        asking for one when None; returns the path written, None if cancelled or failed."""
        if not self.curves:
            return None
        if path is None:
            name = f"cnnviz-{export_name(kind_of(self.curves, self.kind))}.csv"
            path = ask_save_path(self, "Export curves", name, "CSV (*.csv)")
            if path is None:
                return None
        try:
            written = write_curves_csv(self.curves, Path(path))
        except OSError as error:
            show_error(self, "Could not export the curves", str(error))
            return None
        self.state.show_status(f"Saved curves {written}")
        return written

    def on_partial(self, item: Step) -> None:
        """Show the curve so far (the analysis's partial result)."""
        self._put(item.partial)

    def on_done(self, result: InvarianceAnalysis) -> None:
        """Show the complete curve."""
        self._put(result)

    def on_ended(self) -> None:
        """The curve is complete or stays partial (cancelled or failed)."""
        self._open_curve = False
        self._redraw()

    def partial_progress(self) -> tuple[int, int] | None:
        """(done, total) values of the latest curve."""
        return (self.curves[-1].result.done, self.curves[-1].result.total) if self.curves else None

    def _start(self) -> None:
        model, x = self.state.model, self.state.input_tensor
        if model is None or x is None:
            return
        target = self.state.target if self.state.target >= 0 else None
        try:
            if message := self.ranges.limit_message():
                raise ValueError(message)
            settings = self.ranges.settings(layers=tuple(self.layers), target=target)
        except ValueError as error:
            self.state.show_status(str(error))
            return
        image = self.state.image_name or "image"
        name = unique_name(image, {curve.name for curve in self.curves})
        colour = IMAGE_COLOURS[len(self.curves) % len(IMAGE_COLOURS)]
        request = InvarianceRequest(model, x, image, settings, name, colour)
        self._open_curve = False
        self.start(analysis.run, request, model, Source(image, x), settings, text="Transforming…",
                   planned=len(self.ranges.values()))

    def _target_changed(self, index: int) -> None:
        """A new target class: a single curve of the current image is re-plotted for it; curves of
        several images keep the targets they were computed for (the status line says so)."""
        if index < 0 or not self.curves or self.curves[-1].result.target == index:
            return
        if len(self.curves) == 1 and self.curves[0].name == (self.state.image_name or "image"):
            self.run()
        else:
            self.state.show_status("The curves keep the target class they were computed for; "
                                   "press Run to plot the current image for the new target.")

    def _put(self, result: InvarianceAnalysis) -> None:
        """Show ``result`` as the curve being computed (added on its first step)."""
        request = self.run_request
        curve = Curve(request.name, result.curves, request.colour, result)
        if self._open_curve:
            self.curves[-1] = curve
        else:
            self.curves.append(curve)
            self._open_curve = True
        self.update_partial()
        self._redraw()

    def _redraw(self) -> None:
        if not self.curves:
            return
        self.view.draw(self.curves, bool(self.form.value("relative")))
        self.export.set_enabled(True)
        self.csv_button.setEnabled(True)
