"""Finished feature-space maps kept beside their cached features, so that a map made before (a restored
session, a restart) is shown again without running t-SNE or UMAP again.

A map's file (:func:`map_path`) is named for its features' file (which already names the model's weights, the
dataset's files, the layer, the pooling and p) and for what shaped the map: the method, and t-SNE's perplexity
and iterations and the seed where the method uses them. It is an ``.npz`` of the coordinates and a JSON header
(no pickle). Only finished maps are saved; a file that cannot be read is treated as absent.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from cnnviz.core.per_dataset.embedding import Embedding

FORMAT = "cnnviz-feature-map/1"


def map_path(features_file: Path, method: str, seed: int, perplexity: float, iterations: tuple[int, int]) -> Path:
    """The file of the map of the features in ``features_file`` by ``method`` (the seed only for t-SNE and UMAP,
    the perplexity and the (early exaggeration, normal) ``iterations`` only for t-SNE), in the same folder."""
    key: list[object] = [features_file.name, method]
    if method != "pca":
        key.append(int(seed))
    if method == "tsne":
        key += [float(perplexity), [int(n) for n in iterations]]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]
    return features_file.with_name(f"map-{digest}.npz")


def save_map(embedding: Embedding, path: Path) -> Path:
    """Write the finished map ``embedding`` to ``path`` (written whole, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "method": embedding.method, "params": embedding.params,
            "kl_divergence": embedding.kl_divergence, "seconds": embedding.seconds}
    partial = path.with_name(f".{path.name}.part")
    with open(partial, "wb") as stream:
        np.savez(stream, xy=np.asarray(embedding.xy, dtype=np.float32),
                 meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
    partial.replace(path)
    return path


def load_map(path: Path, rows: int) -> Embedding | None:
    """The map saved in ``path`` when it is readable and has ``rows`` points, else None (a bad file is
    removed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            xy = np.asarray(data["xy"], dtype=np.float32)
        if meta.get("format") != FORMAT or xy.shape != (rows, 2):
            raise ValueError(f"{path} is not a map of {rows} points")
        return Embedding(xy, str(meta["method"]), dict(meta["params"]), meta["kl_divergence"],
                         float(meta["seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
