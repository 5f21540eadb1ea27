"""The Invariance pane: how outputs and features change under rotation, translation and scale
(Zeiler & Fergus 2014, Fig. 5).

Choose a transform kind and its range (reset to the paper's defaults for the input size), optionally
a centre crop, and the layers whose feature vectors are compared (default: the first conv block and
the penultimate layer). "Run" plots, one point per value, the target-class probability, the top-1
class (a strip of coloured markers, with a legend) and the distance ‖f(T(x)) − f(x)‖ per layer
(or relative to ‖f(x)‖). "Add current image" keeps the curves shown and adds one for the current
image (one colour per image, as the paper's five images). The legends sit beside the plots, never
over the curves: each image with its own target class, each layer with its pen style. Hovering a
plot shows the values there and the transformed input. The curves run on the compute worker
(:func:`cnnviz.core.per_image.invariance.curve_steps`) with Run/Cancel, progress and PARTIAL from
:class:`~cnnviz.gui.panes.run_pane.RunPane`; exports: the latest image's curves as the invariance
analysis's report figure (:meth:`InvariancePane.analysis_result`, captioned with the compared layers), each
image's curves as arrays (.npy and CSV) and all curves in one CSV.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from cnnviz.analyses import invariance as analysis
from cnnviz.analyses.base import Source, about
from cnnviz.analyses.invariance import InvarianceAnalysis, Settings
from cnnviz.analyses.settings import from_json
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.invariance import InvarianceResult
from cnnviz.core.per_image.layer_choices import LayerChoice
from cnnviz.core.progress import Step
from cnnviz.gui.panes.invariance.controls import RangeRow
from cnnviz.gui.panes.invariance.hover import HoverPanel
from cnnviz.gui.panes.invariance.plots import (
    IMAGE_COLOURS,
    KIND_TITLES,
    Curve,
    CurveInput,
    InvariancePlots,
    class_counts,
    curve_colours,
    legend_html,
    style_name,
)
from cnnviz.gui.panes.invariance.saved import curve_from_dict, curve_to_dict
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.save_dialog import ask_save_path
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.class_colours import legend_html as class_legend_html
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.layer_picker import layer_choices


@dataclass(frozen=True, eq=False)
class InvarianceRequest:
    """What one run computes: the curves of input ``x`` (of the image called ``image``) under ``model``
    (both compared by identity) for transform ``kind`` at ``values`` (the range fields' ``value_range``:
    start, stop, step), comparing ``layers``, for class ``target`` (None: top-1), with or without centre
    ``crop``; shown as curve ``name`` in ``colour``."""

    model: LoadedModel
    x: torch.Tensor
    image: str
    kind: str
    value_range: tuple[float, float, float]
    values: tuple[float, ...]
    layers: tuple[str, ...]
    target: int | None
    crop: bool
    name: str
    colour: str


def curve_input(request: InvarianceRequest) -> CurveInput:
    """What the curve of ``request`` is computed from, with its input transformed at a few of the values as
    the report figure shows them (:func:`cnnviz.analyses.invariance.example_indices`; under 50 ms for a 224-pixel
    input)."""
    values = np.array(request.values)
    shown = values[analysis.example_indices(len(values))]
    transformed = invariance.transform_many(request.x, request.kind, shown, crop=request.crop)
    examples = np.stack([np.asarray(request.model.deprocess(item)) for item in transformed])
    return CurveInput(request.image, request.value_range, examples, shown)


class InvariancePane(RunPane):
    """Transform, range, layers and display choices; the three plots, hover thumbnail and exports."""

    def __init__(self, context: PaneContext, parent: QWidget | None = None) -> None:
        super().__init__(context, "invariance", layer_choices, parent, unit="values", share_layer=False)
        self.run_button.setToolTip("Curves for the current image, replacing those shown (Ctrl+R)")
        self._build_controls()
        self._build_figure()
        layers_row = QHBoxLayout()
        layers_row.addWidget(self.layers_label, 1)
        layers_row.addWidget(self.default_layers_button)
        self.arrange(self.range_row, layers_row, self.run_controls.row(self.add_button, self.clear_button),
                     self._display_row(), layer_widgets=(self.add_layer_button, self.remove_layer_button))
        self.layers: list[str] = []
        self.curves: list[Curve] = []
        self._open_curve = False
        self._hover_index: int | None = None
        self._connect()
        row = self.range_row
        self.settings_binding.register(kind=row.kind_combo, start=row.from_spin, stop=row.to_spin,
                                       step=row.step_spin, crop=self.crop_check, relative=self.relative_check)
        self.settings_binding.add_extra(self.extra_settings, self.apply_extra_settings)
        self.clear_curves()

    def _build_controls(self) -> None:
        self.range_row = RangeRow()
        self.crop_check = QCheckBox("Centre crop")
        self.crop_check.setToolTip("Enlarge the centre square (free of fill at any angle) to the canvas")
        self.layers_label = QLabel()
        self.layers_label.setWordWrap(True)
        self.add_layer_button = QPushButton("Add layer")
        self.remove_layer_button = QPushButton("Remove layer")
        self.default_layers_button = QPushButton("Default layers")
        self.default_layers_button.setToolTip("The first conv block and the penultimate layer (the "
                                              "paper's layers 1 and 7)")
        self.add_button = QPushButton("Add current image")
        self.add_button.setToolTip("Curves for the current image, keeping those shown")
        self.clear_button = QPushButton("Clear")
        self.relative_check = QCheckBox("Relative distance")
        self.relative_check.setToolTip("Plot ‖f(T(x)) − f(x)‖ / ‖f(x)‖ instead of ‖f(T(x)) − f(x)‖")
        self.csv_button = QPushButton("Export CSV…")

    def _build_figure(self) -> None:
        self.plots = InvariancePlots()
        self.hover_panel = HoverPanel()
        self.curve_legend, self.class_legend = QLabel(), QLabel()
        for label in (self.curve_legend, self.class_legend):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.partial_label)
        body = QHBoxLayout()
        body.addWidget(self.plots, 1)
        body.addWidget(self.hover_panel)
        self.make_figure(self._export_name, self._export_data, header, self.curve_legend, body, self.class_legend,
                         stretch=2, extra=self._write_curves_beside)
        mark_transient(*self.plots.cursors, self.hover_panel)

    def _display_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.relative_check)
        row.addWidget(self.crop_check)
        row.addStretch(1)
        row.addWidget(self.csv_button)
        return row

    def _connect(self) -> None:
        self.range_row.kind_combo.currentIndexChanged.connect(lambda _index: self.reset_range())
        self.range_row.reset_button.clicked.connect(self.reset_range)
        self.add_layer_button.clicked.connect(lambda: self.add_layer(self.layer))
        self.remove_layer_button.clicked.connect(lambda: self.remove_layer(self.layer))
        self.default_layers_button.clicked.connect(lambda: self.use_default_layers())
        self.add_button.clicked.connect(self.add_image)
        self.clear_button.clicked.connect(self.clear_curves)
        self.relative_check.toggled.connect(lambda _on: self._redraw())
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.plots.scene().sigMouseMoved.connect(self._mouse_moved)
        self.state.model_changed.connect(self._model_reset)
        self.state.target_changed.connect(self._target_changed)

    @property
    def kind(self) -> str:
        """The transform kind: one of :data:`cnnviz.core.per_image.invariance.KINDS`."""
        return self.range_row.kind

    def values(self) -> np.ndarray:
        """The transform values of the range fields (:func:`cnnviz.core.per_image.invariance.value_range`)."""
        return self.range_row.values()

    def set_values(self, start: float, stop: float, step: float) -> None:
        """Set the range fields."""
        self.range_row.set_values(start, stop, step)

    def reset_range(self) -> None:
        """The kind's default range for the current input size (:func:`invariance.default_range`)."""
        model = self.state.model
        self.range_row.reset(model.input_size if model is not None else (224, 224))

    def add_layer(self, name: str) -> None:
        """Compare features of layer ``name`` too."""
        if name and name not in self.layers:
            self.layers.append(name)
            self._show_layers()

    def remove_layer(self, name: str) -> None:
        """Stop comparing features of layer ``name``."""
        if name in self.layers:
            self.layers.remove(name)
            self._show_layers()

    def use_default_layers(self, keep_chosen: bool = False) -> None:
        """Compare the default layers (:func:`invariance.default_layers`), listed on the compute worker;
        ``keep_chosen``: only if no layers are chosen by then (a session's layers win)."""
        model = self.state.model
        if model is not None:
            self.jobs.submit("defaults", "Finding the default layers…", invariance.default_layers, model,
                             done=lambda names: self._defaults_ready(model, names, keep_chosen))

    def extra_settings(self) -> dict[str, Value]:
        """The compared layers and the computed curves (:mod:`~cnnviz.gui.panes.invariance.saved`): settings
        that are no control's value."""
        return {"layers": list(self.layers), "curves": [curve_to_dict(curve) for curve in self.curves]}

    def apply_extra_settings(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Set the compared layers and show saved curves (replacing those shown); other names are unknown
        settings (``SettingsBinding.unknown_settings``)."""
        values, problems = dict(values), {}
        if "layers" in values:
            layers = values.pop("layers")
            if isinstance(layers, str):  # from the command line: comma-separated names
                layers = [name.strip() for name in layers.split(",") if name.strip()]
            unknown = [name for name in layers if self.picker.choices and self.picker.choice(name) is None] \
                if isinstance(layers, list) else []
            if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
                problems["layers"] = f"expected a list of layer names, not {layers!r}"
            elif unknown:
                problems["layers"] = f"no layer {', '.join(unknown)} in this model"
            else:
                self.layers = list(dict.fromkeys(layers))
                self._show_layers()
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
        self.plots.clear_curves()
        self.curve_legend.clear()
        self.class_legend.clear()
        self.hover_panel.clear()
        self.summary.setText("Press Run (Ctrl+R) to plot the curves of the current image.")
        self.run_controls.reset_progress("Press Run (Ctrl+R) to compute the curves")
        self.update_partial()
        self.export.set_enabled(False)
        self.csv_button.setEnabled(False)

    def clear_views(self) -> None:
        """A new model: no curves, no layers."""
        self.clear_curves()
        self.layers = []
        self._show_layers()

    def refresh(self) -> None:
        """Nothing to follow: curves belong to the images they were computed for."""

    def hover_index(self, index: int | None) -> None:
        """Show the values at transform value ``index`` of the latest curve and the transformed
        current input (None hides the cursor)."""
        self._hover_index = index
        if index is None or not self.curves:
            self.plots.show_cursor(None)
            return
        values = self.curves[-1].result.values
        index = min(max(index, 0), len(values) - 1)
        value = float(values[index])
        self.plots.show_cursor(value)
        self.hover_panel.show_value(self.curves, value, self.relative_check.isChecked(), self.state.model,
                                    self.state.input_tensor)

    def caption_fields(self) -> dict[str, Any]:
        """Transform and its range, each image with its target class, the compared layers, distance kind
        and centre crop of the curves shown (else of the controls)."""
        row = self.range_row
        fields: dict[str, Any] = {"transform": self.kind, "from": row.from_spin.value(), "to": row.to_spin.value(),
                                  "step": row.step_spin.value()}
        layers, crop = list(self.layers), self.crop_check.isChecked()
        if self.curves:
            latest = self.curves[-1].result
            values, layers, crop = latest.values, list(latest.distance), latest.crop
            fields = {"transform": latest.kind, "from": float(values[0]), "to": float(values[-1]),
                      "values": len(values)}
        for number, curve in enumerate(self.curves, 1):
            fields[f"image{number}"] = f"{curve.name}, target {self.figure_part.class_text(curve.result.target)}"
        return fields | {"layers": layers, "centre_crop": crop,
                         "distance": "relative" if self.relative_check.isChecked() else "absolute"}

    def caption(self) -> Caption:
        """The caption of :meth:`analysis_result` (the latest curve's image, its settings and the compared
        layers), else (no curves, or curves restored from a session) of :meth:`caption_fields`."""
        result = self.analysis_result()
        return result.caption() if result is not None else super().caption()

    def default_layer(self, choices: list[LayerChoice]) -> str:
        """The first of the layers the analysis compares by default
        (:func:`cnnviz.core.per_image.invariance.default_layers`;
        the picker only chooses the layer that *Add layer* and *Remove layer* act on)."""
        model = self.state.model
        names = {choice.name for choice in choices}
        first = next((n for n in invariance.default_layers(model) if n in names), None) if model is not None else None
        return first or choices[0].name

    def analysis_result(self) -> InvarianceAnalysis | None:
        """The latest curve (the last image's, as computed so far) as the invariance analysis's result: its
        report figure is the export. The other images' curves on the plots are not in it (the data export and
        the CSV beside it have them all). None without curves, or when the latest was restored from a
        session (its input is not saved: the figure widget is exported then)."""
        model = self.state.model
        if not self.curves or model is None:
            return None
        curve = self.curves[-1]
        result, kept = curve.result, curve.input
        if kept is None:
            return None
        start, stop, step = kept.value_range
        chosen, _dropped = from_json(Settings, self.settings() | {
            "kind": result.kind, "start": start, "stop": stop, "step": step, "crop": result.crop,
            "relative": self.relative_check.isChecked(), "layers": list(result.distance), "target": result.target})
        return InvarianceAnalysis(
            settings=chosen, head=about(analysis.NAME, model, Source(kept.image)), partial=self.figure_partial(),
            curves=result, name=curve.name, value_range=kept.value_range, examples=kept.examples,
            example_values=kept.example_values)

    def kind_of_curves(self) -> str:
        """The transform kind of the curves shown (the chosen kind when there are none)."""
        return self.curves[0].result.kind if self.curves else self.kind

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        """Save all curves as CSV (:func:`cnnviz.core.per_image.invariance.curves_csv`) at ``path``, asking for
        one when None; returns the path written, None if cancelled or failed."""
        if not self.curves:
            return None
        if path is None:
            path = ask_save_path(self, "Export curves", f"cnnviz-{self._export_name()}.csv", "CSV (*.csv)")
            if path is None:
                return None
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            table = invariance.curves_csv([(curve.name, curve.result) for curve in self.curves])
            path.write_text(table, encoding="utf-8")
        except OSError as error:
            show_error(self, "Could not export the curves", str(error))
            return None
        self.state.show_status(f"Saved curves {path}")
        return path

    def on_partial(self, item: Step) -> None:
        """Show the curve so far."""
        self._put(item.partial)

    def on_done(self, result: InvarianceResult) -> None:
        """Show the complete curve."""
        self._put(result)

    def on_cancelled(self) -> None:
        """Keep the partial curve (marked partial)."""
        self._redraw()

    def on_ended(self) -> None:
        """The curve is complete or stays partial."""
        self._open_curve = False
        self._redraw()

    def partial_progress(self) -> tuple[int, int] | None:
        """(done, total) values of the latest curve."""
        return (self.curves[-1].result.done, self.curves[-1].result.total) if self.curves else None

    def _start(self) -> None:
        model, x = self.state.model, self.state.input_tensor
        if model is None or x is None:
            return
        message = self.range_row.limit_message()
        if message:
            self.state.show_status(message)
            return
        image = name = self.state.image_name or "image"
        taken = {curve.name for curve in self.curves}
        if name in taken:
            name = next(f"{name} ({n})" for n in range(2, len(taken) + 3) if f"{name} ({n})" not in taken)
        row = self.range_row
        start = row.from_spin.value()
        request = InvarianceRequest(
            model=model, x=x, image=image, kind=self.kind,
            value_range=(start, max(row.to_spin.value(), start), row.step_spin.value()),
            values=tuple(self.values().tolist()), layers=tuple(self.layers),
            target=self.state.target if self.state.target >= 0 else None, crop=self.crop_check.isChecked(),
            name=name, colour=IMAGE_COLOURS[len(self.curves) % len(IMAGE_COLOURS)])
        self._open_curve = False
        self.start(invariance.curve_steps, request, model, x, text="Transforming…",
                   planned=len(request.values), kind=request.kind,
                   values=np.array(request.values), layers=list(request.layers), target=request.target,
                   batch_size=None, crop=request.crop)

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

    def _put(self, result: InvarianceResult) -> None:
        """Store ``result`` as the curve being computed (added on its first step)."""
        if self._open_curve:
            self.curves[-1] = replace(self.curves[-1], result=result)
        else:
            request = self.run_request
            self.curves.append(Curve(request.name, result, request.colour, curve_input(request)))
            self._open_curve = True
        self.update_partial()
        self._redraw()

    def _redraw(self) -> None:
        if not self.curves:
            return
        kind, relative = self.kind_of_curves(), self.relative_check.isChecked()
        colours = curve_colours(self.curves)
        layer_order = self.plots.draw(self.curves, kind, relative, colours)
        self.curve_legend.setText(legend_html(self.curves, layer_order, relative))
        self.class_legend.setText("Top-1 class: " + class_legend_html(class_counts(self.curves),
                                                                      self.curves[0].result.classes, colours))
        latest = self.curves[-1].result
        self.summary.setText(f"{len(self.curves)} image(s), {KIND_TITLES[kind].lower()}"
                             f"{' with centre crop' if latest.crop else ''}")
        self.export.set_enabled(True)
        self.csv_button.setEnabled(True)
        if self._hover_index is not None:
            self.hover_index(self._hover_index)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.curves:
            return
        x = self.plots.value_at(scene_pos)
        if x is not None:
            self.hover_index(invariance.value_index(self.curves[-1].result.values, x))

    def _model_reset(self, model: LoadedModel) -> None:
        self.reset_range()
        self.layers = []
        self._show_layers()
        self.use_default_layers(keep_chosen=True)

    def _defaults_ready(self, model: LoadedModel, names: list[str], keep_chosen: bool) -> None:
        if model is self.state.model and not (keep_chosen and self.layers):
            self.layers = list(names)
            self._show_layers()

    def _show_layers(self) -> None:
        if not self.layers:
            self.layers_label.setText("Compared layers: none (only probability and class are plotted)")
            return
        styles = ", ".join(f"{name} ({style_name(i)})" for i, name in enumerate(self.layers))
        self.layers_label.setText(f"Compared layers: {styles}")

    def _export_name(self) -> str:
        return f"invariance-{self.kind_of_curves()}"

    def _write_curves_beside(self, png: Path) -> list[Path]:
        """All curves as ``<stem>-curves.csv`` beside an exported figure ``png`` (none without curves)."""
        written = self.export_csv(png.with_name(f"{png.stem}-curves.csv"))
        return [written] if written is not None else []

    def _export_data(self) -> dict[str, np.ndarray]:
        """Each image's curves (:meth:`InvarianceResult.arrays`) as ``image<k>-<name>``, k from 1 in the
        legend's order."""
        return {f"image{k}-{name}": array for k, curve in enumerate(self.curves, 1)
                for name, array in curve.result.arrays().items()}

