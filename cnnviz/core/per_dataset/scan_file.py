"""Saving a :class:`~cnnviz.core.per_dataset.scan_index.ScanIndex` as one ``.npz`` file without pickle, and reading it.

The file holds a JSON header (array ``meta``, UTF-8 bytes: format, model name, weights checksum,
dataset identity with its file list, classes, layers, k, shard, total, grids, skipped images), the
arrays ``seen``, ``labels``, ``class_count`` and, for layer number j, ``j.values``, ``j.images``,
``j.positions``, ``j.fired``, ``j.total``, ``j.class_total`` and ``j.class_rectified`` (see
:class:`~cnnviz.core.per_dataset.scan_index.Tally`). It loads with ``np.load(path, allow_pickle=False)``.
"""

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.core.per_dataset.scan_index import ARRAYS, ScanIndex, ScanMismatch, Tally

FORMAT = "cnnviz-scan-index/1"


def save(index: ScanIndex, path: str | Path) -> Path:
    """Write ``index`` to ``path`` (``.npz`` added if missing), replacing it only once fully written;
    returns the path. Raises OSError."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(_header(index)).encode("utf-8"), dtype=np.uint8),
        "seen": index.seen, "class_count": index.class_count,
        "labels": index.label_array if index.label_array is not None else np.zeros(0, np.int64),
    }
    for number, layer in enumerate(index.layers):
        if layer in index.tallies:
            tally = index.tallies[layer]
            arrays.update({f"{number}.{name}": getattr(tally, name) for name in ARRAYS})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(partial, "wb") as stream:
            np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _header(index: ScanIndex) -> dict[str, Any]:
    return {
        "format": FORMAT, "model_name": index.model_name, "weights": index.weights, "dataset": index.dataset,
        "labelled": index.label_array is not None, "classes": index.classes, "layers": index.layers, "k": index.k,
        "shard": list(index.shard) if index.shard else None, "total": index.total, "count": index.count,
        "grids": {name: list(grid) if grid else None for name, grid in index.grids.items()},
        "spatial": {name: tally.spatial for name, tally in index.tallies.items()},
        "skipped": [[i, reason] for i, reason in index.skipped],
    }


def read(path: str | Path) -> ScanIndex:
    """The index saved in ``path``. Raises OSError for an unreadable file and
    :class:`~cnnviz.core.per_dataset.scan_index.ScanMismatch` for a file that is not a cnnviz scan index."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ScanMismatch(f"{path} is not a cnnviz scan index ({error})") from error
    try:
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except (KeyError, ValueError) as error:
        raise ScanMismatch(f"{path} is not a cnnviz scan index (no readable header)") from error
    if meta.get("format") != FORMAT:
        raise ScanMismatch(f"{path} is not a cnnviz scan index of format {FORMAT} "
                           f"(it says {meta.get('format')!r})")
    return _index(meta, arrays)


def _index(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ScanIndex:
    tallies = {}
    for number, layer in enumerate(meta["layers"]):
        if f"{number}.values" in arrays:
            fields = {name: arrays[f"{number}.{name}"] for name in ARRAYS}
            tallies[layer] = Tally(**fields, spatial=bool(meta["spatial"][layer]))
    return ScanIndex(
        model_name=meta["model_name"], weights=meta["weights"], dataset=meta["dataset"],
        label_array=arrays["labels"] if meta["labelled"] else None, classes=list(meta["classes"]),
        layers=list(meta["layers"]), k=int(meta["k"]), shard=tuple(meta["shard"]) if meta["shard"] else None,
        total=int(meta["total"]), seen=arrays["seen"].astype(bool), count=int(meta["count"]),
        class_count=arrays["class_count"], tallies=tallies,
        grids={name: tuple(grid) if grid else None for name, grid in meta["grids"].items()},
        skipped=[(int(i), str(reason)) for i, reason in meta["skipped"]],
    )
