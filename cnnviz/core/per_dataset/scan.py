"""Dataset scan: what each unit of a model detects across a whole image collection.

For every image of an :class:`~cnnviz.core.data.datasets.ImageDataset` and every tracked layer, a unit's
score is its largest value over the layer's positions. :func:`build` keeps each unit's ``k`` best
images (Zeiler & Fergus 2014, Fig. 2: the top 9 activations over a dataset) with the position of the
maximum, and the statistics of :class:`~cnnviz.core.per_dataset.scan_index.UnitStats` (fire rate, class means,
selectivity), in a :class:`~cnnviz.core.per_dataset.scan_index.ScanIndex`::

    from cnnviz.core.data import datasets
    from cnnviz.core.per_dataset import scan
    index = scan.build(model, datasets.open_folder("photos/"), k=9)
    index.top("features.3", channel=12)          # [Hit(image=…, position=(row, col), activation=…), …]
    index.save("photos.npz"); index = scan.load("photos.npz", model, ds)

Activations are reduced inside the forward pass, batch by batch (a running top-k), so memory does
not grow with the number of images. Images are decoded in DataLoader workers. A scan can be split
into shards (``shard=(i, n)``) scanned anywhere and combined with :func:`merge`; a cancelled scan
keeps a partial index that ``build(..., resume=index)`` continues.
"""

import hashlib
import json
import re
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.core.data.datasets import Batch, ImageDataset, batches
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.layers import LayerTrace, called_once, trace
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset import scan_file
from cnnviz.core.per_dataset.scan_index import SORT_KEYS, Hit, ScanIndex, ScanMismatch, Tally, UnitStats
from cnnviz.core.progress import Cancelled, ProgressFn, Step, report

__all__ = ["SORT_KEYS", "Hit", "PartialScan", "ScanCancelled", "ScanIndex", "ScanMismatch", "UnitStats", "build",
           "build_steps", "cache_path", "conv_layers", "default_layers", "load", "merge", "read", "weights_checksum"]


class ScanCancelled(Cancelled):
    """A scan stopped by its progress callback; ``index`` is the partial index it had made."""

    def __init__(self, index: ScanIndex) -> None:
        super().__init__(f"scan cancelled after {index.scanned} of {index.total} images")
        self.index = index


@dataclass(frozen=True)
class PartialScan:
    """A scan so far, the ``partial`` of each step of :func:`build_steps`: a snapshot ``index`` (a copy,
    safe to keep) and the speed of this run in ``images_per_s``."""

    index: ScanIndex
    images_per_s: float


RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
"""Layers that rectify a convolution's maps as Zeiler & Fergus's scans do (their outputs are the maps shown)."""
BEFORE_RECTIFIER = (nn.BatchNorm2d,)
"""Layers that may come between a convolution and its rectifier (conv → batch norm → ReLU)."""


def conv_layers(model: LoadedModel) -> list[str]:
    """Every ``nn.Conv2d`` the model's forward pass calls, in the order it calls them."""
    modules = dict(model.module.named_modules())
    return [name for name in model.layer_names() if isinstance(modules.get(name), nn.Conv2d)]


def default_layers(model: LoadedModel) -> list[str]:
    """The rectified output of every ``nn.Conv2d`` the forward pass calls, in call order: the ReLU (ReLU6,
    LeakyReLU) the pass calls next after the convolution (batch norm between allowed), where that ReLU is called
    once (a shared ReLU's output is its last call, not this convolution's); else the convolution itself."""
    modules = dict(model.module.named_modules())
    traced = trace(model)
    leaves = [n for n in traced if n in modules and not any(True for _ in modules[n].children())]
    chosen = []
    for at, name in enumerate(leaves):
        if isinstance(modules[name], nn.Conv2d):
            chosen.append(_rectifier_after(leaves[at + 1:], modules, traced) or name)
    return list(dict.fromkeys(chosen))


def _rectifier_after(following: list[str], modules: dict[str, nn.Module], traced: dict[str, LayerTrace]) -> str:
    """The first of ``following`` (leaf layers in call order) if it is a once-called rectifier, after any batch
    norms; "" otherwise."""
    for name in following:
        if isinstance(modules[name], BEFORE_RECTIFIER):
            continue
        entry = traced[name]
        maps = entry.output_shape is not None and len(entry.output_shape) == 3
        return name if isinstance(modules[name], RECTIFIERS) and entry.calls == 1 and maps else ""
    return ""


def weights_checksum(model: LoadedModel) -> str:
    """Hex sha256 over the names, shapes, dtypes and bytes of the model's state_dict."""
    digest = hashlib.sha256()
    for name, tensor in model.module.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_path(folder: str | Path, model: LoadedModel, dataset: ImageDataset) -> Path:
    """Where to cache the index of ``model`` (by weights) on ``dataset`` (by file list) in ``folder``."""
    files = hashlib.sha256(json.dumps(dataset.identity(), sort_keys=True).encode()).hexdigest()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", model.name)[:40]
    return Path(folder) / f"{name}-{weights_checksum(model)[:12]}-{files[:12]}.npz"


def shard_images(count: int, shard: tuple[int, int] | None) -> np.ndarray:
    """Dataset indices of ``shard`` (i, n): those with index % n == i - 1; all for None."""
    if shard is None:
        return np.arange(count)
    part, parts = shard
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in shard) or not 1 <= part <= parts:
        raise ValueError(f"shard must be (i, n) with 1 ≤ i ≤ n, not {shard!r}")
    return np.arange(part - 1, count, parts)


def _checked_layers(model: LoadedModel, layers: str | Sequence[str] | None) -> list[str]:
    names = default_layers(model) if layers is None else ([layers] if isinstance(layers, str) else list(layers))
    if not names:
        raise ValueError(f"{model.name} has no Conv2d layer to scan; name the layers to track")
    modules = dict(model.module.named_modules())
    missing = [n for n in names if not n or n not in modules]
    if missing:
        raise KeyError(f"no layer called {', '.join(map(repr, missing))} in {model.name}")
    return list(dict.fromkeys(names))


def new_index(model: LoadedModel, dataset: ImageDataset, layers: str | Sequence[str] | None = None, k: int = 9,
              shard: tuple[int, int] | None = None) -> ScanIndex:
    """An empty index of ``model`` on ``dataset`` (arguments as :func:`build`)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1 image, not {k!r}")
    labels = None if dataset.labels is None else np.asarray(dataset.labels, dtype=np.int64)
    return ScanIndex(model_name=model.display_name, weights=weights_checksum(model), dataset=dataset.identity(),
                     label_array=labels, classes=list(dataset.classes), layers=_checked_layers(model, layers), k=k,
                     shard=shard, total=len(shard_images(len(dataset), shard)), seen=np.zeros(len(dataset), bool),
                     class_count=np.zeros(len(dataset.classes) if labels is not None else 0, np.int64))


def _resumed(model: LoadedModel, dataset: ImageDataset, resume: ScanIndex, layers: str | Sequence[str] | None,
             k: int, shard: tuple[int, int] | None) -> ScanIndex:
    check_belongs(resume, model, dataset)
    if layers is not None and _checked_layers(model, layers) != resume.layers:
        raise ScanMismatch("resume: the layers differ from those of the partial index")
    if (k, shard) != (resume.k, resume.shard) and (k, shard) != (9, None):
        raise ScanMismatch(f"resume: the partial index has k={resume.k}, shard={resume.shard}")
    return resume.copy()


CANDIDATE_SHARE = 0.25
"""Above this share of (image, channel) pairs that may enter the top k, positions are found for all."""


def _positions(flat: torch.Tensor, scores: torch.Tensor, threshold: torch.Tensor | None) -> torch.Tensor:
    """Flat position of each score's maximum in ``flat`` [B, C, HW] (first one), found only for the
    pairs whose score reaches ``threshold`` [C] (the k-th best so far; None: all); -1 for the others,
    which cannot enter the top k. Finding a maximum's position costs ten times finding the maximum."""
    if threshold is None:
        return flat.argmax(dim=2)
    candidate = scores >= threshold
    if candidate.float().mean() > CANDIDATE_SHARE:
        return flat.argmax(dim=2)
    where = torch.full(scores.shape, -1, dtype=torch.int64, device=scores.device)
    items, channels = candidate.nonzero(as_tuple=True)
    if len(items):
        where[items, channels] = flat[items, channels].argmax(dim=1)
    return where


def _reducer(index: ScanIndex):
    """A ``reduce`` for :func:`~cnnviz.core.model.forward.forward_to` giving, per item and channel,
    [B, C, 2] float64 of (score, flat position of the score; 0 without a grid; -1 where the score
    cannot enter the top k), and noting each layer's output grid (H, W) or None in ``index.grids``."""

    def reduce(name: str, output: torch.Tensor) -> torch.Tensor:
        if output.dim() == 4:
            index.grids[name] = (int(output.shape[2]), int(output.shape[3]))
            flat = output.flatten(2)
            scores = flat.amax(dim=2)
            tally = index.tallies.get(name)
            threshold = None if tally is None else torch.from_numpy(tally.values[:, -1]).to(scores)
            where = _positions(flat, scores, threshold)
            return torch.stack([scores.double(), where.double()], dim=2)
        if output.dim() == 2:
            index.grids[name] = None
            return torch.stack([output.double(), torch.zeros_like(output, dtype=torch.float64)], dim=2)
        raise ValueError(f"a scan needs layers with outputs [N, C, H, W] or [N, C]; {name} gives "
                         f"{tuple(output.shape)}")

    return reduce


def add_batch(model: LoadedModel, index: ScanIndex, batch: Batch, *, stop_early: bool = True) -> None:
    """Score the images of ``batch`` for every layer of ``index`` in one forward pass and add them."""
    for image, reason in batch.failed:
        index.seen[image] = True
        index.skipped.append((image, reason))
    if len(batch.indices) == 0:
        return
    reduced = forward_to(model, batch.x, layers=index.layers, stop_early=stop_early,
                         reduce=_reducer(index))
    images = batch.indices.numpy()
    onehot = None
    if index.label_array is not None:
        onehot = np.eye(len(index.classes))[index.label_array[images]]
        index.class_count += onehot.sum(axis=0).astype(np.int64)
    for layer in index.layers:
        scores, where = reduced[layer].cpu().numpy().transpose(2, 0, 1)
        grid = index.grids[layer]
        if layer not in index.tallies:
            index.tallies[layer] = Tally.empty(scores.shape[1], index.k, len(index.class_count), grid is not None)
        positions = np.stack(np.divmod(where.astype(np.int64), grid[1] if grid else 1), axis=2).astype(np.int32)
        if grid is None:
            positions[:] = -1
        index.tallies[layer].add(scores, images, positions, onehot)
    index.seen[images] = True
    index.count += len(images)


def build_steps(model: LoadedModel, dataset: ImageDataset, *, layers: str | Sequence[str] | None = None, k: int = 9,
                batch_size: int = 64, workers: int | None = None, progress: ProgressFn | None = None,
                shard: tuple[int, int] | None = None,
                resume: ScanIndex | None = None) -> Generator[Step, None, ScanIndex]:
    """:func:`build` batch by batch: yields a :class:`~cnnviz.core.progress.Step` after each batch (images
    ``done`` of ``total``, ``partial``: a :class:`PartialScan`) and returns the index.

    Closing the generator stops the scan (worker processes and hooks are cleaned up); the last step's
    ``partial.index`` is then the partial result. ``progress`` returning False raises :class:`ScanCancelled`.
    """
    index = (_resumed(model, dataset, resume, layers, k, shard) if resume is not None
             else new_index(model, dataset, layers, k, shard))
    todo = [int(i) for i in shard_images(len(dataset), index.shard) if not index.seen[i]]
    stop_early = all(called_once(model, layer) for layer in index.layers)
    began, done_before = time.perf_counter(), index.scanned
    report_step(progress, index)
    for batch in batches(dataset, model.preprocessor(), todo, batch_size=batch_size, workers=workers):
        add_batch(model, index, batch, stop_early=stop_early)
        for image, reason in batch.failed:
            dataset.skip(image, reason)
        rate = (index.scanned - done_before) / max(time.perf_counter() - began, 1e-9)
        report_step(progress, index)
        yield Step(index.scanned, index.total, PartialScan(index.copy(), rate))
    return index


def report_step(progress: ProgressFn | None, index: ScanIndex) -> None:
    """Report the index's progress; raise :class:`ScanCancelled` with a copy when ``progress`` says stop."""
    try:
        report(progress, index.scanned, index.total)
    except Cancelled:
        raise ScanCancelled(index.copy()) from None


def build(model: LoadedModel, dataset: ImageDataset, *, layers: str | Sequence[str] | None = None, k: int = 9,
          batch_size: int = 64, workers: int | None = None, progress: ProgressFn | None = None,
          shard: tuple[int, int] | None = None, resume: ScanIndex | None = None) -> ScanIndex:
    """Scan ``dataset`` with ``model``: each unit's ``k`` best images and the unit statistics.

    ``layers``: names (None: :func:`default_layers`, each conv layer's rectified output), each with outputs
    [N, C, H, W] or [N, C]; ``k`` ≥ 1 hits per unit; ``batch_size`` images per forward pass; ``workers`` decoding
    processes (None: :func:`~cnnviz.core.data.datasets.default_workers`); ``shard`` (i, n): only the images
    whose index % n == i - 1 (i from 1); ``resume``: a partial index of the same model and dataset to
    continue (its layers, k and shard are kept). ``progress(done, total)`` (images) returning False
    raises :class:`ScanCancelled`, which carries the partial index. Images that cannot be decoded
    are skipped and listed in ``index.skipped`` and ``dataset.skipped``.
    """
    steps = build_steps(model, dataset, layers=layers, k=k, batch_size=batch_size, workers=workers,
                        progress=progress, shard=shard, resume=resume)
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()


def check_belongs(index: ScanIndex, model: LoadedModel, dataset: ImageDataset) -> None:
    """Raise :class:`ScanMismatch` unless ``index`` was made by ``model``'s weights on ``dataset``'s files."""
    if index.weights != weights_checksum(model):
        raise ScanMismatch(f"the scan index was made with another model ({index.model_name}, weights "
                           f"{index.weights[:12]}…), not {model.display_name}")
    if index.files != list(dataset.files):
        raise ScanMismatch(f"the scan index was made on another file list ({len(index.files)} files from "
                           f"{index.dataset.get('root')}), not the {len(dataset)} files of {dataset.name}")


def read(path: str | Path) -> ScanIndex:
    """The index saved in ``path``, not checked against a model or dataset (e.g. to merge shards).
    Raises OSError when unreadable and :class:`ScanMismatch` for a file that is not a scan index."""
    return scan_file.read(path)


def load(path: str | Path, model: LoadedModel, dataset: ImageDataset) -> ScanIndex:
    """The index saved in ``path``, checked against ``model`` and ``dataset`` (ScanMismatch for
    another model or file list; OSError when unreadable). Its skipped images are noted in ``dataset``."""
    index = scan_file.read(path)
    check_belongs(index, model, dataset)
    for image, reason in index.skipped:
        dataset.skip(image, reason)
    return index


def merge(indexes: Sequence[ScanIndex]) -> ScanIndex:
    """The index of the union of disjoint parts (shards) of one scan: same model weights, file list,
    layers and ``k``; raises :class:`ScanMismatch` otherwise or when two parts saw the same image."""
    if not indexes:
        raise ValueError("merge needs at least one scan index")
    first = indexes[0]
    merged = first.copy()
    for other in indexes[1:]:
        _check_mergeable(first, other)
        if np.any(merged.seen & other.seen):
            raise ScanMismatch(f"the parts overlap: {int((merged.seen & other.seen).sum())} images are in both")
        for layer, tally in other.tallies.items():
            if layer in merged.tallies:
                merged.tallies[layer].merge(tally)
            else:
                merged.tallies[layer] = tally.copy()
                merged.grids[layer] = other.grids[layer]
        merged.seen |= other.seen
        merged.count += other.count
        merged.class_count = merged.class_count + other.class_count
        merged.skipped = sorted(merged.skipped + other.skipped)
        merged.total += other.total
    merged.shard = None if len(indexes) > 1 else first.shard
    return merged


def _check_mergeable(a: ScanIndex, b: ScanIndex) -> None:
    for what, left, right in (("model weights", a.weights, b.weights), ("file list", a.files, b.files),
                              ("layers", a.layers, b.layers), ("k", a.k, b.k)):
        if left != right:
            raise ScanMismatch(f"cannot merge scans with different {what}")

