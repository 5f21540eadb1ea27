"""The attribution analysis: its maps, curves and randomisation tests equal the core's, known maps are not computed
again, its settings check themselves and name the pane's settings, its exports keep the pane's file names, its figure
reads well; a method that fails leaves the other maps and says why in its place."""

import csv
import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from figure_layout import assert_readable

from cnnviz.analyses import Source, figures, registry
from cnnviz.analyses import attribution as attribution_analysis
from cnnviz.analyses.attribution import Map, Settings, planned_maps, shown_values
from cnnviz.core.data import images
from cnnviz.core.model import models
from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution import metrics
from cnnviz.core.progress import Cancelled, run_to_end
from cnnviz.core.settings import from_texts, infos

CHEAP = Settings(methods=("gradcam", "integrated_gradients", "gradient"), integrated_gradients_steps=4)
SQUEEZENET = Path(__file__).resolve().parents[4] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"


@pytest.fixture(scope="module")
def result(model, source):
    return registry.get("attribution").compute(model, source, CHEAP)


@pytest.fixture(scope="module")
def classes_result(model, source):
    return registry.get("attribution").compute(model, source, Settings(mode="classes", classes=(8, 0), curves=False))


def test_maps_and_curves_equal_the_core(model, source, result):
    assert [m.method for m in result.maps] == ["gradcam", "integrated_gradients", "gradient"]
    assert not result.partial and result.layer == "features.pool3"
    for item in result.maps:
        params = {"steps": 4} if item.method == "integrated_gradients" else {}
        expected = attribution.attribute(model, source.x, method=item.method, **params)
        np.testing.assert_allclose(item.values, expected.map.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(item.raw, expected.raw.numpy(), rtol=1e-5, atol=1e-6)
        assert item.target == expected.target == 8 and item.layer == expected.layer
        deletion = metrics.deletion(model, source.x, expected)
        insertion = metrics.insertion(model, source.x, expected)
        np.testing.assert_allclose(item.deletion.probabilities, deletion.probabilities, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(item.insertion.probabilities, insertion.probabilities, rtol=1e-5, atol=1e-6)
        assert item.deletion.auc == pytest.approx(deletion.auc, abs=1e-6)
    assert result.maps[1].completeness_gap is not None and result.maps[0].completeness_gap is None


def test_classes_mode_compares_one_method_across_the_classes(model, source, classes_result):
    assert [(m.method, m.target) for m in classes_result.maps] == [("gradcam", 8), ("gradcam", 0)]
    expected = attribution.attribute(model, source.x, method="gradcam", target=0)
    np.testing.assert_allclose(classes_result.maps[1].values, expected.map.numpy(), rtol=1e-5, atol=1e-6)
    assert all(m.deletion is None and m.insertion is None for m in classes_result.maps)


def test_without_classes_the_target_and_the_next_most_probable_are_compared():
    probabilities = np.array([0.1, 0.05, 0.3, 0.0, 0.2, 0.25, 0.1])
    assert planned_maps(Settings(mode="classes"), probabilities) == [("gradcam", 2), ("gradcam", 5), ("gradcam", 4),
                                                                     ("gradcam", 0)]
    assert planned_maps(Settings(mode="classes", target=3), probabilities)[:2] == [("gradcam", 3), ("gradcam", 2)]
    assert planned_maps(Settings(methods=("gradient",), target=6), probabilities) == [("gradient", 6)]
    with pytest.raises(ValueError, match="target: 7 is not a class of this model; classes run from 0 to 6"):
        planned_maps(Settings(target=7), probabilities)


def test_method_parameters_reach_the_core_and_equal_its_defaults():
    names = {entry.name: entry for entry in infos(Settings)}
    for method in attribution.METHODS:
        for parameter, default in attribution.parameters(method).items():
            if parameter != "batch_size":
                assert names[f"{method}_{parameter}"].default == default, (method, parameter)
    assert Settings(smoothgrad_samples=3).parameters("smoothgrad")["samples"] == 3
    assert "batch_size" not in Settings().parameters("scorecam")


def test_steps_carry_partial_results_and_close_the_core(model, source):
    steps = registry.get("attribution").run(model, source, CHEAP.replace(methods=("gradcam", "gradient")))
    seen = list(steps)
    assert seen[-1].done == seen[-1].total == 6
    assert all(step.partial.partial for step in seen)
    assert [len(step.partial.maps) for step in seen][:2] == [0, 1]
    cancelled = registry.get("attribution").run(model, source, CHEAP)
    first = next(cancelled)
    cancelled.close()
    assert first.done == 0 and first.total == 9


def test_caption_names_the_settings_and_each_map(result, classes_result):
    fields = result.caption().fields
    assert fields["target"] == 8 and fields["target_name"] == "Bag" and fields["layer"] == "features.pool3"
    assert fields["map2"] == ("integrated_gradients (baseline=black, steps=4, rule=riemann_trapezoid, "
                              "reduce=sum)")
    assert fields["mode"] == "methods" and fields["curves"] is True
    assert "colormap" not in fields and "opacity" not in fields and "integrated_gradients_steps" not in fields
    assert classes_result.caption().fields["class_names"] == ["Bag", "T-shirt/top"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"methods": ()}, "methods: none given"),
    ({"methods": ("gradient",) * 2}, "methods: gradient, gradient names one twice"),
    ({"classes": (1, 2, 3, 4, 5)}, "classes: 5 given; at most 4"),
    ({"methods": ("sobel",)}, "methods: 'sobel' is not one of"),
    ({"mode": "both"}, "mode: 'both' is not one of methods, classes"),
    ({"smoothgrad_sigma": 2.0}, "smoothgrad_sigma: 2.0 is outside 0…1"),
    ({"integrated_gradients_steps": 0}, "integrated_gradients_steps: 0 is outside 1…1024"),
])
def test_bad_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings(**changes)


def test_command_line_texts_use_the_panes_names():
    settings = from_texts(Settings, {"methods": "gradcam,occlusion", "occlusion_window": "6", "smoothgrad_reduce":
                                     "none", "classes": "3,1", "display": "signed"})
    assert settings.methods == ("gradcam", "occlusion") and settings.occlusion_window == 6
    assert settings.classes == (3, 1) and settings.smoothgrad_reduce is None and settings.display == "signed"


def test_a_layer_a_cam_cannot_use_is_refused(model, source):
    with pytest.raises(ValueError, match=r"layer: 'classifier\.fc1' is not a layer a CAM can use"):
        next(registry.get("attribution").run(model, source, CHEAP.replace(layer="classifier.fc1")))


def test_export_keeps_the_panes_file_names(result, tmp_path):
    written = {p.name for p in result.export(tmp_path, ("npy", "csv"), stem="at")}
    assert {"at-1-gradcam-class8.npy", "at-2-integrated_gradients-class8.npy", "at-3-gradient-class8.npy",
            "at-1-gradcam-class8-raw.npy", "at-metrics.csv", "at-curves.csv"} <= written
    np.testing.assert_array_equal(np.load(tmp_path / "at-3-gradient-class8.npy"), result.maps[2].values)
    metrics_text = (tmp_path / "at-metrics.csv").read_text(encoding="utf-8")
    assert metrics_text.startswith("# analysis: attribution") and "# partial: no" in metrics_text
    rows = [line for line in metrics_text.splitlines() if not line.startswith("#")]
    assert rows[0].startswith("map,method,target,class,layer,parameters,deletion_auc,insertion_auc")
    assert rows[1].startswith("1,gradcam,8,Bag,features.pool3,{},") and len(rows) == 4
    assert f"{result.maps[0].deletion.auc:.9g}" in rows[1]
    curves = [line for line in (tmp_path / "at-curves.csv").read_text().splitlines() if not line.startswith("#")]
    assert len(curves) == 1 + 3 * 2 * 101 and curves[1].startswith("1,gradcam,8,deletion,0,")


def test_shown_values_follow_the_display():
    values = np.array([[-2.0, 1.0], [0.0, 0.5]])
    shown, low, high = shown_values(values, "abs")
    np.testing.assert_array_equal(shown, np.abs(values))
    assert (low, high) == (0.0, 2.0)
    assert shown_values(values, "signed")[1:] == (-2.0, 2.0)
    assert shown_values(np.zeros((2, 2)), "abs")[1:] == (0.0, 1.0)


@pytest.mark.parametrize("width_mm", [85, 170, 250])
def test_figure_reads_well_at_every_width(result, width_mm):
    fig = registry.get("attribution").figure(result, width_mm=width_mm)
    assert round(fig.get_figwidth() * fig.dpi) == round(width_mm / 25.4 * 300)
    assert_readable(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert {"Grad-CAM", "Integrated gradients", "Gradient"} <= set(titles)
    lines = [ax for ax in fig.axes if ax.get_title().startswith(("Deletion", "Insertion"))]
    assert len(lines) == 2 and all(len(ax.get_lines()) == 3 for ax in lines)


def test_figure_in_pixels_and_in_classes_mode(classes_result):
    fig = registry.get("attribution").figure(classes_result, width_px=1200, dpi=150)
    assert round(fig.get_figwidth() * fig.dpi) == 1200
    assert_readable(fig)
    assert "Grad-CAM\nBag (8)" in [ax.get_title() for ax in fig.axes]


def test_partial_figure_shows_what_is_computed(model, source):
    step = next(iter(s for s in registry.get("attribution").run(model, source, CHEAP) if len(s.partial.maps) == 1))
    fig = registry.get("attribution").figure(step.partial, width_mm=170)
    assert "computing…" in [ax.get_title() for ax in fig.axes]
    assert "PARTIAL" in step.partial.caption().text()


@pytest.mark.skipif(not SQUEEZENET.exists(), reason="the SqueezeNet model folder is absent")
def test_an_imagenet_photo_reads_well(tmp_path):
    big = models.load(str(SQUEEZENET))
    photo = Source.of_file(big, images.sample("chelsea").path)
    found = registry.get("attribution").compute(big, photo, Settings(methods=("gradcam", "gradient"), curves=False))
    fig = registry.get("attribution").figure(found, width_mm=170)
    assert_readable(fig)
    figures.save(fig, tmp_path / "squeezenet.png")


def test_the_randomisation_test_is_part_of_the_result_and_its_tables(model, source):
    settings = Settings(methods=("gradcam", "gradient"), curves=False, randomisation=True)
    found = registry.get("attribution").compute(model, source, settings)
    rows = list(csv.DictReader(io.StringIO(found.tables()["metrics"])))
    curves = list(csv.DictReader(io.StringIO(found.tables()["curves"])))
    for number, (item, row) in enumerate(zip(found.maps, rows), 1):
        records = metrics.randomisation(model, source.x, method=item.method, target=item.target, layer=item.layer)
        assert [r.layers for r in item.randomisation] == [r.layers for r in records]
        np.testing.assert_allclose([r.spearman for r in item.randomisation], [r.spearman for r in records], atol=1e-6)
        assert item.final_record is item.randomisation[-1] and item.insensitive == metrics.insensitive(records)
        assert row["random_spearman"] == f"{item.randomisation[-1].spearman:.9g}"
        assert row["insensitive_to_weights"] == str(item.insensitive).lower() and row["deletion_auc"] == ""
        ssim = [float(r["value"]) for r in curves if r["map"] == str(number) and r["curve"] == "randomisation_ssim"]
        assert ssim == [float(f"{r.ssim:.9g}") for r in item.randomisation]
    assert found.caption().fields["randomisation"] is True
    fig = registry.get("attribution").figure(found, width_mm=85)
    assert_readable(fig)
    details = [ax.get_xlabel() for ax in fig.axes if "rand. ρ" in ax.get_xlabel()]
    assert len(details) == 2 and f"rand. ρ {found.maps[0].randomisation[-1].spearman:.3f}" in details[0]
    assert Settings().randomisation is False and Map.of(attribution.attribute(model, source.x)).insensitive is None


def test_known_maps_are_taken_with_their_parts_and_only_what_they_lack_is_computed(model, source, monkeypatch):
    first = registry.get("attribution").compute(model, source, CHEAP.replace(methods=("gradcam", "gradient")))
    made = []
    real = attribution.attribute_steps
    monkeypatch.setattr(attribution, "attribute_steps", lambda *args, **kwargs: made.append(kwargs["method"]) or
                        real(*args, **kwargs))
    wider = CHEAP.replace(methods=("gradcam", "gradient", "gradient_x_input"), curves=False)
    again = run_to_end(attribution_analysis.run(model, source, wider, known=first.maps), None)
    assert made == ["gradient_x_input"] and [m.method for m in again.maps] == list(wider.methods)
    assert all(m.values is k.values and m.deletion is None for m, k in zip(again.maps, first.maps))
    assert again.maps[2].key == attribution_analysis.map_key("gradient_x_input", 8, None, {"reduce": "sum"})
    np.testing.assert_allclose(again.maps[2].values, attribution.attribute(
        model, source.x, method="gradient_x_input").map.numpy(), rtol=1e-5, atol=1e-6)
    same = run_to_end(attribution_analysis.run(model, source, CHEAP.replace(methods=("gradcam", "gradient")),
                                               known=first.maps), None)
    assert made == ["gradient_x_input"] and all(m is k for m, k in zip(same.maps, first.maps)) and not same.partial
    l2 = CHEAP.replace(methods=("gradient",), gradient_reduce="l2")
    other = run_to_end(attribution_analysis.run(model, source, l2, known=first.maps), None)
    assert made[-1] == "gradient" and other.maps[0].params == {"reduce": "l2"}


FAILING = CHEAP.replace(methods=("gradcam", "occlusion", "gradient"), occlusion_window=100)
"""An occluder larger than the 28×28 input: occlusion cannot work, the other methods can."""
OCCLUDER_TOO_LARGE = "the occluder (100 px) is larger than the input (28×28)"


@pytest.fixture(scope="module")
def failing_result(model, source):
    return registry.get("attribution").compute(model, source, FAILING)


def test_a_failing_method_leaves_the_other_maps_as_without_it(model, source, failing_result):
    alone = registry.get("attribution").compute(model, source, CHEAP.replace(methods=("gradcam", "gradient")))
    assert not failing_result.partial
    assert [m.method for m in failing_result.maps] == ["gradcam", "occlusion", "gradient"]
    failed = failing_result.maps[1]
    assert failed.failed and failed.error == OCCLUDER_TOO_LARGE and failed.values.size == 0
    assert failed.deletion is None and failed.insertion is None and failed.params["window"] == 100
    for item, expected in zip(failing_result.maps[::2], alone.maps):
        assert not item.failed and item.error == ""
        np.testing.assert_array_equal(item.values, expected.values)
        np.testing.assert_array_equal(item.deletion.probabilities, expected.deletion.probabilities)
        assert item.insertion.auc == expected.insertion.auc
    assert failing_result.failures() == [f"map 2 (occlusion) failed: {OCCLUDER_TOO_LARGE}"]
    fields = failing_result.caption().fields
    assert fields["failed2"] == f"occlusion: {OCCLUDER_TOO_LARGE}" and "failed1" not in fields
    assert fields["map2"].startswith("occlusion (") and OCCLUDER_TOO_LARGE in failing_result.caption().text()


def test_a_failed_map_has_no_arrays_rows_or_curves(failing_result, tmp_path):
    assert set(failing_result.arrays()) == {"1-gradcam-class8", "1-gradcam-class8-raw", "3-gradient-class8",
                                            "3-gradient-class8-raw"}
    rows = list(csv.DictReader(io.StringIO(failing_result.tables()["metrics"])))
    assert [(r["map"], r["method"]) for r in rows] == [("1", "gradcam"), ("3", "gradient")]
    curves = list(csv.DictReader(io.StringIO(failing_result.tables()["curves"])))
    assert {r["map"] for r in curves} == {"1", "3"} and len(curves) == 2 * 2 * 101
    everything_failed = dataclasses.replace(failing_result, maps=failing_result.maps[1:2])
    assert everything_failed.arrays() == {} and everything_failed.tables() == {}


def test_steps_count_a_failed_maps_parts_as_done(model, source):
    seen = list(registry.get("attribution").run(model, source, FAILING))
    assert seen[-1].done == seen[-1].total == 9
    assert [step.done for step in seen] == sorted(step.done for step in seen)


@pytest.mark.parametrize("width_mm", [85, 170])
def test_figure_shows_why_a_method_failed_in_its_cell(failing_result, width_mm):
    fig = registry.get("attribution").figure(failing_result, width_mm=width_mm)
    assert_readable(fig)
    cell = next(ax for ax in fig.axes if ax.get_title() == "Occlusion")
    message = " ".join(" ".join(text.get_text() for text in cell.texts).split())
    assert message == f"Failed: {OCCLUDER_TOO_LARGE}"
    assert not cell.child_axes and "window=100" in cell.get_xlabel().replace("\n", " ")
    lines = [ax for ax in fig.axes if ax.get_title().startswith(("Deletion", "Insertion"))]
    assert all(len(ax.get_lines()) == 2 for ax in lines)


def test_a_long_failure_is_shortened_and_wrapped_without_overlaps(model, source, monkeypatch):
    real = attribution.attribute_steps

    def failing(*args, **kwargs):
        if kwargs["method"] == "gradient":
            raise RuntimeError("CUDA out of memory. " + "Tried to allocate a great many bytes. " * 20 + "\nsecond line")
        return real(*args, **kwargs)

    monkeypatch.setattr(attribution, "attribute_steps", failing)
    found = registry.get("attribution").compute(model, source, CHEAP.replace(methods=("gradient", "gradcam"),
                                                                             curves=False))
    assert found.maps[0].failed and "second line" not in found.maps[0].error
    assert len(found.caption().fields["failed1"]) <= len("gradient: ") + attribution_analysis.FAILURE_CHARS
    for width_mm in (85, 170):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # constrained layout must not collapse
            fig = registry.get("attribution").figure(found, width_mm=width_mm)
        assert_readable(fig)
        cell = next(ax for ax in fig.axes if ax.get_title() == "Gradient")
        assert cell.texts[0].get_text().startswith("Failed: CUDA out") and cell.texts[0].get_text().endswith("…")


def test_non_finite_maps_fail_and_a_cancel_still_ends_the_run(model, source, monkeypatch):
    real = attribution.attribute_steps

    def nan_gradient(*args, **kwargs):
        value = yield from real(*args, **kwargs)
        if kwargs["method"] != "gradient":
            return value
        return dataclasses.replace(value, map=torch.full_like(value.map, float("nan")))

    monkeypatch.setattr(attribution, "attribute_steps", nan_gradient)
    settings = CHEAP.replace(methods=("gradient", "gradcam"), curves=False)
    found = registry.get("attribution").compute(model, source, settings)
    assert found.maps[0].error == "its map holds NaN or infinite values" and not found.maps[1].failed
    np.testing.assert_allclose(found.maps[1].values, attribution.attribute(model, source.x).map.numpy(), rtol=1e-5,
                               atol=1e-6)

    def cancelled(*args, **kwargs):
        raise Cancelled()

    monkeypatch.setattr(attribution, "attribute_steps", cancelled)
    with pytest.raises(Cancelled):
        registry.get("attribution").compute(model, source, settings)
