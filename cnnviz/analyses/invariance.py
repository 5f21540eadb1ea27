"""Invariance curves (Zeiler & Fergus 2014, Fig. 5) as an analysis: the input is rotated, shifted or scaled
over a range of values and, for every value, the curves give the target-class probability, the distance
‖f(T(x)) − f(x)‖ of each compared layer's features to those of the untransformed input (or that distance
relative to ‖f(x)‖) and the most probable class. The maths is :func:`cnnviz.core.per_image.invariance.curve_steps`.

The analysis takes one image; its arrays are named ``image1-<name>`` as the Invariance pane exports the
first image's curves.
"""

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.analyses.settings import SettingsBase, setting
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.class_palette import order_of_appearance
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.invariance import KINDS, UNITS, InvarianceResult
from cnnviz.core.per_image.layer_choices import layer_choices

NAME = "invariance"
IMAGE = "image1"
"""Prefix of every array's name (the pane's first image)."""
EXAMPLES = 9
"""Most transformed inputs kept for the figure's strip, at evenly spread values."""
LINE_COLOUR = "#1f77b4"
"""Colour of the first image's curves on screen (the pane's first image colour)."""
MARKER_EDGE = "#444444"
AXIS_TITLES = {"rotation": "rotation (°)", "vertical": "shift down (px)", "horizontal": "shift right (px)",
               "scale": "scale (×)"}
"""The x axis's label for each transform kind (rotations are counter-clockwise)."""
RANGE_HELP = "In the kind's unit: ° for rotation, px for shifts, × for scale."


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Transform, its range and the compared layers; None and empty leave the value to the kind and the model
    (see each field's help)."""

    kind: str = setting("rotation", label="Transform", choices=KINDS,
                        help="How the input is transformed: rotation about the centre, vertical or horizontal "
                             "shift, or scale about the centre.")
    start: float | None = setting(None, label="From", low=-3600, high=3600, none="the kind's default range",
                                  help="First transform value. " + RANGE_HELP)
    stop: float | None = setting(None, label="To", low=-3600, high=3600, none="the kind's default range",
                                 help="Last transform value (included when the steps reach it). " + RANGE_HELP)
    step: float | None = setting(None, label="Step", low=0.001, high=7200, none="the kind's default range",
                                 help=f"Step between transform values (at most {invariance.MAX_VALUES} values). "
                                      + RANGE_HELP)
    crop: bool = setting(False, label="Centre crop",
                         help="Enlarge the centre square (free of fill at any angle) to the whole input after "
                              "transforming.")
    relative: bool = setting(False, label="Relative distance",
                             help="Plot ‖f(T(x)) − f(x)‖ / ‖f(x)‖ instead of ‖f(T(x)) − f(x)‖.")
    layers: tuple[str, ...] = setting((), label="Compared layers",
                                      help="Layers whose features are compared with the untransformed input's; "
                                           "empty: the first conv block and the penultimate layer (the paper's "
                                           "layers 1 and 7).")
    target: int | None = setting(None, label="Target class", low=0, none="the top-1 class of the input",
                                 help="Class whose probability is plotted.")

    def check(self) -> None:
        """Scale factors above 0, ``stop`` not below ``start``, and at most
        :data:`~cnnviz.core.per_image.invariance.MAX_VALUES` values where the range does not wait for the input size."""
        if self.kind == "scale" and self.start is not None and self.start <= 0:
            raise ValueError(f"start: scale factors must be above 0, not {self.start:g} (e.g. 0.5)")
        if self.start is not None and self.stop is not None and self.stop < self.start:
            raise ValueError(f"stop: {self.stop:g} is below start {self.start:g}; give a stop of at least the start")
        if None not in (self.start, self.stop, self.step) or self.kind not in ("vertical", "horizontal"):
            values_for(self, 224)


def value_range_for(settings: Settings, size: int) -> tuple[float, float, float]:
    """(start, stop, step) of ``settings``, each None filled from the kind's default range for an input of
    ``size`` pixels along the transform (:func:`cnnviz.core.per_image.invariance.default_range`)."""
    default = invariance.default_range(settings.kind, size)
    chosen = (settings.start, settings.stop, settings.step)
    start, stop, step = (d if c is None else c for c, d in zip(chosen, default))
    return start, max(stop, start), step


def values_for(settings: Settings, size: int) -> np.ndarray:
    """The transform values [n] of ``settings`` for an input of ``size`` pixels along the transform; a
    ValueError naming ``step`` for more than :data:`~cnnviz.core.per_image.invariance.MAX_VALUES` values, ``start`` for
    a scale factor not above 0."""
    start, stop, step = value_range_for(settings, size)
    if settings.kind == "scale" and start <= 0:
        raise ValueError(f"start: scale factors must be above 0, not {start:g} (e.g. 0.5)")
    try:
        return invariance.value_range(start, stop, step)
    except ValueError as error:
        raise ValueError("step: " + str(error).removeprefix("invariance: ")) from None


def _size(x_shape: tuple[int, ...], kind: str) -> int:
    """The input's size in pixels along the transform (its height for a vertical shift, else its width)."""
    return int(x_shape[-2] if kind == "vertical" else x_shape[-1])


def compared_layers(model: LoadedModel, settings: Settings) -> list[str]:
    """The layers ``settings`` compare (empty: :func:`cnnviz.core.per_image.invariance.default_layers`), each once; a
    ValueError naming the unknown ones and the model's layers."""
    if not settings.layers:
        return invariance.default_layers(model)
    names = [choice.name for choice in layer_choices(model)]
    unknown = [name for name in settings.layers if name not in names]
    if unknown:
        shown = ", ".join(names[:40]) + (", …" if len(names) > 40 else "")
        raise ValueError(f"layers: no layer {', '.join(unknown)} in this model; layers: {shown}")
    return list(dict.fromkeys(settings.layers))


@dataclass(frozen=True, kw_only=True)
class InvarianceAnalysis(Result):
    """The ``curves`` (:class:`~cnnviz.core.per_image.invariance.InvarianceResult`) of the image ``name``, the resolved
    ``value_range`` (start, stop, step in the kind's unit), and ``examples`` [k, H, W] or [k, H, W, 3] uint8:
    the input transformed by ``example_values`` [k] (k ≤ :data:`EXAMPLES`), as shown."""

    analysis: ClassVar[str] = NAME
    curves: InvarianceResult
    name: str
    value_range: tuple[float, float, float]
    examples: np.ndarray
    example_values: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The core's curves, each [n], as ``image1-<name>``: ``values``, ``probability``, ``top_class`` and per
        compared layer ``distance-<layer>`` and ``relative_distance-<layer>``."""
        return {f"{IMAGE}-{name}": array for name, array in self.curves.arrays().items()}

    def tables(self) -> dict[str, str]:
        """``curves``: one row per computed value (image, value, probability, top class, distances)."""
        return {"curves": invariance.curves_csv([(self.name, self.curves)])}

    def resolved(self) -> dict[str, Any]:
        """The range used, the number of values, the target and its name, and the compared layers."""
        start, stop, step = self.value_range
        return {"start": start, "stop": stop, "step": step, "values": len(self.curves.values),
                "target": self.curves.target, "target_name": self.class_name(self.curves.target),
                "layers": list(self.curves.distance)}

    def class_name(self, index: int) -> str:
        """The name of class ``index``."""
        classes = self.curves.classes
        return classes[index] if 0 <= index < len(classes) else f"class {index}"


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layers the model compares by default (the range stays the kind's default)."""
    return Settings(layers=tuple(invariance.default_layers(model)))


def example_indices(count: int, most: int = EXAMPLES) -> np.ndarray:
    """Indices of at most ``most`` of ``count`` values, evenly spread and including the first and last."""
    return np.unique(np.round(np.linspace(0, count - 1, min(count, most))).astype(int))


def _examples(model: LoadedModel, x: Any, settings: Settings, values: np.ndarray) -> np.ndarray:
    """The input ``x`` [1, C, H, W] transformed by each of ``values`` as shown: [k, H, W(, 3)] uint8."""
    transformed = invariance.transform_many(x, settings.kind, values, crop=settings.crop)
    return np.stack([np.asarray(model.deprocess(item)) for item in transformed])


def run(model: LoadedModel, source: Source, settings: Settings | None = None
        ) -> Generator[Step, None, InvarianceAnalysis]:
    """Invariance curves batch by batch; yields a :class:`Step` with the partial result after each batch."""
    settings = settings or Settings()
    x = source.input()
    layers = compared_layers(model, settings)
    classes = len(model.categories)
    if settings.target is not None and classes and settings.target >= classes:
        raise ValueError(f"target: {settings.target} is outside the model's {classes} classes (0…{classes - 1})")
    size = _size(tuple(x.shape), settings.kind)
    values = values_for(settings, size)
    shown = values[example_indices(len(values))]
    examples = _examples(model, x, settings, shown)
    head = about(NAME, model, source)
    job = invariance.curve_steps(model, x, kind=settings.kind, values=values, layers=layers, target=settings.target,
                                 crop=settings.crop)

    def result(curves: InvarianceResult, partial: bool) -> InvarianceAnalysis:
        return InvarianceAnalysis(settings=settings, head=head, partial=partial, curves=curves, name=source.name,
                                  value_range=value_range_for(settings, size), examples=examples,
                                  example_values=shown)

    try:
        while True:
            step = next(job)
            yield Step(step.done, step.total, result(step.partial, True), "transforming")
    except StopIteration as stop:
        return result(stop.value, False)
    finally:
        job.close()


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _wrapped(name: str, limit: int) -> str:
    """``name`` on one line of at most ``limit`` characters, else broken after a dot onto two (each shortened
    to ``limit``)."""
    if len(name) <= limit:
        return name
    cut = name.rfind(".", 0, limit) + 1
    if cut <= 0:
        return _short(name, limit)
    return name[:cut] + "\n" + _short(name[cut:], limit)


def value_text(kind: str, value: float) -> str:
    """A transform value with its unit: ``90°``, ``-5 px``, ``1.25×``."""
    unit = UNITS[kind]
    return f"{value:g}{unit}" if unit in ("°", "×") else f"{value:g} {unit}"


def _columns(panels: int, width_in: float) -> int:
    """Plots per row: 2 in a one-column figure, 3 at 170 mm, 4 wider."""
    most = 2 if width_in < figures.NARROW_IN else 3 if width_in < 8.5 else 4
    return max(1, min(panels, most))


def _curve_axes(ax: Axes, result: InvarianceAnalysis, aspect: float) -> None:
    kind = result.curves.kind
    ax.set_box_aspect(aspect)
    ax.set_xlabel(AXIS_TITLES[kind])
    ax.grid(True, linewidth=0.4, alpha=0.4)
    values = result.curves.values
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.03 or 0.5
    ax.set_xlim(low - pad, high + pad)
    if kind == "rotation" and high - low >= 180:
        ax.set_xticks(np.arange(math.ceil(low / 90) * 90, high + 1, 90))
    _ticks_in_view(ax)


def _ticks_in_view(ax: Axes) -> None:
    """Keep only the ticks inside the axes' limits (the locator also offers some beyond them)."""
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        ticks = axis.get_ticklocs()
        axis.set_ticks([t for t in ticks if min(low, high) - 1e-9 <= t <= max(low, high) + 1e-9])


def _probability_panel(ax: Axes, result: InvarianceAnalysis, aspect: float) -> None:
    curves = result.curves
    ax.plot(curves.values, curves.prob, color=LINE_COLOUR, marker="o", markersize=2.5)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("probability")
    ax.set_title(f"(b) p({_short(result.class_name(curves.target))})")
    _curve_axes(ax, result, aspect)


def _distance_panel(ax: Axes, result: InvarianceAnalysis, layer: str, letter: str, columns: int) -> None:
    curves = result.curves
    relative = result.settings.relative  # type: ignore[attr-defined]
    data = curves.relative_distance[layer] if relative else curves.distance[layer]
    ax.plot(curves.values, data, color=LINE_COLOUR, marker="o", markersize=2.5)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("‖f(T(x)) − f(x)‖ / ‖f(x)‖" if relative else "‖f(T(x)) − f(x)‖")
    chars = int(_figure_width(ax) / columns * 72 / (figures.FONT_PT * 0.6))
    ax.set_title(f"({letter}) {_wrapped(layer, chars - 4)}")
    _curve_axes(ax, result, PLOT_ASPECT)


def _figure_width(ax: Axes) -> float:
    """The width in inches of the figure ``ax`` is drawn in."""
    return float(ax.get_figure(root=True).get_figwidth())  # type: ignore[union-attr]


def _class_strip(ax: Axes, legend_ax: Axes, result: InvarianceAnalysis, letter: str, aspect: float) -> None:
    curves = result.curves
    done = curves.top_class >= 0
    colours = order_of_appearance(int(c) for c in curves.top_class[done])
    ax.scatter(curves.values[done], np.zeros(int(done.sum())), marker="s", s=14, linewidths=0.4,
               edgecolors=MARKER_EDGE, c=[colours[int(c)] for c in curves.top_class[done]])
    ax.set_yticks([])
    ax.set_ylim(-1, 1)
    ax.set_title(f"({letter}) Most probable class", loc="left")
    _curve_axes(ax, result, aspect)
    ax.grid(False)
    counts = {i: int((curves.top_class == i).sum()) for i in colours}
    shown = list(colours)[:10]
    handles = [Line2D([], [], linestyle="", marker="s", markersize=5, markeredgewidth=0.4,
                      markeredgecolor=MARKER_EDGE, color=colours[i],
                      label=f"{_short(result.class_name(i), 18)}{' (target)' if i == curves.target else ''}"
                            f" ({counts[i]})") for i in shown]
    legend_ax.axis("off")
    if handles:
        rest = len(colours) - len(shown)
        columns = max(1, min(len(handles), 5 if _figure_width(ax) >= figures.NARROW_IN else 2))
        legend_ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=columns,
                         title="class (values)" + (f", {rest} more" if rest else ""), borderaxespad=0.0,
                         handletextpad=0.3, columnspacing=1.0, title_fontsize=figures.MIN_FONT_PT)


def mosaic(examples: np.ndarray, gap: int) -> np.ndarray:
    """The images ``examples`` [k, H, W(, 3)] uint8 side by side, ``gap`` white pixels apart:
    [H, k·W + (k−1)·gap(, 3)] uint8."""
    count, height, width = examples.shape[:3]
    strip = np.full((height, count * width + (count - 1) * gap) + examples.shape[3:], 255, dtype=np.uint8)
    for index, image in enumerate(examples):
        left = index * (width + gap)
        strip[:, left:left + width] = image
    return strip


def _example_strip(ax: Axes, result: InvarianceAnalysis, count: int) -> None:
    """(a): ``count`` of the transformed inputs side by side in one image, each labelled with its value."""
    chosen = example_indices(len(result.example_values), count)
    width = result.examples.shape[2]
    gap = max(1, round(width * 0.08))
    figures.show_image(ax, mosaic(result.examples[chosen], gap), "(a) Transformed input")
    ax.set_xticks([i * (width + gap) + (width - 1) / 2 for i in range(len(chosen))],
                  [value_text(result.curves.kind, float(result.example_values[i])) for i in chosen])
    ax.tick_params(axis="x", length=0, pad=2, labelsize=figures.MIN_FONT_PT)
    for spine in ax.spines.values():
        spine.set_visible(False)


@dataclass(frozen=True)
class _Layout:
    """Where the figure's parts go for a figure ``width`` inches wide: ``columns`` × ``rows`` plots, ``thumbs``
    transformed inputs in the strip, the grid's ``ratios`` (thumbnails, plot rows, class strip, legend) and
    a first guess of the ``height`` in inches."""

    columns: int
    rows: int
    thumbs: int
    ratios: list[float]
    height: float


PLOT_ASPECT = 0.75
"""Height / width of each curve plot."""
STRIP_IN = 0.22
"""Height of the most-probable-class strip, in inches."""


def _layout(result: InvarianceAnalysis, width: float) -> _Layout:
    panels = 1 + len(result.curves.distance)
    columns = _columns(panels, width)
    rows = math.ceil(panels / columns)
    thumbs = len(example_indices(len(result.example_values), 5 if width < figures.NARROW_IN else EXAMPLES))
    image_h, image_w = result.examples.shape[1:3]
    thumb_h = width / (thumbs * 1.08) * image_h / image_w
    plot_h = (width / columns - 0.5) * PLOT_ASPECT
    classes = len(set(result.curves.top_class[result.curves.top_class >= 0].tolist()))
    legend_h = 0.15 * (1 + math.ceil(min(classes, 10) / (2 if width < figures.NARROW_IN else 5)))
    height = thumb_h + 0.2 + rows * (plot_h + 0.6) + STRIP_IN + 0.6 + legend_h
    return _Layout(columns, rows, thumbs, [thumb_h] + [plot_h] * rows + [STRIP_IN, 0.01], height)


def figure(result: InvarianceAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the input transformed at a few values, (b) the target probability and (c…) each
    compared layer's feature distance against the transform value, and the most probable class at each value
    with its legend; the caption below."""
    layers = list(result.curves.distance)
    width = figures.width_inches(width_mm, dpi, width_px)
    layout = _layout(result, width)
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=layout.height / width)
        grid = GridSpec(len(layout.ratios), layout.columns, figure=fig, height_ratios=layout.ratios)
        _example_strip(fig.add_subplot(grid[0, :]), result, layout.thumbs)
        span = layout.rows * layout.columns - len(layers)  # the probability plot fills the cells left over
        _probability_panel(fig.add_subplot(grid[1, :span]), result, PLOT_ASPECT / span)
        for index, layer in enumerate(layers):
            row, column = divmod(index + span, layout.columns)
            _distance_panel(fig.add_subplot(grid[1 + row, column]), result, layer, chr(ord("c") + index),
                            layout.columns)
        strip, legend = (fig.add_subplot(grid[layout.rows + row, :]) for row in (1, 2))
        _class_strip(strip, legend, result, chr(ord("c") + len(layers)), STRIP_IN / width)
        _fit_rows(fig, grid)
        return figures.finish(fig, result.caption() if caption else None)


def _fit_rows(fig: Figure, grid: GridSpec, passes: int = 3) -> None:
    """Give each row of ``grid`` the height its fixed-shape axes (images, plots with a box aspect) need to
    fill their cells' width, and the figure the height that makes, so that :func:`figures.finish` starts
    from rows without blank bands (its trimming moves every row at once)."""
    for _ in range(passes):
        fig.draw_without_rendering()
        width, height = fig.get_size_inches()
        ratios = [float(r) for r in np.ravel(grid.get_height_ratios() or np.ones(grid.nrows))]
        need: dict[int, float] = {}
        have: dict[int, float] = {}
        for ax in fig.axes:
            if not ax.axison or (ax.get_aspect() == "auto" and ax.get_box_aspect() is None):
                continue
            spec = ax.get_subplotspec()
            if spec is None:
                continue
            row = spec.rowspan.start
            cell, box = ax.get_position(original=True), ax.get_position()
            shape = box.height * height / max(box.width * width, 1e-9)  # height / width of the box
            need[row] = max(need.get(row, 0.0), cell.width * width * shape)
            have[row] = max(have.get(row, 0.0), cell.height * height)
        change = sum(need[row] - have[row] for row in need)
        for row, value in need.items():
            ratios[row] = value
        grid.set_height_ratios(ratios)
        fig.set_figheight(max(height + change, 1.0))
        if abs(change) < 0.02:
            return


ANALYSIS = Analysis(NAME, "invariance curves under rotation, shift and scale (Zeiler & Fergus Fig. 5)", Settings,
                    run, figure, defaults=defaults)
