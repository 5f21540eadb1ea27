"""The feature-space CSV tables: every row and value read back equals what was written."""

import csv
import io

import numpy as np
import pytest

from cnnviz.core.per_dataset import feature_tables, retrieval
from cnnviz.core.per_dataset.features import Features


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def make_features(labelled: bool = True) -> Features:
    values = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.5, 0.5]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1, 0], dtype=np.int64) if labelled else None
    return Features(values, np.array([0, 2, 3, 5, 6]), labels, ["cat", "dog"] if labelled else [],
                    [f"x/{i}.png" for i in (0, 2, 3, 5, 6)], "fc", "none", 3.0)


def test_map_csv_holds_index_file_label_and_coordinates():
    f = make_features()
    xy = np.array([[0.25, -1.5], [1e-9, 2.0], [3.0, 4.0], [5.0, 6.0], [7.125, 8.0]], dtype=np.float32)
    rows = table(feature_tables.map_csv(f, xy))
    assert list(rows[0]) == list(feature_tables.MAP_HEADER)
    assert [int(r["index"]) for r in rows] == [0, 2, 3, 5, 6]
    assert [r["file"] for r in rows] == f.paths
    assert [r["label"] for r in rows] == ["cat", "cat", "dog", "dog", "cat"]
    np.testing.assert_array_equal(np.array([[float(r["x"]), float(r["y"])] for r in rows], np.float32), xy)


def test_map_csv_without_labels_leaves_the_label_empty_and_checks_the_shape():
    f = make_features(labelled=False)
    rows = table(feature_tables.map_csv(f, np.zeros((5, 2))))
    assert [r["label"] for r in rows] == [""] * 5
    with pytest.raises(ValueError, match="shape"):
        feature_tables.map_csv(f, np.zeros((4, 2)))


def test_scores_csv_lists_map_precisions_and_per_class_ap():
    f = make_features()
    scores = retrieval.evaluate(f)
    rows = {r["metric"]: float(r["value"]) for r in table(feature_tables.scores_csv(scores))}
    assert rows["mAP"] == scores.mean_average_precision
    assert rows["precision@1"] == scores.precision_at[1] and rows["precision@15"] == scores.precision_at[15]
    assert rows["queries"] == 5
    assert rows["AP cat"] == scores.per_class["cat"] and rows["AP dog"] == scores.per_class["dog"]
    assert len(rows) == 1 + 3 + 1 + 2


def test_pooling_csv_has_one_row_per_pooling():
    f = make_features()
    results = retrieval.compare({"avg": f, "max": f})
    rows = table(feature_tables.pooling_csv(results))
    assert [r["pooling"] for r in rows] == ["avg", "max"]
    assert [int(r["size"]) for r in rows] == [2, 2]
    assert float(rows[0]["mAP"]) == results[0].scores.mean_average_precision
    assert float(rows[1]["precision@5"]) == results[1].scores.precision_at[5]
    assert float(rows[0]["ms_per_query"]) == pytest.approx(results[0].seconds_per_query * 1000.0)


def test_matches_csv_marks_same_labels():
    f = make_features()
    matches = retrieval.search(f, 0, k=4)
    rows = table(feature_tables.matches_csv(f, matches, query_label=0))
    assert [int(r["index"]) for r in rows] == [m.image for m in matches]
    assert 0 not in [int(r["index"]) for r in rows]
    assert [r["same_label"] for r in rows] == [str(int(m.label == 0)) for m in matches]
    assert rows[0]["file"] == "x/2.png" and rows[0]["rank"] == "1"
