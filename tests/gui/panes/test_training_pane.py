"""The Training pane: a run trains on the shared dataset's splits, its curves and run-list scores equal the run's
files, Pause holds it between batches, Stop keeps a partial checkpoint that Resume continues, Use this model
makes a checkpoint every pane's model (and Previous model goes back), Delete asks, and the export is the curves
analysis's figure of the runs ticked."""

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cnnviz.analyses import curves
from cnnviz.core import datasets, models, training
from cnnviz.core.data import fashion_mnist
from cnnviz.core.model import checkpoint_files
from cnnviz.core.training.splits import class_counts

CLASSES_SHOWN = 10


@pytest.fixture
def pane(loaded_window, show_pane, tmp_path):
    if not fashion_mnist.available():
        pytest.skip("Fashion-MNIST is not installed")
    shown = show_pane(loaded_window, "training")
    shown.runs.set_root(tmp_path / "runs")
    loaded_window.state.set_dataset(datasets.fashion_mnist("test", limit=300))
    shown.main_form.set_values({"epochs": 2, "batch_size": 50})
    shown.more_form.set_values({"workers": 0})
    return shown


def train(pane, qtbot) -> training.RunRecord:
    pane.run_button.click()
    qtbot.waitUntil(lambda: not pane.running and pane.outcome == "done", timeout=120_000)
    assert len(pane.run_list.records) >= 1
    return pane.run_list.selected()


def test_a_run_trains_and_shows_what_its_files_hold(pane, qtbot):
    dataset = pane.state.dataset
    parts = dict(zip(("train", "val", "test"), training.split(dataset, (0.7, 0.2, 0.1), seed=0)))
    counts = class_counts(parts, list(dataset.classes))
    table = pane.split_table
    assert table.rowCount() == CLASSES_SHOWN + 1
    assert [int(table.item(0, c).text()) for c in (1, 2, 3)] == counts[0].tolist()
    assert [int(table.item(CLASSES_SHOWN, c).text()) for c in (1, 2, 3)] == counts.sum(axis=0).tolist()

    record = train(pane, qtbot)
    meta = checkpoint_files.read_meta(record.folder / "epoch-002")
    assert record.epochs == (1, 2) and meta["config"]["batch_size"] == 50
    label = pane.run_list.labels[0]
    val_loss = [row["loss"] for row in meta["history"] if row["split"] == "val"]
    assert pane.curves_view.lines[(label, "val", "loss")].tolist() == val_loss
    assert pane.curves_view.lines[(label, "train", "top3")].tolist() == [
        row["top3"] for row in meta["history"] if row["split"] == "train"]
    test_row = next(row for row in json.loads((record.folder / "results.json").read_text())["results"]
                    if row["split"] == "test")
    reference = training.evaluate(models.load(str(record.checkpoint())), parts["test"], workers=0)
    assert test_row["top-1"] == round(reference.top1, 4) and test_row["images"] == len(parts["test"])
    cells = {pane.run_list.table.horizontalHeaderItem(c).text(): pane.run_list.table.item(0, c).text()
             for c in range(pane.run_list.table.columnCount())}
    assert cells["test top-1"] == f"{reference.top1:.3f}" and cells["epochs"] == "2"
    assert json.loads((record.folder / "splits.json").read_text())["test"]["files"] == parts["test"].files
    result = pane.analysis_result()
    assert result is not None and np.array_equal(result.arrays()["curves"][0], record.table(), equal_nan=True)
    assert pane.progress.format() == "Finished"


def test_pause_holds_the_run_and_stop_keeps_a_partial_checkpoint_that_resume_continues(pane, qtbot):
    pane.main_form.set_values({"epochs": 3, "batch_size": 5})
    pane.run_button.click()
    qtbot.waitUntil(lambda: pane.live is not None and len(pane.live[2]) >= 2, timeout=60_000)
    assert pane.controller.dataset.busy and not pane.controller.compute.busy  # the other tools stay free
    qtbot.waitUntil(lambda: "images/s" in pane.info.text(), timeout=30_000)
    pane.pause_button.click()
    assert pane.gate.paused and pane.pause_button.text() == "Continue"
    qtbot.wait(300)
    held = len(pane.live[2])
    qtbot.wait(600)
    assert len(pane.live[2]) == held and pane.running
    began = time.monotonic()
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=5000)
    assert time.monotonic() - began < 1.5 and pane.outcome == "cancelled"
    assert not pane.gate.paused and pane.pause_button.text() == "Pause"
    folders = list(pane.runs.runs_root.iterdir())
    assert len(folders) == 1 and (folders[0] / "epoch-001-partial").is_dir()

    pane.main_form.set_values({"epochs": 1, "batch_size": 50})
    train(pane, qtbot)  # a whole first epoch of another run to resume
    record = pane.run_list.selected()
    pane.main_form.set_values({"epochs": 2})
    pane.run_list.resume_button.click()
    qtbot.waitUntil(lambda: not pane.running and pane.outcome == "done", timeout=120_000)
    resumed = training.open_run(record.folder)
    assert resumed.epochs == (1, 2) and [row.epoch for row in resumed.rows("val")] == [1, 2]


def test_use_this_model_and_back(pane, qtbot, settle):
    record = train(pane, qtbot)
    before = pane.state.model.name
    pane.run_list.epoch_combo.setCurrentIndex(pane.run_list.epoch_combo.findData(1))
    pane.run_list.use_button.click()
    qtbot.waitUntil(lambda: pane.state.model.name != before, timeout=30_000)
    assert pane.state.model.name.endswith("→ fine-tuned on Fashion-MNIST test · train, epoch 1")
    assert pane.state.model.path == (record.folder / "epoch-001").resolve()
    assert pane.run_list.back_button.isEnabled()
    pane.run_list.back_button.click()
    qtbot.waitUntil(lambda: pane.state.model.name == before, timeout=30_000)
    assert not pane.run_list.back_button.isEnabled()


def test_delete_asks_and_removes_the_folder(pane, qtbot, monkeypatch):
    record = train(pane, qtbot)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or
                        QMessageBox.StandardButton.No)
    pane.run_list.delete_button.click()
    assert record.folder.is_dir() and str(record.folder) in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    pane.run_list.delete_button.click()
    assert not record.folder.exists() and pane.run_list.records == []


def test_the_runs_are_sortable_and_hidden_runs_are_not_drawn(pane, qtbot):
    pane.main_form.set_values({"epochs": 1})
    first = train(pane, qtbot)
    pane.main_form.set_values({"lr": 0.05})
    train(pane, qtbot)
    assert len(pane.run_list.records) == 2
    labels = set(pane.run_list.labels)
    assert labels == {"lr=0.01", "lr=0.05"}
    pane.run_list.set_shown(first.folder, False)
    assert [record.folder for record in pane.shown_records()] != [first.folder]
    assert not any(key[0] == "lr=0.01" for key in pane.curves_view.lines)
    table = pane.run_list.table
    column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index("best val top-1")
    table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    values = [float(table.item(row, column).text()) for row in range(2)]
    assert values == sorted(values, reverse=True)
    assert curves.RUN_HEADER[column] == "best val top-1"


def test_the_runs_folder_and_the_runs_shown_are_settings(pane, qtbot):
    record = train(pane, qtbot)
    values = pane.settings()
    assert values["runs_folder"] == str(pane.runs.runs_root) and values["runs_shown"] == [str(record.folder)]
    pane.run_list.set_shown(record.folder, False)
    assert pane.shown_records() == []
    assert pane.apply_settings(values) == {}
    assert [shown.folder for shown in pane.shown_records()] == [record.folder]
    gone = values | {"runs_folder": str(record.folder / "nowhere")}
    assert "no longer exists" in pane.apply_settings(gone)["runs_folder"]


def test_the_confusion_tab_shows_evaluate_of_the_checkpoint_and_a_cells_images(pane, qtbot):
    record = train(pane, qtbot)
    confusion = pane.views.show_view("confusion")
    pane.run_list.epoch_combo.setCurrentIndex(pane.run_list.epoch_combo.findData(1))
    confusion.compute_button.click()
    qtbot.waitUntil(lambda: confusion.result is not None, timeout=60_000)
    result = confusion.result
    test = training.read_splits(record.folder)["test"]
    reference = training.evaluate(models.load(str(record.folder / "epoch-001")), test, workers=0)
    assert np.array_equal(result.counts(), reference.confusion) and result.epoch == 1
    assert np.array_equal(confusion.view.image.image, result.counts().astype(float))
    shown = [(round(t.pos().y() - 0.5), round(t.pos().x() - 0.5), t.toPlainText()) for t in confusion.view.texts]
    assert all(text == str(result.counts()[i, j]) for i, j, text in shown) and len(shown) == 100
    true, predicted = np.unravel_index(np.argmax(result.counts()), result.counts().shape)
    confusion.view.cell_clicked.emit(int(true), int(predicted))
    qtbot.waitUntil(lambda: confusion.view.cells.count() == result.counts()[true, predicted], timeout=30_000)
    expected = [int(result.predictions.indices[slot]) for slot in result.cell(int(true), int(predicted))]
    assert confusion.view.cells.images() == expected
    assert pane.analysis_result().analysis == "confusion" and pane.views.export_name() == "training-confusion"
    confusion.show_combo.setCurrentIndex(1)
    assert np.allclose(confusion.view.image.image, np.nan_to_num(result.normalised()))
    assert pane.analysis_result().settings.show == "row-normalised"


def test_the_evolution_tab_shows_the_analysis_grid_of_the_selected_run(pane, qtbot):
    from cnnviz.analyses import Source, evolution
    from cnnviz.analyses.base import compute

    record = train(pane, qtbot)
    evolution_tab = pane.views.show_view("evolution")
    evolution_tab.images_spin.setValue(40)
    evolution_tab.units_edit.setText("3, 1")
    evolution_tab.compute_button.click()
    qtbot.waitUntil(lambda: evolution_tab.result is not None, timeout=60_000)
    shown = evolution_tab.result.evolution
    expected = compute(evolution.run(None, Source.of_runs([record.folder]), evolution_tab.settings())).evolution
    assert shown.units == (3, 1) and shown.epochs == (1, 2)
    assert np.array_equal(shown.activations(), expected.activations())
    picture, columns, rows = evolution.grid_picture(evolution_tab.result)
    assert evolution_tab.image.image.shape == picture.shape and len(columns) == 3 and len(rows) == 2
    assert pane.analysis_result() is evolution_tab.result and pane.export.button.isEnabled()
    evolution_tab.units_edit.setText("three")
    evolution_tab.compute_button.click()
    assert "units:" in pane.info.text()


def test_the_layer_probes_tab_shows_the_current_model_beside_the_runs_checkpoint(pane, qtbot):
    from cnnviz.core.training.evolution import sample

    record = train(pane, qtbot)
    probes = pane.views.show_view("probes")
    probes.layers_edit.setText("features.conv1, classifier.fc1")
    probes.images_spin.setValue(120)
    probes.compute_button.click()
    qtbot.waitUntil(lambda: probes.result is not None, timeout=120_000)
    result = probes.result
    splits = training.read_splits(record.folder)
    layers = ["features.conv1", "classifier.fc1"]
    base = training.probe_layers(pane.state.model, sample(splits["train"], 120), splits["test"], layers=layers,
                                 workers=0)
    tuned = training.probe_layers(models.load(str(record.checkpoint())), sample(splits["train"], 120),
                                  splits["test"], layers=layers, workers=0)
    assert result.scores == base and result.others[0].scores == tuned
    heights = [bar.opts["height"] for bar in probes.bars]
    assert list(heights[1]) == [s.top1 for s in base.values()] and list(heights[3]) == [s.top1 for s in tuned.values()]
    assert pane.analysis_result() is result and "compared" in result.tables()


def test_each_tab_joins_the_report_with_its_analysis_figure(pane, qtbot):
    record = train(pane, qtbot)
    report = pane.window().panes["report"]
    pane.report_action.trigger()
    qtbot.waitUntil(lambda: len(report.items()) == 1, timeout=30_000)
    assert report.items()[0].caption.fields["runs"] == [record.folder.name]
    confusion = pane.views.show_view("confusion")
    confusion.compute_button.click()
    qtbot.waitUntil(lambda: confusion.result is not None, timeout=60_000)
    pane.report_action.trigger()
    qtbot.waitUntil(lambda: len(report.items()) == 2, timeout=30_000)
    fields = report.items()[1].caption.fields
    assert fields["run"] == record.folder.name and fields["epoch"] == record.best_epoch and fields["split"] == "test"


def test_a_new_run_never_reuses_a_folder(tmp_path):
    from cnnviz.gui.panes.training.pane import run_folder_name, unique_folder

    name = run_folder_name("ZFNet-mini (Fashion-MNIST)", "photos · train", "finetune", when=0)
    assert name.endswith("-ZFNet-mini-Fashion-MNIST-photos-train-finetune") and "/" not in name
    first = tmp_path / name
    assert unique_folder(first) == first
    first.mkdir()
    assert unique_folder(first) == tmp_path / f"{name}-2"
    (tmp_path / f"{name}-2").mkdir()
    assert unique_folder(first) == tmp_path / f"{name}-3"
