"""The dream analysis: its curves and image equal the core's run, its settings check themselves, its steps
carry partial results, its export keeps the pane's file names and its figure reads well."""

import dataclasses

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import Source, registry
from cnnviz.analyses.dream import DreamAnalysis, Settings, parse_cycle
from cnnviz.core.data import images
from cnnviz.core.per_image import dream
from cnnviz.core.per_image.dream import DreamConfig

SMALL = {"iterations": 2, "octaves": 1, "prob_every": 1}


@pytest.fixture(scope="module")
def result(model, source):
    return registry.get("dream").compute(model, source, Settings(**SMALL))


def core_run(model, x, config):
    steps = dream.run(model, x, config=config)
    records = []
    try:
        while True:
            records.append(next(steps).partial)
    except StopIteration as stop:
        return records, stop.value


def test_curves_and_image_equal_the_core(model, source, result):
    records, final = core_run(model, source.x, DreamConfig(layer="features.relu2", iterations=2, octaves=1,
                                                           prob_every=1))
    np.testing.assert_allclose(result.objective, [(r.index, r.objective) for r in records], rtol=1e-5)
    np.testing.assert_allclose(result.probability, [(r.index, r.target_prob) for r in records], rtol=1e-5)
    np.testing.assert_array_equal(result.image, np.asarray(model.deprocess(final)))
    np.testing.assert_array_equal(result.start, np.asarray(model.deprocess(source.x)))
    assert result.layer == "features.relu2" and not result.partial and result.total == 2


def test_default_target_is_the_start_images_top_class(model, source, result):
    assert result.target == model.predict(source.x, k=1)[0][0]
    assert result.resolved()["target_name"] == model.class_name(result.target)


def test_steps_carry_partial_results_and_stop_when_closed(model, source):
    run = registry.get("dream").run(model, source, Settings(iterations=3, octaves=2, prob_every=2))
    first = next(run)
    assert (first.done, first.total) == (1, 6) and first.partial.partial
    assert first.partial.image.shape == (20, 20) and len(first.partial.records) == 1
    assert first.message == "octave 1/2, iteration 1"
    steps = [first, *run]
    assert [s.done for s in steps] == list(range(1, 7))
    assert steps[-1].partial.octave_starts() == [3]
    assert steps[-1].partial.probability[:, 0].tolist() == [0, 2, 4]
    closing = registry.get("dream").run(model, source, Settings(**SMALL))
    next(closing)
    closing.close()


def test_class_objective_and_cycle(model, source):
    analysis = registry.get("dream")
    logit = analysis.compute(model, source, Settings(objective="class", target=3, prob_every=0, iterations=2,
                                                     octaves=1))
    assert logit.target == 3 and logit.layer == ""
    assert logit.probability.shape == (2, 2)  # the class objective's own pass gives the probability
    assert "layer" not in logit.caption().fields and logit.caption().fields["target_name"] == model.class_name(3)
    cycled = analysis.compute(model, source, Settings(cycle=("features.relu1:0.05", "features.relu3:0.01"),
                                                      iterations=2, octaves=1))
    assert [r.layer for r in cycled.records] == ["features.relu1", "features.relu3"]
    assert [r.step_size for r in cycled.records] == [0.05, 0.01]


def test_vector_layer_dreams_one_octave(model, source):
    vector = registry.get("dream").compute(model, source, Settings(layer="classifier.fc1", iterations=1, octaves=3))
    assert vector.sizes == ((28, 28),) and vector.resolved()["octaves"] == 1


def test_a_settings_source_is_read_once_per_step_and_each_steps_settings_are_kept(model, source):
    first = Settings(layer="features.relu2", step_size=0.01, iterations=4, octaves=1, prob_every=0)
    later = Settings(layer="features.relu1", step_size=0.05, iterations=4, octaves=3, prob_every=0)
    current = [first]
    run = registry.get("dream").run(model, source, lambda: current[0])
    steps = [next(run), next(run)]
    current[0] = later  # swapped whole: the next step reads it
    steps += list(run)
    final = steps[-1].partial
    assert [(r.layer, r.step_size) for r in final.records] == [("features.relu2", 0.01)] * 2 + \
        [("features.relu1", 0.05)] * 2
    assert final.used == ((0, first), (2, later)) and steps[0].partial.used == ((0, first),)
    assert final.settings == dataclasses.replace(later, octaves=1)  # the octaves were fixed at the start
    assert final.layer == "features.relu1" and len(final.sizes) == 1 and final.total == 4


def test_noise_start_and_full_resolution(model):
    image = images.load_image(images.sample("fmnist_bag").path).resize((40, 36))
    source = Source.of_image(model, image, "big.png")
    noise = registry.get("dream").compute(model, source, Settings(start="uniform", seed=5, work_at="full",
                                                                  **SMALL))
    expected = np.asarray(model.deprocess(dream.noise_image(model, (1, 1, 36, 40), "uniform", 5)))
    np.testing.assert_array_equal(noise.start, expected)
    assert noise.image.shape == (36, 40)


def test_a_tiled_step_yields_the_latest_step_again_after_each_tile_and_computes_what_the_core_does(model):
    image = images.load_image(images.sample("fmnist_bag").path).resize((64, 56))
    settings = Settings(work_at="full", tile=32, overlap=8, iterations=2, octaves=1, prob_every=1, jitter=3)
    run = registry.get("dream").run(model, Source.of_image(model, image, "big.png"), settings)
    steps = []
    try:
        while True:
            steps.append(next(run))
    except StopIteration as stop:
        result = stop.value
    tiles = len(dream.tile_starts(56, 32, 8)) * len(dream.tile_starts(64, 32, 8))
    made = [step for before, step in zip([None, *steps], steps) if step is not before]
    assert tiles == 6 and len(steps) == 2 * (tiles + 1) > settings.iterations
    assert [(s.done, s.total, len(s.partial.records)) for s in made] == [(0, 2, 0), (1, 2, 1), (2, 2, 2)]
    assert steps[:tiles] == [made[0]] * tiles and steps[tiles + 1:2 * tiles + 1] == [made[1]] * tiles
    np.testing.assert_array_equal(made[0].partial.image, result.start)

    mean, std = model.stats("cpu")
    x = (torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None, None] - mean) / std
    records, final = core_run(model, x, DreamConfig(layer="features.relu2", iterations=2, octaves=1, prob_every=1,
                                                    jitter=3, tile=32, overlap=8))
    assert result.records == tuple(dataclasses.replace(r, image=None, config=None) for r in records)
    np.testing.assert_array_equal(result.image, np.asarray(model.deprocess(final)))
    assert result.image.shape == (56, 64) and not result.partial


def test_unknown_layer_names_the_layers(model, source):
    with pytest.raises(ValueError, match=r"layer: 'nope' is not a layer.*; layers: features"):
        registry.get("dream").compute(model, source, Settings(layer="nope", **SMALL))


@pytest.mark.parametrize(("changes", "message"), [
    ({"overlap": 512}, "overlap: 512 px is not less than tile \\(512 px\\); use 0…511 px"),
    ({"cycle": ("features.relu2",)}, "cycle: 'features.relu2' is not layer:step_size"),
    ({"cycle": ("features.relu2:big",)}, "cycle: 'features.relu2:big' is not layer:step_size"),
    ({"objective": "guided"}, "guide: the guided objective needs a guide image file"),
    ({"objective": "dots"}, "objective: 'dots' is not one of l2, channel, class, guided"),
    ({"iterations": 0}, "iterations: 0 is outside 1…100000"),
    ({"work_at": "huge"}, "work_at: 'huge' is not one of model, full"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_cycle_items_split_at_the_last_colon():
    assert parse_cycle(("a:b:0.5", " features.relu2 :2")) == (("a:b", 0.5), ("features.relu2", 2.0))


def test_caption_keeps_the_settings_that_shape_the_dream(result):
    fields = result.caption().fields
    assert fields["iterations"] == 2 and fields["layer"] == "features.relu2" and fields["steps"] == "2/2"
    assert fields["sizes"] == ["28×28"] and fields["seed"] == 0
    assert not {"channel", "squared", "guide", "best_match", "cycle", "blur_sigma", "tile"} & set(fields)
    assert "channel" in Settings(objective="channel").caption_fields()


def test_export_keeps_the_panes_names(result, tmp_path):
    written = result.export(tmp_path, ("npy", "csv"))
    names = {p.name for p in written}
    assert {"dream-fmnist_bag-run1-objective.npy", "dream-fmnist_bag-run1-probability.npy",
            "dream-fmnist_bag-image.npy", "dream-fmnist_bag-start.npy", "dream-fmnist_bag-run1-steps.csv"} <= names
    objective = np.load(tmp_path / "dream-fmnist_bag-run1-objective.npy")
    assert objective.shape == (2, 2) and objective[:, 0].tolist() == [0, 1]
    np.testing.assert_array_equal(np.load(tmp_path / "dream-fmnist_bag-image.npy"), result.image)
    steps = (tmp_path / "dream-fmnist_bag-run1-steps.csv").read_text(encoding="utf-8").splitlines()
    assert steps[0] == "# analysis: dream" and len([s for s in steps if not s.startswith("#")]) == 3


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(model, source, width_mm):
    result = registry.get("dream").compute(model, source, Settings(iterations=2, octaves=2, prob_every=1))
    figure = registry.get("dream").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    assert_readable(figure)


def test_partial_result_draws_at_a_width_in_pixels(model, source):
    step = next(registry.get("dream").run(model, source, Settings(iterations=2, octaves=2)))
    assert isinstance(step.partial, DreamAnalysis) and step.partial.partial
    figure = registry.get("dream").figure(step.partial, width_px=900, dpi=150)
    assert round(figure.get_figwidth() * figure.dpi) == 900
    assert_readable(figure)
