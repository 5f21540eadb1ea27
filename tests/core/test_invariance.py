"""Invariance curves: exact transforms, symmetry, distances and batching."""

import numpy as np
import pytest
import torch

from cnnviz.core.model import layers, models
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import invariance
from cnnviz.core.progress import Cancelled


def test_identity_values_give_zero_distance_and_the_original_probability(bundled, boot):
    original = float(bundled.probabilities(boot)[0].max())
    for kind, values in (("rotation", [0.0, 360.0]), ("vertical", [0.0]), ("horizontal", [0.0]), ("scale", [1.0])):
        result = invariance.curves(bundled, boot, kind=kind, values=values)
        assert result.complete
        assert np.all(result.prob == pytest.approx(original, rel=1e-6))
        for name in result.distance:  # zero up to float rounding of batched convolutions
            assert np.all(result.relative_distance[name] < 1e-6)


def test_four_fold_symmetric_image_repeats_every_90_degrees(bundled):
    torch.manual_seed(0)
    seed = torch.randn(1, 1, 28, 28)
    symmetric = sum(torch.rot90(seed, k, dims=(-2, -1)) for k in range(4)) / 2
    result = invariance.curves(bundled, symmetric, kind="rotation", layers=["features.relu1", "classifier.relu4"])
    at = {value: i for i, value in enumerate(result.values)}
    quarters = [at[0.0], at[90.0], at[180.0], at[270.0]]
    np.testing.assert_allclose(result.prob[quarters], result.prob[quarters[0]], atol=1e-5)
    assert len(set(result.top_class[quarters])) == 1
    # deep features pool over space: the same vector at every quarter turn
    np.testing.assert_allclose(result.distance["classifier.relu4"][quarters], 0, atol=1e-4)
    assert result.distance["classifier.relu4"][at[40.0]] > 1e-3


def test_transforms_are_exact_where_they_can_be():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert torch.equal(invariance.transform(x, "rotation", 90), torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.equal(invariance.transform(x, "rotation", 360), x)
    down = invariance.transform(x, "vertical", 1)
    assert torch.equal(down[0, 0, 1:], x[0, 0, :3]) and torch.count_nonzero(down[0, 0, 0]) == 0
    left = invariance.transform(x, "horizontal", -2)
    assert torch.equal(left[0, 0, :, :2], x[0, 0, :, 2:]) and torch.count_nonzero(left[0, 0, :, 2:]) == 0
    assert torch.allclose(invariance.transform(x, "rotation", 1e-9), x, atol=1e-5)
    assert invariance.transform(x, "scale", 1.0).equal(x)
    zoomed = invariance.transform(torch.ones(1, 1, 8, 8), "scale", 0.5)
    assert zoomed[0, 0, 0, 0] == 0 and zoomed[0, 0, 4, 4] == 1  # shrunk image, mean fill outside


def test_rotation_turns_counter_clockwise():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 7] = 1.0  # right of the centre
    for angle in (90.0, 89.999):
        rotated = invariance.transform(x, "rotation", angle)
        row, col = np.unravel_index(int(rotated.argmax()), (9, 9))
        assert (row, col) == (1, 4)  # above the centre


def test_distances_match_a_direct_computation(bundled, boot):
    layer = "features.relu2"
    result = invariance.curves(bundled, boot, kind="scale", values=[1.3], layers=[layer])
    original = layers.capture(bundled, boot, layers=[layer])[layer].flatten()
    scaled = layers.capture(bundled, invariance.transform(boot, "scale", 1.3), layers=[layer])[layer].flatten()
    expected = float((scaled - original).norm())
    assert result.distance[layer][0] == pytest.approx(expected, rel=1e-5)
    assert result.relative_distance[layer][0] == pytest.approx(expected / float(original.norm()), rel=1e-5)


def test_defaults(bundled, boot):
    assert invariance.default_layers(bundled) == ["features.relu1", "classifier.relu4"]
    alexnet = models.load_zoo("alexnet", pretrained=False)
    assert invariance.default_layers(alexnet) == ["features.1", "classifier.5"]
    assert len(invariance.default_values("rotation")) == 36
    assert invariance.default_values("vertical")[[0, -1]].tolist() == [-60, 60]
    result = invariance.curves(bundled, boot, kind="horizontal")
    assert result.values[[0, -1]].tolist() == [-8, 8]
    assert result.target == 9 and list(result.distance) == ["features.relu1", "classifier.relu4"]


def test_batching_partial_results_and_cancel(bundled, boot):
    whole = invariance.curves(bundled, boot, kind="rotation", batch_size=64)
    pieces = invariance.curves(bundled, boot, kind="rotation", batch_size=5)
    np.testing.assert_allclose(whole.prob, pieces.prob, rtol=1e-5)
    steps = invariance.curve_steps(bundled, boot, kind="rotation", batch_size=10)
    first = next(steps)
    # at most 10 per batch (lowered under load to keep a batch short): the rest is still NaN
    assert 1 <= first.done <= 10 and first.total == 36
    assert np.isfinite(first.partial.prob[:first.done]).all() and np.isnan(first.partial.prob[first.done:]).all()
    steps.close()
    with pytest.raises(Cancelled):
        invariance.curves(bundled, boot, batch_size=10, progress=lambda done, total: done < 20)
    assert hook_count(bundled.module) == 0


def test_centre_crop_option(bundled, boot):
    cropped = invariance.transform(boot, "rotation", 45, crop=True)
    assert cropped.shape == boot.shape
    result = invariance.curves(bundled, boot, kind="rotation", values=[0.0], crop=True)
    assert all(d[0] < 1e-6 for d in result.relative_distance.values())


def test_csv(bundled, boot):
    result = invariance.curves(bundled, boot, kind="rotation", values=[0, 90])
    lines = result.to_csv().strip().split("\n")
    assert lines[0].startswith("rotation_°,target_probability,top_class,top_class_name,distance_features.relu1")
    assert lines[2].startswith("90,")
