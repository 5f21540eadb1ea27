"""Parameters of occlusion, invariance and deconv top units are bounded with clear messages;
batches are sized from the memory one item needs and kept short so a cancel gets through."""

import math
import time

import numpy as np
import pytest
import torch

from cnnviz.core.model import batching
from cnnviz.core.per_image import deconv, invariance, occlusion
from cnnviz.core.progress import Cancelled


def test_item_cost_counts_the_input_and_every_leaf_output(bundled, boot):
    expected = boot.numel() * 4
    captured = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: captured.append(out.numel() * out.element_size()))
             for m in bundled.module.modules() if not any(True for _ in m.children())]
    with torch.no_grad():
        bundled.module(boot)
    for hook in hooks:
        hook.remove()
    cost = batching.item_cost(bundled, boot)
    assert cost.bytes == expected + sum(captured) and cost.seconds > 0
    assert not bundled.module._forward_hooks


def test_batch_cap_is_a_fraction_of_the_available_memory(monkeypatch):
    fast = 1e-9
    assert batching.batch_cap(batching.ItemCost(1000, fast), available=400_000) == 100
    assert batching.batch_cap(batching.ItemCost(10**12, fast), available=10**6) == 1
    monkeypatch.setattr(batching, "MEMORY_FRACTION", 0.5)
    assert batching.batch_cap(batching.ItemCost(100, fast), available=1000) == 5


def test_batch_cap_keeps_a_batch_within_the_target_time():
    slow = batching.ItemCost(1, batching.TARGET_BATCH_S / 10)
    assert batching.batch_cap(slow, available=10**12) == 10
    assert batching.batch_cap(batching.ItemCost(1, 10.0), available=10**12) == 1


def test_a_job_smaller_than_the_probe_is_not_probed_and_a_larger_one_once(bundled, boot, monkeypatch):
    for key in [key for key in bundled.cache if key[0] == "item_cost"]:
        del bundled.cache[key]  # probed by an earlier test of the module
    probes = []
    original = batching.item_cost
    monkeypatch.setattr(batching, "item_cost", lambda model, x: probes.append(1) or original(model, x))
    assert batching.job_cap(bundled, boot, batching.PROBE_ITEMS) == batching.PROBE_ITEMS and not probes
    assert batching.job_cap(bundled, boot, batching.PROBE_ITEMS + 1) >= 1 and probes == [1]
    result = occlusion.occlude(bundled, boot, window=14, stride=14)
    assert probes == [1] and result.complete and result.prob.shape == (2, 2)
    assert batching.job_cap(bundled, boot, 100) >= 1 and probes == [1]  # once per model and input size


def test_occlusion_clamps_the_batch_to_the_memory_it_needs(bundled, boot, monkeypatch):
    per_item = batching.item_cost(bundled, boot).bytes
    monkeypatch.setattr(batching, "TARGET_BATCH_S", 1e6)
    monkeypatch.setattr(batching.psutil, "virtual_memory", lambda: type("M", (), {"available": per_item * 40})())
    sizes = []
    original = occlusion.forward_batch
    monkeypatch.setattr(occlusion, "forward_batch",
                        lambda model, batch, **kw: sizes.append(batch.shape[0]) or original(model, batch, **kw))
    result = occlusion.occlude(bundled, boot, window=8, stride=2, batch_size=4096)
    assert sizes[1] == 10  # 40 items of memory × 0.25
    assert max(sizes[1:]) == 10 and result.complete
    reference = occlusion.occlude(bundled, boot, window=8, stride=2, batch_size=121)
    np.testing.assert_allclose(result.prob, reference.prob, rtol=1e-5, atol=1e-6)


def test_a_slow_batch_shrinks_the_next_ones_to_the_target_time(monkeypatch):
    monkeypatch.setattr(batching, "TARGET_BATCH_S", 0.02)
    sizes = []

    def run(start, stop):
        sizes.append(stop - start)
        time.sleep(0.01 * (stop - start))  # 10 ms per item: 2 items fit the target

    done = list(batching.in_batches(40, 16, run))
    assert done[-1] == 40 and sum(sizes) == 40
    assert sizes[0] == 16 and sizes[1] <= 2 and max(sizes[2:]) <= 2


def test_cancel_between_batches_is_prompt_for_a_large_batch(bundled, boot):
    gaps, last = [], time.perf_counter()
    for _step in occlusion.occlusion_steps(bundled, boot, window=2, stride=1, batch_size=4096):
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    # the first gap is the fixed set-up (baseline and probe passes), whatever the batch size
    assert len(gaps) > 1 and max(gaps[1:]) < 0.5


@pytest.mark.parametrize("call", [
    lambda m, x: occlusion.occlude(m, x, layer="nope"),
    lambda m, x: invariance.curves(m, x, layers=["nope"]),
])
def test_unknown_layer_lists_the_layers(bundled, boot, call):
    with pytest.raises(ValueError, match=r"no layer 'nope'; its 16 layers are features, features.conv1, .*, …"):
        call(bundled, boot)


def test_batch_size_below_one_is_refused(bundled, boot):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        occlusion.occlude(bundled, boot, batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        invariance.curves(bundled, boot, batch_size=-3)


@pytest.mark.parametrize(("kind", "values", "message"), [
    ("rotation", [0.0, math.nan], "finite"),
    ("horizontal", [math.inf], "finite"),
    ("scale", [1.0, 0.0], "above 0"),
    ("scale", [-1.0], "above 0"),
    ("rotation", np.arange(invariance.MAX_VALUES + 1.0), "at most 2000"),
    ("rotation", [], "no transform values"),
])
def test_invariance_refuses_bad_values(bundled, boot, kind, values, message):
    with pytest.raises(ValueError, match=message):
        invariance.curves(bundled, boot, kind=kind, values=values)


def test_value_range_is_capped_and_finite():
    assert len(invariance.value_range(0, 1999, 1)) == invariance.MAX_VALUES
    with pytest.raises(ValueError, match="gives 20000001 values; at most 2000"):
        invariance.value_range(-100_000, 100_000, 0.01)
    with pytest.raises(ValueError, match="finite"):
        invariance.value_range(0, math.inf, 1)


def test_two_thousand_values_still_work(bundled, boot):
    values = np.linspace(0, 359, invariance.MAX_VALUES)
    result = invariance.curves(bundled, boot, kind="rotation", values=values, layers=[])
    assert result.complete and np.isfinite(result.prob).all() and result.prob.shape == (2000,)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_top_units_needs_k_of_at_least_one(bundled, boot, k):
    with pytest.raises(ValueError, match="k must be a whole number of at least 1"):
        deconv.top_units(bundled, boot, layer="features.conv1", k=k)


def test_top_units_clamps_k_to_the_channels(bundled, boot):
    channels = int(bundled.module.features.conv1.out_channels)
    units = deconv.top_units(bundled, boot, layer="features.conv1", k=channels + 50)
    assert len(units) == channels
    assert sorted(u.channel for u in units) == list(range(channels))


def test_cancel_still_raises_cancelled(bundled, boot):
    with pytest.raises(Cancelled):
        occlusion.occlude(bundled, boot, batch_size=8, progress=lambda done, total: done < 16)


def test_non_finite_class_scores_are_refused_not_mapped(boot):
    from torch import nn

    from cnnviz.core.model.loaded_model import wrap

    class NanOnBright(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            pooled = self.conv(x).mean(dim=(2, 3))
            return self.fc(pooled) * torch.sqrt(0.5 - x.amax())

    model = wrap(NanOnBright(), input_size=(28, 28), mean=(0.5,), std=(0.5,))
    with pytest.raises(ValueError, match="non-finite class scores"):
        occlusion.occlude(model, boot, window=8, stride=8)
    with pytest.raises(ValueError, match="non-finite class scores"):
        invariance.curves(model, boot, kind="rotation", values=[0.0, 90.0])
