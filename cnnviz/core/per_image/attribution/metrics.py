"""Faithfulness and sanity of attribution maps.

- Deletion and insertion curves (Petsiuk et al. 2018, RISE): the pixels are changed in order of the
  map's value, most important first, in ``steps`` equal chunks, and the target probability is
  recorded after each chunk. Deletion replaces pixels of the input by a fill (a faithful map makes
  the probability fall fast: low area under the curve); insertion puts the input's pixels back into
  a blurred copy (a faithful map makes it rise fast: high area).
- The model randomisation test (Adebayo et al. 2018), in :mod:`.randomisation` and re-exported
  here: :func:`randomisation`, :func:`randomisation_steps`, :class:`RandomisationStep`,
  :func:`insensitive`, with the map comparisons :func:`spearman` and :func:`ssim`.

Each measure is a generator of :class:`~cnnviz.core.progress.Step` (closing it cancels) with a plain function on
top.
"""

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.core.data.inputs import one_image
from cnnviz.core.data.smoothing import gaussian_blur
from cnnviz.core.model.batching import forward_batch, in_batches, known_item_cost
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image.attribution.common import batch_plan, resolve_target
from cnnviz.core.per_image.attribution.randomisation import (
    RandomisationStep,
    default_groups,
    insensitive,
    randomisation,
    randomisation_steps,
)
from cnnviz.core.per_image.attribution.result import Attribution
from cnnviz.core.per_image.attribution.similarity import spearman, ssim
from cnnviz.core.progress import ProgressFn, Step, run_to_end
from cnnviz.core.tables import csv_text

__all__ = ["BLUR_SHARE", "FILLS", "Curve", "RandomisationStep", "chunk_bounds",
           "default_groups", "deletion", "deletion_steps", "fill_image", "insensitive", "insertion",
           "insertion_steps", "pixel_order", "randomisation", "randomisation_steps", "spearman", "ssim", "trapezoid"]

FILLS = ("black", "blur", "mean")
"""What a changed pixel shows: black (pixel value 0 before normalising), the input blurred with
σ = ``blur_sigma``, or the dataset mean colour (0 after normalising)."""

BLUR_SHARE = 1 / 16
"""Default σ of the blurred image as a share of the input's shorter side (14 px at 224 px). RISE's
code blurs 224-px images with σ = 5 px cut to an 11×11 kernel; this untruncated Gaussian is stronger,
so that the blurred start of an insertion curve keeps the colours but loses the shapes."""

Points = Generator[Step, None, "Curve"]
MapSource = Attribution | torch.Tensor | np.ndarray
"""What the curves order pixels by: an attribution (its map and target) or a plain map [H, W]."""


@dataclass(frozen=True, eq=False)
class Curve:
    """A deletion or insertion curve for class ``target``.

    ``fractions`` [steps + 1]: share of the input's pixels changed at each point, from 0 to 1;
    ``probabilities`` [steps + 1]: the target's softmax probability there (for deletion the first
    is the unchanged input's, for insertion the last); ``auc``: the trapezoid area under the
    probabilities over the fractions, in [0, 1]; ``kind``: ``"deletion"`` or ``"insertion"``.
    """

    fractions: np.ndarray
    probabilities: np.ndarray
    auc: float
    kind: str
    target: int

    def to_csv(self) -> str:
        """One line per point: the share of pixels changed and the target probability."""
        return csv_text(["fraction_changed", "target_probability"], zip(self.fractions, self.probabilities), digits=6)


def trapezoid(values: np.ndarray, at: np.ndarray) -> float:
    """Area under ``values`` over the points ``at`` (same length) by the trapezoid rule."""
    values, at = np.asarray(values, dtype=np.float64), np.asarray(at, dtype=np.float64)
    return float(((values[1:] + values[:-1]) * np.diff(at)).sum() / 2)


def pixel_order(map_: torch.Tensor) -> np.ndarray:
    """Flat pixel indices of ``map_`` [H, W] by value, largest first, ties in index order."""
    values = map_.detach().cpu().double().numpy().ravel()
    if not np.isfinite(values).all():
        raise ValueError("the map has non-finite values (NaN or inf), so it orders no pixels")
    return np.argsort(-values, kind="stable")


def chunk_bounds(pixels: int, steps: int) -> np.ndarray:
    """Pixels changed after each of ``steps`` chunks, both ends included: round(i·pixels/steps)
    for i = 0..steps ([steps + 1] ints, from 0 to ``pixels``)."""
    return np.array([round(i * pixels / steps) for i in range(steps + 1)], dtype=np.int64)


def fill_image(model: LoadedModel, x: torch.Tensor, *, fill: str, blur_sigma: float) -> torch.Tensor:
    """The image [1, C, H, W] changed pixels are taken from, in the model's normalised space (see :data:`FILLS`)."""
    if fill == "black":
        mean, std = model.stats(x.device, x.dtype)
        return (-mean / std).expand_as(x).clone()
    if fill == "mean":
        return torch.zeros_like(x)
    if fill == "blur":
        return gaussian_blur(x, blur_sigma)
    raise ValueError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")


def _map_and_target(attribution: MapSource, target: int | None,
                    size: tuple[int, int]) -> tuple[torch.Tensor, int]:
    if isinstance(attribution, Attribution):
        if target is not None and target != attribution.target:
            raise ValueError(f"target {target} differs from the attribution's target {attribution.target}")
        map_, target = attribution.map, attribution.target
    else:
        if target is None:
            raise ValueError("a plain map needs a target class; pass target=")
        map_ = torch.as_tensor(attribution)
    if tuple(map_.shape) != size:
        raise ValueError(f"the map has shape {tuple(map_.shape)}, the input {size}")
    return map_, target


def _curve_steps(model: LoadedModel, x: torch.Tensor, attribution: MapSource, *, kind: str,
                 target: int | None, steps: int, fill: str, blur_sigma: float | None,
                 batch_size: int | None) -> Points:
    x = one_image(x, f"a {kind} curve").detach().to(model.device)
    size = (int(x.shape[-2]), int(x.shape[-1]))
    map_, target = _map_and_target(attribution, target, size)
    target = resolve_target(model, x, target)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number of at least 1, not {steps!r}")
    order = pixel_order(map_)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    rank_map = torch.from_numpy(rank).view(1, 1, *size).to(x.device)
    bounds = chunk_bounds(order.size, steps)
    changed = torch.from_numpy(bounds).view(-1, 1, 1, 1).to(x.device)
    sigma = blur_sigma if blur_sigma is not None else min(size) * BLUR_SHARE
    other = fill_image(model, x, fill=fill, blur_sigma=sigma)
    start, end = (x, other) if kind == "deletion" else (other, x)
    probabilities = np.full(steps + 1, np.nan)

    def run(first: int, stop: int) -> None:
        batch = torch.where(rank_map < changed[first:stop], end, start)
        probs, _ = forward_batch(model, batch)
        probabilities[first:stop] = probs[:, target].double().cpu().numpy()

    cap, target_s = batch_plan(known_item_cost(model, x), batch_size)
    for done in in_batches(steps + 1, batch_size, run, cap=cap, target_s=target_s):
        yield Step(done, steps + 1)
    fractions = bounds / order.size
    return Curve(fractions, probabilities, trapezoid(probabilities, fractions), kind, target)


def deletion_steps(model: LoadedModel, x: torch.Tensor, attribution: MapSource, *,
                   target: int | None = None, steps: int = 100, fill: str = "black",
                   blur_sigma: float | None = None, batch_size: int | None = None) -> Points:
    """:func:`deletion` as a generator of steps (``done`` of ``total`` images evaluated); returns the
    :class:`Curve`."""
    return (yield from _curve_steps(model, x, attribution, kind="deletion", target=target, steps=steps, fill=fill,
                                    blur_sigma=blur_sigma, batch_size=batch_size))


def insertion_steps(model: LoadedModel, x: torch.Tensor, attribution: MapSource, *,
                    target: int | None = None, steps: int = 100, fill: str = "blur",
                    blur_sigma: float | None = None, batch_size: int | None = None) -> Points:
    """:func:`insertion` as a generator of steps (``done`` of ``total`` images evaluated); returns the
    :class:`Curve`."""
    return (yield from _curve_steps(model, x, attribution, kind="insertion", target=target, steps=steps, fill=fill,
                                    blur_sigma=blur_sigma, batch_size=batch_size))


def deletion(model: LoadedModel, x: torch.Tensor, attribution: MapSource, *,
             target: int | None = None, steps: int = 100, fill: str = "black", blur_sigma: float | None = None,
             batch_size: int | None = None, progress: ProgressFn | None = None) -> Curve:
    """Deletion curve of a map for preprocessed input ``x`` [1, C, H, W].

    ``attribution``: an :class:`~cnnviz.core.per_image.attribution.Attribution` (its target is used; a
    different ``target`` is a ValueError) or a plain map [H, W] at the input's resolution (then
    ``target`` is required). The pixels (all channels of a position together), ordered by the map's
    value (largest first, ties by index), are replaced by ``fill`` (one of :data:`FILLS`;
    ``blur_sigma`` in pixels, None: :data:`BLUR_SHARE` of the shorter side) in ``steps`` chunks
    ending at round(i·N/steps) of the N pixels; the steps + 1 images go through the model in
    batches (``batch_size``: as for :func:`~cnnviz.core.per_image.occlusion.occlude`). ``progress(done,
    total)`` returning False cancels (:class:`~cnnviz.core.Cancelled`).
    """
    return run_to_end(deletion_steps(model, x, attribution, target=target, steps=steps, fill=fill,
                                     blur_sigma=blur_sigma, batch_size=batch_size), progress)


def insertion(model: LoadedModel, x: torch.Tensor, attribution: MapSource, *,
              target: int | None = None, steps: int = 100, fill: str = "blur", blur_sigma: float | None = None,
              batch_size: int | None = None, progress: ProgressFn | None = None) -> Curve:
    """Insertion curve of a map for ``x`` [1, C, H, W] (RISE): start from ``fill`` (default the
    input blurred with σ = ``blur_sigma`` px, None: :data:`BLUR_SHARE` of the shorter side) and put
    the input's pixels back in the map's order; the last point is the unchanged input. Arguments
    as for :func:`deletion`."""
    return run_to_end(insertion_steps(model, x, attribution, target=target, steps=steps, fill=fill,
                                      blur_sigma=blur_sigma, batch_size=batch_size), progress)

