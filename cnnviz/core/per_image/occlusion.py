"""Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7).

A square occluder slides over the input; for every position the occluded image goes through the
network and three things are recorded: (a) the probability of the target class, (b) the total
activation of the strongest feature map of a chosen layer (the channel with the largest activation
on the unoccluded image), (c) the most probable class.

:func:`occlusion_steps` is a generator that yields partial results after every batch;
:func:`occlude` runs it to the end. :func:`occlusion_job` adds the strongest map's deconvnet
projection (the paper's column (c)); :func:`save_data` writes a result's raw maps.
"""

from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from cnnviz.core.data.inputs import one_image
from cnnviz.core.data.smoothing import gaussian_blur
from cnnviz.core.model.batching import check_layer, forward_batch, in_batches, job_cap
from cnnviz.core.model.loaded_model import LoadedModel, class_name
from cnnviz.core.per_image import deconv
from cnnviz.core.progress import PartialResult, ProgressFn, Step, run_to_end
from cnnviz.core.tables import csv_text

FILLS = ("mean", "black", "blur", "noise")
"""What covers the occluded square; the same words as the attribution metrics' fills and baselines."""


@dataclass(frozen=True)
class OcclusionResult(PartialResult):
    """Maps over occluder positions, each [nH, nW] (row i = occluder top ``positions[0][i]``).

    ``prob``: target-class probability (NaN where not computed yet); ``top_class``: most probable
    class (-1 where not computed); ``feature``: total activation of map ``channel`` of ``layer``, or
    None without a layer. ``baseline_prob``/``baseline_feature``: the same on the unoccluded image.
    ``done`` of ``total`` positions are filled; ``complete`` is False for a partial (cancelled or
    in-progress) result. ``window`` and ``stride`` are in input pixels.
    """

    prob: np.ndarray
    top_class: np.ndarray
    feature: np.ndarray | None
    channel: int | None
    positions: tuple[np.ndarray, np.ndarray]
    target: int
    window: int
    stride: int
    fill: str
    layer: str | None
    baseline_prob: float
    baseline_feature: float | None

    def extent(self) -> tuple[float, float, float, float]:
        """(left, top, width, height) in input pixels of the area the maps cover when each cell is
        drawn as a stride×stride square centred on its occluder's centre."""
        offset = (self.window - self.stride) / 2
        rows, cols = self.prob.shape
        return offset, offset, cols * self.stride, rows * self.stride

    def arrays(self) -> dict[str, np.ndarray]:
        """The raw maps by name (``prob``, ``top_class`` and, with a layer, ``feature``)."""
        maps = {"prob": self.prob, "top_class": self.top_class}
        if self.feature is not None:
            maps["feature"] = self.feature
        return maps

    def to_csv(self) -> str:
        """One line per occluder position: top, left (px), target probability, top class (index
        and name) and, with a layer, the feature map's total activation."""
        header = ["top", "left", "target_probability", "top_class", "top_class_name"]
        if self.feature is not None:
            header.append(f"feature_{self.layer}_channel_{self.channel}")
        rows: list[list[object]] = []
        tops, lefts = self.positions
        for i, top in enumerate(tops):
            for j, left in enumerate(lefts):
                if self.top_class[i, j] < 0:
                    continue
                index = int(self.top_class[i, j])
                row = [int(top), int(left), self.prob[i, j], index, class_name(self.classes, index)]
                rows.append(row if self.feature is None else [*row, self.feature[i, j]])
        return csv_text(header, rows, digits=6)


def grid(size: tuple[int, int], window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Occluder tops and lefts (input pixels) for an input of ``size`` (H, W):
    nH = (H - window) // stride + 1 rows, likewise columns."""
    height, width = size
    if window < 1 or stride < 1:
        raise ValueError("window and stride must be at least 1 pixel")
    if window > min(height, width):
        raise ValueError(f"the occluder ({window} px) is larger than the input ({height}×{width})")
    return np.arange(0, height - window + 1, stride), np.arange(0, width - window + 1, stride)


def fill_image(model: LoadedModel, x: torch.Tensor, *, fill: str, window: int, seed: int = 0) -> torch.Tensor:
    """What the occluder shows, as a full image [1, C, H, W] in the model's normalised space:
    ``mean`` 0 (the dataset mean colour), ``black`` black pixels, ``blur`` the input blurred with
    σ = window/4 px, ``noise`` Gaussian noise with the dataset's spread (seeded)."""
    if fill == "mean":
        return torch.zeros_like(x)
    if fill == "black":
        mean, std = model.stats(x.device, x.dtype)
        return (-mean / std).expand_as(x).clone()
    if fill == "blur":
        return gaussian_blur(x, window / 4)
    if fill == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    raise ValueError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")


def occluded(x: torch.Tensor, patch_source: torch.Tensor, top: int, left: int, window: int) -> torch.Tensor:
    """Copy of ``x`` [1, C, H, W] with the window at (top, left) taken from ``patch_source``."""
    image = x.clone()
    image[..., top:top + window, left:left + window] = patch_source[..., top:top + window, left:left + window]
    return image


def strongest_channel(activation: torch.Tensor) -> int:
    """Channel of one item's activation [C, ...] holding the largest single value."""
    return int(activation.reshape(activation.shape[0], -1).max(dim=1).values.argmax())


def occlusion_steps(model: LoadedModel, x: torch.Tensor, *, target: int | None = None, window: int = 8,
                    stride: int = 2, fill: str = "mean", layer: str | None = None,
                    batch_size: int | None = None, seed: int = 0) -> Generator[Step, None, OcclusionResult]:
    """Occlusion maps computed batch by batch; yields a :class:`~cnnviz.core.progress.Step` after each
    batch (positions ``done`` of ``total``, ``partial``: the :class:`OcclusionResult` so far) and returns
    the complete one. See :func:`occlude` for the arguments."""
    x = one_image(x, "occlusion").detach().to(model.device)
    if layer is not None:
        check_layer(model, layer, "occlusion")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"occlusion: batch_size must be at least 1 (or None for automatic), not {batch_size}")
    tops, lefts = grid((int(x.shape[-2]), int(x.shape[-1])), window, stride)
    source = fill_image(model, x, fill=fill, window=window, seed=seed)
    baseline_probs, baseline_maps = forward_batch(model, x, reducers={layer: lambda a: a} if layer else None)
    target = int(baseline_probs[0].argmax()) if target is None else int(target)
    if not 0 <= target < baseline_probs.shape[1]:
        raise IndexError(f"target class {target} is outside the model's {baseline_probs.shape[1]} classes")
    channel = strongest_channel(baseline_maps[layer][0]) if layer else None
    reducers = {layer: lambda a: a[:, channel].reshape(a.shape[0], -1).sum(dim=1).float()} if layer else None
    rows, cols = len(tops), len(lefts)
    total = rows * cols
    prob = np.full((rows, cols), np.nan, dtype=np.float32)
    top_class = np.full((rows, cols), -1, dtype=np.int64)
    feature = np.full((rows, cols), np.nan, dtype=np.float32) if layer else None
    result = OcclusionResult(
        prob=prob, top_class=top_class, feature=feature, channel=channel, positions=(tops, lefts),
        target=target, window=window, stride=stride, fill=fill, layer=layer,
        baseline_prob=float(baseline_probs[0, target]),
        baseline_feature=float(baseline_maps[layer][0, channel].sum()) if layer else None,
        done=0, total=total, classes=list(model.categories))

    def run(start: int, stop: int) -> None:
        batch = x.repeat(stop - start, 1, 1, 1)
        for item, index in enumerate(range(start, stop)):
            top, left = tops[index // cols], lefts[index % cols]
            batch[item, :, top:top + window, left:left + window] = source[0, :, top:top + window, left:left + window]
        probs, kept = forward_batch(model, batch, reducers=reducers)
        flat = slice(start, stop)
        prob.reshape(-1)[flat] = probs[:, target].cpu().numpy()
        top_class.reshape(-1)[flat] = probs.argmax(dim=1).cpu().numpy()
        if feature is not None and layer is not None:
            feature.reshape(-1)[flat] = kept[layer].cpu().numpy()

    for done in in_batches(total, batch_size, run, cap=job_cap(model, x, total)):
        snapshot = feature.copy() if feature is not None else None
        yield Step(done, total, replace(result, prob=prob.copy(), top_class=top_class.copy(), feature=snapshot,
                                        done=done))
    return replace(result, done=total)


def occlude(model: LoadedModel, x: torch.Tensor, *, target: int | None = None, window: int = 8,
            stride: int = 2, fill: str = "mean", layer: str | None = None,
            batch_size: int | None = None, progress: ProgressFn | None = None, seed: int = 0) -> OcclusionResult:
    """Occlusion sensitivity maps of preprocessed input ``x`` [1, C, H, W] (one image; a larger
    batch is a ValueError).

    ``target``: class whose probability is mapped (None: the top-1 class of ``x``); ``window`` and
    ``stride`` in input pixels; ``fill``: one of :data:`FILLS`; ``layer``: whose strongest map's total
    activation is mapped (None: skip); ``batch_size``: occluded images per forward pass (None: start
    at 64; either is clamped to what fits in memory, see :func:`~cnnviz.core.model.batching.batch_cap`, and
    halved on out-of-memory or when a batch is slow); ``progress(done, total)`` returning False cancels
    (:class:`~cnnviz.core.Cancelled`); ``seed`` for the ``noise`` fill.
    """
    steps = occlusion_steps(model, x, target=target, window=window, stride=stride, fill=fill, layer=layer,
                            batch_size=batch_size, seed=seed)
    return run_to_end(steps, progress)


class OcclusionRun(NamedTuple):
    """What :func:`occlusion_job` returns and carries as each step's ``partial``: the (partial)
    ``result`` (positions done of total: ``result.done``, ``result.total``) and the deconvnet
    ``projection`` of the strongest map on the unoccluded image (None without a layer;
    ``projection_error`` says why it is missing when it failed)."""

    result: OcclusionResult
    projection: deconv.Projection | None
    projection_error: str = ""


def default_window(size: int) -> int:
    """Occluder side in pixels for an input of ``size`` pixels: about a seventh of it (32 for 224),
    but at least 8 px (or half the input, if smaller)."""
    return max(1, max(round(size / 7), min(8, size // 2)))


def default_stride(window: int) -> int:
    """Occluder step in pixels: a quarter of the window (8 for 32, 2 for 8), at least 1."""
    return max(1, window // 4)


def occlusion_job(model: LoadedModel, x: torch.Tensor, *, target: int | None = None, window: int = 8,
                  stride: int = 2, fill: str = "mean", layer: str | None = None, batch_size: int | None = None,
                  seed: int = 0) -> Generator[Step, None, OcclusionRun]:
    """Occlusion maps batch by batch (as :func:`occlusion_steps`, same arguments) with the strongest
    map's deconvnet projection, computed once after the first batch has chosen the channel; yields a
    :class:`~cnnviz.core.progress.Step` after each batch whose ``partial`` is the :class:`OcclusionRun`
    so far, and returns the complete one."""
    steps = occlusion_steps(model, x, target=target, window=window, stride=stride, fill=fill, layer=layer,
                            batch_size=batch_size, seed=seed)
    projection, error, first = None, "", True
    try:
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                result = stop.value
                return OcclusionRun(result, projection, error)
            if first and layer is not None:
                first = False
                try:
                    projection = deconv.project_unit(model, x, layer=layer, channel=step.partial.channel)
                except (RuntimeError, ValueError, IndexError) as failure:
                    error = str(failure)
            yield Step(step.done, step.total, OcclusionRun(step.partial, projection, error))
    finally:
        steps.close()


def cell_at(result: OcclusionResult, row: float, col: float) -> tuple[int, int]:
    """The map cell (i, j) whose stride×stride square (see :meth:`OcclusionResult.extent`) holds
    input pixel (``row``, ``col``), clamped to the grid."""
    left, top, _width, _height = result.extent()
    rows, cols = result.prob.shape
    i = int(np.clip(np.floor((row - top) / result.stride), 0, rows - 1))
    j = int(np.clip(np.floor((col - left) / result.stride), 0, cols - 1))
    return i, j


def save_data(result: OcclusionResult, path: str | Path) -> list[Path]:
    """Write the raw maps of ``result`` beside ``path``: ``<name>_prob.npy``, ``<name>_top_class.npy``,
    ``<name>_feature.npy`` (with a layer) and ``<name>.csv`` (:meth:`OcclusionResult.to_csv`), where
    ``<name>`` is ``path`` without a ``.csv``/``.npy`` suffix. Returns the paths written; raises OSError."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".csv", ".npy") else path
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for name, array in result.arrays().items():
        file = base.with_name(f"{base.name}_{name}.npy")
        np.save(file, array)
        written.append(file)
    csv_path = base.with_name(f"{base.name}.csv")
    csv_path.write_text(result.to_csv(), encoding="utf-8")
    written.append(csv_path)
    return written
