"""2-D maps: t-SNE against openTSNE called directly, partial maps and cancel, PCA against an eigendecomposition."""

import dataclasses
import itertools
import sys
import threading
import time

import numpy as np
import pytest
from openTSNE import TSNE
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from cnnviz.core.per_dataset import embedding, features

SEED = 7


@pytest.fixture(scope="module")
def stepped(fashion_features):
    """project_steps run to the end on the 1 000 Fashion-MNIST features: (every yield, the Embedding)."""
    steps = embedding.project_steps(fashion_features, "tsne", seed=SEED)
    yields = []
    try:
        while True:
            step = next(steps)
            yields.append((step.done, step.total, step.partial.copy()))
    except StopIteration as stop:
        return yields, stop.value


@pytest.fixture(scope="module")
def projected(fashion_features):
    """embedding.project with the same seed (the second t-SNE run)."""
    return embedding.project(fashion_features, "tsne", seed=SEED)


def test_tsne_is_reproducible_with_a_seed(stepped, projected, fashion_features):
    _, first = stepped
    assert first.xy.shape == (len(fashion_features.values), 2) and first.xy.dtype == np.float32
    np.testing.assert_array_equal(projected.xy, first.xy)
    assert projected.kl_divergence == pytest.approx(first.kl_divergence, rel=1e-9)  # a threaded sum
    assert projected.method == "tsne" and projected.params["seed"] == SEED


def test_tsne_equals_opentsne_called_directly(projected, fashion_features):
    jobs = embedding.tsne_jobs(len(fashion_features.values))
    direct = TSNE(perplexity=30, random_state=SEED, n_jobs=jobs).fit(fashion_features.values)
    np.testing.assert_allclose(projected.xy, np.asarray(direct), rtol=0, atol=1e-5)
    assert projected.kl_divergence == pytest.approx(direct.kl_divergence, abs=1e-5)
    assert projected.params["perplexity"] == 30.0


def test_tsne_map_separates_the_classes(projected, fashion_features):
    """10-nearest-neighbour accuracy in the 2-D map, 5-fold cross-validated, is at least 0.7."""
    accuracy = cross_val_score(KNeighborsClassifier(n_neighbors=10), projected.xy, fashion_features.labels,
                               cv=5).mean()
    assert accuracy >= 0.7


def test_project_steps_yield_increasing_progress_and_partial_maps(stepped, fashion_features):
    yields, final = stepped
    done = [d for d, _, _ in yields]
    assert all(total == 750 for _, total, _ in yields)           # 250 exaggerated + 500 normal iterations
    assert done[0] == 0 and all(b > a for a, b in itertools.pairwise(done)) and done[-1] == 750
    assert len(yields) >= 1 + 750 // embedding.TSNE_CHUNK
    maps = [xy for _, _, xy in yields[1:]]
    assert all(xy.shape == (len(fashion_features.values), 2) and np.isfinite(xy).all() for xy in maps)
    assert all(np.abs(b - a).max() > 0 for a, b in itertools.pairwise(maps))   # every partial map moves on
    # the last partial map is taken one gradient step before the end: near the final map
    assert np.abs(maps[-1] - final.xy).max() < 0.01 * np.ptp(final.xy)


def test_closing_project_steps_early_stops_the_run(fashion_features):
    subset = dataclasses.replace(fashion_features, values=fashion_features.values[:300])
    threads = threading.active_count()
    steps = embedding.project_steps(subset, "tsne", seed=SEED, iterations=(250, 20_000))
    seen = [next(steps).done for _ in range(3)]
    assert seen[0] == 0 and seen[2] > seen[1] > 0
    began = time.perf_counter()
    steps.close()
    assert time.perf_counter() - began < 5.0      # at most one more chunk of 50 iterations on 300 points
    assert threading.active_count() == threads
    assert not any(t.name == "cnnviz-tsne" for t in threading.enumerate())


def _axes(centred: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` principal axes [n, D] from the eigenvectors of the covariance (largest first)."""
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
    return vectors[:, np.argsort(eigenvalues)[::-1][:n]].T


def test_long_features_are_reduced_to_principal_components_first():
    rng = np.random.default_rng(2)
    values = (rng.normal(size=(150, 300)) + np.repeat(rng.normal(size=(3, 300)) * 2, 50, axis=0)).astype(np.float32)
    f = features.Features(values, np.arange(150), None, [], [f"{i}" for i in range(150)], "x", "flatten", 3.0)
    got = embedding.project(f, "tsne", seed=SEED, iterations=(50, 100))
    centred = values.astype(np.float64) - values.mean(axis=0, dtype=np.float64)
    reduced = embedding.principal_components(values, embedding.PCA_BEFORE_TSNE)
    assert reduced.shape == (150, 50)
    np.testing.assert_allclose(np.abs(reduced), np.abs(centred @ _axes(centred, 50).T), rtol=0, atol=1e-6)
    direct = TSNE(perplexity=30, random_state=SEED, n_jobs=embedding.tsne_jobs(len(values)),
                  early_exaggeration_iter=50, n_iter=100).fit(reduced)
    np.testing.assert_allclose(got.xy, np.asarray(direct), rtol=0, atol=1e-5)
    assert got.params["pca_before"] == embedding.PCA_BEFORE_TSNE


def test_pca_equals_an_eigendecomposition_up_to_each_axis_sign(fashion_features):
    values = fashion_features.values.astype(np.float64)
    centred = values - values.mean(axis=0)
    expected = centred @ _axes(centred, 2).T
    got = embedding.project(fashion_features, "pca")
    assert got.method == "pca" and got.kl_divergence is None and got.xy.shape == (1000, 2)
    scale = np.abs(expected).max()
    for axis in range(2):
        sign = np.sign(np.dot(got.xy[:, axis], expected[:, axis]))
        np.testing.assert_allclose(got.xy[:, axis], sign * expected[:, axis], rtol=0, atol=1e-5 * scale)
    # the documented sign: each axis's largest-magnitude coefficient is positive
    axes = _axes(centred, 2)
    axes *= np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])[:, None]
    np.testing.assert_allclose(got.xy, centred @ axes.T, rtol=0, atol=1e-5 * scale)


def test_pca_of_unlabelled_features_gives_a_map(fashion_features):
    unlabelled = dataclasses.replace(fashion_features, labels=None, classes=[])
    labelled = embedding.project(fashion_features, "pca")
    np.testing.assert_array_equal(embedding.project(unlabelled, "pca").xy, labelled.xy)


def test_umap_without_umap_learn_says_how_to_install_it(fashion_features, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)          # import umap now raises ImportError
    with pytest.raises(RuntimeError, match="umap-learn"):
        embedding.project(fashion_features, "umap")


@pytest.mark.parametrize("method", embedding.METHODS)
def test_too_few_points_raise_value_error(fashion_features, method):
    two = dataclasses.replace(fashion_features, values=fashion_features.values[:2])
    with pytest.raises(ValueError, match="at least 3"):
        embedding.project(two, method)


def test_unknown_method_raises_value_error(fashion_features):
    with pytest.raises(ValueError, match="method"):
        embedding.project(fashion_features, "mds")
