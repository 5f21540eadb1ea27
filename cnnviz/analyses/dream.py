"""Deep dream as an analysis: gradient ascent on the input image (or on noise) to amplify what a layer
responds to, with octaves, jitter, blur, decay, tiles and a layer cycle; the maths is
:func:`cnnviz.core.per_image.dream.run`. The result holds the dreamed image, the start image and, per step, the
objective and the target-class probability (the curves the Deep dream pane plots as run 1).
"""

import dataclasses
import math
import textwrap
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

from cnnviz.analyses import figures, layer_rules
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.data import images
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import dream
from cnnviz.core.per_image.dream import OBJECTIVES, STARTS, DreamConfig, DreamStep
from cnnviz.core.settings import SettingsBase, setting
from cnnviz.core.tables import csv_text

NAME = "dream"
WORK_AT = ("model", "full")
"""Where a dream runs: on the model's input (``model``) or on the image at its own resolution (``full``)."""
VECTOR_TILE = 8192
"""Tile side given to a layer without a spatial grid (the pane's largest: such a layer is never tiled)."""
OBJECTIVE_AXES = {"l2": "‖a‖", "channel": "channel mean", "class": "logit", "guided": "guide dot product"}
"""The objective's y-axis label, by objective (the core reports ‖a‖, not ‖a‖², for ``l2``)."""
CHAR_EM = 0.64
"""Widest mean character of a caption line, in ems (digits and '=' are 0.63 em in DejaVu Sans)."""
ONLY_FOR = {"channel": ("channel",), "class": ("squared",), "guided": ("guide", "best_match")}
"""Settings that only matter for one objective (left out of the caption otherwise)."""
STARTING = ("octaves", "octave_scale", "start", "seed", "work_at")
"""Settings a run reads once, when it starts (a later change, from a settings source, applies to the next run)."""


def parse_cycle(items: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """The (layer, step size) pairs of ``cycle`` items written ``layer:step_size`` (the last colon splits);
    ValueError naming the ``cycle`` field and the form that works."""
    pairs = []
    for item in items:
        layer, colon, step = item.rpartition(":")
        try:
            size = float(step)
        except ValueError:
            size = math.nan
        if not colon or not layer.strip() or not math.isfinite(size) or not 1e-6 <= size <= 10:
            raise ValueError(f"cycle: {item!r} is not layer:step_size with a step size from 1e-06 to 10; "
                             "write e.g. features.relu2:0.02")
        pairs.append((layer.strip(), size))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Every setting of a dream run, named as the Deep dream pane names them; see each field's help."""

    layer: str = setting("", label="Layer", help="Layer whose response is amplified; empty: the middle one of "
                         "the layers with maps.")
    objective: str = setting("l2", label="Objective", choices=OBJECTIVES,
                             help="What the ascent maximises: the L2 norm of the layer's response (l2), one "
                                  "channel's mean (channel), one class's logit (class) or the dot product with "
                                  "the layer's response to a guide image (guided).")
    channel: int = setting(0, label="Channel", low=0, help="Channel whose mean activation the channel objective "
                           "maximises.")
    target: int | None = setting(None, label="Target class", low=0, none="the start image's top-1 class",
                                 help="Class whose logit the class objective maximises and whose probability is "
                                      "plotted.")
    squared: bool = setting(False, label="Squared logit", help="Maximise the squared logit (class objective).")
    guide: str = setting("", label="Guide image", help="Image file whose layer response the guided objective "
                         "pulls toward; empty: none.")
    best_match: bool = setting(False, label="Best match", help="Match each position with the guide feature "
                               "vector of highest dot product (guided objective).")
    prob_every: int = setting(4, label="Probability every", unit="steps", low=0, high=1000,
                              help="Compute the target probability every N steps (0: never).")
    step_size: float = setting(0.02, label="Step size", low=1e-6, high=10.0,
                               help="Ascent step; normalised: the mean change of a pixel per step, in normalised "
                                    "units.")
    normalize: bool = setting(True, label="Normalised step", help="Divide the step by the mean |gradient|, so one "
                              "step size works across layers.")
    iterations: int = setting(20, label="Iterations", low=1, high=100_000, help="Ascent steps per octave.")
    octaves: int = setting(3, label="Octaves", low=1, high=12, help="Image scales, processed smallest first; "
                           "the detail gained at one is carried up to the next.")
    octave_scale: float = setting(1.4, label="Octave scale", low=1.05, high=4.0,
                                  help="Size ratio between octaves.")
    jitter: int = setting(8, label="Jitter", unit="px", low=0, high=256,
                          help="Random roll of up to this many pixels per step, undone after.")
    blur_every: int = setting(0, label="Blur every", unit="steps", low=0, high=1000,
                              help="Blur the image every N steps (0: never).")
    blur_sigma: float = setting(0.5, label="Blur σ", unit="px", low=0.1, high=10.0, help="Gaussian blur σ.")
    decay: float = setting(1.0, label="Decay", low=0.5, high=1.0, help="Multiply the offset from the dataset "
                           "mean by this factor each step (1: off).")
    clamp: bool = setting(True, label="Clamp", help="Keep pixels inside the range the model's normalisation "
                          "allows.")
    start: str = setting("image", label="Start from", choices=STARTS,
                         help="The image, or uniform or Gaussian noise from the seed.")
    seed: int = setting(0, label="Seed", low=0, high=999_999, help="Seed of the noise start and of the jitter.")
    work_at: str = setting("model", label="Work at", choices=WORK_AT,
                           help="Dream on the model's input (model) or on the image at its own resolution "
                                "(full; convolutional layers, large images in tiles).")
    tile: int = setting(512, label="Tile", unit="px", low=32, high=8192,
                        help="Images larger than this run in overlapping tiles (work_at=full).")
    overlap: int = setting(64, label="Tile overlap", unit="px", low=0, high=8191,
                           help="Overlap of neighbouring tiles (blended, so no seams; less than the tile).")
    cycle: tuple[str, ...] = setting((), label="Layer cycle",
                                     help="Layers and step sizes used in turn, one per step, written "
                                          "layer:step_size (e.g. features.relu2:0.02,features.relu3:0.05); "
                                          "empty: the layer and step size above.")

    def check(self) -> None:
        """The tile overlap below the tile, well-formed cycle items, a guide for the guided objective."""
        if self.overlap >= self.tile:
            raise ValueError(f"overlap: {self.overlap} px is not less than tile ({self.tile} px); "
                             f"use 0…{self.tile - 1} px")
        parse_cycle(self.cycle)
        if self.objective == "guided" and not self.guide:
            raise ValueError("guide: the guided objective needs a guide image file; set guide=<path>")

    def caption_fields(self) -> dict[str, Any]:
        """The settings that shape this dream: those of other objectives, the layer and step size under a
        cycle (or the empty cycle), the blur σ without blur, the seed without noise or jitter and the
        tiles at the model's input size are left out."""
        skipped = {name for objective, names in ONLY_FOR.items() if objective != self.objective for name in names}
        skipped |= {"layer", "step_size"} if self.cycle else {"cycle"}
        skipped |= {"layer"} if self.objective == "class" else set()
        skipped |= {"blur_sigma"} if self.blur_every == 0 else set()
        skipped |= {"seed"} if self.start == "image" and self.jitter == 0 else set()
        skipped |= {"tile", "overlap"} if self.work_at == "model" else set()
        return {k: v for k, v in super().caption_fields().items() if k not in skipped}


@dataclass(frozen=True, kw_only=True)
class DreamAnalysis(Result):
    """A dream run: the dreamed ``image`` and the ``start`` image as shown ([H, W] or [H, W, 3] uint8; the
    dreamed one at the size of the octave reached), one ``records`` entry per step (the core's
    :class:`~cnnviz.core.per_image.dream.DreamStep` without image or config), the ``layer`` dreamed ("" for the class
    objective), the ``cycle`` pairs, the resolved ``target`` class (None where neither the class objective
    nor the probability needs one), the octave ``sizes`` ((H, W), smallest first), the ``total`` steps
    planned, the model's class names, the core's ``message`` when the ascent diverged and, in ``used``, the
    settings the steps read: (first step index, settings) each time they changed (one entry unless a settings
    source swapped in others while the run went)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    image: np.ndarray
    start: np.ndarray
    records: tuple[DreamStep, ...] = ()
    layer: str = ""
    cycle: tuple[tuple[str, float], ...] = ()
    target: int | None = None
    sizes: tuple[tuple[int, int], ...] = ()
    total: int = 0
    classes: tuple[str, ...] = ()
    message: str = ""
    used: tuple[tuple[int, Settings], ...] = ()

    @property
    def objective(self) -> np.ndarray:
        """[N, 2] float: (step index, objective) of every step with a finite objective."""
        rows = [(r.index, r.objective) for r in self.records if math.isfinite(r.objective)]
        return np.asarray(rows, dtype=float).reshape(-1, 2)

    @property
    def probability(self) -> np.ndarray:
        """[M, 2] float: (step index, target probability in [0, 1]) of the steps that computed it."""
        rows = [(r.index, r.target_prob) for r in self.records
                if r.target_prob is not None and math.isfinite(r.target_prob)]
        return np.asarray(rows, dtype=float).reshape(-1, 2)

    def octave_starts(self) -> list[int]:
        """The step index where each octave after the first starts."""
        return [b.index for a, b in zip(self.records, self.records[1:]) if b.octave != a.octave]

    def arrays(self) -> dict[str, np.ndarray]:
        """``run1-objective`` [N, 2] and ``run1-probability`` [M, 2] (step, value) as the pane exports them,
        the dreamed ``image`` and the ``start`` image (uint8)."""
        return {"run1-objective": self.objective, "run1-probability": self.probability, "image": self.image,
                "start": self.start}

    def tables(self) -> dict[str, str]:
        """``run1-steps``: one row per step (index, octave, iteration, layer, step size, objective, target
        probability (empty where not computed), mean |update|)."""
        header = ("step", "octave", "iteration", "layer", "step_size", "objective", "target_prob", "update_mean")
        rows = [(r.index, r.octave, r.iteration, r.layer, r.step_size, r.objective,
                 "" if r.target_prob is None else r.target_prob, r.update_mean) for r in self.records]
        return {"run1-steps": csv_text(header, rows)}

    def resolved(self) -> dict[str, Any]:
        """The layer (unless the class objective or a cycle), the target and its name, the octave sizes run,
        the steps made of those planned and the divergence message if any."""
        found: dict[str, Any] = {}
        if self.layer and not self.cycle:
            found["layer"] = self.layer
        if self.target is not None:
            found |= {"target": self.target, "target_name": self.class_name(self.target)}
        found["octaves"] = len(self.sizes)
        found["sizes"] = [f"{h}×{w}" for h, w in self.sizes]
        found["steps"] = f"{len(self.records)}/{self.total}"
        if self.message:
            found["stopped"] = self.message
        return found

    def class_name(self, index: int) -> str:
        """The name of class ``index``."""
        return self.classes[index] if 0 <= index < len(self.classes) else f"class {index}"


def defaults(model: LoadedModel) -> Settings:
    """The settings with the layer the model gets by default (the middle layer with maps)."""
    return Settings(layer=layer_rules.middle_map(model))


def _full_resolution(model: LoadedModel, image: Image.Image) -> torch.Tensor:
    """``image`` at its own size, normalised with the model's mean and std (no resize, no crop): [1, C, H, W]
    on the model's device (the pane's ``full_resolution_input``)."""
    pixels = np.asarray(images.to_channels(image, model.in_channels), dtype=np.float32) / 255.0
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    mean, std = model.stats("cpu")
    x = torch.from_numpy(pixels.transpose(2, 0, 1).copy()).unsqueeze(0)
    return ((x - mean) / std).to(model.device)


def _start_image(model: LoadedModel, x: torch.Tensor, settings: Settings) -> torch.Tensor:
    """The image the run starts from: ``x`` or the core's seeded noise of the same shape."""
    if settings.start == "image":
        return x.detach().float()
    return dream.noise_image(model, x.shape, settings.start, settings.seed)


def _top_class(model: LoadedModel, start: torch.Tensor) -> int:
    """The top-1 class of ``start`` seen at the model's input size (the class the core's None target means)."""
    if tuple(start.shape[-2:]) != tuple(model.input_size):
        start = F.interpolate(start, size=model.input_size, mode="bilinear", align_corners=False)
    return model.predict(start, k=1)[0][0]


def _config(model: LoadedModel, settings: Settings, layer: str, vector: bool,
            guides: dict[str, torch.Tensor] | None = None) -> DreamConfig:
    """The core's config of ``settings`` for ``layer``; one untiled octave for a layer without maps. ``guides``
    keeps each guide image preprocessed, by file, for the configs made after."""
    guide = None
    if settings.objective == "guided":
        guides = {} if guides is None else guides
        if settings.guide not in guides:
            guides[settings.guide] = model.preprocess(images.load_image(settings.guide))
        guide = guides[settings.guide]
    return DreamConfig(
        layer=layer, objective=settings.objective, step_size=settings.step_size, normalize=settings.normalize,
        iterations=settings.iterations, octaves=1 if vector else settings.octaves,
        octave_scale=settings.octave_scale, jitter=settings.jitter, blur_every=settings.blur_every,
        blur_sigma=settings.blur_sigma, clamp=settings.clamp, decay=settings.decay, channel=settings.channel,
        target=settings.target, square_class=settings.squared, guide=guide, best_match=settings.best_match,
        cycle=parse_cycle(settings.cycle), tile=VECTOR_TILE if vector else settings.tile,
        overlap=settings.overlap, start=settings.start, seed=settings.seed, prob_every=settings.prob_every)


SettingsSource = Settings | Callable[[], Settings]
"""A run's settings: one frozen :class:`Settings`, or a callable the run reads once per step for the whole
frozen settings of that step (a caller swaps in new ones while it runs, never mutating one)."""


class _Configs:
    """The core's config source for the settings ``read()`` gives: a config made again only when ``read``
    hands over another settings object; :meth:`settings_of` tells which settings made a config."""

    def __init__(self, model: LoadedModel, read: Callable[[], Settings]) -> None:
        self.model, self.read = model, read
        self.made: list[tuple[DreamConfig, Settings]] = []
        self.vector = False
        self.guides: dict[str, torch.Tensor] = {}

    def make(self, settings: Settings) -> DreamConfig:
        """The config of ``settings`` (``vector``: whether its layer has no maps); ValueError for a layer or
        cycle the model lacks."""
        layer = settings.layer or layer_rules.middle_map(self.model)
        self.vector = layer_rules.checked_layer(self.model, layer, NAME).is_vector
        for name, _step in parse_cycle(settings.cycle):
            layer_rules.checked_layer(self.model, name, NAME)
        self.made.append((_config(self.model, settings, layer, self.vector, self.guides), settings))
        return self.made[-1][0]

    def __call__(self) -> DreamConfig:
        settings = self.read()
        if not self.made or settings is not self.made[-1][1]:
            self.make(settings)
        return self.made[-1][0]

    def settings_of(self, config: DreamConfig | None) -> Settings:
        """The settings that made ``config`` (the latest for an unknown one)."""
        return next((s for c, s in reversed(self.made) if c is config), self.made[-1][1])


def run(model: LoadedModel, source: Source, settings: SettingsSource | None = None
        ) -> Generator[Step, None, DreamAnalysis]:
    """Dream step by step; yields a :class:`Step` with the partial result (image so far, curves) after each.
    A step made in tiles (``work_at="full"`` on an image larger than ``tile``) also yields, after each of its
    tiles, the latest step again (the very same :class:`Step` object; before the first step one of 0
    steps done whose result shows the start image), so that a caller can cancel between tiles; a consumer
    that draws or records a partial result only when it is not the one it has does nothing for these.
    ``settings``: one :class:`Settings`, or a callable read once per step (:data:`SettingsSource`; the first
    settings also fix those in :data:`STARTING`); the result's ``settings`` are the last step's, with the
    starting ones, and its ``used`` lists each step's. ValueError for a layer the model lacks, a cycle or
    size the layer cannot take, or a target outside the classes; ImageLoadError for a guide image that
    cannot be read."""
    fixed = settings or Settings()
    configs = _Configs(model, fixed if callable(fixed) else lambda: fixed)
    first = configs.read()
    config = first_config = configs.make(first)
    full = first.work_at == "full" and not configs.vector and source.image is not None
    x = _full_resolution(model, source.image) if full and source.image is not None else source.input()
    total = dream.total_steps(x, config=config)
    start = _start_image(model, x, first)
    top: list[int] = []

    def target(chosen: Settings) -> int | None:
        if chosen.target is not None or not (chosen.objective == "class" or chosen.prob_every > 0):
            return chosen.target
        top[:] = top or [_top_class(model, start)]
        return top[0]

    shown_start = np.asarray(model.deprocess(start))
    base = DreamAnalysis(settings=first, head=about(NAME, model, source), image=shown_start, start=shown_start,
                         layer="" if first.objective == "class" else config.layer, cycle=config.cycle,
                         target=target(first),
                         sizes=tuple(dream.octave_sizes(int(x.shape[-2]), int(x.shape[-1]), config.octaves,
                                                        config.octave_scale)),
                         total=total, classes=tuple(model.categories), used=((0, first),))
    records: list[DreamStep] = []
    used: list[tuple[int, Settings]] = []

    def result(image: np.ndarray, partial: bool) -> DreamAnalysis:
        if not used:
            return dataclasses.replace(base, partial=partial, image=image)
        last = dataclasses.replace(used[-1][1], **{name: getattr(first, name) for name in STARTING})
        return dataclasses.replace(
            base, settings=last, partial=partial, image=image, records=tuple(records), total=total,
            layer="" if last.objective == "class" else config.layer, cycle=config.cycle, target=target(last),
            used=tuple(used), message=next((r.message for r in records if r.message), ""))

    steps = dream.run_ticks(model, x, config=configs)
    latest = Step(0, total, result(shown_start, True), "")
    try:
        while True:
            step = next(steps)
            if step.partial is dream.Tick:
                yield latest  # after a tile: the same step again, a point where a cancel gets through
                continue
            record: DreamStep = step.partial
            config = record.config or config
            chosen = configs.settings_of(record.config)
            if not used or chosen is not used[-1][1]:
                used.append((record.index, chosen))
            records.append(dataclasses.replace(record, image=None, config=None))
            total = max(step.done, dream.total_steps(x, config=dataclasses.replace(  # octaves fixed at the start
                config, octaves=first_config.octaves, octave_scale=first_config.octave_scale)))
            shown = base.image if record.image is None else np.asarray(model.deprocess(record.image))
            latest = Step(record.index + 1, total, result(shown, True),
                          f"octave {record.octave + 1}/{len(base.sizes)}, iteration {record.iteration + 1}")
            yield latest
    except StopIteration as stop:
        return result(np.asarray(model.deprocess(stop.value)), False)
    finally:
        steps.close()


@dataclass(frozen=True)
class _WrappedCaption(Caption):
    """A caption whose lines are wrapped for ``width_in`` inches at :data:`CHAR_EM` per character, so that no
    line of it runs past the figure's edge (:func:`figures.caption_text` assumes narrower characters)."""

    width_in: float = 0.0

    @classmethod
    def of(cls, caption: Caption, width_in: float) -> "_WrappedCaption":
        return cls(**{f.name: getattr(caption, f.name) for f in dataclasses.fields(caption)}, width_in=width_in)

    def lines(self) -> list[str]:
        chars = max(30, int((self.width_in - 2 * figures.PAD_IN) * 72 / (figures.CAPTION_PT * CHAR_EM)))
        return [part for line in super().lines() for part in textwrap.wrap(line, chars) or [""]]


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _mark_octaves(ax: Axes, result: DreamAnalysis) -> None:
    for index in result.octave_starts():
        ax.axvline(index - 0.5, color="0.55", linewidth=0.8, linestyle=(0, (3, 2)), zorder=0)


def _objective_panel(ax: Axes, result: DreamAnalysis, aspect: float) -> None:
    values = result.objective
    ax.plot(values[:, 0], values[:, 1], color="#1f77b4")
    _mark_octaves(ax, result)
    where = ", ".join(f"{_short(n, 14)} {s:.3g}" for n, s in result.cycle) if result.cycle else result.layer
    title = "(d) Objective" + (f" · {_short(where, 40)}" if where else "")
    ax.set_title(title, fontsize=figures.FONT_PT, pad=3)
    ax.set_ylabel(OBJECTIVE_AXES.get(result.settings.objective, "objective"))
    _step_axis(ax, result, aspect)


def _probability_panel(ax: Axes, result: DreamAnalysis, aspect: float) -> None:
    values = result.probability
    ax.plot(values[:, 0], values[:, 1], color="#d62728", marker="o", markersize=2.5)
    _mark_octaves(ax, result)
    ax.set_ylim(-0.02, 1.02)
    name = _short(result.class_name(result.target)) if result.target is not None else "target"
    every = result.settings.prob_every
    if not len(values):
        how = "not computed"
    else:  # the class objective's pass gives it every step
        how = "every step" if every <= 1 else f"every {every} steps"
    ax.set_title(f"(e) P({name}), {how}", fontsize=figures.FONT_PT, pad=3)
    ax.set_ylabel("probability")
    _step_axis(ax, result, aspect)


def _step_axis(ax: Axes, result: DreamAnalysis, aspect: float) -> None:
    ax.set_xlim(-0.5, max(result.total, 1) - 0.5)
    ax.set_xlabel("step")
    ax.grid(alpha=0.25, linewidth=0.5)
    ax.set_box_aspect(aspect)
    _ticks_in_view(ax)


def _ticks_in_view(ax: Axes) -> None:
    """Fixed ticks (integers on the step axis) inside the view only: no tick label lies beyond the plot."""
    for axis, (low, high), integer in ((ax.xaxis, ax.get_xlim(), True), (ax.yaxis, ax.get_ylim(), False)):
        values = MaxNLocator(nbins=5, integer=integer).tick_values(low, high)
        axis.set_ticks([v for v in values if low - 1e-9 <= v <= high + 1e-9])


def _change(result: DreamAnalysis) -> np.ndarray:
    """[H, W] float: the mean absolute change of each pixel from the start image to the dream, in 8-bit
    levels (0…255); NaN where the dream is not at the start image's size (a run stopped before its last
    octave)."""
    if result.image.shape != result.start.shape:
        return np.full(result.start.shape[:2], np.nan)
    change = np.abs(result.image.astype(float) - result.start.astype(float))
    return change.mean(axis=2) if change.ndim == 3 else change


def _legend(ax: Axes, result: DreamAnalysis, aspect: float) -> None:
    """A legend below ``ax`` (a plot of box ``aspect``), under its step label, for the octave marks (none with
    one octave)."""
    if result.octave_starts():
        handle = Line2D([], [], color="0.55", linewidth=0.8, linestyle=(0, (3, 2)), label="next octave starts")
        ax.legend(handles=[handle], loc="upper center", bbox_to_anchor=(0.5, -0.2 / aspect), borderaxespad=0.0)


def _dream_title(result: DreamAnalysis) -> str:
    height, width = result.image.shape[:2]
    steps = f"{len(result.records)} step" + ("" if len(result.records) == 1 else "s")
    return f"(c) Dream · {steps} · {width}×{height} px" + (" · diverged" if result.message else "")


def figure(result: DreamAnalysis, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the start image and (b) how much each pixel changed (small), (c) the dreamed image
    (large), (d) the objective and (e) the target-class probability per step, octave starts dashed; the caption
    below."""
    with figures.report_style():
        narrow = figures.width_inches(width_mm, dpi, width_px) < figures.NARROW_IN
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=1.75 if narrow else 0.57)  # near the trimmed
        if narrow:  # the images above the plots, one plot a row
            grid = fig.add_gridspec(4, 2, width_ratios=(0.5, 1.15), height_ratios=(1.0, 1.0, 1.3, 1.3))
            dream_ax = fig.add_subplot(grid[:2, 1])
            objective_ax, probability_ax = fig.add_subplot(grid[2, :]), fig.add_subplot(grid[3, :])
        else:
            grid = fig.add_gridspec(2, 3, width_ratios=(0.5, 1.15, 1.0))
            dream_ax = fig.add_subplot(grid[:, 1])
            objective_ax, probability_ax = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])
        start_ax, change_ax = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
        start = "(a) Start" + ("" if result.settings.start == "image" else f": {result.settings.start} noise")
        figures.show_image(start_ax, result.start, start)
        figures.show_map(fig, change_ax, _change(result), cmap="inferno", vmin=0, title="(b) Change",
                         label="|Δ| levels")
        figures.show_image(dream_ax, result.image, _dream_title(result))
        aspect = 0.42 if narrow else 0.6  # plots one a row are full width: flatter
        _objective_panel(objective_ax, result, aspect)
        _probability_panel(probability_ax, result, aspect)
        _legend(probability_ax, result, aspect)
        return figures.finish(fig, _WrappedCaption.of(result.caption(), fig.get_figwidth()) if caption else None)


ANALYSIS = Analysis(NAME, "deep dream: gradient ascent on the image to amplify a layer's response", Settings, run,
                    figure, defaults=defaults)
