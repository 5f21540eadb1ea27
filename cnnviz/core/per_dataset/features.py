"""One feature vector per image of a dataset, from one layer of a model (for maps and retrieval).

:func:`extract` runs the model over an :class:`~cnnviz.core.data.datasets.ImageDataset` (decoded in
DataLoader workers) and pools the layer's output of each image into a vector inside the forward
pass, so no feature map is kept: ``"avg"`` and ``"max"`` over positions, ``"gem"`` the generalised
mean ``(mean over positions of max(x, ε)^p)^(1/p)`` (Radenović et al. 2018; p = 1 is the average,
p → ∞ the maximum), ``"flatten"`` the whole map. Results can be cached on disk (.npz, no pickle)
and are reopened only for the same model weights, dataset files, layer and pooling.
"""

import hashlib
import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnviz.core.data.datasets import ImageDataset, batches
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.layers import called_once
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset.scan import weights_checksum
from cnnviz.core.progress import ProgressFn, Step, report

POOLINGS = ("auto", "avg", "max", "gem", "flatten")
GEM_EPSILON = 1e-6
"""Inputs of GeM pooling are clamped at this value (the p-th power needs non-negative inputs)."""
FORMAT = "cnnviz-features/1"


@dataclass(frozen=True)
class Features:
    """Feature vectors ``values`` [N, D] float32 of the images ``images`` [N] (dataset indices; the
    images that could be decoded), their ``labels`` [N] int64 (None without labels), the dataset's
    ``classes`` and ``paths`` [N] (relative file names), made from ``layer`` with ``pooling`` (the one
    used: "avg", "max", "gem", "flatten" or "none" for a vector layer) and GeM exponent ``p``.
    ``model_name``, ``weights`` and ``dataset`` (identity) say what made them; ``seconds`` how long."""

    values: np.ndarray
    images: np.ndarray
    labels: np.ndarray | None
    classes: list[str]
    paths: list[str]
    layer: str
    pooling: str
    p: float
    model_name: str = ""
    weights: str = ""
    dataset: dict[str, Any] | None = None
    seconds: float = 0.0

    @cached_property
    def unit_vectors(self) -> torch.Tensor:
        """``values`` with each row scaled to unit L2 norm (all-zero rows stay zero), float32 [N, D];
        made once (retrieval compares against it for every query)."""
        x = torch.as_tensor(np.asarray(self.values, dtype=np.float32))
        return x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)

    @property
    def size(self) -> int:
        """Feature length D."""
        return int(self.values.shape[1])

    def row_of(self, image: int) -> int | None:
        """Row of dataset index ``image`` in ``values``, None when it has none (not decodable)."""
        rows = np.flatnonzero(self.images == image)
        return int(rows[0]) if len(rows) else None


def gem(maps: torch.Tensor, p: float = 3.0, eps: float = GEM_EPSILON) -> torch.Tensor:
    """Generalised-mean pooling of maps [N, C, H, W] -> [N, C]: (mean of max(x, eps)^p)^(1/p).

    Computed as m · (mean of (max(x, eps) / m)^p)^(1/p) with m the largest value of each map, which
    is the same number but neither overflows nor underflows for a large p."""
    x = maps.clamp(min=eps)
    top = x.amax(dim=(2, 3), keepdim=True)
    return (x / top).pow(p).mean(dim=(2, 3)).pow(1.0 / p) * top[:, :, 0, 0]


def pooled(output: torch.Tensor, pooling: str, p: float = 3.0) -> torch.Tensor:
    """One layer output [N, C, H, W] or [N, D] as vectors [N, D'] by ``pooling`` (see :data:`POOLINGS`)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    if output.dim() != 4:
        return output.flatten(1)
    if pooling in ("auto", "avg"):
        return output.mean(dim=(2, 3))
    if pooling == "max":
        return output.amax(dim=(2, 3))
    if pooling == "gem":
        return gem(output, p)
    return output.flatten(1)


def used_pooling(shape: tuple[int, ...], pooling: str) -> str:
    """The pooling really applied to an output of ``shape``: "none" for vectors, "avg" for "auto"."""
    if len(shape) != 4:
        return "none"
    return "avg" if pooling == "auto" else pooling


def feature_size(shape: tuple[int, ...], pooling: str) -> int:
    """Length of the vector :func:`pooled` makes from one item of an output of ``shape`` [1, …]."""
    if len(shape) == 4 and pooling != "flatten":
        return int(shape[1])
    return int(np.prod(shape[1:]))


def of_image(model: LoadedModel, x: torch.Tensor, *, layer: str, pooling: str = "auto", p: float = 3.0) -> np.ndarray:
    """The feature vector [D] float32 of one preprocessed image ``x`` [1, C, H, W] (e.g. an image
    from outside the dataset, as a retrieval query), made as :func:`extract` makes them."""
    _check(pooling, p)
    output = forward_to(model, x, layers=layer, stop_early=called_once(model, layer),
                        reduce=lambda _name, out: pooled(out, pooling, p).float())[layer]
    return output[0].cpu().numpy().astype(np.float32)


def _check(pooling: str, p: float) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    if not np.isfinite(p) or p <= 0:
        raise ValueError(f"the GeM exponent p must be a number above 0, not {p!r}")


def extract_steps(model: LoadedModel, dataset: ImageDataset, *, layer: str, pooling: str = "auto", p: float = 3.0,
                  batch_size: int = 64, workers: int | None = None, progress: ProgressFn | None = None
                  ) -> Generator[Step, None, Features]:
    """:func:`extract` batch by batch: yields steps (``done`` of ``total`` images) and returns the :class:`Features`."""
    _check(pooling, p)
    began = time.perf_counter()
    stop = called_once(model, layer)
    rows: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    shape: list[tuple[int, ...]] = []

    def reduce(_name: str, output: torch.Tensor) -> torch.Tensor:
        shape[:] = [tuple(output.shape)]
        return pooled(output, pooling, p).float()

    done = 0
    report(progress, 0, len(dataset))
    for batch in batches(dataset, model.preprocessor(), range(len(dataset)), batch_size=batch_size,
                         workers=workers):
        for image, reason in batch.failed:
            dataset.skip(image, reason)
        if len(batch.indices):
            rows.append(forward_to(model, batch.x, layers=layer, stop_early=stop, reduce=reduce)[layer].cpu().numpy())
            kept.append(batch.indices.numpy())
        done += len(batch.indices) + len(batch.failed)
        report(progress, done, len(dataset))
        yield Step(done, len(dataset))
    if not rows:
        raise ValueError(f"none of the {len(dataset)} images of {dataset.name} could be read")
    images = np.concatenate(kept)
    labels = None if dataset.labels is None else np.asarray(dataset.labels, dtype=np.int64)[images]
    return Features(np.concatenate(rows).astype(np.float32), images, labels, list(dataset.classes),
                    [dataset.files[i] for i in images], layer, used_pooling(shape[0], pooling), float(p),
                    model.display_name, weights_checksum(model), dataset.identity(), time.perf_counter() - began)


def extract(model: LoadedModel, dataset: ImageDataset, *, layer: str, pooling: str = "auto", p: float = 3.0,
            batch_size: int = 64, workers: int | None = None, progress: ProgressFn | None = None,
            cache: str | Path | None = None) -> Features:
    """Features of every image of ``dataset`` from ``layer`` pooled by ``pooling`` (:data:`POOLINGS`;
    "auto": "avg" for maps, nothing for vectors; ``p`` the GeM exponent > 0).

    ``progress(done, total)`` (images) returning False raises :class:`~cnnviz.core.progress.Cancelled`.
    With ``cache`` (a folder) the features are read from there when saved before for the same model
    weights, files, layer, pooling and p, and saved there after computing.
    """
    _check(pooling, p)
    path = cache_path(cache, model, dataset, layer, pooling, p) if cache is not None else None
    if path is not None and path.is_file():
        try:
            return load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    steps = extract_steps(model, dataset, layer=layer, pooling=pooling, p=p, batch_size=batch_size, workers=workers,
                          progress=progress)
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        result: Features = stop.value
    finally:
        steps.close()
    if path is not None:
        save(result, path)
    return result


def cache_path(folder: str | Path, model: LoadedModel, dataset: ImageDataset, layer: str, pooling: str,
               p: float) -> Path:
    """The file in ``folder`` holding the features of this model (weights), dataset (files), layer and pooling."""
    key = json.dumps([weights_checksum(model), dataset.identity(), layer, pooling, p], sort_keys=True)
    return Path(folder) / f"features-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def save(features: Features, path: str | Path) -> Path:
    """Write ``features`` to ``path`` (.npz: arrays plus a JSON header, no pickle); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "classes": features.classes, "paths": features.paths, "layer": features.layer,
            "pooling": features.pooling, "p": features.p, "model_name": features.model_name,
            "weights": features.weights, "dataset": features.dataset, "seconds": features.seconds,
            "labelled": features.labels is not None}
    partial = path.with_name(f".{path.name}.part")
    with open(partial, "wb") as stream:
        np.savez(stream, values=features.values, images=features.images,
                 labels=features.labels if features.labels is not None else np.zeros(0, np.int64),
                 meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
    partial.replace(path)
    return path


def load(path: str | Path) -> Features:
    """Features saved by :func:`save`. Raises OSError or ValueError for another kind of file."""
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a cnnviz features file")
        return Features(data["values"], data["images"], data["labels"] if meta["labelled"] else None,
                        meta["classes"], meta["paths"], meta["layer"], meta["pooling"], meta["p"],
                        meta["model_name"], meta["weights"], meta["dataset"], meta["seconds"])
