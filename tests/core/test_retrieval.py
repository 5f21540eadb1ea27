"""Retrieval: cosine search and mean average precision against a brute-force scikit-learn reference."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from cnnviz.core.data import images
from cnnviz.core.per_dataset import features, retrieval

KS = (1, 5, 15)


def cosine(values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity [N] of each row of ``values`` to ``query`` (float64). Identical rows get
    bit-identical similarities (computed once per distinct row), so duplicates are exact ties."""
    x = np.asarray(values, dtype=np.float64)
    distinct, inverse = np.unique(x, axis=0, return_inverse=True)
    q = np.asarray(query, dtype=np.float64)
    q = q / max(np.linalg.norm(q), 1e-12)
    norms = np.maximum(np.linalg.norm(distinct, axis=1), 1e-12)
    return np.array([float(np.dot(row, q)) / n for row, n in zip(distinct, norms)])[inverse.reshape(-1)]


def ranked_others(values: np.ndarray, row: int, images_of_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All rows but ``row``, most similar to it first (ties: lower dataset index first), and their similarities."""
    similarity = cosine(values, values[row])
    others = np.delete(np.arange(len(values)), row)
    order = others[np.lexsort((images_of_rows[others], -similarity[others]))]
    return order, similarity[order]


@dataclasses.dataclass
class ReferenceScores:
    ap: dict[int, float]
    mean_average_precision: float
    per_class: dict[str, float]
    precision_at: dict[int, float]


def brute_force_scores(f: features.Features, ks=KS) -> ReferenceScores:
    """Each labelled row as a query: scikit-learn's AP of the others by cosine similarity (same label =
    relevant), precision of the k most similar; queries without any relevant image are left out."""
    ap: dict[int, float] = {}
    hits: dict[int, dict[int, float]] = {k: {} for k in ks}
    for row in range(len(f.values)):
        order, similarity = ranked_others(f.values, row, f.images)
        relevant = f.labels[order] == f.labels[row]
        if not relevant.any():
            continue
        ap[row] = float(average_precision_score(relevant, similarity))
        for k in ks:
            hits[k][row] = float(relevant[:k].mean())
    per_class = {}
    for c, name in enumerate(f.classes):
        scores = [value for row, value in ap.items() if f.labels[row] == c]
        if scores:
            per_class[name] = float(np.mean(scores))
    return ReferenceScores(ap, float(np.mean(list(ap.values()))), per_class,
                           {k: float(np.mean(list(hits[k].values()))) for k in ks})


def random_features(seed: int = 0) -> features.Features:
    """240 rows of 16 random features in 4 classes plus exact duplicates (same and other labels) and
    one class with a single image; dataset indices are not the row numbers."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 16))
    labels = rng.integers(0, 4, 240)
    values = centres[labels] * 0.6 + rng.normal(size=(240, 16))
    copies = rng.choice(240, 40, replace=False)
    values = np.concatenate([values, values[copies], rng.normal(size=(1, 16))]).astype(np.float32)
    relabelled = labels[copies].copy()
    relabelled[::2] = (relabelled[::2] + 1) % 4          # half the duplicates carry another label
    labels = np.concatenate([labels, relabelled, [4]]).astype(np.int64)
    count = len(values)
    images_of_rows = np.arange(count) * 3 + 7
    return features.Features(values, images_of_rows, labels, ["a", "b", "c", "d", "alone"],
                             [f"{i}.png" for i in images_of_rows], "test", "avg", 3.0)


@pytest.fixture(scope="module")
def random_f():
    return random_features()


def assert_scores_equal(got: retrieval.RetrievalScores, expected: ReferenceScores, per_class: float = 1e-6) -> None:
    """Scores equal the reference to 1e-6 (the per-class means to ``per_class``)."""
    assert got.queries == len(expected.ap)
    assert got.mean_average_precision == pytest.approx(expected.mean_average_precision, abs=1e-6)
    assert got.per_class.keys() == expected.per_class.keys()
    for name, value in expected.per_class.items():
        assert got.per_class[name] == pytest.approx(value, abs=per_class), name
    assert got.precision_at.keys() == expected.precision_at.keys()
    for k, value in expected.precision_at.items():
        assert got.precision_at[k] == pytest.approx(value, abs=1e-6), k


def test_evaluate_equals_scikit_learn_on_random_features_with_ties(random_f):
    expected = brute_force_scores(random_f)
    assert len(expected.ap) == len(random_f.values) - 1          # the single "alone" image is no query
    assert "alone" not in expected.per_class
    assert_scores_equal(retrieval.evaluate(random_f), expected)


def test_evaluate_does_not_depend_on_the_block_size(random_f, monkeypatch):
    whole = retrieval.evaluate(random_f)
    monkeypatch.setattr(retrieval, "BLOCK_ITEMS", 7 * len(random_f.values))
    blocked = retrieval.evaluate(random_f)
    assert blocked.mean_average_precision == pytest.approx(whole.mean_average_precision, abs=1e-12)
    assert blocked.precision_at == pytest.approx(whole.precision_at, abs=1e-12)


def test_average_precisions_equal_scikit_learn_with_ties():
    rng = np.random.default_rng(4)
    similarity = np.round(rng.random((30, 50)), 1)          # many exact ties
    relevant = rng.random((30, 50)) < 0.3
    relevant[:, 0] = True
    got = retrieval.average_precisions(torch.as_tensor(similarity), torch.as_tensor(relevant)).numpy()
    expected = [average_precision_score(relevant[i], similarity[i]) for i in range(30)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_evaluate_equals_scikit_learn_on_fashion_mnist_features(fashion_features):
    assert fashion_features.values.shape == (1000, 128)
    expected = brute_force_scores(fashion_features)
    got = retrieval.evaluate(fashion_features)
    # evaluate's cosines are float32 (up to ~7e-7 from the float64 ones here), so two neighbours closer
    # than that may swap; one such swap moves a query's AP by ~1e-4 and its class's mean (100 queries)
    # by ~1e-6: the class means are checked to 1e-5, the overall scores (1 000 queries) to 1e-6
    assert_scores_equal(got, expected, per_class=1e-5)
    assert set(got.per_class) == set(fashion_features.classes)
    assert got.mean_average_precision > 0.5          # a trained model's fc layer groups the classes


def test_evaluate_without_labels_says_it_needs_labels(random_f):
    unlabelled = dataclasses.replace(random_f, labels=None, classes=[])
    with pytest.raises(ValueError, match="label"):
        retrieval.evaluate(unlabelled)


@pytest.mark.parametrize("row", [0, 5, 240, 263])
def test_search_by_dataset_index_follows_cosine_order_without_the_query(random_f, row):
    query_image = int(random_f.images[row])
    matches = retrieval.search(random_f, query_image, k=15)
    order, similarity = ranked_others(random_f.values, row, random_f.images)
    assert query_image not in [m.image for m in matches]
    assert [m.image for m in matches] == [int(i) for i in random_f.images[order[:15]]]
    np.testing.assert_allclose([m.similarity for m in matches], similarity[:15], rtol=0, atol=1e-6)
    assert [m.label for m in matches] == [int(v) for v in random_f.labels[order[:15]]]


def test_search_returns_all_others_when_k_exceeds_them(random_f):
    small = dataclasses.replace(random_f, values=random_f.values[:6], images=random_f.images[:6],
                                labels=random_f.labels[:6], paths=random_f.paths[:6])
    matches = retrieval.search(small, int(small.images[2]), k=50)
    order, _ = ranked_others(small.values, 2, small.images)
    assert [m.image for m in matches] == [int(i) for i in small.images[order]]


def test_search_by_a_vector_from_outside_the_dataset(random_f):
    query = np.random.default_rng(9).normal(size=16).astype(np.float32)
    matches = retrieval.search(random_f, query, k=20)
    similarity = cosine(random_f.values, query)
    order = np.lexsort((random_f.images, -similarity))[:20]
    assert [m.image for m in matches] == [int(i) for i in random_f.images[order]]
    np.testing.assert_allclose([m.similarity for m in matches], similarity[order], rtol=0, atol=1e-6)


def test_search_by_an_outside_image_on_fashion_features(scan_model, fashion_features):
    boot = scan_model.preprocess(images.load_image(images.sample("fmnist_ankle_boot").path))
    query = features.of_image(scan_model, boot, layer=fashion_features.layer)
    matches = retrieval.search(fashion_features, query, k=15)
    similarity = cosine(fashion_features.values, query)
    order = np.argsort(-similarity, kind="stable")[:15]
    assert [m.image for m in matches] == [int(i) for i in fashion_features.images[order]]
    np.testing.assert_allclose([m.similarity for m in matches], similarity[order], rtol=0, atol=1e-6)
    boot_class = fashion_features.classes.index("Ankle boot")
    assert sum(m.label == boot_class for m in matches) >= 10


def test_search_without_labels_gives_matches_without_labels(random_f):
    unlabelled = dataclasses.replace(random_f, labels=None, classes=[])
    matches = retrieval.search(unlabelled, int(random_f.images[3]), k=5)
    assert len(matches) == 5 and all(m.label is None for m in matches)
