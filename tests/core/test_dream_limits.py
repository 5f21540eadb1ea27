"""Deep dream parameters are bounded with clear messages, and a run can be cancelled between tiles."""

import time
from dataclasses import replace

import pytest
import torch
from torch import nn

from cnnviz.core.model.loaded_model import wrap
from cnnviz.core.per_image import dream


def ascent(model, x, config):
    """The records of :func:`dream.run`'s steps (each step's ``partial``)."""
    return (step.partial for step in dream.run(model, x, config=config))


@pytest.mark.parametrize(("changes", "message"), [
    ({"tile": 32, "overlap": 1024}, r"overlap must be from 0 to tile - 1 \(31\)"),
    ({"tile": -8}, "tile must be at least 32 px"),
    ({"tile": 16, "overlap": 4}, "tile must be at least 32 px"),
    ({"octave_scale": 0}, "octave_scale must be a finite number above 1"),
    ({"octave_scale": 1.0}, "octave_scale must be a finite number above 1"),
    ({"octaves": 0}, "octaves must be at least 1"),
    ({"iterations": 0}, "iterations must be at least 1"),
    ({"target": -1}, "target must be a class index from 0"),
    ({"objective": "nope"}, "objective must be one of"),
    ({"step_size": float("nan")}, "must be finite"),
    ({"jitter": -1}, "jitter must be 0 or more"),
])
def test_config_refuses_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        dream.DreamConfig(layer="features.relu2", **changes)


def test_target_beyond_the_classes_is_refused_at_first_use(bundled, boot):
    cfg = dream.DreamConfig(objective="class", target=10, iterations=2, octaves=1)
    with pytest.raises(ValueError, match=r"target class 10 is outside the model's 10 classes \(0 to 9\)"):
        list(ascent(bundled, boot, config=cfg))


def test_octaves_are_limited_by_the_smallest_size_the_layer_takes():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *[nn.MaxPool2d(2) for _ in range(4)], nn.Conv2d(4, 4, 1))
    model = wrap(module, input_size=(224, 224), in_channels=3)
    x = torch.randn(1, 3, 224, 224) * 0.5
    sizes = dream.octave_sizes(224, 224, 11, 1.4)
    fits = sum(1 for height, width in sizes if min(height, width) >= 16)  # four 2× poolings need 16 px
    assert 1 < fits < len(sizes) == 11
    cfg = dream.DreamConfig(layer="5", octaves=11, octave_scale=1.4, iterations=1, prob_every=0)
    with pytest.raises(ValueError, match=f"5 cannot take the image at .* px .*; use at most {fits} octaves"):
        list(ascent(model, x, config=cfg))
    steps = list(ascent(model, x, config=replace(cfg, octaves=fits)))
    assert len(steps) == fits and min(steps[0].image.shape[-2:]) >= 16


@pytest.mark.parametrize("changes", [{"octaves": 3}, {"octaves": 1, "tile": 32, "overlap": 8}])
def test_a_vector_layer_refuses_octaves_and_tiles(bundled, boot, changes):
    x = boot if changes["octaves"] > 1 else torch.nn.functional.interpolate(boot, size=(64, 64))
    cfg = dream.DreamConfig(layer="classifier.fc1", iterations=1, **changes)
    with pytest.raises(ValueError, match=r"classifier.fc1 has no spatial grid .* use octaves=1 and the image at "
                                         r"the model's input size 28×28"):
        list(ascent(bundled, x, config=cfg))


def test_a_vector_layer_runs_with_one_octave_at_the_input_size(bundled, boot):
    steps = list(ascent(bundled, boot, config=dream.DreamConfig(layer="classifier.fc1", iterations=3, octaves=1)))
    assert len(steps) == 3 and steps[-1].objective > steps[0].objective


def test_a_new_config_mid_run_is_checked(bundled, boot):
    configs = iter([dream.DreamConfig(layer="features.relu2", iterations=3, octaves=1)] * 2
                   + [dream.DreamConfig(layer="classifier.fc1", iterations=3, octaves=1, tile=32, overlap=0)] * 5)
    x = torch.nn.functional.interpolate(boot, size=(40, 40))
    with pytest.raises(ValueError, match="no spatial grid"):
        list(ascent(bundled, x, config=lambda: next(configs)))


def test_many_tiles_yield_often_so_a_cancel_gets_through(bundled, boot):
    x = torch.nn.functional.interpolate(boot, size=(320, 320), mode="bilinear", align_corners=False)
    cfg = dream.DreamConfig(layer="features.relu2", iterations=1, octaves=1, tile=32, overlap=31, prob_every=0)
    starts = len(dream.tile_starts(320, 32, 31))
    ticks = dream.run_ticks(bundled, x, config=cfg)
    gaps, last, count = [], time.perf_counter(), 0
    for _item in ticks:
        now = time.perf_counter()
        gaps.append(now - last)
        last, count = now, count + 1
        if count == 400:
            break
    ticks.close()
    assert starts ** 2 > 80_000 and count == 400  # a pathological step; the run was stopped after 400 tiles
    assert max(gaps) < 0.5


def test_run_without_ticks_gives_only_steps(bundled, boot):
    x = torch.nn.functional.interpolate(boot, size=(64, 64), mode="bilinear", align_corners=False)
    cfg = dream.DreamConfig(layer="features.relu2", iterations=2, octaves=1, tile=32, overlap=8, prob_every=0)
    items = list(dream.run_ticks(bundled, x, config=cfg))
    steps = [item.partial for item in items if item.partial is not dream.Tick]
    assert len(items) == 2 * (len(dream.tile_starts(64, 32, 8)) ** 2 + 1)
    assert [s.index for s in steps] == [0, 1] == [s.index for s in ascent(bundled, x, config=cfg)]
    assert [(item.done, item.total) for item in items if item.partial is not dream.Tick] == [(1, 2), (2, 2)]
    assert {(item.done, item.total) for item in items if item.partial is dream.Tick} == {(0, 2), (1, 2)}
