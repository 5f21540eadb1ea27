"""Invariance curves (Zeiler & Fergus 2014, Fig. 5): how outputs and features change as the image
is rotated, translated or scaled.

Transforms act on the preprocessed input, so uncovered pixels get the dataset mean (0 after
normalisation). Rotations by multiples of 90° and integer translations are exact (no resampling);
other angles and scales use bilinear resampling about the image centre.

:func:`curve_steps` yields partial curves after every batch; :func:`curves` runs it to the end.
"""

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.batching import check_layer, forward_batch, in_batches, job_cap
from cnnviz.core.model.layers import trace
from cnnviz.core.model.loaded_model import LoadedModel, class_name
from cnnviz.core.progress import PartialResult, ProgressFn, Step, run_to_end
from cnnviz.core.tables import csv_text

KINDS = ("rotation", "vertical", "horizontal", "scale")
"""Transform kinds: rotation (degrees, counter-clockwise), vertical and horizontal translation
(pixels, positive = down/right), scale (zoom factor about the centre)."""

UNITS = {"rotation": "°", "vertical": "px", "horizontal": "px", "scale": "×"}

MAX_VALUES = 2000
"""Most transform values one set of curves may have."""


def check_values(kind: str, values: np.ndarray) -> np.ndarray:
    """``values`` as a 1-D float array after checking them for ``kind``: 1 to :data:`MAX_VALUES` values,
    all finite, and scale factors above 0; a ValueError saying what would work otherwise."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) == 0:
        raise ValueError("invariance: no transform values to evaluate")
    if len(values) > MAX_VALUES:
        raise ValueError(f"invariance: {len(values)} transform values are too many; at most {MAX_VALUES} "
                         "(use a larger step or a shorter range)")
    if not np.isfinite(values).all():
        raise ValueError(f"invariance: {kind} values must be finite numbers (no NaN or infinity)")
    if kind == "scale" and (values <= 0).any():
        raise ValueError(f"invariance: scale factors must be above 0, not {float(values.min()):g}")
    return values


def default_values(kind: str, size: int = 224) -> np.ndarray:
    """The paper's ranges: rotation 0–350° step 10; translation −60…60 px step 5 for a 224-px input
    (scaled to other input sizes ``size``, at least 1 px steps); scale 1…1.8 step 0.05."""
    if kind == "rotation":
        return np.arange(0.0, 360.0, 10.0)
    if kind in ("vertical", "horizontal"):
        limit = max(1, round(60 * size / 224))
        step = max(1, round(limit / 12))
        return np.arange(-limit, limit + 1, step, dtype=np.float64)
    if kind == "scale":
        return np.round(np.arange(1.0, 1.8001, 0.05), 4)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


def transform(x: torch.Tensor, kind: str, value: float, *, crop: bool = False) -> torch.Tensor:
    """``x`` [N, C, H, W] transformed by ``value`` of ``kind``; the canvas keeps its size and
    uncovered pixels are 0 (the dataset mean). ``crop`` then enlarges the centre square of side
    min(H, W)/√2 (free of fill at any rotation angle) back to the full canvas."""
    return torch.cat([transform_many(item[None], kind, [value], crop=crop) for item in x])


def transform_many(x: torch.Tensor, kind: str, values: list[float] | np.ndarray, *,
                   crop: bool = False) -> torch.Tensor:
    """One image ``x`` [1, C, H, W] transformed by each of ``values``: [len(values), C, H, W].

    Exact cases (quarter turns of a square image, integer shifts, scale 1) copy pixels; the others
    are resampled together in one bilinear pass."""
    one_image(x, "transform_many")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    values = [float(v) for v in values]
    out = x.new_zeros((len(values),) + tuple(x.shape[1:]))
    resampled: list[tuple[int, torch.Tensor]] = []
    for index, value in enumerate(values):
        if kind in ("vertical", "horizontal"):
            out[index] = _shift(x, round(value), axis=-2 if kind == "vertical" else -1)[0]
        elif kind == "scale":
            if value == 1:
                out[index] = x[0]
            else:
                resampled.append((index, torch.eye(2) / value))
        else:
            quarter, rest = divmod(value % 360.0, 90.0)
            if rest == 0 and x.shape[-1] == x.shape[-2]:
                out[index] = torch.rot90(x[0], int(quarter), dims=(-2, -1))
            else:
                angle = math.radians(value)
                cos, sin = math.cos(angle), math.sin(angle)
                # sampling matrix (output -> input) of a counter-clockwise turn on screen (y down)
                resampled.append((index, torch.tensor([[cos, -sin], [sin, cos]])))
    if resampled:
        indices = [i for i, _ in resampled]
        out[indices] = _affine(x, torch.stack([m for _, m in resampled]))
    return _centre_crop(out) if crop else out


def _affine(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Resample image ``x`` [1, C, H, W] once per matrix [K, 2, 2]: output pixel p takes the input at
    ``matrix @ p`` (pixel units about the centre). Returns [K, C, H, W]."""
    height, width = x.shape[-2:]
    scale = torch.tensor([[2.0 / width, 0.0], [0.0, 2.0 / height]])
    unscale = torch.tensor([[width / 2.0, 0.0], [0.0, height / 2.0]])
    theta = torch.zeros(matrices.shape[0], 2, 3)
    theta[:, :, :2] = scale @ matrices.float() @ unscale
    grid = F.affine_grid(theta.to(x.device, x.dtype), [matrices.shape[0], *x.shape[1:]], align_corners=False)
    return F.grid_sample(x.expand(matrices.shape[0], -1, -1, -1), grid, mode="bilinear",
                         padding_mode="zeros", align_corners=False)


def _shift(x: torch.Tensor, pixels: int, axis: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    size = x.shape[axis]
    if abs(pixels) >= size:
        return out
    source = x.narrow(axis, max(0, -pixels), size - abs(pixels))
    out.narrow(axis, max(0, pixels), size - abs(pixels)).copy_(source)
    return out


def _centre_crop(x: torch.Tensor) -> torch.Tensor:
    height, width = x.shape[-2:]
    side = max(1, int(min(height, width) / math.sqrt(2)))
    top, left = (height - side) // 2, (width - side) // 2
    patch = x[..., top:top + side, left:left + side]
    return F.interpolate(patch, size=(height, width), mode="bilinear", align_corners=False)


_FIRST_NONLINEAR = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.LeakyReLU, nn.MaxPool2d)


def default_layers(model: LoadedModel) -> list[str]:
    """The paper's layers 1 and 7: the first nonlinearity (or pooling) after the first convolution,
    and the penultimate layer (the last output before the final classifying layer)."""
    modules = dict(model.module.named_modules())
    traced = trace(model)
    leaves = [n for n in traced if n in modules and not any(True for _ in modules[n].children())]
    first_conv = next((i for i, n in enumerate(leaves) if isinstance(modules[n], nn.Conv2d)), None)
    chosen: list[str] = []
    if first_conv is not None:
        after = [n for n in leaves[first_conv + 1:first_conv + 4]
                 if isinstance(modules[n], _FIRST_NONLINEAR)]
        chosen.append(after[0] if after else leaves[first_conv])
    parametric = [i for i, n in enumerate(leaves) if any(True for _ in modules[n].parameters(recurse=False))]
    if parametric:
        skip = (nn.Dropout, nn.Flatten, nn.Identity)
        before = [n for n in leaves[:parametric[-1]] if not isinstance(modules[n], skip)]
        if before and before[-1] not in chosen:
            chosen.append(before[-1])
    return chosen


@dataclass(frozen=True)
class InvarianceResult(PartialResult):
    """Curves over the transform ``values`` [n] of ``kind``: target-class probability ``prob`` [n],
    most probable class ``top_class`` [n] (-1 not yet computed), and per layer the Euclidean
    ``distance`` ‖f(T(x)) − f(x)‖ and ``relative_distance`` (divided by ‖f(x)‖), each [n]; NaN where
    not computed yet. ``done`` of ``total`` values are filled."""

    kind: str
    values: np.ndarray
    prob: np.ndarray
    top_class: np.ndarray
    distance: dict[str, np.ndarray]
    relative_distance: dict[str, np.ndarray]
    target: int
    crop: bool = False

    def arrays(self) -> dict[str, np.ndarray]:
        """The curves by name, each [n]: ``values`` (of the transform), ``probability`` (of the target),
        ``top_class`` and, per layer, ``distance-<layer>`` and ``relative_distance-<layer>``."""
        curves = {"values": self.values, "probability": self.prob, "top_class": self.top_class}
        for name in self.distance:
            curves[f"distance-{name}"] = self.distance[name]
            curves[f"relative_distance-{name}"] = self.relative_distance[name]
        return curves

    def table(self) -> tuple[list[str], list[list[object]]]:
        """The header and rows (numbers as numbers) of :meth:`to_csv`: one row per computed transform value."""
        names = list(self.distance)
        header = ([f"{self.kind}_{UNITS[self.kind]}", "target_probability", "top_class", "top_class_name"]
                  + [f"distance_{n}" for n in names] + [f"relative_distance_{n}" for n in names])
        rows: list[list[object]] = []
        for i, value in enumerate(self.values):
            if self.top_class[i] < 0:
                continue
            index = int(self.top_class[i])
            rows.append([value, self.prob[i], index, class_name(self.classes, index)]
                        + [self.distance[n][i] for n in names] + [self.relative_distance[n][i] for n in names])
        return header, rows

    def to_csv(self) -> str:
        """One line per transform value: value, target probability, top class (index and name) and
        each layer's distance and relative distance (6 significant digits)."""
        return csv_text(*self.table(), digits=6)


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(tensor.shape[0], -1).float()


def _distance_reducer(name: str, references: dict[str, torch.Tensor]):
    """A reducer of layer ``name``'s output [N, ...] to each item's feature distance [N] to the
    reference's, ``references[name]`` [1, D]; in the batch that carries the reference image first
    (before ``references`` has it), the distances of the other items [N - 1] and that reference."""

    def reduce(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        flat = _flat(output)
        if name in references:
            return (flat - references[name]).norm(dim=1), None
        reference = flat[:1].clone()
        return (flat[1:] - reference).norm(dim=1), reference

    return reduce


class _CurveArrays:
    """The curves being filled in over ``count`` values for ``layers``: probability, top class and
    per-layer distances, NaN (class -1) where not computed yet."""

    def __init__(self, count: int, layers: list[str]) -> None:
        self.prob = np.full(count, np.nan, dtype=np.float64)
        self.top_class = np.full(count, -1, dtype=np.int64)
        self.distance = {name: np.full(count, np.nan, dtype=np.float64) for name in layers}
        self.relative = {name: np.full(count, np.nan, dtype=np.float64) for name in layers}

    def put(self, start: int, stop: int, probs: torch.Tensor, target: int, distances: dict[str, torch.Tensor],
            references: dict[str, torch.Tensor]) -> None:
        """Fill values ``start:stop`` from their probabilities [n, classes] and feature ``distances``
        [n] per layer (relative to the norm of ``references[name]``)."""
        self.prob[start:stop] = probs[:, target].double().cpu().numpy()
        self.top_class[start:stop] = probs.argmax(dim=1).cpu().numpy()
        for name, distance in distances.items():
            self.distance[name][start:stop] = distance.double().cpu().numpy()
            norm = float(references[name].norm())
            self.relative[name][start:stop] = self.distance[name][start:stop] / norm if norm > 0 else np.nan

    def snapshot(self, kind: str, values: np.ndarray, target: int, crop: bool, done: int,
                 classes: Sequence[str]) -> InvarianceResult:
        """A copy of the curves so far as a result with ``done`` of ``len(values)`` values filled."""
        return InvarianceResult(kind, values, self.prob.copy(), self.top_class.copy(),
                                {k: v.copy() for k, v in self.distance.items()},
                                {k: v.copy() for k, v in self.relative.items()}, target, crop,
                                done=done, total=len(values), classes=list(classes))


def curve_steps(model: LoadedModel, x: torch.Tensor, *, kind: str = "rotation", values: np.ndarray | None = None,
                layers: list[str] | None = None, target: int | None = None, batch_size: int | None = None,
                crop: bool = False) -> Generator[Step, None, InvarianceResult]:
    """Invariance curves computed batch by batch; yields a :class:`~cnnviz.core.progress.Step` after each
    batch (values ``done`` of ``total``, ``partial``: the :class:`InvarianceResult` so far) and returns the
    complete one. See :func:`curves`."""
    x = one_image(x, "invariance").detach().to(model.device)
    axis = -2 if kind == "vertical" else -1
    values = default_values(kind, x.shape[axis]) if values is None else check_values(kind, values)
    layers = default_layers(model) if layers is None else list(layers)
    for name in layers:
        check_layer(model, name, "invariance")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"invariance: batch_size must be at least 1 (or None for automatic), not {batch_size}")
    count = len(values)
    reference_input = transform_many(x, kind, [0.0 if kind != "scale" else 1.0], crop=crop) if crop else x
    arrays = _CurveArrays(count, layers)
    references: dict[str, torch.Tensor] = {}
    reducers = {name: _distance_reducer(name, references) for name in layers}
    chosen: list[int] = [] if target is None else [target]  # the target, once known

    def run(start: int, stop: int) -> None:
        first = not references
        images = transform_many(x, kind, values[start:stop], crop=crop)
        if first:  # the untransformed image rides along in the first batch
            images = torch.cat([reference_input, images])
        probs, kept = forward_batch(model, images, reducers=reducers)
        if first:
            if not chosen:
                chosen.append(int(probs[0].argmax()))
            if not 0 <= chosen[0] < probs.shape[1]:
                raise IndexError(f"target class {chosen[0]} is outside the model's {probs.shape[1]} classes")
            references.update({name: kept[name][1] for name in layers})
            probs = probs[1:]
        arrays.put(start, stop, probs, chosen[0], {name: kept[name][0] for name in layers}, references)

    for done in in_batches(count, batch_size, run, cap=job_cap(model, x, count)):
        yield Step(done, count, arrays.snapshot(kind, values, chosen[0], crop, done, model.categories))
    return arrays.snapshot(kind, values, chosen[0], crop, count, model.categories)


def curves(model: LoadedModel, x: torch.Tensor, *, kind: str = "rotation", values: np.ndarray | None = None,
           layers: list[str] | None = None, target: int | None = None, batch_size: int | None = None,
           progress: ProgressFn | None = None, crop: bool = False) -> InvarianceResult:
    """Invariance curves of preprocessed input ``x`` [1, C, H, W] (one image; a larger batch is a
    ValueError) under ``kind`` (see :data:`KINDS`).

    ``values``: transform values (None: :func:`default_values` for the input's size); ``layers``: whose features are
    compared (None: :func:`default_layers`); ``target``: class whose probability is plotted (None:
    top-1 of ``x``); ``batch_size``: transformed images per forward pass (None: 64; clamped to what
    fits in memory, halved on out-of-memory or when slow); ``progress(done, total)`` returning False
    cancels; ``crop``: see :func:`transform`. At most :data:`MAX_VALUES` finite values (scale > 0).
    """
    steps = curve_steps(model, x, kind=kind, values=values, layers=layers, target=target,
                        batch_size=batch_size, crop=crop)
    return run_to_end(steps, progress)


def value_range(start: float, stop: float, step: float) -> np.ndarray:
    """The transform values ``start``, ``start + step``, … up to ``stop`` (included when within half a
    step), rounded to 6 decimals; just ``[start]`` for a step ≤ 0 or ``stop < start``. More than
    :data:`MAX_VALUES` values or a non-finite bound is a ValueError."""
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise ValueError(f"invariance: the range {start:g} to {stop:g} step {step:g} must be finite numbers")
    if step <= 0 or stop < start:
        return np.array([float(start)])
    count = int(np.floor((stop - start) / step + 0.5)) + 1
    if count > MAX_VALUES:
        raise ValueError(f"invariance: {start:g} to {stop:g} in steps of {step:g} gives {count} values; at most "
                         f"{MAX_VALUES} (use a larger step or a shorter range)")
    return np.round(start + step * np.arange(count), 6)


def default_range(kind: str, size: int = 224) -> tuple[float, float, float]:
    """(first value, last value, step) of :func:`default_values` for ``kind`` and an input of ``size``
    pixels (step 1 when there is a single value; rounded to 6 decimals); :func:`value_range` of them
    gives the values back."""
    values = default_values(kind, size)
    step = round(float(values[1] - values[0]), 6) if len(values) > 1 else 1.0
    return float(values[0]), float(values[-1]), step


def value_index(values: np.ndarray, value: float) -> int:
    """Index of the transform value in ``values`` [n] nearest to ``value``."""
    return int(np.argmin(np.abs(np.asarray(values, dtype=np.float64) - value)))


def curves_csv(curves: Sequence[tuple[str, InvarianceResult]]) -> str:
    """Several images' curves as one CSV: an ``image`` column (the name of each (name, result) pair)
    followed by the columns of :meth:`InvarianceResult.to_csv`; a layer missing from a curve is left
    empty. Only computed values get a line."""
    tables = [(name, *result.table()) for name, result in curves]
    header: list[str] = []
    for _name, columns, _rows in tables:
        header.extend(column for column in columns if column not in header)
    rows: list[list[object]] = []
    for name, columns, table_rows in tables:
        for row in table_rows:
            cells = dict(zip(columns, row))
            rows.append([name] + [cells.get(column, "") for column in header])
    return csv_text(["image", *header], rows, digits=6)
