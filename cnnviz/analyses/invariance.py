"""Invariance curves (Zeiler & Fergus 2014, Fig. 5) as an analysis: the input is rotated, shifted or scaled
over a range of values and, for every value, the curves give the target-class probability, the distance
‖f(T(x)) − f(x)‖ of each compared layer's features to those of the untransformed input (or that distance
relative to ‖f(x)‖) and the most probable class. The maths is :func:`cnnviz.core.per_image.invariance.curve_steps`.

The analysis runs on one image; :func:`combined` joins the results of several images under the same transform
(the Invariance pane's "Add current image") into one result whose figure draws each image's curves in its own
colour (:data:`IMAGE_COLOURS`, as on screen). Its arrays are named ``image<k>-<name>`` for the k-th image,
as the Invariance pane exports them.
"""

import math
from collections.abc import Generator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D

from cnnviz.analyses import figures
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.class_palette import order_of_appearance
from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.invariance import KINDS, UNITS, InvarianceResult
from cnnviz.core.per_image.layer_choices import layer_choices
from cnnviz.core.settings import SettingsBase, setting

NAME = "invariance"
IMAGE = "image1"
"""Prefix of the first image's arrays' names (the k-th image's is ``image<k>``)."""
EXAMPLES = 9
"""Most transformed inputs kept for the figure's strip, at evenly spread values."""
IMAGE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
"""Line colour of each image's curves, in the order the images were added (repeating); the screen's too."""
LINE_COLOUR = IMAGE_COLOURS[0]
"""Colour of the first image's curves."""
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


@dataclass(frozen=True)
class ImageCurves:
    """One image's curves: its ``name`` (unique among the images of a result) and ``curves``."""

    name: str
    curves: InvarianceResult


def image_arrays(images: Sequence[ImageCurves]) -> dict[str, np.ndarray]:
    """Each image's curves (:meth:`InvarianceResult.arrays`, each [n]) as ``image<k>-<name>``, k from 1 in the
    order of ``images``."""
    return {f"image{k}-{name}": array for k, image in enumerate(images, 1)
            for name, array in image.curves.arrays().items()}


@dataclass(frozen=True, kw_only=True)
class InvarianceAnalysis(Result):
    """The ``curves`` (:class:`~cnnviz.core.per_image.invariance.InvarianceResult`) of the image ``name``, the resolved
    ``value_range`` (start, stop, step in the kind's unit), and ``examples`` [k, H, W] or [k, H, W, 3] uint8:
    the input transformed by ``example_values`` [k] (k ≤ :data:`EXAMPLES`; k = 0 where the input is not known,
    e.g. curves restored from a session), as shown. ``more``: further images' curves under the same transform
    (:func:`combined`); ``settings``, ``head``, ``value_range`` and ``examples`` are the first image's."""

    analysis: ClassVar[str] = NAME
    curves: InvarianceResult
    name: str
    value_range: tuple[float, float, float]
    examples: np.ndarray
    example_values: np.ndarray
    more: tuple[ImageCurves, ...] = ()

    def images(self) -> list[ImageCurves]:
        """Every image's curves: the first (``name``, ``curves``), then ``more``."""
        return [ImageCurves(self.name, self.curves), *self.more]

    def arrays(self) -> dict[str, np.ndarray]:
        """Each image's curves, each [n], as ``image<k>-<name>`` (:func:`image_arrays`): ``values``,
        ``probability``, ``top_class`` and per compared layer ``distance-<layer>`` and ``relative_distance-<layer>``."""
        return image_arrays(self.images())

    def tables(self) -> dict[str, str]:
        """``curves``: one row per computed value of every image (image, value, probability, top class,
        distances)."""
        return {"curves": invariance.curves_csv([(image.name, image.curves) for image in self.images()])}

    def resolved(self) -> dict[str, Any]:
        """The range used, the number of values, the target and its name (with several images: the target of
        each and ``image<k>``: each image's name with its target class), and the compared layers."""
        start, stop, step = self.value_range
        fields: dict[str, Any] = {"start": start, "stop": stop, "step": step, "values": len(self.curves.values)}
        if not self.more:
            fields |= {"target": self.curves.target, "target_name": self.class_name(self.curves.target)}
        else:
            fields["target"] = [image.curves.target for image in self.images()]
            fields |= {f"image{k}": f"{image.name}, target {self.class_name(image.curves.target)} "
                                    f"({image.curves.target})" for k, image in enumerate(self.images(), 1)}
        return fields | {"layers": compared(self)}

    def class_name(self, index: int) -> str:
        """The name of class ``index``."""
        classes = self.curves.classes
        return classes[index] if 0 <= index < len(classes) else f"class {index}"


def combined(results: Sequence[InvarianceAnalysis]) -> InvarianceAnalysis:
    """The first of ``results`` with every further image's curves in ``more`` (in order), partial if any is;
    a ValueError when there are none or their transforms differ."""
    if not results:
        raise ValueError("invariance: no results to combine")
    kinds = [result.curves.kind for result in results]
    if len(set(kinds)) > 1:
        raise ValueError(f"invariance: cannot combine curves of different transforms ({', '.join(kinds)})")
    images = [image for result in results for image in result.images()]
    return replace(results[0], more=tuple(images[1:]), partial=any(result.partial for result in results))


def from_curves(curves: InvarianceResult, name: str, head: Caption, base: Settings | None = None
                ) -> InvarianceAnalysis:
    """The result of ``curves`` of the image ``name`` whose input is not known (curves restored from a
    session): ``base`` settings (default :class:`Settings`) with the kind, range, centre crop, compared layers
    and target of the curves (the range, or the target too, left as in ``base`` where the curves' would not pass
    the settings' checks), caption head ``head`` (:func:`~cnnviz.analyses.base.about`), no transformed inputs,
    partial while ``curves`` are incomplete."""
    settings = (base or Settings()).replace(kind=curves.kind, start=None, stop=None, step=None, crop=curves.crop,
                                            layers=tuple(curves.distance))
    values = curves.values
    start, stop = float(values[0]), float(values[-1])
    step = float(values[1] - values[0]) if len(values) > 1 else 0.0
    try:
        settings = settings.replace(start=start, stop=stop, step=step or None, target=curves.target)
    except ValueError:
        with suppress(ValueError):
            settings = settings.replace(target=curves.target)
    return InvarianceAnalysis(settings=settings, head=head, partial=not curves.complete, curves=curves, name=name,
                              value_range=(start, stop, step), examples=np.zeros((0, 1, 1), dtype=np.uint8),
                              example_values=np.zeros(0))


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


def image_colour(index: int) -> str:
    """The line colour of the image at ``index`` (from 0) of a result: :data:`IMAGE_COLOURS`, repeating."""
    return IMAGE_COLOURS[index % len(IMAGE_COLOURS)]


def compared(result: InvarianceAnalysis) -> list[str]:
    """The layers whose distances any image of ``result`` has, in order of first appearance."""
    return list(dict.fromkeys(layer for image in result.images() for layer in image.curves.distance))


def _columns(panels: int, width_in: float) -> int:
    """Plots per row: 2 in a one-column figure, 3 at 170 mm, 4 wider."""
    most = 2 if width_in < figures.NARROW_IN else 3 if width_in < 8.5 else 4
    return max(1, min(panels, most))


def _curve_axes(ax: Axes, result: InvarianceAnalysis, aspect: float) -> None:
    kind = result.curves.kind
    ax.set_box_aspect(aspect)
    ax.set_xlabel(AXIS_TITLES[kind])
    ax.grid(True, linewidth=0.4, alpha=0.4)
    values = np.concatenate([image.curves.values for image in result.images()])
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


def _marker_size(result: InvarianceAnalysis) -> float:
    """Points of the curves' markers: smaller where several images' curves share a plot."""
    return 2.5 if not result.more else 1.8


def _probability_panel(ax: Axes, result: InvarianceAnalysis, letter: str, aspect: float) -> None:
    for index, image in enumerate(result.images()):
        ax.plot(image.curves.values, image.curves.prob, color=image_colour(index), marker="o",
                markersize=_marker_size(result))
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("probability")
    targets = {image.curves.target for image in result.images()}
    target = _short(result.class_name(targets.pop())) if len(targets) == 1 else "target"
    ax.set_title(f"({letter}) p({target})")
    _curve_axes(ax, result, aspect)


def _distance_panel(ax: Axes, result: InvarianceAnalysis, layer: str, letter: str, columns: int) -> None:
    relative = result.settings.relative  # type: ignore[attr-defined]
    for index, image in enumerate(result.images()):
        curves = image.curves
        if layer in curves.distance:
            data = curves.relative_distance[layer] if relative else curves.distance[layer]
            ax.plot(curves.values, data, color=image_colour(index), marker="o", markersize=_marker_size(result))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("‖f(T(x)) − f(x)‖ / ‖f(x)‖" if relative else "‖f(T(x)) − f(x)‖")
    chars = int(_figure_width(ax) / columns * 72 / (figures.FONT_PT * 0.6))
    ax.set_title(f"({letter}) {_wrapped(layer, chars - 4)}")
    _curve_axes(ax, result, PLOT_ASPECT)


def _figure_width(ax: Axes) -> float:
    """The width in inches of the figure ``ax`` is drawn in."""
    return float(ax.get_figure(root=True).get_figwidth())  # type: ignore[union-attr]


IMAGE_LABEL_CHARS = (22, 18)
"""Most characters of an image's name and of its target class's name in the legend of images."""
LEGEND_CHAR_IN = figures.MIN_FONT_PT * 0.55 / 72
"""Rough width in inches of one legend character."""


def _image_label(result: InvarianceAnalysis, image: ImageCurves) -> str:
    """An image's legend entry: its name and target class (shortened), "partial" while incomplete."""
    name_chars, class_chars = IMAGE_LABEL_CHARS
    partial = "" if image.curves.complete else " (partial)"
    return f"{_short(image.name, name_chars)}: {_short(result.class_name(image.curves.target), class_chars)}{partial}"


def _legend_columns(labels: list[str], width: float) -> int:
    """How many legend entries of ``labels`` fit side by side in ``width`` inches."""
    entry = max(len(label) for label in labels) * LEGEND_CHAR_IN + 0.45
    return max(1, min(len(labels), int(width * 0.95 / entry)))


def _image_legend(ax: Axes, result: InvarianceAnalysis) -> None:
    """The legend of images (each image's line colour, name and target class) in ``ax``, a row of its own."""
    ax.axis("off")
    labels = [_image_label(result, image) for image in result.images()]
    handles = [Line2D([], [], color=image_colour(index), marker="o", markersize=3, label=label)
               for index, label in enumerate(labels)]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.0),
              ncol=_legend_columns(labels, _figure_width(ax)), title="image: target class", borderaxespad=0.0,
              handlelength=1.8, handletextpad=0.4, columnspacing=1.2, title_fontsize=figures.MIN_FONT_PT)


ROW_NAME_CHARS = 12
"""Most characters of an image's name beside its row of the class strip (wider names indent every plot)."""


def row_name(name: str) -> str:
    """An image's name beside its row of the class strip: without a file extension, at most
    :data:`ROW_NAME_CHARS` characters."""
    stem, dot, extension = name.rpartition(".")
    plain = stem if dot and stem and extension.isalpha() and len(extension) <= 4 else name
    return _short(plain, ROW_NAME_CHARS)


def _class_rows(ax: Axes, result: InvarianceAnalysis, colours: dict[int, str]) -> None:
    """One row of class-coloured markers per image (top to bottom in order), named by the images where
    there are several."""
    images = result.images()
    for row, image in enumerate(images):
        curves = image.curves
        done = curves.top_class >= 0
        ax.scatter(curves.values[done], np.full(int(done.sum()), row), marker="s", s=14, linewidths=0.4,
                   edgecolors=MARKER_EDGE, c=[colours[int(c)] for c in curves.top_class[done]])
    if len(images) == 1:
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        return
    ax.set_ylim(len(images) - 0.5, -0.5)
    ax.set_yticks(range(len(images)), [row_name(image.name) for image in images])
    ax.tick_params(axis="y", length=0, pad=3)
    for index, label in enumerate(ax.get_yticklabels()):
        label.set_color(image_colour(index))


def _class_strip(ax: Axes, legend_ax: Axes, result: InvarianceAnalysis, letter: str, aspect: float) -> None:
    images = result.images()
    colours = order_of_appearance(int(c) for image in images for c in image.curves.top_class)
    _class_rows(ax, result, colours)
    ax.set_title(f"({letter}) Most probable class", loc="left")
    _curve_axes(ax, result, aspect)
    ax.grid(False)
    counts = {i: sum(int((image.curves.top_class == i).sum()) for image in images) for i in colours}
    targets = {image.curves.target for image in images}
    shown = list(colours)[:10]
    handles = [Line2D([], [], linestyle="", marker="s", markersize=5, markeredgewidth=0.4,
                      markeredgecolor=MARKER_EDGE, color=colours[i],
                      label=f"{_short(result.class_name(i), 18)}{' (target)' if i in targets else ''}"
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
    """(a): ``count`` of the transformed inputs side by side in one image, each labelled with its value; the
    title names the image where there are several."""
    chosen = example_indices(len(result.example_values), count)
    width = result.examples.shape[2]
    gap = max(1, round(width * 0.08))
    title = "(a) Transformed input" + (f" of {_short(result.name, 40)}" if result.more else "")
    figures.show_image(ax, mosaic(result.examples[chosen], gap), title)
    ax.set_xticks([i * (width + gap) + (width - 1) / 2 for i in range(len(chosen))],
                  [value_text(result.curves.kind, float(result.example_values[i])) for i in chosen])
    ax.tick_params(axis="x", length=0, pad=2, labelsize=figures.MIN_FONT_PT)
    for spine in ax.spines.values():
        spine.set_visible(False)


@dataclass(frozen=True)
class _Layout:
    """Where the figure's parts go for a figure ``width`` inches wide: ``columns`` × ``rows`` plots, ``thumbs``
    transformed inputs in the strip (0: no strip), the grid's ``ratios`` (thumbnails where there are any, plot
    rows, the legend of images where there are several, class strip, class legend), the class strip's height
    ``strip`` and a first guess of the ``height``, both in inches."""

    columns: int
    rows: int
    thumbs: int
    ratios: list[float]
    strip: float
    height: float


PLOT_ASPECT = 0.75
"""Height / width of each curve plot."""
STRIP_IN = 0.22
"""Height of the most-probable-class strip of one image, in inches."""
STRIP_ROW_IN = 0.17
"""Height the most-probable-class strip adds for each further image, in inches."""
LEGEND_ROW = 0.01
"""Height ratio of a grid row holding only a legend (which hangs below it; constrained layout makes room)."""


def _legend_height(entries: int, columns: int) -> float:
    """Rough height in inches of a titled legend of ``entries`` in ``columns``."""
    return 0.15 * (1 + math.ceil(entries / columns))


def _layout(result: InvarianceAnalysis, width: float) -> _Layout:
    panels = 1 + len(compared(result))
    columns = _columns(panels, width)
    rows = math.ceil(panels / columns)
    ratios: list[float] = []
    thumbs, height = 0, 0.0
    if len(result.examples) and len(result.example_values):
        thumbs = len(example_indices(len(result.example_values), 5 if width < figures.NARROW_IN else EXAMPLES))
        image_h, image_w = result.examples.shape[1:3]
        ratios.append(width / (thumbs * 1.08) * image_h / image_w)
        height += ratios[-1] + 0.2
    plot_h = (width / columns - 0.5) * PLOT_ASPECT
    ratios += [plot_h] * rows
    height += rows * (plot_h + 0.6)
    images = result.images()
    if result.more:
        labels = [_image_label(result, image) for image in images]
        ratios.append(LEGEND_ROW)
        height += _legend_height(len(images), _legend_columns(labels, width))
    strip = STRIP_IN + STRIP_ROW_IN * (len(images) - 1)
    ratios += [strip, LEGEND_ROW]
    classes = len({int(c) for image in images for c in image.curves.top_class if c >= 0})
    height += strip + 0.6 + _legend_height(min(classes, 10), 2 if width < figures.NARROW_IN else 5)
    return _Layout(columns, rows, thumbs, ratios, strip, height)


def figure(result: InvarianceAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the (first) input transformed at a few values (left out without ``examples``),
    then the target probability and each compared layer's feature distance against the transform value, one
    line per image in its colour (:data:`IMAGE_COLOURS`) with a legend of the images where there are several,
    and the most probable class at each value (a row per image) with its legend; the caption below."""
    layers = compared(result)
    width = figures.width_inches(width_mm, dpi, width_px)
    layout = _layout(result, width)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=layout.height / width)
        grid = GridSpec(len(layout.ratios), layout.columns, figure=fig, height_ratios=layout.ratios)
        top = 0
        if layout.thumbs:
            _example_strip(fig.add_subplot(grid[0, :]), result, layout.thumbs)
            top, _ = 1, next(letters)
        span = layout.rows * layout.columns - len(layers)  # the probability plot fills the cells left over
        _probability_panel(fig.add_subplot(grid[top, :span]), result, next(letters), PLOT_ASPECT / span)
        for index, layer in enumerate(layers):
            row, column = divmod(index + span, layout.columns)
            _distance_panel(fig.add_subplot(grid[top + row, column]), result, layer, next(letters), layout.columns)
        below = top + layout.rows
        if result.more:
            _image_legend(fig.add_subplot(grid[below, :]), result)
            below += 1
        strip, legend = fig.add_subplot(grid[below, :]), fig.add_subplot(grid[below + 1, :])
        _class_strip(strip, legend, result, next(letters), layout.strip / width)
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
