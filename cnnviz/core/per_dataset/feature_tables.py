"""CSV tables of the feature-space tools: a map's coordinates, retrieval scores and a pooling comparison.

Each function returns the CSV text (comma-separated, ``\\n`` line ends, a header row first), ready to be
written to a file by :func:`~cnnviz.core.tables.csv_text`; floats are written with full precision (the shortest
text that reads back as the same float, ``repr``).
"""

from collections.abc import Sequence

import numpy as np

from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import Match, PoolingScore, RetrievalScores
from cnnviz.core.tables import ROUND_TRIP, csv_text

MAP_HEADER = ("index", "file", "label", "x", "y")
SCORES_HEADER = ("metric", "value")
POOLING_HEADER = ("pooling", "size", "mAP", "precision@1", "precision@5", "precision@15", "ms_per_query")
MATCHES_HEADER = ("rank", "index", "file", "label", "similarity", "same_label")


def label_name(features: Features, row: int) -> str:
    """Class name of row ``row`` of ``features`` ("" without labels)."""
    if features.labels is None:
        return ""
    label = int(features.labels[row])
    return features.classes[label] if 0 <= label < len(features.classes) else str(label)


def map_csv(features: Features, xy: np.ndarray) -> str:
    """One line per image of a map: dataset ``index``, relative ``file``, class ``label`` ("" without
    labels) and the map's ``x``, ``y`` (``xy`` [N, 2], one row per row of ``features``)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape != (len(features.images), 2):
        raise ValueError(f"the map has shape {xy.shape}; the features have {len(features.images)} rows")
    rows = ((int(features.images[r]), features.paths[r], label_name(features, r), float(xy[r, 0]), float(xy[r, 1]))
            for r in range(len(xy)))
    return csv_text(MAP_HEADER, rows, digits=ROUND_TRIP)


def scores_csv(scores: RetrievalScores) -> str:
    """Retrieval scores as (metric, value) lines: ``mAP``, ``precision@k`` for each k, ``queries`` and
    ``AP <class>`` for each class."""
    rows: list[tuple[str, float | int]] = [("mAP", scores.mean_average_precision)]
    rows += [(f"precision@{k}", value) for k, value in scores.precision_at.items()]
    rows.append(("queries", scores.queries))
    rows += [(f"AP {name}", value) for name, value in scores.per_class.items()]
    return csv_text(SCORES_HEADER, rows, digits=ROUND_TRIP)


def pooling_csv(results: Sequence[PoolingScore]) -> str:
    """A pooling comparison: pooling, feature size, mAP, precision at 1/5/15 (empty where not computed)
    and milliseconds per query."""
    rows = ((r.pooling, r.size, r.scores.mean_average_precision,
             *(r.scores.precision_at.get(k, "") for k in (1, 5, 15)), r.seconds_per_query * 1000.0)
            for r in results)
    return csv_text(POOLING_HEADER, rows, digits=ROUND_TRIP)


def matches_csv(features: Features, matches: Sequence[Match], query_label: int | None) -> str:
    """A retrieval list: rank (1 = nearest), dataset index, file, label, similarity and ``same_label``
    (1/0 against ``query_label``; empty when either label is unknown)."""
    paths = {int(image): features.paths[row] for row, image in enumerate(features.images)}
    rows = []
    for rank, match in enumerate(matches, start=1):
        name = "" if match.label is None else features.classes[match.label]
        same = "" if match.label is None or query_label is None else int(match.label == query_label)
        rows.append((rank, match.image, paths.get(match.image, ""), name, match.similarity, same))
    return csv_text(MATCHES_HEADER, rows, digits=ROUND_TRIP)
