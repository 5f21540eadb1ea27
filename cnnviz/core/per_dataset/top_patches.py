"""The pictures of Zeiler & Fergus' Fig. 2 for a scanned unit, and the scan's tables as CSV.

For each of a unit's top hits (:meth:`~cnnviz.core.per_dataset.scan_index.ScanIndex.top`) the image is
preprocessed again, the unit at the hit's position is projected back to the input
(:func:`~cnnviz.core.per_image.deconv.project_unit`, deconvnet by default) and both the projection and the
input are cropped to the unit's receptive field: the projection shows *what* in the patch excites
the unit, the patch shows it in context.
"""

from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.scan_index import Hit, ScanIndex
from cnnviz.core.per_image import deconv
from cnnviz.core.progress import Step
from cnnviz.core.tables import csv_text


@dataclass(frozen=True)
class HitPatch:
    """One hit of a unit drawn: its ``rank`` (0 = best), the ``hit``, the receptive-field ``box``
    (top, left, bottom, right) in input pixels (bottom/right exclusive), the ``patch`` of the
    preprocessed input inside it and the unit's ``projection`` there, both [h, w, C] float32 in
    [0, 1] (the projection: 0.5 = 0, scaled by its largest magnitude), the image's ``name`` and
    ``label`` (class name or "")."""

    rank: int
    hit: Hit
    box: tuple[int, int, int, int]
    patch: np.ndarray
    projection: np.ndarray
    name: str
    label: str


def _with_channels(array: np.ndarray) -> np.ndarray:
    return array[:, :, None] if array.ndim == 2 else array


def hit_patch(model: LoadedModel, dataset: ImageDataset, layer: str, channel: int, rank: int, hit: Hit, *,
              method: str = "deconvnet") -> HitPatch:
    """:class:`HitPatch` of one ``hit`` of unit ``channel`` of ``layer`` (projection by ``method``)."""
    x = model.preprocess(dataset.image(hit.image))
    projection = deconv.project_unit(model, x, layer=layer, channel=channel, position=hit.position, method=method)
    picture = _with_channels(np.asarray(model.deprocess(x), dtype=np.float32) / 255.0)
    shown = deconv.to_display(projection.image).astype(np.float32)
    box = projection.box
    return HitPatch(rank, hit, box, deconv.crop_array(picture, box).copy(), deconv.crop_array(shown, box).copy(),
                    dataset.path(hit.image).name, dataset.label_name(hit.image))


def unit_patches(model: LoadedModel, dataset: ImageDataset, index: ScanIndex, layer: str, channel: int, *,
                 method: str = "deconvnet") -> list[HitPatch]:
    """The :class:`HitPatch` of each of the unit's top hits, best first."""
    return [hit_patch(model, dataset, layer, channel, rank, hit, method=method)
            for rank, hit in enumerate(index.top(layer, channel=channel))]


def patches_steps(model: LoadedModel, dataset: ImageDataset, index: ScanIndex, layer: str,
                  channels: Sequence[int], *, method: str = "deconvnet"
                  ) -> Generator[Step, None, dict[int, list[HitPatch]]]:
    """:func:`unit_patches` of several units, one at a time: yields a :class:`~cnnviz.core.progress.Step`
    after each unit (units ``done`` of ``total``, ``partial``: {channel: patches} of every unit so far, a
    copy) and returns {channel: patches}."""
    done: dict[int, list[HitPatch]] = {}
    for number, channel in enumerate(channels):
        done[int(channel)] = unit_patches(model, dataset, index, layer, int(channel), method=method)
        yield Step(number + 1, len(channels), dict(done), f"projecting unit {int(channel)}")
    return done


def hits_csv(index: ScanIndex, dataset: ImageDataset, layer: str, channels: Sequence[int] | None = None) -> str:
    """CSV of the top hits of ``channels`` of ``layer`` (None: every channel): unit, rank (1 = best),
    file (relative to the dataset root), label, activation, row, col (empty without a grid)."""
    rows: list[list[object]] = []
    units = range(index.channels(layer)) if channels is None else channels
    for channel in units:
        for rank, hit in enumerate(index.top(layer, channel=int(channel)), start=1):
            row, col = hit.position if hit.position is not None else ("", "")
            rows.append([int(channel), rank, dataset.files[hit.image], dataset.label_name(hit.image),
                         hit.activation, row, col])
    return csv_text(["unit", "rank", "file", "label", "activation", "row", "col"], rows, digits=6)


def units_csv(index: ScanIndex, layer: str, channels: Sequence[int] | None = None) -> str:
    """CSV of the statistics of ``channels`` of ``layer`` (None: every channel; e.g. the dead units):
    unit, fire_rate, mean_max, max and, with labels, selectivity."""
    stats = index.stats(layer)
    units = range(len(stats.fire_rate)) if channels is None else channels
    header = ["unit", "fire_rate", "mean_max", "max"] + (["selectivity"] if stats.selectivity is not None else [])
    rows: list[list[object]] = []
    for channel in units:
        c = int(channel)
        row: list[object] = [c, stats.fire_rate[c], stats.mean_max[c], stats.max[c]]
        if stats.selectivity is not None:
            row.append(stats.selectivity[c])
        rows.append(row)
    return csv_text(header, rows, digits=6)
