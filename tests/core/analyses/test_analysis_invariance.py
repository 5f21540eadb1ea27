"""The invariance analysis: its curves equal the core's, its settings check themselves, its export keeps the
command line's file names, its figure reads well."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import Source, registry
from cnnviz.analyses import invariance as analysis
from cnnviz.analyses.base import about
from cnnviz.analyses.invariance import Settings
from cnnviz.core.data import images
from cnnviz.core.per_image import invariance
from cnnviz.core.settings import from_texts

DEFAULT_LAYERS = ["features.relu1", "classifier.relu4"]
SCALE = Settings(kind="scale", start=0.5, stop=1.5, step=0.5)


@pytest.fixture(scope="module")
def result(model, source):
    return registry.get("invariance").compute(model, source, SCALE)


def test_curves_equal_the_core(model, source, result):
    expected = invariance.curves(model, source.x, kind="scale", values=np.array([0.5, 1.0, 1.5]))
    assert list(expected.distance) == DEFAULT_LAYERS and not result.partial
    arrays = result.arrays()
    assert set(arrays) == {f"image1-{name}" for name in expected.arrays()}
    for name, array in expected.arrays().items():
        np.testing.assert_allclose(arrays[f"image1-{name}"], array, rtol=1e-5, atol=1e-6)


def test_identity_gives_the_input_s_probability_and_no_distance(model, source, result):
    features = {}
    hooks = [model.module.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: features.__setitem__(name, out.detach().flatten())) for name in DEFAULT_LAYERS]
    try:
        with torch.no_grad():
            probs = torch.softmax(model.module(source.x), dim=1)[0]
    finally:
        for hook in hooks:
            hook.remove()
    curves = result.curves
    assert curves.target == int(probs.argmax()) == 8
    assert curves.prob[1] == pytest.approx(float(probs[8]), rel=1e-5)
    for name in DEFAULT_LAYERS:
        assert curves.distance[name][1] == pytest.approx(0.0, abs=1e-4)
        np.testing.assert_allclose(curves.relative_distance[name],
                                   curves.distance[name] / float(features[name].norm()), rtol=1e-5)


def test_default_settings_compare_the_paper_s_layers_over_the_default_range(model, source):
    assert analysis.defaults(model) == Settings(layers=tuple(DEFAULT_LAYERS))
    outcome = registry.get("invariance").compute(model, source, Settings())
    np.testing.assert_array_equal(outcome.curves.values, invariance.default_values("rotation"))
    assert outcome.resolved() == {"start": 0.0, "stop": 350.0, "step": 10.0, "values": 36, "target": 8,
                                  "target_name": "Bag", "layers": DEFAULT_LAYERS}


def test_translation_range_follows_the_input_size(model, source):
    settings = Settings(kind="horizontal", layers=("features.relu2",), target=3)
    assert analysis.value_range_for(settings, 28) == invariance.default_range("horizontal", 28)
    outcome = registry.get("invariance").compute(model, source, settings)
    np.testing.assert_array_equal(outcome.curves.values, invariance.default_values("horizontal", 28))
    expected = invariance.curves(model, source.x, kind="horizontal", values=outcome.curves.values,
                                 layers=["features.relu2"], target=3)
    np.testing.assert_allclose(outcome.curves.prob, expected.prob, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(outcome.curves.distance["features.relu2"], expected.distance["features.relu2"],
                               rtol=1e-5, atol=1e-5)
    assert outcome.caption().fields["target_name"] == "Dress"


def test_steps_carry_partial_results_and_closing_cancels(model, source):
    settings = Settings(start=0, stop=199, step=1, layers=("features.relu1",))
    steps = list(registry.get("invariance").run(model, source, settings))
    assert len(steps) >= 2 and steps[-1].done == steps[-1].total == 200
    first = steps[0].partial
    assert first.partial and first.curves.done == steps[0].done < 200
    assert np.isnan(first.curves.prob[first.curves.done:]).all()
    assert (first.curves.top_class[first.curves.done:] == -1).all()
    running = registry.get("invariance").run(model, source, settings)
    step = next(running)
    running.close()
    assert step.partial.caption().partial and step.message == "transforming"


def test_examples_are_the_transformed_inputs_as_shown(model, source, result):
    np.testing.assert_array_equal(result.example_values, [0.5, 1.0, 1.5])
    assert result.examples.shape == (3, 28, 28) and result.examples.dtype == np.uint8
    np.testing.assert_array_equal(result.examples[1], np.asarray(model.deprocess(source.x)))
    half = invariance.transform(source.x, "scale", 0.5)
    np.testing.assert_array_equal(result.examples[0], np.asarray(model.deprocess(half)))
    np.testing.assert_array_equal(analysis.example_indices(36), [0, 4, 9, 13, 18, 22, 26, 31, 35])
    np.testing.assert_array_equal(analysis.example_indices(2), [0, 1])


def test_caption_names_the_compared_layers_and_the_resolved_range(result):
    fields = result.caption().fields
    assert fields["layers"] == DEFAULT_LAYERS
    assert (fields["kind"], fields["start"], fields["stop"], fields["step"], fields["values"]) == (
        "scale", 0.5, 1.5, 0.5, 3)
    assert fields["target"] == 8 and fields["target_name"] == "Bag"
    assert fields["crop"] is False and fields["relative"] is False
    assert "layers=[features.relu1, classifier.relu4]" in result.caption().text()


@pytest.mark.parametrize(("changes", "message"), [
    ({"kind": "shear"}, "kind: 'shear' is not one of rotation, vertical, horizontal, scale"),
    ({"step": 0}, "step: 0.0 is outside 0.001…7200"),
    ({"start": 10, "stop": 5}, "stop: 5 is below start 10; give a stop of at least the start"),
    ({"kind": "scale", "start": 0}, "start: scale factors must be above 0, not 0"),
    ({"start": 0, "stop": 3000, "step": 1}, "step: 0 to 3000 in steps of 1 gives 3001 values; at most 2000"),
    ({"kind": "scale", "stop": 3, "step": 0.001}, "step: 1 to 3 in steps of 0.001 gives 2001 values"),
    ({"target": -1}, "target: -1 is outside 0…"),
    ({"layers": "features.relu1"}, "layers: 'features.relu1' is not a list"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_bad_settings_for_the_model_name_the_field(model, source):
    run = registry.get("invariance").run
    with pytest.raises(ValueError, match=r"layers: no layer nope, other in this model; layers: features, "):
        next(run(model, source, Settings(layers=("features.relu1", "nope", "other"))))
    with pytest.raises(ValueError, match="target: 10 is outside the model's 10 classes"):
        next(run(model, source, Settings(target=10)))
    too_many = Settings(kind="horizontal", start=-3600, step=1)  # the default stop waits for the input size
    with pytest.raises(ValueError, match="step: -3600 to 8 in steps of 1 gives 3609 values; at most 2000"):
        next(run(model, source, too_many))


def test_layers_parse_from_comma_separated_names_once_each(model, source):
    settings = from_texts(Settings, {"layers": "features.relu2, classifier.relu4,features.relu2", "kind": "vertical",
                                     "stop": "2", "start": "-2"})
    assert settings.layers == ("features.relu2", "classifier.relu4", "features.relu2")
    assert analysis.compared_layers(model, settings) == ["features.relu2", "classifier.relu4"]
    outcome = registry.get("invariance").compute(model, source, settings)
    assert outcome.caption().fields["layers"] == ["features.relu2", "classifier.relu4"]
    assert {"image1-distance-features.relu2", "image1-relative_distance-classifier.relu4"} <= set(outcome.arrays())


def test_export_keeps_the_command_line_s_names(result, tmp_path):
    written = result.export(tmp_path, ("npy", "csv"))
    stem = "invariance-fmnist_bag"
    names = {p.name for p in written}
    assert {f"{stem}-image1-{name}.npy" for name in result.curves.arrays()} <= names
    assert {f"{stem}-image1-probability.csv", f"{stem}-curves.csv"} <= names
    np.testing.assert_array_equal(np.load(tmp_path / f"{stem}-image1-top_class.npy"), result.curves.top_class)
    table = (tmp_path / f"{stem}-image1-probability.csv").read_text(encoding="utf-8").splitlines()
    assert table[0] == "# analysis: invariance" and "index,image1-probability" in table
    curves = (tmp_path / f"{stem}-curves.csv").read_text(encoding="utf-8")
    assert "# partial: no" in curves
    assert curves.endswith(invariance.curves_csv([("fmnist_bag.png", result.curves)]))
    assert "image,scale_×,target_probability,top_class,top_class_name" in curves


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    figure = registry.get("invariance").figure(result, width_mm=width_mm)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    titles = [ax.get_title() for ax in figure.axes]
    assert "(b) p(Bag)" in titles and "(c) features.relu1" in titles and "(d) classifier.relu4" in titles
    assert_readable(figure)


def test_figure_in_pixels_with_relative_distances_and_many_layers(model, source):
    settings = SCALE.replace(relative=True, layers=("features.relu1", "features.relu2", "features.relu3",
                                                    "classifier.relu4"))
    outcome = registry.get("invariance").compute(model, source, settings)
    figure = registry.get("invariance").figure(outcome, width_px=1200, dpi=150, caption=False)
    assert round(figure.get_figwidth() * figure.dpi) == 1200
    assert "‖f(T(x)) − f(x)‖ / ‖f(x)‖" in {ax.get_ylabel() for ax in figure.axes}
    assert not [t for t in figure.texts if t.get_gid() == "caption"]
    assert_readable(figure)


@pytest.fixture(scope="module")
def several(model, source):
    """The bag (its top-1 target), an ankle boot (its top-1 target) and the bag for target 3, combined."""
    boot = Source.of_file(model, images.sample("fmnist_ankle_boot").path)
    run = registry.get("invariance").compute
    results = [run(model, source, SCALE), run(model, boot, SCALE), run(model, source, SCALE.replace(target=3))]
    return [results[0], results[1], replace(results[2], name="bag for dress")]


def old_pane_arrays(named):
    """The Invariance pane's arrays export before the analysis held several images."""
    return {f"image{k}-{name}": array for k, (_name, curves) in enumerate(named, 1)
            for name, array in curves.arrays().items()}


def test_combined_results_keep_every_image_s_curves_as_the_pane_exported_them(several):
    both = analysis.combined(several)
    named = [(r.name, r.curves) for r in several]
    assert both.name == "fmnist_bag.png" and both.curves is several[0].curves and not both.partial
    assert [(i.name, i.curves) for i in both.images()] == named
    expected = old_pane_arrays(named)
    assert list(both.arrays()) == list(expected) and len(expected) == 3 * 7
    for name, array in expected.items():
        np.testing.assert_array_equal(both.arrays()[name], array)
    assert both.tables() == {"curves": invariance.curves_csv(named)}
    assert both.tables()["curves"].count("\nbag for dress,") == 3
    assert analysis.combined(several[:1]) == replace(several[0], more=())


def test_combined_caption_names_each_image_with_its_target_and_partial_if_any(several, model, source):
    both = analysis.combined(several)
    fields = both.caption().fields
    assert [r.curves.target for r in several] == [8, 9, 3] and fields["target"] == [8, 9, 3]
    assert fields["image1"] == "fmnist_bag.png, target Bag (8)"
    assert fields["image2"] == "fmnist_ankle_boot.png, target Ankle boot (9)"
    assert fields["image3"] == "bag for dress, target Dress (3)" and "target_name" not in fields
    assert fields["layers"] == DEFAULT_LAYERS and fields["values"] == 3
    running = registry.get("invariance").run(model, source, SCALE.replace(stop=100, step=0.05))
    partial = next(running).partial
    running.close()
    mixed = analysis.combined([several[0], partial])
    assert partial.partial and mixed.partial and mixed.caption().partial and not several[0].partial
    rotated = registry.get("invariance").compute(model, source, Settings(start=0, stop=10, step=10))
    with pytest.raises(ValueError, match=r"different transforms \(scale, rotation\)"):
        analysis.combined([several[0], rotated])
    with pytest.raises(ValueError, match="no results"):
        analysis.combined([])


def titled(figure, title: str):
    return next(ax for ax in figure.axes if title in (ax.get_title(), ax.get_title(loc="left")))


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_of_several_images_draws_each_in_its_colour_and_reads_well(several, count, width_mm):
    figure = registry.get("invariance").figure(analysis.combined(several[:count]), width_mm=width_mm)
    assert_readable(figure)
    assert round(figure.get_figwidth() * figure.dpi) == round(width_mm / 25.4 * 300)
    colours = list(analysis.IMAGE_COLOURS[:count])
    assert titled(figure, "(a) Transformed input of fmnist_bag.png").images
    for title, curve in [("(b) p(target)", lambda r: r.curves.prob),
                         ("(d) classifier.relu4", lambda r: r.curves.distance["classifier.relu4"])]:
        lines = titled(figure, title).get_lines()
        assert [line.get_color() for line in lines] == colours
        for line, result in zip(lines, several):
            np.testing.assert_array_equal(line.get_ydata(), curve(result))
    strip = titled(figure, "(e) Most probable class")
    names = ["fmnist_bag", "fmnist_ankl…", "bag for dre…"][:count]
    assert [label.get_text() for label in strip.get_yticklabels()] == names
    assert [label.get_color() for label in strip.get_yticklabels()] == colours
    rows = [collection.get_offsets()[:, 1].tolist() for collection in strip.collections]
    assert rows == [[row] * 3 for row in range(count)]
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None]
    images = next(legend for legend in legends if legend.get_title().get_text() == "image: target class")
    entries = ["fmnist_bag.png: Bag", "fmnist_ankle_boot.png: Ankle boot", "bag for dress: Dress"][:count]
    assert [text.get_text() for text in images.get_texts()] == entries
    assert [line.get_color() for line in images.get_lines()] == colours


@pytest.mark.parametrize("count", [1, 2])
def test_figure_without_transformed_inputs_leaves_panel_a_out(several, count):
    first = replace(several[0], examples=np.zeros((0, 28, 28), np.uint8), example_values=np.zeros(0))
    result = analysis.combined([first, *several[1:count]])
    for width_mm in (85, 170, 250):
        figure = registry.get("invariance").figure(result, width_mm=width_mm)
        assert_readable(figure)
        assert not [ax for ax in figure.axes if ax.images]
        target = "Bag" if count == 1 else "target"
        for title in (f"(a) p({target})", "(b) features.relu1", "(c) classifier.relu4", "(d) Most probable class"):
            assert titled(figure, title)


def test_curves_without_their_input_make_a_result_of_their_own_settings(model, result):
    head = about("invariance", model, Source("restored"))
    made = analysis.from_curves(result.curves, "restored", head, Settings(relative=True, start=-5, stop=5, step=1))
    assert made.settings == Settings(kind="scale", start=0.5, stop=1.5, step=0.5, relative=True,
                                     layers=tuple(DEFAULT_LAYERS), target=8)
    assert made.value_range == (0.5, 1.5, 0.5) and made.examples.shape[0] == 0 and not made.partial
    assert made.curves is result.curves and made.name == "restored"
    assert made.caption().fields == result.caption().fields | {"relative": True, "target": 8}
    assert made.caption().image == "restored" and made.caption().checksum == result.caption().checksum
    one = replace(result.curves, values=np.array([2.0]), prob=np.array([np.nan]), top_class=np.array([-1]),
                  distance={}, relative_distance={}, done=0, total=1)
    lone = analysis.from_curves(one, "one", head)
    assert lone.partial and lone.value_range == (2.0, 2.0, 0.0)
    assert (lone.settings.start, lone.settings.stop, lone.settings.step, lone.settings.layers) == (2.0, 2.0, None, ())
