"""The occlusion job (maps plus the strongest map's projection), default settings, cell lookup and
data export."""

import csv
import io

import numpy as np
import pytest

from cnnviz.core.model import batching
from cnnviz.core.per_image import deconv, occlusion


def hand_result(layer: str | None = "features.relu3") -> occlusion.OcclusionResult:
    """A 2×3 map (window 8, stride 2) with the last cell not computed."""
    prob = np.array([[0.5, 0.25, 0.125], [0.75, 1.0, np.nan]], dtype=np.float32)
    top_class = np.array([[1, 0, 2], [2, 1, -1]])
    feature = np.array([[3.0, 4.0, 5.0], [6.0, 7.0, np.nan]], dtype=np.float32) if layer else None
    return occlusion.OcclusionResult(
        prob=prob, top_class=top_class, feature=feature, channel=4 if layer else None,
        positions=(np.array([0, 2]), np.array([0, 2, 4])), target=1, window=8, stride=2, fill="mean",
        layer=layer, baseline_prob=0.9, baseline_feature=8.0 if layer else None, done=5, total=6,
        classes=["zero", "one", "two"])


def test_default_window_and_stride():
    assert [occlusion.default_window(size) for size in (224, 28, 10, 3, 1)] == [32, 8, 5, 1, 1]
    assert [occlusion.default_stride(window) for window in (32, 8, 5, 3, 1)] == [8, 2, 1, 1, 1]


def test_cell_at_finds_the_square_holding_a_pixel_and_clamps_to_the_grid():
    result = hand_result()
    # cells are 2×2 squares starting at (8 - 2) / 2 = 3 px
    assert occlusion.cell_at(result, 3, 3) == (0, 0)
    assert occlusion.cell_at(result, 4.9, 6) == (0, 1)
    assert occlusion.cell_at(result, 5, 7) == (1, 2)
    assert occlusion.cell_at(result, 0, 0) == (0, 0)
    assert occlusion.cell_at(result, 100, 100) == (1, 2)


def test_save_data_round_trips_the_arrays_and_writes_one_csv_line_per_computed_cell(tmp_path):
    result = hand_result()
    written = occlusion.save_data(result, tmp_path / "sub" / "maps.csv")
    assert [p.name for p in written] == ["maps_prob.npy", "maps_top_class.npy", "maps_feature.npy", "maps.csv"]
    for name, array in result.arrays().items():
        np.testing.assert_array_equal(np.load(tmp_path / "sub" / f"maps_{name}.npy"), array)
    rows = list(csv.reader(io.StringIO(written[-1].read_text(encoding="utf-8"))))
    assert rows[0] == ["top", "left", "target_probability", "top_class", "top_class_name",
                       "feature_features.relu3_channel_4"]
    assert len(rows) == 1 + 5
    assert rows[1] == ["0", "0", "0.5", "1", "one", "3"]
    assert rows[5] == ["2", "2", "1", "1", "one", "7"]
    no_layer = occlusion.save_data(hand_result(layer=None), tmp_path / "plain")
    assert [p.name for p in no_layer] == ["plain_prob.npy", "plain_top_class.npy", "plain.csv"]


def test_the_job_yields_the_cores_maps_and_the_strongest_maps_projection(bundled, boot, monkeypatch):
    monkeypatch.setattr(batching, "TARGET_BATCH_S", 60.0)  # batches keep their size on a busy machine
    runs = list(occlusion.occlusion_job(bundled, boot, target=9, window=8, stride=4, fill="mean",
                                        layer="features.relu3", batch_size=10, seed=0))
    expected = occlusion.occlude(bundled, boot, target=9, window=8, stride=4, fill="mean", layer="features.relu3")
    assert [step.done for step in runs] == [10, 20, 30, 36] and all(step.total == 36 for step in runs)
    assert [step.partial.result.done for step in runs] == [10, 20, 30, 36]
    runs = [step.partial for step in runs]
    last = runs[-1]
    np.testing.assert_allclose(last.result.prob, expected.prob, rtol=1e-5, atol=1e-6)
    assert last.result.channel == expected.channel and last.projection_error == ""
    projection = deconv.project_unit(bundled, boot, layer="features.relu3", channel=expected.channel)
    np.testing.assert_allclose(last.projection.image, projection.image, rtol=1e-5, atol=1e-6)
    assert all(run.projection is last.projection for run in runs)


def test_the_job_without_a_layer_returns_the_complete_run_and_no_projection(bundled, boot):
    steps = occlusion.occlusion_job(bundled, boot, target=None, window=14, stride=14, layer=None)
    yielded = []
    with pytest.raises(StopIteration) as stop:
        while True:
            yielded.append(next(steps))
    final = stop.value.value
    assert (final.result.done, final.result.total) == (4, 4) and final.result.complete
    assert final.projection is None and final.result.feature is None and final.projection_error == ""
    np.testing.assert_array_equal(final.result.prob, yielded[-1].partial.result.prob)
