"""Feature-space benchmark: feature extraction, t-SNE maps and retrieval queries vs their baselines, CPU.

Prints, with ratios to a baseline measured in the same run:
- ``features.extract`` vs the same DataLoader (``datasets.batches``) feeding plain batched forwards of
  the whole model under ``torch.inference_mode`` (goal ≤ 1.1×): 10 000 Fashion-MNIST test images with
  the bundled model (``classifier.fc1``, and ``features.relu3`` with GeM; skipped when the dataset is
  absent), and 500 photos at 224 px (the bundled photos cropped and mirrored, as in ``bench_scan.py``)
  with SqueezeNet from ``../shared/`` (else an untrained AlexNet), ``features`` with GeM;
- ``embedding.project`` (t-SNE) of 10 000 × 64 features (the Fashion-MNIST ``classifier.fc1`` features
  through a fixed random projection to 64; random clustered features when the dataset is absent) vs
  openTSNE's ``TSNE(perplexity=30, random_state=0, n_jobs=os.cpu_count()).fit`` called directly (goal
  ≤ 1.05×), with the seconds of each and the largest difference between the two maps;
- one ``retrieval.search`` (k = 15) over 100 000 × 256 random features, median of 20 queries (goal
  ≤ 20 ms), beside the floor: one matrix-vector product with an already normalised bank and a top-k.
Run: ``.venv/bin/python benchmarks/bench_features.py`` (``--quick``: 2 000 images, 100 photos, t-SNE
of 5 000 points, one repeat).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_scan import photo_model, plain_forwards, write_photos
from openTSNE import TSNE
from timing import compare

from cnnviz.core.data import datasets
from cnnviz.core.model import models
from cnnviz.core.per_dataset import embedding, features, retrieval

GOALS = {"extract": "≤ 1.10×", "tsne": "≤ 1.05×", "search": "≤ 20 ms"}


def extraction_row(label: str, model: models.LoadedModel, ds: datasets.ImageDataset, layer: str, pooling: str,
                   args: argparse.Namespace) -> features.Features:
    """Print one row: extraction and baseline images/s and their time ratio; returns the features."""
    made: list[features.Features] = []

    def ours() -> None:
        made[:] = [features.extract(model, ds, layer=layer, pooling=pooling, batch_size=args.batch_size,
                                    workers=args.workers)]

    seconds, plain = compare(ours, plain_forwards(model, ds, args.batch_size, args.workers), args.repeats)
    count = len(ds)
    print(f"{label:<58} {count / seconds:9.0f}/s {count / plain:9.0f}/s {seconds / plain:6.2f}×  {GOALS['extract']}")
    return made[0]


def extraction_rows(args: argparse.Namespace, fmnist_count: int, photo_count: int) -> np.ndarray | None:
    """The extraction rows; returns the Fashion-MNIST ``classifier.fc1`` features (None without the dataset)."""
    print(f"{'extract vs the same DataLoader + plain forwards':<58} {'extract':>11} {'baseline':>11} "
          f"{'ratio':>7}  goal")
    fc_values = None
    if datasets.fashion_mnist_available():
        bundled = models.load_default()
        ds = datasets.fashion_mnist("test", limit=fmnist_count)
        fc_values = extraction_row(f"{fmnist_count} Fashion-MNIST, bundled, classifier.fc1 (128)", bundled, ds,
                                   "classifier.fc1", "auto", args).values
        extraction_row(f"{fmnist_count} Fashion-MNIST, bundled, features.relu3 GeM (128)", bundled, ds,
                       "features.relu3", "gem", args)
    else:
        print("Fashion-MNIST is not installed: its rows are skipped")
    model = photo_model()
    layer = "features"
    with tempfile.TemporaryDirectory() as folder:
        photos = write_photos(Path(folder), photo_count)
        extraction_row(f"{photo_count} photos 224 px, {model.name}, {layer} GeM", model, photos, layer, "gem", args)
    return fc_values


def tsne_inputs(fc_values: np.ndarray | None, count: int) -> np.ndarray:
    """``count`` × 64 float32 features: the fc features times a fixed Gaussian projection, or clusters."""
    rng = np.random.default_rng(0)
    if fc_values is not None and len(fc_values) >= count:
        projection = rng.normal(size=(fc_values.shape[1], 64)) / 8.0
        return (fc_values[:count] @ projection).astype(np.float32)
    centres = rng.normal(size=(10, 64)) * 3
    return (centres[rng.integers(0, 10, count)] + rng.normal(size=(count, 64))).astype(np.float32)


def tsne_row(values: np.ndarray, repeats: int) -> None:
    f = features.Features(values, np.arange(len(values)), None, [], [], "projected", "none", 3.0)
    maps: dict[str, np.ndarray] = {}

    def ours() -> None:
        maps["ours"] = embedding.project(f, "tsne", seed=0).xy

    def direct() -> None:
        maps["direct"] = np.asarray(TSNE(perplexity=30, random_state=0, n_jobs=os.cpu_count()).fit(values))

    seconds, plain = compare(ours, direct, repeats)
    difference = float(np.abs(maps["ours"] - maps["direct"]).max())
    print(f"\nt-SNE of {len(values)} × {values.shape[1]}: embedding.project {seconds:.1f} s, openTSNE directly "
          f"{plain:.1f} s, {seconds / plain:.2f}×  goal {GOALS['tsne']}; max |Δxy| {difference:.2g}")


def search_row(count: int = 100_000, size: int = 256, queries: int = 20) -> None:
    rng = np.random.default_rng(1)
    f = features.Features(rng.normal(size=(count, size)).astype(np.float32), np.arange(count), None, [], [],
                          "random", "none", 3.0)
    retrieval.search(f, 0)
    ours = []
    for query in range(queries):
        began = time.perf_counter()
        retrieval.search(f, query, k=15)
        ours.append(time.perf_counter() - began)
    bank = retrieval.normalised(f.values)
    floor = []
    with torch.inference_mode():
        for query in range(queries):
            began = time.perf_counter()
            torch.topk(bank @ bank[query], 16)
            floor.append(time.perf_counter() - began)
    print(f"\none retrieval.search over {count} × {size}: {statistics.median(ours) * 1e3:.1f} ms  goal "
          f"{GOALS['search']}  (floor, normalised bank @ query + top-k: {statistics.median(floor) * 1e3:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 000 Fashion-MNIST images, 100 photos, t-SNE of 5 000 points, 1 repeat")
    parser.add_argument("--repeats", type=int, help="timed runs of each (default 3, --quick 1; t-SNE at most 2)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: datasets.default_workers)")
    args = parser.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    fmnist_count, photo_count, points = (2_000, 100, 5_000) if args.quick else (10_000, 500, 10_000)
    torch.manual_seed(0)
    fc_values = extraction_rows(args, fmnist_count, photo_count)
    if fc_values is not None and len(fc_values) < points and datasets.fashion_mnist_available():
        bundled = models.load_default()
        fc_values = features.extract(bundled, datasets.fashion_mnist("test", limit=points), layer="classifier.fc1",
                                     batch_size=args.batch_size, workers=args.workers).values
    tsne_row(tsne_inputs(fc_values, points), min(args.repeats, 2))
    search_row()


if __name__ == "__main__":
    main()
