"""Feature evolution during training (Zeiler & Fergus 2014, Fig. 4): for chosen units of a layer, at each
epoch's checkpoint of a run, the unit's strongest image patch of a dataset sample and its deconvnet
projection; and the first convolution's filters at each epoch.

Each checkpoint scans the sample once (:func:`cnnviz.core.per_dataset.scan.build`, one hit per unit); the
scan index is cached in the run folder (``scans/``) and reopened when the same checkpoint, layer and images
come back. The units default to the strongest of the last epoch (highest top activation over the sample).
"""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model import models
from cnnviz.core.model.heads import head_name
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset import scan
from cnnviz.core.per_dataset.scan_index import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch, hit_patch
from cnnviz.core.per_image import filters
from cnnviz.core.progress import Step
from cnnviz.core.training.runs import RunRecord

CACHE_FOLDER = "scans"
"""Folder of a run that holds the checkpoints' scan indexes."""
DEFAULT_UNITS = 6


@dataclass(frozen=True)
class Evolution:
    """For each of ``epochs`` (rows) and ``units`` (columns) of ``layer``, the unit's strongest patch in
    ``cells`` [epoch][unit] (:class:`~cnnviz.core.per_dataset.top_patches.HitPatch`: the image patch and its
    deconvnet projection, both [h, w, C] in [0, 1]); ``filters``: the first convolution's weights
    [out, in, kH, kW] at each epoch (empty without one), that layer's name ``first_conv``; the ``images``
    sampled."""

    layer: str
    epochs: tuple[int, ...]
    units: tuple[int, ...]
    cells: tuple[tuple[HitPatch, ...], ...]
    filters: tuple[np.ndarray, ...]
    first_conv: str
    images: ImageDataset

    def activations(self) -> np.ndarray:
        """The strongest activation of each cell [epochs, units]."""
        return np.array([[cell.hit.activation for cell in row] for row in self.cells], dtype=np.float64).reshape(
            len(self.epochs), len(self.units))

    def image_indices(self) -> np.ndarray:
        """The sample index of each cell's image [epochs, units]."""
        return np.array([[cell.hit.image for cell in row] for row in self.cells], dtype=np.int64).reshape(
            len(self.epochs), len(self.units))


def sample(dataset: ImageDataset, count: int, seed: int = 0) -> ImageDataset:
    """``count`` images of ``dataset`` drawn with ``seed`` (all of them when it has no more), in dataset order."""
    if count >= len(dataset):
        return dataset
    chosen = np.sort(np.random.default_rng(seed).choice(len(dataset), size=count, replace=False))
    return dataset.subset(chosen.tolist(), f"{dataset.name} · {count} sampled")


def strongest_units(index: ScanIndex, layer: str, count: int = DEFAULT_UNITS) -> list[int]:
    """The ``count`` units of ``layer`` with the highest top activation in ``index`` (ties: lower unit first)."""
    return [int(unit) for unit in index.order(layer, "max")[:count]]


def checkpoint_scan_steps(model: LoadedModel, images: ImageDataset, layer: str, cache: Path | None, *,
                          batch_size: int = 64, workers: int | None = None) -> Generator[Step, None, ScanIndex]:
    """The scan of ``images`` by ``model`` over ``layer`` (one hit per unit), from ``cache`` when it holds it,
    else scanned (steps of images) and written there."""
    path = None
    if cache is not None:
        base = scan.cache_path(cache, model, images)
        path = base.with_name(f"{base.stem}-{layer.replace('/', '_')}.npz")
        if path.is_file():
            try:
                found = scan.load(path, model, images)
                if layer in found.layers and not found.partial:
                    return found
            except (OSError, ValueError, KeyError):
                pass
    index = yield from scan.build_steps(model, images, layers=[layer], k=1, batch_size=batch_size, workers=workers)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(path)
    return index


def default_layer(model: LoadedModel) -> str:
    """The last rectified convolution before the head: a 1×1 convolution head (SqueezeNet's) has as many units as
    classes, which says little about what the network learned."""
    layers, convs = scan.default_layers(model), scan.conv_layers(model)
    try:
        head = head_name(model)
    except ValueError:
        head = ""
    if len(layers) > 1 and len(layers) == len(convs) and convs[-1] == head:
        return layers[-2]
    return layers[-1]


def first_conv_weights(model: LoadedModel) -> tuple[str, np.ndarray | None]:
    """The first convolution's name and weights [out, in, kH, kW] (("", None) without one)."""
    convs = filters.conv_layers(model)
    return (convs[0], filters.weights(model, convs[0]).numpy()) if convs else ("", None)


def evolution_steps(run: RunRecord, images: ImageDataset, *, layer: str = "", units: Sequence[int] = (),
                    count: int = DEFAULT_UNITS, epochs: Sequence[int] = (), cache: bool = True,
                    device: str = "cpu", batch_size: int = 64,
                    workers: int | None = None) -> Generator[Step, None, Evolution]:
    """:class:`Evolution` of ``run`` on ``images`` (see the module docstring) as steps (images scanned of
    all checkpoints' images). ``layer``: "" for :func:`default_layer`; ``units``: () for the
    ``count`` strongest of the last epoch; ``epochs``: () for every whole epoch. Raises ValueError for an
    epoch without a checkpoint or a unit out of range."""
    chosen = tuple(epochs) or run.epochs
    if not chosen:
        raise ValueError(f"{run.folder} has no whole-epoch checkpoint")
    folders = [run.checkpoint(epoch) for epoch in chosen]
    cache_folder = run.folder / CACHE_FOLDER if cache else None
    total = len(images) * len(chosen)
    picked: list[int] = []
    cells: dict[int, tuple[HitPatch, ...]] = {}
    first: dict[int, tuple[str, np.ndarray | None]] = {}
    for number, at in enumerate([len(chosen) - 1, *range(len(chosen) - 1)]):  # the last epoch picks the units
        model = models.load_checkpoint(folders[at], device=device)
        layer = layer or default_layer(model)
        steps = checkpoint_scan_steps(model, images, layer, cache_folder, batch_size=batch_size, workers=workers)
        try:
            while True:
                step = next(steps)
                yield Step(number * len(images) + step.done, total, message=f"scanning epoch {chosen[at]}")
        except StopIteration as stop:
            index: ScanIndex = stop.value
        finally:
            steps.close()
        picked = picked or _checked_units(index, layer, units, count)
        cells[at] = tuple(hit_patch(model, images, layer, unit, 0, index.top(layer, channel=unit)[0])
                          for unit in picked)
        first[at] = first_conv_weights(model)
    yield Step(total, total)
    weights = tuple(w for at in range(len(chosen)) if (w := first[at][1]) is not None)
    return Evolution(layer, tuple(chosen), tuple(picked), tuple(cells[at] for at in range(len(chosen))), weights,
                     first[0][0], images)


def _checked_units(index: ScanIndex, layer: str, units: Sequence[int], count: int) -> list[int]:
    picked = [int(u) for u in units] or strongest_units(index, layer, count)
    channels = index.channels(layer)
    if any(not 0 <= unit < channels for unit in picked):
        raise ValueError(f"units: {layer} has units 0…{channels - 1}, not {', '.join(map(str, picked))}")
    return picked
