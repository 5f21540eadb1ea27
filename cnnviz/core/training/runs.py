"""A run folder read back: its history, settings, checkpoints and data splits (:class:`RunRecord`,
:func:`open_run`), what tells runs apart (:func:`run_labels`), and the record of the splits a run
trained, validated and is tested on (:func:`write_splits`, :func:`read_splits`).

The splits are written once per run as :data:`SPLITS_FILE` (JSON): for each split the dataset's
kind, root, image names and labels, so that the run's own test images can be scored later without
the split being drawn again.
"""

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model import checkpoint_files
from cnnviz.core.training import checkpoints
from cnnviz.core.training.metrics import EpochMetrics

SPLITS_FILE = "splits.json"
RESULTS_FILE = "results.json"
METRICS = ("loss", "top1", "top3")
"""The scores of a history row, in the order of :meth:`RunRecord.table`."""
SPLITS = ("train", "val")


def write_splits(out: str | Path, splits: dict[str, ImageDataset | None]) -> Path:
    """Record ``splits`` (name -> dataset; None left out) in ``out``/:data:`SPLITS_FILE`, atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {name: {"kind": ds.kind, "name": ds.name, "root": str(ds.root), "files": list(ds.files),
                     "labels": ds.labels, "classes": list(ds.classes)}
              for name, ds in splits.items() if ds is not None}
    handle, staging = tempfile.mkstemp(prefix=f".{SPLITS_FILE}.", dir=out)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.replace(staging, out / SPLITS_FILE)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return out / SPLITS_FILE


def read_splits(folder: str | Path) -> dict[str, ImageDataset]:
    """The splits recorded in run ``folder`` by name ({} when none were); ValueError for a damaged record.
    Fashion-MNIST splits come back with their pixels; a folder split names its files, which are read
    when used."""
    path = Path(folder) / SPLITS_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return {name: _dataset(entry) for name, entry in record.items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} cannot be read: {error}") from None


def recorded_split(folder: str | Path, split: str) -> ImageDataset:
    """The ``split`` ("train", "val", "test") recorded in run ``folder``; ValueError when it was not recorded."""
    recorded = read_splits(folder)
    if split not in recorded:
        have = ", ".join(recorded) or "none"
        raise ValueError(f"split: the run {folder} recorded no {split} split (recorded: {have}); "
                         "give the images to use (--data)")
    return recorded[split]


def _dataset(entry: dict[str, Any]) -> ImageDataset:
    files, labels = list(entry["files"]), entry["labels"]
    if entry["kind"] == "fashion-mnist":
        part = files[0].split("/", 1)[0] if files else "test"
        whole = datasets.fashion_mnist(part, data_dir=entry["root"])
        picked = [int(Path(name).stem) for name in files]
        return whole.subset(picked, entry["name"])
    return ImageDataset(entry["name"], Path(entry["root"]), files, labels, list(entry["classes"]), entry["kind"])


@dataclass(frozen=True)
class RunRecord:
    """A run folder: ``name`` (the base model and data), the ``base`` model's description, the
    training ``config`` (values by name), ``classes``, the ``history`` of its latest checkpoint, the
    ``epochs`` with a whole checkpoint, the ``best_epoch`` (lowest validation loss), the ``results``
    rows of ``cnnviz train`` (split, images, log-loss, top-1, top-3; empty when not written) and
    whether its last checkpoint is ``partial`` (stopped within an epoch)."""

    folder: Path
    name: str
    base: dict[str, Any]
    config: dict[str, Any]
    classes: tuple[str, ...]
    history: tuple[EpochMetrics, ...]
    epochs: tuple[int, ...]
    best_epoch: int
    results: tuple[dict[str, Any], ...] = ()
    partial: bool = False

    def checkpoint(self, epoch: int | None = None) -> Path:
        """The checkpoint folder of ``epoch`` (None: the best); ValueError for an epoch without one."""
        epoch = self.best_epoch if epoch is None else epoch
        if epoch not in self.epochs:
            raise ValueError(f"epoch: {self.folder} has no checkpoint of epoch {epoch} "
                             f"(epochs: {', '.join(map(str, self.epochs)) or 'none'})")
        return checkpoints.epoch_folder(self.folder, epoch)

    def rows(self, split: str) -> list[EpochMetrics]:
        """The history rows of ``split`` ("train" or "val"), by epoch."""
        return [row for row in self.history if row.split == split]

    def table(self) -> np.ndarray:
        """The history as [epochs, 2 splits (train, val), 3 scores (:data:`METRICS`)], NaN where missing;
        row ``e`` is epoch ``e + 1``."""
        count = max((row.epoch for row in self.history), default=0)
        table = np.full((count, len(SPLITS), len(METRICS)), np.nan)
        for row in self.history:
            if row.split in SPLITS:
                table[row.epoch - 1, SPLITS.index(row.split)] = [getattr(row, m) for m in METRICS]
        return table

    def best_val_top1(self) -> float:
        """The validation top-1 of the best epoch (NaN without validation)."""
        rows = [row.top1 for row in self.rows("val") if row.epoch == self.best_epoch]
        return rows[0] if rows else float("nan")

    def seconds(self) -> float:
        """Time spent training and validating, summed over the history (s)."""
        return float(sum(row.seconds for row in self.history))

    def result(self, split: str) -> dict[str, Any] | None:
        """The ``results`` row of ``split`` ("test", …), None when not written."""
        return next((row for row in self.results if row.get("split") == split), None)


def open_run(folder: str | Path) -> RunRecord:
    """Read run ``folder`` (a folder of ``epoch-NNN`` checkpoints, or one checkpoint of it: its run is
    read); ValueError when it holds no checkpoint."""
    folder = Path(folder).expanduser()
    if checkpoint_files.is_checkpoint(folder) and checkpoints.EPOCH_FOLDER.match(folder.name.removesuffix("-partial")):
        folder = folder.parent
    whole = checkpoints.whole_epochs(folder)
    partial = sorted(p for p in folder.glob("epoch-*-partial") if checkpoint_files.is_checkpoint(p)) \
        if folder.is_dir() else []
    latest = _latest(whole, partial)
    if latest is None:
        raise ValueError(f"{folder} is not a training run: it holds no epoch-NNN checkpoint")
    meta = checkpoint_files.read_meta(latest)
    base = meta.get("base", {}) or {}
    data = (meta.get("data") or {}).get("train") or ""
    epochs = tuple(epoch for epoch, _ in whole)
    best = int(meta.get("best_epoch", 0))
    if best not in epochs:
        best = epochs[-1] if epochs else 0
    model = base.get("name", "model")
    return RunRecord(folder.resolve(), f"{model} · {data}" if data else model, base, dict(meta.get("config", {})),
                     tuple(meta.get("classes", ())), tuple(checkpoints.history_from(meta)), epochs, best,
                     tuple(_results(folder)), latest.name.endswith("-partial"))


def open_one(folders: Sequence[str | Path], what: str) -> RunRecord:
    """The one run of ``folders`` (:func:`open_run`); ValueError naming ``what`` needs one run for another count."""
    if len(folders) != 1:
        raise ValueError(f"runs: {what} is of one run, not {len(folders)}")
    return open_run(folders[0])


def _latest(whole: list[tuple[int, Path]], partial: list[Path]) -> Path | None:
    candidates = whole[-1:]
    for path in partial:
        match = checkpoints.EPOCH_FOLDER.match(path.name.removesuffix("-partial"))
        if match:
            candidates.append((int(match.group(1)), path))
    return max(candidates, key=lambda item: item[0])[1] if candidates else None


def _results(folder: Path) -> list[dict[str, Any]]:
    path = folder / RESULTS_FILE
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [row for row in rows if isinstance(row, dict)]


def list_runs(root: str | Path) -> list[Path]:
    """The run folders directly inside ``root`` (those holding an ``epoch-NNN`` checkpoint), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [folder for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith(".")
             and any(checkpoint_files.is_checkpoint(p) for p in folder.glob("epoch-*"))]
    return sorted(found, key=lambda folder: folder.stat().st_mtime, reverse=True)


def run_labels(records: list[RunRecord]) -> list[str]:
    """A short name for each run saying what differs from the others: the base model (with the mode)
    when the models differ, then each setting that differs as ``name=value``; a lone run is named by
    its model and mode; runs alike in all of these are told apart by their folder names."""
    if len(records) == 1:
        record = records[0]
        return [f"{record.base.get('name', 'model')} {record.config.get('mode', '')}".strip()]
    models = [r.base.get("name", "model") for r in records]
    keys = sorted({key for r in records for key in r.config} - {"device", "workers", "epochs"})
    differing = [key for key in keys if len({json.dumps(r.config.get(key)) for r in records}) > 1]
    labels = []
    for record, model in zip(records, models):
        parts = [f"{model} {record.config.get('mode', '')}".strip()] if len(set(models)) > 1 else []
        parts += [f"{key}={_text(record.config.get(key))}" for key in differing
                  if not (key == "mode" and len(set(models)) > 1)]
        labels.append(" · ".join(parts))
    if len(set(labels)) < len(labels) or not all(labels):
        labels = [f"{label} ({r.folder.name})" if label else r.folder.name for label, r in zip(labels, records)]
    return labels


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None or value == "" else str(value)
