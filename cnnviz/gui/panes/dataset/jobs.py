"""The background side of the Dataset pane: opening a source, scanning, the cached index, and the
Fig. 2 patches of the units on screen. Each job is a plain function the pane hands to a worker; the
generators yield :class:`~cnnviz.core.progress.Step` as :mod:`cnnviz.gui.runtime.worker` expects, each
``partial`` a whole partial result (the worker only delivers the latest)."""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import scan, top_patches
from cnnviz.core.per_dataset.scan import ScanIndex
from cnnviz.core.per_dataset.top_patches import HitPatch
from cnnviz.core.progress import Step


@dataclass(frozen=True, eq=False)
class ScanRequest:
    """One scan: of ``dataset`` by ``model`` over ``layers``, continuing ``resume`` (None: from the
    start), saved at ``cache`` when it ends."""

    model: LoadedModel
    dataset: ImageDataset
    layers: tuple[str, ...]
    resume: ScanIndex | None
    cache: Path


@dataclass(frozen=True, eq=False)
class PatchesRequest:
    """The patches of ``channels`` of ``layer`` in ``index`` by ``model``."""

    model: LoadedModel
    index: ScanIndex
    layer: str
    channels: tuple[int, ...]

    def same(self, other: "PatchesRequest | None") -> bool:
        """True if ``other`` asks for the same (model and index compared by identity)."""
        return (other is not None and other.model is self.model and other.index is self.index
                and (other.layer, other.channels) == (self.layer, self.channels))


def scan_job(model: LoadedModel, ds: ImageDataset, layers: Sequence[str], *, resume: ScanIndex | None,
             workers: int | None, batch_size: int) -> Generator[Step, None, ScanIndex]:
    """:func:`cnnviz.core.per_dataset.scan.build_steps` (each step's ``partial`` a
    :class:`~cnnviz.core.per_dataset.scan.PartialScan`); returns the index."""
    return (yield from scan.build_steps(model, ds, layers=list(layers), batch_size=batch_size, workers=workers,
                                        resume=resume))


def reopen(folder: Path, model: LoadedModel, ds: ImageDataset) -> tuple[Path, ScanIndex | None]:
    """Where the index of (``model``, ``ds``) is cached under ``folder``, and that index when a saved one
    matches them (None when there is none, or it belongs to other weights or another file list)."""
    path = scan.cache_path(folder, model, ds)
    if not path.is_file():
        return path, None
    try:
        return path, scan.load(path, model, ds)
    except scan.ScanMismatch:
        return path, None


def save(index: ScanIndex, path: Path) -> Path:
    """Save ``index`` at ``path`` (its folder created); returns the file written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return index.save(path)


def patches_job(model: LoadedModel, ds: ImageDataset, index: ScanIndex, layer: str, channels: Sequence[int],
                method: str = "deconvnet") -> Generator[Step, None, dict[int, list[HitPatch]]]:
    """:func:`cnnviz.core.per_dataset.top_patches.patches_steps` for ``channels`` of ``layer``, each step's
    ``partial`` holding every unit's patches so far (channel -> hits, best first); returns them all."""
    return (yield from top_patches.patches_steps(model, ds, index, layer, list(channels), method=method))
