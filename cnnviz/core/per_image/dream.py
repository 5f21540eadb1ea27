"""Deep dream: gradient ascent on the input image to amplify what a layer responds to.

:func:`run` is a generator of :class:`~cnnviz.core.progress.Step` whose ``partial`` is the
:class:`DreamStep` record of the ascent step just made. Its ``config`` is a frozen
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

The settings and their checks live in :mod:`cnnviz.core.per_image.dream_config`; their names are also
available here (``dream.DreamConfig``, ``dream.octave_sizes``…).
"""

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TypeVar

import torch
import torch.nn.functional as F

from cnnviz.core.data.inputs import one_image
from cnnviz.core.data.smoothing import gaussian_blur
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.hooks import eval_and_frozen
from cnnviz.core.model.layers import called_once
from cnnviz.core.model.models import LoadedModel, output_logits
from cnnviz.core.per_image.dream_config import (
    MIN_TILE,
    OBJECTIVES,
    STARTS,
    ConfigSource,
    DreamConfig,
    DreamStep,
    check_config,
    config_problems,
    octave_sizes,
    total_steps,
)
from cnnviz.core.progress import ProgressFn, Step, run_to_end

__all__ = [
    "MIN_TILE", "OBJECTIVES", "STARTS", "ConfigSource", "DreamConfig", "DreamStep", "Tick", "check_config",
    "config_problems", "dream", "noise_image", "octave_sizes", "pixel_bounds", "run", "run_ticks", "tile_starts",
    "total_steps",
]

T = TypeVar("T")

Tick = None
"""The ``partial`` of the steps :func:`run_ticks` yields between the tiles of a step (a point where a
cancel can get through)."""


def _reader(config: ConfigSource) -> Callable[[], DreamConfig]:
    if isinstance(config, DreamConfig):
        return lambda: config
    if callable(config):
        return config
    raise TypeError(f"config must be a DreamConfig or a callable returning one, not {type(config).__name__}")


def _checked_target(logits: torch.Tensor, target: int) -> int:
    """``target``, or a ValueError when it is not a class of ``logits`` [1, classes]."""
    classes = logits.shape[1]
    if not 0 <= target < classes:
        raise ValueError(f"deep dream: target class {target} is outside the model's {classes} classes "
                         f"(0 to {classes - 1})")
    return target


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
                                float("nan"), message=message, config=cfg)
    probability = _probability(model, rolled, logits, target) if want_prob or logits is not None else None
    return candidate, DreamStep(index, 0, 0, candidate.cpu().clone(), objective, probability, layer, step_size,
                                float(update.abs().mean()), config=cfg)


def _ticks_as_steps(ticks: Generator[None, None, T], done: int, total: int) -> Generator[Step, None, T]:
    """Each :data:`Tick` of ``ticks`` as a step of ``done`` of ``total`` with :data:`Tick` as its partial;
    returns what ``ticks`` returns (closing this closes ``ticks``)."""
    try:
        while True:
            try:
                next(ticks)
            except StopIteration as stop:
                return stop.value
            yield Step(done, total, Tick)
    finally:
        ticks.close()


def run(model: LoadedModel, x: torch.Tensor, *,
        config: ConfigSource) -> Generator[Step, None, torch.Tensor]:
    """Gradient ascent on ``x`` [1, C, H, W] (preprocessed; may be larger than the model's input
    size for convolutional layers), one :class:`~cnnviz.core.progress.Step` per ascent step: steps
    ``done`` of ``total`` (:func:`total_steps` of the config the step used, at least ``done``),
    ``partial`` the step's :class:`DreamStep` record and ``message`` its ``message`` (or ""). Returns
    the final image.

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
                step = next(ticks)
            except StopIteration as stop:
                return stop.value
            if step.partial is not Tick:
                yield step
    finally:
        ticks.close()


def run_ticks(model: LoadedModel, x: torch.Tensor, *,
              config: ConfigSource) -> Generator[Step, None, torch.Tensor]:
    """:func:`run`, also yielding a step whose ``partial`` is :data:`Tick` (None; ``done`` the steps
    made so far) after every tile of a tiled step, so that a caller can cancel between tiles (closing
    the generator stops the run there)."""
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
                total = max(index + 1, total_steps(base, config=cfg))
                image, record = yield from _ticks_as_steps(_ascend(model, image, cfg, index, base, generator, caches),
                                                           index, total)
                yield Step(index + 1, total, replace(record, octave=octave, iteration=iteration), record.message or "")
                if record.message:
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
    return run_to_end(run(model, x, config=config), progress)
