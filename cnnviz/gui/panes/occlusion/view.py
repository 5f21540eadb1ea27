"""The Occlusion pane's figure on screen: a view of an occlusion analysis's result
(:class:`~cnnviz.analyses.occlusion.OcclusionAnalysis`).

:class:`OcclusionView` shows the input and the panels of Zeiler & Fergus Fig. 7 with pyqtgraph: (b) the
strongest feature map's total activation, (c) its deconvnet projection, (d) the target probability and
(e) the most probable class, each map over the input at the chosen opacity, with a summary line above.
Hovering a map shows the occluder there (:meth:`OcclusionView.show_box`) and the occluded input
(:meth:`OcclusionView.show_in_input`).
"""

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.analyses.occlusion import OcclusionAnalysis
from cnnviz.core.model.models import class_name
from cnnviz.core.per_image.occlusion import OcclusionResult
from cnnviz.gui.widgets.class_colours import class_counts, class_image, colours_in_order, legend_html
from cnnviz.gui.widgets.map_view import MapCanvas, MapPanel

FILL_TITLES = {"mean": "Mean (grey)", "black": "Black", "blur": "Blurred patch", "noise": "Noise"}
"""How the fill combo box and the summary name each occluder fill."""
INPUT_TITLE = "Input"
FEATURE_TITLE = "(b) Strongest feature map"
PROB_TITLE = "(d) Target probability"
"""Titles of panels (b) and (d) while no maps are shown (with maps they name the layer and class)."""

Box = tuple[int, int, int, int]


def place_overlay(canvas: MapCanvas, maps: OcclusionResult) -> None:
    """Put the overlay item of ``canvas`` over the input area the maps cover."""
    canvas.overlay_item.setRect(QRectF(*maps.extent()))


def feature_levels(maps: OcclusionResult) -> tuple[float, float]:
    """Least and greatest computed total activation of ``maps`` (0, 1 without any)."""
    values = maps.feature[np.isfinite(maps.feature)] if maps.feature is not None else np.array([])
    if values.size == 0:
        return 0.0, 1.0
    return float(values.min()), float(values.max())


def summary_text(result: OcclusionAnalysis) -> str:
    """The summary line of ``result``: occluder, positions and the target's unoccluded probability (HTML)."""
    maps = result.maps
    rows, cols = len(maps.positions[0]), len(maps.positions[1])
    return (f"Occluder {maps.window}×{maps.window} px, stride {maps.stride} px, fill "
            f"{FILL_TITLES[maps.fill].lower()} — {rows}×{cols} positions. Target "
            f"<b>{class_name(result.classes, maps.target)}</b>: p = {maps.baseline_prob:.3f} unoccluded.")


def projection_text(result: OcclusionAnalysis) -> str:
    """The detail line under the projection panel: the unit projected, or why there is no projection."""
    if result.projection is None:
        return f"No projection: {result.projection_error}" if result.projection_error else ""
    channel, at = result.maps.channel, result.projection_at
    return f"channel {channel} at {at}, unoccluded image" if at is not None else f"unit {channel}, unoccluded image"


class OcclusionView(QWidget):
    """The summary (with ``partial_label``, the run's PARTIAL mark, beside it) above the five panels
    ``input_panel``, ``feature_panel``, ``projection_panel``, ``prob_panel`` and ``class_panel``."""

    def __init__(self, partial_label: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.input_panel = MapPanel(INPUT_TITLE, zoomable=False)
        self.feature_panel = MapPanel(FEATURE_TITLE, colorbar=True, zoomable=False)
        self.projection_panel = MapPanel("(c) Its deconvnet projection", zoomable=False)
        self.prob_panel = MapPanel(PROB_TITLE, colorbar=True, zoomable=False)
        self.class_panel = MapPanel("(e) Most probable class", zoomable=False)
        self.class_panel.detail.setTextFormat(Qt.TextFormat.RichText)
        self.panels = (self.input_panel, self.feature_panel, self.projection_panel, self.prob_panel,
                       self.class_panel)
        self.map_panels = (self.feature_panel, self.prob_panel, self.class_panel)
        """The panels that show a map over the input."""
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(partial_label)
        grid = QGridLayout()
        for panel, place in zip(self.panels, ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1, 1, 2))):
            grid.addWidget(panel, *place)
        for index in range(3):
            grid.setColumnStretch(index, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(grid, 1)

    @property
    def hover_canvases(self) -> tuple[MapCanvas, ...]:
        """The canvases that mark the occluder under the mouse (all but the projection's)."""
        return tuple(panel.canvas for panel in (self.input_panel, *self.map_panels))

    def clear(self, pixels: np.ndarray | None) -> None:
        """Show no maps: the input ``pixels`` ([H, W] or [H, W, 3] uint8; None: nothing) under the map panels."""
        for panel in (*self.map_panels, self.projection_panel):
            panel.canvas.clear_image()
            panel.detail.clear()
        self.input_panel.detail.clear()
        self.feature_panel.set_title(FEATURE_TITLE)
        self.prob_panel.set_title(PROB_TITLE)
        self.summary.clear()
        self.show_box(None)
        self.show_input(pixels)

    def show_input(self, pixels: np.ndarray | None, title: str = INPUT_TITLE) -> None:
        """Show the input ``pixels`` (uint8; None: nothing) in the input panel, titled ``title``, and under
        the maps."""
        for canvas in self.hover_canvases:
            if pixels is None:
                canvas.clear_image()
            else:
                canvas.set_image(pixels, (0, 255))
        self.input_panel.set_title(title)

    def show_in_input(self, pixels: np.ndarray | None, title: str) -> None:
        """Show ``pixels`` (uint8, e.g. the input occluded under the mouse; None: keep the image) in the input
        panel only, titled ``title``."""
        if pixels is not None:
            self.input_panel.canvas.set_image(pixels, (0, 255))
        self.input_panel.set_title(title)

    def show_box(self, box: Box | None) -> None:
        """Mark the occluder ``box`` (top, left, bottom, right input pixels; None: no mark) on the maps."""
        for canvas in self.hover_canvases:
            canvas.set_box(box)

    def draw(self, result: OcclusionAnalysis, colormap: str, opacity: float) -> None:
        """Draw the maps of ``result`` with ``colormap`` at ``opacity`` (0…1) over the input, and its projection."""
        self.summary.setText(summary_text(result))
        self._show_prob(result, colormap, opacity)
        if result.maps.feature is not None:
            self._show_feature(result.maps, colormap, opacity)
        self._show_classes(result, opacity)
        if result.projection is not None:
            shown = result.projection
            self.projection_panel.canvas.set_image(shown[:, :, 0] if shown.shape[2] == 1 else shown)
        elif result.projection_error:
            self.projection_panel.canvas.clear_image()
        self.projection_panel.detail.setText(projection_text(result))

    def set_opacity(self, opacity: float) -> None:
        """Show the maps at ``opacity`` (0…1) over the input."""
        for panel in self.map_panels:
            panel.canvas.set_opacity(opacity)

    def _show_prob(self, result: OcclusionAnalysis, colormap: str, opacity: float) -> None:
        maps, canvas = result.maps, self.prob_panel.canvas
        self.prob_panel.set_title(f"(d) Probability of {class_name(result.classes, maps.target)}")
        canvas.set_overlay(maps.prob, (0.0, 1.0), colormap, opacity)
        canvas.set_colorbar((0.0, 1.0), colormap, "probability")
        place_overlay(canvas, maps)

    def _show_feature(self, maps: OcclusionResult, colormap: str, opacity: float) -> None:
        levels, canvas = feature_levels(maps), self.feature_panel.canvas
        self.feature_panel.set_title(f"(b) {maps.layer}, map {maps.channel}: total activation")
        canvas.set_overlay(maps.feature, levels, colormap, opacity)
        canvas.set_colorbar(levels, colormap, "Σ activation")
        self.feature_panel.detail.setText(f"unoccluded: {maps.baseline_feature:.4g}")
        place_overlay(canvas, maps)

    def _show_classes(self, result: OcclusionAnalysis, opacity: float) -> None:
        maps, canvas = result.maps, self.class_panel.canvas
        canvas.overlay = None
        canvas.overlay_item.setLookupTable(None)
        colours = colours_in_order(maps.top_class.ravel())
        canvas.overlay_item.setImage(class_image(maps.top_class, colours), autoLevels=False, levels=(0, 255))
        canvas.overlay_item.setOpacity(opacity)
        place_overlay(canvas, maps)
        self.class_panel.detail.setText(legend_html(class_counts(maps.top_class), list(result.classes), colours,
                                                    "positions"))
