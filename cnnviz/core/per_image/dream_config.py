"""The settings of a deep-dream run and the checks that they can run on a model.

:class:`DreamConfig` is frozen: a caller that changes a setting while a run goes builds a new one
(``dataclasses.replace``) and hands it over whole; :func:`cnnviz.core.per_image.dream.run` reads one snapshot
per step. Its values are checked when it is made (:func:`config_problems`); whether a model can take
it — layers that exist, octave sizes the layer accepts, no octaves or tiles for a layer without a
spatial grid — is checked by :func:`check_config` with trial passes.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.models import LoadedModel

OBJECTIVES = ("l2", "channel", "class", "guided")
STARTS = ("image", "uniform", "gaussian")

MIN_TILE = 32
"""Smallest tile side in pixels (smaller tiles make very many passes per step)."""


@dataclass(frozen=True)
class DreamConfig:
    """Settings of a dream run (frozen: make a changed copy with :func:`dataclasses.replace`). A run
    given a callable reads it every step, so all may change between steps (octave count, scale and
    start apply when a run starts).

    ``step_size``: ascent step (with ``normalize``, the mean absolute change of a pixel per step, in
    normalised units). ``iterations`` per octave; ``octaves`` image scales, each ``octave_scale``
    times smaller. ``jitter``: random roll of up to this many pixels per step (undone after).
    ``blur_every``/``blur_sigma``: Gaussian blur (σ in pixels) every N steps (0: never). ``clamp``:
    keep pixels in their valid range. ``decay``: multiply the offset from the dataset mean by this
    factor each step. ``channel`` for ``channel``; ``target`` for ``class`` (and the probability
    curve; None: top-1 of the input); ``square_class``; ``guide`` [1, C, h, w] preprocessed guide
    image for ``guided``, ``best_match`` for its best-match variant. ``cycle``: (layer, step size)
    pairs used in turn, one per step, instead of ``layer``/``step_size`` (any sequence of pairs is
    stored as a tuple of tuples). ``tile``/``overlap`` in pixels. ``start``: ``image``, or
    ``uniform``/``gaussian`` noise from ``seed``. ``prob_every``: compute the target probability
    every N steps (0: never; see the module docstring for its cost).

    Values are checked on creation (a ValueError names the field and what works: ``tile`` ≥
    :data:`MIN_TILE`, 0 ≤ ``overlap`` < ``tile``, ``octave_scale`` > 1, ``target`` ≥ 0, …);
    :meth:`validate` adds the checks that need the model and image.
    """

    layer: str = ""
    objective: str = "l2"
    step_size: float = 0.02
    normalize: bool = True
    iterations: int = 20
    octaves: int = 3
    octave_scale: float = 1.4
    jitter: int = 8
    blur_every: int = 0
    blur_sigma: float = 0.5
    clamp: bool = True
    decay: float = 1.0
    channel: int | None = None
    target: int | None = None
    square_class: bool = False
    guide: torch.Tensor | None = None
    best_match: bool = False
    cycle: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    tile: int = 512
    overlap: int = 64
    start: str = "image"
    seed: int = 0
    prob_every: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "cycle", tuple((str(layer), float(step)) for layer, step in self.cycle))
        for problem in config_problems(self):
            raise ValueError(f"deep dream: {problem}")

    def validate(self, model: LoadedModel, x: torch.Tensor) -> None:
        """Raise ValueError unless this config can run on ``model`` with image ``x`` [1, C, H, W]: see
        :func:`check_config`."""
        check_config(model, x, self)

    def layer_and_step(self, index: int) -> tuple[str, float]:
        """The (layer, step size) of step ``index``: from the cycle when there is one."""
        return self.cycle[index % len(self.cycle)] if self.cycle else (self.layer, self.step_size)


def config_problems(cfg: DreamConfig) -> list[str]:
    """What is wrong with the values of ``cfg`` taken alone (no model needed), each saying what works."""
    checks = [
        (cfg.objective in OBJECTIVES, f"objective must be one of {', '.join(OBJECTIVES)}, not {cfg.objective!r}"),
        (cfg.start in STARTS, f"start must be one of {', '.join(STARTS)}, not {cfg.start!r}"),
        (cfg.iterations >= 1, f"iterations must be at least 1, not {cfg.iterations}"),
        (cfg.octaves >= 1, f"octaves must be at least 1, not {cfg.octaves}"),
        (math.isfinite(cfg.octave_scale) and cfg.octave_scale > 1,
         f"octave_scale must be a finite number above 1, not {cfg.octave_scale}"),
        (cfg.tile >= MIN_TILE, f"tile must be at least {MIN_TILE} px, not {cfg.tile}"),
        (0 <= cfg.overlap < cfg.tile, f"overlap must be from 0 to tile - 1 ({cfg.tile - 1}) px, not {cfg.overlap}"),
        (cfg.jitter >= 0, f"jitter must be 0 or more pixels, not {cfg.jitter}"),
        (cfg.blur_every >= 0 and cfg.prob_every >= 0, "blur_every and prob_every must be 0 (never) or more steps"),
        (math.isfinite(cfg.blur_sigma) and cfg.blur_sigma >= 0, f"blur_sigma must be 0 or more, not {cfg.blur_sigma}"),
        (all(math.isfinite(v) for v in (cfg.step_size, cfg.decay, *(s for _, s in cfg.cycle))),
         "step sizes and decay must be finite numbers"),
        (cfg.target is None or cfg.target >= 0, f"target must be a class index from 0, not {cfg.target}"),
        (cfg.channel is None or cfg.channel >= 0, f"channel must be an index from 0, not {cfg.channel}"),
    ]
    return [message for ok, message in checks if not ok]


ConfigSource = DreamConfig | Callable[[], DreamConfig]
"""What :func:`run` takes: a config, or a zero-argument callable giving the current one."""


@dataclass(frozen=True)
class DreamStep:
    """The record of one completed ascent step: the ``partial`` of each step
    :func:`cnnviz.core.per_image.dream.run` yields.

    ``index`` counts steps over the whole run (from 0); ``octave`` (0 = smallest) and ``iteration``
    within it; ``image`` [1, C, h, w] the image after the step at this octave's size (CPU copy,
    finite; None in records that keep only the numbers, e.g. ``dataclasses.replace(step, image=None)``);
    ``objective`` its value before the step (‖a‖ for ``l2``); ``target_prob`` the target class
    probability of the image the step started from, as the network saw it in the step (rolled by the
    step's jitter; resized to the model's input size if needed) — None on steps where it is not
    computed; ``layer`` and ``step_size`` used; ``update_mean`` the mean |change| before clamping;
    ``message`` set on the last step of a run stopped by a non-finite value; ``config`` the whole
    snapshot the step used (the same object for every step until the caller swaps in a new one, so
    ``a.config is not b.config`` tells where the settings changed; None in records made by hand).
    """

    index: int
    octave: int
    iteration: int
    image: torch.Tensor | None
    objective: float
    target_prob: float | None
    layer: str
    step_size: float
    update_mean: float
    message: str | None = None
    config: DreamConfig | None = field(default=None, compare=False, repr=False)


def total_steps(x: torch.Tensor, *, config: DreamConfig) -> int:
    """Steps a run of ``config`` on ``x`` [1, C, H, W] makes: iterations × octaves that fit the size."""
    return config.iterations * len(octave_sizes(x.shape[-2], x.shape[-1], config.octaves, config.octave_scale))


def check_config(model: LoadedModel, x: torch.Tensor, cfg: DreamConfig) -> None:
    """Raise ValueError unless ``cfg`` can run on ``model`` from image ``x`` [1, C, H, W]: every layer
    (a KeyError names a missing one) taking each octave's size
    (octaves are limited by the smallest size the layer accepts, found by trial passes), and a
    layer without a spatial grid (a vector, e.g. a fully connected layer) only with one octave, the
    image at the model's input size and no tiles (refused otherwise, never silently changed). A
    ``target`` beyond the model's classes is refused by the run when first used (from its own pass)."""
    if cfg.objective == "class":
        return
    sizes = octave_sizes(x.shape[-2], x.shape[-1], cfg.octaves, cfg.octave_scale)
    for layer in dict.fromkeys(name for name, _ in ([(cfg.layer, 0)] if not cfg.cycle else cfg.cycle)):
        _check_layer(model, x, cfg, layer, sizes)


def _probe(model: LoadedModel, channels: int, size: tuple[int, int], layer: str) -> torch.Tensor | None:
    """``layer``'s response to a zero image of ``size`` (H, W), or None when the model cannot take it."""
    try:
        with torch.no_grad():
            return forward_to(model, torch.zeros(1, channels, *size, device=model.device), layers=layer)[layer]
    except RuntimeError:
        return None


def _check_layer(model: LoadedModel, x: torch.Tensor, cfg: DreamConfig, layer: str,
                 sizes: list[tuple[int, int]]) -> None:
    """Trial passes of ``layer`` at each octave size, largest first (see :func:`check_config`); a
    passed check is remembered in ``model.cache``."""
    key = ("dream check", layer, tuple(sizes), cfg.tile, int(x.shape[1]))
    if key in model.cache:
        return
    fits = 0
    channels, input_size = int(x.shape[1]), (int(model.input_size[0]), int(model.input_size[1]))
    for size in reversed(sizes):
        output = _probe(model, channels, size, layer)
        if output is None:
            break
        if output.dim() != 4 and (len(sizes) > 1 or max(size) > cfg.tile or size != input_size):
            _refuse_vector(model, layer, output)
        fits += 1
    if fits < len(sizes):
        height, width = sizes[len(sizes) - 1 - fits]
        at_input = _probe(model, channels, input_size, layer) if fits == 0 else None
        if at_input is not None and at_input.dim() != 4:
            _refuse_vector(model, layer, at_input)
        what = f"use at most {fits} octaves" if fits else "use an image of the model's input size"
        raise ValueError(f"deep dream: {layer} cannot take the image at {height}×{width} px "
                         f"(octaves={cfg.octaves}, octave_scale={cfg.octave_scale:g}); {what}")
    model.cache[key] = True


def _refuse_vector(model: LoadedModel, layer: str, output: torch.Tensor) -> None:
    size = "×".join(map(str, model.input_size))
    raise ValueError(f"deep dream: {layer} has no spatial grid (its output is {tuple(output.shape)}), so octaves "
                     f"and tiles do not apply: use octaves=1 and the image at the model's input size {size} px")


def octave_sizes(height: int, width: int, count: int, scale: float) -> list[tuple[int, int]]:
    """(height, width) of each octave a run on an image of this size processes, smallest first:
    up to ``count`` sizes, each ``scale`` times smaller than the next, none with a side under 8."""
    sizes = [(height, width)]
    for _ in range(max(1, count) - 1):
        h, w = sizes[-1]
        smaller = (max(1, round(h / scale)), max(1, round(w / scale)))
        if min(smaller) < 8:
            break
        sizes.append(smaller)
    return sizes[::-1]
