"""Deep dream: objectives rise, normalised steps, live config changes, tiles, divergence, model safety."""

import copy

import numpy as np
import pytest
import torch

from cnnviz.core import Cancelled, dream, images, models
from cnnviz.core.hooks import hook_count


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return models.load_zoo("resnet18", pretrained=False)


def rises(values: list[float]) -> bool:
    return values[-1] > values[0] and sum(b > a for a, b in zip(values, values[1:])) >= 0.7 * (len(values) - 1)


@pytest.mark.parametrize("objective", ["l2", "channel", "class", "guided"])
def test_objective_increases_on_the_bundled_model(bundled, boot, objective):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_bag").path))
    cfg = dream.DreamConfig(layer="features.relu2", objective=objective, step_size=0.02, iterations=10,
                            octaves=1, jitter=0, channel=5, target=2, guide=guide)
    steps = list(dream.run(bundled, boot, cfg))
    assert len(steps) == 10
    assert rises([s.objective for s in steps])


@pytest.mark.parametrize("objective", ["l2", "channel", "class", "guided"])
def test_objective_increases_on_a_torchvision_net(resnet, objective):
    torch.manual_seed(1)
    x = torch.randn(1, 3, 96, 96) * 0.5
    guide = torch.randn(1, 3, 96, 96) * 0.5
    cfg = dream.DreamConfig(layer="layer2.0", objective=objective, step_size=0.01, iterations=10,
                            octaves=1, jitter=0, channel=7, target=3, guide=guide, prob_every=0)
    assert rises([s.objective for s in dream.run(resnet, x, cfg)])


def test_best_match_guided_objective_increases(bundled, boot):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_trouser").path))
    cfg = dream.DreamConfig(layer="features.relu3", objective="guided", best_match=True, iterations=10,
                            octaves=1, jitter=0, guide=guide)
    assert rises([s.objective for s in dream.run(bundled, boot, cfg)])


def test_guided_dot_product_with_the_guide_response_grows(bundled, boot):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_bag").path))
    layer = "features.relu2"
    cfg = dream.DreamConfig(layer=layer, objective="guided", iterations=10, octaves=1, jitter=0, guide=guide)
    final = dream.dream(bundled, boot, cfg)
    from cnnviz.core import layers

    def dot(image):
        return float((layers.capture(bundled, image, [layer])[layer] * layers.capture(bundled, guide, [layer])[layer]).sum())

    assert dot(final) > dot(boot) * 1.05


def test_normalised_step_has_mean_absolute_update_equal_to_step_size(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu3", step_size=0.037, iterations=3, octaves=1, jitter=0,
                            clamp=False)
    previous = boot
    for step in dream.run(bundled, boot, cfg):
        assert step.update_mean == pytest.approx(0.037, rel=1e-5)
        assert float((step.image - previous).abs().mean()) == pytest.approx(0.037, rel=1e-4)
        previous = step.image


def test_changes_to_the_config_apply_from_the_next_step(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu1", step_size=0.01, iterations=6, octaves=1, jitter=0)
    records = []
    for step in dream.run(bundled, boot, cfg):
        records.append((step.layer, step.step_size))
        if step.index == 2:
            cfg.layer, cfg.step_size = "features.relu3", 0.05
    assert records[:3] == [("features.relu1", 0.01)] * 3
    assert records[3:] == [("features.relu3", 0.05)] * 3


def test_cycle_alternates_layers(bundled, boot):
    cfg = dream.DreamConfig(iterations=4, octaves=1, jitter=0,
                            cycle=[("features.relu1", 0.01), ("features.relu3", 0.03)])
    assert [(s.layer, s.step_size) for s in dream.run(bundled, boot, cfg)] == [
        ("features.relu1", 0.01), ("features.relu3", 0.03)] * 2


def test_octaves_carry_detail_and_end_at_full_size(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=2, octaves=3, octave_scale=1.4, jitter=1)
    steps = list(dream.run(bundled, boot, cfg))
    assert [tuple(s.image.shape[-2:]) for s in steps[::2]] == [(14, 14), (20, 20), (28, 28)]
    assert [s.octave for s in steps] == [0, 0, 1, 1, 2, 2]
    final = dream.dream(bundled, boot, cfg)
    assert final.shape == boot.shape and not torch.equal(final, boot)


def test_clamp_keeps_valid_pixels_and_decay_shrinks(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", step_size=2.0, iterations=3, octaves=1, jitter=0)
    final = dream.dream(bundled, boot, cfg)
    low, high = dream.pixel_bounds(bundled, final.device)
    assert final.min() >= low.min() - 1e-6 and final.max() <= high.max() + 1e-6
    decayed = dream.dream(bundled, boot, dream.DreamConfig(layer="features.relu2", step_size=1e-6, iterations=3,
                                                           octaves=1, jitter=0, decay=0.5, clamp=False))
    assert float(decayed.abs().mean()) == pytest.approx(float(boot.abs().mean()) / 8, rel=1e-3)


def test_tiles_equal_untiled_when_the_input_fits_one_tile(resnet):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 100, 100) * 0.5
    base = dict(layer="layer1.0", iterations=2, octaves=1, jitter=0, prob_every=0)
    untiled = dream.dream(resnet, x, dream.DreamConfig(tile=4096, **base))
    one_tile = dream.dream(resnet, x, dream.DreamConfig(tile=100, overlap=16, **base))
    assert torch.equal(untiled, one_tile)


def test_tiles_cover_inputs_that_are_not_a_multiple_and_have_no_seams(resnet):
    assert dream.tile_starts(130, 64, 16) == [0, 48, 66]
    assert dream.tile_starts(64, 64, 16) == [0]
    torch.manual_seed(3)
    x = torch.randn(1, 3, 150, 130) * 0.5
    cfg = dream.DreamConfig(layer="layer1.0", iterations=1, octaves=1, jitter=0, tile=64, overlap=24,
                            normalize=False, step_size=0.05, prob_every=0)
    untiled_cfg = dream.DreamConfig(**{**cfg.__dict__, "tile": 4096})
    tiled = dream.dream(resnet, x, cfg)
    untiled = dream.dream(resnet, x, untiled_cfg)
    assert tiled.shape == x.shape and torch.isfinite(tiled).all()
    # inside a tile, farther than the receptive field (27 px) from its inner borders, tiled = untiled
    assert torch.allclose(tiled[..., 0:20, 0:20], untiled[..., 0:20, 0:20], atol=1e-5)
    # no seam: the change along tile borders is as smooth as elsewhere
    change = (tiled - x).abs().mean(dim=1)[0]
    row_jumps = (change[1:] - change[:-1]).abs().mean(dim=1)
    assert float(row_jumps[[47, 63, 95]].max()) < 3 * float(row_jumps.median())


def test_huge_step_diverges_with_a_message_and_a_finite_image(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu3", step_size=1e38, normalize=False, clamp=False,
                            iterations=20, octaves=1, jitter=0)
    steps = list(dream.run(bundled, boot, cfg))
    assert steps[-1].message and "diverged" in steps[-1].message
    assert len(steps) < 20
    assert all(torch.isfinite(s.image).all() for s in steps)
    assert torch.isfinite(dream.dream(bundled, boot, cfg)).all()


def test_model_is_unchanged_and_gets_no_gradients(resnet):
    module = resnet.module
    before = copy.deepcopy(module.state_dict())
    flags = [p.requires_grad for p in module.parameters()]
    x = torch.randn(1, 3, 64, 64)
    dream.dream(resnet, x, dream.DreamConfig(layer="layer1.1", iterations=2, octaves=2, prob_every=1))
    with pytest.raises(KeyError):
        dream.dream(resnet, x, dream.DreamConfig(layer="nope", iterations=2, octaves=1))
    with pytest.raises(Cancelled):
        dream.dream(resnet, x, dream.DreamConfig(layer="layer1.1", iterations=5, octaves=1),
                    progress=lambda done, total: done < 2)
    assert hook_count(module) == 0
    assert [p.requires_grad for p in module.parameters()] == flags
    assert all(p.grad is None for p in module.parameters())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert not module.training


def test_truncated_forward_stops_at_the_layer(bundled, boot, monkeypatch):
    calls = []
    classifier = bundled.module.classifier
    handle = classifier.register_forward_pre_hook(lambda module, inputs: calls.append(1))
    try:
        list(dream.run(bundled, boot, dream.DreamConfig(layer="features.relu2", iterations=3, octaves=1,
                                                         prob_every=0)))
    finally:
        handle.remove()
    assert calls == []  # no full pass: no class objective and no probability curve


def test_noise_start_and_probability_curve(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=4, octaves=1, start="gaussian", seed=5,
                            prob_every=2, target=9)
    steps = list(dream.run(bundled, boot, cfg))
    assert [s.target_prob is not None for s in steps] == [True, False, True, False]
    assert all(0 <= s.target_prob <= 1 for s in steps if s.target_prob is not None)
    noise = dream.noise_image(bundled, boot.shape, "uniform", seed=1)
    assert np.asarray(bundled.deprocess(noise)).std() > 40
