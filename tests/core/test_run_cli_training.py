"""``cnnviz run curves|confusion|probe``: the training views written headless, with their data and sidecar."""

import json

import numpy as np
import pytest

from cnnviz import cli
from cnnviz.core import datasets, models, training
from cnnviz.core.data import fashion_mnist


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(["run", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_curves_of_two_runs(capsys, tmp_path, two_runs):
    runs = ",".join(str(folder) for folder in two_runs)
    status, _out, err = run(capsys, "curves", "--runs", runs, "--out", str(tmp_path), "--format", "png,svg,npy,csv")
    assert status == 0, err
    stem = "curves-lr0.01-and-1-more"
    assert {p.name for p in tmp_path.iterdir()} == {f"{stem}{s}" for s in (
        ".png", ".svg", "-curves.npy", "-history.csv", "-runs.csv", ".json")}
    curves = np.load(tmp_path / f"{stem}-curves.npy")
    assert curves[1, :, 1, 1].tolist() == [row.top1 for row in training.open_run(two_runs[1]).rows("val")]
    sidecar = json.loads((tmp_path / f"{stem}.json").read_text())
    assert sidecar["runs"] == [str(folder.resolve()) for folder in two_runs] and sidecar["image"] == ""


def test_confusion_of_a_run_on_its_test_split_and_on_given_images(capsys, tmp_path, two_runs):
    status, _out, err = run(capsys, "confusion", "--runs", str(two_runs[0]), "--set", "epoch=2", "--out",
                            str(tmp_path), "--format", "npy,csv")
    assert status == 0, err
    counts = np.load(tmp_path / "confusion-lr0.01-confusion.npy")
    reference = training.evaluate(models.load(str(two_runs[0] / "epoch-002")),
                                  datasets.fashion_mnist("test", limit=100), workers=0)
    assert np.array_equal(counts, reference.confusion)
    status, _out, err = run(capsys, "confusion", "--runs", str(two_runs[0]), "--data", "fashion-mnist:test",
                            "--limit", "40", "--out", str(tmp_path / "given"), "--format", "npy")
    assert status == 0, err
    assert np.load(tmp_path / "given" / "confusion-lr0.01-confusion.npy").sum() == 40


def test_probe_writes_its_scores(capsys, tmp_path):
    if not fashion_mnist.available():
        pytest.skip("Fashion-MNIST is not installed")
    status, _out, err = run(capsys, "probe", "--data", "fashion-mnist:train", "--test", "fashion-mnist:test",
                            "--limit", "150", "--layers", "features.conv2,classifier.fc1", "--out", str(tmp_path),
                            "--format", "csv")
    assert status == 0, err
    lines = [line for line in (tmp_path / "probe-fashion-mnist-train-scores.csv").read_text().splitlines()
             if not line.startswith("#")]
    assert lines[0] == "layer,features,top1,top3,train_top1"
    assert [line.split(",")[0] for line in lines[1:]] == ["features.conv2", "classifier.fc1"]


@pytest.mark.parametrize(("argv", "message"), [
    (["curves"], "--runs is required"),
    (["curves", "--runs", "/nowhere"], "--runs /nowhere: no such folder"),
    (["probe", "--data", "fashion-mnist:train"], "--test is required"),
    (["probe", "--data", "fashion-mnist:train", "--test", "/nowhere"], "--test /nowhere: no such folder"),
    (["probe", "--data", "fashion-mnist:train", "--test", "fashion-mnist:test", "--layers", "nope"], "nope"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, argv, message):
    status, _out, err = run(capsys, *argv, "--out", str(tmp_path))
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_folder_that_is_not_a_run_fails_with_status_1(capsys, tmp_path):
    status, _out, err = run(capsys, "curves", "--runs", str(tmp_path), "--out", str(tmp_path / "out"))
    assert status == 1 and "not a training run" in err


def test_evolution_of_a_run(capsys, tmp_path, two_runs):
    status, _out, err = run(capsys, "evolution", "--runs", str(two_runs[1]), "--set", "images=60", "--set",
                            "units=1,2", "--out", str(tmp_path), "--format", "png,npy")
    assert status == 0, err
    activations = np.load(tmp_path / "evolution-lr0.05-activations.npy")
    assert activations.shape == (2, 2)
    sidecar = json.loads((tmp_path / "evolution-lr0.05.json").read_text())
    assert sidecar["settings"]["units"] == [1, 2] and sidecar["caption"]["fields"]["epochs"] == [1, 2]
