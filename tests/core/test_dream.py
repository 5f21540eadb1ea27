"""Deep dream: objectives rise, normalised steps, live config changes, tiles, divergence, model safety."""

import copy
import itertools
import random
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from cnnviz.core.data import images
from cnnviz.core.model import models
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.per_image import dream
from cnnviz.core.progress import Cancelled


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return models.load_zoo("resnet18", pretrained=False)


def ascent(model, x, config):
    """The records of :func:`dream.run`'s steps (each step's ``partial``)."""
    return (step.partial for step in dream.run(model, x, config=config))


def rises(values: list[float]) -> bool:
    return values[-1] > values[0] and sum(b > a for a, b in itertools.pairwise(values)) >= 0.7 * (len(values) - 1)


def test_steps_count_done_of_total_and_carry_each_record(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=3, octaves=2, prob_every=0)
    steps = list(dream.run(bundled, boot, config=cfg))
    total = dream.total_steps(boot, config=cfg)
    assert total == 6 and [(s.done, s.total) for s in steps] == [(i + 1, total) for i in range(total)]
    assert [s.partial.index for s in steps] == list(range(total)) and all(s.message == "" for s in steps)
    assert [(s.partial.octave, s.partial.iteration) for s in steps] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


@pytest.mark.parametrize("objective", ["l2", "channel", "class", "guided"])
def test_objective_increases_on_the_bundled_model(bundled, boot, objective):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_bag").path))
    cfg = dream.DreamConfig(layer="features.relu2", objective=objective, step_size=0.02, iterations=10,
                            octaves=1, jitter=0, channel=5, target=2, guide=guide)
    steps = list(ascent(bundled, boot, config=cfg))
    assert len(steps) == 10
    assert rises([s.objective for s in steps])


@pytest.mark.parametrize("objective", ["l2", "channel", "class", "guided"])
def test_objective_increases_on_a_torchvision_net(resnet, objective):
    torch.manual_seed(1)
    x = torch.randn(1, 3, 96, 96) * 0.5
    guide = torch.randn(1, 3, 96, 96) * 0.5
    cfg = dream.DreamConfig(layer="layer2.0", objective=objective, step_size=0.01, iterations=10,
                            octaves=1, jitter=0, channel=7, target=3, guide=guide, prob_every=0)
    assert rises([s.objective for s in ascent(resnet, x, config=cfg)])


def test_best_match_guided_objective_increases(bundled, boot):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_trouser").path))
    cfg = dream.DreamConfig(layer="features.relu3", objective="guided", best_match=True, iterations=10,
                            octaves=1, jitter=0, guide=guide)
    assert rises([s.objective for s in ascent(bundled, boot, config=cfg)])


def test_guided_dot_product_with_the_guide_response_grows(bundled, boot):
    guide = bundled.preprocess(images.load_image(images.sample("fmnist_bag").path))
    layer = "features.relu2"
    cfg = dream.DreamConfig(layer=layer, objective="guided", iterations=10, octaves=1, jitter=0, guide=guide)
    final = dream.dream(bundled, boot, config=cfg)
    from cnnviz.core.model import layers

    def dot(image):
        response = layers.capture(bundled, image, layers=layer)[layer]
        return float((response * layers.capture(bundled, guide, layers=layer)[layer]).sum())

    assert dot(final) > dot(boot) * 1.05


def test_normalised_step_has_mean_absolute_update_equal_to_step_size(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu3", step_size=0.037, iterations=3, octaves=1, jitter=0,
                            clamp=False)
    previous = boot
    for step in ascent(bundled, boot, config=cfg):
        assert step.update_mean == pytest.approx(0.037, rel=1e-5)
        assert float((step.image - previous).abs().mean()) == pytest.approx(0.037, rel=1e-4)
        previous = step.image


def test_changes_to_the_config_apply_from_the_next_step(bundled, boot):
    current = [dream.DreamConfig(layer="features.relu1", step_size=0.01, iterations=6, octaves=1, jitter=0)]
    records = []
    for step in ascent(bundled, boot, config=lambda: current[0]):
        records.append((step.layer, step.step_size))
        if step.index == 2:
            current[0] = replace(current[0], layer="features.relu3", step_size=0.05)
    assert records[:3] == [("features.relu1", 0.01)] * 3
    assert records[3:] == [("features.relu3", 0.05)] * 3


def test_each_step_names_the_config_snapshot_it_used(bundled, boot):
    first = dream.DreamConfig(layer="features.relu1", step_size=0.01, iterations=6, octaves=1, jitter=0)
    second = replace(first, layer="features.relu3", objective="channel", channel=2)
    current = [first]
    steps = []
    for step in ascent(bundled, boot, config=lambda: current[0]):
        steps.append(step)
        if step.index == 1:
            current[0] = second
    assert [s.config for s in steps[:2]] == [first, first] and all(s.config is second for s in steps[2:])
    assert [(s.layer, s.step_size) for s in steps] == [s.config.layer_and_step(s.index) for s in steps]
    assert replace(steps[0], config=second) == steps[0]  # the snapshot is not part of a record's equality


def test_cycle_alternates_layers(bundled, boot):
    cfg = dream.DreamConfig(iterations=4, octaves=1, jitter=0,
                            cycle=[("features.relu1", 0.01), ("features.relu3", 0.03)])
    assert [(s.layer, s.step_size) for s in ascent(bundled, boot, config=cfg)] == [
        ("features.relu1", 0.01), ("features.relu3", 0.03)] * 2


def test_octaves_carry_detail_and_end_at_full_size(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=2, octaves=3, octave_scale=1.4, jitter=1)
    steps = list(ascent(bundled, boot, config=cfg))
    assert [tuple(s.image.shape[-2:]) for s in steps[::2]] == [(14, 14), (20, 20), (28, 28)]
    assert [s.octave for s in steps] == [0, 0, 1, 1, 2, 2]
    final = dream.dream(bundled, boot, config=cfg)
    assert final.shape == boot.shape and not torch.equal(final, boot)


def test_clamp_keeps_valid_pixels_and_decay_shrinks(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", step_size=2.0, iterations=3, octaves=1, jitter=0)
    final = dream.dream(bundled, boot, config=cfg)
    low, high = dream.pixel_bounds(bundled, final.device)
    assert final.min() >= low.min() - 1e-6 and final.max() <= high.max() + 1e-6
    decayed = dream.dream(bundled, boot, config=dream.DreamConfig(layer="features.relu2", step_size=1e-6, iterations=3,
                                                           octaves=1, jitter=0, decay=0.5, clamp=False))
    assert float(decayed.abs().mean()) == pytest.approx(float(boot.abs().mean()) / 8, rel=1e-3)


def test_tiles_equal_untiled_when_the_input_fits_one_tile(resnet):
    torch.manual_seed(2)
    x = torch.randn(1, 3, 100, 100) * 0.5
    base = {"layer": "layer1.0", "iterations": 2, "octaves": 1, "jitter": 0, "prob_every": 0}
    untiled = dream.dream(resnet, x, config=dream.DreamConfig(tile=4096, **base))
    one_tile = dream.dream(resnet, x, config=dream.DreamConfig(tile=100, overlap=16, **base))
    assert torch.equal(untiled, one_tile)


def test_tiles_cover_inputs_that_are_not_a_multiple_and_have_no_seams(resnet):
    assert dream.tile_starts(130, 64, 16) == [0, 48, 66]
    assert dream.tile_starts(64, 64, 16) == [0]
    torch.manual_seed(3)
    x = torch.randn(1, 3, 150, 130) * 0.5
    cfg = dream.DreamConfig(layer="layer1.0", iterations=1, octaves=1, jitter=0, tile=64, overlap=24,
                            normalize=False, step_size=0.05, prob_every=0)
    untiled_cfg = replace(cfg, tile=4096)
    tiled = dream.dream(resnet, x, config=cfg)
    untiled = dream.dream(resnet, x, config=untiled_cfg)
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
    steps = list(ascent(bundled, boot, config=cfg))
    assert steps[-1].message and "diverged" in steps[-1].message
    assert len(steps) < 20
    assert all(torch.isfinite(s.image).all() for s in steps)
    assert torch.isfinite(dream.dream(bundled, boot, config=cfg)).all()


def test_model_is_unchanged_and_gets_no_gradients(resnet):
    module = resnet.module
    before = copy.deepcopy(module.state_dict())
    flags = [p.requires_grad for p in module.parameters()]
    x = torch.randn(1, 3, 64, 64)
    dream.dream(resnet, x, config=dream.DreamConfig(layer="layer1.1", iterations=2, octaves=2, prob_every=1))
    with pytest.raises(KeyError):
        dream.dream(resnet, x, config=dream.DreamConfig(layer="nope", iterations=2, octaves=1))
    with pytest.raises(Cancelled):
        dream.dream(resnet, x, config=dream.DreamConfig(layer="layer1.1", iterations=5, octaves=1),
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
        list(ascent(bundled, boot, config=dream.DreamConfig(layer="features.relu2", iterations=3, octaves=1,
                                                         prob_every=0)))
    finally:
        handle.remove()
    assert calls == []  # no full pass: no class objective and no probability curve


def test_noise_start_and_probability_curve(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=4, octaves=1, start="gaussian", seed=5,
                            prob_every=2, target=9)
    steps = list(ascent(bundled, boot, config=cfg))
    assert [s.target_prob is not None for s in steps] == [True, False, True, False]
    assert all(0 <= s.target_prob <= 1 for s in steps if s.target_prob is not None)
    noise = dream.noise_image(bundled, boot.shape, "uniform", seed=1)
    assert np.asarray(bundled.deprocess(noise)).std() > 40


def test_total_steps_counts_iterations_times_the_octaves_that_fit():
    x = torch.zeros(1, 1, 28, 28)
    assert dream.total_steps(x, config=dream.DreamConfig(iterations=7, octaves=3, octave_scale=1.4)) == 21
    # 28 -> 20 -> 14 -> 10 -> 7 (< 8, dropped): four octaves fit of the six asked
    assert dream.total_steps(x, config=dream.DreamConfig(iterations=5, octaves=6, octave_scale=1.4)) == 20
    assert dream.total_steps(torch.zeros(1, 3, 9, 9), config=dream.DreamConfig(iterations=3, octaves=4)) == 3


def test_the_config_is_frozen_and_its_cycle_a_tuple():
    cfg = dream.DreamConfig(cycle=[["features.relu1", 1], ("features.relu3", 0.5)])
    assert cfg.cycle == (("features.relu1", 1.0), ("features.relu3", 0.5))
    assert cfg.layer_and_step(3) == ("features.relu3", 0.5)
    with pytest.raises(AttributeError):
        cfg.layer = "features.relu2"


def test_configs_swapped_every_millisecond_apply_whole_per_step(bundled, boot):

    guide = bundled.preprocess(images.load_image(images.sample("fmnist_bag").path))
    outputs = forward_to(bundled, boot, layers=["features.relu1", "features.relu2", "features.relu3"])
    channels = {layer: output.shape[1] for layer, output in outputs.outputs.items()}
    chooser = random.Random(4)
    base = dream.DreamConfig(iterations=300, octaves=1, jitter=2, prob_every=3, target=1)
    current = [replace(base, layer="features.relu1", step_size=0.01)]
    pairs = {("features.relu1", 0.01)}
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            layer = chooser.choice(list(channels))
            step_size = chooser.choice([0.005, 0.01, 0.02, 0.04])
            pairs.add((layer, step_size))
            objective = chooser.choice(dream.OBJECTIVES)
            current[0] = replace(base, layer=layer, step_size=step_size, objective=objective,
                                 channel=chooser.randrange(channels[layer]),
                                 guide=guide if objective == "guided" else None)
            stop.wait(0.001)

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        steps = [replace(step, image=None) for step in ascent(bundled, boot, config=lambda: current[0])]
    finally:
        stop.set()
        swapper.join()
    assert [s.index for s in steps] == list(range(300)) and not any(s.message for s in steps)
    assert all((s.layer, s.step_size) in pairs for s in steps)
    assert len({(s.layer, s.step_size) for s in steps}) > 3


def test_the_probability_from_the_steps_own_pass_equals_a_separate_forward(bundled, boot):
    cfg = dream.DreamConfig(layer="features.relu2", iterations=6, octaves=1, jitter=3, seed=7, prob_every=1,
                            target=3, clamp=False)
    cfg.validate(bundled, boot)  # the start-up check's trial pass, remembered, is not counted below
    calls = []
    handle = bundled.module.features.conv1.register_forward_pre_hook(lambda module, inputs: calls.append(1))
    try:
        steps = list(ascent(bundled, boot, config=cfg))
    finally:
        handle.remove()
    assert len(calls) == 6  # one pass per step: the probability came from the ascent's own pass
    generator = torch.Generator().manual_seed(7)
    before = boot.float()
    for step in steps:
        shift = tuple(int(v) for v in torch.randint(-3, 4, (2,), generator=generator))
        with torch.no_grad():
            probs = torch.softmax(bundled.module.eval()(torch.roll(before, shifts=shift, dims=(-2, -1))), dim=1)
        assert step.target_prob == pytest.approx(float(probs[0, 3]), abs=1e-5)
        before = step.image


def test_the_probability_of_an_image_not_at_the_input_size_comes_from_a_separate_pass(bundled, boot):
    x = torch.nn.functional.interpolate(boot, size=(36, 36), mode="bilinear", align_corners=False)
    cfg = dream.DreamConfig(layer="features.relu2", iterations=2, octaves=1, jitter=0, prob_every=1, target=3)
    steps = list(ascent(bundled, x, config=cfg))
    before = x
    for step in steps:
        with torch.no_grad():
            fitted = torch.nn.functional.interpolate(before, size=(28, 28), mode="bilinear", align_corners=False)
            expected = float(torch.softmax(bundled.module(fitted), dim=1)[0, 3])
        assert step.target_prob == pytest.approx(expected, abs=1e-5)
        before = step.image
