"""Report figures drawn with matplotlib (Agg, no Qt): the shared parts of every analysis's ``figure``.

:func:`report_figure` makes a :class:`~matplotlib.figure.Figure` of the asked width (mm or px at a DPI)
with constrained layout and report fonts (8 pt text, nothing under :data:`MIN_FONT_PT` at the printed
size); an analysis draws its axes in it, then :func:`finish` trims the blank height and puts the caption
below the axes as figure text (never over them). :func:`show_map` and :func:`show_image` draw maps at
equal aspect, a map's colour bar as tall as the map itself. :func:`save` writes PNG, SVG or PDF from the
same figure, with text kept as text in SVG and PDF.
"""

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from cnnviz.core.files.caption import Caption

MM_PER_INCH = 25.4
DEFAULT_WIDTH_MM = 170.0
DEFAULT_DPI = 300
MIN_FONT_PT = 7.0
"""Smallest font of a report figure, in points at the printed size."""
FONT_PT = 8.0
CAPTION_PT = 7.0
NARROW_IN = 4.5
"""Figures narrower than this (in inches; a one-column 85 mm figure) put fewer panels in a row."""
PAD_IN = 0.04
"""Blank margin kept around the content, in inches."""
STYLE: dict[str, Any] = {
    "font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
    "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT,
    "figure.titlesize": 9.0, "axes.linewidth": 0.6, "lines.linewidth": 1.2, "xtick.major.width": 0.6,
    "ytick.major.width": 0.6, "xtick.major.size": 2.5, "ytick.major.size": 2.5, "legend.frameon": False,
    "image.interpolation": "nearest", "svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42,
    "figure.constrained_layout.h_pad": 0.03, "figure.constrained_layout.w_pad": 0.03,
    "figure.constrained_layout.hspace": 0.03, "figure.constrained_layout.wspace": 0.03,
}
"""matplotlib settings of every report figure."""
DIVERGING_ANCHORS = ("#172972", "#284dce", "#777cf3", "#b8b3fa", "#eee3e8", "#fda491", "#e85a45", "#b8060f", "#660702")
"""Nine evenly spaced colours of the screen's diverging colormap (CET-D1A, blue–white–red)."""
COLORMAPS = {"grey": "gray", "viridis": "viridis", "inferno": "inferno", "magma": "magma", "diverging": "diverging"}
"""The screen's colormap keys (the panes' pickers) -> matplotlib colormap names."""


def colormap(key: str) -> Colormap | str:
    """The matplotlib colormap of the screen's colormap ``key`` (:data:`COLORMAPS`; a matplotlib name passes
    through)."""
    if key == "diverging":
        return LinearSegmentedColormap.from_list("cnnviz-diverging", DIVERGING_ANCHORS)
    return COLORMAPS.get(key, key)


def width_inches(width_mm: float = DEFAULT_WIDTH_MM, dpi: float = DEFAULT_DPI, width_px: int | None = None) -> float:
    """A figure's width in inches: ``width_px`` pixels at ``dpi`` where given, else ``width_mm`` (rounded to
    whole pixels at ``dpi``: 170 mm at 300 dpi is 2008 px)."""
    if dpi <= 0:
        raise ValueError(f"dpi: {dpi} is not positive")
    pixels = width_px if width_px else round(width_mm / MM_PER_INCH * dpi)
    if pixels <= 0:
        raise ValueError("the figure's width must be positive")
    return pixels / dpi


@contextmanager
def report_style() -> Iterator[None]:
    """matplotlib's settings for report figures (:data:`STYLE`) while the block runs."""
    with mpl.rc_context(STYLE):  # type: ignore[arg-type]
        yield


def report_figure(width_mm: float = DEFAULT_WIDTH_MM, dpi: float = DEFAULT_DPI, width_px: int | None = None,
                  aspect: float = 0.6) -> Figure:
    """An empty figure ``width_mm`` wide (or ``width_px`` at ``dpi``), ``aspect`` × its width high (a first
    guess: :func:`finish` trims the height), with constrained layout and an Agg canvas. Build it inside
    :func:`report_style`."""
    width = width_inches(width_mm, dpi, width_px)
    figure = Figure(figsize=(width, width * aspect), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def content_box(figure: Figure, draw: bool = True) -> Bbox:
    """The box (in inches) around every axes (with its labels and children) and every text of ``figure``
    (``draw``: lay it out first; False where it was just drawn)."""
    if draw:
        figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [ax.get_tightbbox(renderer) for ax in figure.axes if ax.get_visible()]
    boxes += [t.get_window_extent(renderer) for t in figure.texts if t.get_visible() and t.get_text()]
    boxes += [legend.get_window_extent(renderer) for legend in figure.legends]
    union = Bbox.union([b for b in boxes if b is not None and b.width > 0])
    return Bbox(union.get_points() / figure.dpi)


def _fixed_shape(ax: Axes) -> bool:
    """True for an axes whose box has a fixed shape: an image at equal aspect, or a plot given a box aspect."""
    return ax.get_visible() and ax.axison and (ax.get_aspect() != "auto" or ax.get_box_aspect() is not None)


def height_slack(figure: Figure) -> tuple[float, float]:
    """(grow, shrink) in inches, after drawing: how much taller ``figure`` must be for every fixed-shape axes
    to fill its cell's width, and how much blank height its rows of such axes leave (the least blank of each
    band of overlapping cells, summed over the bands, so that an axes spanning rows is counted once)."""
    figure.draw_without_rendering()
    width, height = figure.get_size_inches()
    grow = 0.0
    cells: list[tuple[float, float, float]] = []
    for ax in figure.axes:
        if not _fixed_shape(ax) or ax.get_axes_locator() is not None:
            continue
        cell, box = ax.get_position(original=True), ax.get_position()
        if box.width * width < cell.width * width * 0.985:
            grow = max(grow, box.height * height * (cell.width / max(box.width, 1e-6) - 1))
        cells.append((cell.y0, cell.y1, (cell.height - box.height) * height))
    shrink = 0.0
    band: list[float] = []
    top = -1.0
    for y0, y1, blank in sorted(cells):
        if band and y0 >= top - 1e-3:
            shrink += min(band)
            band = []
        band.append(blank)
        top = max(top, y1) if band[:-1] else y1
    return grow, shrink + (min(band) if band else 0.0)


def trim_height(figure: Figure, passes: int = 6) -> None:
    """Fit ``figure``'s height to its content, keeping the width: taller where a fixed-shape axes (an image,
    a plot with a box aspect) is held back by the height or the content overflows, shorter by the blank
    bands its rows and margins leave, over a few passes as constrained layout follows the new height. Once
    it has grown it only grows, so that it never swings back and forth."""
    grown = False
    for _ in range(passes):
        grow, shrink = height_slack(figure)
        box = content_box(figure, draw=False)
        height = figure.get_figheight()
        margin = height - box.height - 2 * PAD_IN
        if grow > 0.01 or margin < -0.01:
            change = max(grow, -margin)
            grown = True
        elif grown:
            return
        else:
            change = -(shrink + margin)
        if abs(change) < 0.02:
            return
        figure.set_figheight(max(height + change, 0.5))


def caption_text(caption: Caption, width_in: float, size: float = CAPTION_PT) -> str:
    """The caption's lines wrapped to ``width_in`` inches at ``size`` points."""
    chars = max(30, int(width_in * 72 / (size * 0.64)))
    lines: list[str] = []
    for line in caption.lines():
        lines += textwrap.wrap(line, chars, break_long_words=True) or [""]
    return "\n".join(lines)


def finish(figure: Figure, caption: Caption | None = None, *, trim: bool = True) -> Figure:
    """Trim ``figure``'s height to its content (unless ``trim`` is False: the caller sized it) and, with a
    ``caption``, add it as figure text in a band below the axes (the layout keeps the axes above the band).
    Returns ``figure``."""
    if trim:
        trim_height(figure)
    if caption is None:
        return figure
    text = caption_text(caption, figure.get_figwidth() - 2 * PAD_IN)
    band = (text.count("\n") + 1) * CAPTION_PT * 1.25 / 72 + 3 * PAD_IN
    height = figure.get_figheight() + band
    figure.set_figheight(height)
    engine = figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, band / height, 1, 1 - band / height))
    figure.text(PAD_IN / figure.get_figwidth(), PAD_IN / height, text, ha="left", va="bottom",
                fontsize=CAPTION_PT, color="0.25", linespacing=1.25, gid="caption")
    return figure


def colorbar(figure: Figure, ax: Axes, mappable: Any, label: str = "") -> Colorbar:
    """A colour bar beside ``ax``, exactly as tall as the map drawn in it (an inset in the axes'
    coordinates, which follow the equal-aspect box)."""
    cax = ax.inset_axes((1.03, 0.0, 0.045, 1.0))
    bar = figure.colorbar(mappable, cax=cax)
    bar.ax.tick_params(labelsize=MIN_FONT_PT, length=2)
    bar.outline.set_linewidth(0.5)
    if label:
        bar.set_label(label, fontsize=MIN_FONT_PT)
    return bar


def show_map(figure: Figure, ax: Axes, values: np.ndarray, *, cmap: str = "viridis", vmin: float | None = None,
             vmax: float | None = None, title: str = "", label: str = "", bar: bool = True,
             extent: Sequence[float] | None = None) -> AxesImage:
    """Draw the 2-D map ``values`` in ``ax`` at equal aspect (NaN cells blank) with ``cmap`` and, with
    ``bar``, its colour bar labelled ``label``; ``extent`` (left, right, bottom, top) in data units."""
    image = ax.imshow(np.ma.masked_invalid(np.asarray(values, dtype=float)), cmap=colormap(cmap), vmin=vmin, vmax=vmax,
                      extent=_four(extent), interpolation="nearest")
    plain(ax, title)
    if bar:
        colorbar(figure, ax, image, label)
    return image


def limit_to(ax: Axes, size: tuple[int, int]) -> None:
    """Show the whole input of ``size`` (height, width) pixels in ``ax`` (maps that cover part of it stay
    aligned with the input's panel)."""
    ax.set_xlim(-0.5, size[1] - 0.5)
    ax.set_ylim(size[0] - 0.5, -0.5)


def _four(values: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if values is None:
        return None
    left, right, bottom, top = values
    return float(left), float(right), float(bottom), float(top)


def show_image(ax: Axes, image: Any, title: str = "", cmap: str | None = None) -> AxesImage:
    """Draw an image (PIL, or an array [H, W] / [H, W, 3] of uint8 or floats in [0, 1]) in ``ax`` at equal
    aspect, without ticks; grey for one channel."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    shown = ax.imshow(array, cmap=cmap or ("gray" if array.ndim == 2 else None), interpolation="nearest",
                      vmin=0 if array.ndim == 2 and array.dtype == np.uint8 else None,
                      vmax=255 if array.ndim == 2 and array.dtype == np.uint8 else None)
    plain(ax, title)
    return shown


def plain(ax: Axes, title: str = "") -> None:
    """No ticks or frame on an image axes; its ``title`` in report size."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)
        spine.set_color("0.6")
    if title:
        ax.set_title(title, fontsize=FONT_PT, pad=3)


def legend_outside(ax: Axes, **kwargs: Any) -> None:
    """``ax``'s legend to the right of its plot, outside the data (constrained layout makes room)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def legend_row(ax: Axes, handles: Sequence[Any], labels: Sequence[str], *, ncols: int = 2, title: str = "") -> None:
    """Turn ``ax`` (a row of the layout kept below the plots) into a frameless legend of ``handles``, so the
    legend takes room of its own and never overlaps the plots or the caption band."""
    ax.axis("off")
    if handles:
        ax.legend(handles, labels, loc="upper center", ncols=ncols, title=title or None, title_fontsize=MIN_FONT_PT,
                  borderaxespad=0.0)


def legend_height(entries: int, ncols: int, title: bool = False) -> float:
    """The height (inches) a :func:`legend_row` of ``entries`` in ``ncols`` columns needs."""
    rows = -(-entries // max(ncols, 1)) + (1 if title else 0)
    return rows * MIN_FONT_PT * 1.45 / 72 + 0.05


def save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` in the format of its suffix (``.png``, ``.svg``, ``.pdf``) at the
    figure's DPI, text as text in SVG and PDF; returns the path. Raises OSError."""
    path = Path(path)
    with report_style():
        figure.savefig(path, dpi=figure.dpi, metadata=_metadata(path.suffix))
    return path


def _metadata(suffix: str) -> dict[str, Any]:
    if suffix == ".png":
        return {"Software": "cnnviz"}
    if suffix == ".pdf":
        return {"Creator": "cnnviz", "CreationDate": None}
    if suffix == ".svg":
        return {"Date": None}
    return {}


def _legend_texts(legend: Any) -> list[Text]:
    return [] if legend is None else [*legend.get_texts(), legend.get_title()]


def texts(figure: Figure) -> list[Text]:
    """Every text ``figure`` draws (titles, axis and tick labels in view, texts, legends, the caption),
    visible and not empty."""
    found: list[Text] = list(figure.texts)
    for legend in figure.legends:
        found += _legend_texts(legend)
    for ax in figure.axes:
        if not ax.get_visible():
            continue
        found += [ax.title, ax._left_title, ax._right_title, *ax.texts]  # type: ignore[attr-defined]
        found += _legend_texts(ax.get_legend())
        if ax.axison:
            found += [ax.xaxis.label, ax.yaxis.label, *_labels_in_view(ax.xaxis, ax.get_xlim()),
                      *_labels_in_view(ax.yaxis, ax.get_ylim())]
    return [t for t in found if t.get_visible() and t.get_text()]


def _labels_in_view(axis: Any, limits: tuple[float, float]) -> list[Text]:
    """The major tick labels of ``axis`` whose ticks lie within ``limits`` (the ones matplotlib draws)."""
    low, high = sorted(limits)
    slack = (high - low) * 1e-6
    return [tick.label1 for tick, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs())
            if low - slack <= loc <= high + slack]
