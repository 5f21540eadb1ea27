"""The feature-space analysis: its map, scores and matches equal the core's, its steps carry partial maps,
its settings check themselves, its exports and figure read well."""

import dataclasses
import os
import shutil

import numpy as np
import pytest
from figure_layout import assert_readable
from PIL import Image

from cnnviz.analyses import Source, compute, registry
from cnnviz.analyses.feature_space import ITERATIONS, Settings, defaults, strip_columns
from cnnviz.core.data import datasets, images
from cnnviz.core.model import models
from cnnviz.core.per_dataset import embedding, feature_tables, features, retrieval

SAMPLES = ("fmnist_ankle_boot", "fmnist_trouser", "fmnist_bag", "fmnist_sneaker", "fmnist_pullover", "fmnist_dress")
PER_CLASS = 8
LAYER = "features.relu2"


def write_tree(root, per_class: int = PER_CLASS) -> None:
    """A class-per-folder tree: each bundled Fashion-MNIST sample shifted by up to 2 px, its contrast
    scaled and seeded noise added, ``per_class`` times (``root/<class>/<nn>.png``)."""
    rng = np.random.default_rng(5)
    for name in SAMPLES:
        base = np.asarray(images.load_image(images.sample(name).path).convert("L"), dtype=float)
        folder = root / name.removeprefix("fmnist_")
        folder.mkdir(parents=True)
        for i in range(per_class):
            moved = np.roll(base, tuple(rng.integers(-2, 3, 2)), axis=(0, 1)) * rng.uniform(0.7, 1.1)
            pixels = np.clip(moved + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"{i:02d}.png")


@pytest.fixture(scope="module")
def model():
    return models.load_default()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("features") / "tree"
    write_tree(root)
    return datasets.open_folder(root)


@pytest.fixture(scope="module")
def settings():
    return Settings(layer=LAYER, pooling="gem", p=2.0, method="pca", query=3, k=5)


@pytest.fixture(scope="module")
def result(model, dataset, settings):
    return registry.get("features").compute(model, Source.of_dataset(dataset), settings)


@pytest.fixture(scope="module")
def reference(model, dataset):
    return features.extract(model, dataset, layer=LAYER, pooling="gem", p=2.0)


def test_map_scores_and_matches_equal_the_core(result, reference):
    np.testing.assert_array_equal(result.features.values, reference.values)
    np.testing.assert_array_equal(result.embedding.xy, embedding.project(reference, "pca").xy)
    expected = retrieval.evaluate(reference)
    assert result.scores == expected and result.scores_note == ""
    assert result.matches == tuple(retrieval.search(reference, 3, 5))
    assert result.query_label == 0 and result.features.classes[0] == "ankle_boot" and not result.partial


def test_query_pictures_are_the_dataset_images(result, dataset):
    np.testing.assert_array_equal(result.query_picture, np.asarray(dataset.image(3)))
    assert len(result.match_pictures) == 5
    np.testing.assert_array_equal(result.match_pictures[0], np.asarray(dataset.image(result.matches[0].image)))


def test_the_default_layer_is_the_first_offered(model, dataset):
    assert defaults(model).layer == "features" and registry.get("features").settings_for(model).layer == "features"
    found = compute(registry.get("features").run(model, Source.of_dataset(dataset), Settings(method="pca")))
    assert found.features.layer == "features" and found.features.pooling == "avg" and found.query is None
    assert found.resolved()["layer"] == "features" and "query_file" not in found.resolved()


def test_tsne_steps_carry_partial_maps_and_end_as_opentsne(model, dataset, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # openTSNE's threads only slow 48 points down
    chosen = Settings(layer="classifier.fc1", method="tsne", perplexity=10.0, seed=4)
    steps = registry.get("features").run(model, Source.of_dataset(dataset), chosen)
    seen = []
    try:
        while True:
            seen.append(next(steps))
    except StopIteration as stop:
        found = stop.value
    total = len(dataset) + sum(ITERATIONS)
    assert all(s.total == total for s in seen) and [s.done for s in seen] == sorted(s.done for s in seen)
    extracting = [s for s in seen if s.done <= len(dataset) and s.partial is None]
    assert extracting and extracting[-1].done == len(dataset)
    partials = [s.partial for s in seen if s.partial is not None]
    assert len(partials) >= sum(ITERATIONS) // embedding.TSNE_CHUNK - 1 and all(p.partial for p in partials)
    assert seen[-1].done == total and partials[-1].embedding.xy.shape == (len(dataset), 2)
    extracted = features.extract(model, dataset, layer="classifier.fc1")
    direct = embedding.project(extracted, "tsne", seed=4, perplexity=10.0, iterations=ITERATIONS)
    np.testing.assert_allclose(found.embedding.xy, direct.xy, rtol=0, atol=1e-4)
    assert found.embedding.kl_divergence == pytest.approx(direct.kl_divergence, rel=1e-6)
    assert found.resolved()["perplexity"] == 10.0 and "kl_divergence" in found.caption().fields


def test_closing_the_run_stops_it(model, dataset, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    steps = registry.get("features").run(model, Source.of_dataset(dataset), Settings(method="tsne", perplexity=5.0))
    step = next(steps)
    while step.partial is None:
        step = next(steps)
    steps.close()
    assert step.partial.partial and step.done < step.total


@pytest.mark.parametrize(("changes", "message"), [
    ({"pooling": "sum"}, "pooling: 'sum' is not one of auto, avg, max, gem, flatten"),
    ({"method": "lda"}, "method: 'lda' is not one of pca, tsne, umap"),
    ({"perplexity": 1}, "perplexity: 1.0 is outside 2…200"),
    ({"k": 0}, "k: 0 is outside 1…50"),
    ({"query": -1}, "query: -1 is outside 0…"),
    ({"p": "3"}, "p: '3' is not a number"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_bad_runs_say_what_would_work(model, dataset):
    source = Source.of_dataset(dataset)
    with pytest.raises(ValueError, match=r"query: image 48 is not in tree; its images are 0…47"):
        next(registry.get("features").run(model, source, Settings(method="pca", query=48)))
    with pytest.raises(ValueError, match=r"layer: 'nope' is not a layer.*features\.relu2"):
        next(registry.get("features").run(model, source, Settings(layer="nope")))
    image = Source.of_file(model, images.sample("fmnist_bag").path)
    with pytest.raises(ValueError, match="needs a dataset"):
        next(registry.get("features").run(model, image, Settings()))


def test_caption_names_the_settings_and_what_they_resolved_to(result):
    fields = result.caption().fields
    assert fields["layer"] == LAYER and fields["pooling"] == "gem" and fields["p"] == 2.0 and fields["k"] == 5
    assert "perplexity" not in fields and "seed" not in fields  # PCA has neither
    assert fields["method"] == "pca" and fields["feature_size"] == 64 and fields["images"] == 48
    assert fields["mAP"] == round(result.scores.mean_average_precision, 4)
    assert fields["query"] == 3 and fields["query_file"] == "ankle_boot/03.png"
    assert fields["query_class"] == "ankle_boot"
    assert result.caption().dataset == "tree"


def test_export_writes_the_panes_arrays_and_tables(result, reference, tmp_path):
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"))}
    stem = "features-tree"
    assert {f"{stem}-{n}.npy" for n in ("xy", "images", "labels", "neighbours", "similarities")} <= written
    assert {f"{stem}-{n}.csv" for n in ("map", "scores", "matches", "xy")} <= written
    np.testing.assert_array_equal(np.load(tmp_path / f"{stem}-xy.npy"), result.embedding.xy)
    np.testing.assert_array_equal(np.load(tmp_path / f"{stem}-labels.npy"), reference.labels)
    np.testing.assert_array_equal(np.load(tmp_path / f"{stem}-neighbours.npy"), [m.image for m in result.matches])
    text = (tmp_path / f"{stem}-map.csv").read_text(encoding="utf-8")
    assert text.startswith("# analysis: features")
    assert text.endswith(feature_tables.map_csv(reference, result.embedding.xy))
    scores = (tmp_path / f"{stem}-scores.csv").read_text(encoding="utf-8")
    assert scores.endswith(feature_tables.scores_csv(retrieval.evaluate(reference)))


@pytest.fixture(scope="module")
def unlabelled(model, dataset, tmp_path_factory):
    """A map of the tree's images copied into one folder (no labels, so no scores), without a query."""
    flat = tmp_path_factory.mktemp("flat")
    for i, name in enumerate(dataset.files):
        shutil.copy(dataset.path(i), flat / f"{i:02d}-{name.replace('/', '-')}")
    ds = datasets.open_folder(flat)
    return registry.get("features").compute(model, Source.of_dataset(ds), Settings(method="pca", layer=LAYER))


def test_an_unlabelled_dataset_has_a_map_but_no_scores(unlabelled):
    assert unlabelled.features.labels is None and unlabelled.scores is None
    assert "labels" in unlabelled.scores_note and "labels" not in unlabelled.arrays()
    assert set(unlabelled.tables()) == {"map"} and "mAP" not in unlabelled.resolved()


def test_strip_rows_are_filled_evenly():
    assert strip_columns(6.69, 16) == 8 and strip_columns(3.35, 16) == 4 and strip_columns(9.84, 16) == 8
    assert strip_columns(6.69, 6) == 6 and strip_columns(3.35, 11) == 4


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("features").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    assert_readable(figure)
    scatter = figure.axes[0]
    assert scatter.get_aspect() == 1.0 and scatter.get_legend() is not None
    assert len(figure.axes) == 2 + 1 + len(result.matches)


def test_figure_in_pixels_and_without_scores_or_query(unlabelled):
    figure = registry.get("features").figure(unlabelled, width_px=1200, dpi=150)
    assert round(figure.get_figwidth() * figure.dpi) == 1200 and len(figure.axes) == 1
    assert_readable(figure)


def test_fashion_mnist_features_separate_the_classes(model):
    if not datasets.fashion_mnist_available():
        pytest.skip("Fashion-MNIST is not installed")
    ds = datasets.fashion_mnist("test", limit=300)
    found = registry.get("features").compute(model, Source.of_dataset(ds, "fashion-mnist-test"),
                                             Settings(layer="classifier.fc1", method="pca", query=0))
    reference = features.extract(model, ds, layer="classifier.fc1")
    assert found.scores == retrieval.evaluate(reference) and found.scores.mean_average_precision > 0.5
    assert found.query_label == 9 and found.matches == tuple(retrieval.search(reference, 0, 15))


def stretched_result(result, shape: tuple[float, float], scored: bool):
    """``result`` with its map replaced by points spread ``shape`` (x range, y range) wide, with or without scores."""
    rng = np.random.default_rng(2)
    xy = (rng.uniform(0, 1, result.embedding.xy.shape) * shape).astype(np.float32)
    return dataclasses.replace(result, embedding=embedding.Embedding(xy, "pca"),
                               scores=result.scores if scored else None)


@pytest.mark.parametrize("width_mm", [85, 170, 250])
@pytest.mark.parametrize(("shape", "scored"), [((10.0, 1.0), True), ((1.0, 10.0), True), ((10.0, 1.0), False)])
def test_the_map_has_equal_x_and_y_scales(result, width_mm, shape, scored):
    stretched = stretched_result(result, shape, scored)
    figure = registry.get("features").figure(stretched, width_mm=width_mm)
    assert_readable(figure)
    scatter = figure.axes[0]
    origin, across, up = scatter.transData.transform([(0, 0), (1, 0), (0, 1)])
    assert (across - origin)[0] == pytest.approx((up - origin)[1], rel=1e-6)  # display pixels per data unit
    box = scatter.get_window_extent()
    assert scatter.get_data_ratio() == pytest.approx(box.height / box.width, rel=1e-6)
    (x0, x1), (y0, y1) = scatter.get_xlim(), scatter.get_ylim()
    low, high = stretched.embedding.xy.min(axis=0), stretched.embedding.xy.max(axis=0)
    assert x0 <= low[0] and high[0] <= x1 and y0 <= low[1] and high[1] <= y1
