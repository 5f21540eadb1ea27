"""The Feature space pane: maps equal the core's, hover/click/legend/selection act on the right images,
a kept map stays beside the next, retrieval leaves the query out and ticks same labels, the pooling
comparison and the CSV exports hold the core's numbers, a new dataset clears the maps."""

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from export_answers import answer_export
from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QFileDialog
from skimage.measure import points_in_poly

from cnnviz.analyses import feature_space, registry
from cnnviz.analyses.base import Source
from cnnviz.analyses.feature_space import Settings
from cnnviz.core.data import datasets
from cnnviz.core.per_dataset import embedding, features, retrieval
from cnnviz.gui.panes.features.controls import umap_available
from cnnviz.gui.panes.features.scatter import UNLABELLED, UNLABELLED_COLOUR, inside
from cnnviz.gui.runtime import dataset_source
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets import thumbnails
from cnnviz.gui.widgets.class_colours import class_colour
from cnnviz.gui.widgets.figure_render import ExportOptions

pytestmark = pytest.mark.skipif(not datasets.fashion_mnist_available(), reason="Fashion-MNIST is not installed")

IMAGES = 60


@pytest.fixture
def pane(loaded_window, show_pane):
    pane = show_pane(loaded_window, "features")
    pane.iterations = (50, 50)
    loaded_window.state.set_dataset(datasets.fashion_mnist("test", limit=IMAGES))
    return pane


def compute(pane, qtbot, layer: str, method: str = "pca", pooling: str = "auto"):
    pane.layer_binding.choose_layer(layer)
    assert pane.form.set_values({"pooling": pooling, "method": method}) == {}
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.maps[1] is not None, timeout=60_000)
    return pane.maps[1]


def core_features(pane, layer: str, pooling: str = "auto") -> features.Features:
    return features.extract(pane.state.model, pane.state.dataset, layer=layer, pooling=pooling, workers=0)


def test_a_pca_map_shows_every_image_in_its_class_colour_and_reacts_to_the_pointer(pane, qtbot, mouse):
    assert pane.size_label.text() == "128 with average"
    method = pane.form.widget("method")
    assert method.model().item(method.findData("umap")).isEnabled() == umap_available()
    assert not pane.form.widget("p").isEnabled() and pane.form.widget("perplexity").isEnabled()
    view = pane.views[1]
    assert view.stack.currentWidget() is view.placeholder and "Compute" in view.placeholder.text()  # no black box
    result = compute(pane, qtbot, "classifier.relu4")
    assert view.stack.currentWidget() is view.plot and view.plot.isVisible()
    assert pane.size_label.text() == "128"
    f = core_features(pane, "classifier.relu4")
    np.testing.assert_allclose(result.features.values, f.values, rtol=1e-5, atol=1e-6)
    view = pane.views[1]
    xs, ys = view.scatter.getData()
    assert len(xs) == IMAGES
    np.testing.assert_allclose(np.column_stack([xs, ys]), embedding.project(f, "pca").xy, rtol=1e-4, atol=1e-4)
    brushes = view.scatter.data["brush"]
    assert all(brushes[i].color() == class_colour(int(f.labels[i])) for i in range(IMAGES))
    assert pane.legend.classes() == sorted(set(f.labels.tolist()))

    row = int(np.argmax(np.linalg.norm(result.embedding.xy - result.embedding.xy.mean(0), axis=1)))
    mouse.hover(view.plot, lambda: view.scene_pos(row))
    assert pane.side.hover_label.text() == f"<b>{f.paths[row]}</b><br>{f.classes[f.labels[row]]}"
    qtbot.waitUntil(lambda: not pane.side.thumbnail.pixmap().isNull(), timeout=10_000)
    assert pane.side.thumbnail.pixmap().width() == thumbnails.SIDE and len(pane.browser.thumbs) == 1
    mouse.click(view.plot, lambda: view.scene_pos(row))
    qtbot.waitUntil(lambda: pane.state.image_name == Path(f.paths[row]).name, timeout=10_000)
    np.testing.assert_array_equal(np.asarray(pane.state.image), np.asarray(pane.state.dataset.image(row)))

    hidden = int(f.labels[row])
    item = pane.legend.row_of(hidden)
    qtbot.mouseClick(pane.legend.viewport(), Qt.MouseButton.LeftButton, pos=pane.legend.visualItemRect(item).center())
    assert pane.legend.hidden == {hidden}
    np.testing.assert_array_equal(view.scatter.data["visible"], f.labels != hidden)
    assert view.row_at(view.scene_pos(row)) != row
    pane.legend.toggle(hidden)
    assert view.scatter.data["visible"].all()

    lower, upper = np.percentile(result.embedding.xy, 25, axis=0), np.percentile(result.embedding.xy, 75, axis=0)
    view.select_rect(QRectF(lower[0], lower[1], upper[0] - lower[0], upper[1] - lower[1]))
    inside = np.flatnonzero(((result.embedding.xy >= lower) & (result.embedding.xy <= upper)).all(axis=1))
    qtbot.waitUntil(lambda: pane.side.selection.count() == len(inside) > 0, timeout=10_000)
    assert pane.side.selection.images() == [int(i) for i in f.images[inside]]


def test_a_kept_tsne_map_stays_beside_the_next_with_kl_and_map_in_the_captions(pane, qtbot):
    partial_maps = []
    pane.views[1].scatter.sigPlotChanged.connect(lambda item: partial_maps.append(len(item.data)))
    first = compute(pane, qtbot, "classifier.relu4", method="tsne")
    assert first.embedding.kl_divergence is not None and len(partial_maps) >= 2
    f = core_features(pane, "classifier.relu4")
    expected = retrieval.evaluate(f).mean_average_precision
    assert first.scores.mean_average_precision == pytest.approx(expected, abs=1e-6)
    assert f"KL {first.embedding.kl_divergence:.3f}" in pane.views[1].caption.text()
    assert f"mAP {expected:.3f}" in pane.views[1].caption.text()
    pane.keep_button.click()
    second = compute(pane, qtbot, "features", pooling="gem")
    assert pane.maps == [first, second] and pane.views[0].isVisible()
    assert [len(v.scatter.getData()[0]) for v in pane.views] == [IMAGES, IMAGES]
    assert "classifier.relu4" in pane.views[0].caption.text() and "GeM p=3" in pane.views[1].caption.text()
    assert "features" in pane.views[1].caption.text() and "PCA" in pane.views[1].caption.text()
    pane.state.set_dataset(datasets.fashion_mnist("test", limit=30))
    assert pane.maps == [None, None] and pane.views[1].count == 0 and not pane.views[0].isVisible()


def test_retrieval_leaves_the_query_out_and_ticks_same_labels(pane, qtbot, settle):
    result = compute(pane, qtbot, "classifier.relu4")
    f = result.features
    pane.browser.open_image(7)
    qtbot.waitUntil(lambda: pane.retrieval.query is not None and pane.retrieval.query.image == 7, timeout=20_000)
    shown = pane.retrieval.query.matches
    assert [m.image for m in shown] == [m.image for m in retrieval.search(f, 7)] and 7 not in [m.image for m in shown]
    grid = pane.side.retrieval.matches
    assert grid.images() == [m.image for m in shown] and len(shown) == 15
    assert [c.endswith("✓") for c in grid.captions()] == [int(f.labels[m.image]) == int(f.labels[7]) for m in shown]
    assert all(c.endswith(("✓", "✗")) for c in grid.captions())

    pane.controller.set_image(Image.new("L", (28, 28), 180), "grey square")
    settle(pane.window())
    qtbot.waitUntil(lambda: pane.retrieval.query is not None and pane.retrieval.query.image is None, timeout=20_000)
    vector = features.of_image(pane.state.model, pane.state.input_tensor, layer="classifier.relu4")
    assert [m.image for m in pane.retrieval.query.matches] == [m.image for m in retrieval.search(f, vector)]
    assert not any(c.endswith(("✓", "✗")) for c in grid.captions())


def test_the_export_is_the_analysis_figure_of_the_map_and_query_shown(pane, qtbot, tmp_path):
    result = compute(pane, qtbot, "classifier.relu4", pooling="max")
    pane.browser.open_image(7)
    qtbot.waitUntil(lambda: pane.retrieval.query is not None and pane.retrieval.query.image == 7, timeout=20_000)
    shown = pane.analysis_result()
    controls = pane.form.settings()
    assert shown.settings == Settings(layer=pane.layer, pooling=controls.pooling, p=controls.p, method=controls.method,
                                      perplexity=controls.perplexity, seed=controls.seed, query=7, k=15)
    assert controls.pooling == "max" and controls.method == "pca" and pane.form.widget("seed").isEnabled() is False
    xs, ys = pane.views[1].scatter.getData()
    np.testing.assert_array_equal(shown.arrays()["xy"], np.column_stack([xs, ys]))
    assert shown.features is result.features and shown.scores is result.scores and not shown.partial
    assert [m.image for m in shown.matches] == pane.side.retrieval.matches.images()
    assert shown.query_label == int(result.features.labels[7])
    expected = feature_space.ANALYSIS.compute(pane.state.model, Source.of_dataset(pane.state.dataset), shown.settings)
    assert [m.image for m in shown.matches] == [m.image for m in expected.matches] and len(shown.match_pictures) == 15
    np.testing.assert_allclose(shown.embedding.xy, expected.embedding.xy, rtol=1e-4, atol=1e-4)
    for picture, same in zip((shown.query_picture, *shown.match_pictures),
                             (expected.query_picture, *expected.match_pictures)):
        np.testing.assert_array_equal(picture, same)
    np.testing.assert_array_equal(shown.query_picture, np.asarray(pane.state.dataset.image(7).convert("L")))
    caption = pane.caption()
    assert caption.fields == shown.caption().fields and caption.dataset == shown.caption().dataset
    assert caption.fields["layer"] == "classifier.relu4" and caption.fields["query"] == 7

    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    expected = registry.get("features").figure(pane.analysis_result()).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert image.size == pytest.approx(tuple(expected), abs=1)
    root = ET.parse(tmp_path / "x.svg").getroot()
    text = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert shown.caption().checksum in text and "query=7" in text


def test_the_default_layer_is_the_analysiss(pane):
    chosen = pane.default_layer(pane.picker.choices)
    assert chosen == feature_space.default_layer(pane.state.model) == pane.picker.choices[0].name


def read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_compare_poolings_and_csv_exports(pane, qtbot, tmp_path):
    result = compute(pane, qtbot, "features")
    pane.side.retrieval.compare_button.click()
    qtbot.waitUntil(lambda: not pane.running and len(pane.comparison) == 4, timeout=60_000)
    table = pane.side.retrieval.compare_table
    assert table.rowCount() == 4
    assert [table.item(r, 0).text() for r in range(4)] == ["avg", "max", "gem", "flatten"]
    assert [table.item(r, 1).text() for r in range(4)] == ["128", "128", "128", "1152"]
    gem = core_features(pane, "features", "gem")
    assert table.item(2, 2).text() == f"{retrieval.evaluate(gem).mean_average_precision:.4f}"

    rows = read(pane.exports.map_csv(tmp_path / "map.csv"))
    assert [int(r["index"]) for r in rows] == list(range(IMAGES))
    assert [r["label"] for r in rows] == [result.features.classes[v] for v in result.features.labels]
    np.testing.assert_allclose([[float(r["x"]), float(r["y"])] for r in rows], result.embedding.xy)
    scores = {r["metric"]: float(r["value"]) for r in read(pane.exports.scores_csv(tmp_path / "scores.csv"))}
    assert scores["mAP"] == result.scores.mean_average_precision
    assert scores["precision@5"] == result.scores.precision_at[5]
    poolings = read(pane.exports.comparison_csv(tmp_path / "poolings.csv"))
    assert [int(r["size"]) for r in poolings] == [128, 128, 128, 1152]
    assert float(poolings[0]["mAP"]) == pane.comparison[0].scores.mean_average_precision


def test_csv_buttons_and_the_figure_export_write_the_files_chosen(pane, qtbot, tmp_path, monkeypatch, data_home):
    result = compute(pane, qtbot, "classifier.relu4")
    cached = list((data_home / "cnnviz" / "cnnviz" / "features").glob("features-*.npz"))
    assert len(cached) == 1 and pane.cache_folder == cached[0].parent
    again = compute(pane, qtbot, "classifier.relu4")
    assert again is not result and again.features.seconds == result.features.seconds  # read from the cache
    target = tmp_path / "chosen.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "CSV (*.csv)"))
    pane.map_csv_button.click()
    assert [int(r["index"]) for r in read(target)] == [int(i) for i in result.features.images]
    pane.side.retrieval.scores_csv_button.click()
    assert read(target)[0] == {"metric": "mAP", "value": repr(result.scores.mean_average_precision)}
    figure = tmp_path / "figure.png"
    answer_export(monkeypatch, figure, ("png", "csv"))
    written = pane.export.export()
    assert written[0] == figure and written[-1] == tmp_path / "figure-map.csv" and Image.open(figure).size[0] == 2008
    lines = written[-1].read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.startswith("#")] == pane.caption().comment_lines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    np.testing.assert_allclose([[float(r["x"]), float(r["y"])] for r in rows], again.embedding.xy)


def test_the_dataset_panes_choice_is_the_shared_dataset(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "features")
    assert not pane.run_button.isEnabled()
    dataset_pane = loaded_window.capture_target("dataset")
    dataset_pane.sources.open_source(dataset_source.FASHION_MNIST, None, "Opening…")
    qtbot.waitUntil(lambda: dataset_pane.dataset is not None, timeout=20_000)
    assert loaded_window.state.dataset is dataset_pane.dataset and pane.source.dataset is dataset_pane.dataset
    assert pane.run_button.isEnabled()
    assert "10000 images" in pane.source.summary.text()


def test_an_unlabelled_folder_maps_grey_points_and_finds_its_own_files(loaded_window, show_pane, settle, qtbot,
                                                                        tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), "L").save(folder / f"img{i:02d}.png")
    pane = show_pane(loaded_window, "features")
    pane.open_dataset(dataset_source.FOLDER, folder)
    qtbot.waitUntil(lambda: pane.state.dataset is not None, timeout=10_000)
    result = compute(pane, qtbot, "classifier.relu4")
    assert result.features.labels is None and result.scores is None
    assert pane.legend.classes() == [UNLABELLED]
    assert all(b.color() == UNLABELLED_COLOUR for b in pane.views[1].scatter.data["brush"])
    assert "labels" in pane.side.retrieval.scores_table.item(0, 1).text()
    assert not pane.side.retrieval.compare_button.isEnabled()
    loaded_window.controller.open_image(folder / "img03.png")
    settle(loaded_window)
    qtbot.waitUntil(lambda: pane.retrieval.query is not None and pane.retrieval.query.image == 3, timeout=20_000)
    assert 3 not in [m.image for m in pane.retrieval.query.matches] and len(pane.retrieval.query.matches) == 11


def test_the_lasso_test_equals_a_reference_point_in_polygon():
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1, (2000, 2))
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    outline = np.column_stack([np.cos(angles), np.sin(angles)]) * (0.5 + 0.4 * np.sin(3 * angles))[:, None]
    np.testing.assert_array_equal(inside(points, outline), points_in_poly(points, outline))
    assert not inside(points, outline[:2]).any()


def test_cancel_keeps_a_partial_map_and_a_new_model_clears_the_maps(pane, qtbot, settle):
    pane.state.set_dataset(datasets.fashion_mnist("test", limit=2000))
    pane.iterations = (250, 5000)
    pane.layer_binding.choose_layer("classifier.relu4")
    assert pane.form.set_values({"method": "tsne"}) == {}
    pane.run()
    qtbot.waitUntil(lambda: pane.views[1].count == 2000 and pane.partial_progress() is not None
                    and pane.partial_progress()[0] > 2000, timeout=60_000)
    assert pane.controller.dataset.busy and not pane.controller.compute.busy  # the other tools stay free
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=30_000)
    done, total = pane.partial_progress()
    assert pane.outcome == "cancelled" and pane.maps[1] is None and done < total == 2000 + 5250
    assert pane.partial_label.isVisible() and "cancelled" in pane.partial_label.text()
    shown = pane.analysis_result()
    assert shown.partial and pane.caption().partial and shown.query is None
    np.testing.assert_array_equal(shown.embedding.xy, np.column_stack(pane.views[1].scatter.getData()))
    result = compute(pane, qtbot, "classifier.relu4", method="pca")
    assert pane.maps[1] is result and not pane.partial_label.isVisible()
    assert not pane.analysis_result().partial and pane.analysis_result().embedding is result.embedding
    pane.controller.load_model(ModelSpec())
    settle(pane.window())
    assert pane.maps == [None, None] and pane.views[1].count == 0 and pane.side.retrieval.matches.count() == 0


def test_a_kept_map_stays_across_a_new_model_for_before_and_after(pane, qtbot, settle, tmp_path):
    from cnnviz.core import training

    base = compute(pane, qtbot, "classifier.relu4")
    pane.keep_button.click()
    data = pane.state.dataset
    run = training.fit(pane.state.model, data, config=training.TrainConfig(epochs=1, batch_size=20, workers=0),
                       out=tmp_path / "run")
    pane.controller.load_model(ModelSpec("file", str(run.checkpoints[0])))
    settle(pane.window())
    assert "fine-tuned" in pane.state.model.name and pane.maps == [base, None] and pane.views[0].isVisible()
    assert pane.current is base
    pane.retrieval.search()
    assert "not the current model" in pane.side.retrieval.query_label.text()
    tuned = compute(pane, qtbot, "classifier.relu4")
    assert pane.maps == [base, tuned] and tuned.head.model == pane.state.model.name
    assert base.head.model in pane.views[0].caption.text() and tuned.head.model in pane.views[1].caption.text()
    f = core_features(pane, "classifier.relu4")
    assert tuned.scores.mean_average_precision == pytest.approx(retrieval.evaluate(f).mean_average_precision,
                                                                abs=1e-6)
    pane.browser.open_image(4)
    qtbot.waitUntil(lambda: pane.retrieval.kept_query is not None and pane.retrieval.query is not None
                    and pane.retrieval.query.image == 4, timeout=20_000)
    before = [m.image for m in retrieval.search(base.features, 4)]
    after = [m.image for m in retrieval.search(tuned.features, 4)]
    assert pane.side.retrieval.kept_matches.images() == before and pane.side.retrieval.matches.images() == after
    assert pane.side.retrieval.kept_matches.isVisible() and base.head.model in pane.side.retrieval.kept_label.text()
