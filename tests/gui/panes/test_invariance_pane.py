"""The Invariance pane: curves equal the core's, a second image adds a curve, a 4-fold symmetric
image gives equal probabilities at quarter turns, exports are written (the invariance analysis's figure of every
image's curves, captioned with the compared layers), no hooks stay on the model."""

import time
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from colour_difference import smallest_difference
from export_answers import answer_export
from PIL import Image
from qimage_pixels import qimage_pixels

from cnnviz.analyses import figures, registry
from cnnviz.analyses import invariance as analysis
from cnnviz.analyses.base import Source, compute
from cnnviz.core.model.hooks import hook_count
from cnnviz.core.model.models import class_name
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.exports import curve_arrays
from cnnviz.gui.panes.invariance.saved import curve_from_dict, curve_to_dict
from cnnviz.gui.widgets.figure_render import ExportOptions, render_image


def plotted(pane, index: int) -> tuple[np.ndarray, np.ndarray]:
    return pane.view.plots.items[index]["prob"].getData()


def run(pane, qtbot, add: bool = False) -> invariance.InvarianceResult:
    count = len(pane.curves) if add else 0
    (pane.add_image if add else pane.run)()
    qtbot.waitUntil(lambda: not pane.running and len(pane.curves) == count + 1
                    and pane.curves[-1].result.complete, timeout=60_000)
    return pane.curves[-1].result


def test_rotation_curves_equal_the_cores(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "invariance")
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    assert pane.kind == "rotation" and pane.layers == ["features.relu1", "classifier.relu4"]
    np.testing.assert_array_equal(pane.ranges.values(), invariance.default_values("rotation", 28))
    shown = run(pane, qtbot)
    expected = invariance.curves(model, x, kind="rotation", values=pane.ranges.values(), layers=pane.layers,
                                 target=loaded_window.state.target)
    np.testing.assert_allclose(shown.prob, expected.prob, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(shown.top_class, expected.top_class)
    for layer in pane.layers:
        np.testing.assert_allclose(shown.distance[layer], expected.distance[layer], rtol=1e-4, atol=1e-4)
    xs, ys = plotted(pane, 0)
    np.testing.assert_array_equal(xs, expected.values)
    np.testing.assert_allclose(ys, expected.prob, rtol=1e-5, atol=1e-7)
    relative = pane.view.plots.items[0]["distance:classifier.relu4"]
    pane.form.widget("relative").setChecked(True)
    np.testing.assert_allclose(relative.getData()[1], expected.relative_distance["classifier.relu4"], rtol=1e-4)
    pane.hover_index(9)
    hover = pane.view.hover_panel
    assert "rotation 90°" in hover.hover_label.text() and hover.thumbnail.canvas.has_image()
    assert hook_count(model.module) == 0


def test_translation_defaults_and_a_second_image_keeps_two_curves(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "invariance")
    kind = pane.form.widget("kind")
    kind.setCurrentIndex(kind.findData("horizontal"))
    np.testing.assert_array_equal(pane.ranges.values(), invariance.default_values("horizontal", 28))
    run(pane, qtbot)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 200), "bright")
    settle(loaded_window)
    second = run(pane, qtbot, add=True)
    assert [c.name for c in pane.curves] == ["fmnist_ankle_boot.png", "bright"]
    assert len(pane.view.plots.prob_plot.listDataItems()) == 2
    assert pane.curves[0].colour != pane.curves[1].colour
    expected = invariance.curves(loaded_window.state.model, loaded_window.state.input_tensor, kind="horizontal",
                                 values=pane.ranges.values(), layers=pane.layers, target=loaded_window.state.target)
    np.testing.assert_allclose(plotted(pane, 1)[1], expected.prob, rtol=1e-5, atol=1e-7)
    assert second.kind == "horizontal"
    pane.clear_button.click()
    assert pane.curves == [] and not pane.view.plots.prob_plot.listDataItems()


def test_a_four_fold_symmetric_image_peaks_at_quarter_turns(loaded_window, show_pane, settle, qtbot):
    rows, cols = np.mgrid[0:28, 0:28]
    ring = np.maximum(np.abs(rows - 13.5), np.abs(cols - 13.5))
    pixels = np.where((ring > 4) & (ring < 9), 230, 20).astype(np.uint8)
    pixels[12:16, 2:6] = 255
    pixels = np.maximum.reduce([np.rot90(pixels, k) for k in range(4)])
    loaded_window.controller.set_image(Image.fromarray(pixels, "L"), "square")
    settle(loaded_window)
    pane = show_pane(loaded_window, "invariance")
    result = run(pane, qtbot)
    xs, ys = plotted(pane, 0)
    quarter = [int(np.flatnonzero(xs == angle)[0]) for angle in (0, 90, 180, 270)]
    assert len(set(ys[quarter].tolist())) == 1
    distance = result.distance["features.relu1"]
    off = int(np.flatnonzero(xs == 40)[0])
    assert (distance[quarter] == 0).all() and distance[off] > 0


def test_exports_write_a_non_blank_png_and_all_curves_as_csv(loaded_window, show_pane, qtbot, monkeypatch,
                                                           tmp_path):
    pane = show_pane(loaded_window, "invariance")
    pane.ranges.set_values(0, 90, 30)
    first = run(pane, qtbot)
    run(pane, qtbot, add=True)
    path = pane.export_csv(tmp_path / "curves.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("image,rotation_°,target_probability,top_class")
    assert len(lines) == 1 + 2 * 4
    assert lines[1].split(",")[:3] == ["fmnist_ankle_boot.png", "0", f"{first.prob[0]:.6g}"]
    assert lines[5].startswith("fmnist_ankle_boot.png (2),0,")
    answer_export(monkeypatch, tmp_path / "figure.png")
    written = pane.export.export()
    pixels = np.asarray(Image.open(written[0]).convert("RGB"), dtype=np.float32)
    assert pixels.shape[0] > 200 and pixels.std() > 20


def test_a_new_target_class_replots_the_curve_for_it(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "invariance")
    first = run(pane, qtbot)
    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    new_target = 7 if first.target != 7 else 5
    loaded_window.state.set_target(new_target)
    qtbot.waitUntil(lambda: not pane.running and len(pane.curves) == 1
                    and pane.curves[0].result.target == new_target and pane.curves[0].result.complete,
                    timeout=60_000)
    expected = invariance.curves(model, x, kind="rotation", values=pane.ranges.values(), layers=pane.layers,
                                 target=new_target)
    np.testing.assert_allclose(plotted(pane, 0)[1], expected.prob, rtol=1e-5, atol=1e-7)


def test_cancel_keeps_a_partial_curve(loaded_window, show_pane, qtbot, monkeypatch):
    pane = show_pane(loaded_window, "invariance")
    original = invariance.curve_steps

    def slow_steps(model, x, **options):
        for step in original(model, x, **{**options, "batch_size": 4}):
            yield step
            time.sleep(0.05)

    monkeypatch.setattr(invariance, "curve_steps", slow_steps)
    pane.run()
    qtbot.waitUntil(lambda: bool(pane.curves) and pane.curves[0].result.done >= 4, timeout=30_000)
    pane.cancel()
    qtbot.waitUntil(lambda: not pane.running, timeout=30_000)
    result = pane.curves[0].result
    assert pane.cancelled and not result.complete
    assert np.isfinite(result.prob[:result.done]).all() and np.isnan(result.prob[result.done:]).all()
    assert hook_count(loaded_window.state.model.module) == 0


def test_range_boxes_are_bounded_and_too_many_values_are_refused_with_a_message(loaded_window, show_pane,
                                                                               monkeypatch):
    pane = show_pane(loaded_window, "invariance")
    row, kind = pane.ranges, pane.form.widget("kind")
    row.from_spin.setValue(-100_000)
    assert row.from_spin.value() == -3600 and row.to_spin.maximum() == 3600
    pane.ranges.set_values(-3600, 3600, 0.01)
    assert row.limit_label.isVisibleTo(pane) and "at most 2000 values" in row.limit_label.text()
    shown = []
    monkeypatch.setattr(loaded_window.state, "show_status", shown.append)
    pane.run()
    assert not pane.running and pane.curves == []
    assert shown and "720001 values; at most 2000" in shown[-1]
    pane.ranges.set_values(0, 350, 10)
    assert not row.limit_label.isVisibleTo(pane)
    kind.setCurrentIndex(kind.findData("scale"))
    assert row.from_spin.minimum() == 0.01  # scale 0 cannot be entered
    kind.setCurrentIndex(kind.findData("horizontal"))
    assert (row.from_spin.minimum(), row.to_spin.maximum()) == (-28, 28)


def test_legends_beside_the_plots_name_each_curves_target_and_hover_text_fits(loaded_window, show_pane, settle,
                                                                              qtbot):
    loaded_window.resize(1000, 700)
    pane = show_pane(loaded_window, "invariance")
    first = run(pane, qtbot)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 200), "bright")
    settle(loaded_window)
    other = 5 if first.target != 5 else 7
    loaded_window.controller.choose_target(other)
    second = run(pane, qtbot, add=True)
    run(pane, qtbot, add=True)
    assert (first.target, second.target) == (first.target, other)
    legends = [item for item in pane.view.plots.scene().items() if isinstance(item, pg.LegendItem) and item.isVisible()]
    boxes = [plot.vb.sceneBoundingRect() for plot in pane.view.plots.all_plots]
    assert not [legend for legend in legends for box in boxes if legend.sceneBoundingRect().intersects(box)]
    names = [class_name(first.classes, target) for target in (first.target, other)]
    legend = pane.view.curve_legend.text().replace("&nbsp;", " ")
    for number, (curve, name) in enumerate(zip(pane.curves, names + names[1:]), 1):
        assert f"#{number} {curve.name}: target <b>{name}</b>" in legend
    assert "━━━ features.relu1" in legend and "╍╍╍ classifier.relu4" in legend
    pane.hover_index(4)
    label = pane.view.hover_panel.hover_label
    text = label.text()
    assert f"p({names[0]}) = {first.prob[4]:.4f}" in text and f"p({names[1]}) = {second.prob[4]:.4f}" in text
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.width() >= label.minimumSizeHint().width()


def test_top1_classes_of_all_curves_get_distinct_colours(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "invariance")
    run(pane, qtbot)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 200), "bright")
    settle(loaded_window)
    run(pane, qtbot, add=True)
    fills: dict[int, set[str]] = {}
    for curve, items in zip(pane.curves, pane.view.plots.items):
        brushes = items["classes"].data["brush"]
        for index, brush in zip(curve.result.top_class, brushes):
            fills.setdefault(int(index), set()).add(brush.color().name())
    assert len(fills) >= 3 and all(len(colours) == 1 for colours in fills.values())
    assert smallest_difference([colours.pop() for colours in fills.values()]) >= 19


def test_the_distance_axis_reads_in_its_own_values(loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "invariance")
    pane.form.widget("relative").setChecked(True)
    pane.ranges.set_values(0, 4, 2)
    result = run(pane, qtbot)
    axis = pane.view.plots.distance_plot.getAxis("left")
    assert 0 < max(float(values.max()) for values in result.relative_distance.values()) < 1
    qtbot.waitUntil(lambda: 0 < axis.range[1] < 1)  # the view fits the curves on its next paint
    low, high = axis.range
    assert "(x" not in axis.labelString() and axis.labelText == "relative distance"
    for spacing, ticks in axis.tickValues(low, high, 200):
        labels = axis.tickStrings(ticks, axis.autoSIPrefixScale * axis.scale, spacing)
        assert [float(label) for label in labels] == pytest.approx(ticks, abs=spacing * 1e-3)


def test_the_analysis_result_is_the_curve_shown_and_cnnviz_run_agrees(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "invariance")
    assert pane.analysis_result() is None
    pane.ranges.set_values(-20, 24, 10)
    pane.form.widget("crop").setChecked(True)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 200), "bright")
    settle(loaded_window)
    shown = run(pane, qtbot)
    pane.form.widget("relative").setChecked(True)
    result = pane.analysis_result()
    assert result.curves is shown and result.name == "bright" and not result.partial
    for name, array in shown.arrays().items():
        np.testing.assert_array_equal(result.arrays()[f"image1-{name}"], array)
    settings = result.settings
    assert (settings.kind, settings.start, settings.stop, settings.step) == ("rotation", -20, 24, 10)
    assert result.value_range == (-20, 24, 10) and list(shown.values) == [-20, -10, 0, 10, 20]
    assert settings.crop and settings.relative and settings.target == shown.target == loaded_window.state.target
    assert list(settings.layers) == pane.layers == list(shown.distance)
    caption = pane.caption()
    assert caption == result.caption() and caption.image == "bright"
    assert caption.fields["layers"] == pane.layers and "layer" not in caption.fields

    model, x = loaded_window.state.model, loaded_window.state.input_tensor
    ran = compute(analysis.run(model, Source("bright", x), settings))
    np.testing.assert_array_equal(result.example_values, ran.example_values)
    np.testing.assert_array_equal(result.examples, ran.examples)
    np.testing.assert_allclose(result.curves.prob, ran.curves.prob, rtol=1e-5, atol=1e-7)
    assert result.caption() == ran.caption()

    pane.curves = [curve_from_dict(curve_to_dict(curve)) for curve in pane.curves]  # as a session restores them
    restored = pane.analysis_result()
    assert restored.curves is pane.curves[0].result and restored.examples.shape[0] == 0 and not restored.partial
    assert restored.settings == settings.replace(stop=20) and restored.value_range == (-20, 20, 10)
    assert restored.caption().fields == result.caption().fields | {"stop": 20.0}
    assert pane.caption() == restored.caption() and pane.caption().fields["layers"] == pane.layers
    titles = [ax.get_title() for ax in registry.get("invariance").figure(restored).axes]
    assert f"(a) p({class_name(shown.classes, shown.target)})" in titles and not titles[0].startswith("(a) Tr")


def test_with_several_images_the_export_is_the_analysis_figure_of_every_image(loaded_window, show_pane, settle,
                                                                             qtbot, tmp_path):
    pane = show_pane(loaded_window, "invariance")
    pane.ranges.set_values(0, 90, 30)
    first = run(pane, qtbot)
    loaded_window.controller.set_image(Image.new("L", (28, 28), 200), "bright")
    settle(loaded_window)
    second = run(pane, qtbot, add=True)
    result = pane.analysis_result()
    assert result is not None and [(i.name, i.curves) for i in result.images()] == [
        ("fmnist_ankle_boot.png", first), ("bright", second)]
    caption = pane.caption()
    assert caption == result.caption() and caption.fields["layers"] == pane.layers
    assert caption.fields["image1"].startswith("fmnist_ankle_boot.png, target ")
    assert caption.fields["image2"] == f"bright, target {class_name(second.classes, second.target)} ({second.target})"
    before = {f"image{k}-{name}": array for k, curve in enumerate(pane.curves, 1)  # the pane's own export before
              for name, array in curve.result.arrays().items()}
    assert list(result.arrays()) == list(curve_arrays(pane.curves)) == list(before)
    for name, array in before.items():
        np.testing.assert_array_equal(result.arrays()[name], array)
        np.testing.assert_array_equal(curve_arrays(pane.curves)[name], array)
    assert result.tables()["curves"] == pane.export_csv(tmp_path / "curves.csv").read_text(encoding="utf-8")
    options = ExportOptions(width_px=800, caption=False)
    written = pane.export.write(tmp_path / "x", ["png"], options)
    report = figures.save(registry.get("invariance").figure(result, width_px=800, dpi=options.dpi, caption=False),
                          tmp_path / "report.png")
    with Image.open(written[0]) as image, Image.open(report) as expected:
        exported, drawn = np.asarray(image.convert("RGB")), np.asarray(expected.convert("RGB"))
    assert exported.shape == drawn.shape and exported.shape[1] == 800
    assert (exported != drawn).any(axis=2).mean() < 0.005  # constrained layout may move a line by a pixel
    screen = qimage_pixels(render_image(pane.figure, options))
    assert screen.shape != exported.shape or (screen != exported).any(axis=2).mean() > 0.1


def test_the_export_is_the_analysis_figure_of_the_latest_curve(loaded_window, show_pane, qtbot, tmp_path):
    pane = show_pane(loaded_window, "invariance")
    pane.ranges.set_values(0, 90, 30)
    run(pane, qtbot)
    written = pane.export.write(tmp_path / "x", ["png", "svg"], ExportOptions())
    assert [p.name for p in written] == ["x.png", "x.svg"]
    result = pane.analysis_result()
    expected = registry.get("invariance").figure(result).get_size_inches() * 300
    with Image.open(tmp_path / "x.png") as image:
        assert image.size[0] == 2008
        assert image.size == pytest.approx(tuple(expected), abs=1)
    root = ET.parse(tmp_path / "x.svg").getroot()
    text = "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert result.caption().checksum in text and "features.relu1" in text and "classifier.relu4" in text
