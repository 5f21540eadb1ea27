"""The confusion analysis: its matrix equals training.evaluate of the run's checkpoint on the run's test split."""

import numpy as np
import pytest

from cnnviz.analyses import Source, confusion
from cnnviz.analyses.base import compute
from cnnviz.core import datasets, models, training
from tests.core.analyses.figure_layout import assert_readable


@pytest.fixture(scope="module")
def result(two_runs):
    return compute(confusion.run(None, Source.of_runs(two_runs[:1]), confusion.Settings(epoch=1)))


def test_the_matrix_is_evaluate_on_the_runs_test_split(result, two_runs):
    reference = training.evaluate(models.load(str(two_runs[0] / "epoch-001")),
                                  datasets.fashion_mnist("test", limit=100), workers=0)
    assert np.array_equal(result.counts(), reference.confusion)
    assert result.counts().sum() == 100 and result.metrics.top1 == reference.top1
    assert result.epoch == 1 and result.images.name.endswith("test")
    rows = result.counts().sum(axis=1)
    assert np.allclose(result.normalised()[rows > 0].sum(axis=1), 1.0)


def test_a_cell_lists_its_images_most_confident_first(result):
    true, predicted = np.unravel_index(np.argmax(result.counts()), result.counts().shape)
    chosen = result.cell(int(true), int(predicted))
    assert len(chosen) == result.counts()[true, predicted]
    assert np.all(result.predictions.labels[chosen] == true)
    assert np.all(np.diff(result.predictions.probabilities[chosen, 0]) <= 0)


def test_exports_the_counts_as_npy_and_csv_with_class_names(result, tmp_path):
    result.export(tmp_path, ["npy", "csv"], stem="m")
    assert np.array_equal(np.load(tmp_path / "m-confusion.npy"), result.counts())
    lines = [line for line in (tmp_path / "m-confusion.csv").read_text().splitlines() if not line.startswith("#")]
    assert lines[0].split(",")[1:] == list(result.classes)
    assert [int(v) for v in lines[1].split(",")[1:]] == result.counts()[0].tolist()
    predictions = [line for line in (tmp_path / "m-predictions.csv").read_text().splitlines()
                   if not line.startswith("#")]
    assert len(predictions) == 101 and predictions[0].startswith("index,file,true,top-1")


def test_the_figure_writes_every_count_in_its_cell(result):
    figure = confusion.figure(result, width_mm=170, dpi=100)
    ax = figure.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    k = len(result.classes)
    assert len(cells) == k * k
    assert all(cells[i, j].split("\n")[0] == str(result.counts()[i, j]) for i in range(k) for j in range(k))
    assert ax.get_yticklabels()[0].get_text() == result.classes[0]
    assert_readable(figure)


def test_given_images_are_scored_instead_and_a_missing_split_is_named(two_runs, tmp_path):
    images = datasets.fashion_mnist("test", limit=30)
    given = compute(confusion.run(None, Source.of_runs(two_runs[:1], images)))
    assert given.counts().sum() == 30 and given.images.name == images.name
    with pytest.raises(ValueError, match="one run, not 2"):
        compute(confusion.run(None, Source.of_runs(two_runs)))
    (two_runs[0] / "splits.json").rename(tmp_path / "splits.json")
    try:
        with pytest.raises(ValueError, match="recorded no test split"):
            compute(confusion.run(None, Source.of_runs(two_runs[:1])))
    finally:
        (tmp_path / "splits.json").rename(two_runs[0] / "splits.json")
