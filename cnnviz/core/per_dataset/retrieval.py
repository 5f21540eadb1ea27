"""Image retrieval over dataset features: nearest images to a query, and mean average precision.

Similarity is the cosine similarity of L2-normalised feature vectors, computed exactly with one
matrix product (torch). :func:`evaluate` uses every labelled image as a query against all the
others, ranks them by similarity, and scores the ranking by average precision (AP) with the
images of the query's class as the relevant ones; tied similarities count as one threshold, as in
scikit-learn's ``average_precision_score``.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cnnviz.core.per_dataset.features import Features
from cnnviz.core.progress import ProgressFn, report

BLOCK_ITEMS = 4_000_000
"""Similarities ranked together by :func:`evaluate`: BLOCK_ITEMS // N queries at a time (about
50 bytes each while ranking, so about 200 MB)."""


@dataclass(frozen=True)
class Match:
    """A retrieved image: dataset index ``image``, cosine ``similarity`` in [-1, 1], ``label`` (None
    without labels)."""

    image: int
    similarity: float
    label: int | None


@dataclass(frozen=True)
class RetrievalScores:
    """Mean average precision over ``queries`` queries (each labelled image whose class has another
    image), the mean AP of each class's queries (``per_class``), and ``precision_at`` {k: mean share
    of the k nearest images that have the query's label}."""

    mean_average_precision: float
    per_class: dict[str, float]
    precision_at: dict[int, float]
    queries: int


def normalised(values: np.ndarray) -> torch.Tensor:
    """Rows of ``values`` [N, D] scaled to unit L2 norm (all-zero rows stay zero), float32 tensor."""
    x = torch.as_tensor(np.asarray(values, dtype=np.float32))
    return x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)


def search(features: Features, query: int | np.ndarray | torch.Tensor, k: int = 15) -> list[Match]:
    """The ``k`` images most similar to ``query``, most similar first (equal: lower dataset index first).

    ``query`` is a dataset index (that image is then left out of the results) or a feature vector [D]
    made the same way (e.g. from an image outside the dataset).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1 image, not {k!r}")
    bank = features.unit_vectors
    own_row = None
    if isinstance(query, (int, np.integer)):
        own_row = features.row_of(int(query))
        if own_row is None:
            raise KeyError(f"image {query} has no features (it is not in the dataset or could not be read)")
        vector = bank[own_row]
    else:
        vector = normalised(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
        if vector.numel() != bank.shape[1]:
            raise ValueError(f"the query has {vector.numel()} features; these features have {bank.shape[1]}")
    similarity = bank @ vector
    if own_row is not None:
        similarity[own_row] = -torch.inf
    count = min(k, len(similarity) - (own_row is not None))
    if count < 1:
        return []
    kth = similarity.topk(count).values[-1]
    candidates = torch.nonzero(similarity >= kth).flatten().numpy()
    scores = similarity.numpy()[candidates].astype(np.float64)
    order = candidates[np.lexsort((features.images[candidates], -scores))][:count]
    return [Match(int(features.images[row]), float(similarity[row]),
                  None if features.labels is None else int(features.labels[row])) for row in order]


def average_precisions(similarity: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """AP [B] of rankings by ``similarity`` [B, M] (descending) with ``relevant`` [B, M] bool; ties in
    similarity share one threshold (each relevant item gets the precision at the end of its tie group).
    Rows without a relevant item give NaN."""
    values, order = similarity.sort(dim=1, descending=True, stable=True)
    hits = relevant.gather(1, order).double()
    found = hits.cumsum(dim=1)
    m = values.shape[1]
    positions = torch.arange(m).expand_as(values)
    group_end = torch.ones_like(hits, dtype=torch.bool)
    group_end[:, :-1] = values[:, 1:] != values[:, :-1]
    ends = torch.where(group_end, positions, torch.full_like(positions, m))
    ends = ends.flip(1).cummin(dim=1).values.flip(1)
    precision = found.gather(1, ends) / (ends + 1).double()
    return (hits * precision).sum(dim=1) / hits.sum(dim=1)


def evaluate(features: Features, ks: Sequence[int] = (1, 5, 15), progress: ProgressFn | None = None
             ) -> RetrievalScores:
    """Every labelled image as a query against all the others (see the module docstring).

    Queries whose class has no other image are left out. Raises ValueError without labels.
    ``progress(done, total)`` (queries) returning False raises :class:`~cnnviz.core.progress.Cancelled`.
    """
    if features.labels is None:
        raise ValueError("retrieval scores need class labels (a class-per-subfolder dataset); these images "
                         "have none, so no image counts as relevant to another")
    bank = features.unit_vectors
    labels = torch.as_tensor(features.labels)
    count = len(labels)
    ap = torch.full((count,), float("nan"), dtype=torch.float64)
    top: dict[int, list[torch.Tensor]] = {int(k): [] for k in ks}
    block = max(1, BLOCK_ITEMS // count)
    for start in range(0, count, block):
        rows = torch.arange(start, min(count, start + block))
        similarity = (bank[rows] @ bank.T).double()
        similarity[torch.arange(len(rows)), rows] = -torch.inf
        relevant = labels[rows, None] == labels[None, :]
        relevant[torch.arange(len(rows)), rows] = False
        ap[rows] = average_precisions(similarity, relevant)
        ranked = relevant.gather(1, similarity.argsort(dim=1, descending=True, stable=True))
        for k in top:
            top[k].append(ranked[:, : min(k, count - 1)].double().mean(dim=1))
        report(progress, int(rows[-1]) + 1, count)
    valid = ~torch.isnan(ap)
    if not valid.any():
        raise ValueError("no class has two images, so no query has a relevant image")
    per_class = {name: float(ap[valid & (labels == c)].mean()) for c, name in enumerate(features.classes)
                 if bool((valid & (labels == c)).any())}
    precision = {k: float(torch.cat(parts)[valid].mean()) for k, parts in top.items()}
    return RetrievalScores(float(ap[valid].mean()), per_class, precision, int(valid.sum()))


@dataclass(frozen=True)
class PoolingScore:
    """How well one pooling of a layer retrieves: its ``pooling``, feature ``size``, the
    :class:`RetrievalScores` and the mean ``seconds_per_query`` of a :func:`search` (k = 15)."""

    pooling: str
    size: int
    scores: RetrievalScores
    seconds_per_query: float


def timed_search(features: Features, queries: int = 20) -> float:
    """Mean seconds of one :func:`search` (k = 15) over the first ``queries`` images."""
    began = time.perf_counter()
    count = min(queries, len(features.images))
    for row in range(count):
        search(features, int(features.images[row]))
    return (time.perf_counter() - began) / max(count, 1)


def compare(features_by_pooling: dict[str, Features]) -> list[PoolingScore]:
    """:class:`PoolingScore` of each pooling's features (e.g. :func:`~cnnviz.core.per_dataset.features.extract` of
    one layer with "avg", "max", "gem" and "flatten"), in the order given."""
    return [PoolingScore(name, f.size, evaluate(f), timed_search(f)) for name, f in features_by_pooling.items()]
