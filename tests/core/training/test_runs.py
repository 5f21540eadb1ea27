"""A run folder read back: history, checkpoints, labels that tell runs apart and the recorded splits."""

import json

import numpy as np
import pytest

from cnnviz.core import datasets, models, training
from cnnviz.core.model import checkpoint_files
from cnnviz.core.training import runs


def test_a_run_reads_back_its_history_checkpoints_and_best_epoch(two_runs):
    record = training.open_run(two_runs[0])
    meta = checkpoint_files.read_meta(two_runs[0] / "epoch-002")
    assert record.epochs == (1, 2)
    assert [row.to_json() for row in record.history] == meta["history"]
    assert record.best_epoch == meta["best_epoch"]
    assert record.config["lr"] == 0.01 and record.classes == tuple(datasets.fashion_mnist("test", limit=1).classes)
    assert record.checkpoint() == two_runs[0] / f"epoch-{record.best_epoch:03d}"
    with pytest.raises(ValueError, match="no checkpoint of epoch 3"):
        record.checkpoint(3)
    table = record.table()
    assert table.shape == (2, 2, 3)
    val = [row for row in meta["history"] if row["split"] == "val"]
    assert table[:, 1, 0].tolist() == [row["loss"] for row in val]
    assert table[:, 0, 2].tolist() == [row["top3"] for row in meta["history"] if row["split"] == "train"]
    assert record.seconds() == pytest.approx(sum(row["seconds"] for row in meta["history"]))
    assert training.open_run(two_runs[0] / "epoch-001").folder == record.folder


def test_runs_are_named_by_what_differs(two_runs):
    records = [training.open_run(folder) for folder in two_runs]
    assert training.run_labels(records) == ["lr=0.01", "lr=0.05"]
    assert training.run_labels(records[:1]) == ["ZFNet-mini (Fashion-MNIST) finetune"]
    assert training.run_labels([records[0], records[0]]) == ["lr0.01", "lr0.01"]


def test_the_recorded_splits_are_the_images_trained_validated_and_tested_on(two_runs):
    splits = training.read_splits(two_runs[0])
    assert {name: len(ds) for name, ds in splits.items()} == {"train": 200, "val": 60, "test": 100}
    whole = datasets.fashion_mnist("train", limit=260)
    assert np.array_equal(splits["val"].pixels, whole.pixels[200:260])
    assert splits["val"].labels == whole.labels[200:260]
    assert splits["test"].files == datasets.fashion_mnist("test", limit=100).files


def test_a_folder_split_reads_back_its_files(tmp_path):
    from tests.core.training.training_folders import write_folder

    dataset = datasets.open_folder(write_folder(tmp_path / "photos", {"a": 3, "b": 2}))
    part = dataset.subset([0, 4], "part")
    runs.write_splits(tmp_path / "run", {"test": part, "val": None})
    back = training.read_splits(tmp_path / "run")
    assert list(back) == ["test"]
    assert back["test"].files == part.files and back["test"].labels == [0, 1] and back["test"].root == dataset.root
    assert np.array_equal(np.asarray(back["test"].image(1)), np.asarray(part.image(1)))


def test_a_folder_without_checkpoints_or_with_a_damaged_record_says_so(tmp_path, two_runs):
    with pytest.raises(ValueError, match="not a training run"):
        training.open_run(tmp_path)
    (tmp_path / runs.SPLITS_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot be read"):
        training.read_splits(tmp_path)
    assert training.read_splits(two_runs[0] / "epoch-001") == {}


def test_predictions_agree_with_evaluate(two_runs):
    model = models.load(str(two_runs[0] / "epoch-002"))
    test = training.read_splits(two_runs[0])["test"]
    from cnnviz.core.progress import run_to_end

    metrics, predictions = run_to_end(training.predict_steps(model, test, workers=0))
    reference = training.evaluate(model, test, workers=0)
    assert np.array_equal(metrics.confusion, reference.confusion) and metrics.top1 == reference.top1
    assert predictions.top.shape == predictions.probabilities.shape == (100, 3)
    assert np.array_equal(predictions.labels, test.labels)
    recount = np.zeros_like(metrics.confusion)
    np.add.at(recount, (predictions.labels, predictions.predicted()), 1)
    assert np.array_equal(recount, metrics.confusion)
    assert np.all(np.diff(predictions.probabilities, axis=1) <= 0)
    assert json.loads(json.dumps(predictions.indices.tolist())) == list(range(100))


def test_evolution_leaves_out_a_convolution_head():
    from torch import nn

    from cnnviz.core import wrap
    from cnnviz.core.training.evolution import default_layer

    body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 2, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = wrap(body, input_size=(16, 16), categories=["a", "b"])
    assert default_layer(model) == "3"
