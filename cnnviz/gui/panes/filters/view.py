"""The figure of the Filters pane: the grid of a layer's filters and one filter enlarged beside its activation
map, drawn from the filters analysis's result (:class:`~cnnviz.analyses.filters.FiltersResult`).

The grid's images are in [0, 1], coloured as :func:`cnnviz.analyses.filters.display_levels` says (the report
figure's levels): the grid's colour bar gives the weight values (per layer) or says that each filter is
stretched, the enlarged filter's gives its own weight values either way. Hovering a filter's pixel gives its
weights, hovering the map its values; the selection outline and the hover hint are left out of exports.
"""

from html import escape

import numpy as np
from PySide6.QtWidgets import QSplitter, QWidget

from cnnviz.analyses.filters import FiltersResult, display_levels
from cnnviz.core.per_image.filters import FilterStats
from cnnviz.gui.panes.filters.grid import FilterGrid
from cnnviz.gui.widgets.atlas_view import AtlasView
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.layouts import column, grid_and_detail, stack, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel

HOVER_HINT = "hover for weights"
GRID_HINT = "Click a filter to enlarge it; wheel zooms, double-click fits."
VIEW_TEXTS = {"rgb": "as RGB", "norm": "L2 norm over input channels"}


def filter_text(stat: FilterStats, bias: float | None = None) -> str:
    """One line about a filter: index, shape, L2 norm, min, max (and bias)."""
    shape = "×".join(str(v) for v in stat.shape)
    text = (f"filter {stat.index} · {shape} · L2 norm {stat.norm:.4g} · min {stat.min:.4g} · "
            f"max {stat.max:.4g}")
    return text if bias is None else f"{text} · bias {bias:.4g}"


def grid_title(result: FiltersResult) -> str:
    """The grid's title: layer, count and shape of the filters, how they are drawn and scaled."""
    shape = "×".join(str(v) for v in result.weights.shape[1:])
    shown = VIEW_TEXTS.get(result.view, f"input channel {result.in_channel}")
    scale = "each filter scaled to its own range" if result.settings.scale == "filter" else "one scale for the layer"
    return f"<b>{escape(result.layer)}</b>: {len(result.images)} filters of {shape}, {shown}; {scale}"


class FiltersView(QWidget):
    """The grid (``atlas``, under ``title``) beside the enlarged filter (``filter_panel``), its activation map
    (``activation_panel``) and its statistics (``stats_label``). ``grid`` and ``result`` are what it shows
    (None: nothing); the pane decides what to show, the view only draws it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.atlas = AtlasView()
        self.filter_panel = MapPanel(colorbar=True)
        self.activation_panel = MapPanel(colorbar=True)
        self.title = wrapped_label()
        self.stats_label = wrapped_label(selectable=True)
        self.splitter: QSplitter = grid_and_detail(
            column(self.title, self.atlas, stretch=(1,)),
            column(self.filter_panel, self.activation_panel, self.stats_label, stretch=(0, 1)))
        stack(self, self.splitter, stretch=(0,))
        mark_transient(self.atlas.outline, self.filter_panel.detail, self.activation_panel.detail)
        self.grid: FilterGrid | None = None
        self.result: FiltersResult | None = None
        self._drawn: tuple | None = None
        self.filter_panel.canvas.hovered.connect(self._filter_hovered)
        self.activation_panel.canvas.hovered.connect(self._activation_hovered)

    def clear(self, title: str = "") -> None:
        """Show nothing (``title``, e.g. what is awaited, above the empty grid)."""
        self.grid = self.result = self._drawn = None
        self.atlas.clear_image()
        for panel, name in ((self.filter_panel, "Filter"), (self.activation_panel, "Activation map")):
            panel.canvas.clear_image()
            panel.set_title(name)
            panel.detail.clear()
        self.title.setText(title)
        self.stats_label.clear()

    def show_result(self, grid: FilterGrid, result: FiltersResult, image_name: str, waiting: str = "") -> None:
        """Show ``result`` (``grid``'s filters with an enlarged filter and, unless partial, its map on the image
        ``image_name``; ``waiting`` says why a partial one has no map yet)."""
        cmap = result.settings.colormap
        if self._drawn != (grid, cmap):
            self._drawn = (grid, cmap)
            levels, bar, label = display_levels(result)
            rgb = result.images.ndim == 4
            self.atlas.show_atlas(grid.atlas, levels, None if rgb else cmap)
            self.atlas.set_colorbar(bar, "grey" if rgb else cmap, label)
            self.title.setText(grid_title(result))
        self.grid, self.result = grid, result
        self._show_filter(grid, result)
        self._show_map(result, image_name, waiting)

    def _show_filter(self, grid: FilterGrid, result: FiltersResult) -> None:
        index, cmap = result.filter, result.settings.colormap
        self.atlas.select(index)
        levels, bar, label = display_levels(result, index)
        self.filter_panel.canvas.set_image(result.images[index], levels, cmap)
        self.filter_panel.canvas.set_colorbar(bar, "grey" if result.images.ndim == 4 else cmap, label)
        self.filter_panel.set_title(f"Filter {index} of {result.layer}")
        self.filter_panel.detail.setText(HOVER_HINT)
        self.stats_label.setText(self.filter_text(index))

    def _show_map(self, result: FiltersResult, image_name: str, waiting: str) -> None:
        panel = self.activation_panel
        panel.set_title(f"Activation map of filter {result.filter}")
        values = result.activation
        if values is None:
            panel.canvas.clear_image()
            panel.detail.setText(waiting)
            return
        levels = (float(values.min()), float(values.max()))
        panel.canvas.set_image(values, levels, result.settings.colormap)
        panel.canvas.set_colorbar(levels, result.settings.colormap)
        height, width = values.shape
        panel.detail.setText(f"{width}×{height} output of {escape(result.layer)} on {escape(image_name)}")

    def filter_text(self, index: int) -> str:
        """The line about filter ``index`` of the grid shown (:func:`filter_text`); the grid's hint for a
        negative index or without a grid."""
        grid = self.grid
        if grid is None or not 0 <= index < len(grid.stats):
            return GRID_HINT
        biases = grid.result.biases
        return filter_text(grid.stats[index], None if biases is None else float(biases[index]))

    def columns(self) -> int:
        """Filters per row of the grid shown (1 without one)."""
        return self.atlas.atlas.columns if self.atlas.atlas is not None else 1

    def _filter_hovered(self, row: int, col: int) -> None:
        result = self.result
        if result is None or row < 0:
            self.filter_panel.detail.setText(HOVER_HINT)
            return
        weights = result.weights[result.filter, :, row, col]
        if result.view == "rgb":
            text = "RGB weights " + ", ".join(f"{float(v):.4g}" for v in weights)
        elif result.view == "channel":
            text = f"weight {float(weights[result.in_channel]):.4g} (input channel {result.in_channel})"
        else:
            text = f"L2 norm over inputs {float(np.linalg.norm(weights)):.4g}"
        self.filter_panel.detail.setText(f"({row}, {col}): {text}")

    def _activation_hovered(self, row: int, col: int) -> None:
        result = self.result
        if result is None or result.activation is None or row < 0:
            return
        self.activation_panel.detail.setText(f"({row}, {col}): {float(result.activation[row, col]):.4g}")
