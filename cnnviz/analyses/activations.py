"""Activations as an analysis: every channel of one layer's output on one image (Zeiler & Fergus's feature
maps), ordered by index, mean or max activation, with one channel enlarged and laid over the input, and
the channels that are dead (zero everywhere) for this input. A vector output [C] (fully connected layers,
logits) is a bar chart, with class names where the units are the classes. The maths is
:func:`cnnviz.core.model.layers.capture` and :mod:`cnnviz.core.per_image.activations`.
"""

import math
import textwrap
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.image import AxesImage

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.analyses.finite import check_finite
from cnnviz.core.model import layers
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import activations
from cnnviz.core.per_image.activations import ChannelStats
from cnnviz.core.per_image.layer_choices import LayerChoice
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text

NAME = "activations"
COLORMAPS = tuple(figures.COLORMAPS)
ORDERS = ("index", "mean", "max")
SCALES = ("layer", "channel")
TILE_MIN_IN = 0.3
"""Smallest pitch of a tile in a grid of maps, in inches (room for a 4-digit label at 7 pt)."""
LABEL_IN = 0.16
"""Height of the band above each tile that holds its label, in inches."""
GAP = 0.06
"""Gap between tiles of a grid, in tile widths."""
MAX_LABELLED_ROWS = 16
"""Most rows of a grid whose tiles each carry their number; a larger grid numbers the first tile of each row."""
ROW_MIN_IN = 0.14
"""Smallest pitch of a tile in a grid too large to number each tile, in inches (room for a row's number)."""
ROW_LABEL_IN = 0.3
"""Width kept left of such a grid for its rows' numbers, in inches."""
MOSAIC_TILE_PX = 32
"""Tiles narrower than this many pixels are enlarged by a whole factor in a mosaic (room for a thin gutter)."""
DECOR_IN = 0.55
"""First guess of the height a row of panels takes for its titles and labels, in inches."""
MAX_BARS_NAMED = 30
"""Most class-score bars drawn with their names; more units are drawn as an unnamed bar chart."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Which layer, how the channels are ordered and scaled, and how many maps the figure shows."""

    layer: str = setting("", label="Layer", help="Layer whose output is shown; empty: the first convolution.")
    order: str = setting("index", label="Order", choices=ORDERS,
                         help="Order of the channels: by index, or by mean or max activation (largest first).")
    scale: str = setting("layer", label="Scale", choices=SCALES,
                         help="One colour scale for the whole layer, or each channel stretched to its own range.")
    channel: int | None = setting(None, label="Channel", low=0, none="the channel with the largest activation",
                                  help="Channel enlarged and laid over the input.")
    limit: int = setting(64, label="Maps shown", low=1, high=1024, caption=False,
                         help="Most maps (or named class bars) the figure shows, first in the order; the arrays "
                              "hold every channel.")
    colormap: str = setting("viridis", label="Colormap", choices=COLORMAPS, caption=False,
                            help="Colormap of the maps.")
    opacity: int = setting(50, label="Opacity", unit="%", low=0, high=100, caption=False,
                           help="Opacity of the enlarged channel's map over the input.")


@dataclass(frozen=True, kw_only=True)
class ActivationsResult(Result):
    """One image's output of ``layer`` (a ``layer_type`` module called ``calls`` times per pass): ``values``
    [C, H, W] (maps) or [C] (a vector), their per-channel ``stats``, the channel ``order`` shown, the
    enlarged ``channel`` and its ``overlay`` (bilinear upsampling to the input, [H, W]; None for a vector),
    the input as shown (``image``: [H, W] or [H, W, 3] uint8) and ``classes``: the unit names where the
    units are the model's classes (else empty)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    layer: str
    layer_type: str
    calls: int = 1
    values: np.ndarray
    stats: ChannelStats
    order: tuple[int, ...]
    channel: int
    overlay: np.ndarray | None = None
    image: np.ndarray
    classes: tuple[str, ...] = ()

    @property
    def is_vector(self) -> bool:
        """True for a vector output [C]."""
        return self.values.ndim == 1

    def arrays(self) -> dict[str, np.ndarray]:
        """``activations`` [C, H, W] or [C], ``order`` [C] and, for maps, ``channel<k>`` [H, W] (the enlarged
        channel's map) and ``overlay`` [H, W] (that map upsampled to the input)."""
        data = {"activations": self.values, "order": np.asarray(self.order)}
        if not self.is_vector:
            data[f"channel{self.channel}"] = self.values[self.channel]
            if self.overlay is not None:
                data["overlay"] = self.overlay
        return data

    def tables(self) -> dict[str, str]:
        """``channels``: one row per channel (index, mean, max, zero fraction, dead for this input, name)."""
        dead = set(self.stats.dead)
        rows = ([i, self.stats.mean[i], self.stats.max[i], self.stats.zero_fraction[i], int(i in dead),
                 self.unit_name(i)] for i in range(len(self.stats.mean)))
        return {"channels": csv_text(["channel", "mean", "max", "zero_fraction", "dead", "name"], rows)}

    def resolved(self) -> dict[str, Any]:
        """The layer, its output shape, the enlarged channel and how many channels are dead."""
        fields: dict[str, Any] = {"layer": self.layer, "shape": "×".join(str(v) for v in self.values.shape),
                                  "channel": self.channel, "dead": len(self.stats.dead)}
        if self.unit_name(self.channel):
            fields["channel_name"] = self.unit_name(self.channel)
        return fields

    def unit_name(self, index: int) -> str:
        """The class name of unit ``index`` where the units are classes, else ""."""
        return self.classes[index] if 0 <= index < len(self.classes) else ""


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer the model gets by default (its first convolution)."""
    return Settings(layer=layer_rules.first_conv(model))


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, ActivationsResult]:
    """One forward pass capturing the layer's output (then :func:`of_output`); yields one :class:`Step` before it."""
    settings = settings or Settings()
    x = source.input()
    choice = layer_rules.checked_layer(model, settings.layer or layer_rules.first_conv(model), NAME)
    yield Step(0, 1, None, f"capturing {choice.name}")
    values = layers.capture(model, x, layers=choice.name, stop_early=True)[choice.name][0]
    return of_output(model, source, settings, choice, values)


def of_output(model: LoadedModel, source: Source, settings: Settings, choice: LayerChoice, values: torch.Tensor,
              stats: ChannelStats | None = None) -> ActivationsResult:
    """The result of ``values``: the output of layer ``choice`` ([C, H, W] or [C]) on ``source``'s image, captured
    by :func:`run` or elsewhere (a cache shared by several views), with its per-channel ``stats`` where they are
    computed already. ``settings.layer`` is taken to be ``choice``'s; raises ValueError naming the channel for
    one the layer does not have, and (:func:`cnnviz.analyses.finite.check_finite`) for NaN or infinite values."""
    x = source.input()
    values = values.float().cpu()
    check_finite(model, choice.name, values)
    stats = stats if stats is not None else activations.channel_stats(values)
    channel = _channel(settings.channel, stats, choice.name)
    overlay = None if values.dim() == 1 else activations.upsample(values[channel], (int(x.shape[-2]), int(x.shape[-1])))
    classes = tuple(model.class_name(i) for i in range(choice.channels)) if choice.class_scores else ()
    return ActivationsResult(settings=settings, head=about(NAME, model, source), layer=choice.name,
                             layer_type=choice.type, calls=choice.calls, values=values.numpy(), stats=stats,
                             order=tuple(activations.channel_order(stats, settings.order)), channel=channel,
                             overlay=overlay, image=np.asarray(model.deprocess(x)), classes=classes)


def _channel(chosen: int | None, stats: ChannelStats, layer: str) -> int:
    count = len(stats.max)
    if chosen is None:
        return int(np.argmax(stats.max))
    if chosen >= count:
        raise ValueError(f"channel: {chosen} is outside 0…{count - 1} ({layer} has {count} channels)")
    return chosen


def grid_columns(count: int, width_in: float, ratio: float = 2.0, pitch_in: float = TILE_MIN_IN) -> int:
    """Columns of a grid of ``count`` square-ish tiles ``width_in`` inches wide: near ``ratio`` times as many
    columns as rows, no tile pitch under ``pitch_in`` (:data:`TILE_MIN_IN`), and the rows filled evenly."""
    widest = max(1, int(width_in / pitch_in))
    columns = max(1, min(count, widest, math.ceil(math.sqrt(count * ratio))))
    rows = math.ceil(count / columns)
    return math.ceil(count / rows)


def grid_layout(count: int, width_in: float) -> tuple[int, bool]:
    """(columns, labelled) of a grid of ``count`` tiles ``width_in`` inches wide: each tile numbered where
    that takes at most :data:`MAX_LABELLED_ROWS` rows of :data:`TILE_MIN_IN` tiles, else smaller tiles
    (:data:`ROW_MIN_IN`) in reading order with each row's first number on its left (not ``labelled``)."""
    columns = grid_columns(count, width_in)
    if math.ceil(count / columns) <= MAX_LABELLED_ROWS:
        return columns, True
    return grid_columns(count, max(width_in - ROW_LABEL_IN, ROW_MIN_IN), pitch_in=ROW_MIN_IN), False


def grid_aspect(count: int, columns: int, tile: tuple[int, int], width_in: float, labelled: bool = True) -> float:
    """Height over width of a :func:`show_tiles` grid of ``count`` tiles of ``tile`` (h, w) pixels."""
    rows = math.ceil(count / columns)
    band = _band(columns, width_in) if labelled else 0.0
    return rows * (tile[0] / tile[1] + band + GAP) / (columns * (1 + GAP))


@dataclass(frozen=True)
class Mosaic:
    """Tiles assembled into one image: ``array`` [H, W] (NaN in the gutters and label bands) or [H, W, 4] RGBA
    (transparent there), ``rows`` × ``columns`` tiles of ``tile`` (h, w) mosaic pixels, each tile pixel
    ``zoom`` × ``zoom`` mosaic pixels (after keeping every ``step``-th pixel of a large tile), ``gap``
    blank pixels between tiles and a blank ``band`` of pixels above each row (its labels)."""

    array: np.ndarray
    rows: int
    columns: int
    tile: tuple[int, int]
    gap: int
    band: int
    zoom: int = 1
    step: int = 1

    def origin(self, slot: int) -> tuple[int, int]:
        """(y, x) of the top-left mosaic pixel of tile ``slot`` (in reading order)."""
        row, col = divmod(slot, self.columns)
        return row * (self.band + self.tile[0] + self.gap) + self.band, col * (self.tile[1] + self.gap)


def mosaic(tiles: np.ndarray, columns: int, *, band: float = 0.0, max_px: int = 0) -> Mosaic:
    """``tiles`` [N, h, w] (values) or [N, h, w, 3] (RGB in [0, 1]) as one :class:`Mosaic` of ``columns``
    columns in reading order, with a gutter of :data:`GAP` tile widths and, above each row, a blank band of
    ``band`` tile widths; tiles under :data:`MOSAIC_TILE_PX` wide are enlarged by a whole factor, tiles over
    twice ``max_px`` (where given) thinned to about ``max_px``."""
    tiles = np.asarray(tiles)
    count, height, width = tiles.shape[:3]
    step = max(1, width // max_px) if max_px > 0 and 2 * max_px < width else 1
    if step > 1:
        tiles = tiles[:, ::step, ::step]
        height, width = tiles.shape[1:3]
    zoom = max(1, math.ceil(MOSAIC_TILE_PX / width))
    if zoom > 1:
        tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    tile = (height * zoom, width * zoom)
    gap, band_px = max(1, round(GAP * tile[1])), max(0, round(band * tile[1]))
    rows = math.ceil(count / columns)
    rgb = tiles.ndim == 4
    shape = (rows * (band_px + tile[0] + gap) - gap, columns * (tile[1] + gap) - gap)
    array = np.zeros((*shape, 4), np.float32) if rgb else np.full(shape, np.nan, np.float32)
    result = Mosaic(array, rows, columns, tile, gap, band_px, zoom, step)
    for slot in range(count):
        y, x = result.origin(slot)
        if rgb:
            array[y:y + tile[0], x:x + tile[1], :3] = np.clip(tiles[slot], 0.0, 1.0)
            array[y:y + tile[0], x:x + tile[1], 3] = 1.0
        else:
            array[y:y + tile[0], x:x + tile[1]] = tiles[slot]
    return result


def scaled_tiles(tiles: np.ndarray, levels: Sequence[tuple[float, float]]) -> np.ndarray:
    """Each of ``tiles`` [N, h, w] mapped from its own (low, high) in ``levels`` to 0..1 (0 where low ≥ high)."""
    tiles = np.asarray(tiles, dtype=np.float32)
    low = np.asarray([lv[0] for lv in levels], dtype=np.float32).reshape(-1, 1, 1)
    high = np.asarray([lv[1] for lv in levels], dtype=np.float32).reshape(-1, 1, 1)
    span = high - low
    return np.where(span > 0, (tiles - low) / np.where(span > 0, span, 1), 0).astype(np.float32)


def show_tiles(ax: Axes, tiles: Sequence[np.ndarray] | np.ndarray, labels: Sequence[str], *, columns: int,
               width_in: float, cmap: str = "viridis", levels: Sequence[tuple[float, float]] | None = None,
               title: str = "", labelled: bool = True) -> AxesImage:
    """Draw ``tiles`` (each [h, w], or [h, w, 3] RGB in [0, 1]) in one axes as one :func:`mosaic` image at
    equal aspect, row by row in ``columns`` columns; ``levels``: each tile's (vmin, vmax) (default 0..1;
    differing levels are applied to each tile before assembling). ``labelled``: each tile's label above it,
    else each row's first label on its left. ``width_in``: the axes' width as laid out, roughly, in inches
    (sizes the labels' band). Returns the image (its colours are the tiles' levels where they agree, else
    0..1)."""
    stack = np.asarray(tiles)
    rgb = stack.ndim == 4
    low, high = levels[0] if levels else (0.0, 1.0)
    if not rgb and levels is not None and any(tuple(lv) != (low, high) for lv in levels):
        stack, (low, high) = scaled_tiles(stack, levels), (0.0, 1.0)
    pitch_px = width_in / max(columns, 1) * ax.figure.dpi
    grid = mosaic(stack, columns, band=_band(columns, width_in) if labelled else 0.0, max_px=round(pitch_px))
    image = ax.imshow(grid.array, cmap=None if rgb else figures.colormap(cmap), vmin=None if rgb else low,
                      vmax=None if rgb else high, interpolation="nearest")
    figures.plain(ax, title)
    if labelled:
        for slot, label in enumerate(labels[:len(stack)]):
            y, x = grid.origin(slot)
            ax.text(x - 0.5, y - 0.5 - grid.band * 0.12, label, fontsize=figures.MIN_FONT_PT, ha="left",
                    va="bottom")
    else:
        pitch_in = (width_in - ROW_LABEL_IN) / columns * (grid.tile[0] + grid.gap) / (grid.tile[1] + grid.gap)
        every = max(1, math.ceil(ROW_MIN_IN / max(pitch_in, 1e-6)))
        shown = range(0, grid.rows, every)
        ax.set_yticks([grid.origin(r * columns)[0] + (grid.tile[0] - 1) / 2 for r in shown],
                      [labels[r * columns] for r in shown])
        ax.tick_params(axis="y", length=0, pad=2, labelsize=figures.MIN_FONT_PT)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def reading_order_note(noun: str) -> str:
    """The grid title's note for a grid too large to number each tile."""
    return f"; tiles in reading order, each row's first {noun} on its left"


def panels_and_grid(fig: Figure, aspect: float, grid_in: float) -> GridSpec:
    """A gridspec of two rows in ``fig``: a row of three square-ish panels over a grid of ``aspect`` (height
    over width) about ``grid_in`` inches wide, the figure's height set to a first guess of the two."""
    width = fig.get_figwidth()
    panel, grid = width / 3 * 0.8, grid_in * aspect
    fig.set_figheight(panel + grid + 2 * DECOR_IN)
    return fig.add_gridspec(2, 1, height_ratios=[panel, grid])


def fit_rows(fig: Figure, outer: GridSpec, rows: Sequence[Sequence[Axes]]) -> None:
    """Set the height ratios of ``outer``'s rows (one per entry of ``rows``: the equal-aspect axes in that row,
    the last row one axes placed straight in ``outer``) and ``fig``'s height so that each row's axes fill their
    cells' width, from one drawing of the layout: :func:`figures.finish` then starts near its fit (each of its
    passes redraws the whole figure). A row's share of the height by the ratios holds its cells and the
    decorations of a nested gridspec; the last row's decorations lie outside the ratios."""
    fig.draw_without_rendering()
    width, height = fig.get_size_inches()
    ratios = [float(r) for r in np.ravel(outer.get_height_ratios() or [1.0] * len(rows))]
    cells, needs = [], []
    for axes in rows:
        boxes = [ax.get_position(original=True) for ax in axes]
        cells.append(max(box.height for box in boxes) * height)
        needs.append(max(box.width * width * ax.get_data_ratio() for box, ax in zip(boxes, axes)))
    if min(needs) <= 0 or cells[-1] <= 0:
        return
    shared = cells[-1] * sum(ratios) / ratios[-1]
    margins = [r / sum(ratios) * shared - c for r, c in zip(ratios, cells)]
    fitted = [n + max(m, 0.0) for n, m in zip(needs, margins)]
    outer.set_height_ratios(fitted)
    fig.set_figheight(max(height - shared + sum(fitted), 0.5))


def _band(columns: int, width_in: float) -> float:
    """Height of the label band above each tile, in tile widths."""
    return min(max(LABEL_IN * columns / max(width_in, 1e-3), 0.15), 0.8)


def scale_bar(figure: Figure, ax: Axes, low: float, high: float, cmap: str, label: str) -> None:
    """A colour bar beside ``ax`` from ``low`` to ``high`` in ``cmap`` (for tiles drawn one by one)."""
    figures.colorbar(figure, ax, ScalarMappable(Normalize(low, high), figures.colormap(cmap)), label)


def short(text: str, limit: int = 28) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def wrapped(text: str, width_in: float, size: float = figures.FONT_PT) -> str:
    """``text`` wrapped to lines that fit ``width_in`` inches at ``size`` points."""
    return textwrap.fill(text, max(20, int(width_in * 72 / (size * 0.56))))


def number_list(indices: Sequence[int], limit: int = 12) -> str:
    """``indices`` as ``3, 7, 19`` (at most ``limit``, then ``… +N more``)."""
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", … +{len(indices) - limit} more" if len(indices) > limit else "")


def _dead_text(result: ActivationsResult) -> str:
    dead = result.stats.dead
    unit = "units" if result.is_vector else "channels"
    if not dead:
        return f"no dead {unit} for this input"
    return f"dead for this input: {len(dead)} of {len(result.stats.mean)} {unit} ({number_list(dead)})"


def _grid_title(result: ActivationsResult, shown: int, labelled: bool = True) -> str:
    count = len(result.order)
    shape = result.values.shape
    what = f"{count} maps of {shape[1]}×{shape[2]}" if shown == count else f"first {shown} of {count} maps"
    note = "" if labelled else reading_order_note("channel")
    return f"(d) {short(result.layer, 36)}: {what}, by {result.settings.order}{note}"


def _draw_grid(fig: Figure, ax: Axes, result: ActivationsResult, layout: tuple[int, bool], width_in: float) -> None:
    """(d) the first ``limit`` maps in the order as one mosaic (``layout``: columns, labelled), per channel
    scaled in numpy before assembling, with its colour bar and the dead channels below."""
    settings = result.settings
    order = list(result.order[:settings.limit])
    tiles = result.values[order]
    columns, labelled = layout
    if settings.scale == "layer":
        low, high = float(result.values.min()), float(result.values.max())
        label = "activation"
    else:
        tiles = scaled_tiles(tiles, [(float(t.min()), float(t.max())) for t in tiles])
        low, high, label = 0.0, 1.0, "each channel: min → max"
    image = show_tiles(ax, tiles, [str(i) for i in order], columns=columns, width_in=width_in,
                       cmap=settings.colormap, levels=[(low, high)], labelled=labelled,
                       title=wrapped(_grid_title(result, len(order), labelled), width_in))
    figures.colorbar(fig, ax, image, label)
    chars = int(width_in * 72 / (figures.MIN_FONT_PT * 0.55))
    ax.set_xlabel(textwrap.fill(_dead_text(result), chars), fontsize=figures.MIN_FONT_PT)


def _draw_channel(fig: Figure, axes: Sequence[Axes], result: ActivationsResult) -> None:
    """(a) the input, (b) the enlarged channel over it, (c) that channel's map with its colour bar."""
    settings = result.settings
    channel = result.channel
    values = result.values[channel]
    low, high = float(values.min()), float(values.max())
    figures.show_image(axes[0], result.image, "(a) Input")
    figures.show_image(axes[1], result.image, "(b) (c) over (a)")
    if result.overlay is not None:
        rows, cols = result.image.shape[:2]
        axes[1].imshow(result.overlay, cmap=figures.colormap(settings.colormap), vmin=low, vmax=high,
                       alpha=settings.opacity / 100, extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    axes[1].set_xlabel(f"channel {channel}\nat {settings.opacity} % opacity", fontsize=figures.MIN_FONT_PT)
    figures.show_map(fig, axes[2], values, cmap=settings.colormap, vmin=low, vmax=high,
                     title=f"(c) Channel {channel}", label="activation")
    stats = result.stats
    axes[2].set_xlabel(f"mean {stats.mean[channel]:.3g}, max {stats.max[channel]:.3g}\n"
                       f"zeros {stats.zero_fraction[channel]:.0%}", fontsize=figures.MIN_FONT_PT)


def _draw_maps(fig: Figure, result: ActivationsResult) -> None:
    """The three channel panels in a row, the grid of maps below them at the full width."""
    width = fig.get_figwidth()
    count = min(len(result.order), result.settings.limit)
    grid_in = width * 0.85
    layout = grid_layout(count, grid_in)
    aspect = grid_aspect(count, layout[0], result.values.shape[1:3], grid_in, layout[1])
    outer = panels_and_grid(fig, aspect, grid_in)
    top = outer[0].subgridspec(1, 3)
    panels = [fig.add_subplot(top[i]) for i in range(3)]
    _draw_channel(fig, panels, result)
    grid = fig.add_subplot(outer[1])
    _draw_grid(fig, grid, result, layout, grid_in)
    fit_rows(fig, outer, [panels, [grid]])


def _draw_vector(fig: Figure, result: ActivationsResult) -> None:
    image_ax, bars_ax = fig.subplots(1, 2, width_ratios=[1, 3])
    figures.show_image(image_ax, result.image, "(a) Input")
    if result.classes:
        _named_bars(bars_ax, result)
    else:
        _unit_bars(bars_ax, result)
    chars = int(bars_ax.get_position().width * fig.get_figwidth() * 72 / (figures.MIN_FONT_PT * 0.55))
    bars_ax.set_xlabel(bars_ax.get_xlabel() + "\n" + textwrap.fill(_dead_text(result), max(chars, 30)))


def _named_bars(ax: Axes, result: ActivationsResult) -> None:
    """Horizontal bars of the class-score units, named, in the order (at most ``limit`` and
    :data:`MAX_BARS_NAMED`)."""
    order = result.order[:min(result.settings.limit, MAX_BARS_NAMED)]
    values = result.values[list(order)]
    colours = ["#d62728" if i == result.channel else "#1f77b4" for i in order]
    ax.barh(range(len(order)), values, color=colours, height=0.7)
    ax.set_yticks(range(len(order)), [short(result.unit_name(i), 24) for i in order])
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", linewidth=0.5)
    ax.set_box_aspect(min(max(0.045 * len(order), 0.35), 1.4))
    ax.set_xlabel(f"activation (red: unit {result.channel})")
    _ticks_in_view(ax.xaxis, ax.get_xlim())
    count = len(result.order)
    what = f"{count} classes" if len(order) == count else f"first {len(order)} of {count} classes"
    ax.set_title(f"(b) {short(result.layer, 36)}: {what}, by {result.settings.order}")


def _unit_bars(ax: Axes, result: ActivationsResult) -> None:
    """Vertical bars of every unit in the order (x: the index, or the rank in the order)."""
    order = list(result.order)
    ax.bar(range(len(order)), result.values[order], width=1.0, color="#1f77b4", linewidth=0)
    ax.axhline(0, color="0.3", linewidth=0.5)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_box_aspect(0.6)
    by = result.settings.order
    ax.set_xlabel("unit" if by == "index" else f"rank by {by}")
    ax.set_ylabel("activation")
    _ticks_in_view(ax.yaxis, ax.get_ylim())
    ax.set_title(f"(b) {short(result.layer, 36)}: {len(order)} units")


def _ticks_in_view(axis: Any, limits: tuple[float, float]) -> None:
    """Keep only the ticks of ``axis`` inside ``limits`` (none drawn past the plot's edge)."""
    low, high = sorted(limits)
    axis.set_ticks([t for t in axis.get_ticklocs() if low <= t <= high])


def figure(result: ActivationsResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the input, (b) the enlarged channel over it, (c) that channel's map and (d)
    the grid of the layer's maps in the order with its colour bar; for a vector layer (a) the input and
    (b) a bar chart (class names where the units are classes). The caption below."""
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.75)
        if result.is_vector:
            _draw_vector(fig, result)
        else:
            _draw_maps(fig, result)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "every feature map of a layer on the image, ordered and scaled", Settings, run, figure,
                    defaults=defaults)
