"""What a dataset scan keeps: per unit, its top-k images, and per-channel statistics over the images.

A unit's *score* in an image is its largest value over the layer's positions (for a layer without
positions, its value). :class:`ScanIndex` keeps, per layer and channel, the ``k`` highest scores
with the image and position of each (best first; equal scores: the lower dataset index first), and
running sums for the statistics (:class:`UnitStats`). Its size depends on the layers and ``k``, never
on the number of images (apart from one flag per image saying whether it has been seen).
"""

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

EMPTY = np.iinfo(np.int64).max
"""Image number of an empty top-k slot (sorts after every real image)."""

SORT_KEYS = ("index", "max", "fire_rate", "selectivity")


class ScanMismatch(ValueError):
    """Scan indexes, or an index and a model or dataset, that do not belong together."""


@dataclass(frozen=True)
class Hit:
    """One of a unit's top images: dataset index ``image``, ``position`` (row, col) of the unit's
    largest value in the layer's output grid (None for a layer without one) and that ``activation``."""

    image: int
    position: tuple[int, int] | None
    activation: float


@dataclass(frozen=True)
class UnitStats:
    """Per-channel statistics of ``layer`` over the ``count`` images scored (arrays over channels C):
    ``fire_rate`` (share of images whose score is > 0), ``mean_max`` (mean score), ``max`` (largest
    score; -inf before any image) and, with labels, ``class_mean`` [C, K] (mean score per class; NaN
    for a class without images), ``class_count`` [K] and ``selectivity`` [C], the class selectivity
    index (μ_max − μ_rest) / (μ_max + μ_rest) of Morcos et al. (2018) over the class means of the
    scores rectified at 0 (as after a ReLU; 0 where both are 0), in [0, 1]."""

    layer: str
    count: int
    fire_rate: np.ndarray
    mean_max: np.ndarray
    max: np.ndarray
    class_mean: np.ndarray | None = None
    class_count: np.ndarray | None = None
    selectivity: np.ndarray | None = None


@dataclass
class Tally:
    """The running reduction of one layer: top-k ``values`` [C, k] float32 (-inf where empty),
    ``images`` [C, k] int64 (:data:`EMPTY`), ``positions`` [C, k, 2] int32 (-1 without a grid),
    ``fired`` [C] int64, ``total`` [C] float64 (sum of scores) and, with K classes, ``class_total``
    and ``class_rectified`` [C, K] float64 (sums of the scores and of the scores rectified at 0)."""

    values: np.ndarray
    images: np.ndarray
    positions: np.ndarray
    fired: np.ndarray
    total: np.ndarray
    class_total: np.ndarray
    class_rectified: np.ndarray
    spatial: bool

    @classmethod
    def empty(cls, channels: int, k: int, classes: int, spatial: bool) -> "Tally":
        return cls(np.full((channels, k), -np.inf, np.float32), np.full((channels, k), EMPTY, np.int64),
                   np.full((channels, k, 2), -1, np.int32), np.zeros(channels, np.int64),
                   np.zeros(channels, np.float64), np.zeros((channels, classes), np.float64),
                   np.zeros((channels, classes), np.float64), spatial)

    def copy(self) -> "Tally":
        return replace(self, **{name: getattr(self, name).copy() for name in ARRAYS})

    def add(self, scores: np.ndarray, images: np.ndarray, positions: np.ndarray,
            onehot: np.ndarray | None) -> None:
        """Take in a batch: ``scores`` [B, C], their dataset ``images`` [B], ``positions`` [B, C, 2]
        and the labels as ``onehot`` [B, K] (None without labels)."""
        finite = np.nan_to_num(scores.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        self.fired += (scores > 0).sum(axis=0)
        self.total += finite.sum(axis=0)
        if onehot is not None:
            self.class_total += finite.T @ onehot
            self.class_rectified += np.maximum(finite, 0.0).T @ onehot
        ranked = np.where(np.isnan(scores), -np.inf, scores).astype(np.float32).T
        channels = scores.shape[1]
        self.keep_best(ranked, np.broadcast_to(images, (channels, len(images))), positions.transpose(1, 0, 2))

    def keep_best(self, values: np.ndarray, images: np.ndarray, positions: np.ndarray) -> None:
        """Merge candidates ``values``/``images`` [C, M] and ``positions`` [C, M, 2] into the top k."""
        k = self.values.shape[1]
        values = np.concatenate([self.values, values], axis=1)
        images = np.concatenate([self.images, images], axis=1)
        positions = np.concatenate([self.positions, positions], axis=1)
        order = np.lexsort((images, -values), axis=1)[:, :k]
        self.values = np.take_along_axis(values, order, axis=1)
        self.images = np.take_along_axis(images, order, axis=1)
        self.positions = np.take_along_axis(positions, order[:, :, None], axis=1)

    def merge(self, other: "Tally") -> None:
        """Add ``other``, the tally of a disjoint set of images, to this one."""
        self.keep_best(other.values, other.images, other.positions)
        for name in ("fired", "total", "class_total", "class_rectified"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


ARRAYS = ("values", "images", "positions", "fired", "total", "class_total", "class_rectified")


@dataclass
class ScanIndex:
    """The result of a scan of dataset ``dataset`` (its identity: kind, name, root, files) by the
    model ``model_name`` with weights checksum ``weights``, over ``layers`` with ``k`` hits per unit.

    ``label_array`` [N] int64 holds the labels (None without; :attr:`labels` as a list). ``seen`` [N]
    marks the images scored or skipped; ``total`` is how many the index covers when complete (for
    ``shard`` (i, n), the images whose index % n == i - 1). ``skipped`` holds
    (dataset index, reason) of the images that could not be decoded. ``grids`` maps each layer to its
    output grid (H, W), or None for a layer without one.
    """

    model_name: str
    weights: str
    dataset: dict[str, Any]
    label_array: np.ndarray | None
    classes: list[str]
    layers: list[str]
    k: int
    shard: tuple[int, int] | None
    total: int
    seen: np.ndarray
    count: int = 0
    class_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tallies: dict[str, Tally] = field(default_factory=dict)
    grids: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def labels(self) -> list[int] | None:
        """The dataset's labels (class indices), None without labels."""
        return None if self.label_array is None else self.label_array.tolist()

    @property
    def scanned(self) -> int:
        """Images seen so far (scored or skipped)."""
        return int(self.seen.sum())

    @property
    def partial(self) -> bool:
        """True while some of the images the index covers have not been seen."""
        return self.scanned < self.total

    @property
    def files(self) -> list[str]:
        """The dataset's file list the index was made on."""
        return list(self.dataset.get("files", []))

    def copy(self) -> "ScanIndex":
        """A copy sharing nothing that a further scan changes."""
        return replace(self, seen=self.seen.copy(), class_count=self.class_count.copy(),
                       tallies={name: t.copy() for name, t in self.tallies.items()},
                       grids=dict(self.grids), skipped=list(self.skipped))

    def tally(self, layer: str) -> Tally:
        if layer not in self.layers:
            raise KeyError(f"the scan did not track {layer!r}; it tracked {', '.join(self.layers)}")
        if layer not in self.tallies:
            raise KeyError(f"no image has been scored yet, so {layer!r} has no results")
        return self.tallies[layer]

    def channels(self, layer: str) -> int:
        """Number of channels (units) of ``layer``."""
        return int(self.tally(layer).values.shape[0])

    def spatial(self, layer: str) -> bool:
        """True for a layer with a grid of positions ([N, C, H, W] outputs)."""
        return self.tally(layer).spatial

    def top(self, layer: str, *, channel: int) -> list[Hit]:
        """The unit's top images, best first (at most ``k``; fewer before ``k`` images are scored)."""
        tally = self.tally(layer)
        if not 0 <= channel < tally.values.shape[0]:
            raise IndexError(f"{layer} has {tally.values.shape[0]} channels; {channel} is out of range")
        hits = []
        for value, image, (row, col) in zip(tally.values[channel], tally.images[channel], tally.positions[channel]):
            if image == EMPTY:
                break
            position = (int(row), int(col)) if tally.spatial else None
            hits.append(Hit(int(image), position, float(value)))
        return hits

    def stats(self, layer: str) -> UnitStats:
        """Per-channel statistics of ``layer`` over the images scored so far."""
        tally = self.tally(layer)
        count = max(self.count, 1)
        if self.label_array is None:
            return UnitStats(layer, self.count, tally.fired / count, tally.total / count, tally.values[:, 0].copy())
        per_class = self.class_count.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            class_mean = tally.class_total / per_class
            rectified = tally.class_rectified / per_class
        return UnitStats(layer, self.count, tally.fired / count, tally.total / count, tally.values[:, 0].copy(),
                         class_mean, self.class_count.copy(), selectivity(rectified))

    def dead_units(self, layer: str, threshold: float = 0.0) -> np.ndarray:
        """Channels of ``layer`` whose fire rate is at most ``threshold`` (0: never fired), ascending."""
        return np.flatnonzero(self.stats(layer).fire_rate <= threshold)

    def order(self, layer: str, by: str = "index") -> np.ndarray:
        """Channels of ``layer`` sorted by ``by`` (one of :data:`SORT_KEYS`): by number, or by max score,
        fire rate or selectivity, highest first (equal values: lower channel first)."""
        stats = self.stats(layer)
        if by == "index":
            return np.arange(len(stats.fire_rate))
        keys = {"max": stats.max, "fire_rate": stats.fire_rate, "selectivity": stats.selectivity}
        if by not in keys:
            raise ValueError(f"sort by one of {', '.join(SORT_KEYS)}, not {by!r}")
        key = keys[by]
        if key is None:
            raise ValueError("selectivity needs class labels, and this dataset has none")
        return np.argsort(-np.nan_to_num(key.astype(np.float64), nan=-np.inf), kind="stable")

    def save(self, path: Any) -> Any:
        """Write the index to ``path`` (.npz, no pickle); see :mod:`cnnviz.core.per_dataset.scan_file`. :meth:`load`
        reads it back."""
        from cnnviz.core.per_dataset.scan_file import save

        return save(self, path)

    @staticmethod
    def load(path: Any) -> "ScanIndex":
        """The index :meth:`save` wrote to ``path``, not checked against a model or dataset (for that:
        :func:`cnnviz.core.per_dataset.scan.load`). Raises OSError when unreadable, ScanMismatch for another file."""
        from cnnviz.core.per_dataset.scan_file import read

        return read(path)


def selectivity(class_means: np.ndarray) -> np.ndarray:
    """Class selectivity [C] of non-negative class means [C, K] (Morcos et al. 2018): (μ_max − μ_rest)
    / (μ_max + μ_rest), μ_rest the mean of the other classes' means; classes without images (NaN) are
    left out; 0 where the sum is 0 or fewer than two classes have images."""
    means = np.asarray(class_means, dtype=np.float64)
    present = ~np.isnan(means).all(axis=0)
    means = means[:, present]
    if means.shape[1] < 2:
        return np.zeros(means.shape[0])
    top = means.max(axis=1)
    rest = (means.sum(axis=1) - top) / (means.shape[1] - 1)
    total = top + rest
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (top - rest) / np.where(total > 0, total, 1.0), 0.0)
