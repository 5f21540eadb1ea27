"""The background side of the Feature space pane besides the map itself (which is the feature space analysis's
:func:`~cnnviz.analyses.feature_space.run`): a retrieval query and the pooling comparison. Each job is a plain
function handed to a worker; the comparison yields :class:`~cnnviz.core.progress.Step` as
:mod:`cnnviz.gui.runtime.worker` expects.
"""

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from cnnviz.analyses import feature_space
from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_dataset import features, retrieval
from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import Match, PoolingScore
from cnnviz.core.progress import Step
from cnnviz.gui.widgets.thumbnails import fit, thumbnails

COMPARED = ("avg", "max", "gem", "flatten")
"""The poolings "Compare poolings" scores."""
NEAREST = 15
"""How many nearest images a query shows."""


@dataclass(frozen=True, eq=False)
class MapRequest:
    """One map: ``model`` over ``dataset`` (both compared by identity) with the analysis ``settings``, t-SNE's
    ``iterations``, features cached in the folder ``cache`` (None: not cached)."""

    model: LoadedModel
    dataset: ImageDataset
    settings: feature_space.Settings
    iterations: tuple[int, int]
    cache: Path | None


def compare_job(model: LoadedModel, dataset: ImageDataset, layer: str, p: float, cache: Path | None
                ) -> Generator[Step, None, list[PoolingScore]]:
    """The features of ``layer`` with each pooling of :data:`COMPARED`, then their retrieval scores."""
    total = len(dataset) * len(COMPARED)
    by_pooling: dict[str, Features] = {}
    for number, pooling in enumerate(COMPARED):
        by_pooling[pooling] = yield from feature_space.cached_features(model, dataset, layer, pooling, p, cache,
                                                                       number * len(dataset), total)
    yield Step(total, total)
    return retrieval.compare(by_pooling)


@dataclass(frozen=True, eq=False)
class QueryResult:
    """The nearest images to the query of ``map_result`` (``image``: its dataset index, None for an image from
    outside the dataset), the query's ``label`` (None: unknown), the matches and their thumbnails (``pictures``),
    and ``result``: ``map_result`` with this query (:func:`cnnviz.analyses.feature_space.with_query`; None for
    an image from outside the dataset, which the analysis cannot name)."""

    map_result: FeatureSpaceResult
    image: int | None
    label: int | None
    matches: list[Match]
    pictures: list[Image.Image | None]
    result: FeatureSpaceResult | None = None


def query_job(model: LoadedModel, dataset: ImageDataset, shown: FeatureSpaceResult, image: int | None,
              x: torch.Tensor | None, k: int = NEAREST) -> QueryResult:
    """The ``k`` images of ``dataset`` nearest to its image ``image`` in the map ``shown`` (made by ``model``)
    or, when None, to the input ``x`` [1, C, H, W] pooled as the map's features (an image from outside the
    dataset), with their thumbnails."""
    if image is not None:
        result = feature_space.with_query(shown, dataset, image, k)
        pictures = [None if p is None else fit(Image.fromarray(p)) for p in result.match_pictures]
        return QueryResult(shown, image, result.query_label, list(result.matches), pictures, result)
    if x is None:
        raise ValueError("there is no current input to search with")
    f, chosen = shown.features, shown.settings
    vector = features.of_image(model, x, layer=f.layer, pooling=chosen.pooling, p=chosen.p)
    matches = retrieval.search(f, vector, k)
    return QueryResult(shown, None, None, matches, thumbnails(dataset, [m.image for m in matches]))
