"""The figure of the Deconvnet pane: the single-unit page and the top-9 page, drawn from the analyses' results.

:class:`UnitView` shows one unit's activation map (or bars, for a vector layer) and the deconv analysis's
result (:class:`~cnnviz.analyses.deconv.DeconvResult`): its projection, the input with the receptive field boxed
and the field's input crop beside the projection's. :class:`TopView` shows the top9 analysis's result
(:class:`~cnnviz.analyses.top9.Top9Result`): the strongest channels' projections beside their input patches
(Fig. 2 of Zeiler & Fergus 2014, for one image). :class:`Remarks` shows a projection's warning and note. The
pane decides what to show; these widgets only draw it.
"""

from html import escape

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QWidget

from cnnviz.analyses.deconv import DeconvResult
from cnnviz.analyses.top9 import Top9Result
from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.core.per_image import deconv
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.layouts import column, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.vector_view import VectorView

METHODS = {
    "deconvnet": ("Deconvnet", ("Zeiler & Fergus: ReLUs pass relu(signal) backwards, max-poolings use the "
                                "forward switches, convolutions their transposed filters")),
    "guided": ("Guided backprop", ("Guided backpropagation: ReLUs pass relu(signal) only where their "
                                   "forward input was positive")),
    "gradient": ("Gradient", "Plain gradient of the unit with respect to the input (saliency)"),
}
"""Title and tooltip of each projection method."""
DISPLAYS = {"symmetric": "Signed (grey = 0)", "abs": "Absolute value"}
"""Title of each display scaling (:func:`cnnviz.core.per_image.deconv.to_display`)."""
WARNING_STYLE = ("QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c068; "
                 "border-radius: 3px; padding: 3px 6px; }")
NOTE_STYLE = ("QLabel { background: #e7f1fb; color: #0b3d66; border: 1px solid #9cc3e6; "
              "border-radius: 3px; padding: 3px 6px; }")


def unit_text(channel: int, activation: float, position: tuple[int, int] | None) -> str:
    """``channel 12 = 3.41 at (5, 7)`` (no position for a vector layer)."""
    where = f" at {position}" if position is not None else ""
    return f"channel {channel} = {activation:.4g}{where}"


def top_unit_text(result: Top9Result, index: int) -> str:
    """:func:`unit_text` of unit ``index`` (0: the strongest) of ``result``."""
    positions = result.positions
    position = None if positions is None else (int(positions[index][0]), int(positions[index][1]))
    return unit_text(int(result.channels[index]), float(result.activations[index]), position)


class Remarks(QWidget):
    """A projection's ``warning`` (not exact for this model) and ``note`` (the same for every image), each
    hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.warning = wrapped_label()
        self.warning.setStyleSheet(WARNING_STYLE)
        self.note = wrapped_label()
        self.note.setStyleSheet(NOTE_STYLE)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.warning, 0, 0)
        layout.addWidget(self.note, 1, 0)
        self.show_remarks("", "")

    def show_remarks(self, warning: str, note: str) -> None:
        """Show ``warning`` and ``note`` (plain text; empty: hidden)."""
        for label, text, sign in ((self.warning, warning, "⚠"), (self.note, note, "ⓘ")):
            label.setText(f"{sign} {escape(text)}" if text else "")
            label.setVisible(bool(text))
        self.setVisible(bool(warning or note))


def _grid(parent: QWidget) -> QGridLayout:
    layout = QGridLayout(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    return layout


class UnitView(QWidget):
    """One unit: its map (or bars), projection, input with receptive field, and the field's crops."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map_panel = MapPanel(colorbar=True)
        self.vector_title = wrapped_label()
        self.vector_view = VectorView()
        self.vector_hint = wrapped_label()
        mark_transient(self.vector_hint)
        self.map_stack = QStackedWidget()
        self.map_stack.addWidget(self.map_panel)
        self.map_stack.addWidget(column(self.vector_title, self.vector_view, self.vector_hint))
        self.projection_panel = MapPanel()
        self.input_panel = MapPanel()
        self.field_title = wrapped_label()
        self.field_view = AtlasView(colorbar=False)
        self.field_detail = wrapped_label()
        layout = _grid(self)
        layout.addWidget(self.map_stack, 0, 0)
        layout.addWidget(self.projection_panel, 0, 1)
        layout.addWidget(self.input_panel, 1, 0)
        layout.addWidget(column(self.field_title, self.field_view, self.field_detail, spacing=2), 1, 1)
        self.shown_output: tuple[np.ndarray, int] | None = None

    def clear(self) -> None:
        """Show nothing."""
        self.shown_output = None
        for panel in (self.map_panel, self.projection_panel, self.input_panel):
            panel.canvas.clear_image()
            panel.set_title("")
            panel.detail.clear()
        self.field_view.clear_image()
        self.map_panel.set_hint("")
        for label in (self.field_title, self.field_detail, self.vector_title, self.vector_hint):
            label.clear()

    def show_vector(self, values: np.ndarray, names: list[str] | None, channel: int, title: str,
                    hint: str = "") -> None:
        """Bars of a vector layer's ``values`` [N] (``names``: class names) with ``channel`` selected;
        ``hint`` (what a click does) is shown on screen only."""
        self.map_stack.setCurrentIndex(1)
        self.vector_view.show_values(values, list(range(values.shape[0])), names)
        self.vector_view.select(channel)
        self.vector_title.setText(title)
        self.vector_hint.setText(hint)

    def show_map(self, plane: np.ndarray, position: tuple[int, int] | None, title: str, detail: str,
                 hint: str = "") -> None:
        """A channel's activation map [h, w] (viridis, its own range) with the unit at ``position``
        marked; ``hint`` (what a click does) is shown on screen only."""
        self.map_stack.setCurrentIndex(0)
        levels = (float(plane.min()), float(plane.max()))
        self.map_panel.canvas.set_image(plane, levels, "viridis")
        self.map_panel.canvas.set_colorbar(levels, "viridis")
        self.map_panel.canvas.set_marker(position)
        self.map_panel.set_title(title)
        self.map_panel.detail.setText(detail)
        self.map_panel.set_hint(hint)

    def show_output(self, values: np.ndarray, layer: str, channel: int, position: tuple[int, int] | None,
                    names: list[str] | None = None, strongest: bool = False) -> None:
        """The output ``values`` of ``layer`` on the image: bars of a vector [N] (``names``: class names) with unit
        ``channel`` selected, or the map [h, w] of ``channel`` of maps [C, h, w] with the unit at ``position``
        marked; ``strongest``: the channel is the strongest (not chosen). What a click does is said on screen
        only."""
        self.shown_output = (values, channel)
        value = float(values[channel] if values.ndim == 1 else values[channel][position])
        if values.ndim == 1:
            name = f" ({escape(names[channel])})" if names else ""
            title = f"<b>{escape(layer)}</b>: unit {channel}{name} = {value:.4g}"
            self.show_vector(values, names, channel, title, hint="click a bar to project it")
            return
        self.show_map(values[channel], position, f"{escape(layer)} · channel {channel}"
                      + (" (strongest)" if strongest else ""), f"unit {position} = {value:.4g}",
                      hint="click to pick a position")

    def map_text(self, row: int, col: int) -> str:
        """The value of the map shown at (``row``, ``col``); "" outside it or without a map."""
        if self.shown_output is None or row < 0 or self.shown_output[0].ndim != 3:
            return ""
        values, channel = self.shown_output
        return f"unit ({row}, {col}) of channel {channel}: {float(values[channel, row, col]):.4g}"

    def show_projection(self, result: DeconvResult) -> None:
        """The projection of ``result`` (shown as its settings' display says) titled with its method and unit,
        the input with the receptive field boxed, and the field's input and projection crops."""
        top, left, bottom, right = result.box
        name = f" ({escape(result.unit_name)})" if result.unit_name else ""
        where = f" at {result.position}" if result.position is not None else ""
        title = f"{METHODS[result.settings.method][0]}: channel {result.channel}{name}{where}"
        self.projection_panel.canvas.set_image(result.display, (0.0, 1.0))
        self.projection_panel.canvas.set_box(result.box)
        self.projection_panel.set_title(title)
        self.projection_panel.detail.setText(f"activation {result.activation:.4g} · "
                                             f"{DISPLAYS[result.settings.display].lower()}")
        self.input_panel.canvas.set_image(result.image, (0, 255))
        self.input_panel.canvas.set_box(result.box)
        self.input_panel.set_title("Input and receptive field")
        self.input_panel.detail.setText(f"{bottom - top}×{right - left} px box from ({top}, {left})")
        crops = [deconv.crop_array(result.image, result.box).astype(np.float32) / 255,
                 deconv.crop_array(result.display, result.box)]
        pair = make_atlas(np.stack(crops), columns=2, pad=max(1, crops[0].shape[1] // 12))
        self.field_view.show_atlas(pair, (0.0, 1.0), "grey")
        self.field_title.setText("<b>Receptive field</b>: input | projection")
        self.field_detail.setText(f"{right - left}×{bottom - top} px")


class TopView(QWidget):
    """A layer's strongest channels: their projections and input patches side by side, and a list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = wrapped_label()
        self.projections = AtlasView(colorbar=False)
        self.patches = AtlasView(colorbar=False)
        self.units_label = wrapped_label(selectable=True)
        self.shown: Top9Result | None = None
        layout = _grid(self)
        layout.addWidget(self.title, 0, 0, 1, 2)
        layout.addWidget(QLabel("<b>Projections</b>"), 1, 0)
        layout.addWidget(QLabel("<b>Input patches</b>"), 1, 1)
        layout.addWidget(self.projections, 2, 0)
        layout.addWidget(self.patches, 2, 1)
        layout.addWidget(self.units_label, 3, 0, 1, 2)
        layout.setRowStretch(2, 1)

    def clear(self) -> None:
        """Show nothing."""
        self.projections.clear_image()
        self.patches.clear_image()
        self.shown = None
        self.title.clear()
        self.units_label.clear()

    def show_units(self, result: Top9Result) -> None:
        """The units of ``result``: each projection's and patch's receptive field (its tiles), three per row,
        strongest first; ``shown`` keeps ``result``."""
        pad = max(1, result.patch_tiles.shape[2] // 12)
        self.shown = result
        self.projections.show_atlas(make_atlas(result.projection_tiles, columns=3, pad=pad), (0.0, 1.0), "grey")
        self.patches.show_atlas(make_atlas(result.patch_tiles, columns=3, pad=pad), (0.0, 1.0), "grey")
        method = METHODS[result.settings.method][0]
        self.title.setText(f"<b>{escape(result.layer)}</b>: {method} projections of the {len(result.channels)} "
                           "strongest channels, each at its strongest position (row by row, strongest "
                           "first; click one to inspect it)")
        texts = (f"{i + 1}: {top_unit_text(result, i)}" for i in range(len(result.channels)))
        self.units_label.setText(" · ".join(texts))

    def hover_text(self, index: int) -> str:
        """The line about unit ``index`` of the result shown (its rank, value, position and field); "" for none."""
        result = self.shown
        if result is None or not 0 <= index < len(result.channels):
            return ""
        top, left, bottom, right = (int(v) for v in result.boxes[index])
        field = f"field {right - left}×{bottom - top} px from ({top}, {left})"
        return f"{index + 1}: {top_unit_text(result, index)} · {field}"
