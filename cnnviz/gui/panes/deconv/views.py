"""The figure of the Deconvnet pane: the single-unit page and the top-9 page, and how results are drawn.

:class:`UnitView` shows one unit's activation map (or bars, for a vector layer), its projection, the
input with the receptive field boxed and the field's input crop beside the projection's.
:class:`TopView` shows the strongest channels' projections beside their input patches (Fig. 2 of
Zeiler & Fergus 2014, for one image). The pane decides what to show; these widgets only draw it.
"""

from html import escape

import numpy as np
import torch
from PIL import Image
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QWidget

from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.deconv import Projection
from cnnviz.gui.panes.deconv.job import ProjectionResult, TopResult
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.image_view import image_array
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


def projection_display(image: torch.Tensor, mode: str) -> np.ndarray:
    """A projection [C, H, W] for display in [0, 1]: [H, W, 3] for colour, [H, W] for one channel."""
    display = deconv.to_display(image, mode)
    return display[:, :, 0] if display.shape[2] == 1 else display


def unit_text(unit: Projection) -> str:
    """``channel 12 = 3.41 at (5, 7)`` (no position for a vector layer)."""
    where = f" at {unit.position}" if unit.position is not None else ""
    return f"channel {unit.channel} = {unit.activation:.4g}{where}"


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

    def clear(self) -> None:
        """Show nothing."""
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

    def show_projection(self, result: ProjectionResult, mode: str, title: str, seen: Image.Image | None) -> None:
        """The projection of ``result`` in display ``mode`` titled ``title``, the input the network saw
        (``seen``, if any) with the receptive field boxed, and the field's input and projection crops."""
        projection = result.projection
        display = projection_display(projection.image, mode)
        top, left, bottom, right = projection.box
        self.projection_panel.canvas.set_image(display, (0.0, 1.0))
        self.projection_panel.canvas.set_box(projection.box)
        self.projection_panel.set_title(title)
        self.projection_panel.detail.setText(f"activation {projection.activation:.4g} · "
                                             f"{DISPLAYS[mode].lower()}")
        if seen is not None:
            self.input_panel.canvas.set_image(image_array(seen), (0, 255))
            self.input_panel.canvas.set_box(projection.box)
        self.input_panel.set_title("Input and receptive field")
        self.input_panel.detail.setText(f"{bottom - top}×{right - left} px box from ({top}, {left})")
        crops = [result.input_crop.astype(np.float32) / 255, deconv.crop_array(display, projection.box)]
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
        self.shown: TopResult | None = None
        self.tiles: tuple[np.ndarray, np.ndarray] | None = None
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
        self.shown = self.tiles = None
        self.title.clear()
        self.units_label.clear()

    def show_units(self, top: TopResult, mode: str, input_size: tuple[int, int], layer: str) -> None:
        """The units of ``top`` (of ``layer``, an input of ``input_size``) in display ``mode``: each
        projection's and patch's receptive field, three per row, strongest first. ``shown`` keeps ``top`` and
        ``tiles`` its projection and patch tiles as shown (:func:`cnnviz.core.per_image.deconv.field_tiles`: NaN outside
        a field)."""
        boxes = [u.box for u in top.units]
        projections = [deconv.crop_array(projection_display(u.image, mode), u.box) for u in top.units]
        patches = [c.astype(np.float32) / 255 for c in top.input_crops]
        pad = max(1, max(p.shape[1] for p in patches) // 12)
        self.shown = top
        projection_tiles, patch_tiles = (deconv.field_tiles(c, boxes, input_size) for c in (projections, patches))
        self.tiles = (projection_tiles, patch_tiles)
        self.projections.show_atlas(make_atlas(self.tiles[0], columns=3, pad=pad), (0.0, 1.0), "grey")
        self.patches.show_atlas(make_atlas(self.tiles[1], columns=3, pad=pad), (0.0, 1.0), "grey")
        method = METHODS[top.request[3]][0]
        self.title.setText(f"<b>{escape(layer)}</b>: {method} projections of the {len(top.units)} "
                           "strongest channels, each at its strongest position (row by row, strongest "
                           "first; click one to inspect it)")
        self.units_label.setText(" · ".join(f"{i + 1}: {unit_text(u)}" for i, u in enumerate(top.units)))
