"""Filters as an analysis: every filter of a convolution layer as one grid (RGB for 3-input-channel filters,
else one input channel or the L2 norm over input channels), scaled per filter or per layer, and one filter
enlarged beside its activation map on the image (Zeiler & Fergus's filter ↔ activation figure). The
filters do not depend on the image; the map does. The maths is :mod:`cnnviz.core.per_image.filters` and
:func:`cnnviz.core.model.layers.capture`.
"""

import dataclasses
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.activations import (
    fit_rows,
    grid_aspect,
    grid_layout,
    panels_and_grid,
    reading_order_note,
    scale_bar,
    short,
    show_tiles,
    wrapped,
)
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.model import layers
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import activations, filters
from cnnviz.core.per_image.layer_choices import conv_choices
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text

NAME = "filters"
COLORMAPS = tuple(figures.COLORMAPS)
VIEWS = ("auto", "rgb", "channel", "norm")
SCALES = ("filter", "layer")
Levels = tuple[float, float]
"""A low, high pair of values."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Which convolution, how its filters are drawn and scaled, and which filter is enlarged."""

    layer: str = setting("", label="Layer", help="Convolution layer whose filters are shown; empty: the first one.")
    view: str = setting("auto", label="View", choices=VIEWS,
                        help="How a filter is drawn: RGB (3 input channels), one input channel, or the L2 norm "
                             "over input channels; auto: RGB for 3 input channels, else one input channel.")
    in_channel: int = setting(0, label="Input channel", low=0, help="Input channel drawn by the channel view.")
    scale: str = setting("filter", label="Scale", choices=SCALES,
                         help="Each filter stretched to its own min..max, or all filters to the layer's.")
    filter: int | None = setting(None, label="Filter", low=0, none="the filter whose map is strongest on the image",
                                 help="Filter enlarged beside its activation map on the image.")
    limit: int = setting(128, label="Filters shown", low=1, high=1024, caption=False,
                         help="Most filters the figure's grid shows (the first ones); the arrays hold every filter.")
    colormap: str = setting("grey", label="Colormap", choices=COLORMAPS, caption=False,
                            help="Colormap of one-channel filters and of the activation map.")


@dataclass(frozen=True, kw_only=True)
class FiltersResult(Result):
    """The filters of conv ``layer``: raw ``weights`` [out, in, kH, kW], ``biases`` [out] (None without),
    display ``images`` in [0, 1] ([out, kH, kW] or [out, kH, kW, 3] for RGB) drawn with ``view`` (resolved)
    and ``in_channel``, the weight range the layer's images span (``layer_range``), each filter's shown range
    ``ranges`` [out, 2], the enlarged ``filter``, its ``activation`` map [H, W] on the image (None in a partial
    result) and the input as shown (``image``: [H, W] or [H, W, 3] uint8)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    layer: str
    view: str
    in_channel: int
    weights: np.ndarray
    biases: np.ndarray | None = None
    images: np.ndarray
    layer_range: tuple[float, float]
    ranges: np.ndarray
    filter: int
    activation: np.ndarray | None = None
    image: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """``weights`` [out, in, kH, kW], ``images`` (as drawn, in [0, 1]) and ``activation`` [H, W] (the
        enlarged filter's map on the image)."""
        data = {"weights": self.weights, "images": self.images}
        if self.activation is not None:
            data["activation"] = self.activation
        return data

    def tables(self) -> dict[str, str]:
        """``stats``: one row per filter (index, L2 norm, min and max weight, bias)."""
        stats = filters.stats(torch.from_numpy(np.ascontiguousarray(self.weights)))
        rows = ([s.index, s.norm, s.min, s.max, "" if self.biases is None else self.biases[s.index]] for s in stats)
        return {"stats": csv_text(["filter", "l2_norm", "min", "max", "bias"], rows)}

    def resolved(self) -> dict[str, Any]:
        """The layer, the view drawn, the filter shape and the enlarged filter."""
        fields: dict[str, Any] = {"layer": self.layer, "view": self.view,
                                  "shape": "×".join(str(v) for v in self.weights.shape), "filter": self.filter}
        if self.view == "channel":
            fields["in_channel"] = self.in_channel
        return fields


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer the model gets by default (its first convolution)."""
    return Settings(layer=layer_rules.first_conv(model))


def checked_conv(model: LoadedModel, layer: str) -> str:
    """``layer`` if it is one of the model's 2-D convolutions; ValueError naming them otherwise."""
    names = [c.name for c in conv_choices(model)]
    if layer not in names:
        raise ValueError(f"layer: {layer!r} is not a 2-D convolution of {model.name}; convolutions: "
                         + (", ".join(names[:40]) or "none"))
    return layer


def _view(settings: Settings, inputs: int, layer: str) -> str:
    view = settings.view if settings.view != "auto" else ("rgb" if inputs == 3 else "channel")
    if view == "rgb" and inputs != 3:
        raise ValueError(f"view: rgb needs 3 input channels, {layer} has {inputs}; use channel or norm")
    if view == "channel" and settings.in_channel >= inputs:
        raise ValueError(f"in_channel: {settings.in_channel} is outside 0…{inputs - 1} ({layer} has {inputs} "
                         "input channels)")
    return view


def drawn(model: LoadedModel, source: Source, settings: Settings) -> FiltersResult:
    """The filters ``settings`` ask for, drawn, without a map: a partial result enlarging ``settings.filter`` (0
    for None). What :func:`run` yields before its forward pass; raises ValueError naming the field."""
    x = source.input()
    layer = checked_conv(model, settings.layer or layer_rules.first_conv(model))
    weights = filters.weights(model, layer)
    view = _view(settings, int(weights.shape[1]), layer)
    images, layer_range = filters.filter_images(weights, view=view, channel=settings.in_channel, per=settings.scale)
    bias = dict(model.module.named_modules())[layer].bias
    count = int(weights.shape[0])
    if settings.filter is not None and settings.filter >= count:
        raise ValueError(f"filter: {settings.filter} is outside 0…{count - 1} ({layer} has {count} filters)")
    return FiltersResult(settings=settings, head=about(NAME, model, source), partial=True, layer=layer, view=view,
                         in_channel=settings.in_channel, weights=weights.numpy(),
                         biases=None if bias is None else bias.detach().float().cpu().numpy(), images=images,
                         layer_range=layer_range, ranges=filters.view_ranges(weights, view, settings.in_channel),
                         filter=settings.filter or 0, image=np.asarray(model.deprocess(x)))


DRAWING = ("layer", "view", "in_channel", "scale")
"""The settings :func:`drawn` draws the filters by (the others choose the filter enlarged and style the figure)."""


def enlarged(result: FiltersResult, settings: Settings, maps: torch.Tensor | None = None) -> FiltersResult:
    """``result`` (from :func:`drawn`) with ``settings`` (differing at most in the filter enlarged, the figure's
    limit and colormap; ValueError otherwise) and, given ``maps`` [out, H, W] (the layer's output on the image),
    complete with the enlarged filter's map: ``settings.filter``, or the filter whose map is strongest (filter 0
    without maps)."""
    changed = [name for name in DRAWING if getattr(settings, name) != getattr(result.settings, name)]
    if changed and not (changed == ["layer"] and settings.layer in ("", result.layer)):
        raise ValueError(f"{', '.join(changed)}: the filters were drawn with other settings; draw them again")
    count = len(result.images)
    if settings.filter is not None and settings.filter >= count:
        raise ValueError(f"filter: {settings.filter} is outside 0…{count - 1} ({result.layer} has {count} filters)")
    if maps is None:
        return dataclasses.replace(result, settings=settings, partial=True, filter=settings.filter or 0,
                                   activation=None)
    values = maps.float().cpu()
    chosen = settings.filter if settings.filter is not None else int(np.argmax(activations.channel_stats(values).max))
    return dataclasses.replace(result, settings=settings, partial=False, filter=chosen,
                               activation=values[chosen].numpy())


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, FiltersResult]:
    """The filters' images (:func:`drawn`), then one forward pass for the enlarged filter's map
    (:func:`enlarged`); yields a :class:`Step` with the filters (no map yet) before the pass."""
    settings = settings or Settings()
    partial = drawn(model, source, settings)
    yield Step(0, 1, partial, f"capturing {partial.layer}")
    maps = layers.capture(model, source.input(), layers=partial.layer, stop_early=True)[partial.layer][0]
    return enlarged(partial, settings, maps)


def display_levels(result: FiltersResult, index: int | None = None) -> tuple[Levels, Levels, str]:
    """(image levels, colour-bar range, bar label) of the grid, or of filter ``index`` alone: the images are in
    [0, 1]; per filter the grid's bar runs over each filter's own range (0…1) and filter ``index``'s over its weights;
    per layer the bar gives the layer's weights and, with the diverging colormap, the levels widen so that weight 0
    sits at its centre."""
    label = "L2 norm" if result.view == "norm" else "weight"
    if result.settings.scale == "filter":
        if index is None:
            return (0.0, 1.0), (0.0, 1.0), "each filter: min → max"
        low, high = (float(v) for v in result.ranges[index])
        return (0.0, 1.0), (low, high), label
    low, high = result.layer_range
    if result.settings.colormap != "diverging" or result.view != "channel" or high <= low:
        return (0.0, 1.0), (low, high), label
    bound, span = max(abs(low), abs(high)), high - low
    return ((-bound - low) / span, (bound - low) / span), (-bound, bound), label


def _view_text(result: FiltersResult) -> str:
    return {"rgb": "RGB", "channel": f"input {result.in_channel}", "norm": "L2 norm"}[result.view]


def _draw_panels(fig: Figure, axes: Sequence[Axes], result: FiltersResult) -> None:
    """(a) the input, (b) the enlarged filter with its weights' bar, (c) its activation map."""
    cmap = result.settings.colormap
    index = result.filter
    figures.show_image(axes[0], result.image, "(a) Input")
    shown, bar, label = display_levels(result, index)
    tile = result.images[index]
    axes[1].imshow(tile, cmap=figures.colormap(cmap) if tile.ndim == 2 else None, vmin=shown[0],
                   vmax=shown[1], interpolation="nearest")
    figures.plain(axes[1], f"(b) Filter {index}")
    narrow = fig.get_figwidth() < figures.NARROW_IN
    scale_bar(fig, axes[1], *bar, "grey" if tile.ndim == 3 else cmap, "" if narrow else label)
    shape = "×".join(str(v) for v in result.weights.shape[1:])
    axes[1].set_xlabel(f"{shape}, {_view_text(result)}" + (f"\nbar: {label}" if narrow else ""),
                       fontsize=figures.MIN_FONT_PT)
    if result.activation is None:
        figures.plain(axes[2], "(c) no map yet")
        return
    figures.show_map(fig, axes[2], result.activation, cmap=cmap, title=f"(c) Map of filter {index}",
                     label="activation")
    rows, cols = result.activation.shape
    axes[2].set_xlabel(f"{cols}×{rows} on the input", fontsize=figures.MIN_FONT_PT)


def _draw_grid(fig: Figure, ax: Axes, result: FiltersResult, layout: tuple[int, bool], width_in: float) -> None:
    """(d) the first ``limit`` filters as one mosaic (``layout``: columns, labelled; RGB filters as an RGB
    mosaic) with its colour bar."""
    count = min(len(result.images), result.settings.limit)
    shown, bar, label = display_levels(result)
    total = len(result.images)
    columns, labelled = layout
    what = f"{total} filters" if count == total else f"first {count} of {total} filters"
    scale = "each filter scaled" if result.settings.scale == "filter" else "one scale"
    note = "" if labelled else reading_order_note("filter")
    show_tiles(ax, result.images[:count], [str(i) for i in range(count)], columns=columns, width_in=width_in,
               cmap=result.settings.colormap, levels=[shown], labelled=labelled,
               title=wrapped(f"(d) {short(result.layer, 36)}: {what}, {_view_text(result)}, {scale}{note}", width_in))
    rgb = result.images.ndim == 4
    scale_bar(fig, ax, *bar, "grey" if rgb else result.settings.colormap, label + (" (R, G, B)" if rgb else ""))


def figure(result: FiltersResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the input, (b) the enlarged filter with its weight scale, (c) its activation
    map on the input, (d) the grid of the layer's filters with its colour bar; the caption below."""
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=0.75)
        grid_in = fig.get_figwidth() * 0.85
        count = min(len(result.images), result.settings.limit)
        layout = grid_layout(count, grid_in)
        aspect = grid_aspect(count, layout[0], result.images.shape[1:3], grid_in, layout[1])
        outer = panels_and_grid(fig, aspect, grid_in)
        top = outer[0].subgridspec(1, 3)
        panels = [fig.add_subplot(top[i]) for i in range(3)]
        _draw_panels(fig, panels, result)
        grid = fig.add_subplot(outer[1])
        _draw_grid(fig, grid, result, layout, grid_in)
        fit_rows(fig, outer, [panels, [grid]])
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "every filter of a convolution layer, and one filter's map on the image", Settings, run,
                    figure, defaults=defaults)
