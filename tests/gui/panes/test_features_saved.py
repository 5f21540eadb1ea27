"""The Feature space pane keeps its maps' shape and its work: a map is drawn at equal x and y scale (also after
a resize and for a new map); the dataset and layer come back after a restart, and the map of a session comes
back from the feature cache (same coordinates, no feature extracted, no map computed); a dataset folder that is
gone is named on the status bar, and a map whose features are not cached leaves Compute ready."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.data import images
from cnnviz.core.per_dataset import embedding, features
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.panes.features.saved import LAYER_KEY, NOT_CACHED
from cnnviz.gui.panes.features.scatter import MapView
from cnnviz.gui.runtime import dataset_source, settings_store
from cnnviz.gui.runtime.model_spec import ModelSpec

LAYER = "classifier.relu4"
ITERATIONS = (40, 40)
SAMPLES = ("fmnist_ankle_boot", "fmnist_trouser", "fmnist_bag", "fmnist_sneaker")
PER_CLASS = 6


def write_tree(root: Path) -> Path:
    """A class-per-folder tree of the bundled Fashion-MNIST samples, each shifted and with seeded noise."""
    rng = np.random.default_rng(3)
    for name in SAMPLES:
        base = np.asarray(images.load_image(images.sample(name).path).convert("L"), dtype=float)
        folder = root / name.removeprefix("fmnist_")
        folder.mkdir(parents=True)
        for i in range(PER_CLASS):
            moved = np.roll(base, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
            pixels = np.clip(moved + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"{i:02d}.png")
    return root


def pixel_ratio(view: MapView) -> float:
    """Screen pixels per data unit across, over those up."""
    x, y = view.box.viewPixelSize()
    return y / x


def shows_every_point(view: MapView) -> bool:
    (x0, x1), (y0, y1) = view.box.viewRange()
    low, high = view.xy.min(axis=0), view.xy.max(axis=0)
    return x0 <= low[0] and high[0] <= x1 and y0 <= low[1] and high[1] <= y1


def test_a_map_keeps_equal_scales_when_shown_resized_and_replaced(qtbot):
    view = MapView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    rng = np.random.default_rng(0)
    tall = np.column_stack([rng.uniform(0, 1, 300), rng.uniform(0, 10, 300)])  # data range 1 : 10
    view.set_map(tall, None)
    qtbot.wait(20)
    assert pixel_ratio(view) == pytest.approx(1.0, rel=0.01) and shows_every_point(view)
    for size in ((300, 700), (900, 220)):
        view.resize(*size)
        qtbot.waitUntil(lambda size=size: abs(view.plot.width() - size[0]) < 5)
        assert pixel_ratio(view) == pytest.approx(1.0, rel=0.01) and shows_every_point(view)
    view.set_map(tall[:, ::-1] * 3, None)  # a new map, 30 : 3
    qtbot.wait(20)
    assert pixel_ratio(view) == pytest.approx(1.0, rel=0.01) and shows_every_point(view)
    (x0, x1), _ = view.box.viewRange()
    assert x1 - x0 < 40  # fitted to the new points, not the old range


@pytest.fixture
def calls(monkeypatch):
    """How often features were extracted and maps computed."""
    counts = {"extract": 0, "map": 0}

    def counted(name, function):
        def call(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(features, "extract_steps", counted("extract", features.extract_steps))
    monkeypatch.setattr(embedding, "project_steps", counted("map", embedding.project_steps))
    return counts


def features_pane(window: MainWindow, show_pane):
    pane = show_pane(window, "features")
    pane.iterations = ITERATIONS
    return pane


def mapped_window(make_window, settle, show_pane, qtbot, folder: Path, *, remember: bool = False) -> MainWindow:
    """A window with ``folder`` as the dataset and a t-SNE map of :data:`LAYER` shown."""
    window = make_window(remember=remember)
    window.controller.load_model(ModelSpec())
    window.controller.open_sample(images.samples()[1])
    settle(window)
    pane = features_pane(window, show_pane)
    pane.open_dataset(dataset_source.FOLDER, folder)
    qtbot.waitUntil(lambda: pane.dataset is not None and pane.dataset.root == folder, timeout=30_000)
    pane.layer_binding.choose_layer(LAYER)
    assert pane.form.set_values({"method": "tsne", "perplexity": 5.0, "seed": 2}) == {}
    pane.run()
    qtbot.waitUntil(lambda: not pane.running and pane.maps[1] is not None, timeout=60_000)
    return window


def test_a_restart_brings_back_the_dataset_the_layer_and_the_map(make_window, settle, show_pane, qtbot, tmp_path,
                                                                 calls):
    folder = write_tree(tmp_path / "tree")
    first = mapped_window(make_window, settle, show_pane, qtbot, folder, remember=True)
    shown = first.panes["features"].maps[1]
    first.close()
    assert settings_store.load_text(LAYER_KEY) == LAYER
    before = dict(calls)

    second = make_window(remember=True)
    second.panes["features"].iterations = ITERATIONS  # as in the first window: the same map
    second.controller.load_model(ModelSpec())
    second.controller.open_sample(images.samples()[1])
    settle(second)
    pane = features_pane(second, show_pane)
    qtbot.waitUntil(lambda: pane.maps[1] is not None and not pane.running, timeout=60_000)
    assert pane.dataset.root == folder and len(pane.dataset) == len(SAMPLES) * PER_CLASS
    assert pane.layer == LAYER and pane.maps[1].features.layer == LAYER
    np.testing.assert_array_equal(pane.maps[1].embedding.xy, shown.embedding.xy)
    np.testing.assert_array_equal(np.column_stack(pane.views[1].scatter.getData()), shown.embedding.xy)
    assert calls == before  # features and map read from the cache


def test_a_session_reopens_its_map_from_the_cache(make_window, settle, show_pane, qtbot, tmp_path, calls):
    folder = write_tree(tmp_path / "tree")
    first = mapped_window(make_window, settle, show_pane, qtbot, folder)
    shown = first.panes["features"].maps[1]
    path = first.sessions.save(tmp_path / "map.cnnviz")
    assert calls == {"extract": 1, "map": 1}

    second = make_window()
    restored = []
    second.sessions.restored.connect(restored.append)
    pane = second.panes["features"]
    pane.iterations = ITERATIONS
    assert second.sessions.open(path)
    qtbot.waitUntil(lambda: bool(restored) and pane.maps[1] is not None and not pane.running, timeout=60_000)
    assert restored == [{}] and pane.dataset.root == folder and pane.layer == LAYER
    np.testing.assert_array_equal(pane.maps[1].embedding.xy, shown.embedding.xy)
    np.testing.assert_array_equal(pane.maps[1].features.values, shown.features.values)
    assert pane.maps[1].settings == shown.settings and pane.settings() == first.panes["features"].settings()
    assert calls == {"extract": 1, "map": 1}


def test_without_cached_features_compute_is_left_ready(make_window, settle, show_pane, qtbot, tmp_path, data_home,
                                                       calls):
    folder = write_tree(tmp_path / "tree")
    first = mapped_window(make_window, settle, show_pane, qtbot, folder)
    path = first.sessions.save(tmp_path / "map.cnnviz")
    shutil.rmtree(first.panes["features"].cache_folder)
    second = make_window()
    restored = []
    second.sessions.restored.connect(restored.append)
    assert second.sessions.open(path)
    pane = second.panes["features"]
    qtbot.waitUntil(lambda: bool(restored) and pane.dataset is not None and second.controller.settled,
                    timeout=60_000)
    qtbot.waitUntil(lambda: pane.progress.format() == NOT_CACHED, timeout=10_000)
    assert pane.maps == [None, None] and not pane.running and pane.run_button.isEnabled()
    assert calls == {"extract": 1, "map": 1}


def test_a_remembered_folder_that_is_gone_is_named_on_the_status_bar(make_window, settle, show_pane, qtbot,
                                                                     tmp_path):
    folder = write_tree(tmp_path / "tree")
    first = make_window(remember=True)
    pane = first.panes["features"]
    pane.open_dataset(dataset_source.FOLDER, folder)
    qtbot.waitUntil(lambda: first.state.dataset is not None, timeout=30_000)
    first.close()
    shutil.rmtree(folder)
    second = make_window(remember=True)  # a dialog would fail the test
    assert second.state.dataset is None
    assert f"the dataset folder {folder} no longer exists" in second.statusBar().currentMessage()
    assert second.panes["features"].apply_settings({"dataset": {"kind": "tape"}}, strict=False) == {
        "dataset": "{'kind': 'tape'} names no dataset (a folder path or Fashion-MNIST test/train)"}
