"""The background side of the Feature space pane: a map (features, then the 2-D embedding and the
retrieval scores, in one job), a retrieval query and the pooling comparison. Each job is a plain
function handed to a worker; the generators yield :class:`~cnnviz.core.progress.Step` as
:mod:`cnnviz.gui.runtime.worker` expects, ``done``/``total`` counting images and embedding iterations
together, each ``partial`` a whole partial result.
"""

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import embedding, features, retrieval
from cnnviz.core.per_dataset.embedding import Embedding
from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import Match, PoolingScore, RetrievalScores
from cnnviz.core.progress import Step
from cnnviz.gui.panes.features.thumbs import thumbnail, thumbnails

COMPARED = ("avg", "max", "gem", "flatten")
"""The poolings "Compare poolings" scores."""
BATCH_SIZE = 64


@dataclass(frozen=True, eq=False)
class MapRequest:
    """One map: ``model`` over ``dataset`` (both compared by identity) at ``layer`` pooled by ``pooling``
    (GeM exponent ``p``), embedded by ``method`` (t-SNE with ``perplexity``, ``seed`` and ``iterations``),
    features cached in ``cache`` (None: not cached)."""

    model: LoadedModel
    dataset: ImageDataset
    layer: str
    pooling: str
    p: float
    method: str
    perplexity: float
    seed: int
    iterations: tuple[int, int]
    cache: Path | None


@dataclass(frozen=True, eq=False)
class MapResult:
    """A finished map: its ``request``, the ``features``, the ``embedding`` and the retrieval ``scores``
    (None without labels; ``scores_note`` then says why)."""

    request: MapRequest
    features: Features
    embedding: Embedding
    scores: RetrievalScores | None
    scores_note: str = ""


MapItem = tuple[Features | None, np.ndarray | None]
"""The ``partial`` of the map and compare jobs' steps: (features once extracted, partial map [N, 2] while
embedding)."""


def map_steps(request: MapRequest) -> int:
    """How many embedding steps the progress of ``request`` counts after the images."""
    return sum(request.iterations) if request.method == "tsne" else 1


def cached_features(model: LoadedModel, dataset: ImageDataset, layer: str, pooling: str, p: float,
                    cache: Path | None, offset: int = 0, total: int | None = None
                    ) -> Generator[Step, None, Features]:
    """:func:`cnnviz.core.per_dataset.features.extract_steps` reading and writing the cache file of
    :func:`cnnviz.core.per_dataset.features.cache_path` (as ``extract(cache=...)`` does); yields (offset + images
    done of ``total`` (default: the images), partial (None, None))."""
    total = len(dataset) if total is None else total
    path = features.cache_path(cache, model, dataset, layer, pooling, p) if cache is not None else None
    if path is not None and path.is_file():
        try:
            return features.load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    steps = features.extract_steps(model, dataset, layer=layer, pooling=pooling, p=p, batch_size=BATCH_SIZE)
    try:
        while True:
            yield Step(offset + next(steps).done, total, (None, None))
    except StopIteration as stop:
        result: Features = stop.value
    finally:
        steps.close()
    if path is not None:
        features.save(result, path)
    return result


def scores_of(f: Features) -> tuple[RetrievalScores | None, str]:
    """The retrieval scores of ``f`` and "" or None and why there are none."""
    try:
        return retrieval.evaluate(f), ""
    except ValueError as error:
        return None, str(error)


def map_job(request: MapRequest) -> Generator[Step, None, MapResult]:
    """Features, then the map (items: :data:`MapItem`), then the retrieval scores."""
    images = len(request.dataset)
    total = images + map_steps(request)
    f = yield from cached_features(request.model, request.dataset, request.layer, request.pooling, request.p,
                                   request.cache, total=total)
    yield Step(images, total, (f, None))
    steps = embedding.project_steps(f, request.method, request.seed, request.perplexity,
                                    iterations=request.iterations)
    try:
        while True:
            step = next(steps)
            yield Step(images + step.done, total, (f, step.partial))
    except StopIteration as stop:
        result: Embedding = stop.value
    finally:
        steps.close()
    scores, note = scores_of(f)
    return MapResult(request, f, result, scores, note)


def compare_job(model: LoadedModel, dataset: ImageDataset, layer: str, p: float, cache: Path | None
                ) -> Generator[Step, None, list[PoolingScore]]:
    """The features of ``layer`` with each pooling of :data:`COMPARED`, then their retrieval scores."""
    total = len(dataset) * len(COMPARED)
    by_pooling: dict[str, Features] = {}
    for number, pooling in enumerate(COMPARED):
        by_pooling[pooling] = yield from cached_features(model, dataset, layer, pooling, p, cache,
                                                         number * len(dataset), total)
    yield Step(total, total, (None, None))
    return retrieval.compare(by_pooling)


@dataclass(frozen=True, eq=False)
class QueryResult:
    """The nearest images to the query of ``map_result`` (``image``: its dataset index, None for an image
    from outside the dataset), the query's ``label`` (None: unknown), the matches' thumbnails and the
    query's own (for the exported figure; None from outside the dataset or unreadable)."""

    map_result: MapResult
    image: int | None
    label: int | None
    matches: list[Match]
    pictures: list[Image.Image | None]
    query_picture: Image.Image | None = None


def query_job(result: MapResult, image: int | None, x: torch.Tensor | None, k: int = 15) -> QueryResult:
    """The ``k`` images nearest to dataset image ``image`` or, when None, to the input ``x`` [1, C, H, W]
    pooled as the map's features (for an image from outside the dataset), with their thumbnails."""
    f, request = result.features, result.request
    label = None
    if image is not None:
        row = f.row_of(image)
        label = None if f.labels is None or row is None else int(f.labels[row])
        matches = retrieval.search(f, image, k)
    elif x is None:
        raise ValueError("there is no current input to search with")
    else:
        vector = features.of_image(request.model, x, layer=request.layer, pooling=request.pooling, p=request.p)
        matches = retrieval.search(f, vector, k)
    query_picture = None if image is None else thumbnail(request.dataset, image)
    return QueryResult(result, image, label, matches, thumbnails(request.dataset, [m.image for m in matches]),
                       query_picture)
