"""Deep dream: gradient ascent on the input image to amplify what a layer responds to.

:func:`run` is a generator of :class:`DreamStep` records. Its ``config`` is a frozen
:class:`DreamConfig` or a zero-argument callable returning the current one; the callable is read
once at the start of every step and that one snapshot is used for the whole step, so a caller (the
GUI) can swap in a new config — another layer, step size, objective or regularisation — while it
runs, and no step mixes two settings. Octaves follow the original deep-dream code: the image is
processed from the smallest octave up and the detail gained at one octave is carried up to the next.
Images larger than ``tile`` pixels are processed in overlapping tiles whose gradients are blended
with smooth weights, so memory stays bounded and no seams appear.

Objectives on the chosen layer's response ``a``: ``l2`` maximises ‖a‖² (gradient 2a); ``channel``
the mean of one channel; ``class`` one class's pre-softmax logit (optionally squared); ``guided`` the
dot product of ``a`` with the same layer's response to a guide image (resized to ``a``'s grid), or
with ``best_match`` each position's best-matching guide feature vector.

The target-class probability (``prob_every``) comes from the step's own forward pass where it can:
on those steps the pass runs on to the class scores (recording no graph after the layer) instead of
stopping at the layer. A separate pass is made when the image is not at the model's input size, in
tiles, or when the layer is called more than once per forward pass.
"""

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from cnnviz.core.forward import forward_to
from cnnviz.core.hooks import eval_and_frozen
from cnnviz.core.inputs import one_image
from cnnviz.core.layers import called_once
from cnnviz.core.models import LoadedModel, output_logits
from cnnviz.core.progress import ProgressFn, report
from cnnviz.core.smoothing import gaussian_blur

OBJECTIVES = ("l2", "channel", "class", "guided")
STARTS = ("image", "uniform", "gaussian")

MIN_TILE = 32
"""Smallest tile side in pixels (smaller tiles make very many passes per step)."""

Tick = None
"""What :func:`run_ticks` yields between the tiles of a step (a point where a cancel can get through)."""


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
        for problem in _config_problems(self):
            raise ValueError(f"deep dream: {problem}")

    def validate(self, model: LoadedModel, x: torch.Tensor) -> None:
        """Raise ValueError unless this config can run on ``model`` with image ``x`` [1, C, H, W]: see
        :func:`check_config`."""
        check_config(model, x, self)

    def layer_and_step(self, index: int) -> tuple[str, float]:
        """The (layer, step size) of step ``index``: from the cycle when there is one."""
        return self.cycle[index % len(self.cycle)] if self.cycle else (self.layer, self.step_size)


def _config_problems(cfg: DreamConfig) -> list[str]:
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
    """One completed ascent step.

    ``index`` counts steps over the whole run (from 0); ``octave`` (0 = smallest) and ``iteration``
    within it; ``image`` [1, C, h, w] the image after the step at this octave's size (CPU copy,
    finite; None in records that keep only the numbers, e.g. ``dataclasses.replace(step, image=None)``);
    ``objective`` its value before the step (‖a‖ for ``l2``); ``target_prob`` the target class
    probability of the image the step started from, as the network saw it in the step (rolled by the
    step's jitter; resized to the model's input size if needed) — None on steps where it is not
    computed; ``layer`` and ``step_size`` used; ``update_mean`` the mean |change| before clamping;
    ``message`` set on the last step of a run stopped by a non-finite value.
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


def total_steps(x: torch.Tensor, *, config: DreamConfig) -> int:
    """Steps a run of ``config`` on ``x`` [1, C, H, W] makes: iterations × octaves that fit the size."""
    return config.iterations * len(octave_sizes(x.shape[-2], x.shape[-1], config.octaves, config.octave_scale))


def _reader(config: ConfigSource) -> Callable[[], DreamConfig]:
    if isinstance(config, DreamConfig):
        return lambda: config
    if callable(config):
        return config
    raise TypeError(f"config must be a DreamConfig or a callable returning one, not {type(config).__name__}")


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


def _checked_target(logits: torch.Tensor, target: int) -> int:
    """``target``, or a ValueError when it is not a class of ``logits`` [1, classes]."""
    classes = logits.shape[1]
    if not 0 <= target < classes:
        raise ValueError(f"deep dream: target class {target} is outside the model's {classes} classes "
                         f"(0 to {classes - 1})")
    return target


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


def _fit_to_model(model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """``x`` resized (bilinear, differentiable) to the model's input size, for class scores."""
    if tuple(x.shape[-2:]) == tuple(model.input_size):
        return x
    return F.interpolate(x, size=model.input_size, mode="bilinear", align_corners=False)


@dataclass
class _Caches:
    """What a run keeps between steps: guide features by (layer, guide) and the top-1 class of the
    start image."""

    guides: dict = field(default_factory=dict)
    top_class: list[int] = field(default_factory=list)


def _guide_features(model: LoadedModel, cfg: DreamConfig, layer: str, cache: dict) -> torch.Tensor:
    if cfg.guide is None:
        raise ValueError("the guided objective needs a guide image")
    key = (layer, id(cfg.guide))
    if key not in cache:
        with torch.no_grad():
            cache[key] = forward_to(model, cfg.guide, layers=layer)[layer]
    return cache[key]


def _layer_pass(model: LoadedModel, x: torch.Tensor, layer: str,
                full: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``layer``'s response to ``x`` with its graph and, with ``full``, the class logits of the same
    pass (the rest of the network records no graph). A layer called several times per pass gets
    the truncated pass (its first call) and no logits."""
    if full and called_once(model, layer):
        outputs = forward_to(model, x, layers=layer, stop_early=False, keep_graph=True, detach_rest=True)
        return outputs[layer], outputs.logits
    return forward_to(model, x, layers=layer, keep_graph=True)[layer], None


def _objective(model: LoadedModel, x: torch.Tensor, cfg: DreamConfig, layer: str, target: int,
               caches: "_Caches", full: bool = False) -> tuple[torch.Tensor, float, torch.Tensor | None]:
    """(value to maximise, value to report, logits if computed) for image ``x``; ``full`` asks for
    the logits from the same pass (see :func:`_layer_pass`)."""
    if cfg.objective == "class":
        scores = output_logits(model.module(_fit_to_model(model, x)))
        score = scores[0, _checked_target(scores, target)]
        value = score * score if cfg.square_class else score
        return value, float(score.detach()), scores
    activation, logits = _layer_pass(model, x, layer, full)
    if cfg.objective == "l2":
        value = (activation.float() ** 2).sum()
        return value, float(value.detach().sqrt()), logits
    if cfg.objective == "channel":
        channel = cfg.channel if cfg.channel is not None else 0
        if not 0 <= channel < activation.shape[1]:
            raise IndexError(f"{layer} has {activation.shape[1]} channels; {channel} is out of range")
        value = activation[:, channel].float().mean()
        return value, float(value.detach()), logits
    if cfg.objective == "guided":
        if cfg.guide is None:
            raise ValueError("the guided objective needs a guide image")
        guide = _guide_features(model, cfg, layer, caches.guides)
        if activation.dim() == 4 and cfg.best_match:
            flat = activation.flatten(2)[0].float()  # [C, P]
            candidates = guide.flatten(2)[0].float()  # [C, Q]
            best = (candidates.t() @ flat.detach()).argmax(dim=0)  # [P]
            value = (flat * candidates[:, best]).sum()
        else:
            if activation.dim() == 4 and guide.shape[-2:] != activation.shape[-2:]:
                guide = F.interpolate(guide, size=activation.shape[-2:], mode="bilinear", align_corners=False)
            value = (activation.float() * guide.float()).sum()
        return value, float(value.detach()), logits
    raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {cfg.objective!r}")


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` with at least ``overlap`` pixels
    shared by neighbours; the last tile ends at the border."""
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def _blend_weights(length: int, tile: int, overlap: int, start: int, total: int) -> torch.Tensor:
    """1-D weights for a tile: a cosine ramp over ``overlap`` pixels at inner edges, 1 elsewhere."""
    weights = torch.ones(length)
    ramp = min(overlap, length // 2)
    if ramp > 0:
        rise = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, ramp + 2)[1:-1])
        if start > 0:
            weights[:ramp] = rise
        if start + length < total:
            weights[-ramp:] = rise.flip(0)
    return weights


def _gradient(model: LoadedModel, x: torch.Tensor, cfg: DreamConfig, layer: str, target: int, caches: "_Caches",
              want_logits: bool) -> Generator[None, None, tuple[torch.Tensor, float, torch.Tensor | None]]:
    """Gradient of the objective w.r.t. ``x`` [1, C, H, W] (tiled above ``cfg.tile``), the reported
    objective (summed over tiles) and logits if the pass computed them (``want_logits``: from the
    same pass where ``x`` is at the model's input size and untiled). Yields :data:`Tick` after each tile."""
    height, width = x.shape[-2:]
    if (height <= cfg.tile and width <= cfg.tile) or cfg.objective == "class":
        source = x.detach().requires_grad_(True)
        full = want_logits and tuple(x.shape[-2:]) == tuple(model.input_size)
        value, reported, logits = _objective(model, source, cfg, layer, target, caches, full)
        (gradient,) = torch.autograd.grad(value, source)
        return gradient, reported, logits
    yield from ()
    total = torch.zeros_like(x)
    weight_sum = torch.zeros(1, 1, height, width, device=x.device)
    reported = 0.0
    tile_h, tile_w = min(cfg.tile, height), min(cfg.tile, width)
    for top in tile_starts(height, tile_h, cfg.overlap):
        for left in tile_starts(width, tile_w, cfg.overlap):
            crop = x[..., top:top + tile_h, left:left + tile_w].detach().requires_grad_(True)
            value, part, _ = _objective(model, crop, cfg, layer, target, caches)
            (gradient,) = torch.autograd.grad(value, crop)
            weights = (_blend_weights(tile_h, tile_h, cfg.overlap, top, height)[:, None]
                       * _blend_weights(tile_w, tile_w, cfg.overlap, left, width)[None, :]).to(x.device)
            total[..., top:top + tile_h, left:left + tile_w] += gradient * weights
            weight_sum[..., top:top + tile_h, left:left + tile_w] += weights
            reported += part
            yield Tick
    return total / weight_sum, reported, None


def noise_image(model: LoadedModel, shape: torch.Size | tuple[int, ...], kind: str = "uniform",
                seed: int = 0) -> torch.Tensor:
    """A noise image [1, C, H, W] in normalised space: ``uniform`` pixels in [0, 1] or ``gaussian``
    pixels around grey (0.5 ± 0.15), seeded."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        pixels = torch.rand(shape, generator=generator)
    elif kind == "gaussian":
        pixels = (0.5 + 0.15 * torch.randn(shape, generator=generator)).clamp(0, 1)
    else:
        raise ValueError(f"noise must be uniform or gaussian, not {kind!r}")
    mean, std = model.stats("cpu")
    return ((pixels - mean) / std).to(model.device)


def pixel_bounds(model: LoadedModel, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Lowest and highest normalised values [1, C, 1, 1] of valid pixels (0 and 1 before normalising)."""
    mean, std = model.stats(device)
    return -mean / std, (1 - mean) / std


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


def _target_class(model: LoadedModel, base: torch.Tensor, cfg: DreamConfig, caches: _Caches) -> int:
    """``cfg.target``, or the top-1 class of the start image ``base`` (one full pass, when first needed)."""
    if cfg.target is not None:
        return cfg.target
    if not caches.top_class:
        with torch.no_grad():
            caches.top_class.append(int(output_logits(model.module(_fit_to_model(model, base))).argmax(dim=1)[0]))
    return caches.top_class[0]


def _probability(model: LoadedModel, rolled: torch.Tensor, logits: torch.Tensor | None, target: int) -> float:
    """Target probability of ``rolled`` from ``logits`` of its pass, or from a separate pass."""
    if logits is None:
        with torch.no_grad():
            logits = output_logits(model.module(_fit_to_model(model, rolled)))
    return float(torch.softmax(logits.detach().float(), dim=1)[0, _checked_target(logits, target)])


def _ascend(model: LoadedModel, image: torch.Tensor, cfg: DreamConfig, index: int, base: torch.Tensor,
            generator: torch.Generator, caches: _Caches) -> Generator[None, None, tuple[torch.Tensor, DreamStep]]:
    """One ascent step on ``image`` with the snapshot ``cfg``, yielding :data:`Tick` between tiles:
    returns the new image and the step's record (octave and iteration left 0 for the caller;
    ``message`` set when it diverged, and then the image is ``image`` unchanged)."""
    layer, step_size = cfg.layer_and_step(index)
    shift = (0, 0)
    if cfg.jitter > 0:
        rows, cols = torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=generator).tolist()
        shift = (rows, cols)
    rolled = torch.roll(image, shifts=shift, dims=(-2, -1))
    want_prob = cfg.prob_every > 0 and index % cfg.prob_every == 0
    target = _target_class(model, base, cfg, caches) if cfg.objective == "class" or want_prob else -1
    gradient, objective, logits = yield from _gradient(model, rolled, cfg, layer, target, caches, want_prob)
    gradient = torch.roll(gradient, shifts=(-shift[0], -shift[1]), dims=(-2, -1))
    if cfg.normalize:
        scale = gradient.abs().mean()
        update = gradient * (step_size / scale) if scale > 0 else torch.zeros_like(gradient)
    else:
        update = gradient * step_size
    candidate = (image + update).detach()
    if cfg.decay != 1.0:
        candidate = candidate * cfg.decay
    if cfg.blur_every > 0 and (index + 1) % cfg.blur_every == 0:
        candidate = gaussian_blur(candidate, cfg.blur_sigma)
    if cfg.clamp:
        low, high = pixel_bounds(model, image.device)
        candidate = torch.maximum(torch.minimum(candidate, high), low)
    if not (math.isfinite(objective) and torch.isfinite(update).all() and torch.isfinite(candidate).all()):
        message = (f"Stopped at step {index}: the ascent diverged (non-finite values). "
                   "The last finite image is kept; try a smaller step size.")
        return image, DreamStep(index, 0, 0, image.detach().cpu().clone(), objective, None, layer, step_size,
                                float("nan"), message=message)
    probability = _probability(model, rolled, logits, target) if want_prob or logits is not None else None
    return candidate, DreamStep(index, 0, 0, candidate.cpu().clone(), objective, probability, layer, step_size,
                                float(update.abs().mean()))


def run(model: LoadedModel, x: torch.Tensor, *,
        config: ConfigSource) -> Generator[DreamStep, None, torch.Tensor]:
    """Gradient ascent on ``x`` [1, C, H, W] (preprocessed; may be larger than the model's input
    size for convolutional layers), one :class:`DreamStep` per step. Returns the final image.

    ``config``: a :class:`DreamConfig`, or a callable read once per step (one snapshot for the whole
    step; the first one also fixes the start, seed, octave count and scale). Each new config is
    checked with :func:`check_config` (a ValueError says what would work). A non-finite objective,
    gradient or image ends the run: the last step then carries a ``message`` and the last finite
    image. The model's parameters get no gradients and its state is restored afterwards.
    :func:`run_ticks` is the same run with a yield between the tiles of a step.
    """
    ticks = run_ticks(model, x, config=config)
    try:
        while True:
            try:
                item = next(ticks)
            except StopIteration as stop:
                return stop.value
            if item is not None:
                yield item
    finally:
        ticks.close()


def run_ticks(model: LoadedModel, x: torch.Tensor, *,
              config: ConfigSource) -> Generator[DreamStep | None, None, torch.Tensor]:
    """:func:`run`, also yielding :data:`Tick` (None) after every tile of a tiled step, so that a
    caller can cancel between tiles (closing the generator stops the run there)."""
    read = _reader(config)
    first = read()
    base = one_image(x, "deep dream").detach().to(model.device).float()
    check_config(model, base, first)
    if first.start != "image":
        base = noise_image(model, base.shape, first.start, first.seed)
    generator = torch.Generator().manual_seed(first.seed)
    caches = _Caches()
    sizes = octave_sizes(base.shape[-2], base.shape[-1], first.octaves, first.octave_scale)
    detail = torch.zeros_like(F.interpolate(base, size=sizes[0], mode="bilinear", align_corners=False))
    index, image, checked = 0, base, first
    with eval_and_frozen(model.module), torch.enable_grad():
        for octave, size in enumerate(sizes):
            octave_base = base if size == tuple(base.shape[-2:]) else F.interpolate(
                base, size=size, mode="bilinear", align_corners=False)
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
            image = octave_base + detail
            iteration = 0
            while iteration < (cfg := read()).iterations:
                if cfg is not checked:
                    check_config(model, image, replace(cfg, octaves=1))
                    checked = cfg
                image, step = yield from _ascend(model, image, cfg, index, base, generator, caches)
                yield replace(step, octave=octave, iteration=iteration)
                if step.message:
                    return image.detach()
                index += 1
                iteration += 1
            detail = image - octave_base
    return image.detach()


def dream(model: LoadedModel, x: torch.Tensor, *, config: ConfigSource,
          progress: ProgressFn | None = None) -> torch.Tensor:
    """Run :func:`run` to the end and return the final image (same shape as ``x``).

    ``progress(done_steps, total_steps)``; returning False cancels (:class:`~cnnviz.core.Cancelled`).
    """
    read = _reader(config)
    steps = run(model, x, config=read)
    try:
        while True:
            step = next(steps)
            report(progress, step.index + 1, max(step.index + 1, total_steps(x, config=read())))
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()
