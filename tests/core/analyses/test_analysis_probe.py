"""The probe analysis: its scores are training.probe_layers', its CSV a header and a row per layer."""

import numpy as np
import pytest

from cnnviz.analyses import Source, probe
from cnnviz.analyses.base import compute
from cnnviz.core import datasets, models, training
from cnnviz.core.data import fashion_mnist
from tests.core.analyses.figure_layout import assert_readable

LAYERS = ("features.conv1", "features.conv3")


@pytest.fixture(scope="module")
def splits():
    if not fashion_mnist.available():
        pytest.skip("Fashion-MNIST is not installed")
    return datasets.fashion_mnist("train", limit=200), datasets.fashion_mnist("test", limit=100)


@pytest.fixture(scope="module")
def result(splits):
    source = Source("fm", dataset=splits[0], test=splits[1])
    return compute(probe.run(models.load_default(), source, probe.Settings(layers=LAYERS)))


def test_the_scores_are_probe_layers(result, splits):
    reference = training.probe_layers(models.load_default(), *splits, layers=list(LAYERS), workers=0)
    assert result.scores == reference
    assert result.arrays()["scores"].tolist() == [[s.top1, s.top3, s.train_top1] for s in reference.values()]


def test_the_csv_has_a_header_and_a_row_per_layer(result, tmp_path):
    result.export(tmp_path, ["csv"], stem="p")
    lines = [line for line in (tmp_path / "p-scores.csv").read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "layer,features,top1,top3,train_top1"
    assert [line.split(",")[0] for line in lines[1:]] == list(LAYERS)
    assert float(lines[2].split(",")[2]) == pytest.approx(result.scores[LAYERS[1]].top1)


def test_the_bars_are_the_scores_and_a_second_model_stands_beside(result):
    other = probe.ProbeResult(settings=result.settings, head=result.head, model="other", test=result.test,
                              scores={layer: training.ProbeScore(0.5, 0.75, 0.6, 4) for layer in LAYERS})
    figure = probe.figure(result, others=[other], width_mm=170, dpi=100)
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    expected = [s.top3 for s in result.scores.values()] + [s.top1 for s in result.scores.values()] + [0.75] * 2 + \
        [0.5] * 2
    assert np.allclose(heights, expected)
    assert_readable(figure)


def test_a_probe_without_test_images_or_with_an_unknown_layer_is_refused(splits):
    with pytest.raises(ValueError, match="needs test images"):
        compute(probe.run(models.load_default(), Source("fm", dataset=splits[0])))
    with pytest.raises(ValueError, match="layer"):
        probe.check(models.load_default(), probe.Settings(layers=("nope",)))
    assert probe.defaults(models.load_default()).layers


def test_a_result_carries_its_comparisons_into_the_figure_and_the_tables(result):
    other = probe.ProbeResult(settings=result.settings, head=result.head, model="tuned", test=result.test,
                              scores={layer: training.ProbeScore(0.25, 0.5, 0.3, 4) for layer in LAYERS})
    joined = probe.ProbeResult(settings=result.settings, head=result.head, model=result.model, test=result.test,
                               scores=result.scores, others=(other,))
    heights = [patch.get_height() for patch in probe.figure(joined, width_mm=170, dpi=100).axes[0].patches]
    assert heights[-4:] == [0.5, 0.5, 0.25, 0.25]
    lines = [line for line in joined.tables()["compared"].splitlines() if not line.startswith("#")]
    assert lines[0] == "model,layer,features,top1,top3,train_top1" and len(lines) == 1 + 2 * len(LAYERS)
    assert lines[-1].startswith(f"tuned,{LAYERS[-1]},4,0.25,0.5")
