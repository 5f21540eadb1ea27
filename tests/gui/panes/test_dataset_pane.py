"""The Dataset pane: a scan of a small class-per-folder tree equals the core's, pages show each unit's
9 projections beside its 9 patches (the core's pixels), the result shown equals the scan analysis's run, a
clicked hit opens in the Deconvnet pane on its unit and position, a cancelled scan keeps a partial index that
Resume completes, the index is cached and reopened, the dead-unit CSV and the Fig. 2 export."""

import math
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from export_answers import answer_export
from PIL import Image
from PySide6.QtGui import QGuiApplication

from cnnviz.analyses import Source, compute, registry
from cnnviz.analyses import scan as scan_analysis
from cnnviz.core.data import datasets, fashion_mnist
from cnnviz.core.files.caption import with_comments
from cnnviz.core.model import models
from cnnviz.core.per_dataset import scan, top_patches
from cnnviz.core.per_image import deconv
from cnnviz.gui.panes.dataset.stats import THRESHOLD_KEY
from cnnviz.gui.panes.dataset.tiles import HITS
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.figure_render import ExportOptions

CLASSES = ("ankle-boot", "coat", "trouser")
COUNT = 42
TIMEOUT_MS = 60_000


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """42 grey 28×28 PNGs (Fashion-MNIST test images where installed, else seeded noise) in 3 class folders."""
    if fashion_mnist.available():
        pixels = fashion_mnist.load_split("test")[0][:COUNT]
    else:
        pixels = np.random.default_rng(0).integers(0, 256, (COUNT, 28, 28), dtype=np.uint8)
    root = tmp_path / "images"
    for i, image in enumerate(pixels):
        folder = root / CLASSES[i % len(CLASSES)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(folder / f"img{i:03d}.png")
    return root


@pytest.fixture
def reference():
    """A model of its own for the reference computations, so that they never share hooks with the
    pane's jobs on the compute worker."""
    return models.load_default()


@pytest.fixture
def pane(loaded_window, show_pane):
    made = show_pane(loaded_window, "dataset")
    made.loader_workers = 0
    made.batch_size = 8
    return made


def open_folder(pane, folder: Path, qtbot) -> None:
    pane.open_folder(folder)
    qtbot.waitUntil(lambda: pane.dataset is not None and pane.dataset.root == folder
                    and pane.cache_file is not None and bool(pane.checklist.layers()) and pane.settled,
                    timeout=TIMEOUT_MS)


def scanned(pane, qtbot):
    pane.run_button.click()
    qtbot.waitUntil(lambda: pane.outcome == "done" and pane.index is not None and not pane.running,
                    timeout=TIMEOUT_MS)
    return pane.index


def page_shown(pane, qtbot) -> list[int]:
    """Wait until every cell of the page has its patches; the page's channels."""
    layer = pane.view.view_layer
    qtbot.waitUntil(lambda: all((layer, c) in pane.patches for c in pane.fig2.page_channels())
                    and pane.settled, timeout=TIMEOUT_MS)
    return pane.fig2.page_channels()


def assert_same_index(shown: scan.ScanIndex, expected: scan.ScanIndex) -> None:
    assert shown.layers == expected.layers and shown.scanned == expected.scanned == expected.total
    for layer in expected.layers:
        np.testing.assert_array_equal(shown.stats(layer).fire_rate, expected.stats(layer).fire_rate)
        for channel in range(expected.channels(layer)):
            assert [(h.image, h.position) for h in shown.top(layer, channel=channel)] == \
                   [(h.image, h.position) for h in expected.top(layer, channel=channel)]
            np.testing.assert_allclose([h.activation for h in shown.top(layer, channel=channel)],
                                       [h.activation for h in expected.top(layer, channel=channel)], atol=1e-5)


def test_scan_pages_and_cells_show_the_cores_patches(pane, image_folder, qtbot, reference):
    open_folder(pane, image_folder, qtbot)
    model, ds = pane.state.model, pane.dataset
    assert len(ds) == COUNT and ds.classes == sorted(CLASSES)
    assert pane.source.summary.text() == f"<b>images</b>: {COUNT} images, 3 classes"
    assert pane.checklist.checked() == scan.default_layers(model) == ["features.relu1", "features.relu2",
                                                                      "features.relu3"]
    assert {"features", "features.conv2", "features.relu2", "classifier.relu4"} <= set(pane.checklist.layers())
    index = scanned(pane, qtbot)
    assert_same_index(index, scan.build(reference, datasets.open_folder(image_folder), workers=0))
    assert not pane.partial_label.isVisible()

    layer = pane.view.view_layer
    assert layer == index.layers[0]
    channels = page_shown(pane, qtbot)
    assert channels == list(range(pane.fig2.per_page))
    cell, shown = pane.fig2.cells[1], pane.view.result
    expected = top_patches.unit_patches(reference, ds, index, layer, channels[1])
    assert cell.channel == channels[1] and len(expected) == HITS
    boxes = [p.box for p in expected]
    wanted = {"projection": deconv.field_tiles([p.projection[:, :, 0] for p in expected], boxes, model.input_size),
              "patch": deconv.field_tiles([p.patch[:, :, 0] for p in expected], boxes, model.input_size)}
    for rank in range(HITS):
        np.testing.assert_array_equal(cell.view.tile_array(rank), shown.projections[1, rank])
        np.testing.assert_array_equal(cell.view.tile_array(HITS + rank), shown.patches[1, rank])
        np.testing.assert_array_equal(shown_pixels(cell.view.tile_array(rank)),
                                      shown_pixels(wanted["projection"][rank]))
        np.testing.assert_array_equal(shown_pixels(cell.view.tile_array(HITS + rank)),
                                      shown_pixels(wanted["patch"][rank]))
    stats = index.stats(layer)
    assert f"unit {channels[1]}</b> · max {stats.max[channels[1]]:.3g}" in cell.caption.text()

    pane.fig2.next_button.click()
    assert pane.fig2.page == 2
    second = page_shown(pane, qtbot)
    assert second == list(range(pane.fig2.per_page, 2 * pane.fig2.per_page))
    assert [cell.channel for cell in pane.fig2.cells] == second
    assert pane.index is index and pane.view.result.channels.tolist() == second
    sort = pane.form.widget("sort")
    sort.setCurrentIndex(sort.findData("selectivity"))
    assert pane.fig2.page == 1
    assert page_shown(pane, qtbot) == [int(c) for c in index.order(layer, "selectivity")[:pane.fig2.per_page]]


def test_clicking_a_hit_opens_its_image_in_the_deconvnet_pane(pane, image_folder, qtbot, mouse):
    open_folder(pane, image_folder, qtbot)
    index = scanned(pane, qtbot)
    window = pane.window()
    layer = pane.view.view_layer
    channels = page_shown(pane, qtbot)
    cell = pane.fig2.cells[2]
    pane.figure_area.ensureWidgetVisible(cell.view)  # a small window scrolls the grid; only what shows is drawn
    mouse.click(cell.view, lambda: cell.view.scene_centre(4))
    assert pane.view.selected == channels[2]
    assert pane.stats.unit == channels[2]
    qtbot.waitUntil(lambda: len(pane.detail.patches) == HITS, timeout=TIMEOUT_MS)
    assert pane.detail.table.item(0, 1).text() == pane.detail.patches[0].name
    hit = index.top(layer, channel=channels[2])[3]
    view = pane.detail.view
    mouse.click(view, lambda: view.scene_centre(HITS + 3))
    deconv_pane = window.panes["deconvnet"]
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is deconv_pane, timeout=TIMEOUT_MS)
    state = window.state
    assert state.image_name == Path(pane.dataset.files[hit.image]).name
    assert state.image_path == image_folder / pane.dataset.files[hit.image]
    np.testing.assert_array_equal(np.asarray(state.image), np.asarray(pane.dataset.image(hit.image)))
    assert (state.layer, state.channel, state.position) == (layer, channels[2], hit.position)
    qtbot.waitUntil(lambda: deconv_pane.settled and deconv_pane._current_result() is not None
                    and deconv_pane._current_result().request == deconv_pane._requested, timeout=TIMEOUT_MS)
    projection = deconv_pane.result
    assert deconv_pane.layer == layer
    assert (projection.channel, projection.position) == (channels[2], hit.position)
    assert projection.activation == pytest.approx(hit.activation, abs=1e-5)


def test_a_cancelled_scan_keeps_a_partial_index_that_resume_completes(pane, image_folder, qtbot, monkeypatch,
                                                                       reference):
    open_folder(pane, image_folder, qtbot)
    gate = threading.Event()
    real = scan_analysis.scan_steps

    def gated(*args, **kwargs):
        steps = real(*args, **kwargs)
        yield next(steps)
        gate.wait(10)
        return (yield from steps)

    monkeypatch.setattr(scan_analysis, "scan_steps", gated)
    pane.run_button.click()
    qtbot.waitUntil(lambda: pane.partial_progress() == (8, COUNT), timeout=TIMEOUT_MS)
    pane.cancel_button.click()
    gate.set()
    qtbot.waitUntil(lambda: not pane.running and pane.index is not None, timeout=TIMEOUT_MS)
    assert pane.outcome == "cancelled"
    partial = pane.index
    assert partial.partial and (partial.scanned, partial.total) == (8, COUNT)
    assert pane.partial_label.text() == f"PARTIAL — 8 of {COUNT} images (cancelled)"
    assert pane.resume_button.isEnabled()
    qtbot.waitUntil(lambda: pane.cache_file.is_file() and pane.settled, timeout=TIMEOUT_MS)
    assert scan.load(pane.cache_file, reference, pane.dataset).scanned == 8

    monkeypatch.setattr(scan_analysis, "scan_steps", real)
    pane.resume_button.click()
    qtbot.waitUntil(lambda: pane.outcome == "done" and pane.index is not None and not pane.running,
                    timeout=TIMEOUT_MS)
    assert not pane.index.partial and not pane.partial_label.isVisible()
    assert_same_index(pane.index, scan.build(reference, datasets.open_folder(image_folder), workers=0))


def test_the_cached_index_reopens_for_the_same_model_and_folder(pane, image_folder, qtbot, settle):
    open_folder(pane, image_folder, qtbot)
    first = scanned(pane, qtbot)
    qtbot.waitUntil(lambda: pane.cache_file.is_file() and pane.settled, timeout=TIMEOUT_MS)
    window = pane.window()
    shown_at_change = []
    pane.state.model_changed.connect(lambda _model: shown_at_change.append((pane.index, pane.patches.copy())))
    window.controller.load_model(ModelSpec())
    qtbot.waitUntil(lambda: bool(shown_at_change), timeout=TIMEOUT_MS)
    assert shown_at_change == [(None, {})]
    settle(window)
    qtbot.waitUntil(lambda: pane.index is not None and pane.settled, timeout=TIMEOUT_MS)
    assert pane.index is not first
    assert_same_index(pane.index, first)
    assert "Reopened the saved scan" in pane.info.text()

    open_folder(pane, image_folder, qtbot)
    qtbot.waitUntil(lambda: pane.index is not None and pane.settled, timeout=TIMEOUT_MS)
    assert_same_index(pane.index, first)


def test_dead_units_and_their_csv(pane, image_folder, qtbot):
    open_folder(pane, image_folder, qtbot)
    index = scanned(pane, qtbot)
    layer = pane.view.view_layer
    fire_rate = index.stats(layer).fire_rate
    threshold = math.ceil(np.sort(fire_rate)[len(fire_rate) // 4] * 1000) / 1000
    pane.stats.threshold_spin.setValue(threshold)
    assert settings_store.load_float(THRESHOLD_KEY, 0.0) == threshold
    listed = np.flatnonzero(fire_rate <= threshold)
    assert len(listed) >= len(fire_rate) // 4
    np.testing.assert_array_equal(pane.stats.listed_units(), listed)
    assert f"{int((fire_rate == 0).sum())} — " in pane.stats.dead_label.text()
    pane.stats.copy_button.click()
    text = QGuiApplication.clipboard().text()
    assert text == top_patches.units_csv(index, layer, [int(c) for c in listed])
    assert text.splitlines()[0] == "unit,fire_rate,mean_max,max,selectivity"
    assert len(text.splitlines()) == 1 + len(listed)


def test_export_writes_the_figure_and_the_hits(pane, image_folder, qtbot, tmp_path, monkeypatch):
    open_folder(pane, image_folder, qtbot)
    index = scanned(pane, qtbot)
    channels = page_shown(pane, qtbot)
    target = tmp_path / "out" / "fig2.png"
    target.parent.mkdir()
    answer_export(monkeypatch, target, ("png", "csv"))
    written = pane.export.export()
    assert written == [target, target.with_name("fig2-hits.csv")]
    with Image.open(target) as image:
        assert image.format == "PNG" and image.size[0] == 2008
    caption = pane.caption()
    assert caption.fields["layer"] == pane.view.view_layer and caption.fields["channels"] == channels
    assert caption.fields == pane.analysis_result().caption().fields and caption.fields["page"] == 1
    csv = written[1].read_text(encoding="utf-8")
    assert csv == with_comments(top_patches.hits_csv(index, pane.dataset, pane.view.view_layer, channels), caption)
    assert len(csv.splitlines()) == len(caption.comment_lines()) + 1 + HITS * len(channels)


def shown_pixels(tile: np.ndarray) -> np.ndarray:
    """The drawn (not blank) values of a tile, row by row: equal for the same crop placed in tiles of
    different sizes."""
    return tile[~np.isnan(tile)]


def test_the_export_is_the_scan_analysis_figure_of_the_page_shown(pane, image_folder, qtbot, tmp_path):
    open_folder(pane, image_folder, qtbot)
    index = scanned(pane, qtbot)
    layer = pane.view.view_layer
    assert pane.form.set_values({"sort": "max"}) == {}
    pane.fig2.per_page_spin.setValue(4)
    pane.fig2.next_button.click()
    pane.stats.threshold_spin.setValue(0.2)
    channels = page_shown(pane, qtbot)
    result = pane.analysis_result()
    assert result.settings == scan_analysis.Settings(
        layers=tuple(index.layers), layer=layer, k=index.k, sort="max", per_page=4, page=2, threshold=0.2,
        batch_size=8, workers=0)
    assert result.index is index and result.layer == layer and not result.partial
    assert result.channels.tolist() == channels == [cell.channel for cell in pane.fig2.cells]
    np.testing.assert_array_equal(result.order, pane.fig2.order)
    np.testing.assert_array_equal(result.stats.fire_rate, index.stats(layer).fire_rate)
    np.testing.assert_array_equal(np.flatnonzero(result.dead | result.nearly_dead), pane.stats.listed_units())
    for slot, cell in enumerate(pane.fig2.cells):
        for rank in range(HITS):
            np.testing.assert_array_equal(shown_pixels(result.projections[slot, rank]),
                                          shown_pixels(cell.view.tile_array(rank)))
            np.testing.assert_array_equal(shown_pixels(result.patches[slot, rank]),
                                          shown_pixels(cell.view.tile_array(HITS + rank)))
    assert result.hits == top_patches.hits_csv(index, pane.dataset, layer, channels)
    assert result.caption().dataset == pane.caption().dataset == pane.dataset.name

    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    expected = registry.get("scan").figure(pane.analysis_result()).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert image.size == pytest.approx(tuple(expected), abs=1)
    root = ET.parse(tmp_path / "x.svg").getroot()
    text = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert result.caption().checksum in text and "page=2" in text


def test_the_result_shown_equals_the_scan_analysiss_run(pane, image_folder, qtbot, reference):
    open_folder(pane, image_folder, qtbot)
    index = scanned(pane, qtbot)
    assert pane.form.set_values({"sort": "fire_rate"}) == {}
    pane.fig2.per_page_spin.setValue(3)
    pane.fig2.next_button.click()
    pane.stats.threshold_spin.setValue(0.3)
    channels = page_shown(pane, qtbot)
    shown = pane.analysis_result()
    assert pane.index is index and shown.settings.page == 2 and shown.settings.sort == "fire_rate"
    expected = compute(scan_analysis.run(reference, Source.of_dataset(datasets.open_folder(image_folder)),
                                         shown.settings))
    assert shown.channels.tolist() == expected.channels.tolist() == channels
    assert sorted(shown.hit_patches) == sorted(expected.hit_patches) == sorted(channels)
    np.testing.assert_array_equal(shown.top_images, expected.top_images)
    np.testing.assert_array_equal(shown.top_positions, expected.top_positions)
    np.testing.assert_allclose(shown.top_activations, expected.top_activations, atol=1e-5)
    for name in ("order", "dead", "nearly_dead", "projections", "patches"):
        np.testing.assert_array_equal(getattr(shown, name), getattr(expected, name), err_msg=name)
    np.testing.assert_array_equal(shown.stats.fire_rate, expected.stats.fire_rate)
    assert shown.hits == expected.hits and shown.caption().fields == expected.caption().fields
    assert not shown.partial and not expected.partial
    assert pane.view.result.channels.tolist() == channels


def test_the_default_layer_is_the_scan_analysiss(pane):
    model = pane.state.model
    chosen = pane.default_layer(pane.picker.choices)
    assert chosen == scan_analysis.defaults(model).layer == scan.default_layers(model)[0]


def test_a_folder_without_images_shows_why(pane, tmp_path, qtbot):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    pane.open_folder(empty)
    qtbot.waitUntil(lambda: pane.settled and "failed" in pane.info.text(), timeout=TIMEOUT_MS)
    assert pane.dataset is None and pane.index is None
    assert settings_store.load_path("dataset/folder") == empty


def test_a_dataset_chosen_elsewhere_becomes_the_panes_and_scans(pane, image_folder, qtbot):
    ds = datasets.open_folder(image_folder)
    pane.state.set_dataset(ds)
    assert pane.dataset is ds and pane.source.dataset is ds and ds.name in pane.source.summary.text()
    qtbot.waitUntil(lambda: pane.cache_file is not None and bool(pane.checklist.layers()) and pane.settled,
                    timeout=TIMEOUT_MS)
    index = scanned(pane, qtbot)
    assert index.total == COUNT and index.files == ds.files


def test_per_image_work_goes_on_while_a_scan_runs_on_a_copy_of_the_model(pane, image_folder, qtbot, monkeypatch,
                                                                         reference):
    open_folder(pane, image_folder, qtbot)
    gate, scanned_models = threading.Event(), []
    real = scan_analysis.scan_steps

    def gated(model, *args, **kwargs):
        scanned_models.append(model)
        steps = real(model, *args, **kwargs)
        yield next(steps)
        gate.wait(30)
        return (yield from steps)

    monkeypatch.setattr(scan_analysis, "scan_steps", gated)
    pane.run_button.click()
    try:
        qtbot.waitUntil(lambda: pane.partial_progress() == (8, COUNT), timeout=TIMEOUT_MS)
        predicted = []
        task = pane.controller.refresh_input()
        task.succeeded.connect(lambda result: predicted.append(result.predictions.top[0]))
        qtbot.waitUntil(lambda: bool(predicted), timeout=10_000)
        assert pane.running
    finally:
        gate.set()
    model = pane.state.model
    assert scanned_models[0] is not model and scanned_models[0].module is not model.module
    qtbot.waitUntil(lambda: pane.outcome == "done" and not pane.running, timeout=TIMEOUT_MS)
    assert_same_index(pane.index, scan.build(reference, datasets.open_folder(image_folder), workers=0))
