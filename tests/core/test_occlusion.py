"""Occlusion sensitivity: equality with Captum, batching, cancel, fills and exports."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.core.model import batching, layers
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.per_image import occlusion
from cnnviz.core.progress import Cancelled


def test_grid_size():
    tops, lefts = occlusion.grid((224, 224), 32, 8)
    assert len(tops) == len(lefts) == (224 - 32) // 8 + 1 == 25
    tops, lefts = occlusion.grid((28, 30), 8, 3)
    assert (len(tops), len(lefts)) == ((28 - 8) // 3 + 1, (30 - 8) // 3 + 1)
    with pytest.raises(ValueError):
        occlusion.grid((28, 28), 40, 2)


def test_probabilities_equal_captum(bundled, boot):
    captum_attr = pytest.importorskip("captum.attr")
    result = occlusion.occlude(bundled, boot, window=7, stride=7, fill="mean", batch_size=5)
    target = result.target
    assert target == 9  # ankle boot

    def probabilities(x):
        return torch.softmax(bundled.module(x), dim=1)

    attribution = captum_attr.Occlusion(probabilities).attribute(
        boot, sliding_window_shapes=(1, 7, 7), strides=(1, 7, 7), baselines=0, target=target,
        perturbations_per_eval=5)
    expected = result.baseline_prob - attribution[0, 0, ::7, ::7].numpy()
    assert result.prob.shape == expected.shape == (4, 4)
    np.testing.assert_allclose(result.prob, expected, rtol=1e-5, atol=1e-6)


def test_region_the_model_ignores_leaves_the_probability_unchanged():
    class LeftHalfOnly(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.head = nn.Linear(4 * 16 * 8, 3)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x[..., :8])).flatten(1))

    model = LoadedModel(LeftHalfOnly().eval(), "left", ["a", "b", "c"], (16, 16), (0.5,), (0.25,), 1, 16)
    x = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    result = occlusion.occlude(model, x, window=4, stride=4, fill="black")
    right = result.prob[:, result.positions[1] >= 8]
    np.testing.assert_allclose(right, result.baseline_prob, rtol=1e-6)  # batched passes may round differently
    assert np.any(result.prob[:, result.positions[1] + 4 <= 8] != np.float32(result.baseline_prob))


def test_occluding_the_object_drops_the_target_probability(bundled, boot):
    result = occlusion.occlude(bundled, boot, window=8, stride=2, layer="features.relu3")
    assert result.complete and result.target == 9
    assert result.baseline_prob > 0.99
    assert np.nanmin(result.prob) < result.baseline_prob - 0.3
    assert result.prob[0, 0] > 0.99  # top-left corner is background
    activation = layers.capture(bundled, boot, layers=["features.relu3"])["features.relu3"][0]
    assert result.channel == int(activation.flatten(1).max(dim=1).values.argmax())
    assert result.baseline_feature == pytest.approx(float(activation[result.channel].sum()), rel=1e-5)
    assert set(np.unique(result.top_class)) >= {9}
    assert hook_count(bundled.module) == 0


def test_feature_map_sum_matches_a_direct_forward(bundled, boot):
    result = occlusion.occlude(bundled, boot, window=6, stride=11, layer="features.conv2")
    top, left = result.positions[0][1], result.positions[1][2]
    source = occlusion.fill_image(bundled, boot, fill="mean", window=6)
    image = occlusion.occluded(boot, source, int(top), int(left), 6)
    activation = layers.capture(bundled, image, layers=["features.conv2"])["features.conv2"][0]
    assert result.feature[1, 2] == pytest.approx(float(activation[result.channel].sum()), rel=1e-4)
    assert result.prob[1, 2] == pytest.approx(float(bundled.probabilities(image)[0, result.target]), rel=1e-5)


def test_batch_size_does_not_change_results(bundled, boot):
    one = occlusion.occlude(bundled, boot, window=9, stride=4, fill="noise", batch_size=1, seed=3)
    many = occlusion.occlude(bundled, boot, window=9, stride=4, fill="noise", batch_size=64, seed=3)
    np.testing.assert_allclose(one.prob, many.prob, rtol=1e-5)
    assert np.array_equal(one.top_class, many.top_class)


def test_fills(bundled, boot):
    mean = occlusion.fill_image(bundled, boot, fill="mean", window=8)
    assert torch.count_nonzero(mean) == 0
    zero = occlusion.fill_image(bundled, boot, fill="black", window=8)
    assert np.asarray(bundled.deprocess(zero)).max() == 0
    blur = occlusion.fill_image(bundled, boot, fill="blur", window=8)
    assert blur.shape == boot.shape and blur.std() < boot.std()
    first = occlusion.fill_image(bundled, boot, fill="noise", window=8, seed=1)
    assert torch.equal(first, occlusion.fill_image(bundled, boot, fill="noise", window=8, seed=1))
    assert not torch.equal(first, occlusion.fill_image(bundled, boot, fill="noise", window=8, seed=2))
    with pytest.raises(ValueError):
        occlusion.fill_image(bundled, boot, fill="sparkles", window=8)


def test_steps_yield_partial_results_and_cancel_keeps_them(bundled, boot):
    steps = occlusion.occlusion_steps(bundled, boot, window=8, stride=2, batch_size=30)
    first = next(steps)
    assert (first.done, first.total) == (30, 121)
    partial = first.partial
    assert not partial.complete
    assert np.isfinite(partial.prob.reshape(-1)[:30]).all() and np.isnan(partial.prob.reshape(-1)[30:]).all()
    steps.close()
    seen = []
    with pytest.raises(Cancelled):
        occlusion.occlude(bundled, boot, window=8, stride=2, batch_size=30,
                          progress=lambda done, total: seen.append(done) or done < 60)
    assert seen == [30, 60]
    assert hook_count(bundled.module) == 0


def test_out_of_memory_halves_the_batch(bundled, boot, monkeypatch):
    sizes = []
    original = batching.forward_batch

    def limited(model, batch, *, reducers=None):
        sizes.append(batch.shape[0])
        if batch.shape[0] > 16:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(model, batch, reducers=reducers)

    monkeypatch.setattr(occlusion, "forward_batch", limited)
    monkeypatch.setattr(batching, "batch_cap", lambda cost: 10_000)  # no cap from timing on a busy machine
    result = occlusion.occlude(bundled, boot, window=8, stride=2)
    assert sizes[:4] == [1, 64, 32, 16]  # baseline pass, then halving from 64
    assert result.complete and np.isfinite(result.prob).all()


def test_other_errors_are_not_swallowed():
    def run(start, stop):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        list(batching.in_batches(10, 4, run))


def test_exports(bundled, boot):
    result = occlusion.occlude(bundled, boot, window=14, stride=7, layer="features.relu2")
    lines = result.to_csv().strip().split("\n")
    assert lines[0].startswith("top,left,target_probability,top_class,top_class_name,feature_features.relu2")
    assert len(lines) == 1 + 9
    assert set(result.arrays()) == {"prob", "top_class", "feature"}
    left, top, width, height = result.extent()
    assert (left, top, width, height) == (3.5, 3.5, 21, 21)


def test_target_out_of_range(bundled, boot):
    with pytest.raises(IndexError):
        occlusion.occlude(bundled, boot, target=10)
