"""The nine strongest channels of a layer on one image, each projected back to pixels beside the input patch
under its receptive field (Zeiler & Fergus 2014, Fig. 2, for one image). The maths is
:func:`cnnviz.core.per_image.deconv.top_units`; the display helpers are those of :mod:`cnnviz.analyses.deconv`.
"""

import dataclasses
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Rectangle

from cnnviz.analyses import deconv as single
from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.analyses.finite import check_finite
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import deconv
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text

NAME = "top9"
TOP_K = 9
"""How many of the layer's strongest channels are projected."""
COLUMNS = 3
"""Units per row of the figure."""
PAIR_SPACE = 0.08
"""Space between units in a row, as a fraction of the average panel width (constrained layout's wspace)."""
GAP_FRACTION = 0.12
"""Blank between a unit's projection and its input patch, as a fraction of the patch's width."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Layer and method of the projections."""

    layer: str = setting("", label="Layer", help="Layer whose strongest channels are projected; empty: the last "
                         "convolution.")
    method: str = setting("deconvnet", label="Method", choices=deconv.METHODS, help=single.METHOD_HELP)
    display: str = setting("symmetric", label="Show", choices=single.DISPLAYS, help=single.DISPLAY_HELP)


@dataclass(frozen=True, kw_only=True)
class Top9Result(Result):
    """The strongest channels of ``layer``, strongest first: their ``projections`` [K, C, H, W] (float32, input
    space, as the core returns them), ``channels`` [K], ``activations`` [K], ``positions`` [K, 2] (row, col in
    the layer's map; None for a vector layer), receptive-field ``boxes`` [K, 4] (top, left, bottom, right; input
    pixels, bottom/right exclusive) and ``unit_names`` (their classes where the units are classes, else empty).
    ``projection_tiles`` and ``patch_tiles`` [K, h, w] or [K, h, w, 3] in [0, 1] are each unit's displayed
    projection and input under its field, placed as :func:`cnnviz.core.per_image.deconv.field_tiles` places them (NaN
    outside the field). ``warning`` and ``note`` are the projections' (empty where there is none)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    projections: np.ndarray
    channels: np.ndarray
    activations: np.ndarray
    positions: np.ndarray | None
    boxes: np.ndarray
    projection_tiles: np.ndarray
    patch_tiles: np.ndarray
    layer: str
    unit_names: tuple[str, ...] = ()
    warning: str = ""
    note: str = ""

    def arrays(self) -> dict[str, np.ndarray]:
        """``projections`` [K, C, H, W], ``boxes`` [K, 4] and ``channels`` [K] (as the pane exports them),
        ``activations`` [K] and, for a layer with maps, ``positions`` [K, 2]."""
        arrays = {"projections": self.projections, "boxes": self.boxes, "channels": self.channels,
                  "activations": self.activations}
        return arrays | ({"positions": self.positions} if self.positions is not None else {})

    def tables(self) -> dict[str, str]:
        """``units``: one row per unit, strongest first (rank, channel, class, activation, row, col, field box)."""
        rows = []
        for index, (channel, activation, box) in enumerate(zip(self.channels, self.activations, self.boxes)):
            row, col = self.positions[index] if self.positions is not None else ("", "")
            name = self.unit_names[index] if self.unit_names else ""
            rows.append([index + 1, int(channel), name, float(activation), row, col, *map(int, box)])
        header = ["rank", "channel", "class", "activation", "row", "col", "top", "left", "bottom", "right"]
        return {"units": csv_text(header, rows)}

    def resolved(self) -> dict[str, Any]:
        """The layer and the channels shown, strongest first."""
        return {"layer": self.layer, "channels": [int(c) for c in self.channels]}


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer the model gets by default (its last convolution)."""
    return Settings(layer=layer_rules.last_conv(model))


def run(model: LoadedModel, source: Source, settings: Settings | None = None) -> Generator[Step, None, Top9Result]:
    """Project the layer's :data:`TOP_K` strongest channels; yields one :class:`Step` before the projections."""
    settings = settings or Settings()
    x = source.input()
    layer = settings.layer or layer_rules.last_conv(model)
    choice = layer_rules.checked_layer(model, layer, NAME)
    yield Step(0, 1, None, f"projecting the {TOP_K} strongest channels of {layer} ({settings.method})")
    units = deconv.top_units(model, x, layer=layer, k=TOP_K, method=settings.method)
    check_finite(model, layer, *(u.activation for u in units), *(u.image for u in units))
    image = np.asarray(model.deprocess(x))
    boxes = [u.box for u in units]
    projections = torch.stack([u.image for u in units]).numpy()
    patches = [deconv.crop_array(image, u.box).astype(np.float32) / 255 for u in units]
    positions = None if choice.is_vector else np.asarray([u.position for u in units], dtype=np.int64)
    return Top9Result(settings=settings, head=about(NAME, model, source), projections=projections,
                      channels=np.asarray([u.channel for u in units], dtype=np.int64),
                      activations=np.asarray([u.activation for u in units], dtype=np.float32), positions=positions,
                      boxes=np.asarray(boxes, dtype=np.int64),
                      projection_tiles=projection_tiles(projections, boxes, settings.display),
                      patch_tiles=deconv.field_tiles(patches, boxes, (image.shape[0], image.shape[1])), layer=layer,
                      unit_names=tuple(single.unit_name(model, choice, u.channel) for u in units),
                      warning=units[0].warning, note=units[0].note)


def projection_tiles(projections: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], display: str) -> np.ndarray:
    """Each projection [K, C, H, W] shown with ``display`` under its receptive field ``boxes`` [K] (top, left,
    bottom, right), placed as :func:`cnnviz.core.per_image.deconv.field_tiles` places them: [K, h, w] or
    [K, h, w, 3] in [0, 1], NaN outside the field."""
    shown = [deconv.crop_array(single.display_array(torch.from_numpy(p), display), box)
             for p, box in zip(projections, boxes)]
    return deconv.field_tiles(shown, list(boxes), (projections.shape[-2], projections.shape[-1]))


def with_display(result: Top9Result, display: str) -> Top9Result:
    """``result`` shown with ``display`` (one of :data:`cnnviz.analyses.deconv.DISPLAYS`) instead: its settings
    and projection tiles replaced, the projections kept (none is made again)."""
    boxes = [(int(t), int(left), int(b), int(r)) for t, left, b, r in result.boxes]
    return dataclasses.replace(result, settings=dataclasses.replace(result.settings, display=display),
                               projection_tiles=projection_tiles(result.projections, boxes, display))


def rgba(tile: np.ndarray) -> np.ndarray:
    """A tile [h, w] or [h, w, 3] in [0, 1] with NaN outside its field -> RGBA [h, w, 4], clear where NaN."""
    rgb = tile if tile.ndim == 3 else np.repeat(tile[:, :, None], 3, axis=2)
    alpha = ~np.isnan(rgb).any(axis=2)
    return np.dstack([np.clip(np.nan_to_num(rgb, nan=1.0), 0.0, 1.0), alpha.astype(np.float32)])


def pair(projection: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """A unit's projection tile and input patch tile side by side, a clear gap between: RGBA [h, 2w + gap, 4]."""
    left, right = rgba(projection), rgba(patch)
    gap = np.zeros((left.shape[0], gap_width(left.shape[1]), 4), dtype=left.dtype)
    return np.concatenate([left, gap, right], axis=1)


def gap_width(width: int) -> int:
    """Columns of blank between a tile ``width`` pixels wide and the next in a :func:`pair`."""
    return max(1, round(width * GAP_FRACTION))


def _outline(ax: Axes, height: int, width: int) -> None:
    """Thin frames around the two tiles of a :func:`pair` (each unit's whole receptive field)."""
    for left in (0, width + gap_width(width)):
        ax.add_patch(Rectangle((left - 0.5, -0.5), width, height, fill=False, edgecolor="0.6", linewidth=0.4))


def _title(result: Top9Result, index: int) -> str:
    name = f"\n{single.short(result.unit_names[index], 16)}" if result.unit_names and result.unit_names[index] else ""
    return f"{index + 1}: ch {int(result.channels[index])} = {_value(float(result.activations[index]))}{name}"


def _value(value: float) -> str:
    """Three significant digits, trailing zeros kept (``5.00``, ``147``)."""
    return f"{value:#.3g}".rstrip(".")


def _heading(result: Top9Result, width_in: float) -> str:
    method = single.METHOD_TITLES[result.settings.method]
    display = single.DISPLAY_LABELS[result.settings.display]
    text = f"{result.layer} · {method}: projection (left, {display}) | input patch (right)"
    return "\n".join(single.wrap(text, width_in, figures.FONT_PT))


def figure(result: Top9Result, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: the units in rows of three, strongest first, each its projection beside its input
    patch (framed: the whole receptive field, clear where it is clipped at the input's border), titled with rank,
    channel and activation; the projections' warning or note below, then the caption."""
    text = single.remarks(result.warning, result.note)
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px)
        engine = fig.get_layout_engine()
        assert isinstance(engine, ConstrainedLayoutEngine)
        engine.set(wspace=PAIR_SPACE)
        panels = single.panel_grid(fig, len(result.channels), COLUMNS, text, decoration_in=0.25,
                                   aspect=1 / (2 + GAP_FRACTION))
        fig.suptitle(_heading(result, fig.get_figwidth() - single.TEXT_MARGIN_IN), fontsize=figures.FONT_PT)
        for index, ax in enumerate(panels):
            ax.imshow(pair(result.projection_tiles[index], result.patch_tiles[index]), interpolation="nearest")
            _outline(ax, *result.projection_tiles.shape[1:3])
            figures.plain(ax, _title(result, index))
            for spine in ax.spines.values():
                spine.set_visible(False)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "the layer's 9 strongest channels projected to pixels beside their input patches "
                    "(Zeiler & Fergus Fig. 2)", Settings, run, figure, defaults=defaults)
