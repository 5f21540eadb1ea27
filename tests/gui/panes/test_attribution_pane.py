"""The Attribution pane: maps equal the core's for the target class and follow it, the classes view shows
one method for the top classes, live parameter and layer changes recompute only their maps (a stale run
is cancelled, a cancelled one keeps its maps), the metrics row shows the core's numbers, guided passes
warn about nonlinearities without a rule, exports hold the results, the settings are remembered, and the maps,
curves and randomisation tests shown are the attribution analysis's result, whose report figure is the export; a
method that fails says why in its cell while the others are computed."""

import csv
import io
import time

import numpy as np
import torch
from export_answers import answer_export
from PIL import Image
from torch import nn

from cnnviz.analyses import attribution as analysis
from cnnviz.analyses import registry
from cnnviz.analyses.base import Source
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import attribution
from cnnviz.core.per_image.attribution import metrics
from cnnviz.gui.panes.attribution.pane import AttributionPane
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.figure_render import ExportOptions

DIALOG = "PySide6.QtWidgets.QFileDialog.getSaveFileName"


def shown(pane) -> tuple:
    """The analysis's map shown in each column (None where it is not computed)."""
    return pane.view.scene.maps


def computed(pane, qtbot, check=lambda maps: True, timeout: int = 60_000):
    """Wait until the pane is idle with every shown map computed (and ``check(maps)``); the maps, left to right."""
    qtbot.waitUntil(lambda: pane.settled and not pane.running and shown(pane)
                    and all(m is not None for m in shown(pane)) and check(shown(pane)), timeout=timeout)
    return shown(pane)


def same_maps(these, those) -> bool:
    """True when both list the same map objects in the same order."""
    return len(these) == len(those) and all(a is b for a, b in zip(these, those))


def asked(item: analysis.Map) -> dict:
    """The core parameters ``item`` was computed with."""
    return dict(item.key[3])


def core_attribution(model, x, item: analysis.Map) -> attribution.Attribution:
    return attribution.attribute(model, x, method=item.method, target=item.target, layer=item.layer, **asked(item))


def assert_maps_equal_the_cores(pane, model, x, maps) -> None:
    for item in maps:
        column = pane.view.grid.columns[next(i for i, m in enumerate(shown(pane)) if m is item)]
        expected = core_attribution(model, x, item).map
        np.testing.assert_allclose(item.values, expected.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(column.values, item.values)
        signed = pane.display_row.display == "signed"
        np.testing.assert_array_equal(column.panel.canvas.overlay, column.values if signed else np.abs(column.values))
        assert column.params.toolTip() == item.described() and column.params.isVisible()
        assert all(f"{name} {value}" in column.params.text() for name, value in item.params.items())


def prepared(window, show_pane, methods=None, curves: bool = False):
    """The Attribution pane set up while hidden (``methods`` checked, curves on or off), then shown."""
    pane = window.panes["attribution"]
    if methods is not None:
        pane.compare.set_checked(methods)
    pane.metrics_form.widget("curves").setChecked(curves)
    return show_pane(window, "attribution")


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    assert index >= 0, name
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def test_methods_side_by_side_equal_the_core_and_follow_the_target(loaded_window, show_pane, qtbot):
    state = loaded_window.state
    hidden = loaded_window.panes["attribution"]
    assert hidden.compare.mode == "methods" and hidden.metrics_form.widget("curves").isChecked()
    assert not hidden.random_check.isChecked()
    assert hidden.compare.checked() == ["gradcam", "integrated_gradients", "smoothgrad", "gradient"]
    pane = prepared(loaded_window, show_pane)
    model, x = state.model, state.input_tensor
    assert pane.layer == attribution.default_layer(model) == "features.pool3"
    results = computed(pane, qtbot)
    assert [m.method for m in results] == pane.compare.checked()
    assert {m.target for m in results} == {state.target}
    assert_maps_equal_the_cores(pane, model, x, results)
    assert sum(c.isVisible() for c in pane.view.grid.columns) == len(results)

    other = 5 if state.target != 5 else 7
    loaded_window.controller.choose_target(other)
    results = computed(pane, qtbot, lambda ms: all(m.target == other for m in ms))
    assert_maps_equal_the_cores(pane, model, x, results)
    assert "Sandal" in pane.view.summary.text()
    gap = results[1].completeness_gap
    assert f"completeness gap {gap:.2%}" in pane.view.grid.columns[1].params.text()

    ig, smooth = pane.forms["integrated_gradients"], pane.forms["smoothgrad"]
    assert not smooth.widget("smoothgrad_steps").isEnabled() and smooth.widget("smoothgrad_sigma").isEnabled()
    baseline = ig.widget("integrated_gradients_baseline")
    baseline.setCurrentIndex(baseline.findData("mean"))
    ig.widget("integrated_gradients_steps").setValue(16)
    smooth.widget("smoothgrad_sigma").setValue(0.3)
    smooth.widget("smoothgrad_samples").setValue(8)
    changed = computed(pane, qtbot, lambda ms: asked(ms[1])["steps"] == 16 and asked(ms[2])["samples"] == 8)
    assert changed[0] is results[0] and changed[3] is results[3]
    assert changed[1].params["baseline"] == "mean" and changed[2].params["sigma"] == 0.3
    assert_maps_equal_the_cores(pane, model, x, changed[1:3])
    assert hook_count(model.module) == 0


def test_one_method_for_the_top_four_classes(loaded_window, show_pane, qtbot):
    state = loaded_window.state
    pane = loaded_window.panes["attribution"]
    pane.compare.set_class_method("gradcam")
    pane.compare.set_mode("classes")
    pane = prepared(loaded_window, show_pane)
    model, x = state.model, state.input_tensor
    top4 = [index for index, _name, _p in state.predictions.top[:4]]
    assert top4[0] == state.target
    results = computed(pane, qtbot, lambda ms: len(ms) == 4)
    assert [m.target for m in results] == top4 and {m.method for m in results} == {"gradcam"}
    assert pane.compare.class_row.targets() == top4
    assert_maps_equal_the_cores(pane, model, x, results)
    for column, target in zip(pane.view.grid.columns, top4):
        assert model.class_name(target) in column.label
    assert not np.array_equal(results[0].values, results[1].values)  # Grad-CAM depends on the class

    combo = pane.compare.class_row.combos[3]
    combo.setCurrentIndex(combo.findData(2))
    combo.activated.emit(combo.currentIndex())
    results = computed(pane, qtbot, lambda ms: ms[3].target == 2)
    assert [m.target for m in results] == top4[:3] + [2] and not pane.compare.class_row.following
    assert pane.settings()["classes"] == top4[:3] + [2]
    assert_maps_equal_the_cores(pane, model, x, results[3:])
    pane.compare.class_row.top_button.click()
    assert [m.target for m in computed(pane, qtbot)] == top4 and pane.settings()["classes"] == []


def slowed(real):
    def steps(*args, **kwargs):
        inner = real(*args, **kwargs)
        try:
            while True:
                try:
                    item = next(inner)
                except StopIteration as stop:
                    return stop.value
                time.sleep(0.3)
                yield item
        finally:
            inner.close()

    return steps


def test_live_changes_recompute_only_their_maps_and_a_cancelled_run_keeps_its_maps(loaded_window, show_pane, qtbot,
                                                                                   monkeypatch):
    state = loaded_window.state
    pane = prepared(loaded_window, show_pane, ["gradcam", "gradient", "gradient_x_input"])
    model, x = state.model, state.input_tensor
    before = computed(pane, qtbot, lambda ms: len(ms) == 3)
    combo = pane.forms["gradient"].widget("gradient_reduce")
    combo.setCurrentIndex(combo.findData("sum"))
    after = computed(pane, qtbot, lambda ms: asked(ms[1]) == {"reduce": "sum"})
    assert after[0] is before[0] and after[2] is before[2]
    assert after[1].params == {"reduce": "sum"} and after[1].values.min() < 0
    assert_maps_equal_the_cores(pane, model, x, after[1:2])

    pick_layer(pane, "features.conv2")
    assert state.layer == "features.conv2"
    results = computed(pane, qtbot, lambda ms: ms[0].layer == "features.conv2")
    assert results[1] is after[1] and results[2] is after[2] and results[0].layer == "features.conv2"
    assert_maps_equal_the_cores(pane, model, x, results[:1])
    running = pane.run_request
    pane.display_row.set_display("signed")
    assert pane.display_row.colormap_picker.name() == "diverging" and pane.run_request is running  # nothing computed
    column = pane.view.grid.columns[1]
    np.testing.assert_array_equal(column.panel.canvas.overlay, column.values)

    monkeypatch.setattr(attribution, "attribute_steps", slowed(attribution.attribute_steps))
    stale = pane.run_request
    other = 3 if state.target != 3 else 4
    loaded_window.controller.choose_target(other)
    qtbot.waitUntil(lambda: pane.running and pane.run_request is not stale, timeout=10_000)
    qtbot.waitUntil(lambda: shown(pane)[0] is not None, timeout=20_000)
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=20_000)
    kept = shown(pane)
    done = [m for m in kept if m is not None]
    assert pane.cancelled and 1 <= len(done) < 3 and {t for _method, t in pane.view.scene.planned} == {other}
    assert {m.target for m in done} == {other}
    assert pane.partial_label.isVisible() and pane.run_button.isEnabled()
    assert pane.partial_label.text().startswith(f"PARTIAL — {len(done)} of 3 results (cancelled)")
    assert_maps_equal_the_cores(pane, model, x, done)
    partial = pane.analysis_result()
    assert partial.partial and len(partial.planned) == 3 and len(partial.maps) == len(done)
    assert all(item is computed_map for item, computed_map in zip(partial.maps, done))
    pane.run_button.click()
    results = computed(pane, qtbot)
    assert results[0] is kept[0] and not pane.partial_label.isVisible() and not pane.run_button.isEnabled()
    assert_maps_equal_the_cores(pane, model, x, results)

    third = next(t for t in (6, 7, 8) if t != state.target)
    loaded_window.controller.choose_target(third)  # hidden, the pane stops; shown again, it goes on
    qtbot.waitUntil(lambda: shown(pane)[0] is not None, timeout=20_000)
    loaded_window.tabs.setCurrentWidget(loaded_window.panes["input"])
    qtbot.waitUntil(lambda: not pane.running, timeout=20_000)
    first = shown(pane)[0]
    assert pane.cancelled and any(m is None for m in shown(pane))
    pane = show_pane(loaded_window, "attribution")
    results = computed(pane, qtbot)
    assert results[0] is first and {m.target for m in results} == {third}
    assert hook_count(model.module) == 0


def silu_model() -> LoadedModel:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.SiLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                           nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    return LoadedModel(module=module.eval(), name="silu-net", categories=["a", "b", "c", "d"],
                       input_size=(32, 32), mean=(0.5,) * 3, std=(0.25,) * 3, in_channels=3, resize_size=32,
                       source="file")


def test_guided_backprop_on_a_model_with_silu_warns_it_is_not_exact(window, settle, show_pane, qtbot):
    model = silu_model()
    window.controller.set_model(model, ModelSpec("file", "silu_net.py"))
    window.controller.set_image(Image.new("RGB", (40, 40), (120, 60, 200)), "purple")
    settle(window)
    pane = prepared(window, show_pane, ["gradcam", "guided"])
    assert pane.layer == "3"
    results = computed(pane, qtbot, lambda ms: len(ms) == 2)
    warning = pane.view.warning
    assert results[1].unhandled and warning.isVisible()
    assert "silu" in warning.text().lower() and "Not exact" in warning.text()
    assert_maps_equal_the_cores(pane, model, window.state.input_tensor, results)
    assert pane.view.grid.columns[0].panel.canvas.image.shape == (32, 32, 3)
    pane.compare.set_checked(["gradcam", "gradient"])
    pane.compare.changed.emit()
    computed(pane, qtbot, lambda ms: ms[1].method == "gradient")
    assert not warning.isVisible()
    assert hook_count(model.module) == 0


def test_settings_are_remembered(window, qtbot):
    pane = window.panes["attribution"]
    pane.controls.restore_remembered()  # as a window that remembers does
    pane.compare.set_checked(["gradient", "guided"])
    pane.compare.changed.emit()
    pane.compare.set_class_method("gradient_x_input")
    pane.compare.set_mode("classes")
    combo = pane.forms["gradient"].widget("gradient_reduce")
    combo.setCurrentIndex(combo.findData("l2"))
    pane.display_row.set_display("signed")
    pane.display_row.opacity_slider.setValue(35)
    pane.metrics_form.widget("curves").setChecked(False)
    again = AttributionPane(window.context)
    qtbot.addWidget(again)
    again.controls.restore_remembered()
    assert again.compare.checked() == ["gradient", "guided"] and again.compare.mode == "classes"
    assert again.compare.class_method == "gradient_x_input"
    assert again.forms["gradient"].values() == {"gradient_reduce": "l2"}
    assert again.display_row.display == "signed" and again.display_row.colormap_picker.name() == "diverging"
    assert again.display_row.opacity_slider.value() == 35 and not again.metrics_form.widget("curves").isChecked()
    assert not again.random_check.isChecked() and "randomisation" not in again.settings()


def test_the_metrics_row_shows_the_cores_numbers_and_the_exports_hold_them(loaded_window, show_pane, qtbot,
                                                                           monkeypatch, tmp_path):
    state = loaded_window.state
    loaded_window.panes["attribution"].random_check.setChecked(True)
    pane = prepared(loaded_window, show_pane, ["gradcam", "gradcam++"], curves=True)
    model, x = state.model, state.input_tensor
    results = computed(pane, qtbot, lambda ms: len(ms) == 2 and all(m.randomisation is not None for m in ms))
    for column, result in zip(pane.view.grid.columns, results):
        a = core_attribution(model, x, result)
        deletion, insertion = metrics.deletion(model, x, a), metrics.insertion(model, x, a)
        records = metrics.randomisation(model, x, method=result.method, target=result.target, layer=result.layer,
                                        **asked(result))
        np.testing.assert_allclose(result.deletion.probabilities, deletion.probabilities, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(result.insertion.probabilities, insertion.probabilities, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose([r.spearman for r in result.randomisation], [r.spearman for r in records],
                                   atol=1e-6)
        text = column.metrics.text()
        assert f"deletion AUC {deletion.auc:.3f}" in text and f"insertion AUC {insertion.auc:.3f}" in text
        assert f"ρ {records[-1].spearman:.3f}" in text and f"SSIM {records[-1].ssim:.3f}" in text
        assert column.flag.isVisible() == metrics.insensitive(records)
    assert [c.flag.isVisible() for c in pane.view.grid.columns[:2]] == [False, True]  # Grad-CAM++ barely changes
    assert "Barely changes with random weights" in pane.view.grid.columns[1].flag.text()
    assert pane.view.curves.line_counts() == (2, 2, 4) and pane.view.curves.random_plot.isVisible()  # ρ and SSIM
    assert same_maps(pane.analysis_result().maps, results) and pane.analysis_result().settings.randomisation

    answer_export(monkeypatch, tmp_path / "figure.png", ("png", "npy", "csv"))
    written = pane.export.export()
    maps = [f"figure-1-gradcam-class{state.target}", f"figure-2-gradcamplusplus-class{state.target}"]
    assert [p.name for p in written] == ["figure.png", *(f"{m}.npy" for m in maps), *(f"{m}.csv" for m in maps),
                                         "figure-metrics.csv", "figure-curves.csv"]
    comments = pane.caption().comment_lines()
    assert f"# map1: gradcam on {results[0].layer}" in comments and "# partial: no" in comments
    for table in written[3:]:
        assert table.read_text(encoding="utf-8").splitlines()[: len(comments)] == comments
    np.testing.assert_array_equal(np.load(written[1]), results[0].values)
    monkeypatch.setattr(DIALOG, lambda *args, **kwargs: (str(tmp_path / "data"), ""))
    written = pane.export_data()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "data-metrics.csv").read_text(encoding="utf-8"))))
    assert [row["method"] for row in rows] == ["gradcam", "gradcam++"]
    for row, result in zip(rows, results):
        assert row["deletion_auc"] == f"{result.deletion.auc:.9g}"
        assert row["insertion_auc"] == f"{result.insertion.auc:.9g}"
        assert row["random_spearman"] == f"{result.randomisation[-1].spearman:.9g}"
        assert row["random_ssim"] == f"{result.randomisation[-1].ssim:.9g}"
        assert row["class"] == model.class_name(state.target)
    assert [row["insensitive_to_weights"] for row in rows] == ["false", "true"]
    np.testing.assert_array_equal(np.load(tmp_path / f"data-2-gradcamplusplus-class{state.target}.npy"),
                                  results[1].values)
    curves = list(csv.DictReader(io.StringIO((tmp_path / "data-curves.csv").read_text(encoding="utf-8"))))
    deletion = [np.float32(r["value"]) for r in curves if r["map"] == "1" and r["curve"] == "deletion"]
    np.testing.assert_array_equal(deletion, results[0].deletion.probabilities)
    spearman = [float(r["value"]) for r in curves if r["map"] == "2" and r["curve"] == "randomisation_spearman"]
    assert spearman == [float(f"{r.spearman:.9g}") for r in results[1].randomisation]
    assert (tmp_path / "data-curves.csv") in written


def test_the_maps_and_curves_shown_are_the_analysis_result_and_its_report_figure_is_the_export(
        loaded_window, show_pane, qtbot, tmp_path):
    state = loaded_window.state
    assert loaded_window.panes["attribution"].analysis_result() is None
    pane = prepared(loaded_window, show_pane, ["gradcam", "gradient"], curves=True)
    model, x = state.model, state.input_tensor
    assert pane.default_layer(pane.picker.choices) == analysis.defaults(model).layer == "features.pool3"
    results = computed(pane, qtbot, lambda ms: len(ms) == 2 and all(m.insertion is not None for m in ms))
    result = pane.analysis_result()
    assert isinstance(result, analysis.AttributionAnalysis) and not result.partial
    assert result.settings == analysis.Settings(methods=("gradcam", "gradient"), layer="features.pool3",
                                                target=state.target, colormap="inferno")
    assert result.planned == (("gradcam", state.target), ("gradient", state.target))
    assert result.layer == "features.pool3" and result.classes == tuple(model.categories)
    np.testing.assert_array_equal(result.image, pane.view.grid.columns[0].panel.canvas.image)
    np.testing.assert_array_equal(result.probabilities, state.predictions.probabilities)
    assert same_maps(result.maps, results)
    for item, column in zip(result.maps, pane.view.grid.columns):
        np.testing.assert_array_equal(item.values, column.values)
        np.testing.assert_array_equal(item.raw, core_attribution(model, x, item).raw.numpy())
    for name, array in pane.export.data().items():
        np.testing.assert_array_equal(result.arrays()[name], array)
    ran = analysis.ANALYSIS.compute(model, Source(state.image_name, x), result.settings)
    assert ran.planned == result.planned and ran.caption() == result.caption()
    assert pane.caption().fields == result.caption().fields  # the CSV tables' comments name what the figure does
    np.testing.assert_array_equal(ran.image, result.image)
    for mine, theirs in zip(result.maps, ran.maps):
        np.testing.assert_allclose(mine.values, theirs.values, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(mine.deletion.probabilities, theirs.deletion.probabilities, rtol=1e-5, atol=1e-6)

    pane.display_row.set_display("signed")
    pane.display_row.opacity_slider.setValue(35)
    result = pane.analysis_result()
    assert (result.settings.display, result.settings.colormap, result.settings.opacity) == ("signed", "diverging", 35)
    assert all(np.shares_memory(m.values, c.values) for m, c in zip(result.maps, pane.view.grid.columns))  # kept
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    expected = registry.get("attribution").figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert abs(image.size[0] - expected[0]) <= 1 and abs(image.size[1] - expected[1]) <= 1
    checksum = result.caption().checksum
    assert checksum and checksum in (tmp_path / "x.svg").read_text(encoding="utf-8")


def test_the_method_parameters_unfold_to_the_forms_of_the_methods_shown(loaded_window, show_pane, qtbot):
    pane = prepared(loaded_window, show_pane, methods=["gradient"])
    computed(pane, qtbot)
    section, forms = pane.method_forms, pane.forms
    header = section.toggleButton().height()
    assert not section.isExpanded() and section.content().isHidden() and section.height() == header
    section.toggleButton().click()
    qtbot.waitUntil(lambda: section.content().height() == section.content().sizeHint().height(), timeout=2000)
    assert forms["gradient"].isVisible() and not forms["integrated_gradients"].isVisible()
    one = section.height()
    pane.compare.checks["integrated_gradients"].click()
    grown = forms["integrated_gradients"]
    qtbot.waitUntil(lambda: grown.isVisible() and grown.height() == grown.sizeHint().height(), timeout=10_000)
    assert section.height() > one + grown.height() // 2
    assert section.content().height() == section.content().sizeHint().height()
    section.toggleButton().click()
    qtbot.waitUntil(lambda: section.content().isHidden() and section.height() == header, timeout=2000)
    assert not grown.isVisible()


def test_a_failing_method_shows_why_in_its_cell_and_the_others_are_computed(loaded_window, show_pane, qtbot):
    state = loaded_window.state
    loaded_window.panes["attribution"].forms["occlusion"].set_value("occlusion_window", 100)  # > the 28×28 input
    pane = prepared(loaded_window, show_pane, ["gradcam", "occlusion", "gradient"], curves=True)
    results = computed(pane, qtbot, lambda ms: all(m.failed or m.insertion is not None for m in ms))
    assert [m.method for m in results] == ["gradcam", "gradient", "occlusion"]  # the order of the checks
    failed, column, good = results[2], pane.view.grid.columns[2], results[:2]
    message = "the occluder (100 px) is larger than the input (28×28)"
    assert failed.failed and failed.error == message and not pane.running
    canvas = column.panel.canvas
    assert column.values is None and canvas.overlay is None and not canvas.colorbar.isVisible()
    assert "Failed:" in column.panel.detail.text() and message in column.panel.detail.text()
    assert column.metrics.text() == "" and column.panel.detail.toolTip() == failed.described()
    assert_maps_equal_the_cores(pane, state.model, state.input_tensor, good)
    assert all(m.deletion is not None for m in good) and pane.view.curves.line_counts()[:2] == (2, 2)
    result = pane.analysis_result()
    assert result.failures() == [f"map 3 (occlusion) failed: {message}"]
    assert pane.caption().fields["failed3"] == f"occlusion: {message}"
    assert set(pane.export.data()) == {f"1-gradcam-class{state.target}", f"2-gradient-class{state.target}"}
    assert pane.data_button.isEnabled() and not pane.run_button.isEnabled()
    assert pane.partial_progress() == (9, 9)
