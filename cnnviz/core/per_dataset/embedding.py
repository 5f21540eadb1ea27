"""Two-dimensional maps of dataset features: PCA, t-SNE (openTSNE) and UMAP (optional umap-learn).

Every method is seeded, so the same features and settings give the same map. t-SNE is openTSNE's own
``TSNE.fit`` (early exaggeration, then the normal phase), so the map equals openTSNE's for the same
seed; its callbacks hand the map over every :data:`TSNE_CHUNK` iterations, so a run shows progress
and partial maps and can be cancelled.
"""

import os
import queue
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz.core.per_dataset.features import Features
from cnnviz.core.progress import ProgressFn, Step, run_to_end

METHODS = ("pca", "tsne", "umap")
TSNE_CHUNK = 50
"""t-SNE iterations between two partial maps (openTSNE evaluates its KL divergence at each: about 2 %)."""
PCA_BEFORE_TSNE = 50
"""Features longer than :data:`REDUCE_ABOVE` are first reduced to this many principal components."""
REDUCE_ABOVE = 256


@dataclass(frozen=True)
class Embedding:
    """A map: ``xy`` [N, 2] float32 (one row per row of the features), the ``method``, the ``params``
    it ran with, t-SNE's final ``kl_divergence`` (None for the others) and the ``seconds`` it took."""

    xy: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    kl_divergence: float | None = None
    seconds: float = 0.0


def principal_components(values: np.ndarray, n: int = 2) -> np.ndarray:
    """Rows of ``values`` [N, D] projected on their first ``n`` principal axes -> [N, n] float64.

    The axes come from the SVD of the centred data; each axis's sign is chosen so that its
    largest-magnitude coefficient is positive (a fixed choice, as SVD signs are arbitrary).
    """
    centred = np.asarray(values, dtype=np.float64) - np.asarray(values, dtype=np.float64).mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:n]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    projected = centred @ axes.T
    if projected.shape[1] < n:
        projected = np.pad(projected, ((0, 0), (0, n - projected.shape[1])))
    return projected


def _checked(features: Features, method: str) -> np.ndarray:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    values = np.asarray(features.values, dtype=np.float32)
    if len(values) < 3:
        raise ValueError(f"a map needs at least 3 images; these features have {len(values)}")
    if not np.isfinite(values).all():
        raise ValueError("the features hold NaN or infinite values; the model's output is not finite")
    return values


PARALLEL_TSNE_FROM = 5000
"""Points from which t-SNE runs on every core; below, one thread is faster (threads cost more than they save)."""


def tsne_jobs(points: int) -> int:
    """Threads openTSNE gets for ``points`` points: one below :data:`PARALLEL_TSNE_FROM`, else every core."""
    return (os.cpu_count() or 1) if points >= PARALLEL_TSNE_FROM else 1


def _tsne_steps(values: np.ndarray, seed: int, perplexity: float, iterations: tuple[int, int]
                ) -> Generator[Step, None, Embedding]:
    """openTSNE's ``TSNE.fit`` on a helper thread, its callbacks feeding the map every
    :data:`TSNE_CHUNK` iterations to this generator; closing the generator makes the next callback
    stop the optimisation (the run is then joined)."""
    from openTSNE import TSNE

    began = time.perf_counter()
    inputs = principal_components(values, PCA_BEFORE_TSNE) if values.shape[1] > REDUCE_ABOVE else values
    perplexity = float(min(perplexity, max(1.0, (len(values) - 1) / 3.0)))
    updates: queue.Queue[tuple[int, np.ndarray | None]] = queue.Queue()
    stop = threading.Event()

    def callback(iteration: int, _error: float, embedding: np.ndarray) -> bool:
        updates.put((iteration, np.asarray(embedding, dtype=np.float32).copy()))
        return stop.is_set()

    tsne = TSNE(perplexity=perplexity, random_state=seed, n_jobs=tsne_jobs(len(values)),
                early_exaggeration_iter=iterations[0], n_iter=iterations[1], callbacks=callback,
                callbacks_every_iters=TSNE_CHUNK)
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=_fit, args=(tsne, inputs, outcome, updates), name="cnnviz-tsne", daemon=True)
    total = sum(iterations)
    yield Step(0, total, np.zeros((len(values), 2), np.float32))
    thread.start()
    try:
        done, last = 0, 0
        while (update := updates.get())[1] is not None:
            done, last = done + (update[0] - last if update[0] > last else update[0]), update[0]
            yield Step(min(done, total), total, update[1])
    finally:
        stop.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    embedding = outcome["embedding"]
    params = {"perplexity": perplexity, "seed": seed, "early_exaggeration_iter": iterations[0],
              "n_iter": iterations[1], "pca_before": PCA_BEFORE_TSNE if inputs is not values else None}
    return Embedding(np.asarray(embedding, dtype=np.float32).copy(), "tsne", params,
                     float(embedding.kl_divergence), time.perf_counter() - began)


def _fit(tsne: Any, inputs: np.ndarray, outcome: dict[str, Any], updates: queue.Queue) -> None:
    """Run ``tsne.fit(inputs)``, leaving its embedding (or error) in ``outcome``, then post the end."""
    try:
        outcome["embedding"] = tsne.fit(inputs)
    except Exception as error:  # handed over to the generator, which raises it
        outcome["error"] = error
    finally:
        updates.put((0, None))


def _umap(values: np.ndarray, seed: int, neighbours: int) -> Embedding:
    try:
        import umap
    except ImportError as error:
        raise RuntimeError("UMAP needs the optional package umap-learn: pip install 'cnnviz[umap]' "
                           "(or pip install umap-learn), or choose t-SNE or PCA") from error
    began = time.perf_counter()
    neighbours = int(min(neighbours, len(values) - 1))
    xy = umap.UMAP(n_neighbors=neighbours, random_state=seed).fit_transform(values)
    return Embedding(np.asarray(xy, dtype=np.float32), "umap", {"n_neighbors": neighbours, "seed": seed},
                     None, time.perf_counter() - began)


def project_steps(features: Features, method: str = "tsne", seed: int = 0, perplexity: float = 30.0, *,
                  iterations: tuple[int, int] = (250, 500), neighbours: int = 15
                  ) -> Generator[Step, None, Embedding]:
    """:func:`project` step by step: yields steps whose ``partial`` is the map so far (xy [N, 2]) and returns the
    :class:`Embedding`. Only t-SNE has several steps (``iterations``: early-exaggeration and normal
    iterations, openTSNE's defaults); PCA and UMAP yield once before they start."""
    values = _checked(features, method)
    if method == "tsne":
        return (yield from _tsne_steps(values, seed, perplexity, iterations))
    yield Step(0, 1, np.zeros((len(values), 2), np.float32))
    if method == "umap":
        return _umap(values, seed, neighbours)
    began = time.perf_counter()
    xy = principal_components(values).astype(np.float32)
    return Embedding(xy, "pca", {}, None, time.perf_counter() - began)


def project(features: Features, method: str = "tsne", seed: int = 0, perplexity: float = 30.0,
            progress: ProgressFn | None = None, **params: Any) -> Embedding:
    """A 2-D map of ``features`` by ``method`` (:data:`METHODS`): "pca", "tsne" (openTSNE with
    ``perplexity``, capped at (N - 1) / 3; features longer than :data:`REDUCE_ABOVE` are first
    reduced to :data:`PCA_BEFORE_TSNE` principal components) or "umap" (umap-learn, an optional
    extra: a RuntimeError saying how to install it when absent). ``seed`` makes it reproducible;
    ``params`` go to :func:`project_steps`. ``progress(done, total)`` returning False cancels
    (:class:`~cnnviz.core.progress.Cancelled`)."""
    return run_to_end(project_steps(features, method, seed, perplexity, **params), progress)
