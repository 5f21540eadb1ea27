"""The Attribution pane: maps equal the core's for the target class and follow it, the classes view shows
one method for the top classes, live parameter and layer changes recompute only their maps (a stale run
is cancelled, a cancelled one keeps its maps), the metrics row shows the core's numbers, guided passes
warn about nonlinearities without a rule, exports hold the results, the settings are remembered, and the maps and
curves shown are the attribution analysis's result, whose report figure is the export."""

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
from cnnviz.gui.panes.attribution import jobs
from cnnviz.gui.panes.attribution.pane import AttributionPane
from cnnviz.gui.runtime.model_spec import ModelSpec
from cnnviz.gui.widgets.figure_render import ExportOptions

DIALOG = "PySide6.QtWidgets.QFileDialog.getSaveFileName"


def computed(pane, qtbot, check=lambda results: True, timeout: int = 60_000):
    """Wait until the pane is idle with every shown map computed (and ``check(results)``); the results."""
    qtbot.waitUntil(lambda: pane.settled and not pane.running and pane.shown_results()
                    and all(r.attribution is not None for r in pane.shown_results())
                    and check(pane.shown_results()), timeout=timeout)
    return pane.shown_results()


def core_map(model, x, key: jobs.PanelKey) -> torch.Tensor:
    return attribution.attribute(model, x, method=key.method, target=key.target, layer=key.layer, **key.kwargs).map


def assert_maps_equal_the_cores(pane, model, x, results) -> None:
    shown = pane.shown_results()
    for result in results:
        column = pane.grid.columns[next(i for i, r in enumerate(shown) if r is result)]
        expected = core_map(model, x, result.key)
        np.testing.assert_allclose(result.attribution.map.numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(column.values, result.attribution.map.numpy())
        signed = pane.display_row.display == "signed"
        np.testing.assert_array_equal(column.panel.canvas.overlay, column.values if signed else np.abs(column.values))
        assert column.panel.detail.text().startswith(result.attribution.caption().split(" · ")[0])


def prepared(window, show_pane, methods=None, curves: bool = False):
    """The Attribution pane set up while hidden (``methods`` checked, curves on or off), then shown."""
    pane = window.panes["attribution"]
    if methods is not None:
        pane.compare.set_checked(methods)
    pane.metrics_check.setChecked(curves)
    return show_pane(window, "attribution")


def pick_layer(pane, name: str) -> None:
    index = pane.picker.findData(name)
    assert index >= 0, name
    pane.picker.setCurrentIndex(index)
    pane.picker.activated.emit(index)


def test_methods_side_by_side_equal_the_core_and_follow_the_target(loaded_window, show_pane, qtbot):
    state = loaded_window.state
    hidden = loaded_window.panes["attribution"]
    assert hidden.compare.mode == "methods" and hidden.metrics_check.isChecked()
    assert not hidden.random_check.isChecked()
    assert hidden.compare.checked() == ["gradcam", "integrated_gradients", "smoothgrad", "gradient"]
    pane = prepared(loaded_window, show_pane)
    model, x = state.model, state.input_tensor
    assert pane.layer == attribution.default_layer(model) == "features.pool3"
    results = computed(pane, qtbot)
    assert [r.key.method for r in results] == pane.compare.checked()
    assert {r.key.target for r in results} == {state.target}
    assert_maps_equal_the_cores(pane, model, x, results)
    assert sum(c.isVisible() for c in pane.grid.columns) == len(results)

    other = 5 if state.target != 5 else 7
    loaded_window.controller.choose_target(other)
    results = computed(pane, qtbot, lambda rs: all(r.key.target == other for r in rs))
    assert_maps_equal_the_cores(pane, model, x, results)
    assert "Sandal" in pane.summary.text()
    gap = results[1].attribution.completeness_gap
    assert f"completeness gap {gap:.2%}" in pane.grid.columns[1].panel.detail.text()

    ig, smooth = pane.forms["integrated_gradients"], pane.forms["smoothgrad"]
    assert not smooth.field("steps").widget.isEnabled() and smooth.field("sigma").widget.isEnabled()
    ig.field("baseline").widget.setCurrentIndex(ig.field("baseline").widget.findData("mean"))
    ig.field("steps").widget.setValue(16)
    smooth.field("sigma").widget.setValue(0.3)
    smooth.field("samples").widget.setValue(8)
    changed = computed(pane, qtbot, lambda rs: rs[1].key.kwargs["steps"] == 16 and rs[2].key.kwargs["samples"] == 8)
    assert changed[0] is results[0] and changed[3] is results[3]
    assert changed[1].attribution.params["baseline"] == "mean" and changed[2].attribution.params["sigma"] == 0.3
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
    results = computed(pane, qtbot, lambda rs: len(rs) == 4)
    assert [r.key.target for r in results] == top4 and {r.key.method for r in results} == {"gradcam"}
    assert pane.compare.class_row.targets() == top4
    assert_maps_equal_the_cores(pane, model, x, results)
    for column, target in zip(pane.grid.columns, top4):
        assert model.class_name(target) in column.label
    maps = [r.attribution.map for r in results]
    assert not torch.equal(maps[0], maps[1])  # Grad-CAM depends on the class

    combo = pane.compare.class_row.combos[3]
    combo.setCurrentIndex(combo.findData(2))
    combo.activated.emit(combo.currentIndex())
    results = computed(pane, qtbot, lambda rs: rs[3].key.target == 2)
    assert [r.key.target for r in results] == top4[:3] + [2] and not pane.compare.class_row.following
    assert_maps_equal_the_cores(pane, model, x, results[3:])
    pane.compare.class_row.top_button.click()
    assert [r.key.target for r in computed(pane, qtbot)] == top4


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
    before = computed(pane, qtbot, lambda rs: len(rs) == 3)
    combo = pane.forms["gradient"].field("reduce").widget
    combo.setCurrentIndex(combo.findData("sum"))
    after = computed(pane, qtbot, lambda rs: rs[1].key.kwargs == {"reduce": "sum"})
    assert after[0] is before[0] and after[2] is before[2]
    assert after[1].attribution.params == {"reduce": "sum"} and after[1].attribution.signed
    assert_maps_equal_the_cores(pane, model, x, after[1:2])

    pick_layer(pane, "features.conv2")
    assert state.layer == "features.conv2"
    results = computed(pane, qtbot, lambda rs: rs[0].key.layer == "features.conv2")
    assert results[1] is after[1] and results[2] is after[2] and results[0].attribution.layer == "features.conv2"
    assert_maps_equal_the_cores(pane, model, x, results[:1])
    pane.display_row.set_display("signed")
    assert pane.display_row.colormap_picker.name() == "diverging"
    column = pane.grid.columns[1]
    np.testing.assert_array_equal(column.panel.canvas.overlay, column.values)

    monkeypatch.setattr(attribution, "attribute_steps", slowed(attribution.attribute_steps))
    stale = pane.run_request
    other = 3 if state.target != 3 else 4
    loaded_window.controller.choose_target(other)
    qtbot.waitUntil(lambda: pane.running and pane.run_request is not stale, timeout=10_000)
    qtbot.waitUntil(lambda: pane.shown_results()[0].attribution is not None, timeout=20_000)
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: not pane.running, timeout=20_000)
    shown = pane.shown_results()
    done = [r for r in shown if r.attribution is not None]
    assert pane.cancelled and 1 <= len(done) < 3 and {r.key.target for r in shown} == {other}
    assert pane.partial_label.isVisible() and pane.run_button.isEnabled()
    assert pane.partial_label.text().startswith(f"PARTIAL — {len(done)} of 3 results (cancelled)")
    assert_maps_equal_the_cores(pane, model, x, done)
    partial = pane.analysis_result()
    assert partial.partial and len(partial.planned) == 3 and len(partial.maps) == len(done)
    for item, result in zip(partial.maps, done):
        np.testing.assert_array_equal(item.values, result.attribution.map.numpy())
    pane.run_button.click()
    results = computed(pane, qtbot)
    assert results[0] is shown[0] and not pane.partial_label.isVisible() and not pane.run_button.isEnabled()
    assert_maps_equal_the_cores(pane, model, x, results)

    third = next(t for t in (6, 7, 8) if t != state.target)
    loaded_window.controller.choose_target(third)  # hidden, the pane stops; shown again, it goes on
    qtbot.waitUntil(lambda: pane.shown_results()[0].attribution is not None, timeout=20_000)
    loaded_window.tabs.setCurrentWidget(loaded_window.panes["input"])
    qtbot.waitUntil(lambda: not pane.running, timeout=20_000)
    first = pane.shown_results()[0]
    assert pane.cancelled and any(r.attribution is None for r in pane.shown_results())
    pane = show_pane(loaded_window, "attribution")
    results = computed(pane, qtbot)
    assert results[0] is first and {r.key.target for r in results} == {third}
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
    results = computed(pane, qtbot, lambda rs: len(rs) == 2)
    assert results[1].attribution.unhandled and pane.warning.isVisible()
    assert "silu" in pane.warning.text().lower() and "Not exact" in pane.warning.text()
    assert_maps_equal_the_cores(pane, model, window.state.input_tensor, results)
    assert pane.grid.columns[0].panel.canvas.image.shape == (32, 32, 3)
    pane.compare.set_checked(["gradcam", "gradient"])
    pane.compare.changed.emit()
    computed(pane, qtbot, lambda rs: rs[1].key.method == "gradient")
    assert not pane.warning.isVisible()
    assert hook_count(model.module) == 0


def test_settings_are_remembered(window, qtbot):
    pane = window.panes["attribution"]
    pane.controls.restore_remembered()  # as a window that remembers does
    pane.compare.set_checked(["gradient", "guided"])
    pane.compare.changed.emit()
    pane.compare.set_class_method("gradient_x_input")
    pane.compare.set_mode("classes")
    combo = pane.forms["gradient"].field("reduce").widget
    combo.setCurrentIndex(combo.findData("l2"))
    pane.display_row.set_display("signed")
    pane.display_row.opacity_slider.setValue(35)
    pane.metrics_check.setChecked(False)
    again = AttributionPane(window.context)
    qtbot.addWidget(again)
    again.controls.restore_remembered()
    assert again.compare.checked() == ["gradient", "guided"] and again.compare.mode == "classes"
    assert again.compare.class_method == "gradient_x_input"
    assert again.forms["gradient"].values() == {"reduce": "l2"}
    assert again.display_row.display == "signed" and again.display_row.colormap_picker.name() == "diverging"
    assert again.display_row.opacity_slider.value() == 35 and not again.metrics_check.isChecked()
    assert not again.random_check.isChecked()


def test_the_metrics_row_shows_the_cores_numbers_and_the_exports_hold_them(loaded_window, show_pane, qtbot,
                                                                           monkeypatch, tmp_path):
    state = loaded_window.state
    loaded_window.panes["attribution"].random_check.setChecked(True)
    pane = prepared(loaded_window, show_pane, ["gradcam", "gradcam++"], curves=True)
    model, x = state.model, state.input_tensor
    results = computed(pane, qtbot, lambda rs: len(rs) == 2 and all(r.randomisation is not None for r in rs))
    for column, result in zip(pane.grid.columns, results):
        a, key = result.attribution, result.key
        deletion, insertion = metrics.deletion(model, x, a), metrics.insertion(model, x, a)
        records = metrics.randomisation(model, x, method=key.method, target=key.target, layer=key.layer, **key.kwargs)
        np.testing.assert_allclose(result.deletion.probabilities, deletion.probabilities, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(result.insertion.probabilities, insertion.probabilities, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose([r.spearman for r in result.randomisation], [r.spearman for r in records],
                                   atol=1e-6)
        text = column.metrics.text()
        assert f"deletion AUC {deletion.auc:.3f}" in text and f"insertion AUC {insertion.auc:.3f}" in text
        assert f"ρ {records[-1].spearman:.3f}" in text and f"SSIM {records[-1].ssim:.3f}" in text
        assert column.flag.isVisible() == metrics.insensitive(records)
    assert [c.flag.isVisible() for c in pane.grid.columns[:2]] == [False, True]  # Grad-CAM++ barely changes here
    assert "Barely changes with random weights" in pane.grid.columns[1].flag.text()
    assert pane.curves.line_counts()[:2] == (2, 2) and pane.curves.random_plot.isVisible()

    answer_export(monkeypatch, tmp_path / "figure.png", ("png", "npy", "csv"))
    written = pane.export.export()
    maps = [f"figure-1-gradcam-class{state.target}", f"figure-2-gradcamplusplus-class{state.target}"]
    assert [p.name for p in written] == ["figure.png", *(f"{m}.npy" for m in maps), *(f"{m}.csv" for m in maps),
                                         "figure-metrics.csv", "figure-curves.csv"]
    comments = pane.caption().comment_lines()
    assert f"# map1: gradcam on {results[0].key.layer}" in comments and "# partial: no" in comments
    for table in written[3:]:
        assert table.read_text(encoding="utf-8").splitlines()[: len(comments)] == comments
    np.testing.assert_array_equal(np.load(written[1]), results[0].attribution.map.numpy())
    monkeypatch.setattr(DIALOG, lambda *args, **kwargs: (str(tmp_path / "data"), ""))
    written = pane.export_data()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "data-metrics.csv").read_text(encoding="utf-8"))))
    assert [row["method"] for row in rows] == ["gradcam", "gradcam++"]
    for row, result in zip(rows, results):
        assert float(row["deletion_auc"]) == result.deletion.auc and float(row["insertion_auc"]) == result.insertion.auc
        assert float(row["random_spearman"]) == result.randomisation[-1].spearman
        assert row["class"] == model.class_name(state.target)
    assert [row["insensitive_to_weights"] for row in rows] == ["false", "true"]
    np.testing.assert_array_equal(np.load(tmp_path / f"data-2-gradcamplusplus-class{state.target}.npy"),
                                  results[1].attribution.map.numpy())
    curves = list(csv.DictReader(io.StringIO((tmp_path / "data-curves.csv").read_text(encoding="utf-8"))))
    deletion = [float(r["value"]) for r in curves if r["map"] == "1" and r["curve"] == "deletion"]
    np.testing.assert_array_equal(deletion, results[0].deletion.probabilities)
    assert (tmp_path / "data-curves.csv") in written


def test_the_maps_and_curves_shown_are_the_analysis_result_and_its_report_figure_is_the_export(
        loaded_window, show_pane, qtbot, tmp_path):
    state = loaded_window.state
    assert loaded_window.panes["attribution"].analysis_result() is None
    pane = prepared(loaded_window, show_pane, ["gradcam", "gradient"], curves=True)
    model, x = state.model, state.input_tensor
    assert pane.default_layer(pane.picker.choices) == analysis.defaults(model).layer == "features.pool3"
    results = computed(pane, qtbot, lambda rs: len(rs) == 2 and all(r.insertion is not None for r in rs))
    result = pane.analysis_result()
    assert isinstance(result, analysis.AttributionAnalysis) and not result.partial
    assert result.settings == analysis.Settings(methods=("gradcam", "gradient"), layer="features.pool3",
                                                target=state.target, colormap="inferno")
    assert result.planned == (("gradcam", state.target), ("gradient", state.target))
    assert result.layer == "features.pool3" and result.classes == tuple(model.categories)
    np.testing.assert_array_equal(result.image, pane.grid.columns[0].panel.canvas.image)
    np.testing.assert_array_equal(result.probabilities, state.predictions.probabilities)
    for item, column, shown in zip(result.maps, pane.grid.columns, results):
        np.testing.assert_array_equal(item.values, column.values)
        np.testing.assert_array_equal(item.raw, shown.attribution.raw.numpy())
        assert (item.method, item.target, item.layer) == (shown.key.method, shown.key.target, shown.key.layer)
        assert item.deletion is shown.deletion and item.insertion is shown.insertion
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
    assert all(np.shares_memory(m.values, c.values) for m, c in zip(result.maps, pane.grid.columns))  # not recomputed
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
    section, forms = pane.forms_section, pane.forms
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
