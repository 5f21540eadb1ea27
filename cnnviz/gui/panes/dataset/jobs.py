"""The background side of the Dataset pane besides the scan analysis's stages (which the pane runs itself:
:func:`cnnviz.analyses.scan.scan_steps` and :func:`cnnviz.analyses.scan.patch_steps`): what a scan or a
patches job was asked for, and the cached index (reopened for the same model and dataset, saved when a scan
ends). Each job is a plain function the pane hands to a worker."""

from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import scan
from cnnviz.core.per_dataset.scan import ScanIndex


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
