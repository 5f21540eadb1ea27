"""Dataset scan (Zeiler & Fergus 2014, Fig. 2, and unit statistics) as an analysis: every image of a dataset
goes through the model once; for each unit of the scanned layers the scan keeps its ``k`` strongest images
(the position of its largest value in each) and its statistics (fire rate, mean and largest score, class
selectivity). For the units shown, each strongest image's deconvnet projection and receptive-field patch are
drawn side by side. The maths is :func:`cnnviz.core.per_dataset.scan.build_steps` and
:func:`cnnviz.core.per_dataset.top_patches.patches_steps`.

:func:`run` works in two stages, each a public generator whose every step holds a :class:`ScanAnalysis`:
:func:`scan_steps` (the long scan, batch by batch; it can continue a partial index) returns the result without
pictures, then :func:`patch_steps` projects the hits of the units shown into it. A caller that keeps the index
(the Dataset pane: a cached, resumable scan, then the units of each page it shows) runs the stages itself and
builds the result of another page or order from the index with :func:`shown_result`.
"""

import math
import textwrap
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset import scan, top_patches
from cnnviz.core.per_dataset.atlas import make_atlas
from cnnviz.core.per_dataset.scan_index import EMPTY, SORT_KEYS, ScanIndex, UnitStats
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.core.per_image import deconv
from cnnviz.core.per_image.layer_choices import layer_choices
from cnnviz.core.settings import SettingsBase, setting

NAME = "scan"
BAR_COLOUR = "#4f8fd8"
SHOWN_COLOUR = "#e8833a"
DEAD_COLOUR = "#c0262d"
BLOCK_GAP = 0.4
"""Blank between a unit's projections and its patches in the figure, in tiles."""
NO_LABELS = "sort: selectivity needs class labels and this dataset has none; sort by index, max or fire_rate"


@dataclass(frozen=True)
class Settings(SettingsBase):
    """What to scan (layers, hits per unit) and which units to show (layer, order, page or channels)."""

    layers: tuple[str, ...] = setting((), label="Scanned layers",
                                      help="Layers whose units the scan tracks (convolutions, ReLUs, blocks: any layer "
                                           "with [C, H, W] or [C] outputs); empty: each convolution's "
                                           "rectified output (and the layer shown, if it is not one).")
    layer: str = setting("", label="Layer", help="Scanned layer whose units are shown; empty: the first scanned.")
    k: int = setting(9, label="Hits per unit", low=1, high=1000, unit="images",
                     help="How many of each unit's strongest images the scan keeps and the figure shows.")
    sort: str = setting("index", label="Sort", choices=SORT_KEYS,
                        help="Order of the units: by number, or by largest score, fire rate or class selectivity "
                             "(largest first; selectivity needs class labels).")
    per_page: int = setting(6, label="Units per page", low=1, high=48, unit="units",
                            help="Units shown at once (a page of the sorted units).")
    page: int = setting(1, label="Page", low=1, help="Page of the sorted units shown, from 1.")
    threshold: float = setting(0.01, label="Nearly dead", low=0.0, high=1.0,
                               help="Units that fire (score > 0) on at most this share of the images count as "
                                    "nearly dead.")
    channels: tuple[int, ...] = setting((), label="Units", low=0,
                                        help="Units shown, in this order; empty: the page of sorted units.")
    batch_size: int = setting(64, label="Batch", low=1, high=4096, unit="images", caption=False,
                              help="Images per forward pass.")
    workers: int | None = setting(None, label="Workers", low=0, high=256, caption=False, none="automatic",
                                  help="Processes decoding the images (0: in this process).")

    def check(self) -> None:
        """``layer`` among ``layers`` (when they are given); ``page`` only without ``channels``."""
        if self.layers and self.layer and self.layer not in self.layers:
            raise ValueError(f"layer: {self.layer!r} is not scanned; choose one of {', '.join(self.layers)} or "
                             f"add it to layers")
        if self.channels and self.page != 1:
            raise ValueError("page: the units are chosen by channels; leave page at 1 or channels empty")


@dataclass(frozen=True, kw_only=True)
class ScanAnalysis(Result):
    """The scan (``index``, a snapshot), the ``layer`` shown and its per-unit ``stats``
    (:class:`~cnnviz.core.per_dataset.scan_index.UnitStats`: arrays over its C units), the units in ``order`` [C], the
    units shown (``channels`` [U]), masks [C] bool of the ``dead`` units (never fired) and the ``nearly_dead``
    ones (fire rate in (0, threshold]), each unit's top hits (``top_images`` [C, k] dataset indices, -1 where empty;
    ``top_positions`` [C, k, 2] (row, col) in the layer's grid, -1 without one; ``top_activations`` [C, k],
    NaN where empty), and the Fig. 2 pictures of the shown units: ``projections`` and ``patches``
    [U, k, h, w] (grey) or [U, k, h, w, 3] float32 in [0, 1] (the projection: 0.5 = 0), NaN where blank (None
    while scanning), the projected hits they are tiled from (``hit_patches``: {channel: hits best first, each
    with its crops, receptive-field box, file name and label}, for the shown units projected so far) and ``hits``
    (CSV of the shown units' hits: unit, rank, file, label, activation, row, col)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    index: ScanIndex
    layer: str
    stats: UnitStats
    order: np.ndarray
    channels: np.ndarray
    dead: np.ndarray
    nearly_dead: np.ndarray
    top_images: np.ndarray
    top_positions: np.ndarray
    top_activations: np.ndarray
    projections: np.ndarray | None = None
    patches: np.ndarray | None = None
    hit_patches: dict[int, list[HitPatch]] = field(default_factory=dict)
    hits: str = ""

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-unit statistics (``fire_rate``, ``mean_max``, ``max`` and, with labels, ``selectivity``
        [C], ``class_mean`` [C, K], ``class_count`` [K]), ``dead``, ``nearly_dead``, ``order``, ``channels``,
        the top hits and, once projected, ``projections`` and ``patches``."""
        stats = self.stats
        found = {"fire_rate": stats.fire_rate, "mean_max": stats.mean_max, "max": stats.max}
        optional = {"selectivity": stats.selectivity, "class_mean": stats.class_mean,
                    "class_count": stats.class_count, "projections": self.projections, "patches": self.patches}
        found |= {name: array for name, array in optional.items() if array is not None}
        return found | {"dead": self.dead, "nearly_dead": self.nearly_dead, "order": self.order,
                        "channels": self.channels, "top_images": self.top_images,
                        "top_positions": self.top_positions, "top_activations": self.top_activations}

    def tables(self) -> dict[str, str]:
        """``hits`` (the shown units' hits, as the Dataset pane writes them) and ``units`` (every unit's
        statistics: unit, fire_rate, mean_max, max, selectivity)."""
        return {"hits": self.hits, "units": top_patches.units_csv(self.index, self.layer)}

    def resolved(self) -> dict[str, Any]:
        """The layers scanned, the layer and units shown, the images scanned (and skipped), the dead units."""
        fields: dict[str, Any] = {"layers": list(self.index.layers), "layer": self.layer,
                                  "channels": [int(c) for c in self.channels],
                                  "images_scanned": f"{self.index.scanned} of {self.index.total}"}
        if self.index.skipped:
            fields["skipped"] = len(self.index.skipped)
        return fields | {"dead_units": int(self.dead.sum()), "nearly_dead_units": int(self.nearly_dead.sum())}

    @property
    def labelled(self) -> bool:
        """True when the dataset has class labels (selectivity and class means exist)."""
        return self.stats.selectivity is not None


def scanned_layers(model: LoadedModel, settings: Settings) -> list[str]:
    """The layers ``settings`` scan: its ``layers``, else :func:`cnnviz.core.per_dataset.scan.default_layers` (the
    ReLU after each convolution, where there is one; else the convolution) plus ``layer`` if it is not one."""
    if settings.layers:
        return list(settings.layers)
    layers = scan.default_layers(model)
    return layers + [settings.layer] if settings.layer and settings.layer not in layers else layers


def defaults(model: LoadedModel) -> Settings:
    """The settings with the scanned layers (each convolution's rectified output) and the layer shown (the first)
    filled in."""
    layers = scan.default_layers(model)
    return Settings(layers=tuple(layers), layer=layers[0] if layers else "")


def shown_units(index: ScanIndex, layer: str, settings: Settings) -> np.ndarray:
    """The units of ``layer`` shown: ``settings.channels``, else page ``settings.page`` of ``per_page``
    units in ``sort`` order; ValueError for a unit or page out of range."""
    count = index.channels(layer)
    if settings.channels:
        wrong = [c for c in settings.channels if c >= count]
        if wrong:
            raise ValueError(f"channels: {', '.join(map(str, wrong))} out of range; {layer} has {count} units "
                             f"(0–{count - 1})")
        return np.asarray(settings.channels, dtype=np.int64)
    pages = -(-count // settings.per_page)
    if settings.page > pages:
        raise ValueError(f"page: {settings.page} is past the last page; {layer} has {count} units, {pages} "
                         f"page(s) of {settings.per_page}")
    start = (settings.page - 1) * settings.per_page
    return index.order(layer, settings.sort)[start:start + settings.per_page].astype(np.int64)


def top_arrays(index: ScanIndex, layer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unit's hits as arrays: images [C, k] (-1 where empty), positions [C, k, 2] (-1 without a grid
    or hit) and activations [C, k] (NaN where empty), as :meth:`ScanIndex.top` lists them (read from the
    layer's tally at once)."""
    tally = index.tally(layer)
    empty = np.cumsum(tally.images == EMPTY, axis=1) > 0
    images = np.where(empty, -1, tally.images).astype(np.int64)
    activations = np.where(empty, np.nan, tally.values).astype(np.float32)
    positions = np.where(empty[:, :, None] | (not tally.spatial), -1, tally.positions).astype(np.int64)
    return images, positions, activations


def pictures(found: dict[int, list[HitPatch]], channels: np.ndarray, k: int,
             input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(projections, patches) [U, k, h, w(, 3)] of ``channels`` from their projected hits ``found``
    ({channel: patches}; missing units and hits stay NaN), each crop placed in a tile of the largest
    receptive field by :func:`cnnviz.core.per_image.deconv.field_tiles`."""
    done = [(slot, p) for slot, c in enumerate(channels) for p in found.get(int(c), [])]
    if not done:
        return np.full((len(channels), k, 1, 1), np.nan, np.float32), np.full((len(channels), k, 1, 1), np.nan,
                                                                              np.float32)
    boxes = [p.box for _, p in done]
    tiles = [deconv.field_tiles([_plane(p.projection) for _, p in done], boxes, input_size),
             deconv.field_tiles([_plane(p.patch) for _, p in done], boxes, input_size)]
    out = [np.full((len(channels), k, *t.shape[1:]), np.nan, np.float32) for t in tiles]
    for row, (slot, patch) in enumerate(done):
        for array, tile in zip(out, tiles):
            array[slot, patch.rank] = tile[row]
    return out[0], out[1]


def shown_result(settings: Settings, head: Caption, dataset: ImageDataset, index: ScanIndex, layer: str,
                 channels: np.ndarray, found: dict[int, list[HitPatch]] | None, input_size: tuple[int, int], *,
                 partial: bool) -> ScanAnalysis:
    """The result showing ``channels`` [U] of ``layer`` in ``index`` (a scan of ``dataset``) with their projected
    hits ``found`` ({channel: patches}, None: not projected yet) for a model whose input is ``input_size``
    (h, w); what every step of :func:`run` holds and what the Dataset pane shows."""
    stats = index.stats(layer)
    dead = stats.fire_rate <= 0.0
    images, positions, activations = top_arrays(index, layer)
    shown = (None, None) if found is None else pictures(found, channels, index.k, input_size)
    projected = {int(c): list(found[int(c)]) for c in channels if found is not None and int(c) in found}
    return ScanAnalysis(settings=settings, head=head, partial=partial, index=index, layer=layer, stats=stats,
                        order=index.order(layer, settings.sort), channels=channels, dead=dead,
                        nearly_dead=(stats.fire_rate <= settings.threshold) & ~dead,
                        top_images=images, top_positions=positions, top_activations=activations,
                        projections=shown[0], patches=shown[1], hit_patches=projected,
                        hits=top_patches.hits_csv(index, dataset, layer, [int(c) for c in channels]))


def _plane(array: np.ndarray) -> np.ndarray:
    return array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array


def _checked(model: LoadedModel, dataset: ImageDataset, settings: Settings) -> tuple[list[str], str]:
    layers = scanned_layers(model, settings)
    if not layers:
        raise ValueError(f"layers: {model.name} has no convolution to scan; name the layers to scan")
    offered = [choice.name for choice in layer_choices(model)]
    missing = [name for name in layers if name not in offered]
    if missing:
        raise ValueError(f"layers: no layer called {', '.join(map(repr, missing))} with [C, H, W] or [C] outputs in "
                         f"{model.name}; layers: {', '.join(offered[:40])}" + (", …" if len(offered) > 40 else ""))
    if settings.sort == "selectivity" and dataset.labels is None:
        raise ValueError(NO_LABELS)
    return layers, settings.layer or layers[0]


def scan_steps(model: LoadedModel, source: Source, settings: Settings | None = None, *,
               resume: ScanIndex | None = None) -> Generator[Step, None, ScanAnalysis]:
    """The first stage of :func:`run`: scan the dataset of ``source`` over the scanned layers
    (:func:`cnnviz.core.per_dataset.scan.build_steps` with ``settings``' ``k``, ``batch_size`` and ``workers``),
    continuing ``resume`` (a partial index of the same layers and ``k``; None: from the start). Yields a
    :class:`Step` per batch (images done of all; the partial result without pictures, None until an image is
    scored; the message gives images/s); returns the result of the index, without pictures (``partial`` while
    images are left). Closing the generator stops the scan; the last partial's ``index`` is what it reached."""
    settings = settings or Settings()
    dataset = source.data()
    layers, layer = _checked(model, dataset, settings)
    head, input_size = about(NAME, model, source), _input_size(model)

    def result(index: ScanIndex, partial: bool) -> ScanAnalysis:
        return shown_result(settings, head, dataset, index, layer, shown_units(index, layer, settings), None,
                            input_size, partial=partial)

    steps = scan.build_steps(model, dataset, layers=layers, k=settings.k, batch_size=settings.batch_size,
                             workers=settings.workers, resume=resume)
    try:
        while True:
            step = next(steps)
            so_far: scan.PartialScan = step.partial
            shown = result(so_far.index, True) if so_far.index.tallies else None
            yield Step(step.done, step.total, shown, f"scanning, {so_far.images_per_s:.0f} images/s")
    except StopIteration as stop:
        index: ScanIndex = stop.value
        return result(index, index.partial)
    finally:
        steps.close()


def patch_steps(model: LoadedModel, source: Source, index: ScanIndex, settings: Settings | None = None, *,
                channels: Sequence[int] | None = None) -> Generator[Step, None, ScanAnalysis]:
    """The second stage of :func:`run`: project the hits of the units shown (``channels`` of the layer
    ``settings`` show, in that order; None: the units ``settings`` choose, :func:`shown_units`) in ``index``, a
    scan of the dataset of ``source``, one unit at a time
    (:func:`cnnviz.core.per_dataset.top_patches.patches_steps`). Yields a :class:`Step` per unit (units done of
    shown; the partial result with the pictures so far); returns the result (``partial`` if ``index`` is).
    ValueError for a layer ``index`` did not track, units out of range, or a selectivity order without labels."""
    settings = settings or Settings()
    dataset = source.data()
    layer = _checked_index(index, settings)
    shown = _chosen_units(index, layer, settings, channels)
    head, input_size = about(NAME, model, source), _input_size(model)

    def result(found: dict[int, list[HitPatch]], partial: bool) -> ScanAnalysis:
        return shown_result(settings, head, dataset, index, layer, shown, found, input_size, partial=partial)

    steps = top_patches.patches_steps(model, dataset, index, layer, [int(c) for c in shown])
    try:
        while True:
            step = next(steps)
            yield Step(step.done, step.total, result(step.partial, True), step.message)
    except StopIteration as stop:
        return result(stop.value, index.partial)
    finally:
        steps.close()


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, ScanAnalysis]:
    """Scan the dataset (:func:`scan_steps`: a :class:`Step` per batch, images done of all, the partial result),
    then project the shown units' hits (:func:`patch_steps`: a :class:`Step` per unit, units done of shown, the
    pictures so far)."""
    settings = settings or Settings()
    scanned = yield from scan_steps(model, source, settings)
    return (yield from patch_steps(model, source, scanned.index, settings))


def _input_size(model: LoadedModel) -> tuple[int, int]:
    return int(model.input_size[0]), int(model.input_size[1])


def _chosen_units(index: ScanIndex, layer: str, settings: Settings, channels: Sequence[int] | None) -> np.ndarray:
    """``channels`` [U] int64 (checked against the layer's units), else the units ``settings`` show."""
    if channels is None:
        return shown_units(index, layer, settings)
    if not len(channels):
        return np.zeros(0, np.int64)
    return shown_units(index, layer, settings.replace(channels=tuple(int(c) for c in channels), page=1))


def _checked_index(index: ScanIndex, settings: Settings) -> str:
    """The layer of ``index`` that ``settings`` show (``layer``, else the first scanned); ValueError naming the
    field when ``index`` did not track it or the order needs labels it has not."""
    layer = settings.layer or index.layers[0]
    if layer not in index.layers:
        raise ValueError(f"layer: {layer!r} is not in the scan; it tracked {', '.join(index.layers)}")
    if settings.sort == "selectivity" and index.label_array is None:
        raise ValueError(NO_LABELS)
    return layer


def unit_mosaic(projections: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """One unit's picture [H, W, 4] RGBA in [0, 1]: its ``projections`` [k, h, w(, 3)] in a near-square
    grid (best first, row by row) left of its ``patches`` in the same grid; blank (NaN) is transparent."""
    side = max(1, math.ceil(math.sqrt(len(projections))))
    pad = max(1, max(projections.shape[1:3]) // 16)
    left = make_atlas(projections, columns=side, pad=pad).image
    right = make_atlas(patches, columns=side, pad=pad).image
    gap = np.full((left.shape[0], max(pad, round(BLOCK_GAP * projections.shape[2]))) + left.shape[2:], np.nan,
                  np.float32)
    joined = np.concatenate([left, gap, right], axis=1)
    rgb = joined if joined.ndim == 3 else np.repeat(joined[:, :, None], 3, axis=2)
    alpha = (~np.isnan(rgb).any(axis=2)).astype(np.float32)
    return np.concatenate([np.nan_to_num(np.clip(rgb, 0.0, 1.0)), alpha[:, :, None]], axis=2)


def _unit_title(result: ScanAnalysis, channel: int) -> str:
    stats = result.stats
    text = f"unit {channel} · max {stats.max[channel]:.3g} · fires {stats.fire_rate[channel]:.0%}"
    if stats.selectivity is not None:
        text += f" · sel. {stats.selectivity[channel]:.2f}"
    return text


def _unit_panel(ax: Axes, result: ScanAnalysis, slot: int) -> None:
    channel = int(result.channels[slot])
    figures.plain(ax, _unit_title(result, channel))
    ax.title.set_fontsize(figures.MIN_FONT_PT)
    if result.projections is None or result.patches is None or np.isnan(result.projections[slot]).all():
        ax.set_aspect("equal")
        ax.set_xlim(0, 2 + BLOCK_GAP)
        ax.set_ylim(1, 0)
        ax.text(0.5, 0.5, "not projected yet", ha="center", va="center", fontsize=figures.MIN_FONT_PT,
                transform=ax.transAxes)
        return
    ax.imshow(unit_mosaic(result.projections[slot], result.patches[slot]), interpolation="nearest")


def _bars(ax: Axes, values: np.ndarray, shown: np.ndarray) -> None:
    """One bar per unit (as two filled step outlines, few artists), the ``shown`` units highlighted."""
    edges = np.arange(len(values) + 1) - 0.5
    highlighted = np.isin(np.arange(len(values)), shown)
    ax.stairs(np.where(highlighted, 0.0, values), edges, fill=True, color=BAR_COLOUR, linewidth=0)
    ax.stairs(np.where(highlighted, values, 0.0), edges, fill=True, color=SHOWN_COLOUR, linewidth=0)


def _fire_panel(ax: Axes, result: ScanAnalysis, title: str) -> None:
    rates = result.stats.fire_rate
    _bars(ax, rates, result.channels)
    threshold = result.settings.threshold
    if threshold > 0:
        ax.axhline(threshold, color=DEAD_COLOUR, linewidth=0.8, linestyle=(0, (3, 2)))
    dead = np.flatnonzero(result.dead)
    if len(dead):
        ax.plot(dead, np.zeros(len(dead)), linestyle="none", marker="x", color=DEAD_COLOUR, markersize=3,
                clip_on=False)
    _unit_axis(ax, len(rates), 1.0, title, "fire rate")


def _selectivity_panel(ax: Axes, result: ScanAnalysis, title: str) -> None:
    values = result.stats.selectivity
    if values is None:
        figures.plain(ax, title)
        ax.set_box_aspect(0.45)
        ax.text(0.5, 0.5, "needs class labels", ha="center", va="center", fontsize=figures.MIN_FONT_PT,
                transform=ax.transAxes)
        return
    _bars(ax, values, result.channels)
    _unit_axis(ax, len(values), max(0.05, float(np.nanmax(values, initial=0.0))), title, "class selectivity")


def _unit_axis(ax: Axes, count: int, top: float, title: str, label: str) -> None:
    """Units 0…count-1 along x, 0…``top`` along y, ticks only inside (none drawn off the axes)."""
    ax.set_xlim(-0.5, count - 0.5)
    ax.set_ylim(0.0, top * 1.02)
    ax.set_xticks([t for t in MaxNLocator(nbins=6, integer=True).tick_values(0, count - 1) if 0 <= t < count])
    ax.set_yticks([t for t in MaxNLocator(nbins=5).tick_values(0.0, top) if 0 <= t <= top * 1.02])
    ax.set_xlabel("unit")
    ax.set_ylabel(label)
    ax.set_title(title, fontsize=figures.FONT_PT, pad=3)
    ax.set_box_aspect(0.45)
    ax.spines[["top", "right"]].set_visible(False)


def _legend(ax: Axes, result: ScanAnalysis, columns: int) -> None:
    """The statistics' legend, centred in ``ax`` (a row of its own)."""
    handles = [Patch(color=BAR_COLOUR, label="unit"), Patch(color=SHOWN_COLOUR, label="shown in (a)"),
               Line2D([], [], color=DEAD_COLOUR, marker="x", linestyle="none", markersize=3,
                      label=f"dead ({int(result.dead.sum())})")]
    if result.settings.threshold > 0:
        handles.append(Line2D([], [], color=DEAD_COLOUR, linewidth=0.8, linestyle=(0, (3, 2)),
                              label=f"nearly dead, fire rate ≤ {result.settings.threshold:g} "
                                    f"({int(result.nearly_dead.sum())})"))
    ax.axis("off")
    ax.legend(handles=handles, loc="center", ncols=columns, borderaxespad=0.0, handlelength=1.2,
              columnspacing=1.2)


def _heading(result: ScanAnalysis, width_in: float) -> str:
    k = result.index.k
    text = (f"(a) {result.layer}: each unit's {k} strongest images of {result.index.scanned} — deconvnet "
            f"projection (left), image patch (right)")
    return textwrap.fill(text, max(30, int(width_in * 72 / (figures.FONT_PT * 0.55))))


def figure(result: ScanAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM, dpi: float = figures.DEFAULT_DPI,
           width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) Fig. 2 of the shown units (each unit's strongest images as deconvnet projections
    beside their patches, titled with its statistics), (b) every unit's fire rate with the dead units marked
    and (c) its class selectivity, the shown units highlighted; the caption below."""
    with figures.report_style():
        width = figures.width_inches(width_mm, dpi, width_px)
        narrow = width < figures.NARROW_IN
        per_row = 1 if narrow else max(2, min(4, int(width / 3.2)))
        unit_rows = max(1, -(-len(result.channels) // per_row))
        stat_rows = 2 if narrow else 1
        heights = ([width / per_row * 0.45 + 0.2] * unit_rows + [width / (3 - stat_rows) * 0.45 + 0.45] * stat_rows
                   + [0.3 if narrow else 0.15])
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=(sum(heights) + 0.3) / width)
        grid = fig.add_gridspec(len(heights), 2 * per_row, height_ratios=heights)
        for slot in range(len(result.channels)):
            row, col = divmod(slot, per_row)
            _unit_panel(fig.add_subplot(grid[row, 2 * col:2 * col + 2]), result, slot)
        if narrow:
            fire, selective = fig.add_subplot(grid[unit_rows, :]), fig.add_subplot(grid[unit_rows + 1, :])
        else:
            fire = fig.add_subplot(grid[unit_rows, :per_row])
            selective = fig.add_subplot(grid[unit_rows, per_row:])
        _fire_panel(fire, result, f"(b) Fire rate, {len(result.stats.fire_rate)} units")
        _selectivity_panel(selective, result, "(c) Class selectivity")
        _legend(fig.add_subplot(grid[-1, :]), result, 2 if narrow else 4)
        fig.suptitle(_heading(result, width), fontsize=figures.FONT_PT)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "dataset scan: each unit's strongest images and unit statistics (Zeiler & Fergus Fig. 2)",
                    Settings, run, figure, input="dataset", defaults=defaults)
