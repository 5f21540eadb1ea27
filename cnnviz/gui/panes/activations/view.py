"""The figure of the Activations pane, drawn from the activations analysis's result
(:class:`~cnnviz.analyses.activations.ActivationsResult`): every channel of the layer as one atlas image in the
result's order (or, for a vector output [C], a bar chart with class names where the units are the classes),
one channel enlarged with its colour bar and laid over the input, the channel statistics and the channels
that are dead for this input. Hovering gives values; the selection outline and the hover details are left
out of exports.
"""

from html import escape

import numpy as np
from PySide6.QtWidgets import QSplitter, QStackedWidget, QWidget

from cnnviz.analyses.activations import ActivationsResult
from cnnviz.core.per_dataset.atlas import Atlas, make_atlas
from cnnviz.gui.widgets.atlas_view import AtlasView, tile_gap
from cnnviz.gui.widgets.figure_render import mark_transient
from cnnviz.gui.widgets.layouts import column, grid_and_detail, stack, wrapped_label
from cnnviz.gui.widgets.map_view import MapPanel
from cnnviz.gui.widgets.vector_view import VectorView

MAX_LISTED = 24
"""Dead channels listed by number in the summary (all of them are in its tooltip)."""
GRID_HINT = "Click a channel to enlarge it; arrow keys step through them."


def scaled_tiles(values: np.ndarray, per: str) -> tuple[np.ndarray, tuple[float, float]]:
    """Maps [C, H, W] for display and their levels: as they are over the layer's min..max
    (``per="layer"``), or each stretched to [0, 1] over its own min..max (``per="channel"``)."""
    if per == "layer":
        return values, (float(values.min()), float(values.max()))
    flat = values.reshape(values.shape[0], -1)
    low = flat.min(axis=1)[:, None, None]
    span = (flat.max(axis=1)[:, None, None] - low)
    return np.divide(values - low, span, out=np.zeros_like(values), where=span > 0), (0.0, 1.0)


def show_channel_grid(view: AtlasView, values: np.ndarray, order: list[int], per: str,
                      colormap_name: str) -> Atlas:
    """Draw maps [C, H, W] in ``order`` as one atlas in ``view``, scaled as :func:`scaled_tiles`
    says, with its colour bar; returns the atlas shown."""
    tiles, levels = scaled_tiles(values, per)
    atlas = make_atlas(tiles, order=order, pad=tile_gap(tiles.shape[1:3]))
    view.show_atlas(atlas, levels, colormap_name)
    view.set_colorbar(levels, colormap_name, "activation" if per == "layer" else "each channel: min → max")
    return atlas


def number_list(indices: list[int], limit: int = MAX_LISTED) -> str:
    """``indices`` as ``3, 7, 19`` (at most ``limit`` of them, then ``… (+N more)``)."""
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", … (+{len(indices) - limit} more)" if len(indices) > limit else "")


def dead_summary(dead: list[int], count: int, unit: str) -> str:
    """The layer summary line about the ``unit``s (channels, units) that are zero everywhere."""
    if not dead:
        return f"No dead {unit}: each of the {count} is non-zero somewhere for this input."
    return (f"<b>Dead for this input</b> (zero everywhere): {len(dead)} of {count} {unit} — "
            f"{number_list(dead)}")


def stats_text(result: ActivationsResult, index: int) -> str:
    """Mean, max and share of zeros of channel ``index`` of ``result`` (and whether it is dead)."""
    stats = result.stats
    dead = " · dead for this input" if index in stats.dead else ""
    return f"mean {stats.mean[index]:.4g} · max {stats.max[index]:.4g} · zeros {stats.zero_fraction[index]:.1%}{dead}"


def channel_text(result: ActivationsResult, index: int) -> str:
    """One line about channel (or unit) ``index`` of ``result``: its value, or its :func:`stats_text`."""
    if result.is_vector:
        name = f" ({result.unit_name(index)})" if result.unit_name(index) else ""
        return f"unit {index}{name}: {float(result.values[index]):.4g}"
    return f"channel {index} · {stats_text(result, index)}"


class ActivationsView(QWidget):
    """The grid (``atlas``) or bars (``vector_view``) in ``grid_stack`` under ``title`` and above ``summary``,
    beside the ``detail`` column: the enlarged channel (``map_panel``), its overlay on the input
    (``overlay_panel``) and its statistics (``stats_label``). ``result`` is what it shows (None: nothing); the
    pane decides what to show, the view only draws it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.atlas = AtlasView()
        self.vector_view = VectorView()
        self.title = wrapped_label()
        self.summary = wrapped_label(selectable=True)
        self.map_panel = MapPanel(colorbar=True)
        self.overlay_panel = MapPanel(colorbar=True)
        self.stats_label = wrapped_label(selectable=True)
        self.grid_stack = QStackedWidget()
        self.grid_stack.addWidget(self.atlas)
        self.grid_stack.addWidget(self.vector_view)
        self.detail = column(self.map_panel, self.overlay_panel, self.stats_label, stretch=(0, 1))
        self.splitter: QSplitter = grid_and_detail(column(self.title, self.grid_stack, self.summary), self.detail)
        stack(self, self.splitter, stretch=(0,))
        mark_transient(self.atlas.outline, self.map_panel.detail, self.overlay_panel.detail)
        self.result: ActivationsResult | None = None
        self._drawn: tuple | None = None
        self.map_panel.canvas.hovered.connect(self._map_hovered)
        self.overlay_panel.canvas.hovered.connect(self._overlay_hovered)

    def clear(self, title: str = "") -> None:
        """Show nothing (``title``, e.g. what is awaited, above the empty grid)."""
        self.result = self._drawn = None
        self.atlas.clear_image()
        for panel in (self.map_panel, self.overlay_panel):
            panel.canvas.clear_image()
            panel.set_title("")
        for label in (self.summary, self.stats_label, self.map_panel.detail, self.overlay_panel.detail):
            label.clear()
        self.title.setText(title)

    def show_result(self, result: ActivationsResult, image_name: str, output: object) -> None:
        """Show ``result`` (of ``output``, the layer output it was made from, on the image ``image_name``): the
        grid or bars, redrawn only where the output, order, scaling or colormap changed, and the enlarged
        channel."""
        settings = result.settings
        key = (output, result.order, settings.scale, settings.colormap)
        if self._drawn is None or self._drawn[0] is not output or self._drawn[1:] != key[1:]:
            self._drawn = key
            if result.is_vector:
                self.grid_stack.setCurrentWidget(self.vector_view)
                self.detail.hide()
                self.vector_view.show_values(result.values, list(result.order), list(result.classes) or None)
            else:
                self.grid_stack.setCurrentWidget(self.atlas)
                self.detail.show()
                show_channel_grid(self.atlas, result.values, list(result.order), settings.scale, settings.colormap)
            self._write_summary(result, image_name)
        self.result = result
        self._show_channel(result)

    def _write_summary(self, result: ActivationsResult, image_name: str) -> None:
        shape = result.values.shape
        unit = "units" if result.is_vector else "channels"
        what = f"{shape[0]} {unit}" + (f" of {shape[2]}×{shape[1]}" if len(shape) == 3 else "")
        calls = f" (called {result.calls}× per forward pass; the last call is shown)" if result.calls > 1 else ""
        self.title.setText(f"<b>{escape(result.layer)}</b> · {escape(result.layer_type)} · {what} on "
                           f"{escape(image_name)}{calls}, ordered by {result.settings.order}")
        self.summary.setText(dead_summary(result.stats.dead, shape[0], unit))
        self.summary.setToolTip(", ".join(str(i) for i in result.stats.dead))

    def _show_channel(self, result: ActivationsResult) -> None:
        channel = result.channel
        if result.is_vector:
            self.vector_view.select(channel)
            name = f" ({escape(result.unit_name(channel))})" if result.unit_name(channel) else ""
            self.stats_label.setText(f"Unit {channel}{name}: {float(result.values[channel]):.4g}")
            return
        self.atlas.select(channel)
        values, cmap = result.values[channel], result.settings.colormap
        levels = (float(values.min()), float(values.max()))
        self.map_panel.canvas.set_image(values, levels, cmap)
        self.map_panel.canvas.set_colorbar(levels, cmap)
        self.map_panel.set_title(f"Channel {channel}")
        self.map_panel.detail.setText(f"{values.shape[1]}×{values.shape[0]} map; hover for values")
        self._show_overlay(result, levels)
        self.stats_label.setText(f"Channel {channel}: {stats_text(result, channel)}")

    def _show_overlay(self, result: ActivationsResult, levels: tuple[float, float]) -> None:
        if result.overlay is None:
            self.overlay_panel.canvas.clear_image()
            return
        cmap, (height, width) = result.settings.colormap, result.overlay.shape
        self.overlay_panel.canvas.set_image(result.image, (0, 255))
        self.overlay_panel.canvas.set_overlay(result.overlay, levels, cmap, result.settings.opacity / 100)
        self.overlay_panel.canvas.set_colorbar(levels, cmap)
        self.overlay_panel.set_title(f"Channel {result.channel} over the input")
        self.overlay_panel.detail.setText(f"bilinear upsampling to {width}×{height}")

    def hover_text(self, index: int) -> str:
        """The line about channel ``index`` of the result shown (:func:`channel_text`); the grid's hint for a
        negative index or without a result."""
        return GRID_HINT if self.result is None or index < 0 else channel_text(self.result, index)

    def row_length(self) -> int:
        """Channels per row of the grid shown (1 for bars or without a grid)."""
        if self.result is not None and not self.result.is_vector and self.atlas.atlas is not None:
            return self.atlas.atlas.columns
        return 1

    def _map_hovered(self, row: int, col: int) -> None:
        result = self.result
        if result is None or result.is_vector or row < 0:
            return
        self.map_panel.detail.setText(f"({row}, {col}): {float(result.values[result.channel, row, col]):.4g}")

    def _overlay_hovered(self, row: int, col: int) -> None:
        result = self.result
        if result is None or result.overlay is None or row < 0:
            return
        self.overlay_panel.detail.setText(f"input pixel ({row}, {col}): map {float(result.overlay[row, col]):.4g}")
